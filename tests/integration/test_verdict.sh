#!/usr/bin/env bash
# An honest verdict for a run that never ran. Reproduction: a launcher that refuses a
# run (a guest it does not know) ended it with every guest failed, yet `runs` listed
# it as "0/0 complete yes" and its report said "failed 0". Its guests now count as
# failed, "not started", in runs, report and --json, and `run` exits non-zero.
source "$BS_SOURCE/tests/integration/lib.sh"

start_stack vh
wait_for 15 host_up vh || fail "no hello"
printf 'name: never\nguest: no-such-guest\nbackend: process\ncount: 6\n' >"$T_DIR/never.yaml"
set +e
timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/never.yaml" --collector "$EP" --json \
    >"$T_DIR/never.json" 2>"$T_DIR/never.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a refused run exited 0"
grep -q "no-such-guest" "$T_DIR/never.err" "$T_DIR/never.json" || fail "the refusal's reason is not shown: $(cat "$T_DIR/never.err")"
RUN=$(rcli ZREVRANGE bs:runs 0 0)
[ -n "$RUN" ] || fail "no run stored"
"$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN" --json >"$T_DIR/report.json" || true
python3 - "$T_DIR/report.json" <<'PY' || fail "report of the refused run: $(cat "$T_DIR/report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 0 and r["failed"] == 6, r
assert r["failed_by_reason"]["not_started"] == 6, r["failed_by_reason"]
PY
"$BIN/bootstorm" --redis "$REDIS_URL" runs >"$T_DIR/runs.txt"
grep "$RUN" "$T_DIR/runs.txt" | grep -q " 0/6 " || fail "runs does not say 0/6: $(cat "$T_DIR/runs.txt")"
"$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN" >"$T_DIR/report.txt" || true
grep -q "6 not started" "$T_DIR/report.txt" || fail "text report: $(cat "$T_DIR/report.txt")"
pass "refused run: exit $rc, 0/6 in runs, report failed 6 (6 not started)"

# A guest its backend cannot start (sim has only process.argv, run on qemu): refused
# once by the launcher with the reason, not 6 guests each failing at its spawn.
printf 'name: wrongbackend\nguest: sim\nbackend: qemu\ncount: 6\n' >"$T_DIR/wrong.yaml"
set +e
timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/wrong.yaml" --collector "$EP" \
    >"$T_DIR/wrong.out" 2>"$T_DIR/wrong.err"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a run of sim on the qemu backend exited 0"
grep -q "guest sim has no qemu.argv: the qemu backend cannot start it (it has process.argv: backend: process)" \
    "$T_DIR/wrong.err" || fail "the refusal's reason: $(cat "$T_DIR/wrong.err")"
grep -q "6 not started" "$T_DIR/wrong.out" || fail "wrong backend, report: $(cat "$T_DIR/wrong.out")"
pass "guest without the backend's argv: refused at the launcher, exit $rc, 6 not started"
