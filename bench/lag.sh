#!/usr/bin/env bash
# Launch lag and launcher CPU under the storm: minkernel (KVM) started one every
# INTERVAL_MS (default 5) through bootstorm's embedded set-up. Per run: the launch lag
# (actual start of the spawn call minus its scheduled time, from the run's bs:{RUN}:lag)
# p50 / p99 / max, the launcher's CPU per guest, how long the spawn call took (spawn ->
# spawned, p50 / p99: a vfork blocks its caller until the child has exec'd) and boot p50.
# Same-run references in every repetition:
#   plain: the plain reference spawner (bench/ref_spawner.c, no bootstorm code) on the
#     same schedule; its CPU per guest (until all are ready) and bootstorm's ratio to it
#     ("x plain").
#   wake p99 / max: the wake-up probe (bench/wakeup.c, SCHED_FIFO 10, 5 ms deadlines)
#     running through each storm, its lateness from the first spawn to the last ready:
#     the floor this machine puts under any launcher's lag right then.
# With --ref-build DIR, that build runs the same storm just before this one, alternating,
# REPEAT times, so both see the same machine load.
#   usage: bench/lag.sh [--ref-build DIR] [--repeat R] [COUNTS...]   (default 128 256)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
REF='' R=1
while [ $# -gt 0 ]; do
    case $1 in
    --ref-build) REF=$2; shift 2 ;;
    --repeat) R=$2; shift 2 ;;
    -h | --help) sed -n 2,16p "$0"; exit 0 ;;
    -*) echo "lag.sh: unknown option '$1' (--ref-build DIR, --repeat R)" >&2; exit 2 ;;
    *) break ;;
    esac
done
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(128 256)
for n in "${counts[@]}" "$R"; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "lag.sh: '$n' is no count (a whole number > 0)" >&2; exit 2; }
done
interval=${INTERVAL_MS:-5}
for x in "$B/bench/ref_spawner" "$B/bench/bench_wakeup" "$B/bin/bootstorm" ${REF:+"$REF/bin/bootstorm"}; do
    [ -x "$x" ] || { echo "lag.sh: no $x (scripts/build.sh)" >&2; exit 2; }
done
machine=$(sed -nE 's/.*qemu-system-x86_64, -M, ("([^"]*)"|([^,]*)),.*/\2\3/p' "$B/guests/minkernel.yaml")
d=$(mktemp -d /tmp/bslag.XXXXXX)
probe=''
trap '[ -z "$probe" ] || kill "$probe" 2>/dev/null; rm -rf "$d"' EXIT

fmt='%-6s %5s %9s %8s %8s %8s %9s %8s %8s %8s %9s %8s %8s %7s\n'
printf "$fmt" build n ready "lag p50" "lag p99" "lag max" "cpu ms/g" "x plain" "call p50" "call p99" \
    "boot p50" "wake p99" "wake max" load1

# probe_start / probe_stop: the wake-up probe around one storm, its samples in $d/wake
probe_start() {
    "$B/bench/bench_wakeup" fifo 3600 "$d/wake" >/dev/null 2>&1 &
    probe=$!
}
probe_stop() {
    kill -TERM "$probe" 2>/dev/null || true
    wait "$probe" 2>/dev/null || true
    probe=''
}

# plain N: the reference spawner's storm; its CPU per guest into $d/plain_cpu
plain() {
    local n=$1 out
    probe_start
    out=$("$B/bench/ref_spawner" -M "$machine" "$B/images/minkernel.elf" "$n" kvm "$interval" 2>/dev/null) || true
    probe_stop
    python3 - "$out" "$n" "$d/wake" "$d/plain_cpu" "$(cut -d' ' -f1 /proc/loadavg)" "$fmt" <<'PY'
import sys
out, n, wake, cpu_file, load, fmt = sys.argv[1:7]
kv = dict(w.split("=", 1) for w in out.split() if "=" in w)
lates = sorted(int(l.split()[1]) / 1e6 for l in open(wake) if l.strip())
f = lambda v: "-" if v is None else "%.2f" % v
cpu = float(kv["cpu_ms"]) / int(n) if "cpu_ms" in kv else None
open(cpu_file, "w").write("" if cpu is None else repr(cpu))
print(fmt.replace("\\n", "") % ("plain", n, "%s/%s" % (kv.get("ready", "?"), n), "-", "-", "-", f(cpu), "-", "-", "-",
      f(float(kv["p50_ms"]) if "p50_ms" in kv else None),
      f(lates[(len(lates) * 99 + 99) // 100 - 1] if lates else None), f(lates[-1] if lates else None), load))
PY
}

# one LABEL BUILD N: one bootstorm storm, one row
one() {
    local label=$1 dir=$2 n=$3
    printf 'name: lag\nguest: minkernel\ncount: %d\naccel: kvm\ntimeout_s: 120\npattern: interval\ninterval_ms: %s\n' \
        "$n" "$interval" >"$d/s.yaml"
    rm -rf "$d/data"
    probe_start
    "$dir/bin/bootstorm" --data-dir "$d/data" run "$d/s.yaml" --json >"$d/r.json" 2>/dev/null || true
    probe_stop
    python3 - "$d/r.json" "$label" "$n" "$(cut -d' ' -f1 /proc/loadavg)" "$d/wake" "$d/plain_cpu" "$fmt" <<'PY'
import json, sys
jf, label, n, load, wake, plain_file, fmt = sys.argv[1:8]
f = lambda v: "-" if v is None else "%.2f" % v
try:
    r = json.load(open(jf))
    h = r["per_host"][0]
except (OSError, ValueError, KeyError, IndexError):
    print(fmt.replace("\\n", "") % ((label, n, "failed") + ("-",) * 10 + (load,)))
    sys.exit(0)
lag = h.get("lag_ms") or {}
cpu = r["launcher"]["cpu_ms"] / max(r["spawned"], 1) if r.get("launcher") else None
call = (r.get("phases_ms") or {}).get("spawned") or {}
plain = open(plain_file).read().strip()
ratio = cpu / float(plain) if cpu is not None and plain and float(plain) > 0 else None
# the probe's wake-ups from this storm's first spawn to its last ready (realtime)
t0 = r["created_tr"] / 1e6
lo, hi = t0 + (h.get("first_spawn_ms") or 0), t0 + (h.get("last_ready_ms") or h.get("all_ready_ms") or 0)
lates = sorted(int(l.split()[1]) / 1e6 for l in open(wake) if l.strip() and lo <= int(l.split()[0]) / 1e6 <= hi)
print(fmt.replace("\\n", "") % (label, n, "%d/%d" % (r["ready"], r["count"]), f(lag.get("p50")), f(lag.get("p99")),
      f(lag.get("max")), f(cpu), f(ratio), f(call.get("p50")), f(call.get("p99")),
      f((r.get("boot_ms") or {}).get("p50")),
      f(lates[(len(lates) * 99 + 99) // 100 - 1] if lates else None), f(lates[-1] if lates else None), load))
PY
}

for _ in $(seq "$R"); do
    for n in "${counts[@]}"; do
        plain "$n"
        [ -z "$REF" ] || one ref "$REF" "$n"
        one new "$B" "$n"
    done
done
