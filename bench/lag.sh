#!/usr/bin/env bash
# Launch lag under the storm: minkernel (KVM) started one every INTERVAL_MS (default 5)
# through bootstorm's embedded set-up; per run the launch lag (actual start of the spawn
# call minus its scheduled time, from the run's bs:{RUN}:lag) p50 / p99 / max and the
# launcher's CPU per guest, and how long the spawn call itself took (spawn -> spawned,
# p50 / p99: a vfork blocks its caller until the child has exec'd). With --ref-build DIR, that build runs the same storm just
# before this one, alternating, REPEAT times, so both see the same machine load.
#   usage: bench/lag.sh [--ref-build DIR] [--repeat R] [COUNTS...]   (default 128 256)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
REF='' R=1
while [ $# -gt 0 ]; do
    case $1 in
    --ref-build) REF=$2; shift 2 ;;
    --repeat) R=$2; shift 2 ;;
    -h | --help) sed -n 2,7p "$0"; exit 0 ;;
    *) break ;;
    esac
done
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(128 256)
interval=${INTERVAL_MS:-5}
d=$(mktemp -d /tmp/bslag.XXXXXX)
trap 'rm -rf "$d"' EXIT

# one LABEL BUILD N: one storm, one row
one() {
    local label=$1 dir=$2 n=$3
    printf 'name: lag\nguest: minkernel\ncount: %d\naccel: kvm\ntimeout_s: 120\npattern: interval\ninterval_ms: %s\n' \
        "$n" "$interval" >"$d/s.yaml"
    rm -rf "$d/data"
    "$dir/bin/bootstorm" --data-dir "$d/data" run "$d/s.yaml" --json >"$d/r.json" 2>/dev/null || true
    python3 - "$d/r.json" "$label" "$n" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
h = r["per_host"][0]
lag = h.get("lag_ms") or {}
cpu = r["launcher"]["cpu_ms"] / max(r["spawned"], 1) if r.get("launcher") else float("nan")
call = (r.get("phases_ms") or {}).get("spawned") or {}
f = lambda v: "-" if v is None else "%.2f" % v
print("%-6s %5s %9s %9s %9s %9s %9s %9s %9s %9s %7s" % (sys.argv[2], sys.argv[3], "%d/%d" % (r["ready"], r["count"]),
      f(lag.get("p50")), f(lag.get("p99")), f(lag.get("max")), "%.2f" % cpu,
      f(call.get("p50")), f(call.get("p99")), f((r.get("boot_ms") or {}).get("p50")), sys.argv[4]))
PY
}
printf '%-6s %5s %9s %9s %9s %9s %9s %9s %9s %9s %7s\n' build n ready "lag p50" "lag p99" "lag max" \
    "cpu ms/g" "call p50" "call p99" "boot p50" load1
for _ in $(seq "$R"); do
    for n in "${counts[@]}"; do
        [ -z "$REF" ] || one ref "$REF" "$n"
        one new "$B" "$n"
    done
done
