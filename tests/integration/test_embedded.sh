#!/usr/bin/env bash
# The README's main job in small: `bootstorm run` with no --redis starts its own
# Redis, collector and launcher, reports, stops them all; the data survives for
# `report last` and `runs`; a bad scenario is refused by name and loses nothing.
source "$BS_SOURCE/tests/integration/lib.sh"

DATA="$T_DIR/data"
"$BIN/bootstorm" --data-dir "$DATA" run "$BS_SOURCE/scenarios/smoke.yaml" >"$T_DIR/run.txt" 2>"$T_DIR/run.err" ||
    fail "embedded run exited $?: $(cat "$T_DIR/run.err")"
grep -Eq "minkernel +qemu +(kvm|tcg) +8 +8 +0" "$T_DIR/run.txt" || fail "report row wrong: $(cat "$T_DIR/run.txt")"
left=$(pgrep -f -- "$DATA" || true)
[ -z "$left" ] || fail "processes of the embedded set-up left behind: $left"
pass "embedded run: 8 ready, every daemon stopped"

"$BIN/bootstorm" --data-dir "$DATA" report last --json >"$T_DIR/last.json" || fail "report last failed"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==8 and r["complete"], r' \
    "$T_DIR/last.json" || fail "stored report wrong: $(cat "$T_DIR/last.json")"
"$BIN/bootstorm" --data-dir "$DATA" runs | grep -q smoke-8 || fail "runs does not list the run"
pass "data kept across the embedded Redis restart"

printf 'name: bad\nguest: minkernel\ncount: lots\n' >"$T_DIR/bad.yaml"
set +e
"$BIN/bootstorm" --data-dir "$DATA" run "$T_DIR/bad.yaml" >/dev/null 2>"$T_DIR/bad.err"
rc=$?
set -e
[ "$rc" = 2 ] || fail "bad scenario must exit 2, got $rc"
grep -q "bad.yaml:3: key 'count'" "$T_DIR/bad.err" || fail "error does not name file:line:key: $(cat "$T_DIR/bad.err")"
"$BIN/bootstorm" --data-dir "$DATA" report last --json >"$T_DIR/last2.json"
cmp -s "$T_DIR/last.json" "$T_DIR/last2.json" || fail "a refused scenario changed the stored data"
pass "bad scenario refused by file:line:key, data intact"
