#!/usr/bin/env bash
# Guests nobody on this project wrote, booted through the whole stack (collector,
# launcher, Redis): Solo5's hello test on the virtio binding (QEMU) and on the hvt
# binding (Solo5's own solo5-hvt tender on KVM, process backend), and Unikraft's
# helloworld (QEMU). Each: one guest, then 8 at once, every guest ready, its markers
# seen, its exit status the guest's clean exit (Solo5 on QEMU leaves through
# isa-debug-exit: 83). The images are third-party test data, found through
# BOOTSTORM_REAL_GUESTS (a folder with solo5/ and unikraft/); skipped without it.
source "$BS_SOURCE/tests/integration/lib.sh"

G=${BOOTSTORM_REAL_GUESTS:-}
[ -n "$G" ] || skip "BOOTSTORM_REAL_GUESTS is not set (a folder holding solo5/ and unikraft/ images)"
for f in solo5/test_hello.virtio solo5/test_hello.hvt solo5/solo5-hvt unikraft/helloworld_qemu-x86_64; do
    [ -r "$G/$f" ] || skip "$G/$f missing"
done
# One images folder for the launcher; solo5-hvt (the tender) found on PATH, where
# Solo5's install puts it.
IMAGES="$T_DIR/images"
mkdir -p "$IMAGES"
ln -s "$G"/solo5/test_hello.* "$G/unikraft/helloworld_qemu-x86_64" "$IMAGES/"
ln -s "$BS_BUILD/images/minkernel.elf" "$IMAGES/" # the launcher's KVM probe boots it
PATH="$G/solo5:$PATH" start_stack real --images "$IMAGES"

# run_real GUEST COUNT BACKEND ACCEL EXIT MARKER...: every guest ready with its markers
# and exit status.
run_real() {
    local guest=$1 count=$2 backend=$3 accel=$4 exit_ok=$5 name="$1-$2"
    shift 5
    # hold: the guests leave on their own right after ready; the run waits for their
    # exits instead of stopping them
    printf 'name: %s\nguest: %s\ncount: %s\nbackend: %s\naccel: %s\ntimeout_s: 60\nhold_s: 3\n' \
        "$name" "$guest" "$count" "$backend" "$accel" >"$T_DIR/$name.yaml"
    timeout 120 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" \
        --json >"$T_DIR/$name.json" || fail "$name: run exited $?: $(cat "$T_DIR/$name.json")"
    local run
    run=$(python3 - "$T_DIR/$name.json" "$count" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == int(sys.argv[2]) and r["failed"] == 0, r
print(r["run"])
PY
    ) || fail "$name: not every guest ready: $(cat "$T_DIR/$name.json")"
    local i st
    for ((i = 0; i < count; i++)); do
        # the exit event follows ready: wait for it rather than for a fixed time
        wait_for 30 guest_exited "$run" "real:$i" ||
            fail "$name: guest $i never exited"
        st=$(guest_field "$run" "real:$i" exit_status)
        [ "$st" = "$exit_ok" ] || fail "$name: guest $i exit status $st, expected $exit_ok"
        for m in "$@"; do
            [ -n "$(guest_field "$run" "real:$i" "m:$m")" ] || fail "$name: guest $i marker '$m' not seen"
        done
    done
    echo "$name: $(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); b=r["boot_ms"]; print("ready p50 %s ms, max %s ms, accel %s" % (b["p50"], b["max"], r["accel"]))' "$T_DIR/$name.json")"
}

# Solo5 on QEMU and Unikraft die with "KVM internal error" on a software KVM such as
# this machine's; TCG runs them everywhere.
for n in 1 8; do run_real solo5-virtio "$n" qemu tcg 83 banner success; done
pass "solo5-virtio: 1 and 8 at once ready, markers banner and success, exit 83"
for n in 1 8; do run_real unikraft "$n" qemu tcg 0 banner; done
pass "unikraft: 1 and 8 at once ready, banner marker, exit 0"
if [ -w /dev/kvm ] && [ -r /dev/kvm ]; then
    for n in 1 8; do run_real solo5-hvt "$n" process kvm 0 banner success; done
    pass "solo5-hvt: 1 and 8 at once ready under solo5-hvt, exit 0"
else
    echo "SKIP (part): solo5-hvt needs a usable /dev/kvm"
fi
wait_for 10 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the runs"
