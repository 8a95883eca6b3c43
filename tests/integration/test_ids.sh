#!/usr/bin/env bash
# Host, run and pool ids at the CLI's entries (issue #11 item 3): one rule
# (common/yamlcfg.c ycfg_id_why: [A-Za-z0-9._-], at most 63 characters). A bad run id
# given to report, export, plot, compare, watch or check, and a bad pool or host name given to
# pool, is refused with an error naming it and exit 2, and no Redis key is built from
# it (MONITOR sees no command naming it). A scenario file with an odd name still runs
# under a valid name (simulated guests on the process backend, no QEMU).
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
start_stack idhost
wait_for 10 host_up idhost ||
    fail "launcher idhost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")
rcli MONITOR >"$T_DIR/monitor.log" 2>&1 &
T_PIDS+=("$!")
wait_for 10 grep -q OK "$T_DIR/monitor.log" || fail "MONITOR did not start"

# refused CMD WANT ARGS...: exit 2, stderr names WANT.
refused() {
    local want=$1 rc=0
    shift
    "${BS[@]}" "$@" >"$T_DIR/out" 2>"$T_DIR/err" || rc=$?
    [ "$rc" = 2 ] || fail "'$*' exited $rc, want 2: $(cat "$T_DIR/err")"
    grep -qF -- "$want" "$T_DIR/err" || fail "'$*': the error does not name it: $(cat "$T_DIR/err")"
}

LONG=$(printf 'r%.0s' $(seq 64)) # 64 characters: one too many
OK63=$(printf 'r%.0s' $(seq 63))
for bad in 'a:b' 'x}' 'a b' '*' "$LONG"; do
    shown=${bad:0:20}
    refused "bad run id '$shown" report "$bad"
    refused "bad run id '$shown" export --csv "$bad"
    refused "bad run id '$shown" plot --out "$T_DIR/p" "$bad"
    refused "bad run id '$shown" compare last "$bad"
    refused "bad run id '$shown" watch "$bad"
    refused "bad run id '$shown" check "$bad" --max-failed-pct 5
done
refused "longer than 63 characters" report "$LONG"
refused "bad run id '?x'" report $'\nx'
pass "bad run ids refused with exit 2 by report, export, plot, compare, watch, check"

# A valid id of 63 characters is no usage error: the run is just not there (exit 1).
rc=0
"${BS[@]}" report "$OK63" >/dev/null 2>"$T_DIR/err" || rc=$?
[ "$rc" = 1 ] && grep -q "no run '$OK63'" "$T_DIR/err" || fail "63-character id: rc $rc, $(cat "$T_DIR/err")"
pass "a 63-character run id is valid (no such run: exit 1)"

refused "bad pool name 'po:ol'" pool add 'po:ol' h1
refused "bad host id 'h 1'" pool add fleet 'h 1'
refused "bad pool name '$LONG" pool rm "$LONG"
refused "bad pool name 'x*'" pool list 'x*'
refused "--hosts: expected" run --hosts 'h 1'
refused "--hosts: expected" run --hosts 'pool:{x}'
pass "bad pool and host names refused with exit 2 by pool and run --hosts"

# The launcher's --host (launcher/main.c): a bad id is refused at start, exit 2.
rc=0
timeout 10 "$BIN/bootstorm-launcher" --connect "$EP" --host 'a:b' >/dev/null 2>"$T_DIR/err" || rc=$?
[ "$rc" = 2 ] && grep -qF "'a:b'" "$T_DIR/err" || fail "launcher --host a:b: rc $rc, $(cat "$T_DIR/err")"
rc=0
timeout 10 "$BIN/bootstorm-launcher" --connect "$EP" --host "h$LONG" >/dev/null 2>"$T_DIR/err" || rc=$?
[ "$rc" = 2 ] && grep -qF "longer than 63" "$T_DIR/err" || fail "launcher --host of 65: rc $rc, $(cat "$T_DIR/err")"
pass "launcher --host 'a:b' and a 65-character --host refused with exit 2"

# Valid names go through (the keys from common/keys.h): add, list, hosts, rm.
"${BS[@]}" pool add fleet.1 idhost || fail "pool add"
[ "$("${BS[@]}" pool list fleet.1)" = "fleet.1: idhost" ] || fail "pool list: $("${BS[@]}" pool list fleet.1)"
"${BS[@]}" hosts | grep -qE '^idhost +up .* fleet\.1$' || fail "hosts: $("${BS[@]}" hosts)"
"${BS[@]}" pool rm fleet.1 idhost || fail "pool rm"
[ "$(rcli SCARD bs:pools)" = 0 ] && [ "$(rcli EXISTS bs:pool:fleet.1)" = 0 ] || fail "emptied pool left behind"
pass "pool add/list/rm and hosts with valid names"

# Nothing above reached Redis as a key: no command in MONITOR names any bad id.
rcli PING >/dev/null
wait_for 10 grep -q '"PING"' "$T_DIR/monitor.log" || fail "MONITOR saw nothing"
for bad in 'a:b' 'x}' 'a b' 'po:ol' 'h 1' "$LONG"; do
    if grep -F -- "$bad" "$T_DIR/monitor.log"; then fail "a key was built from '$bad'"; fi
done
pass "no Redis command named a refused id"

# A scenario file named "my storm!.yaml" runs under the name my-storm-, which its run
# id is made of.
mkdir -p "$T_DIR/sc"
printf 'guest: sim\nbackend: process\ncount: 1\ntimeout_s: 30\n' >"$T_DIR/sc/my storm!.yaml"
"${BS[@]}" run "$T_DIR/sc/my storm!.yaml" --collector "$EP" --json >"$T_DIR/odd.json" 2>"$T_DIR/odd.err" ||
    fail "run of 'my storm!.yaml': $(cat "$T_DIR/odd.json" "$T_DIR/odd.err")"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ready"]==1 and "-my-storm--1-" in d["run"], d' \
    "$T_DIR/odd.json" || fail "odd file name: $(cat "$T_DIR/odd.json")"
pass "'my storm!.yaml' runs as my-storm- ($(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/odd.json"))"
