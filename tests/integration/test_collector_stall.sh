#!/usr/bin/env bash
# Reproduction (issue "Trust", 7): a collector stopped for 10 s (SIGSTOP) recorded its
# launchers as "missing" when it resumed, though they had been sending all along; with
# runs now given up on after 6 s of silence, it would also have failed a run. The
# collector's own stall is not the launchers' silence: no host is marked missing or
# lost, and a run started before the stall ends with every guest ready.
source "$BS_SOURCE/tests/integration/lib.sh"

start_stack st
wait_for 15 host_up st || fail "no hello"
COLL_PID=$(pgrep -f -- "--bind $EP" | head -1)
[ -n "$COLL_PID" ] && [ "$COLL_PID" -gt 1 ] || fail "collector pid not found"
printf 'name: through-stall\nguest: sim\nbackend: process\ncount: 4\nhold_s: 12\ntimeout_s: 60\n' >"$T_DIR/s.yaml"
start_bg run "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/s.yaml" --collector "$EP" --json
RUN_PID=$LAST_PID
wait_for 20 grep -q "started on 1 host" "$T_DIR/run.log" || fail "the run did not start: $(cat "$T_DIR/run.log")"
kill -STOP "$COLL_PID"
# The fault itself lasts 10 s (this is the stop being tested, not a wait for state).
timeout 10 tail --pid="$RUN_PID" -f /dev/null || true
kill -CONT "$COLL_PID"
wait_for 10 grep -q "loop stalled" "$T_DIR/collector.log" || fail "the stall was not noticed: $(tail -5 "$T_DIR/collector.log")"
wait_for 40 bash -c "! kill -0 $RUN_PID 2>/dev/null" || fail "the run did not end"
set +e
wait "$RUN_PID"
rc=$?
set -e
[ "$rc" = 0 ] || fail "the run through the stall exited $rc: $(cat "$T_DIR/run.log")"
! grep -q "marked missing\|launcher lost" "$T_DIR/collector.log" ||
    fail "the collector's own stall was taken for the launcher's silence: $(grep -E 'missing|lost' "$T_DIR/collector.log")"
[ "$(rcli HGET bs:host:st state)" = up ] || fail "host st is $(rcli HGET bs:host:st state)"
pass "collector stopped 10 s mid-run: no host marked missing or lost, the run ended 4/4 ready"
