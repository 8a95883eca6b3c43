#!/usr/bin/env bash
# Boot-storm benchmark: minkernel storms of several sizes through bootstorm's embedded
# set-up, and the plain C reference spawner (bench/ref_spawner.c) in the same run, so
# the ratio says what bootstorm's measuring costs. Prints one row per storm.
# usage: bench/storm.sh [COUNTS...]   (default: 64 128 256 512); env ACCELS="kvm tcg"
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(64 128 256 512)
accels=${ACCELS:-kvm tcg}
data=$(mktemp -d /tmp/bsbench.XXXXXX)
trap 'rm -rf "$data"' EXIT

row() { printf '%-10s %-6s %6s %9s %9s %9s %9s %10s %9s %8s\n' "$@"; }
row tool accel count "p50 ms" "p99 ms" "max ms" "all ms" "peak MiB" "MiB/gst" "cpu/gst"
for accel in $accels; do
    for n in "${counts[@]}"; do
        printf 'name: bench\nguest: minkernel\ncount: %d\naccel: %s\ntimeout_s: 120\n' "$n" "$accel" >"$data/s.yaml"
        "$B/bin/bootstorm" --data-dir "$data/d" run "$data/s.yaml" --json >"$data/r.json" 2>/dev/null || true
        python3 - "$data/r.json" "$accel" "$n" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b = r["boot_ms"] or {}
cpu = r["launcher"]["cpu_ms"] / max(r["spawned"], 1) if r.get("launcher") else float("nan")
f = lambda v: "-" if v is None else "%.1f" % v
print("%-10s %-6s %6s %9s %9s %9s %9s %10s %9s %8s" % ("bootstorm", r["accel"], "%d/%d" % (r["ready"], r["count"]),
      f(b.get("p50")), f(b.get("p99")), f(b.get("max")), f(r["all_ready_ms"]), f(r["peak_mem_mib"]),
      f(r.get("mem_per_guest_mib")), "%.2f" % cpu))
PY
        sleep 2
        ref=$("$B/bench/ref_spawner" "$B/images/minkernel.elf" "$n" "$accel" || true)
        python3 - "$ref" "$accel" "$n" <<'PY'
import sys
kv = dict(x.split("=") for x in sys.argv[1].split()[1:])
print("%-10s %-6s %6s %9s %9s %9s %9s %10s %9s %8s" % ("reference", sys.argv[2], "%s/%s" % (kv["ready"], kv["n"]),
      kv["p50_ms"], "-", kv["max_ms"], kv["all_ms"], "-", "-", "-"))
PY
        sleep 2
    done
done
