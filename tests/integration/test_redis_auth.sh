#!/usr/bin/env bash
# Redis with authentication, as a shared Redis is run: a default-user password and an
# ACL user. The collector stores a run and the CLI reads it, with the credentials in
# the URL, in BOOTSTORM_REDIS_PASSWORD, or in BOOTSTORM_REDIS_PASSWORD_FILE. A wrong
# password fails at once with Redis's reason and never shows the password.
source "$BS_SOURCE/tests/integration/lib.sh"

PW=pw-$RANDOM$RANDOM
REDIS_PORT=$(free_port)
mkdir -p "$T_DIR/redis"
start_bg redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T_DIR/redis" --save "" \
    --appendonly no --requirepass "$PW"
wait_for 10 bash -c "redis-cli -p $REDIS_PORT --no-auth-warning -a '$PW' ping | grep -q PONG" ||
    fail "redis-server with requirepass did not start"
rcli() { redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$PW" "$@"; }
HP="127.0.0.1:$REDIS_PORT"
[ "$(rcli ACL SETUSER bsuser on ">userpw-$PW" '~*' '&*' '+@all')" = OK ] || fail "ACL SETUSER"

# 1. The stack with the password in the URL; one run stored and reported.
EP="tcp://127.0.0.1:$(free_port)"
start_bg collector "$BIN/bootstorm-collector" --bind "$EP" --redis "redis://:$PW@$HP" \
    --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector did not start against a password-protected Redis"
start_bg launcher "$BIN/bootstorm-launcher" --connect "$EP" --host authhost \
    --images "$BS_BUILD/images"
printf 'name: auth\nguest: sim\nbackend: process\ncount: 4\n' >"$T_DIR/auth.yaml"
timeout 60 "$BIN/bootstorm" --redis "redis://:$PW@$HP" run "$T_DIR/auth.yaml" --collector "$EP" \
    --json >"$T_DIR/run.json" || fail "run with credentials in the URL: $(cat "$T_DIR/run.json")"
RUN=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==4, r; print(r["run"])' \
    "$T_DIR/run.json") || fail "not 4 ready: $(cat "$T_DIR/run.json")"
[ "$(REDIS_URL="redis://:$PW@$HP" guest_field "$RUN" authhost:0 state)" = ready ] ||
    fail "guest 0 not stored as ready"
! grep -q "$PW" "$T_DIR/collector.log" || fail "the collector's log shows the password"
pass "collector and run with redis://:PASSWORD@host: 4/4 ready, stored, password not logged"

# 2. An ACL user in the URL; the password from the environment; from a file.
"$BIN/bootstorm" --redis "redis://bsuser:userpw-$PW@$HP" report "$RUN" >"$T_DIR/r1.txt" ||
    fail "report as ACL user bsuser"
BOOTSTORM_REDIS_PASSWORD=$PW "$BIN/bootstorm" --redis "redis://$HP" report "$RUN" >"$T_DIR/r2.txt" ||
    fail "report with BOOTSTORM_REDIS_PASSWORD"
printf '%s\n' "$PW" >"$T_DIR/pwfile"
chmod 600 "$T_DIR/pwfile"
BOOTSTORM_REDIS_PASSWORD_FILE=$T_DIR/pwfile "$BIN/bootstorm" --redis "redis://$HP" report "$RUN" \
    >"$T_DIR/r3.txt" || fail "report with BOOTSTORM_REDIS_PASSWORD_FILE"
cmp -s "$T_DIR/r1.txt" "$T_DIR/r2.txt" && cmp -s "$T_DIR/r2.txt" "$T_DIR/r3.txt" ||
    fail "the three reports differ"
grep -q "$RUN" "$T_DIR/r1.txt" || fail "report does not name the run"
pass "ACL user in the URL, password from the environment and from a file: the same report"

# 3. Wrong or missing password: non-zero, Redis's reason, the password never shown.
set +e
"$BIN/bootstorm" --redis "redis://:wrong-$PW@$HP" runs >"$T_DIR/bad.out" 2>"$T_DIR/bad.err"
rc=$?
"$BIN/bootstorm" --redis "redis://$HP" runs >"$T_DIR/none.out" 2>"$T_DIR/none.err"
rc2=$?
set -e
[ "$rc" -ne 0 ] || fail "a wrong password must fail"
grep -q "WRONGPASS\|invalid" "$T_DIR/bad.err" || fail "no reason for the wrong password: $(cat "$T_DIR/bad.err")"
! grep -q "wrong-$PW" "$T_DIR/bad.err" "$T_DIR/bad.out" || fail "the password was printed: $(cat "$T_DIR/bad.err")"
[ "$rc2" -ne 0 ] || fail "no password against requirepass must fail"
grep -qi "auth" "$T_DIR/none.err" || fail "no reason for the missing password: $(cat "$T_DIR/none.err")"
pass "wrong password: exit $rc, '$(head -1 "$T_DIR/bad.err")'; missing password: exit $rc2"
