#!/usr/bin/env bash
# Installs every Debian 12 package bootstorm builds, tests and runs with.
# Safe to run twice: apt-get install is idempotent; nothing else is changed.
set -euo pipefail

pkgs=(
    build-essential cmake pkg-config binutils
    libzmq3-dev libmsgpack-dev libhiredis-dev libvirt-dev libfyaml-dev
    libpcre2-dev libcmocka-dev libcurl4-openssl-dev libjansson-dev
    redis-server redis-tools
    qemu-system-x86 qemu-utils
    python3 lz4 xz-utils zstd dpkg apt
    libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-daemon-system
    iproute2 procps gnuplot-nox
    # renders `bootstorm report --html` in tests/integration/test_report_html.sh
    chromium
    ansible ansible-lint openssh-server openssh-client
    # the container guests (guests/container-*.yaml, sandbox-gvisor.yaml): OCI runtimes
    # and the bundle's root file system
    crun runc runsc busybox-static util-linux
    # fuzzing (tests/fuzz, scripts/fuzz.sh): clang with libFuzzer
    clang libclang-rt-14-dev
)

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#pkgs[@]} packages already installed"
    exit 0
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
