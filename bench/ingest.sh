#!/usr/bin/env bash
# Collector ingest into Redis, as a ratio against redis-benchmark on the same Redis in
# the same run, and the end-to-end latency event -> stored (acked) p50/p99 at full
# speed and paced at 2000 events/s.   usage: bench/ingest.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
N=${1:-60000}
d=$(mktemp -d /tmp/bsingest.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$d"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
RP=$(port); CP=$(port)
redis-server --port "$RP" --save "" --appendonly no --dir "$d" >"$d/redis.log" 2>&1 & pids+=($!)
until redis-cli -p "$RP" ping >/dev/null 2>&1; do sleep 0.05; done
"$B/bin/bootstorm-collector" --bind "tcp://127.0.0.1:$CP" --redis "redis://127.0.0.1:$RP" \
    --ready-file "$d/ready" --stats-interval 0 >"$d/collector.log" 2>&1 & pids+=($!)
until [ -f "$d/ready" ]; do sleep 0.05; done

full=$("$B/bench/bench_ingest" "tcp://127.0.0.1:$CP" benchhost "$N")
paced=$("$B/bench/bench_ingest" "tcp://127.0.0.1:$CP" benchhost2 10000 2000)
# -q prints progress lines ending in \r, then "NAME: N requests per second"
rps() { tr '\r' '\n' | sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -1; }
set_ops=$(redis-benchmark -p "$RP" -P 16 -n 500000 -q -t set | rps)
xadd_ops=$(redis-benchmark -p "$RP" -P 16 -n 500000 -q xadd bs:bench '*' f v | rps)
echo "collector, full speed:   $full"
echo "collector, 2000 ev/s:    $paced"
echo "redis-benchmark -P 16:   SET $set_ops/s, XADD $xadd_ops/s"
python3 - "$full" "$set_ops" "$xadd_ops" <<'PY'
import sys
kv = dict(x.split("=") for x in sys.argv[1].split()[1:])
ev = float(kv["ev_per_s"]); s = float(sys.argv[2]); x = float(sys.argv[3])
print("ratio: collector events/s / SET ops/s = %.3f, / XADD ops/s = %.3f" % (ev / s, ev / x))
PY
