#!/usr/bin/env bash
# Lossless ingest under faults, with real redis-server (AOF, fsync always), collector,
# launcher (with an on-disk spool) and minkernel guests:
#  (a) kill -9 of the collector and kill -9 + restart of Redis in the middle of a storm
#      of 32: the final counts are exact;
#  (b) kill -9 of the launcher while the collector is frozen (nothing acked): the
#      restarted launcher resends its spool and the counts are exact, seq gap-free;
#  (c) the charts of the run are valid PNG and SVG with content.
# Every process is started here and stopped by pid (lib.sh).
source "$BS_SOURCE/tests/integration/lib.sh"

REDIS_PORT=$(free_port)
REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
mkdir -p "$T_DIR/redis"
start_redis_aof() {
    start_bg redis "redis-server" --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T_DIR/redis" \
        --save "" --appendonly yes --appendfsync always
    REDIS_PID=$LAST_PID
    wait_for 30 redis_pong "$REDIS_PORT" || fail "redis did not start (or load its AOF)"
}
start_redis_aof
CPORT=$(free_port)
EP="tcp://127.0.0.1:$CPORT"
start_collector() { # a fresh log: a line of the previous collector never answers a wait
    rm -f "$T_DIR/collector.ready" "$T_DIR/collector.log"
    start_bg collector "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" \
        --ready-file "$T_DIR/collector.ready" --stats-interval 1
    COLL_PID=$LAST_PID
}
start_collector
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
start_launcher() {
    start_bg "launcher$1" "$BIN/bootstorm-launcher" --connect "$EP" --host fhost \
        --guests "$BS_BUILD/guests" --images "$BS_BUILD/images" --spool "$T_DIR/spool"
    LAUNCHER_PID=$LAST_PID
}
start_launcher 1
wait_for 10 host_up fhost ||
    fail "launcher did not say hello"

run_id() { # newest run id
    rcli ZREVRANGE bs:runs 0 0
}
agg() { rcli HGET "bs:{$1}:agg" "$2"; }

# ---- (a) collector kill -9 and Redis kill -9 mid-storm
cat >"$T_DIR/a.yaml" <<'YAML'
name: faults
guest: minkernel
count: 32
hold_s: 6
timeout_s: 60
YAML
start_bg cli-a "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/a.yaml" --collector "$EP"
wait_for 20 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT ZREVRANGE bs:runs 0 0)\" ]" || fail "no run"
RUN_A=$(run_id)
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'bs:{$RUN_A}:agg' spawned)\" -ge 1 ] 2>/dev/null" ||
    fail "nothing spawned"
kill -KILL "$COLL_PID"
wait_for 10 all_dead "$COLL_PID" || fail "collector survived kill -9"
start_collector
wait_for 10 test -f "$T_DIR/collector.ready" || fail "restarted collector not ready"
# mid-storm again: the new collector counts the launcher live before Redis goes
wait_for 20 grep -q "launchers 1 live of 1" "$T_DIR/collector.log" ||
    fail "the restarted collector never heard the launcher"
kill -KILL "$REDIS_PID"
wait_for 10 all_dead "$REDIS_PID" || fail "redis survived kill -9"
start_redis_aof
wait_for 60 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'bs:{$RUN_A}:meta' hosts_done)\" = 1 ]" ||
    fail "run $RUN_A never finished after the faults"
[ "$(agg "$RUN_A" ready)" = 32 ] || fail "ready $(agg "$RUN_A" ready), want 32"
[ "$(agg "$RUN_A" spawned)" = 32 ] || fail "spawned $(agg "$RUN_A" spawned), want 32"
[ "$(rcli ZCARD "bs:{$RUN_A}:boot")" = 32 ] || fail "boot zset not 32"
n=$("$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN_A" --json |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["phases_ms"]["spawned"]["n"])')
[ "$n" = 32 ] || fail "phase spawned of $n guests, want 32"
[ -z "$(agg "$RUN_A" failed)" ] || fail "failed $(agg "$RUN_A" failed)"
DUPS=$(grep -c "duplicates" "$T_DIR/collector.log" || true)
pass "(a) collector kill -9 + Redis kill -9 mid-storm: 32/32 ready, 32 spawned, no failure"

# ---- (b) launcher kill -9 with nothing acked, restarted from its spool
cat >"$T_DIR/b.yaml" <<'YAML'
name: spool
guest: minkernel
count: 16
hold_s: 60
timeout_s: 60
YAML
start_bg cli-b "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/b.yaml" --collector "$EP"
CLI_B=$LAST_PID
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT ZREVRANGE bs:runs 0 0)\" != '$RUN_A' ]" ||
    fail "run b not created"
kill -STOP "$COLL_PID" # the start is forwarded; nothing is stored or acked from here on
RUN_B=$(run_id)
wait_for 20 qemu_count_is "$LAUNCHER_PID" 16 || fail "16 guests not running"
# Every guest of run b reached ready: its ready event is in the spool (the collector is
# frozen, so nothing is acked and compacted away from here on).
spool_ready() {
    python3 - "$T_DIR/spool/fhost.spool" "$RUN_B" <<'PY'
import struct, sys
b, run, at, n = open(sys.argv[1], "rb").read(), sys.argv[2].encode(), 8, 0
run = b"\xa3run" + (bytes([0xa0 + len(run)]) if len(run) < 32 else bytes([0xd9, len(run)])) + run
while at + 16 <= len(b):
    kind, ln, _ = struct.unpack_from("=IIq", b, at)
    rec = b[at + 16:at + 16 + ln]
    n += kind == 0x45 and b"\xa4type\xa5ready" in rec and run in rec
    at += 16 + ln + 4
sys.exit(0 if n >= 16 else 1)
PY
}
wait_for 30 spool_ready || fail "16 ready events not in the spool"
GUESTS=$(qemu_children "$LAUNCHER_PID")
kill -KILL "$LAUNCHER_PID"
kill -KILL "$COLL_PID" # what it holds unread dies with it: only the spool can bring it back
for p in $GUESTS; do kill -KILL "$p" 2>/dev/null || true; done
kill "$CLI_B" 2>/dev/null || true
BEFORE=$(agg "$RUN_B" ready)
SPOOLED=$(stat -c %s "$T_DIR/spool/fhost.spool")
start_launcher 2
start_collector
wait_for 30 grep -q "unacknowledged events reloaded" "$T_DIR/launcher2.log" || fail "spool not reloaded"
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET 'bs:{$RUN_B}:agg' ready)\" = 16 ]" ||
    fail "after the launcher restart: ready $(agg "$RUN_B" ready), want 16"
[ "$(agg "$RUN_B" spawned)" = 16 ] || fail "spawned $(agg "$RUN_B" spawned), want 16"
grep -q "taken as lost" "$T_DIR/collector.log" && fail "the collector saw a seq gap"
pass "(b) launcher and collector kill -9 with ${BEFORE:-0}/16 ready stored and $SPOOLED spool bytes: restarted, 16/16 ready, no gap"

# ---- (c) charts, export, check
"$BIN/bootstorm" --redis "$REDIS_URL" plot "$RUN_A" --out "$T_DIR/charts" >/dev/null ||
    fail "plot failed"
python3 - "$T_DIR/charts" <<'PY' || fail "charts invalid"
import os, sys, xml.etree.ElementTree as ET
d = sys.argv[1]
for n in ("boot_cdf", "boot_vs_running", "memory", "ready_count", "phases"):
    png = open(os.path.join(d, n + ".png"), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000, (n, len(png))
    root = ET.parse(os.path.join(d, n + ".svg")).getroot()
    k = sum(1 for e in root.iter() if e.tag.split("}")[-1] in ("path", "polyline", "rect", "circle", "use"))
    assert k > 10, (n, k)
PY
"$BIN/bootstorm" --redis "$REDIS_URL" export "$RUN_A" --csv >"$T_DIR/a.csv" || fail "export"
[ "$(tail -n +2 "$T_DIR/a.csv" | wc -l)" = 32 ] || fail "export: not 32 rows"
"$BIN/bootstorm" --redis "$REDIS_URL" check "$RUN_A" --p99-max 60000 --max-failed-pct 0 ||
    fail "check of a good run failed"
if "$BIN/bootstorm" --redis "$REDIS_URL" check "$RUN_B" --max-failed-pct 5; then
    fail "check of an incomplete run passed"
fi
pass "(c) 5 charts as valid PNG+SVG, export 32 rows, check passes a good run and fails a broken one"

# ---- (d) clock offset of the launcher, NTP-style over the same connection
wait_for 10 bash -c "[ -n \"\$(redis-cli -p $REDIS_PORT HGET bs:host:fhost offset_err_ns)\" ]" ||
    fail "no clock offset estimated for fhost"
ERR_NS=$(rcli HGET bs:host:fhost offset_err_ns)
OFF_NS=$(rcli HGET bs:host:fhost offset_ns)
# One kernel clock: the true offset is 0 and must lie within the estimate's bound (how
# tight the bound is depends on the load: a busy machine delays pongs).
OFF_ABS=${OFF_NS#-}
[ "$OFF_ABS" -le "$ERR_NS" ] || fail "offset $OFF_NS ns outside its own error bound $ERR_NS ns"
[ "$ERR_NS" -lt 1000000000 ] || fail "clock error bound $ERR_NS ns on loopback"
pass "(d) clock offset of fhost ${OFF_NS} ns +- ${ERR_NS} ns"
