#!/usr/bin/env bash
# accel auto per guest, through the whole stack: Linux (and, with BOOTSTORM_REAL_GUESTS,
# Unikraft) under `accel: auto` become ready on every kind of host: a full KVM (they run
# under KVM), no /dev/kvm (the probe says TCG), or a software KVM that boots the probe
# and fails these guests (the first failure makes the profile TCG for the launcher's
# life; the guests it failed are respawned under TCG, never counted failed). The
# launcher's log must say which accel the guests had and why. Then `guests check` under
# auto must not sit out its timeout on such a guest.
source "$BS_SOURCE/tests/integration/lib.sh"

img="$BS_BUILD/images"
if [ ! -s "$img/linux-vmlinux" ] || [ ! -s "$img/linux-initramfs.cpio.gz" ]; then
    skip "Linux guest images not built in $img (guests/linux/build.sh needs apt)"
fi
IMAGES="$T_DIR/images"
mkdir -p "$IMAGES"
ln -s "$img"/linux-vmlinux "$img"/linux-initramfs.cpio.gz "$img"/minkernel.elf "$IMAGES/"
G=${BOOTSTORM_REAL_GUESTS:-}
if [ -n "$G" ] && [ -r "$G/unikraft/helloworld_qemu-x86_64" ]; then
    ln -s "$G/unikraft/helloworld_qemu-x86_64" "$IMAGES/"
else
    echo "SKIP (part): unikraft under auto (BOOTSTORM_REAL_GUESTS unset or no unikraft image)"
fi
start_stack auto --images "$IMAGES"
wait_for 20 grep -q 'KVM probe' "$T_DIR/launcher.log" || fail "launcher: no KVM probe"

# run_auto GUEST COUNT [HOST]: every guest ready under accel auto; prints the run's
# JSON report.
run_auto() {
    local name="$1-auto-$2-$RANDOM"
    printf 'name: %s\nguest: %s\ncount: %s\naccel: auto\ntimeout_s: 90\nhosts: %s\n' "$name" "$1" \
        "$2" "${3:-auto}" >"$T_DIR/$name.yaml"
    timeout 200 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" \
        --json >"$T_DIR/$name.json" || fail "$name: run exited $?: $(cat "$T_DIR/$name.json")"
    python3 - "$T_DIR/$name.json" "$2" <<'PY' || fail "$name: not every guest ready: $(cat "$T_DIR/$name.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == int(sys.argv[2]) and r["failed"] == 0, r
print("%s: ready %d/%s, p50 %s ms, max %s ms" % (r["run"], r["ready"], sys.argv[2],
      r["boot_ms"]["p50"], r["boot_ms"]["max"]))
PY
}

# expect_accel_said GUEST: the log explains the accel of GUEST's guests in one of the
# three ways a host can make it.
expect_accel_said() {
    local log="$T_DIR/launcher.log"
    if grep -q "$1 falls back to TCG on this host" "$log" && grep -q "respawned under TCG" "$log"; then
        echo "$1: KVM failed it here: fell back to TCG ($(grep -m1 "$1 falls back to TCG" "$log"))"
    elif grep -q "auto: KVM not usable" "$log"; then
        echo "$1: no usable KVM: TCG from the start"
    elif grep -q "x $1 on qemu/kvm (auto: KVM probe booted)" "$log"; then
        echo "$1: KVM runs it"
    else
        fail "$1: the launcher log does not say which accel and why"
    fi
}

run_auto linux 2
expect_accel_said linux
# remembered: the next run of the profile starts under TCG at once, nothing retried
if grep -q "linux falls back to TCG on this host" "$T_DIR/launcher.log"; then
    run_auto linux 1
    grep -q "linux on qemu/tcg (auto: linux fell back to TCG here" "$T_DIR/launcher.log" ||
        fail "second run of linux: the fallback was not remembered"
    [ "$(grep -c 'respawned under TCG' "$T_DIR/launcher.log")" -eq 2 ] ||
        fail "second run respawned guests again: $(grep 'respawned' "$T_DIR/launcher.log")"
fi
pass "linux under accel auto: every guest ready"

if [ -e "$IMAGES/helloworld_qemu-x86_64" ]; then
    run_auto unikraft 2
    expect_accel_said unikraft
    pass "unikraft under accel auto: every guest ready"
fi
wait_for 10 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the runs"

# A host without a usable KVM (whatever this one has): --no-kvm stands for no /dev/kvm.
start_bg launcher-nokvm "$BIN/bootstorm-launcher" --connect "$EP" --host nokvm --no-kvm \
    --images "$IMAGES"
wait_for 20 host_up nokvm ||
    fail "the no-KVM launcher never said hello"
run_auto linux 1 nokvm
grep -q "auto: KVM not usable (disabled by --no-kvm): falling back to TCG" \
    "$T_DIR/launcher-nokvm.log" || fail "no-KVM host: the log does not say why TCG"
grep -q "respawned" "$T_DIR/launcher-nokvm.log" && fail "no-KVM host respawned a guest"
pass "linux under accel auto on a host without KVM: ready under TCG, said why"

# guests check under auto: ready (KVM, or TCG at once after KVM failed it), well within
# the 60 s it used to wait on a guest KVM had failed.
start=$SECONDS
timeout 100 "$BIN/bootstorm" guests check linux --accel auto --images-dir "$IMAGES" \
    >"$T_DIR/check.log" 2>&1 || fail "guests check linux under auto: $(cat "$T_DIR/check.log")"
took=$((SECONDS - start))
grep -q 'ready (console)' "$T_DIR/check.log" || fail "guests check: not ready"
[ "$took" -lt 45 ] || fail "guests check linux under auto took $took s"
pass "guests check linux --accel auto: ready in $took s ($(grep -E 'accel|TCG' "$T_DIR/check.log" | tr '\n' ' '))"
