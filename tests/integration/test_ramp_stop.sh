#!/usr/bin/env bash
# A ramp that falls while guests still boot stops them as its trace asks: "stopped
# before ready", neither ready nor failed. Reproduction: random ramps of sim guests
# whose falls came within a boot time of their rises ended with those guests counted
# failed (reason "aborted"), e.g. "0.6,11 / 0.601,1 / 1.201,5": 15 spawned, 5 ready,
# 10 failed and exit status 1, although nothing failed. A gated guest makes it exact:
# none is ready until the test writes to its FIFO, after the fall.
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/g"
mkfifo "$T_DIR/gate" # each guest blocks reading it: none is ready until the test writes
cat >"$T_DIR/g/gated.yaml" <<Y
name: gated
process:
  argv: [sh, -c, 'read -r go <"\$0"; echo "BOOTSTORM READY gated"; exec tail -f /dev/null', "$T_DIR/gate"]
ready: 'BOOTSTORM READY gated'
Y
start_stack rs --guests "$T_DIR/g"
wait_for 15 host_up rs || fail "no hello"

# 4 at once, down to 1 at 0.3 s while all 4 wait at the gate: 3 stopped before ready
printf 't_s,count\n0,4\n0.3,1\n' >"$T_DIR/fall.csv"
printf 'name: fall\nguest: gated\nbackend: process\npattern: ramp\nramp: fall.csv\ntimeout_s: 60\n' \
    >"$T_DIR/fall.yaml"
timeout 90 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/fall.yaml" --collector "$EP" --json \
    >"$T_DIR/fall.json" 2>"$T_DIR/fall.err" &
run_pid=$!
T_PIDS+=("$run_pid")
stopped_3() {
    local run
    run=$(redis-cli -p "$REDIS_PORT" ZREVRANGE bs:runs 0 0)
    [ -n "$run" ] && [ "$(redis-cli -p "$REDIS_PORT" HGET "bs:{$run}:agg" stopped)" = 3 ]
}
wait_for 30 stopped_3 || fail "3 guests not stopped by the fall: $(cat "$T_DIR/fall.err")"
timeout 20 sh -c 'echo go >"$1"' sh "$T_DIR/gate" || fail "no guest left reading the gate"
# the one left becomes ready: the run can end
set +e
wait "$run_pid"
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "a ramp that stopped booting guests exited $rc: $(cat "$T_DIR/fall.err")"
python3 - "$T_DIR/fall.json" <<'PY' || fail "report: $(cat "$T_DIR/fall.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["spawned"], r["ready"], r["stopped"], r["failed"]) == (4, 1, 3, 0), r
assert sum(r["failed_by_reason"].values()) == 0, r["failed_by_reason"]
PY
RUN=$(rcli ZREVRANGE bs:runs 0 0)
"$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN" >"$T_DIR/report.txt"
grep -q "stopped before ready by the ramp: 3" "$T_DIR/report.txt" || fail "text report: $(cat "$T_DIR/report.txt")"
grep -q "^failed:" "$T_DIR/report.txt" && fail "text report lists failures: $(cat "$T_DIR/report.txt")"
pass "ramp fall while booting: 4 spawned, 1 ready, 3 stopped, 0 failed, exit 0"
