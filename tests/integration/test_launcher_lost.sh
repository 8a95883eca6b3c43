#!/usr/bin/env bash
# Reproduction (issue "Trust", 4): a launcher killed mid-run (kill -9; its guests die
# with it) left the run open forever: its guests were never failed and `bootstorm run`
# waited out its own timeout. Now the collector gives the host up after a bounded
# silence, the guests without a verdict count as failed, "launcher lost", and `run`
# exits non-zero within seconds, saying why.
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/guests"
sed -e 's/^name: sim$/name: sim-slow/' -e 's/--boot-ms, "200"/--boot-ms, "60000"/' \
    "$BS_SOURCE/guests/sim.yaml" >"$T_DIR/guests/sim-slow.yaml"
grep -q '"60000"' "$T_DIR/guests/sim-slow.yaml" || fail "could not make a slow sim profile"
start_stack lost --guests "$T_DIR/guests"
wait_for 15 host_up lost || fail "no hello"
printf 'name: doomed\nguest: sim-slow\nbackend: process\ncount: 4\ntimeout_s: 120\n' >"$T_DIR/doomed.yaml"
start_bg run "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/doomed.yaml" --collector "$EP" --json
RUN_PID=$LAST_PID
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT --raw ZREVRANGE bs:runs 0 0 | xargs -I{} redis-cli -p $REDIS_PORT HGET 'bs:{{}}:agg' spawned)\" = 4 ]" ||
    fail "4 guests never spawned: $(cat "$T_DIR/run.log")"
RUN=$(rcli ZREVRANGE bs:runs 0 0)
kill -KILL "$LAUNCHER_PID"
killed=$SECONDS
wait_for 30 bash -c "! kill -0 $RUN_PID 2>/dev/null" || fail "bootstorm run still waiting 30 s after the launcher died"
took=$((SECONDS - killed))
set +e
wait "$RUN_PID"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "bootstorm run exited 0 for a run whose launcher died"
grep -q "launcher lost" "$T_DIR/run.log" || fail "run does not say why: $(cat "$T_DIR/run.log")"
"$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN" --json >"$T_DIR/report.json" || true
python3 - "$T_DIR/report.json" <<'PY' || fail "report: $(cat "$T_DIR/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 0 and r["failed"] == 4, r
assert r["failed_by_reason"]["launcher_lost"] == 4, r["failed_by_reason"]
assert r["complete"] is False, r
PY
pass "launcher killed mid-run: run exited $rc after ${took} s, 4 guests failed 'launcher lost', run incomplete"
