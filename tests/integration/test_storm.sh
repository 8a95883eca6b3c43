#!/usr/bin/env bash
# End to end with real redis-server, ZeroMQ, collector, launcher and QEMU guests:
# a storm of 8 minkernels ends with 8 ready guests in Redis, a guest that never
# prints its ready line fails with "timeout" and is killed, and no qemu is left.
source "$BS_SOURCE/tests/integration/lib.sh"

# The launcher reads profiles from a copy of the built ones plus a guest that never gets ready.
mkdir -p "$T_DIR/guests"
cp "$BS_BUILD"/guests/*.yaml "$T_DIR/guests/"
sed -e 's/^name: minkernel/name: never-ready/' -e "s/^ready: .*/ready: 'THIS LINE NEVER COMES'/" \
    "$BS_SOURCE/guests/minkernel.yaml" >"$T_DIR/guests/never-ready.yaml"
start_stack testhost --guests "$T_DIR/guests" --images "$BS_BUILD/images"

# --- 8 minkernels at once
"$BIN/bootstorm" --redis "$REDIS_URL" run "$BS_SOURCE/scenarios/smoke.yaml" --collector "$EP" \
    --json >"$T_DIR/smoke.json" || fail "bootstorm run smoke exited $? ($(cat "$T_DIR/smoke.json"))"
python3 - "$T_DIR/smoke.json" <<'PY' || fail "smoke report wrong: $(cat "$T_DIR/smoke.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["count"] == 8 and r["ready"] == 8 and r["failed"] == 0, r
b = r["boot_ms"]
assert 0 < b["min"] <= b["p50"] <= b["p90"] <= b["p99"] <= b["max"] < 30000, b
assert r["all_ready_ms"] >= b["max"] - 1, r
assert r["peak_mem_mib"] > 0 and r["accel"] in ("kvm", "tcg"), r
# every instance counted under the accel it ran under; a PSS sample with 1..8 running
assert sum(r["instances_by_accel"].values()) == 8 and set(r["instances_by_accel"]) <= {"kvm", "tcg"}, r
p = r["pss_sample"]
assert r["pss_per_guest_mib"] > 0 and p and 1 <= p["running"] <= 8, r
PY
RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/smoke.json")
[ "$(rcli ZCARD "bs:{$RUN}:boot")" = 8 ] || fail "boot zset of $RUN does not hold 8 guests"
for ms in $(rcli ZRANGE "bs:{$RUN}:boot" 0 -1 WITHSCORES | awk 'NR%2==0'); do
    python3 -c "import sys; v=float('$ms'); sys.exit(0 if 0 < v < 30000 else 1)" ||
        fail "boot time $ms ms out of (0, 30000)"
done
"$BIN/bootstorm" --redis "$REDIS_URL" report "$RUN" >"$T_DIR/report.txt"
grep -q "minkernel" "$T_DIR/report.txt" || fail "text report lacks the guest kind"
wait_for 5 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the smoke run"
pass "8 minkernels ready, report exact, no qemu left"

# Every event's realtime stamp is its monotonic stamp's moment: a spawn is stamped at
# its call's start on the spawner thread and published when the loop takes it back
# (here: at the guest's first console bytes, hundreds of ms later). Reproduction: its
# realtime stamp was the publishing time, so a fleet's first spawns read 0.5-0.9 s
# after the agreed start at which ftrace showed them. Realtime minus monotonic is one
# host's clock offset: the same for every guest, to within clock-reading jitter.
# A burst of 64 simulated guests: the spawner thread makes the 64 calls back to back
# and the loop takes them back after the last (before the fix: 64 spawns' realtime
# stamps up to the whole burst's length late: a spread of 5.4 ms when this was written).
printf 'name: stamps\nguest: sim\nbackend: process\ncount: 64\ntimeout_s: 30\n' >"$T_DIR/stamps.yaml"
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/stamps.yaml" --collector "$EP" --json \
    >"$T_DIR/stamps.json" || fail "the 64 sim guests' run exited $?"
SRUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/stamps.json")
"$BIN/bootstorm" --redis "$REDIS_URL" export "$SRUN" --json >"$T_DIR/stamps.guests.json"
python3 - "$T_DIR/stamps.guests.json" <<'PY' || fail "spawn stamps: realtime does not follow monotonic"
import json, sys
g = json.load(open(sys.argv[1]))
d = [x["spawn_tr_ns"] - x["spawn_tm_ns"] for x in g]
spread_ms = (max(d) - min(d)) / 1e6
print("realtime - monotonic of the 64 spawns: spread %.3f ms" % spread_ms)
assert len(d) == 64 and spread_ms < 1.0, spread_ms
PY
pass "spawn stamps: realtime and monotonic agree for every guest"

# --- a guest that never prints its marker: failed timeout, killed
cat >"$T_DIR/never.yaml" <<'YAML'
name: never
guest: never-ready
count: 2
timeout_s: 2
YAML
set +e
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/never.yaml" --collector "$EP" --json >"$T_DIR/never.json"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a run with failed guests must exit 1, got $rc"
python3 - "$T_DIR/never.json" <<'PY' || fail "timeout report wrong: $(cat "$T_DIR/never.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 0 and r["failed"] == 2, r
assert r["failed_by_reason"]["timeout"] == 2, r
PY
wait_for 5 qemu_count_is "$LAUNCHER_PID" 0 || fail "timed-out guests were not killed"
pass "never-ready guests failed with timeout and were killed"

# --- SIGTERM to the launcher mid-run: every guest stopped, none left
cat >"$T_DIR/long.yaml" <<'YAML'
name: long
guest: minkernel
count: 4
hold_s: 60
YAML
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/long.yaml" --collector "$EP" >/dev/null 2>&1 &
CLI_PID=$!
T_PIDS+=("$CLI_PID")
wait_for 20 qemu_count_is "$LAUNCHER_PID" 4 || fail "4 held guests not running"
GUEST_PIDS=$(qemu_children "$LAUNCHER_PID")
kill -TERM "$LAUNCHER_PID"
wait_for 10 bash -c "! kill -0 $LAUNCHER_PID 2>/dev/null" || fail "launcher did not exit on SIGTERM"
for p in $GUEST_PIDS; do
    alive "$p" && fail "qemu $p of the held run left after launcher SIGTERM"
done
wait "$CLI_PID" 2>/dev/null || true
pass "launcher SIGTERM stops every guest"

# --- no KVM: the launcher falls back to TCG and says so; a run that demands KVM is refused
start_bg launcher-tcg "$BIN/bootstorm-launcher" --connect "$EP" --host tcghost --no-kvm \
    --guests "$T_DIR/guests" --images "$BS_BUILD/images"
# its own hello (the log holds earlier launchers' hellos: a bare "hello" matched at once)
wait_for 10 grep -q "launcher tcghost: hello" "$T_DIR/collector.log" || fail "tcghost never said hello"
"$BIN/bootstorm" --redis "$REDIS_URL" run "$BS_SOURCE/scenarios/smoke.yaml" --collector "$EP" \
    --hosts tcghost --json >"$T_DIR/tcg.json" || fail "TCG smoke run failed: $(cat "$T_DIR/tcg.json")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["accel"]=="tcg" and r["ready"]==8, r' \
    "$T_DIR/tcg.json" || fail "TCG run report wrong: $(cat "$T_DIR/tcg.json")"
grep -q "falling back to TCG" "$T_DIR/launcher-tcg.log" || fail "launcher did not say it fell back to TCG"
sed 's/^accel: auto/accel: kvm/' "$BS_SOURCE/scenarios/smoke.yaml" >"$T_DIR/kvm.yaml"
set +e
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/kvm.yaml" --collector "$EP" --hosts tcghost \
    --json >"$T_DIR/kvm.json" 2>"$T_DIR/kvm.err"
rc=$?
set -e
[ "$rc" = 1 ] || fail "a run demanding KVM where there is none must exit 1, got $rc"
grep -q "KVM is not usable" "$T_DIR/kvm.json" || fail "the refusal does not say why: $(cat "$T_DIR/kvm.json")"
pass "without KVM: TCG fallback reported, KVM-only run refused with the reason"
