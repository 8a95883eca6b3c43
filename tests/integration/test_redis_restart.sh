#!/usr/bin/env bash
# Redis restarted mid-run. Reproduction: `bootstorm run` lost its connection when
# redis-server was restarted while the run went on, and ended with "did not finish in
# 96 s", exit 1, although the run had finished. It now says once that it lost Redis,
# reconnects, and reports the real result; `bootstorm watch` of the run does the same. Real redis-server (AOF, fsync always, so
# the data survives the restart), collector, launcher, simulated guests (process
# backend); the restart is a kill -9 by pid and a start on the same port and dir.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
REDIS_PORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
mkdir -p "$T_DIR/redis"
start_redis_aof() {
    start_bg "redis$1" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T_DIR/redis" \
        --save "" --appendonly yes --appendfsync always
    REDIS_PID=$LAST_PID
    wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT ping 2>/dev/null)\" = PONG ]" ||
        fail "redis did not start"
}
start_redis_aof 1
EP="tcp://127.0.0.1:$(free_port)"
start_bg collector "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" \
    --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
start_bg launcher "$BIN/bootstorm-launcher" --connect "$EP" --host rrhost
LAUNCHER_PID=$LAST_PID
wait_for 15 host_up rrhost ||
    fail "launcher rrhost never said hello"

N=8
cat >"$T_DIR/rr.yaml" <<YAML
name: redis-restart
guest: sim
backend: process
count: $N
pattern: burst
hold_s: 6
timeout_s: 30
YAML
T0=$SECONDS
start_bg cli "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/rr.yaml" --collector "$EP" --json
CLI_PID=$LAST_PID
wait_for 20 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT ZREVRANGE bs:runs 0 0)\" ]" || fail "no run"
RUN=$(rcli ZREVRANGE bs:runs 0 0)
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'bs:{$RUN}:agg' ready)\" = $N ]" ||
    fail "guests not ready before the restart"
[ -z "$(rcli HGET "bs:{$RUN}:meta" hosts_done)" ] || fail "the run ended before the restart"
start_bg watch "$BIN/bootstorm" --redis "$REDIS_URL" watch "$RUN" --interval-ms 100 --timeout-s 60
WATCH_PID=$LAST_PID
wait_for 10 grep -q "launchers done" "$T_DIR/watch.log" || fail "watch shows no progress"

# ---- the restart, by pid, while the guests are held
kill -KILL "$REDIS_PID"
KILLED_NS=$(date +%s%N)
wait "$REDIS_PID" 2>/dev/null || true
T_RESTART=$SECONDS
start_redis_aof 2
DOWN_MS=$((($(date +%s%N) - KILLED_NS) / 1000000))
wait_for 60 bash -c "! kill -0 $CLI_PID 2>/dev/null" || fail "the CLI did not exit within 60 s of the restart"
EXIT_NS=$(date +%s%N) # within the 0.1 s of wait_for's polling
set +e
wait "$CLI_PID"
rc=$?
set -e
T_EXIT=$SECONDS
cat "$T_DIR/cli.log" >&2
[ "$rc" -eq 0 ] || fail "bootstorm run exited $rc after the Redis restart"
[ "$(grep -c "lost Redis" "$T_DIR/cli.log")" -eq 1 ] || fail "the CLI did not say once that it lost Redis"
grep -q "did not finish" "$T_DIR/cli.log" && fail "the CLI says the run did not finish"
grep '^{' "$T_DIR/cli.log" >"$T_DIR/report.json" || fail "no JSON report"
wait_for 10 bash -c "! kill -0 $WATCH_PID 2>/dev/null" || fail "watch did not end with the run"
set +e
wait "$WATCH_PID"
wrc=$?
set -e
[ "$wrc" -eq 0 ] || fail "watch exited $wrc after the Redis restart: $(cat "$T_DIR/watch.log")"
[ "$(grep -c "bootstorm watch: lost Redis" "$T_DIR/watch.log")" -eq 1 ] ||
    fail "watch did not say once that it lost Redis: $(cat "$T_DIR/watch.log")"
grep -q "launchers done 1/1" "$T_DIR/watch.log" || fail "watch never saw the run done"
python3 - "$T_DIR/report.json" "$N" "$RUN" <<'PY' || fail "report: $(cat "$T_DIR/report.json")"
import json, sys
d = json.load(open(sys.argv[1])); n = int(sys.argv[2])
assert d["run"] == sys.argv[3] and d["ready"] == n and d["complete"] and d["failed"] == 0, d
PY

# ---- the stored counts are exact
agg() { rcli HGET "bs:{$RUN}:agg" "$1"; }
[ "$(agg ready)" = $N ] || fail "ready $(agg ready), want $N"
[ "$(agg spawned)" = $N ] || fail "spawned $(agg spawned), want $N"
[ -z "$(agg failed)" ] || fail "failed $(agg failed)"
[ "$(rcli ZCARD "bs:{$RUN}:boot")" = $N ] || fail "boot zset $(rcli ZCARD "bs:{$RUN}:boot"), want $N"
[ "$(rcli HGET "bs:{$RUN}:meta" hosts_done)" = 1 ] || fail "hosts_done not 1"
STORED=$(rcli LLEN "bs:{$RUN}:ev")
END_NS=$(rcli HGET "bs:{$RUN}:meta" end_tr:rrhost)
LAG_MS=$(((EXIT_NS - END_NS) / 1000000))
kill -TERM "$LAUNCHER_PID"
wait_for 20 grep -q "bye:" "$T_DIR/launcher.log" || fail "launcher did not say bye"
EMITTED=$(sed -n 's/.*bye: \([0-9]*\) events sent.*/\1/p' "$T_DIR/launcher.log")
wait_for 10 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET bs:host:rrhost acked)\" = $EMITTED ]" ||
    fail "launcher emitted $EMITTED events, Redis acked $(rcli HGET bs:host:rrhost acked)"
pass "Redis restarted mid-run (down $DOWN_MS ms): watch exit 0, run exit 0 $((T_EXIT - T_RESTART)) s after the restart, $LAG_MS ms after the run ended ($((T_EXIT - T0)) s in all, hold 6 s), $N/$N ready; launcher emitted $EMITTED events, all stored (acked $EMITTED); the run's ev list holds $STORED of them (hello, heartbeats and pongs are not run events)"
