#!/usr/bin/env bash
# One data directory has at most one embedded Redis: a command started while a `run`
# goes on (runs, watch) attaches to the run's Redis through DATA/run/redis.addr and
# stops nothing; a second `run` is refused by name; ^C on an attached watch leaves
# nothing; a watch attached when the run ends shows its final counts; a stale
# discovery file (its owner killed) is taken over, its left-over daemons stopped; a
# command that owns the Redis stops it on ^C or SIGTERM.
source "$BS_SOURCE/tests/integration/lib.sh"

DATA="$T_DIR/data"
BS=("$BIN/bootstorm" --data-dir "$DATA")
printf 'name: held\nguest: sim\nbackend: process\ncount: 4\nhold_s: 6\n' >"$T_DIR/held.yaml"
printf 'name: quick\nguest: sim\nbackend: process\ncount: 3\nhold_s: 0\n' >"$T_DIR/quick.yaml"
printf 'name: long\nguest: sim\nbackend: process\ncount: 2\nhold_s: 120\n' >"$T_DIR/long.yaml"

# The pids of the redis-servers working in this data dir (their --dir is their cwd).
data_redis() {
    local p
    for p in $(pgrep -x redis-server || true); do
        [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$DATA/redis" ] && echo "$p"
    done
    return 0
}
redis_count_is() { [ "$(data_redis | wc -l)" -eq "$1" ]; }
# Every process that names this data dir on its command line (the CLI's and daemons').
data_procs() { pgrep -f -- "$DATA" || true; }
addr() { sed -n "s/^$1 //p" "$DATA/run/redis.addr"; }

start_bg run "${BS[@]}" run "$T_DIR/held.yaml"
RUN_PID=$LAST_PID
wait_for 30 grep -q "started on 1 host" "$T_DIR/run.log" || fail "the held run did not start: $(cat "$T_DIR/run.log")"
[ "$(stat -c %a "$DATA/run/redis.addr")" = 600 ] || fail "redis.addr is not 600"
[ "$(addr pid)" = "$RUN_PID" ] || fail "redis.addr does not name the run as owner: $(cat "$DATA/run/redis.addr")"
OWNER_REDIS=$(data_redis)
[ "$(echo "$OWNER_REDIS" | wc -w)" = 1 ] && [ "$OWNER_REDIS" = "$(addr redis_pid)" ] ||
    fail "expected the run's redis-server $(addr redis_pid) alone, found: $OWNER_REDIS"

"${BS[@]}" runs >"$T_DIR/runs.txt" 2>&1 || fail "runs failed while the run goes on: $(cat "$T_DIR/runs.txt")"
grep -q held-4 "$T_DIR/runs.txt" || fail "runs does not see the live run: $(cat "$T_DIR/runs.txt")"
[ "$(data_redis)" = "$OWNER_REDIS" ] || fail "runs started or stopped a redis-server: $(data_redis)"
pass "runs attaches to the run's Redis: one redis-server, left running"

set +e
"${BS[@]}" run "$T_DIR/quick.yaml" >/dev/null 2>"$T_DIR/second.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a second run in the same data dir must exit 2, got $rc"
grep -q "a run is going on in $DATA (pid $RUN_PID); use --data-dir or wait" "$T_DIR/second.err" ||
    fail "second run's message: $(cat "$T_DIR/second.err")"
[ "$(data_redis)" = "$OWNER_REDIS" ] || fail "the refused run touched the Redis: $(data_redis)"
pass "a second run is refused by name, the first untouched"

start_bg watch1 "${BS[@]}" watch last --interval-ms 200
W1=$LAST_PID
wait_for 10 grep -q "spawned" "$T_DIR/watch1.log" || fail "watch shows nothing: $(cat "$T_DIR/watch1.log")"
redis_count_is 1 || fail "watch started a redis-server: $(data_redis)"
kill -INT "$W1"
wait_for 10 all_dead "$W1" || fail "watch did not stop on SIGINT"
set +e; wait "$W1"; rc=$?; set -e
[ "$rc" = 130 ] || fail "watch after SIGINT exited $rc, not 130"
[ "$(data_redis)" = "$OWNER_REDIS" ] || fail "^C on an attached watch touched the run's Redis: $(data_redis)"
pass "^C on an attached watch: it ends (130), the run's Redis stays, nothing else left"

start_bg watch2 "${BS[@]}" watch last --interval-ms 200
W2=$LAST_PID
wait_for 60 all_dead "$RUN_PID" || fail "the held run did not end"
set +e; wait "$RUN_PID"; rc=$?; set -e
[ "$rc" = 0 ] || fail "the held run exited $rc: $(cat "$T_DIR/run.log")"
t0=$SECONDS
wait_for 15 all_dead "$W2" || fail "watch still running 15 s after the run ended: $(cat "$T_DIR/watch2.log")"
set +e; wait "$W2"; rc=$?; set -e
[ "$rc" = 0 ] || fail "watch exited $rc: $(cat "$T_DIR/watch2.log")"
tail -1 "$T_DIR/watch2.log" | grep -q "4/4 spawned, 4 ready, 0 failed" ||
    fail "watch's last line is not the final count: $(cat "$T_DIR/watch2.log")"
wait_for 10 redis_count_is 0 || fail "redis-server of the data dir left after the run: $(data_redis)"
[ ! -e "$DATA/run/redis.addr" ] || fail "discovery file left: $(cat "$DATA/run/redis.addr")"
[ -z "$(data_procs)" ] || fail "processes of the data dir left: $(data_procs)"
pass "watch ends with 4/4 ready $((SECONDS - t0)) s after the run; no redis-server of the data dir left"

# A run killed outright leaves its daemons (own process groups) and a discovery file
# naming it: the next command takes over, stops those still running in this data dir,
# and owns a Redis of its own.
start_bg run2 "${BS[@]}" run "$T_DIR/long.yaml"
RUN2=$LAST_PID
wait_for 30 grep -q "started on 1 host" "$T_DIR/run2.log" || fail "the long run did not start: $(cat "$T_DIR/run2.log")"
STALE=("$(addr redis_pid)" "$(addr collector_pid)")
T_PIDS+=("${STALE[@]}") # stopped by the test if the code under test does not
# The launcher killed too: on SIGTERM it would finish the run (failed, done), and the
# next watch must find it open and wait; its guests die with it (PR_SET_PDEATHSIG).
kill -KILL "$RUN2" "$(addr launcher_pid)"
wait_for 10 all_dead "$RUN2" "$(addr launcher_pid)" || fail "kill -KILL did not end the run and its launcher"
alive "${STALE[0]}" || fail "the killed run's redis-server is gone already: nothing to test"
start_bg watch3 "${BS[@]}" watch last --interval-ms 200
W3=$LAST_PID
wait_for 30 grep -q "spawned" "$T_DIR/watch3.log" || fail "watch after a stale owner shows nothing: $(cat "$T_DIR/watch3.log")"
wait_for 30 all_dead "${STALE[@]}" || fail "the stale owner's daemons still run: ${STALE[*]}"
[ "$(addr pid)" = "$W3" ] || fail "watch did not take the data dir over: $(cat "$DATA/run/redis.addr")"
redis_count_is 1 || fail "expected the watch's redis-server alone: $(data_redis)"
kill -INT "$W3"
wait_for 15 all_dead "$W3" || fail "the owning watch did not stop on SIGINT"
wait_for 10 redis_count_is 0 || fail "^C on the owning watch left its redis-server: $(data_redis)"
[ -z "$(data_procs)" ] || fail "processes of the data dir left: $(data_procs)"
pass "a killed run's daemons are stopped by the next command; ^C on an owner leaves nothing"

# A query that owns the Redis (redis-cli blocked in BLPOP): a run is refused by name,
# and SIGTERM to that query stops its Redis (redis-cli, its child, then ends too).
start_bg cli "${BS[@]}" redis-cli BLPOP datadir-test-none 60 </dev/null
CLI=$LAST_PID
wait_for 20 test -s "$DATA/run/redis.addr" || fail "redis-cli did not start the Redis: $(cat "$T_DIR/cli.log")"
[ "$(addr pid)" = "$CLI" ] || fail "redis-cli is not the owner: $(cat "$DATA/run/redis.addr")"
wait_for 10 pgrep -P "$CLI" redis-cli || fail "no redis-cli under bootstorm redis-cli"
RCLI=$(pgrep -P "$CLI" redis-cli)
T_PIDS+=("$RCLI")
set +e
"${BS[@]}" run "$T_DIR/quick.yaml" >/dev/null 2>"$T_DIR/third.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "a run while a query owns the Redis must exit 2, got $rc"
grep -q "bootstorm pid $CLI is using the Redis of $DATA; wait for it to end or use --data-dir" \
    "$T_DIR/third.err" || fail "refused run's message: $(cat "$T_DIR/third.err")"
redis_count_is 1 || fail "expected the query's redis-server alone: $(data_redis)"
kill -TERM "$CLI"
wait_for 15 all_dead "$CLI" "$RCLI" || fail "bootstorm redis-cli or its redis-cli still run after SIGTERM"
wait_for 10 redis_count_is 0 || fail "SIGTERM on the owning query left its redis-server: $(data_redis)"
[ ! -e "$DATA/run/redis.addr" ] || fail "discovery file left after SIGTERM"
pass "a run is refused while a query owns the Redis; SIGTERM on that query leaves nothing"

# A discovery file by hand, naming a dead owner: the next run is not stopped by it.
sh -c 'exit 0' &
DEAD=$!
wait "$DEAD" || true
printf 'pid %s\nredis_pid %s\nurl redis://127.0.0.1:1\npassword 00\n' "$DEAD" "$DEAD" >"$DATA/run/redis.addr"
chmod 600 "$DATA/run/redis.addr"
"${BS[@]}" run "$T_DIR/quick.yaml" >"$T_DIR/quick.txt" 2>"$T_DIR/quick.err" ||
    fail "run after a stale discovery file failed: $(cat "$T_DIR/quick.err")"
grep -Eq "sim +process +none +3 +3 +0" "$T_DIR/quick.txt" || fail "quick run's report: $(cat "$T_DIR/quick.txt")"
redis_count_is 0 || fail "redis-server left after the quick run: $(data_redis)"
[ ! -e "$DATA/run/redis.addr" ] && [ -z "$(data_procs)" ] || fail "the quick run left something behind"
pass "a stale discovery file (dead owner) does not stop the next run; nothing left"
