#!/usr/bin/env bash
# The CLI as users call it, against a real Redis holding real runs (simulated guests on
# the process backend, no QEMU): every --json output parses with python3's json module
# (run, report, runs, export, compare, hosts), including a report whose missing-hosts
# list once came out as {,"b":...}; lost events; export --json is JSON, not CSV; every
# command's --help exits 0 on stdout; a bad number names its option and exits 2; check
# without a limit is an error; --version; run without a file runs the default scenario.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
start_stack clihost
wait_for 10 sh -c "redis-cli -p $REDIS_PORT SISMEMBER bs:hosts clihost | grep -q 1" ||
    fail "launcher clihost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")

# Parses file $1 as one JSON document and runs the python check $2 on it (d).
json_ok() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[2])' "$1" "${2:-pass}" ||
        fail "not the JSON expected in $1: $(head -c 2000 "$1")"
}

cat >"$T_DIR/sim.yaml" <<'YAML'
name: clisim
guest: sim
backend: process
count: 4
pattern: burst
timeout_s: 30
YAML

# --- run --json: one object per run, per line
"${BS[@]}" run "$T_DIR/sim.yaml" --collector "$EP" --json >"$T_DIR/run1.json" ||
    fail "run exited $?: $(cat "$T_DIR/run1.json")"
json_ok "$T_DIR/run1.json" 'assert d["ready"]==4 and d["lost_events"]==0 and d["complete"], d'
R1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/run1.json")
"${BS[@]}" run "$T_DIR/sim.yaml" --collector "$EP" --json --count 3 >"$T_DIR/run2.json" ||
    fail "run --count 3 exited $?"
json_ok "$T_DIR/run2.json" 'assert d["ready"]==3 and d["count"]==3, d'
R2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/run2.json")
pass "run --json: $R1 (4 ready), $R2 (3 ready)"

# --- every other --json output
"${BS[@]}" report "$R1" --json >"$T_DIR/report.json" || fail "report --json"
json_ok "$T_DIR/report.json" "assert d[\"run\"]==\"$R1\" and d[\"per_host\"][0][\"host\"]==\"clihost\" and d[\"ready\"]==4, d"
"${BS[@]}" report --json >"$T_DIR/last.json" || fail "report --json (last)"
json_ok "$T_DIR/last.json" 'assert d["ready"]==3, d'
"${BS[@]}" runs --json >"$T_DIR/runs.json" || fail "runs --json"
json_ok "$T_DIR/runs.json" 'assert [r["ready"] for r in d]==[3,4] and all(r["complete"] for r in d), d'
"${BS[@]}" export "$R1" --json >"$T_DIR/export.json" || fail "export --json"
json_ok "$T_DIR/export.json" 'assert len(d)==4 and all(g["state"]=="ready" and g["boot_ms"]>0 for g in d), d'
"${BS[@]}" export "$R1" --csv >"$T_DIR/export.csv" || fail "export --csv"
head -1 "$T_DIR/export.csv" | grep -q '^guest,host,idx' || fail "export --csv: $(head -2 "$T_DIR/export.csv")"
[ "$(wc -l <"$T_DIR/export.csv")" = 5 ] || fail "export --csv rows: $(cat "$T_DIR/export.csv")"
"${BS[@]}" compare "$R1" "$R2" --json >"$T_DIR/compare.json" || fail "compare --json"
json_ok "$T_DIR/compare.json" 'assert [r["ready"] for r in d]==[4,3], d'
"${BS[@]}" hosts --json >"$T_DIR/hosts.json" || fail "hosts --json"
json_ok "$T_DIR/hosts.json" 'assert d[0]["host"]=="clihost" and d[0]["state"]=="up", d'
pass "report, runs, export, compare and hosts --json parse"

# --- the comma bug: a first missing line that is not "HOST: why"; lost events
printf 'HSET bs:{%s}:meta "missing:a\\nb" "left out"\n' "$R1" | rcli >/dev/null
rcli HSET "bs:{$R1}:meta" missing:zz "missed the start" >/dev/null
rcli HINCRBY "bs:{$R1}:agg" lost 5 >/dev/null
"${BS[@]}" report "$R1" --json >"$T_DIR/missing.json" || fail "report --json with missing hosts"
json_ok "$T_DIR/missing.json" 'assert d["missing"]=={"a\nb":"left out","zz":"missed the start"} and d["lost_events"]==5, d'
"${BS[@]}" report "$R1" >"$T_DIR/report.txt" || fail "report"
grep -q '^lost events: 5 (launcher outbox overflow)$' "$T_DIR/report.txt" ||
    fail "lost events not in the text report: $(cat "$T_DIR/report.txt")"
grep -q 'ready rate: 4 ready in' "$T_DIR/report.txt" || fail "ready rate: $(cat "$T_DIR/report.txt")"
pass "missing hosts and lost events in JSON and text"

# --- --help, --version, bad numbers, check without a limit
for cmd in run report runs compare export plot watch check hosts pool keys rm prune; do # no data, no Redis
    "$BIN/bootstorm" --data-dir "$T_DIR/none" "$cmd" --help >"$T_DIR/help.out" 2>"$T_DIR/help.err" ||
        fail "$cmd --help exited $?: $(cat "$T_DIR/help.err")"
    grep -q "usage: bootstorm" "$T_DIR/help.out" || fail "$cmd --help: no usage on stdout"
done
for v in --version version; do
    [ "$("$BIN/bootstorm" $v)" = "bootstorm $(sed -n 's/^project(bootstorm VERSION \([0-9.]*\).*/\1/p' "$BS_SOURCE/CMakeLists.txt")" ] ||
        fail "bootstorm $v: $("$BIN/bootstorm" $v)"
done
# Runs "$@" and requires exit 2 with $MSG on stderr.
bad() {
    local rc=0
    "${BS[@]}" "$@" >"$T_DIR/bad.out" 2>"$T_DIR/bad.err" || rc=$?
    [ "$rc" = 2 ] || fail "$* exited $rc, want 2: $(cat "$T_DIR/bad.err")"
    grep -qF -- "$MSG" "$T_DIR/bad.err" || fail "$*: stderr lacks '$MSG': $(cat "$T_DIR/bad.err")"
}
MSG="--p99-max: 'abc' is not a number" bad check "$R1" --p99-max abc
MSG="--max-failed-pct: '101' is out of range" bad check "$R1" --max-failed-pct 101
MSG="--count: 'x' is not an integer" bad run "$T_DIR/sim.yaml" --count x
MSG="--count: '0' is out of range" bad run "$T_DIR/sim.yaml" --count 0
MSG="--limit: 'x' is not an integer" bad runs --limit x
MSG="--interval-ms: '5ms' is not an integer" bad watch "$R1" --interval-ms 5ms
MSG="--timeout-s: '0' is out of range" bad watch "$R1" --timeout-s 0
MSG="--keep: '-1' is out of range" bad prune --keep -1
MSG="--older-than: '12' is not a duration" bad prune --older-than 12
MSG="no limit given: --p99-max" bad check "$R1"
MSG="give one of --csv and --json" bad export "$R1" --csv --json
MSG="missing --csv or --json" bad export "$R1"
MSG="unrecognized option '--bogus'" bad report "$R1" --bogus
MSG="unexpected argument 'extra'" bad report "$R1" extra
rc=0
"${BS[@]}" report no-such-run >/dev/null 2>"$T_DIR/bad.err" || rc=$?
[ "$rc" = 1 ] && grep -q "no run 'no-such-run'" "$T_DIR/bad.err" || fail "report of an unknown run exited $rc"
"${BS[@]}" check "$R2" --p99-max 60000 --max-failed-pct 0 >"$T_DIR/check.out" ||
    fail "check of a good run: $(cat "$T_DIR/check.out")"
rc=0
"${BS[@]}" check "$R2" --p99-max 0.001 >"$T_DIR/check.out" || rc=$?
[ "$rc" = 1 ] && grep -q '^FAIL' "$T_DIR/check.out" || fail "check over the limit exited $rc"
pass "--help, --version, bad numbers name their option (exit 2), check needs a limit"

# --- run without a file: the default scenario from <prefix>/share/scenarios
[ -f "$BS_BUILD/share/scenarios/default.yaml" ] || fail "no share/scenarios/default.yaml in the build"
cmp -s "$BS_BUILD/share/scenarios/default.yaml" "$BS_SOURCE/scenarios/default.yaml" ||
    fail "share/scenarios/default.yaml differs from scenarios/default.yaml"
rc=0 # a target nobody serves: the scenario loads, the collector refuses the start
"${BS[@]}" run --collector "$EP" --hosts nobody >"$T_DIR/default.out" 2>"$T_DIR/default.err" || rc=$?
[ "$rc" = 1 ] && grep -q "not started: .*nobody" "$T_DIR/default.err" ||
    fail "run without a file exited $rc: $(cat "$T_DIR/default.err")"
pass "run without a file loads the default scenario"
