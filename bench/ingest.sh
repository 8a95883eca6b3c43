#!/usr/bin/env bash
# Collector ingest into one Redis, before and after in one run: events/s at full speed
# (and its ratio to redis-benchmark -P 16 SET on the same Redis, same run) and the
# event -> stored (acked) latency p50/p99 paced at 2000 events/s. The same fake
# launcher (this build's bench_ingest) drives each collector.
#   usage: bench/ingest.sh [--ref-build DIR] [--build DIR] [N]
#   --ref-build DIR: a build of an older commit (e.g. e07424e) measured first as "before"
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
REF=
while [ $# -gt 0 ]; do
    case $1 in
    --ref-build) REF=$2; shift 2 ;;
    --build) B=$2; shift 2 ;;
    -h | --help) sed -n 2,7p "$0"; exit 0 ;;
    *) break ;;
    esac
done
N=${1:-60000}
PACED_N=10000
PACED_RATE=2000
for dir in "$B" ${REF:+"$REF"}; do
    [ -x "$dir/bin/bootstorm-collector" ] && [ -f "$dir/share/bootstorm.lua" ] ||
        { echo "ingest.sh: $dir has no bin/bootstorm-collector or share/bootstorm.lua" >&2; exit 2; }
done
source bench/lib.sh
bench_tmp bsingest
RP=$(port)
redis-server --port "$RP" --save "" --appendonly no --dir "$d" >"$d/redis.log" 2>&1 & pids+=($!)
until redis-cli -p "$RP" ping >/dev/null 2>&1; do sleep 0.05; done

# -q prints progress lines ending in \r, then "NAME: N requests per second"
rps() { tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1; }
set_ops() {
    redis-cli -p "$RP" flushall >/dev/null
    redis-benchmark -p "$RP" -P 16 -n 500000 -q -t set | rps
}

# measure LABEL BUILD_DIR: SET on the Redis just before (the machine may be shared, so
# each collector is compared with the SET rate of its own moment), then one collector
# of that build, full speed, then paced
measure() {
    local label=$1 dir=$2 cp cpid full paced set
    set=$(set_ops)
    redis-cli -p "$RP" flushall >/dev/null
    redis-cli -p "$RP" function flush >/dev/null
    cp=$(port)
    rm -f "$d/ready"
    "$dir/bin/bootstorm-collector" --bind "tcp://127.0.0.1:$cp" --redis "redis://127.0.0.1:$RP" \
        --lua "$dir/share/bootstorm.lua" --ready-file "$d/ready" --stats-interval 0 \
        >"$d/collector-$label.log" 2>&1 &
    cpid=$!
    until [ -f "$d/ready" ]; do sleep 0.05; done
    full=$("$B/bench/bench_ingest" "tcp://127.0.0.1:$cp" benchhost "$N")
    paced=$("$B/bench/bench_ingest" "tcp://127.0.0.1:$cp" benchhost2 "$PACED_N" "$PACED_RATE")
    kill "$cpid"
    wait "$cpid" 2>/dev/null || true
    echo "$label $set $full | $paced" >>"$d/results"
    echo "$label ($dir): redis-benchmark -P 16 SET: $set/s"
    echo "$label ($dir): full speed: $full"
    echo "$label ($dir): $PACED_RATE ev/s:  $paced"
}
[ -n "$REF" ] && measure before "$REF"
measure after "$B"

python3 - "$d/results" <<'PY'
import sys
print("%-7s %12s %12s %8s %14s %14s" % ("", "events/s", "SET/s", "x SET", "p50 ms @2000", "p99 ms @2000"))
for line in open(sys.argv[1]):
    label, set_ops, rest = line.split(" ", 2)
    full, paced = rest.split(" | ")
    kv = dict(x.split("=") for x in full.split()[1:])
    pv = dict(x.split("=") for x in paced.split()[1:])
    ev, s = float(kv["ev_per_s"]), float(set_ops)
    print("%-7s %12.0f %12.0f %8.3f %14s %14s" % (label, ev, s, ev / s, pv["p50_ms"], pv["p99_ms"]))
PY
