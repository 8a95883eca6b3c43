#!/usr/bin/env bash
# Fleet benchmark: H network-namespace hosts (tests/netns/mkhosts.sh), one launcher in
# each, Redis and the collector (CURVE, bound to the bridge address) in the root
# namespace, one coordinated start of PER sim guests per host (guests/sim.yaml,
# process backend, no VMs). Prints: exact counts from Redis (agg and every hagg), each
# host's first spawn after the agreed start, the fleet report's header, collector CPU over the run (/proc/PID/stat), the ingest rate
# (events stored / storm wall time, and the collector's own per-second stats lines),
# and how long the CLI took to print the report (text and JSON) of the finished run.
# Not a timed test: all figures come from this one run on this machine.
#   usage: bench/fleet.sh [HOSTS [PER_HOST]]   (default 8 1250: 10,000 guests)
# env LEAD_MS: the collector's --start-lead-ms (default its own, 1000).
# Needs root (ip netns) and a build (BS_BUILD, default build). Removes every namespace
# and process it made, by name and pid, on any exit.
set -euo pipefail
cd "$(dirname "$0")/.."
SRC=$(pwd)
B=$(cd "${BS_BUILD:-build}" && pwd)
H=${1:-8}
PER=${2:-1250}
TOTAL=$((H * PER))
ID=f$(printf '%04x' $(((RANDOM << 1 ^ $$) & 0xffff)))
d=$(mktemp -d /tmp/bsfleet.XXXXXX)
pids=()
cleanup() {
    local rc=$? p
    set +e
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    "$SRC/tests/netns/rmhosts.sh" "$ID" >/dev/null 2>&1
    [ "$rc" = 0 ] || { echo "fleet.sh: failed (rc=$rc); logs:" >&2; tail -n 5 "$d"/*.log >&2; }
    rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ip netns add "bs$ID-probe" 2>/dev/null || { echo "fleet.sh: ip netns add not permitted" >&2; exit 77; }
ip netns del "bs$ID-probe"

# Limits: H launchers x PER guests, each guest a process with two pipes in its launcher
# (the launcher raises its soft RLIMIT_NOFILE to the hard limit, launcher/main.c).
procs=$(ps -e --no-headers | wc -l)
echo "limits: pid_max $(cat /proc/sys/kernel/pid_max), threads-max $(cat /proc/sys/kernel/threads-max)," \
    "ulimit -u $(ulimit -u), ulimit -n $(ulimit -n) (hard $(ulimit -Hn)), processes now $procs"
[ $((procs + TOTAL + 100)) -lt "$(cat /proc/sys/kernel/pid_max)" ] ||
    { echo "fleet.sh: pid_max too small for $TOTAL guests" >&2; exit 2; }
[ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -gt $((2 * PER + 256)) ] ||
    { echo "fleet.sh: hard RLIMIT_NOFILE $(ulimit -Hn) too small for $PER guests per launcher" >&2; exit 2; }

"$SRC/tests/netns/mkhosts.sh" "$H" "$ID" >"$d/net.env"
source "$d/net.env"
source bench/lib.sh # port
RP=$(port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$d" >"$d/redis.log" 2>&1 &
pids+=($!)
rcli() { redis-cli -p "$RP" "$@"; }
until rcli ping >/dev/null 2>&1; do sleep 0.05; done
RPID=${pids[0]}
"$B/bin/bootstorm" keys gen "$d/keys" >/dev/null
EP="tcp://$BSNET_GW:$(port)"
"$B/bin/bootstorm-collector" --bind "$EP" --redis "redis://127.0.0.1:$RP" \
    --curve-secret "$d/keys/server.key" --ready-file "$d/collector.ready" --stats-interval 1 \
    ${LEAD_MS:+--start-lead-ms "$LEAD_MS"} >"$d/collector.log" 2>&1 &
CPID=$!
pids+=("$CPID")
until [ -f "$d/collector.ready" ]; do sleep 0.05; done
for i in $(seq 0 $((H - 1))); do
    ns="BSNET_NS_$i"
    ip netns exec "${!ns}" "$B/bin/bootstorm-launcher" --connect "$EP" --host "fh$i" \
        --guests "$B/guests" --images "$B/images" --spool "$d/spool$i" \
        --curve-server-key "$d/keys/server.pub" --curve-keys "$d/keys/client.key" \
        >"$d/launcher$i.log" 2>&1 &
    pids+=($!)
done
up() { [ "$(rcli --raw eval "local n=0 for _,h in ipairs(redis.call('smembers','bs:hosts')) do if redis.call('hget','bs:host:'..h,'state')=='up' and redis.call('hexists','bs:host:'..h,'offset_ns')==1 then n=n+1 end end return n" 0)" = "$H" ]; }
for _ in $(seq 300); do up && break; sleep 0.1; done
up || { echo "fleet.sh: $H launchers did not come up" >&2; exit 1; }

cat >"$d/fleet.yaml" <<YAML
name: fleet
guest: sim
backend: process
count: $PER
split: per_host
timeout_s: 300
YAML
# CPU ticks (utime + stime) of a pid
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)
mem() { rcli info memory | tr -d '\r' | sed -n 's/^used_memory://p'; }
m0=$(mem)
c0=$(ticks "$CPID") rc0=$(ticks "$RPID")
t0=$(date +%s%N)
rc=0
timeout 600 "$B/bin/bootstorm" --redis "redis://127.0.0.1:$RP" run "$d/fleet.yaml" --hosts all \
    --collector "$EP" --curve-server-key "$d/keys/server.pub" --json >"$d/run.json" 2>"$d/cli.log" || rc=$?
t1=$(date +%s%N)
c1=$(ticks "$CPID") rc1=$(ticks "$RPID")
m1=$(mem)
RUN=$(rcli zrevrange bs:runs 0 0)
[ -n "$RUN" ] || { echo "fleet.sh: no run stored (run exited $rc)" >&2; exit 1; }
# the report of the finished run, as a user asks for it, timed
r0=$(date +%s%N)
"$B/bin/bootstorm" --redis "redis://127.0.0.1:$RP" report "$RUN" >"$d/report.txt" || true
r1=$(date +%s%N)
"$B/bin/bootstorm" --redis "redis://127.0.0.1:$RP" report "$RUN" --json >"$d/report.json" || true
r2=$(date +%s%N)

echo "run: $RUN: $H hosts x $PER sim guests = $TOTAL, 'bootstorm run' exited $rc after $(((t1 - t0) / 1000000)) ms"
echo "redis agg: $(rcli --raw hmget "bs:{$RUN}:agg" spawned ready failed | paste -sd' ' | awk '{printf "spawned %s ready %s failed %s", $1, $2, ($3 == "" ? 0 : $3)}')"
for i in $(seq 0 $((H - 1))); do
    printf '  hagg fh%s: %s\n' "$i" "$(rcli --raw hmget "bs:{$RUN}:hagg:fh$i" spawned ready failed | paste -sd' ' |
        awk '{printf "spawned %s ready %s failed %s", $1, $2, ($3 == "" ? 0 : $3)}')"
done
EV=$(rcli llen "bs:{$RUN}:ev")
echo "redis used_memory: +$(((m1 - m0) / 1024)) KiB for the run, $(((m1 - m0) / TOTAL)) bytes per guest; keys $(rcli dbsize)"
python3 - "$d/report.json" "$EV" "$((c1 - c0))" "$HZ" "$t0" "$t1" "$d/collector.log" "$H" "$PER" "$((rc1 - rc0))" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
ev, dticks, hz, t0, t1 = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
H, PER = int(sys.argv[8]), int(sys.argv[9])
ok = r["ready"] == H * PER and r["failed"] == 0 and all(h["ready"] == PER for h in r["per_host"])
print("exact: ready == %d and failed == 0 on every host: %s" % (H * PER, "yes" if ok else "NO"))
f = r.get("fleet") or {}
b = r.get("boot_ms") or {}
print("fleet: ready in %s ms +- %s, first spawns %s ms apart; boot p50 %s p99 %s max %s ms" % (
    f.get("ready_ms"), f.get("err_ms"), f.get("start_spread_ms"), b.get("p50"), b.get("p99"), b.get("max")))
fs = sorted((h.get("first_spawn_ms"), h["host"]) for h in r["per_host"] if h.get("first_spawn_ms") is not None)
print("first spawn after the agreed start, ms: " + ", ".join("%s %.1f" % (n, t) for t, n in fs))
wall = (t1 - t0) / 1e9
cpu = dticks / hz
# the storm: the collector's stats lines (1 s apart) that stored anything
rates = [float(m.group(1)) for m in re.finditer(r"stats: ([0-9.]+) events/s", open(sys.argv[7]).read())]
busy = [x for x in rates if x > 0]
print("events stored: %d (%.2f per guest)" % (ev, ev / max(H * PER, 1)))
print("collector CPU over the run: %.2f s in %.1f s wall (%.0f%% of one core), %.1f us per event" % (
    cpu, wall, 100 * cpu / wall, 1e6 * cpu / max(ev, 1)))
rcpu = int(sys.argv[10]) / hz
print("redis-server CPU over the run: %.2f s (%.0f%% of one core), %.1f us per event" % (
    rcpu, 100 * rcpu / wall, 1e6 * rcpu / max(ev, 1)))
if busy:
    print("ingest (collector stats, 1 s lines with events): %d s, mean %.0f events/s, peak %.0f events/s" % (
        len(busy), sum(busy) / len(busy), max(busy)))
print("ingest over the whole CLI run: %.0f events/s" % (ev / wall))
PY
END=$(rcli --raw hgetall "bs:{$RUN}:meta" | python3 -c '
import sys
l = sys.stdin.read().split("\n")
print(int(max([float(v) for k, v in zip(l[0::2], l[1::2]) if k.startswith("end_tr:")] or [0])))')
echo "CLI: 'bootstorm run' exited $(((t1 - END) / 1000000)) ms after the last launcher's run_end (its report printed by then)"
echo "report (text) printed in $(((r1 - r0) / 1000000)) ms, report --json in $(((r2 - r1) / 1000000)) ms"
sed -n '1,8p' "$d/report.txt"
grep '^fleet' "$d/report.txt" || true
# the collector stops on SIGTERM and says how it ended (a crash here is a finding)
kill -TERM "$CPID"
crc=0
wait "$CPID" 2>/dev/null || crc=$?
echo "collector stopped by SIGTERM: exit status $crc"
[ "$rc" = 0 ]
