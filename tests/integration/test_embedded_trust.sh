#!/usr/bin/env bash
# The embedded set-up lets no one else in: its Redis answers only with the password
# generated for this start (kept in a 0600 file of a 0700 run dir, on no command line,
# bound to loopback), and its collector listens on an ipc:// socket in that dir, not on
# a TCP port any local process could reach.
source "$BS_SOURCE/tests/integration/lib.sh"

DATA="$T_DIR/data"
printf 'name: held\nguest: sim\nbackend: process\ncount: 2\nhold_s: 30\n' >"$T_DIR/held.yaml"
start_bg run "$BIN/bootstorm" --data-dir "$DATA" run "$T_DIR/held.yaml"
RUN_PID=$LAST_PID
wait_for 30 test -S "$DATA/run/collector.sock" || fail "no collector socket in $DATA/run: $(cat "$T_DIR/run.log")"
wait_for 30 grep -q "started on 1 host" "$T_DIR/run.log" || fail "the held run did not start: $(cat "$T_DIR/run.log")"

[ "$(stat -c %a "$DATA/run")" = 700 ] || fail "run dir is $(stat -c %a "$DATA/run"), not 700"
[ "$(stat -c %a "$DATA/run/redis.conf")" = 600 ] || fail "redis.conf is not 600"
grep -q '^requirepass [0-9a-f]\{32\}$' "$DATA/run/redis.conf" || fail "no generated password"
PW=$(awk '/^requirepass/ {print $2}' "$DATA/run/redis.conf")
PORT=$(sed -n 's/.*Running mode=standalone, port=\([0-9]*\).*/\1/p' "$DATA/redis.log" | tail -1)
[ -n "$PORT" ] || fail "no port in redis.log"
redis-cli -p "$PORT" ping 2>&1 | grep -q NOAUTH || fail "the embedded Redis answers without a password"
[ "$(redis-cli -p "$PORT" --no-auth-warning -a "$PW" ping)" = PONG ] || fail "the generated password does not work"
kids=$(pgrep -P "$RUN_PID" || true)
[ "$(echo "$kids" | wc -w)" -ge 3 ] || fail "expected redis-server, collector and launcher under the CLI: '$kids'"
for p in $kids; do
    ! tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$PW" || fail "pid $p has the password on its command line"
    ! tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "tcp://" || fail "pid $p uses TCP: $(tr '\0' ' ' <"/proc/$p/cmdline")"
done
grep -q "ipc://$DATA/run/collector.sock" "$DATA/collector.log" || fail "collector not on the ipc socket"
kill -TERM "$RUN_PID"
wait_for 30 bash -c "! kill -0 $RUN_PID 2>/dev/null" || fail "bootstorm run did not stop on SIGTERM"
left=$(pgrep -f -- "$DATA" || true)
[ -z "$left" ] || fail "processes of the embedded set-up left behind: $left"
pass "embedded: Redis needs the generated password (0600 file, 0700 dir, on no command line), collector on ipc:// only, nothing left"
