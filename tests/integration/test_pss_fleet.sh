#!/usr/bin/env bash
# The report's PSS per guest is the whole fleet's, and the memory sample a run asked
# for before its end is not lost (launcher/run.c fleet_pss_tick and end_sampled,
# launcher/sched.c sched_whole): a burst of 24 minkernels with no hold_s ends right
# when the last one is ready, yet the report's pss_sample covers all 24, taken after
# the last ready, and the mem stream holds that sample. An interval storm whose guests
# are each ready before the next is spawned (no guest booting, the fleet not whole
# yet) likewise. Before the fix the run stopped the fleet at once and dropped the
# sample that came back after its end: the report's PSS came from an early sample.
# With pss_guests (how many guests' PSS a sample reads, evenly spread) below the
# count, the sample still covers the whole fleet's running count, reads PSS for that
# many, and its per-guest figure matches the one read for every guest.
source "$BS_SOURCE/tests/integration/lib.sh"

command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed"
[ -f "$BS_BUILD/images/minkernel.elf" ] || skip "no minkernel.elf in $BS_BUILD/images"
start_stack pss --guests "$BS_BUILD/guests" --images "$BS_BUILD/images"

# run_and_check NAME COUNT EXTRA_YAML [READ]: runs the scenario, then checks its report
# and its mem stream: the sample covers COUNT running, PSS read for READ (default COUNT).
run_and_check() {
    local name=$1 count=$2 extra=$3 read=${4:-$2}
    printf 'name: %s\nguest: minkernel\naccel: auto\ncount: %s\n%s\nhold_s: 0\ntimeout_s: 30\n' \
        "$name" "$count" "$extra" >"$T_DIR/$name.yaml"
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" --json \
        >"$T_DIR/$name.json" || fail "$name: run exited $? ($(cat "$T_DIR/$name.json"))"
    local run
    run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/$name.json")
    rcli HGET "bs:{$run}:agg" last_ready_tr >"$T_DIR/$name.last_ready"
    rcli --json XRANGE "bs:{$run}:mem:pss" - + >"$T_DIR/$name.mem.json"
    python3 - "$T_DIR/$name.json" "$T_DIR/$name.last_ready" "$T_DIR/$name.mem.json" "$count" "$read" <<'PY' ||
import json, sys
r = json.load(open(sys.argv[1]))
last_ready = int(open(sys.argv[2]).read().strip())
mem = json.load(open(sys.argv[3]))
n, k = int(sys.argv[4]), int(sys.argv[5])
assert r["ready"] == n and r["failed"] == 0, ("not every guest ready", r["ready"], r["failed"])
p = r["pss_sample"]
assert p and p["running"] == n, ("report's PSS sample does not cover the fleet", p, n)
assert p["sampled"] == k, ("report's PSS sample not read for pss_guests of them", p, k)
assert not p["while_booting"], ("report's PSS sample was taken while booting", p)
assert r["pss_per_guest_mib"] > 0, r["pss_per_guest_mib"]
samples = [dict(zip(kv[0::2], kv[1::2])) for _, kv in mem]
after = [s for s in samples if int(s["tr"]) >= last_ready]
assert after, ("no memory sample after the last ready", len(samples))
assert any(int(s.get("pss_n", 0)) == k and int(s["running"]) == n for s in after), (
    "no sample after the last ready has the PSS of pss_guests of the whole fleet",
    [(s.get("pss_n"), s.get("running")) for s in after])
PY
        fail "$name: report or mem stream wrong (the assertion above; report in $T_DIR/$name.json)"
    grep -q "run $run: PSS of the whole fleet: read for $read of $count guests alive" "$T_DIR/launcher.log" ||
        fail "$name: the launcher did not log the whole fleet's PSS"
}

run_and_check pss-burst 24 "pattern: burst"
pass "burst of 24, no hold: the report's PSS covers all 24, sampled after the last ready"
every=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pss_per_guest_mib"])' "$T_DIR/pss-burst.json")

run_and_check pss-some 24 $'pattern: burst\npss_guests: 8' 8
python3 - "$every" "$T_DIR/pss-some.json" <<'PY' || fail "PSS read for 8 of 24 differs from all 24's"
import json, sys
every, some = float(sys.argv[1]), json.load(open(sys.argv[2]))["pss_per_guest_mib"]
assert abs(some - every) <= 0.05 * every, (some, every)
PY
pass "burst of 24, pss_guests 8: PSS read for 8 evenly spread, per guest within 5% of all 24's"

# 300 ms apart: a minkernel is ready long before the next spawn, none booting between
run_and_check pss-interval 5 $'pattern: interval\ninterval_ms: 300'
pass "interval of 5: the PSS sample waits for the last spawn, covers all 5"
wait_for 5 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the runs"
