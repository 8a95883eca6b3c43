#!/usr/bin/env bash
# Retention, against a real Redis holding real runs (simulated guests, process backend):
# `rm RUN...` deletes every bs:{RUN}:* key and the bs:runs entry and touches no other
# run; it refuses (nothing deleted) an id that is invalid or not stored, and a run
# still running unless --force; `prune --keep N`, `prune --older-than D`, --dry-run;
# the collector's --keep-runs N after a run ends. Bad values name their option.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
start_stack rthost
COLL_PID=${T_PIDS[1]}
wait_for 15 host_up rthost ||
    fail "launcher rthost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")

scenario() { # $1 file, $2 hold_s
    printf 'name: retain\nguest: sim\nbackend: process\ncount: 2\npattern: burst\ntimeout_s: 30\nhold_s: %s\n' \
        "$2" >"$1"
}
scenario "$T_DIR/quick.yaml" 0
scenario "$T_DIR/held.yaml" 6
run_quick() { # prints the new run's id
    "${BS[@]}" run "$T_DIR/quick.yaml" --collector "$EP" --json >"$T_DIR/run.json" ||
        fail "run exited $?: $(cat "$T_DIR/run.json")"
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/run.json"
}
nkeys() { rcli --scan --pattern "bs:{$1}:*" | wc -l; }
listed() { [ -n "$(rcli ZSCORE bs:runs "$1")" ]; }
all_keys() { rcli DBSIZE; }
expect_rc() { # $1 wanted exit code, $2 stderr must hold, then the command
    local want=$1 msg=$2 rc
    shift 2
    set +e
    "$@" >"$T_DIR/out.txt" 2>"$T_DIR/err.txt"
    rc=$?
    set -e
    [ "$rc" = "$want" ] || fail "$* exited $rc, want $want: $(cat "$T_DIR/err.txt")"
    grep -qF -- "$msg" "$T_DIR/err.txt" || fail "$*: stderr lacks '$msg': $(cat "$T_DIR/err.txt")"
}

R1=$(run_quick); R2=$(run_quick); R3=$(run_quick); R4=$(run_quick)
for r in "$R1" "$R2" "$R3" "$R4"; do [ "$(nkeys "$r")" -gt 5 ] || fail "run $r has $(nkeys "$r") keys"; done
K1=$(nkeys "$R1"); K3=$(nkeys "$R3"); K4=$(nkeys "$R4")
pass "4 runs stored, $(nkeys "$R2") keys each, $(all_keys) keys in all"

# ---- refusals: nothing deleted
BEFORE=$(all_keys)
expect_rc 1 "no run '20990101-000000-nope-2-0000' in Redis" "${BS[@]}" rm 20990101-000000-nope-2-0000
expect_rc 1 "nothing removed" "${BS[@]}" rm "$R1" 20990101-000000-nope-2-0000
expect_rc 2 "invalid run id 'a{b}'" "${BS[@]}" rm "$R1" 'a{b}'
expect_rc 2 "which run?" "${BS[@]}" rm
[ "$(all_keys)" = "$BEFORE" ] && [ "$(nkeys "$R1")" = "$K1" ] && listed "$R1" ||
    fail "a refused rm deleted something: $BEFORE -> $(all_keys) keys"
pass "rm refuses unknown and invalid ids, naming them; nothing deleted ($BEFORE keys)"

# ---- rm one run: its keys all gone, the others untouched
"${BS[@]}" rm "$R2" >"$T_DIR/rm.txt" || fail "rm $R2 exited $?"
grep -q "removed $R2" "$T_DIR/rm.txt" || fail "rm output: $(cat "$T_DIR/rm.txt")"
AFTER=$(all_keys)
[ "$(nkeys "$R2")" = 0 ] || fail "keys of $R2 left: $(rcli --scan --pattern "bs:{$R2}:*")"
listed "$R2" && fail "$R2 still in bs:runs"
[ "$(nkeys "$R1")" = "$K1" ] && [ "$(nkeys "$R3")" = "$K3" ] && [ "$(nkeys "$R4")" = "$K4" ] ||
    fail "rm $R2 touched another run"
"${BS[@]}" report "$R1" --json >/dev/null || fail "report of $R1 after rm $R2"
pass "rm $R2: keys $BEFORE -> $AFTER ($(cat "$T_DIR/rm.txt")), none of bs:{$R2}:* left, the other runs untouched"

# ---- a run still running: refused, then removed once over; --force
start_bg cli-held "${BS[@]}" run "$T_DIR/held.yaml" --collector "$EP" --json
HELD_CLI=$LAST_PID
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT ZREVRANGE bs:runs 0 0)\" != '$R4' ]" || fail "held run not created"
R5=$(rcli ZREVRANGE bs:runs 0 0)
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'bs:{$R5}:agg' ready)\" = 2 ]" || fail "held run not ready"
K5=$(nkeys "$R5")
expect_rc 1 "run '$R5' is still running (--force removes it)" "${BS[@]}" rm "$R5"
[ "$(nkeys "$R5")" = "$K5" ] || fail "a refused rm of a running run deleted keys"
"${BS[@]}" prune --keep 0 --dry-run >"$T_DIR/dry.txt" || fail "prune --dry-run exited $?"
grep -q "kept $R5: still running" "$T_DIR/dry.txt" && grep -q "would remove $R1" "$T_DIR/dry.txt" &&
    grep -q "would remove 3 run(s)" "$T_DIR/dry.txt" || fail "prune --keep 0 --dry-run: $(cat "$T_DIR/dry.txt")"
[ "$(all_keys)" -ge "$AFTER" ] && listed "$R1" || fail "--dry-run removed something"
wait_for 60 bash -c "! kill -0 $HELD_CLI 2>/dev/null" || fail "held run did not end"
wait "$HELD_CLI" || fail "held run exited $?"
rcli HSET "bs:{fake-running}:meta" hosts "rthost" hosts_expected 1 hosts_done 0 >/dev/null
rcli ZADD bs:runs "$(($(date +%s) * 1000))" fake-running >/dev/null
expect_rc 1 "still running" "${BS[@]}" rm fake-running
"${BS[@]}" rm --force fake-running >/dev/null || fail "rm --force exited $?"
[ "$(nkeys fake-running)" = 0 ] && ! listed fake-running || fail "rm --force left fake-running"
for r in 'g*' 'g?' gx; do # glob characters in an id are matched literally
    rcli HSET "bs:{$r}:meta" hosts_expected 1 hosts_done 1 >/dev/null
    rcli SET "bs:{$r}:agg" 1 >/dev/null
done
"${BS[@]}" rm 'g*' >/dev/null || fail "rm 'g*' exited $?"
[ "$(nkeys 'g\*')" = 0 ] && [ "$(nkeys 'g\?')" = 2 ] && [ "$(nkeys gx)" = 2 ] ||
    fail "rm 'g*' removed other runs' keys: $(rcli --scan --pattern 'bs:{g*')"
"${BS[@]}" rm 'g?' gx >/dev/null || fail "rm 'g?' gx exited $?"
pass "a running run is refused ($K5 keys kept) and listed as kept by prune --dry-run; rm --force removes one"

# ---- prune --older-than: R1 made 2 days old (its bs:runs score, what prune reads)
rcli ZADD bs:runs XX $(($(date +%s) * 1000 - 2 * 86400 * 1000)) "$R1" >/dev/null
"${BS[@]}" prune --older-than 1d --dry-run >"$T_DIR/dry.txt" || fail "dry run exited $?"
[ "$(grep -c "would remove " "$T_DIR/dry.txt")" = 2 ] && grep -q "would remove $R1" "$T_DIR/dry.txt" ||
    fail "prune --older-than 1d --dry-run: $(cat "$T_DIR/dry.txt")"
[ "$(nkeys "$R1")" = "$K1" ] || fail "--dry-run deleted keys"
"${BS[@]}" prune --older-than 1d >"$T_DIR/prune.txt" || fail "prune --older-than exited $?"
grep -q "removed 1 run(s)" "$T_DIR/prune.txt" || fail "prune --older-than: $(cat "$T_DIR/prune.txt")"
[ "$(nkeys "$R1")" = 0 ] && ! listed "$R1" || fail "$R1 not pruned"
[ "$(rcli ZCARD bs:runs)" = 3 ] || fail "prune --older-than 1d removed more than $R1"
expect_rc 2 "--older-than: '7w' is not a duration" "${BS[@]}" prune --older-than 7w
expect_rc 2 "--keep: 'x' is not an integer" "${BS[@]}" prune --keep x
expect_rc 2 "give --keep N or --older-than D" "${BS[@]}" prune
"${BS[@]}" prune --help >/dev/null || fail "prune --help exited $?"
"${BS[@]}" rm --help >/dev/null || fail "rm --help exited $?"
pass "prune --older-than 1d removed only the 2-day-old $R1 ($K1 keys); bad values name their option"

# ---- prune --keep 2: R3 goes, R4 and R5 stay
"${BS[@]}" prune --keep 2 >"$T_DIR/prune.txt" || fail "prune --keep exited $?"
[ "$(rcli ZRANGE bs:runs 0 -1 | tr '\n' ' ')" = "$R4 $R5 " ] || fail "prune --keep 2 left $(rcli ZRANGE bs:runs 0 -1)"
[ "$(nkeys "$R3")" = 0 ] && [ "$(nkeys "$R4")" = "$K4" ] || fail "prune --keep 2 keys"
pass "prune --keep 2: $(head -1 "$T_DIR/prune.txt"); $R4 and $R5 kept"

# ---- the collector's --keep-runs 2: once a run ends, only the newest 2 stay
kill -TERM "$COLL_PID"
wait "$COLL_PID" 2>/dev/null || true
rm -f "$T_DIR/collector.ready"
start_bg collector2 "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" --keep-runs 2 \
    --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector 2 not ready"
R6=$(run_quick)
wait_for 10 bash -c "[ \"\$(redis-cli -p $REDIS_PORT ZRANGE bs:runs 0 -1 | tr '\n' ' ')\" = '$R5 $R6 ' ]" ||
    fail "--keep-runs 2 after $R6: $(rcli ZRANGE bs:runs 0 -1)"
R7=$(run_quick)
wait_for 10 bash -c "[ \"\$(redis-cli -p $REDIS_PORT ZRANGE bs:runs 0 -1 | tr '\n' ' ')\" = '$R6 $R7 ' ]" ||
    fail "--keep-runs 2 after $R7: $(rcli ZRANGE bs:runs 0 -1)"
[ "$(nkeys "$R4")" = 0 ] && [ "$(nkeys "$R5")" = 0 ] || fail "--keep-runs left keys of $R4 or $R5"
grep -q "keep-runs 2: removed run $R5" "$T_DIR/collector2.log" || fail "collector did not log the removal"
expect_rc 2 "--keep-runs: 'x' is not an integer" "$BIN/bootstorm-collector" --keep-runs x
pass "collector --keep-runs 2: after 2 more runs bs:runs holds $R6 $R7, every key of $R4 and $R5 gone ($(all_keys) keys in all)"
