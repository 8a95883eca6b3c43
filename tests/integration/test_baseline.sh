#!/usr/bin/env bash
# Baselines and deltas, on two real runs of simulated guests (process backend, no QEMU):
# a fast one (~100 ms boots) and a slowed one (~400 ms). `check --baseline` passes a run
# against itself and a faster run, fails the slowed one with one line per metric (p50,
# p99, all ready: value, baseline, delta, percent, PASS/FAIL), combines with the fixed
# limits, and names a bad option (exit 2). `compare` prints full run ids and the
# deltas against the first run.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
mkdir -p "$T_DIR/g"
for g in fast:100 slow:400; do
    printf 'name: %s\nprocess:\n  argv: ["{bindir}/bootstorm-simguest", --boot-ms, "%s", --jitter-ms, "5"]\nready: "BOOTSTORM READY sim"\n' \
        "${g%%:*}" "${g#*:}" >"$T_DIR/g/${g%%:*}.yaml"
    printf 'name: base-%s\nguest: %s\nbackend: process\ncount: 4\npattern: burst\ntimeout_s: 30\n' \
        "${g%%:*}" "${g%%:*}" >"$T_DIR/${g%%:*}.yaml"
done
start_stack basehost --guests "$T_DIR/g"
wait_for 10 sh -c "redis-cli -p $REDIS_PORT SISMEMBER bs:hosts basehost | grep -q 1" ||
    fail "launcher basehost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")

# Runs scenario $1 and prints its run id.
run_id() {
    "${BS[@]}" run "$T_DIR/$1.yaml" --collector "$EP" --json >"$T_DIR/$1.json" ||
        fail "run $1 exited $?: $(cat "$T_DIR/$1.json")"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ready"]==4, d; print(d["run"])' \
        "$T_DIR/$1.json" || fail "run $1 not all ready"
}
FAST=$(run_id fast)
SLOW=$(run_id slow)
pass "runs: fast $FAST, slow $SLOW"

# check "$@" must exit $RC; its output is in $T_DIR/check.out.
check_rc() {
    local rc=0
    "${BS[@]}" check "$@" >"$T_DIR/check.out" 2>"$T_DIR/check.err" || rc=$?
    [ "$rc" = "$RC" ] || fail "check $* exited $rc, not $RC: $(cat "$T_DIR/check.out" "$T_DIR/check.err")"
}

RC=0 check_rc "$FAST" --baseline "$FAST" --max-regress 10
[ "$(grep -c ' +0.0%  PASS$' "$T_DIR/check.out")" = 3 ] ||
    fail "a run against itself: $(cat "$T_DIR/check.out")"
RC=0 check_rc "$FAST" --baseline "$SLOW" --max-regress 10%
[ "$(grep -c '  PASS$' "$T_DIR/check.out")" = 3 ] || fail "faster run: $(cat "$T_DIR/check.out")"
pass "a run passes against itself and against a slower run"

RC=1 check_rc "$SLOW" --baseline "$FAST" --max-regress 10%
cat "$T_DIR/check.out"
# the p50 line carries the two reports' own values, their delta and percent
python3 - "$T_DIR/check.out" "$T_DIR/slow.json" "$T_DIR/fast.json" <<'PY' || fail "p50 line wrong"
import json, re, sys
out = open(sys.argv[1]).read()
s, f = (json.load(open(p))["boot_ms"]["p50"] for p in sys.argv[2:4])
m = re.search(r"^boot p50 ms +value +([\d.]+) +baseline +([\d.]+) +delta +([+\d.-]+) +([+\d.-]+)% +FAIL$",
              out, re.M)
assert m, out
v, b, d, p = map(float, m.groups())
assert abs(v - s) < 0.06 and abs(b - f) < 0.06, (v, b, s, f)
assert abs(d - (s - f)) < 0.11 and abs(p - 100 * (s - f) / f) < 0.11 and p > 100, (d, p)
for label in ("boot p99 ms", "all ready ms"):
    assert re.search(r"^%s .* FAIL$" % label, out, re.M), (label, out)
PY
pass "the slowed run fails against the fast one, one line per metric"

# limits and a baseline together: every verdict printed, the run fails for the baseline
RC=1 check_rc "$SLOW" --p99-max 100000 --baseline "$FAST" --max-regress 10
grep -q "^ok   $SLOW: boot p99" "$T_DIR/check.out" || fail "limit line: $(cat "$T_DIR/check.out")"
grep -q "^boot p50 ms .* FAIL$" "$T_DIR/check.out" || fail "baseline line: $(cat "$T_DIR/check.out")"
RC=0 check_rc "$SLOW" --baseline "$FAST" --max-regress 10000
pass "limits combine with a baseline; a wide enough margin passes"

# bad usage names the option, exit 2
RC=2 check_rc "$SLOW" --baseline "$FAST" --max-regress abc
grep -q -- "--max-regress: 'abc' is not a number" "$T_DIR/check.err" || fail "$(cat "$T_DIR/check.err")"
RC=2 check_rc "$SLOW" --baseline "$FAST" --max-regress 10%%
grep -q -- "--max-regress: '10%' is not a number" "$T_DIR/check.err" || fail "$(cat "$T_DIR/check.err")"
RC=2 check_rc "$SLOW" --baseline "$FAST"
grep -q -- "--baseline needs --max-regress" "$T_DIR/check.err" || fail "$(cat "$T_DIR/check.err")"
RC=2 check_rc "$SLOW" --max-regress 5
grep -q -- "--max-regress needs --baseline" "$T_DIR/check.err" || fail "$(cat "$T_DIR/check.err")"
RC=2 check_rc "$SLOW" --baseline nosuchrun --max-regress 5
grep -q -- "--baseline: no run 'nosuchrun'" "$T_DIR/check.err" || fail "$(cat "$T_DIR/check.err")"
RC=2 check_rc "$SLOW"
grep -q -- "--baseline RUN2" "$T_DIR/check.err" || fail "no limit: $(cat "$T_DIR/check.err")"
pass "bad --max-regress, a lone --baseline or --max-regress, an unknown baseline: exit 2"

# compare: full ids, deltas and percentages against the first run
"${BS[@]}" compare "$FAST" "$SLOW" >"$T_DIR/compare.out" || fail "compare exited $?"
cat "$T_DIR/compare.out"
grep -q "^run .*$FAST .*$SLOW" "$T_DIR/compare.out" || fail "compare: ids cut: $(cat "$T_DIR/compare.out")"
python3 - "$T_DIR/compare.out" "$T_DIR/slow.json" "$T_DIR/fast.json" <<'PY' || fail "compare deltas"
import json, re, sys
out = open(sys.argv[1]).read()
s, f = (json.load(open(p))["boot_ms"]["p50"] for p in sys.argv[2:4])
m = re.search(r"^boot p50 ms +([\d.]+) +([\d.]+) \(([+\d.-]+), ([+\d.-]+)%\)", out, re.M)
assert m, out
v0, v1, d, p = map(float, m.groups())
assert abs(v0 - f) < 0.06 and abs(v1 - s) < 0.06, (v0, v1)
assert abs(d - (s - f)) < 0.11 and abs(p - 100 * (s - f) / f) < 0.11, (d, p)
PY
pass "compare: full run ids, deltas and percentages against the first run"
