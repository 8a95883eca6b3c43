#!/usr/bin/env bash
# Boot-storm benchmark: minkernel storms of several sizes through bootstorm's embedded
# set-up, and the plain C reference spawner (bench/ref_spawner.c) in the same run, so
# the ratio says what bootstorm's measuring costs. Prints one row per tool and storm,
# then the ratios bootstorm / reference of per-guest p50 and of all-ready.
# usage: bench/storm.sh [COUNTS...]   (default: 64 128 256 512); env ACCELS="kvm tcg"
# env INTERVAL_MS=K: both spawn one guest every K ms (bootstorm's interval pattern, the
#   reference the same schedule).
# env SHAPE=ref: the burst on equal terms: the reference spawns its burst as fast as it
#   can and writes down when it started each guest; bootstorm then follows exactly that
#   schedule (a ramp trace of the reference's spawn times: one point per guest as long
#   as the scenario's trace holds them (256 points, 2048 bytes: about 200 guests), else
#   guests grouped evenly, each group due at its first guest's time). Without INTERVAL_MS or SHAPE each spawns its
#   burst as fast as it can, and bootstorm's burst is tighter (more guests boot at once,
#   so per-guest p50 is higher).
# env MACHINE=M: QEMU's -M for both tools (a copy of the minkernel profile with it; e.g.
#   "microvm" with the PIT, PIC and RTC the profile leaves out: docs/SCALING.md, "1280
#   minkernels"); default the profile's own machine, given to the reference too.
# env HOLD_S=S: bootstorm keeps the fleet up S s after all are ready (hold_s). Not
#   needed for its PSS: the launcher keeps the fleet until its sample of the whole
#   fleet is back (docs/LAUNCHER.md).
# env REPEAT=K: each storm K times (pairs); then the median and range of the ratios.
# env AA=1: after each pair the reference runs once more, and the ratio of its
#   per-guest p50 and all-ready to its first run's is printed (with REPEAT, their median
#   and range): the noise of the same spawner run twice in a row on this machine now,
#   against which the bootstorm/reference ratio is read.
#   With SHAPE=ref each pair (and each A/A) is also compared quarter by quarter of its
#   guests in spawn order (bench/quarters.py): the p50 of each quarter and their ratio,
#   with REPEAT their medians: whether the first guests, the last, or all moved.
# env SAMPLE_MS=MS: bootstorm's memory sampling period (sample_ms; default 100).
# env CSV=FILE: also appends one row per tool and storm to FILE (header if new).
# Columns: ready, boot p50/p99/max, all ready, peak host memory in use (watched by this
# script every 100 ms around each tool's run), its growth per guest, PSS per guest (bootstorm: its launcher's sample of its guests at their peak; the
# reference: its guests' PSS summed once all are ready), spawner CPU per guest
# (bootstorm's launcher / the reference itself), time from first to last spawn.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(64 128 256 512)
accels=${ACCELS:-kvm tcg}
interval=${INTERVAL_MS:-0}
shape=${SHAPE:-}
aa=${AA:-}
# the built profile's -M (quoted when it holds commas): what both boot by default
profile_machine=$(sed -nE 's/.*qemu-system-x86_64, -M, ("([^"]*)"|([^,]*)),.*/\2\3/p' "$B/guests/minkernel.yaml")
[ -n "$profile_machine" ] || { echo "storm.sh: no '-M' in $B/guests/minkernel.yaml" >&2; exit 2; }
machine=${MACHINE:-$profile_machine}
csv=${CSV:-}
hold=${HOLD_S:-0}
sample_ms=${SAMPLE_MS:-}
repeat=${REPEAT:-1}
[[ $repeat =~ ^[1-9][0-9]*$ ]] || { echo "storm.sh: REPEAT must be a positive integer (got '$repeat')" >&2; exit 2; }
case $shape in "" | ref) ;; *) echo "storm.sh: SHAPE must be 'ref' (got '$shape')" >&2; exit 2 ;; esac
if [ -n "$shape" ] && [ "$interval" != 0 ]; then
    echo "storm.sh: SHAPE=ref and INTERVAL_MS=$interval both set a schedule; choose one" >&2
    exit 2
fi
data=$(mktemp -d /tmp/bsbench.XXXXXX)
mw=
trap '[ -z "$mw" ] || kill "$mw" 2>/dev/null; rm -rf "$data"' EXIT

# watched FILE CMD...: runs CMD while host memory in use (MemTotal - MemAvailable, MiB)
# is written to FILE every 100 ms, by this script for both tools alike (at nice -10: a
# storm that saturates the cores must not starve the watcher; bootstorm's own sampler
# runs at nice 10 and can miss the peak: docs/SCALING.md).
watched() {
    local f=$1 rc=0
    shift
    nice -n -10 bash -c 'while :; do
        awk "/^MemTotal:/ {t = \$2} /^MemAvailable:/ {a = \$2} END {print int((t - a) / 1024)}" /proc/meminfo
        sleep 0.1; done' >"$f" 2>/dev/null &
    mw=$!
    "$@" || rc=$?
    kill "$mw" 2>/dev/null || true
    wait "$mw" 2>/dev/null || true
    mw=
    return $rc
}

# The profile both tools boot: the built one, or a copy with -M $machine.
gargs=()
if [ "$machine" != "$profile_machine" ]; then
    mkdir -p "$data/guests"
    sed -E "s/(qemu-system-x86_64, -M, )(\"[^\"]*\"|[^,]*),/\1\"$machine\",/" \
        "$B/guests/minkernel.yaml" >"$data/guests/minkernel.yaml"
    gargs=(--guests "$data/guests")
fi

# scenario COUNT ACCEL: the storm as bootstorm runs it (SHAPE=ref: $data/ramp.csv)
scenario() {
    printf 'name: bench\nguest: minkernel\naccel: %s\ntimeout_s: 300\n' "$2"
    [ "$hold" = 0 ] || printf 'hold_s: %s\n' "$hold"
    [ -z "$sample_ms" ] || printf 'sample_ms: %s\n' "$sample_ms"
    if [ -n "$shape" ]; then
        printf 'pattern: ramp\nramp: ramp.csv\n'
    else
        printf 'count: %d\n' "$1"
        [ "$interval" = 0 ] || printf 'pattern: interval\ninterval_ms: %s\n' "$interval"
    fi
}

# ramp OFFSETS: the reference's spawn times (ms after its first) as a ramp trace
ramp() {
    python3 - "$1" <<'PY'
import sys
offs = [float(l) for l in open(sys.argv[1]) if l.strip()]
n = len(offs)
# group j of k: guests [j*n//k, (j+1)*n//k), all due at its first's time; k as large as
# the scenario's trace allows (256 points, 2048 bytes as "T_MS:COUNT,...")
rows = lambda k: [(offs[j * n // k] / 1000, (j + 1) * n // k) for j in range(k)]
k = min(n, 256)
while k > 1 and len(",".join("%d:%d" % (round(t * 1000), c) for t, c in rows(k))) > 2000:
    k -= 1
print("t_s,count")
for t, c in rows(k):
    print("%.3f,%d" % (t, c))
sys.stderr.write("ramp: %d points for %d guests\n" % (k, n))
PY
}

reference() { # N ACCEL [BOOTS]: one line "ref n=.. ..."; BOOTS: each guest's boot (-b)
    local m=(-M "$machine")
    [ -z "${3:-}" ] || m+=(-b "$3")
    "$B/bench/ref_spawner" "${m[@]}" -o "$data/offsets" "$B/images/minkernel.elf" "$1" "$2" "$interval" || true
}

# aa_pair REF REF2 ACCEL N: the reference's second run against its first (AA=1), one
# line; the ratios go to $data/ratios as pairs of kind "aa"
aa_pair() {
    python3 - "$1" "$2" "$3" "$4" "$data/ratios" <<'PY'
import sys
r1, r2, accel, n, ratios = sys.argv[1:6]
kv = lambda r: dict(x.split("=") for x in r.split()[1:]) if r.startswith("ref ") else {}
a, b = kv(r1), kv(r2)
try:
    p, al = float(b["p50_ms"]) / float(a["p50_ms"]), float(b["all_ms"]) / float(a["all_ms"])
except (KeyError, ValueError, ZeroDivisionError):
    sys.exit(0)
print("  A/A: the reference again / its first run: per-guest p50 %.2f, all-ready %.2f" % (p, al))
with open(ratios, "a") as fo:
    fo.write("%s %s %f %f aa\n" % (accel, n, p, al))
PY
}

printf '%-10s %-6s %9s %9s %9s %9s %9s %9s %8s %8s %8s %9s\n' tool accel ready "p50 ms" "p99 ms" \
    "max ms" "all ms" "peak MiB" "MiB/gst" "PSS/gst" "cpu/gst" "spawn ms"
for accel in $accels; do
    for n in "${counts[@]}"; do
      for ((rep = 0; rep < repeat; rep++)); do
        rm -f "$data/offsets"
        if [ -n "$shape" ]; then
            rm -f "$data/boots.ref" "$data/boots.ref2" "$data/kept"
            ref=$(watched "$data/mem.ref" reference "$n" "$accel" "$data/boots.ref")
            ramp "$data/offsets" >"$data/ramp.csv"
        fi
        scenario "$n" "$accel" >"$data/s.yaml"
        rm -f "$data/g.csv"
        watched "$data/mem.boot" "$B/bin/bootstorm" --data-dir "$data/d" run "$data/s.yaml" "${gargs[@]}" --json >"$data/r.json" 2>"$data/run.err" ||
            grep -v ' info: ' "$data/run.err" | tail -3 >&2
        run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$data/r.json" 2>/dev/null) &&
            "$B/bin/bootstorm" --data-dir "$data/d" export "$run" --csv >"$data/g.csv" 2>/dev/null || true
        [ -n "$shape" ] || ref=$(watched "$data/mem.ref" reference "$n" "$accel")
        python3 - "$data/r.json" "$ref" "$accel" "$data/g.csv" "$csv" "$n" "$machine" "${shape:-${interval}ms}" "$data/ratios" "$data/mem.boot" "$data/mem.ref" "$data/offsets" <<'PY'
import csv, json, math, os, sys
jf, ref, accel, gcsv, out, n, machine, sched, ratios, mboot, mref, offs = sys.argv[1:13]
try:
    r = json.load(open(jf))
except ValueError:
    r = {"count": int(n), "ready": 0, "spawned": 0, "boot_ms": None, "accel": accel}
kv = dict(x.split("=") for x in ref.split()[1:]) if ref.startswith("ref ") else {}
nan = float("nan")
g = lambda d, k: nan if d is None or d.get(k) is None else float(d[k])
spawns = []
try:
    spawns = sorted(float(x["spawn_tr_ns"]) for x in csv.DictReader(open(gcsv)) if x["spawn_tr_ns"])
except (OSError, KeyError, ValueError):
    pass
b = r.get("boot_ms") or {}
cnt = max(r.get("count", 0), 1)
lcpu = g(r.get("launcher"), "cpu_ms")
def watched(path):  # (first, largest) of the watcher's samples
    try:
        v = [float(l) for l in open(path) if l.strip()]
    except (OSError, ValueError):
        v = []
    return (v[0], max(v)) if v else (nan, nan)
base, peak = watched(mboot)
boot = {
    "tool": "bootstorm", "ready": r.get("ready", 0), "failed": r.get("failed", 0), "n": int(n),
    "p50": g(b, "p50"), "p99": g(b, "p99"), "max": g(b, "max"), "all": g(r, "all_ready_ms"),
    "peak": peak, "base": base, "per": (peak - base) / int(n), "pss": g(r, "pss_per_guest_mib"),
    "cpu": lcpu / max(r.get("spawned", 0), 1), "spawn": (spawns[-1] - spawns[0]) / 1e6 if spawns else nan,
    "pss_n": (r.get("pss_sample") or {}).get("sampled", ""), "pss_run": (r.get("pss_sample") or {}).get("running", ""), "own_peak": g(r, "peak_mem_mib")}
rbase, rpeak = watched(mref)
def ref_spread(path):  # first to last spawn call, as for bootstorm (not spawn_all_ms: + the last call)
    try:
        v = [float(l) for l in open(path) if l.strip()]
    except (OSError, ValueError):
        v = []
    return v[-1] - v[0] if v else nan
rn = int(kv.get("n", n))
refr = {
    "tool": "reference", "ready": int(kv.get("ready", 0)), "failed": rn - int(kv.get("ready", 0)), "n": rn,
    "p50": g(kv, "p50_ms"), "p99": g(kv, "p99_ms"), "max": g(kv, "max_ms"), "all": g(kv, "all_ms"),
    "peak": rpeak, "base": rbase, "per": (rpeak - rbase) / rn, "pss": g(kv, "pss_mib") / max(int(kv.get("ready", 0)), 1),
    "cpu": g(kv, "cpu_ms") / rn, "spawn": ref_spread(offs), "pss_n": rn if g(kv, "pss_mib") >= 0 else "", "own_peak": g(kv, "mem_peak_mib")}
f = lambda v, p=1: "-" if math.isnan(v) else "%.*f" % (p, v)
row = "%-10s %-6s %9s %9s %9s %9s %9s %9s %8s %8s %8s %9s"
for x in (boot, refr):
    print(row % (x["tool"], r.get("accel", accel), "%d/%d" % (x["ready"], x["n"]), f(x["p50"]), f(x["p99"]),
          f(x["max"]), f(x["all"]), f(x["peak"]), f(x["per"], 2), f(x["pss"], 2), f(x["cpu"], 2), f(x["spawn"])))
if not math.isnan(boot["own_peak"]) and abs(boot["own_peak"] - peak) > 0.1 * peak:
    print("  bootstorm's own peak host memory %.0f MiB, the watcher's %.0f MiB" % (boot["own_peak"], peak))
if boot["pss_n"] != "" and boot["pss_n"] < boot["n"]:
    print("  bootstorm's PSS/gst: read for %s of the %s guests running (pss_guests), the reference's for all" % (boot["pss_n"], boot["pss_run"]))
if boot["p50"] > 0 and refr["p50"] > 0:
    print("  ratio bootstorm/reference: per-guest p50 %.2f, all-ready %.2f" %
          (boot["p50"] / refr["p50"], boot["all"] / refr["all"]))
    kept = not (sched == "ref" and abs(boot["spawn"] - refr["spawn"]) > 0.1 * refr["spawn"] + 5)
    if not kept:  # not on equal terms after all: out of the summary
        print("  first-to-last spawn differs by more than 10 % + 5 ms: not on equal terms, not counted")
    elif r.get("spawned", 0) != int(n) or refr["n"] != int(n):  # more guests boot at once
        kept = False
        print("  bootstorm spawned %s guests, the reference %d, for %s: not on equal terms, not counted" %
              (r.get("spawned"), refr["n"], n))
    with open(ratios, "a") as fo:
        fo.write("%s %s %f %f %d\n" % (accel, n, boot["p50"] / refr["p50"], boot["all"] / refr["all"], kept))
    if kept:  # its quarters are compared too (bench/quarters.py)
        open(os.path.join(os.path.dirname(ratios), "kept"), "w").close()
if out:
    cols = ["tool", "n", "ready", "failed", "p50", "p99", "max", "all", "peak", "base", "per", "pss", "cpu", "spawn", "pss_n", "own_peak"]
    head = ("accel,machine,schedule,tool,n,ready,failed,p50_ms,p99_ms,max_ms,all_ready_ms,peak_mem_mib,"
            "base_mem_mib,mem_mib_per_guest,pss_mib_per_guest,cpu_ms_per_guest,spawn_spread_ms,pss_guests,own_peak_mem_mib")
    cell = lambda v: "" if isinstance(v, float) and math.isnan(v) else "%.2f" % v if isinstance(v, float) else str(v)
    new = not os.path.exists(out) or os.path.getsize(out) == 0
    with open(out, "a") as fo:
        fo.write(head + "\n" if new else "")
        for x in (boot, refr):
            fo.write(",".join([accel, machine.replace(",", " "), sched] + [cell(x[c]) for c in cols]) + "\n")
PY
        if [ -n "$shape" ] && [ -e "$data/kept" ] && [ -s "$data/g.csv" ] && [ -s "$data/boots.ref" ]; then
            python3 bench/quarters.py from-csv "$data/g.csv" "$data/boots.bs"
            python3 bench/quarters.py pair "bootstorm/reference" "$data/boots.bs" "$data/boots.ref" \
                "$data/quarters" "$accel" "$n" ratio
        fi
        if [ -n "$aa" ]; then
            aa_pair "$ref" "$(watched "$data/mem.ref2" reference "$n" "$accel" "${shape:+$data/boots.ref2}")" "$accel" "$n"
            [ ! -s "$data/boots.ref2" ] || python3 bench/quarters.py pair "A/A (reference again/reference)" \
                "$data/boots.ref2" "$data/boots.ref" "$data/quarters" "$accel" "$n" aa
        fi
      done
    done
done
if [ "$repeat" -gt 1 ] && [ -s "$data/ratios" ]; then
    python3 - "$data/ratios" <<'PY'
import statistics, sys
by = {}
dropped = {}
for l in open(sys.argv[1]):
    a, n, p, al, kept = l.split()
    if kept in ("1", "aa"):
        by.setdefault((a, int(n), kept), []).append((float(p), float(al)))
    else:
        dropped[(a, int(n))] = dropped.get((a, int(n)), 0) + 1
for (a, n, kind), v in sorted(by.items()):
    p, al = sorted(x[0] for x in v), sorted(x[1] for x in v)
    d = dropped.get((a, n), 0) if kind == "1" else 0
    what = "ratio" if kind == "1" else "A/A (reference again / reference)"
    print("%s x %d, %d pairs%s: %s per-guest p50 median %.2f (%.2f-%.2f), all-ready median %.2f (%.2f-%.2f)" %
          (a, n, len(v), " (%d more not counted)" % d if d else "", what, statistics.median(p), p[0], p[-1],
           statistics.median(al), al[0], al[-1]))
PY
    [ ! -s "$data/quarters" ] || python3 bench/quarters.py summary "$data/quarters"
fi
