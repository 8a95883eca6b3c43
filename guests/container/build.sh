#!/bin/sh
# Builds the OCI bundle of the container guests (container-crun, container-runc,
# sandbox-gvisor): OUTDIR/container-bundle/config.json + rootfs, the rootfs being
# Debian's busybox-static (/bin/busybox and its applet links), the process printing
# its ready line then sleeping. Usage: guests/container/build.sh OUTDIR
# Not for running containers: the profiles and bootstorm-oci do that. Idempotent: the
# .deb is kept in OUTDIR/container-debs. Needs apt-get and dpkg-deb, no OCI runtime.
set -eu
# BS_SOFT=1 (the CMake build): a failure (no network, no apt) is a warning, not an error.
trap 'rc=$?; if [ $rc -ne 0 ] && [ "${BS_SOFT:-}" = 1 ]; then
    echo "warning: the container bundle was not built (build.sh exit $rc); container-* profiles need it" >&2
    exit 0; fi' EXIT

out=${1:?usage: build.sh OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
debs="$out/container-debs"
bundle="$out/container-bundle"
mkdir -p "$debs"

ls "$debs"/busybox-static_*.deb >/dev/null 2>&1 ||
    (cd "$debs" && apt-get download busybox-static >/dev/null 2>"$debs/apt.err") ||
    { echo "build.sh: cannot download busybox-static: $(tail -1 "$debs/apt.err")" >&2; exit 3; }
bdeb=$(ls "$debs"/busybox-static_*.deb | sort -V | tail -1)

stamp="$(basename "$bdeb") $(cksum <"$here/build.sh" | cut -d' ' -f1)"
if [ -f "$bundle/config.json" ] && [ -x "$bundle/rootfs/bin/busybox" ] &&
   [ "$(cat "$out/container-stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "build.sh: $bundle is up to date"
    exit 0
fi

work="$out/container-work"
rm -rf "$work" "$bundle.tmp"
mkdir -p "$work" "$bundle.tmp/rootfs/bin"
dpkg-deb -x "$bdeb" "$work"
r="$bundle.tmp/rootfs"
cp "$work/bin/busybox" "$r/bin/busybox"
# The applet links, from the binary's own list (as busybox --install would make them).
for a in $("$r/bin/busybox" --list); do
    [ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
done
mkdir -p "$r/proc" "$r/dev" "$r/sys" "$r/tmp" "$r/etc"
echo "root:x:0:0:root:/:/bin/sh" >"$r/etc/passwd"

# runc spec's defaults (a root container: pid, network (only lo), ipc, uts and mount
# namespaces, read-only root) with our process and no terminal: the console is the
# runtime's stdout, read by the launcher as a VM's serial port is.
cat >"$bundle.tmp/config.json" <<'JSON'
{
  "ociVersion": "1.0.2",
  "process": {
    "terminal": false,
    "user": {"uid": 0, "gid": 0},
    "args": ["/bin/sh", "-c", "echo BOOTSTORM READY container; exec sleep 3600"],
    "env": ["PATH=/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "effective": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "permitted": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"],
      "ambient": ["CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"]
    },
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 1024}],
    "noNewPrivileges": true
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "bootstorm",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "nodev", "mode=1777", "size=1024k"]}
  ],
  "linux": {
    "resources": {"devices": [{"allow": false, "access": "rwm"}]},
    "namespaces": [{"type": "pid"}, {"type": "network"}, {"type": "ipc"}, {"type": "uts"},
                   {"type": "mount"}],
    "maskedPaths": ["/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                    "/proc/timer_list", "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
    "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]
  }
}
JSON
rm -rf "$bundle" "$work"
mv "$bundle.tmp" "$bundle"
echo "$stamp" >"$out/container-stamp"
echo "build.sh: wrote $bundle (busybox from $(basename "$bdeb"))"
