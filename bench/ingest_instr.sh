#!/usr/bin/env bash
# Instructions Redis executes per stored event, for this build's Redis Function and,
# with --ref-lua FILE, for another version of it, in one run: deterministic where
# events/s are not (a shared machine's load moves bench/ingest.sh by 2x). Redis runs
# under valgrind --tool=callgrind; bench_ingest sends N events (spawn, spawned, ready per
# guest) through a real collector, then N0 as the fixed cost (start-up, idle), and
#   instructions per event = (Ir(N) - Ir(N0)) / (N - N0).
#   usage: bench/ingest_instr.sh [--ref-lua FILE] [--build DIR] [N]   (default 3000)
#   The reference must speak this collector's calls (bs_run_create since library 7).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${BS_BUILD:-build}
REF=
while [ $# -gt 0 ]; do
    case $1 in
    --ref-lua) REF=$2; shift 2 ;;
    --build) B=$2; shift 2 ;;
    -h | --help) sed -n 2,9p "$0"; exit 0 ;;
    *) break ;;
    esac
done
N=${1:-3000}
N0=300
command -v valgrind >/dev/null || { echo "ingest_instr.sh: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
source bench/lib.sh
bench_tmp bsinstr

# instructions LUA COUNT: Ir of a callgrind'ed redis-server that stored COUNT events
instructions() {
    local lua=$1 n=$2 rp cp r c
    rp=$(port)
    cp=$(port)
    rm -f "$d/ready" "$d/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" redis-server --port "$rp" \
        --save "" --appendonly no --dir "$d" >"$d/redis.log" 2>&1 &
    r=$!
    pids+=("$r")
    until redis-cli -p "$rp" ping >/dev/null 2>&1; do sleep 0.2; done
    "$B/bin/bootstorm-collector" --bind "tcp://127.0.0.1:$cp" --redis "redis://127.0.0.1:$rp" \
        --lua "$lua" --ready-file "$d/ready" --stats-interval 0 >"$d/collector.log" 2>&1 &
    c=$!
    pids+=("$c")
    until [ -f "$d/ready" ]; do sleep 0.1; done
    "$B/bench/bench_ingest" "tcp://127.0.0.1:$cp" h1 "$n" >/dev/null
    local run ready
    run=$(redis-cli -p "$rp" ZRANGE bs:runs 0 0)
    ready=$(redis-cli -p "$rp" HGET "bs:{$run}:agg" ready)
    if [ -z "${BS_NOCHECK:-}" ] && [ "${ready:-0}" != $(((n - 1) / 3)) ]; then # hello, then spawn/spawned/ready per guest
        echo "ingest_instr.sh: $lua stored ${ready:-no} ready of $(((n - 1) / 3)): not comparable" >&2
        kill "$c" "$r"
        return 1
    fi
    kill "$c"
    wait "$c" 2>/dev/null || true
    kill "$r"
    wait "$r" 2>/dev/null || true
    [ -n "${BS_KEEP_CG:-}" ] && cp "$d/cg.out" "$BS_KEEP_CG.$n"
    sed -n 's/^summary: //p' "$d/cg.out"
}

per_event() { # LABEL LUA
    local hi lo
    hi=$(instructions "$2" "$N") && lo=$(instructions "$2" "$N0") || exit 1
    python3 -c "print('%-7s %8.0f instructions per event (%s)' % ('$1', ($hi - $lo) / ($N - $N0), '$2'))"
}
[ -n "$REF" ] && per_event before "$REF" | tee "$d/before"
per_event after "$B/share/bootstorm.lua" | tee "$d/after"
if [ -n "$REF" ]; then
    python3 -c "
b = float(open('$d/before').read().split()[1]); a = float(open('$d/after').read().split()[1])
print('after / before: %.3f' % (a / b))"
fi
