#!/usr/bin/env bash
# start: snapshot and template with minkernel (docs/SNAPSHOTS.md): minkernel-snap prints
# BS-BEAT every ms after ready (`beat` on its command line), so a restored copy shows it
# runs. A snapshot storm and a template storm of 8: every clone ready on the heartbeat,
# the CLI's exit status, the report's start / prep_ms / state_kib, nothing left in
# /dev/shm or the launcher's temporary directory, no QEMU left. Under accel: auto (KVM
# where it works, TCG where not; BS_SNAPSHOT_MK_ACCEL=kvm|tcg to choose). BS_SNAPSHOT_MK_COUNTS="1 64" prints cold, snapshot and
# template side by side, BS_SNAPSHOT_MK_RESTART=N a mass restart of N each way
# (docs/SNAPSHOTS.md's minkernel numbers).
source "$BS_SOURCE/tests/integration/lib.sh"
source "$BS_SOURCE/tests/integration/snapshot_lib.sh"

img="$BS_BUILD/images"
[ -s "$img/minkernel.elf" ] || skip "minkernel.elf not built in $img"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"

snap_stack mkhost "$img"

scenario() { # NAME START COUNT
    printf 'name: %s\nguest: minkernel-snap\naccel: %s\ncount: %s\ntimeout_s: %s\nstart: %s\n' \
        "$1" "${BS_SNAPSHOT_MK_ACCEL:-auto}" "$3" "${BS_SNAPSHOT_MK_TIMEOUT:-60}" "$2" >"$T_DIR/$1.yaml"
}
run_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$1"; }

# --- a storm of 8 restored from one template, both ways
storm() { # START
    local start=$1 run
    scenario "${start}8" "$start" 8
    run_json "${start}8" || fail "$start run exited $?: $(cat "$T_DIR/${start}8.err")"
    python3 - "$T_DIR/${start}8.json" "$start" <<'PY' || fail "$start report wrong: $(cat "$T_DIR/${start}8.json")"
import json, sys
r, start = json.load(open(sys.argv[1])), sys.argv[2]
assert r["count"] == 8 and r["ready"] == 8 and r["failed"] == 0, r
assert 0 < r["boot_ms"]["p50"] < 60000, r["boot_ms"]
# restored, not booted: the boot's markers never show in a clone; template clones have
# `resumed` (QMP RESUME, restore.c), snapshot clones no QMP
ph = r.get("phases_ms") or {}
assert not any(k.startswith("m:") and k != "m:resumed" for k in ph), ph
assert ("m:resumed" in ph) == (sys.argv[2] == "template"), ph
assert "m:resumed" not in ph or 0 < ph["m:resumed"]["p50"] <= r["boot_ms"]["p50"], (ph, r["boot_ms"])
if "m:resumed" in ph:
    print(f"  template: resumed p50 {ph['m:resumed']['p50']:.1f} ms ({ph['m:resumed']['n']} of 8), "
          f"ready p50 {r['boot_ms']['p50']:.1f} ms")
# the report: start, and the host's template preparation time and state file size
assert r["start"] == start, r["start"]
h = r["per_host"][0]
assert h["host"] == "mkhost" and 0 < h["prep_ms"] < 60000 and h["state_kib"] > 0, h
PY
    run=$(run_of "$T_DIR/${start}8.json")
    "$BIN/bootstorm" --redis "$REDIS_URL" report "$run" >"$T_DIR/${start}8.txt" ||
        fail "report $run exited $?"
    grep -Eq "^start: $start; template prepared in [0-9]+ ms, state file [0-9]+ KiB$" \
        "$T_DIR/${start}8.txt" || fail "no start line in the report: $(cat "$T_DIR/${start}8.txt")"
    "$BIN/bootstorm" --redis "$REDIS_URL" report "$run" --html "$T_DIR/${start}8.html" >/dev/null ||
        fail "report --html $run exited $?"
    grep -Eq "<p>start: $start; template prepared in [0-9]+ ms" "$T_DIR/${start}8.html" ||
        fail "no start line in the HTML report" 
    grep -Eq "run $run: template of minkernel-snap ready in [0-9.]+ ms .*state file [0-9]+ KiB" \
        "$T_DIR/launcher.log" || fail "no template preparation in the launcher log"
    nothing_left "the $start storm"
    pass "start: $start: 8 minkernel clones ready; template, its files and QEMU gone"
}
storm snapshot
storm template

# --- a cold run reports start cold and no template
scenario cold2 cold 2
run_json cold2 || fail "cold run exited $?: $(cat "$T_DIR/cold2.err")"
python3 - "$T_DIR/cold2.json" <<'PY' || fail "cold report wrong: $(cat "$T_DIR/cold2.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 2 and r["start"] == "cold", r
assert r["per_host"][0]["prep_ms"] is None and r["per_host"][0]["state_kib"] is None, r["per_host"]
PY
nothing_left "the cold run"
pass "start: cold: reported as cold, no template"

# --- bootstorm compare: cold, snapshot and template side by side, with the start, the
# template's preparation, its state file and PSS per guest as rows of the one table
RUNS=()
for n in cold2 snapshot8 template8; do RUNS+=("$(run_of "$T_DIR/$n.json")"); done
"$BIN/bootstorm" --redis "$REDIS_URL" compare "${RUNS[@]}" >"$T_DIR/compare.out" ||
    fail "compare exited $?"
cat "$T_DIR/compare.out"
python3 - "$T_DIR/compare.out" "$T_DIR/snapshot8.json" "$T_DIR/template8.json" <<'PY' ||
import json, re, sys
out = open(sys.argv[1]).read()
snap, tpl = (json.load(open(p)) for p in sys.argv[2:4])
def row(label):
    m = re.search(r"^" + re.escape(label) + r" +(.*)$", out, re.M)
    assert m, (label, out)
    return re.split(r"  +", m.group(1).strip())
assert row("start")[:3] == ["cold", "snapshot", "template"], row("start")
prep, state = row("prep ms"), row("state KiB")
assert prep[0] == "-" and state[0] == "-", (prep, state)  # cold: no template
for cell, r in ((prep[1], snap), (prep[2], tpl)):
    assert abs(float(cell.split()[0]) - r["per_host"][0]["prep_ms"]) < 0.06, (cell, r["per_host"])
for cell, r in ((state[1], snap), (state[2], tpl)):
    assert int(cell.split()[0]) == r["per_host"][0]["state_kib"], (cell, r["per_host"])
assert len(row("boot p50 ms")) == 4 and len(row("PSS/guest MiB")) == 4, out
assert out.index("\nstart ") < out.index("\nboot p50 ms") < out.index("\nprep ms"), out
PY
    fail "compare: start, prep ms and state KiB rows wrong"
pass "compare: cold, snapshot and template side by side with start, prep ms, state KiB, PSS/guest"

# --- cold, snapshot and template side by side: N at once for N in $BS_SNAPSHOT_MK_COUNTS
row() { # START N
    local start=$1 n=$2
    scenario "m-$start" "$start" "$n"
    echo "hold_s: 3" >>"$T_DIR/m-$start.yaml" # PSS is sampled once no guest boots
    run_json "m-$start" || fail "$start x $n exited $?: $(cat "$T_DIR/m-$start.err")"
    python3 - "$T_DIR/m-$start.json" "$start" "$n" <<'PY' || fail "$start x $n"
import json, sys
r = json.load(open(sys.argv[1]))
start, n = sys.argv[2], int(sys.argv[3])
assert r["ready"] == n and r["failed"] == 0, r
b, h, s = r["boot_ms"], r["per_host"][0], r["pss_sample"] or {}
pss = f"{r['pss_per_guest_mib']:.2f} ({s.get('running')})" if s else "-"
prep = f"{h['prep_ms']:.0f}/{h['state_kib']}" if h["prep_ms"] else "-"
res = (r["phases_ms"] or {}).get("m:resumed")
print(f"  {start:<9} {n:>4} {r['accel']:>5} {b['p50']:10.1f} {b['max']:10.1f} {pss:>12} {prep:>9}"
      f" {res['p50'] if res else '-':>10}  {r['run']}")
PY
    nothing_left "$start x $n"
}
if [ -n "${BS_SNAPSHOT_MK_COUNTS:-}" ]; then
    echo "  minkernel-snap: ready ms (p50, max), the report's PSS MiB per guest (guests running"
    echo "  at the sample), template prep ms / state file KiB, template clones' resumed p50 ms"
    echo "  start        N accel        p50        max    PSS/guest  prep/KiB    resumed"
    for n in $BS_SNAPSHOT_MK_COUNTS; do
        for _ in $(seq "${BS_SNAPSHOT_REPEAT:-1}"); do
            row cold "$n"
            row snapshot "$n"
            row template "$n"
            "$BIN/bootstorm" --redis "$REDIS_URL" compare \
                $(for st in cold snapshot template; do run_of "$T_DIR/m-$st.json"; done) |
                grep -E '^(run|start|ready|boot p50|boot max|prep|state|PSS)' || fail "compare x $n"
        done
    done
    pass "cold, snapshot and template side by side"
fi

# --- with BS_SNAPSHOT_MK_RESTART=N: N guests, all stopped 0.5 s after they are ready and
# N new ones started at once; "whole again" is the report's restart recovery_ms
restart_row() { # START N
    local start=$1 n=$2
    scenario "r-$start" "$start" "$n"
    printf 'restart: {after_s: 0.5, fraction: 1.0}\n' >>"$T_DIR/r-$start.yaml"
    run_json "r-$start" || fail "restart $start x $n exited $?: $(cat "$T_DIR/r-$start.err")"
    python3 - "$T_DIR/r-$start.json" "$start" "$n" <<'PY' || fail "restart $start x $n"
import json, sys
r = json.load(open(sys.argv[1]))
start, n = sys.argv[2], int(sys.argv[3])
assert r["restart_count"] == n and r["ready"] == 2 * n and r["failed"] == 0, r
print(f"  {start:<9} {n:>4} whole again after {r['restart']['recovery_ms']:.1f} ms  {r['run']}")
PY
    nothing_left "restart $start x $n"
}
if [ -n "${BS_SNAPSHOT_MK_RESTART:-}" ]; then
    for _ in $(seq "${BS_SNAPSHOT_REPEAT:-1}"); do
        for start in cold snapshot template; do restart_row "$start" "$BS_SNAPSHOT_MK_RESTART"; done
    done
    pass "mass restart, cold vs snapshot vs template"
fi
