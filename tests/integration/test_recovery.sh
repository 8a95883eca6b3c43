#!/usr/bin/env bash
# Mass restart recovery: a real restart of half of 16 simulated guests; the report's
# recovery time (agg_restart.c, from the ready-count list) is present, positive, below
# the run's duration, and lies within the bounds the restarted instances' ready times
# in `bootstorm export --json` give; the text report, the HTML report and the
# gnuplot ready-count chart show it; the progress line counts the new instances.
# Real redis-server, collector, launcher.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
start_stack rec
wait_for 15 host_up rec ||
    fail "launcher rec never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")
cat >"$T_DIR/restart.yaml" <<'YAML'
name: recovery
guest: sim
backend: process
count: 16
restart: {after_s: 1, fraction: 0.5}
hold_s: 1
timeout_s: 30
YAML
T0=$(date +%s%N)
"${BS[@]}" run "$T_DIR/restart.yaml" --collector "$EP" --json >"$T_DIR/run.json" 2>"$T_DIR/run.err" ||
    fail "run exited $?: $(cat "$T_DIR/run.json" "$T_DIR/run.err")"
T1=$(date +%s%N)
# the progress line counts the restarted instances in the total
tail -1 "$T_DIR/run.err" | grep -Eq "^run .*: 24/24 spawned, 24 ready, 0 failed, " ||
    fail "last progress line: $(cat "$T_DIR/run.err")"
RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/run.json")
"${BS[@]}" export "$RUN" --json --out "$T_DIR/guests.json" || fail "export exited $?"
python3 - "$T_DIR/run.json" "$T_DIR/guests.json" "$((T1 - T0))" <<'PY' || fail "recovery wrong: $(cat "$T_DIR/run.json")"
import json, sys
r = json.load(open(sys.argv[1]))
g = json.load(open(sys.argv[2]))
run_ns = int(sys.argv[3])
rs = r["restart"]
assert r["restarts"] == 1 and r["restart_count"] == 8, (r["restarts"], r["restart_count"])
assert rs and rs["level"] == 16, rs
rec = rs["recovery_ms"]
assert rec is not None and 0 < rec < run_ns / 1e6, (rec, run_ns)
# the restarted instances: spawned at or after the restart (new indexes 16..23)
new = [x for x in g if x["spawn_tr_ns"] >= rs["tr"]]
assert len(new) == 8 and all(x["state"] == "ready" for x in new), new
# Bounds from the guests: every restarted one was spawned after the restart, so the
# fleet was whole no sooner than the longest spawn -> ready of them; and no later than
# the last spawn_tr + ready_ms (spawn_tr is stamped at or after the monotonic spawn:
# under load it is late by up to tens of ms, so this estimate is an upper bound).
# Both within 10 ms of the hosts' tr/tm stamping.
lower = max(x["ready_ms"] for x in new)
upper = max((x["spawn_tr_ns"] - rs["tr"]) / 1e6 + x["ready_ms"] for x in new)
assert lower - 10 <= rec <= upper + 10, (lower, rec, upper)
print("whole again %.1f ms after the restart (guests say between %.1f and %.1f ms); run %.1f s"
      % (rec, lower, upper, run_ns / 1e9))
PY
pass "recovery time present, positive, below the run's length, within the guests' ready times"

"${BS[@]}" report "$RUN" >"$T_DIR/report.txt" || fail "report exited $?"
grep -Eq "^restart recovery: fleet whole again \(16 ready\) [0-9.]+ ms after the restart$" \
    "$T_DIR/report.txt" || fail "no recovery line in the text report: $(cat "$T_DIR/report.txt")"
"${BS[@]}" report "$RUN" --html "$T_DIR/report.html" || fail "report --html exited $?"
grep -q "restart recovery: fleet whole again" "$T_DIR/report.html" || fail "no recovery in the HTML"
grep -q ">restart [0-9.]* ms</text>" "$T_DIR/report.html" || fail "no restart mark on the HTML chart"
pass "text and HTML reports show the recovery"

if command -v gnuplot >/dev/null; then
    "${BS[@]}" plot "$RUN" --out "$T_DIR/plot" >"$T_DIR/plot.log" 2>&1 || fail "plot exited $?: $(cat "$T_DIR/plot.log")"
    grep -q "set arrow from .* lc rgb '#ff7f0e'" "$T_DIR/plot/ready_count.gp" ||
        fail "no restart mark in ready_count.gp: $(cat "$T_DIR/plot/ready_count.gp")"
    grep -q "whole again" "$T_DIR/plot/ready_count.gp" || fail "no whole-again mark in ready_count.gp"
    [ -s "$T_DIR/plot/ready_count.png" ] || fail "no ready_count.png"
    pass "ready-count chart marks the restart and the fleet whole again"
fi
