#!/usr/bin/env bash
# Launch patterns with real minkernel guests: interval (lag recorded, schedule kept),
# concurrency limit (never more boots in flight), mass restart (fleet count before,
# during, after), ramp (follows the trace up and down; points at one time are one
# step), and a launcher killed with
# SIGKILL leaves no guest behind (PR_SET_PDEATHSIG).
source "$BS_SOURCE/tests/integration/lib.sh"

start_stack pat

# Runs scenario file $1 (name $2), leaves the JSON report in $T_DIR/$2.json and the run id in RUN.
run_scenario() {
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$1" --collector "$EP" --json >"$T_DIR/$2.json" ||
        fail "$2: run exited $?: $(cat "$T_DIR/$2.json")"
    RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/$2.json")
}

# Dumps every guest of run $1 (bootstorm export --json) as JSON lines {idx, state,
# spawn_t, ready_t, exit_t}: its host's monotonic ns, ready and exit left out when none.
guests_json() {
    "$BIN/bootstorm" --redis "$REDIS_URL" export "$1" --json | python3 -c '
import json, sys
for x in json.load(sys.stdin):
    t = {"idx": x["idx"], "state": x["state"], "spawn_t": x["spawn_tm_ns"]}
    for k in ("ready", "exit"):
        if x[k + "_ms"] is not None:
            t[k + "_t"] = x["spawn_tm_ns"] + round(x[k + "_ms"] * 1e6)
    print(json.dumps(t))'
}

# --- interval: one every 20 ms, launch lag recorded, schedule kept
cat >"$T_DIR/interval.yaml" <<'YAML'
guest: minkernel
count: 16
pattern: interval
interval_ms: 20
YAML
run_scenario "$T_DIR/interval.yaml" interval
guests_json "$RUN" >"$T_DIR/interval.guests"
python3 - "$T_DIR/interval.json" "$T_DIR/interval.guests" <<'PY' || fail "interval run wrong"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 16 and r["lag_ms"] is not None, r
g = sorted((json.loads(l) for l in open(sys.argv[2])), key=lambda x: int(x["idx"]))
spread = (g[15]["spawn_t"] - g[0]["spawn_t"]) / 1e6
assert 15 * 20 - 5 <= spread <= 15 * 20 + 200, spread   # on schedule, not all at once
print("interval spread %.1f ms, lag p50 %.2f p99 %.2f ms" % (spread, r["lag_ms"]["p50"], r["lag_ms"]["p99"]))
PY
pass "interval: schedule kept, lag recorded"

# --- concurrency limit: never more than 3 boots in flight
cat >"$T_DIR/limit.yaml" <<'YAML'
guest: minkernel
count: 12
concurrency_limit: 3
YAML
run_scenario "$T_DIR/limit.yaml" limit
guests_json "$RUN" >"$T_DIR/limit.guests"
python3 - "$T_DIR/limit.guests" <<'PY' || fail "concurrency limit broken"
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
assert len(g) == 12 and all(x["state"] == "ready" for x in g), g
iv = [(x["spawn_t"], x["ready_t"]) for x in g]
worst = max(sum(1 for s, e in iv if s <= t < e) for t, _ in iv)
assert worst <= 3, worst
print("max boots in flight:", worst)
PY
pass "concurrency limit held"

# --- mass restart: 8 up, half killed and restarted, fleet whole again
cat >"$T_DIR/restart.yaml" <<'YAML'
guest: minkernel
count: 8
restart: {after_s: 0.5, fraction: 0.5}
hold_s: 1
YAML
run_scenario "$T_DIR/restart.yaml" restart
guests_json "$RUN" >"$T_DIR/restart.guests"
RESTART_TM=$(rcli HGET "bs:{$RUN}:meta" "restart_tm:pat")
[ -n "$RESTART_TM" ] || fail "no restart recorded in meta"
python3 - "$T_DIR/restart.guests" "$RESTART_TM" "$T_DIR/restart.json" <<'PY' || fail "mass restart wrong"
import json, sys
g = [json.loads(l) for l in open(sys.argv[1])]
t_restart = int(sys.argv[2])
assert len(g) == 12, len(g)                        # 8 + 4 new instances
new = [x for x in g if int(x["idx"]) >= 8]
assert len(new) == 4 and all(x["state"] == "ready" for x in new), new
def live_ready(t):
    return sum(1 for x in g if "ready_t" in x and x["ready_t"] <= t
               and ("exit_t" not in x or x["exit_t"] > t))
whole = max(x["ready_t"] for x in new)
before, during, after = live_ready(t_restart - 1), live_ready(whole - 1), live_ready(whole)
assert (before, after) == (8, 8) and during < 8, (before, during, after)
# the report's recovery (agg_restart.c, realtime) is the same moment (monotonic here)
rs = json.load(open(sys.argv[3]))["restart"]
assert rs["level"] == 8 and abs(rs["recovery_ms"] - (whole - t_restart) / 1e6) <= 10, rs
print("fleet before %d, during %d, after %d; whole again after %.1f ms (report: %.1f ms)" %
      (before, during, after, (whole - t_restart) / 1e6, rs["recovery_ms"]))
PY
pass "mass restart: fleet 8 -> fewer -> 8"

# --- ramp: 0 -> 4 -> 8 -> 2 -> 0 instances (steps 2-3 s apart: every guest is ready
# before the ramp goes down, also when a loaded machine takes over a second to boot one)
printf 't_s,count\n0,4\n2,8\n5,2\n7,0\n' >"$T_DIR/ramp.csv"
cat >"$T_DIR/ramp.yaml" <<'YAML'
guest: minkernel
pattern: ramp
ramp: ramp.csv
sample_ms: 20
YAML
run_scenario "$T_DIR/ramp.yaml" ramp
python3 - "$T_DIR/ramp.json" <<'PY' || fail "ramp report wrong: $(cat "$T_DIR/ramp.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["spawned"] == 8 and r["ready"] == 8 and r["failed"] == 0, r
PY
rcli XRANGE "bs:{$RUN}:mem:pat" - + | awk 'p{print; p=0} /^running$/{p=1}' >"$T_DIR/ramp.running"
python3 - "$T_DIR/ramp.running" <<'PY' || fail "ramp did not follow the trace"
import sys
v = [int(x) for x in open(sys.argv[1]).read().split()]
peak = v.index(max(v))
assert max(v) == 8 and min(v[peak:]) <= 2, v
print("running over time:", v)
PY
pass "ramp followed its trace up and down"

# --- ramp with several points at one time, as bench/storm.sh SHAPE=ref writes a burst
# to the millisecond: one step each, to its last count. Each point used to be applied
# in turn: 64 guests traced spawned 67-74 and aborted 3-10.
printf 't_s,count\n0.000,1\n0.001,2\n0.001,3\n0.001,4\n0.013,5\n0.013,6\n' >"$T_DIR/ramp-steps.csv"
sed 's/ramp.csv/ramp-steps.csv/' "$T_DIR/ramp.yaml" >"$T_DIR/ramp-steps.yaml"
run_scenario "$T_DIR/ramp-steps.yaml" ramp-steps
python3 - "$T_DIR/ramp-steps.json" <<'PY' || fail "ramp with points at one time: $(cat "$T_DIR/ramp-steps.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["spawned"] == 6 and r["ready"] == 6 and r["failed"] == 0, r
PY
pass "ramp points at one time are one step (6 spawned, 6 ready, 0 failed)"

# --- SIGKILL of the launcher: its guests die with it
cat >"$T_DIR/hold.yaml" <<'YAML'
guest: minkernel
count: 4
hold_s: 60
YAML
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/hold.yaml" --collector "$EP" >/dev/null 2>&1 &
T_PIDS+=("$!")
wait_for 20 qemu_count_is "$LAUNCHER_PID" 4 || fail "4 held guests not running"
GUEST_PIDS=$(qemu_children "$LAUNCHER_PID")
kill -KILL "$LAUNCHER_PID"
# shellcheck disable=SC2086 # one pid a word
wait_for 10 all_dead $GUEST_PIDS || fail "a guest survived its launcher's SIGKILL: $(for p in $GUEST_PIDS; do alive "$p" && echo "$p"; done)"
pass "launcher SIGKILL leaves no guest behind"

# --- sweep: two counts, two repeats each: four runs, each reported, exit 0
start_bg launcher2 "$BIN/bootstorm-launcher" --connect "$EP" --host pat2
cat >"$T_DIR/sweep.yaml" <<'YAML'
name: sweep
guest: minkernel
count: [2, 3]
repeat: 2
cooldown_s: 0
hosts: pat2
YAML
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/sweep.yaml" --collector "$EP" --json \
    >"$T_DIR/sweep.json" || fail "sweep exited $?"
python3 - "$T_DIR/sweep.json" <<'PY' || fail "sweep reports wrong: $(cat "$T_DIR/sweep.json")"
import json, sys
objs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
rs = [o for o in objs if not o.get("summary")]
sums = [o for o in objs if o.get("summary")]
assert [r["count"] for r in rs] == [2, 2, 3, 3], [r["count"] for r in rs]
assert all(r["ready"] == r["count"] and r["complete"] for r in rs), rs
assert len(sums) == 1 and objs[-1] is sums[0], "one summary object, last"
PY
pass "sweep: 4 runs (2 counts x 2 repeats), each reported, then the sweep's summary"
