#!/usr/bin/env bash
# Sweeps, on a real small one: simulated guests (process backend, ~60 ms boots), counts
# 2, 4, 8 x 2 repeats. `run --json --sweep-plot DIR` prints the six reports then one
# summary object ("summary": true) whose per-count mean, sample stddev, min and max of
# boot p50, p99, max and all ready equal those recomputed in python3 from each run's
# `report --json`; the curve's files exist and sweep.dat holds one row per count with
# the same values; `bootstorm sweep RUN...` and `sweep --last 6` give the same summary,
# as text and JSON; one run per count says so; bad usage exits 2, an unknown run 1.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
command -v gnuplot >/dev/null || skip "no gnuplot (gnuplot-nox)"
mkdir -p "$T_DIR/g"
printf 'name: quick\nprocess:\n  argv: ["{bindir}/bootstorm-simguest", --boot-ms, "60", --jitter-ms, "20"]\nready: "BOOTSTORM READY sim"\n' \
    >"$T_DIR/g/quick.yaml"
printf 'name: sweep-test\nguest: quick\nbackend: process\ncount: [2, 4, 8]\nrepeat: 2\npattern: burst\ntimeout_s: 30\n' \
    >"$T_DIR/sweep.yaml"
start_stack sweephost --guests "$T_DIR/g"
wait_for 10 sh -c "redis-cli -p $REDIS_PORT SISMEMBER bs:hosts sweephost | grep -q 1" ||
    fail "launcher sweephost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")

t0=$SECONDS
"${BS[@]}" run "$T_DIR/sweep.yaml" --collector "$EP" --json --sweep-plot "$T_DIR/plot" \
    >"$T_DIR/run.json" 2>"$T_DIR/run.err" || fail "run exited $?: $(cat "$T_DIR/run.json" "$T_DIR/run.err")"
pass "sweep of 6 runs in $((SECONDS - t0)) s"
grep -q "boot-storm curve: $T_DIR/plot/sweep.png" "$T_DIR/run.err" || fail "curve not named: $(cat "$T_DIR/run.err")"

# every run's own report, as `report --json` prints it
python3 -c 'import json,sys; [print(json.loads(l)["run"]) for l in open(sys.argv[1]).read().splitlines()[:-1]]' \
    "$T_DIR/run.json" >"$T_DIR/ids" || fail "run --json lines: $(cat "$T_DIR/run.json")"
mapfile -t RUNS <"$T_DIR/ids"
[ "${#RUNS[@]}" = 6 ] || fail "${#RUNS[@]} run reports, not 6"
for r in "${RUNS[@]}"; do "${BS[@]}" report "$r" --json; done >"$T_DIR/reports.json" ||
    fail "report --json"

# the check: summary (JSON) against the reports, and the chart's data
cat >"$T_DIR/check.py" <<'PY'
import json, statistics, sys

reports = [json.loads(l) for l in open(sys.argv[1])]
summary = json.loads(open(sys.argv[2]).read().splitlines()[-1])
dat = sys.argv[3] if len(sys.argv) > 3 else None
assert summary["summary"] is True, summary
assert summary["runs"] == [r["run"] for r in reports], summary["runs"]
assert summary["nruns"] == len(reports) and summary["guest"] == "quick", summary
assert summary["name"] == "sweep-test" and summary["hosts_expected"] == 1, summary
by = {}
for r in reports:
    by.setdefault(r["count"], []).append(r)
assert [c["count"] for c in summary["counts"]] == sorted(by), summary["counts"]

def stat(vals):
    if len(vals) == 1:
        return {"n": 1, "mean": vals[0], "sd": None, "min": vals[0], "max": vals[0]}
    return {"n": len(vals), "mean": statistics.mean(vals), "sd": statistics.stdev(vals),
            "min": min(vals), "max": max(vals)}

def close(a, b, what):
    for k in ("n", "mean", "sd", "min", "max"):
        if a[k] is None or b[k] is None:
            assert a[k] is None and b[k] is None, (what, k, a, b)
        else:
            assert abs(a[k] - b[k]) < 1e-4, (what, k, a, b)

rows = {}
if dat:
    for line in open(dat):
        if not line.startswith("#"):
            f = line.split()
            rows[int(f[0])] = f
    assert sorted(rows) == sorted(by), (rows, by)
for c in summary["counts"]:
    runs = by[c["count"]]
    assert c["runs"] == len(runs), c
    assert c["guests"] == sum(r["count"] for r in runs), c
    assert c["failed"] == sum(r["failed"] for r in runs) == 0, c
    for key, get in (("boot_p50_ms", lambda r: r["boot_ms"]["p50"]),
                     ("boot_p99_ms", lambda r: r["boot_ms"]["p99"]),
                     ("boot_max_ms", lambda r: r["boot_ms"]["max"]),
                     ("all_ready_ms", lambda r: r["all_ready_ms"])):
        want = stat([get(r) for r in runs])
        close(c[key], want, (c["count"], key))
    if dat:
        f = rows[c["count"]]
        assert int(f[1]) == c["runs"], f
        for i, key in ((2, "boot_p50_ms"), (4, "boot_p99_ms"), (6, "boot_max_ms"), (8, "all_ready_ms")):
            assert abs(float(f[i]) - c[key]["mean"]) < 1e-4, (f, key)
            assert abs(float(f[i + 1]) - (c[key]["sd"] or 0)) < 1e-4, (f, key)
print("ok", [(c["count"], c["runs"], round(c["boot_p50_ms"]["mean"], 1),
              round(c["boot_p50_ms"]["sd"] or 0, 1)) for c in summary["counts"]])
PY
python3 "$T_DIR/check.py" "$T_DIR/reports.json" "$T_DIR/run.json" "$T_DIR/plot/sweep.dat" ||
    fail "run's summary against the reports: $(tail -1 "$T_DIR/run.json")"
pass "run --json: summary object matches the 6 reports (mean, stddev, min, max per count)"

for f in sweep.png sweep.svg sweep.dat sweep.gp; do
    [ -s "$T_DIR/plot/$f" ] || fail "no $f in the plot dir"
done
head -c 8 "$T_DIR/plot/sweep.png" | od -An -c | grep -q 'P   N   G' || fail "sweep.png is no PNG"
grep -q '<svg' "$T_DIR/plot/sweep.svg" || fail "sweep.svg is no SVG"
grep -q 'boot-storm curve sweep-test: quick, accel .*, 1 host (sweephost), 6 runs' "$T_DIR/plot/sweep.gp" ||
    fail "title: $(grep title "$T_DIR/plot/sweep.gp")"
pass "curve: sweep.png, sweep.svg, sweep.dat (one row per count), sweep.gp with the scenario"

# the standalone command, on the same runs: the same object, the same chart data
"${BS[@]}" sweep "${RUNS[@]}" --json --plot "$T_DIR/plot2" >"$T_DIR/sweep.json" ||
    fail "sweep RUN... --json exited $?"
[ "$(tail -1 "$T_DIR/run.json")" = "$(cat "$T_DIR/sweep.json")" ] ||
    fail "sweep RUN... differs from run's summary: $(cat "$T_DIR/sweep.json")"
cmp -s "$T_DIR/plot/sweep.dat" "$T_DIR/plot2/sweep.dat" || fail "sweep --plot: other data"
"${BS[@]}" sweep --last 6 --json >"$T_DIR/last.json" || fail "sweep --last 6 exited $?"
cmp -s "$T_DIR/sweep.json" "$T_DIR/last.json" || fail "sweep --last 6 differs: $(cat "$T_DIR/last.json")"
pass "sweep RUN... and sweep --last 6 print the same summary object and chart data"

# text: one row per count, each cell the JSON's mean ± sd rounded to 0.1
"${BS[@]}" sweep "${RUNS[@]}" >"$T_DIR/sweep.txt" || fail "sweep (text) exited $?"
cat "$T_DIR/sweep.txt"
python3 - "$T_DIR/sweep.txt" "$T_DIR/sweep.json" <<'PY' || fail "text summary"
import json, re, sys
text = open(sys.argv[1]).read()
s = json.load(open(sys.argv[2]))
assert text.startswith("sweep sweep-test: 6 runs, 3 counts; quick, accel "), text
for c in s["counts"]:
    cells = [c[k] for k in ("boot_p50_ms", "boot_p99_ms", "all_ready_ms")]
    want = r"\s+".join([str(c["count"]), "2"] +
                       [re.escape("%.1f ± %.1f (%.1f..%.1f)" % (x["mean"], x["sd"], x["min"], x["max"]))
                        for x in cells] + ["0/%d" % c["guests"]])
    assert re.search(r"^\s*" + want + "$", text, re.M), (want, text)
PY
pass "text summary: one row per count with the JSON's numbers"

# one run per count: no stddev, said so
"${BS[@]}" sweep "${RUNS[0]}" "${RUNS[2]}" --json >"$T_DIR/one.json" || fail "sweep of 2 runs"
head -1 "$T_DIR/reports.json" >"$T_DIR/one-reports.json"
sed -n 3p "$T_DIR/reports.json" >>"$T_DIR/one-reports.json"
python3 "$T_DIR/check.py" "$T_DIR/one-reports.json" "$T_DIR/one.json" || fail "one run per count"
"${BS[@]}" sweep "${RUNS[0]}" "${RUNS[2]}" | grep -Eq '^ +2 +1 +[0-9.]+ \(1 run\) ' ||
    fail "one run not said: $("${BS[@]}" sweep "${RUNS[0]}" "${RUNS[2]}")"
pass "one run per count: sd null, text '(1 run)'"

rc=0; "${BS[@]}" sweep >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "sweep without runs exited $rc, not 2"
rc=0; "${BS[@]}" sweep --last 0 2>"$T_DIR/e" || rc=$?
[ "$rc" = 2 ] && grep -q -- '--last' "$T_DIR/e" || fail "--last 0 exited $rc: $(cat "$T_DIR/e")"
rc=0; "${BS[@]}" sweep "${RUNS[0]}" --last 2 >/dev/null 2>&1 || rc=$?
[ "$rc" = 2 ] || fail "RUN and --last exited $rc, not 2"
rc=0; "${BS[@]}" sweep no-such-run 2>"$T_DIR/e" || rc=$?
[ "$rc" = 1 ] && grep -q "no run 'no-such-run'" "$T_DIR/e" || fail "unknown run exited $rc: $(cat "$T_DIR/e")"
"${BS[@]}" sweep --help | grep -q 'usage: bootstorm sweep' || fail "sweep --help"
pass "usage errors exit 2, an unknown run 1, --help 0"
