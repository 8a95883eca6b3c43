#!/usr/bin/env bash
# Readiness rules and backends with real guests: the debug port (isa-debugcon), exit
# status (isa-debug-exit), HTTP through a forwarded port (Linux guest, if built),
# trace mode keeping every console line, and the process backend at 1280 simulated
# guests on one launcher (no per-guest thread, no fd leak, no zombie).
source "$BS_SOURCE/tests/integration/lib.sh"

start_stack rdy

# run_guests NAME GUEST COUNT [extra yaml lines]: runs, checks every guest ready, sets RUN.
run_guests() {
    local name=$1 guest=$2 count=$3
    shift 3
    printf 'name: %s\nguest: %s\ncount: %s\n' "$name" "$guest" "$count" >"$T_DIR/$name.yaml"
    local l
    for l in "$@"; do echo "$l" >>"$T_DIR/$name.yaml"; done
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" --json \
        >"$T_DIR/$name.json" || fail "$name: run exited $?: $(cat "$T_DIR/$name.json")"
    RUN=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==int(sys.argv[2]), r; print(r["run"])' \
        "$T_DIR/$name.json" "$count") || fail "$name: not every guest ready: $(cat "$T_DIR/$name.json")"
}

run_guests debugcon minkernel-debugcon 4
pass "ready by the debug port: 4/4"

run_guests exit minkernel-exit 4
[ "$(guest_field "$RUN" rdy:0 exit_status)" = 1 ] || fail "exit guest's status is not 1"
[ -n "$(guest_field "$RUN" rdy:0 m:exit)" ] || fail "marker 'exit' (after 'entry') not recorded"
pass "ready by exit status, marker with after: recorded"

run_guests trace minkernel 2 "trace: true"
rcli XRANGE "bs:{$RUN}:lines" - + | grep -q "BOOTSTORM READY minkernel" || fail "trace lines not stored"
pass "trace mode keeps console lines"

if [ -f "$BS_BUILD/images/linux-vmlinux" ]; then
    run_guests http linux-http 2 "accel: tcg" "timeout_s: 120"
    pass "ready when the guest serves HTTP: 2/2"
else
    echo "SKIP: linux images not built, HTTP readiness through a Linux guest not tested"
fi

FDS_BEFORE=$(ls /proc/"$LAUNCHER_PID"/fd | wc -l)
run_guests scale sim 1280 "backend: process" "timeout_s: 60"
python3 - "$T_DIR/scale.json" <<'PY' || fail "scale report wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["spawned"] == 1280 and r["failed"] == 0, r
print("1280 process guests: boot p50 %.1f ms, p99 %.1f ms, all ready %.0f ms, launcher cpu %s ms" %
      (r["boot_ms"]["p50"], r["boot_ms"]["p99"], r["all_ready_ms"], r["launcher"]["cpu_ms"]))
PY
wait_for 10 bash -c "[ -z \"\$(pgrep -P $LAUNCHER_PID)\" ]" || fail "guests left after the scale run"
FDS_AFTER=$(ls /proc/"$LAUNCHER_PID"/fd | wc -l)
[ "$FDS_AFTER" -le $((FDS_BEFORE + 2)) ] || fail "launcher fds grew from $FDS_BEFORE to $FDS_AFTER"
grep -q "Z" <(ps -o stat= --ppid "$LAUNCHER_PID" 2>/dev/null) && fail "zombies left"
pass "1280 process guests on one launcher, no fd leak, no zombie"
