#!/usr/bin/env bash
# The Linux guest built from Debian packages (guests/linux/build.sh, run by the CMake
# build into build/images) boots to ready on the console and serves HTTP. Under TCG:
# this host's KVM fails on Linux ("KVM internal error"); see docs/GUESTS.md.
source "$BS_SOURCE/tests/integration/lib.sh"

img="$BS_BUILD/images"
if [ ! -s "$img/linux-vmlinux" ] || [ ! -s "$img/linux-initramfs.cpio.gz" ]; then
    skip "Linux guest images not built in $img (guests/linux/build.sh needs apt)"
fi

for g in linux linux-http; do
    timeout 150 "$BIN/bootstorm" guests check "$g" --accel tcg --timeout-s 120 \
        >"$T_DIR/$g.log" 2>&1 || fail "guests check $g: $(cat "$T_DIR/$g.log")"
    grep -q 'marker init' "$T_DIR/$g.log" || fail "$g: no init marker"
    grep -q 'marker httpd-up' "$T_DIR/$g.log" || fail "$g: no httpd-up marker"
done
grep -q 'ready (console)' "$T_DIR/linux.log" || fail "linux: not ready on the console"
grep -q 'marker net-up' "$T_DIR/linux-http.log" || fail "linux-http: network not up"
grep -Eq 'ready \(http 200 on 127.0.0.1:[0-9]+/\)' "$T_DIR/linux-http.log" ||
    fail "linux-http: not ready by HTTP"
pass "linux console ready: $(grep 'ready' "$T_DIR/linux.log")"
pass "linux-http ready: $(grep 'ready' "$T_DIR/linux-http.log")"
