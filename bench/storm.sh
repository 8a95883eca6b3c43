#!/usr/bin/env bash
# Boot-storm benchmark: minkernel storms of several sizes through bootstorm's embedded
# set-up, and the plain C reference spawner (bench/ref_spawner.c) in the same run, so
# the ratio says what bootstorm's measuring costs. Prints one row per tool and storm,
# then the ratios bootstorm / reference of per-guest p50 and of all-ready.
# usage: bench/storm.sh [COUNTS...]   (default: 64 128 256 512); env ACCELS="kvm tcg"
# env INTERVAL_MS=K: both spawn one guest every K ms (bootstorm's interval pattern, the
# reference the same schedule), so the per-guest p50 compares boots started on equal
# terms; without it each spawns its burst as fast as it can, and bootstorm's burst is
# tighter (more guests boot at once, so per-guest p50 is higher).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(64 128 256 512)
accels=${ACCELS:-kvm tcg}
interval=${INTERVAL_MS:-0}
data=$(mktemp -d /tmp/bsbench.XXXXXX)
trap 'rm -rf "$data"' EXIT

# scenario COUNT ACCEL: the storm as bootstorm runs it
scenario() {
    printf 'name: bench\nguest: minkernel\ncount: %d\naccel: %s\ntimeout_s: 120\n' "$1" "$2"
    [ "$interval" = 0 ] || printf 'pattern: interval\ninterval_ms: %s\n' "$interval"
}

printf '%-10s %-6s %8s %9s %9s %9s %9s %10s %9s %8s %9s\n' tool accel ready "p50 ms" "p99 ms" \
    "max ms" "all ms" "peak MiB" "MiB/gst" "cpu/gst" "spawn ms"
for accel in $accels; do
    for n in "${counts[@]}"; do
        scenario "$n" "$accel" >"$data/s.yaml"
        "$B/bin/bootstorm" --data-dir "$data/d" run "$data/s.yaml" --json >"$data/r.json" 2>/dev/null || true
        ref=$("$B/bench/ref_spawner" "$B/images/minkernel.elf" "$n" "$accel" "$interval" || true)
        python3 - "$data/r.json" "$ref" "$accel" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
kv = dict(x.split("=") for x in sys.argv[2].split()[1:])
b = r["boot_ms"] or {}
cpu = r["launcher"]["cpu_ms"] / max(r["spawned"], 1) if r.get("launcher") else float("nan")
f = lambda v: "-" if v is None else "%.1f" % v
row = "%-10s %-6s %8s %9s %9s %9s %9s %10s %9s %8s %9s"
print(row % ("bootstorm", r["accel"], "%d/%d" % (r["ready"], r["count"]), f(b.get("p50")), f(b.get("p99")),
      f(b.get("max")), f(r["all_ready_ms"]), f(r["peak_mem_mib"]), f(r.get("mem_per_guest_mib")),
      "%.2f" % cpu, "-"))
print(row % ("reference", sys.argv[3], "%s/%s" % (kv["ready"], kv["n"]), kv["p50_ms"], "-", kv["max_ms"],
      kv["all_ms"], "-", "-", "-", kv["spawn_all_ms"]))
if b.get("p50") and float(kv["p50_ms"]) > 0:
    print("  ratio bootstorm/reference: per-guest p50 %.2f, all-ready %.2f" %
          (b["p50"] / float(kv["p50_ms"]), r["all_ready_ms"] / float(kv["all_ms"])))
PY
    done
done
