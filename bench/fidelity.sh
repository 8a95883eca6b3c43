#!/usr/bin/env bash
# Fidelity: is bootstorm's ready timestamp the moment the ready line really came out?
# For the same boot of the same guest, the launcher's ready stamp against an independent
# one: bench/fidelity_tap (its own C, no bootstorm code) sits between QEMU's console and
# the launcher, stamps the ready line with CLOCK_MONOTONIC the moment it reads it and
# passes the bytes on. Per-guest difference (launcher - tap) p50 / p99 / max at each
# storm size. The launcher's stamp is the kernel's, of the tap's write into its console
# socket (docs/LAUNCHER.md, "Console stamps"): the difference is the tap's own time from
# its read to its write, plus whatever the launcher's stamps get wrong. Second table:
# minkernel's host-side debugcon stamp (ready on port 0xe9, a FIFO the launcher stamps
# when it reads it) against its console line (a marker, stamped by the kernel).
# usage: bench/fidelity.sh [COUNTS...]   (default 1 64 256); env ACCEL (default auto)
set -euo pipefail
cd "$(dirname "$0")/.."
B=$(cd "${BS_BUILD:-build}" && pwd)
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1 64 256)
accel=${ACCEL:-auto}
d=$(mktemp -d /tmp/bsfidelity.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$d"
}
trap cleanup EXIT
source bench/lib.sh # port

# Profiles: minkernel behind the tap; minkernel-debugcon with its console line as a marker.
mkdir -p "$d/guests"
cp "$B"/guests/*.yaml "$d/guests/"
sed -e 's/^name: minkernel$/name: minkernel-tap/' \
    -e "s|argv: \[qemu-system-x86_64,|argv: [\"$B/bench/fidelity_tap\", \"$d/st/stamp\", \"BOOTSTORM READY minkernel\", qemu-system-x86_64,|" \
    "$B/guests/minkernel.yaml" >"$d/guests/minkernel-tap.yaml"
sed -e 's/^name: minkernel-debugcon$/name: minkernel-dbgcmp/' \
    -e "s/^  - {name: entry, regex: 'minkernel: entry'}$/&\n  - {name: console_ready, regex: 'BOOTSTORM READY minkernel'}/" \
    "$B/guests/minkernel-debugcon.yaml" >"$d/guests/minkernel-dbgcmp.yaml"

RP=$(port)
CP=$(port)
redis-server --port "$RP" --bind 127.0.0.1 --save "" --appendonly no --dir "$d" >"$d/redis.log" 2>&1 &
pids+=($!)
until redis-cli -p "$RP" ping >/dev/null 2>&1; do sleep 0.05; done
"$B/bin/bootstorm-collector" --bind "tcp://127.0.0.1:$CP" --redis "redis://127.0.0.1:$RP" \
    --ready-file "$d/ready" >"$d/collector.log" 2>&1 &
pids+=($!)
until [ -f "$d/ready" ]; do sleep 0.05; done
"$B/bin/bootstorm-launcher" --connect "tcp://127.0.0.1:$CP" --host fid --guests "$d/guests" \
    --images "$B/images" >"$d/launcher.log" 2>&1 &
pids+=($!)

# storm GUEST N: runs N guests at once, prints the run id.
storm() {
    printf 'name: fidelity\nguest: %s\ncount: %d\naccel: %s\ntimeout_s: 120\n' "$1" "$2" "$accel" >"$d/s.yaml"
    "$B/bin/bootstorm" --redis "redis://127.0.0.1:$RP" run "$d/s.yaml" --collector "tcp://127.0.0.1:$CP" \
        --quiet --json >"$d/r.json" || { echo "run of $2 x $1 failed: $(cat "$d/r.json")" >&2; exit 1; }
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$d/r.json"
}
# fields RUN N F...: one line "F1 F2 ..." per guest of `bootstorm export --json`; F is
# pid, spawn_tm, ready_tm or m:MARKER (the last three as the host's monotonic ns).
fields() {
    local run=$1
    shift 2
    "$B/bin/bootstorm" --redis "redis://127.0.0.1:$RP" export "$run" --json | python3 -c '
import json, sys
def f(g, k):
    if k in ("pid", "spawn_tm"):
        return g["pid" if k == "pid" else "spawn_tm_ns"]
    ms = g["ready_ms"] if k == "ready_tm" else g["markers_ms"].get(k[2:])
    return None if ms is None else g["spawn_tm_ns"] + round(ms * 1e6)
for g in json.load(sys.stdin):
    v = [f(g, k) for k in sys.argv[1:]]
    print(" ".join("" if x is None else str(x) for x in v))' "$@"
}
stats() { # LABEL N < "a b" lines: per-line (b - a) in ms; says when fewer than N pairs
    python3 -c '
import sys
d = sorted((int(b) - int(a)) / 1e6 for a, b in (l.split() for l in sys.stdin if len(l.split()) == 2))
if len(d) < int(sys.argv[2]):
    print("%-28s only %d of %s guests have both stamps" % (sys.argv[1], len(d), sys.argv[2]))
if not d:
    sys.exit(1)
q = lambda p: d[min(len(d) - 1, int(p * len(d)))]
a = sorted(abs(x) for x in d)
qa = lambda p: a[min(len(a) - 1, int(p * len(a)))]
print("%-28s n=%-4d diff p50 %7.3f ms   |diff| p50 %7.3f  p99 %7.3f  max %7.3f ms" %
      (sys.argv[1], len(d), q(0.5), qa(0.5), qa(0.99), a[-1]))' "$1" "$2"
}

# crowd < "tap launcher" lines: are the late stamps (|diff| > 1 ms) those that came in a
# crowd (the launcher handles ready lines one after another), or alone (it was not
# running: scheduling)? Other ready lines the tap saw in the 2 ms before each.
crowd() {
    python3 -c '
import bisect, sys
p = [tuple(int(x) for x in l.split()) for l in sys.stdin if len(l.split()) == 2]
taps = sorted(t for t, _ in p)
near = lambda t: bisect.bisect_right(taps, t) - bisect.bisect_left(taps, t - 2000000) - 1
late = [near(t) for t, r in p if abs(r - t) > 1000000]
every = [near(t) for t, _ in p]
if late:
    print("  %d late (|diff| > 1 ms): other ready lines in the 2 ms before each: mean %.1f (all guests: %.1f)"
          % (len(late), sum(late) / len(late), sum(every) / len(every)))'
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {print int($2/1024)}' /proc/meminfo) MiB, accel $accel, $(date -u +%F)"
echo "== launcher ready stamp - independent tap stamp (same boot, same clock)"
for n in "${counts[@]}"; do
    rm -rf "$d/st" && mkdir "$d/st"
    run=$(storm minkernel-tap "$n")
    cat "$d"/st/stamp.* >"$d/stamps" 2>/dev/null || true
    # the tap's pid is the guest's pid in the launcher's eyes
    join <(fields "$run" "$n" pid ready_tm spawn_tm | sort) <(sort "$d/stamps") >"$d/joined"
    awk '{print $4, $2}' "$d/joined" | stats "minkernel x $n at once" "$n"
    # Which ones are late: ready lines read by the tap before the launcher's last spawn
    # (its loop was still spawning the burst) against those after it.
    last=$(awk '$3 > m {m = $3} END {print m + 0}' "$d/joined")
    awk -v l="$last" '$4 < l {print $4, $2}' "$d/joined" | stats "  ready while spawning" 0 || true
    awk -v l="$last" '$4 >= l {print $4, $2}' "$d/joined" | stats "  ready after last spawn" 0 || true
    awk '{print $4, $2}' "$d/joined" | crowd
done
echo "== console line (marker) - debugcon port write (ready), both launcher stamps"
for n in "${counts[@]}"; do
    run=$(storm minkernel-dbgcmp "$n")
    fields "$run" "$n" ready_tm m:console_ready | stats "minkernel-debugcon x $n" "$n"
done
