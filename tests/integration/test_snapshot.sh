#!/usr/bin/env bash
# start: snapshot and template (docs/SNAPSHOTS.md): the launcher boots one template
# guest, saves it over QMP and restores 4 clones from it (template: its RAM in a
# /dev/shm file, x-ignore-shared). Every clone ready (on the heartbeat it prints once it
# runs, not on a boot it never makes), the template's files removed (the /dev/shm RAM
# file too), no QEMU left; a mass restart restores too; two launchers make a template
# each; a run stopped while its template is being prepared leaves nothing; a profile
# without restore_ready is refused. Cold, snapshot and template are printed side by
# side. The Linux guest under TCG (KVM fails it on this host kind; TCG runs it
# everywhere), so it needs neither KVM nor its absence.
source "$BS_SOURCE/tests/integration/lib.sh"
source "$BS_SOURCE/tests/integration/snapshot_lib.sh"

img="$BS_BUILD/images"
if [ ! -s "$img/linux-vmlinux" ] || [ ! -s "$img/linux-initramfs.cpio.gz" ]; then
    skip "Linux guest images not built in $img (guests/linux/build.sh needs apt)"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"

snap_stack snaphost "$img"

scenario() { # NAME START COUNT
    printf 'name: %s\nguest: linux-snap\naccel: tcg\ncount: %s\ntimeout_s: 120\nstart: %s\n' \
        "$1" "$3" "$2" >"$T_DIR/$1.yaml"
}

# --- 4 clones of one template: restored from its state file (snapshot), or with its RAM
# in a /dev/shm file they map privately (template)
clones() { # START
    local start=$1 run
    scenario "${start}4" "$start" 4
    run_json "${start}4" || fail "$start run exited $?: $(cat "$T_DIR/${start}4.err")"
    python3 - "$T_DIR/${start}4.json" "$start" <<'PY' || fail "$start report wrong: $(cat "$T_DIR/${start}4.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["count"] == 4 and r["ready"] == 4 and r["failed"] == 0, r
assert 0 < r["boot_ms"]["p50"] < 120000, r["boot_ms"]
# restored, not booted: the boot's markers never show in a clone; template clones have
# `resumed` (QMP RESUME, restore.c), snapshot clones no QMP
ph = r.get("phases_ms") or {}
assert not any(k.startswith("m:") and k != "m:resumed" for k in ph), ph
assert ("m:resumed" in ph) == (sys.argv[2] == "template"), ph
assert "m:resumed" not in ph or 0 < ph["m:resumed"]["p50"] <= r["boot_ms"]["p50"], (ph, r["boot_ms"])
# the report shows the start and the host's template (the Function's meta)
h = r["per_host"][0]
assert r["start"] == sys.argv[2] and 0 < h["prep_ms"] < 120000 and h["state_kib"] > 0, (r["start"], h)
PY
    run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' \
        "$T_DIR/${start}4.json")
    grep -Eq "run $run: template of linux-snap ready in [0-9.]+ ms .*state file [0-9]+ KiB" \
        "$T_DIR/launcher.log" || fail "no template preparation in the launcher log"
    # start on run_start, preparing time and state file size on run_end, in the run's raw
    # event list (bs:{RUN}:ev): what a report can read
    local got
    got=$(rcli EVAL "local o = {} for _, m in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
        local f = cmsgpack.unpack(m)
        if f.type == 'run_start' then o[#o + 1] = 'start=' .. tostring(f.start) end
        if f.type == 'run_end' then o[#o + 1] = 'prep_ns=' .. tostring(f.prep_ns) ..
            ' state_kib=' .. tostring(f.state_kib) end
        end return o" 1 "bs:{$run}:ev" | tr '\n' ' ')
    [[ "$got" =~ ^start=$start\ prep_ns=[1-9][0-9]+\ state_kib=[1-9][0-9]* ]] ||
        fail "run_start / run_end in bs:{$run}:ev lack start / prep_ns / state_kib: $got"
    nothing_left "the $start run" 10
    pgrep -f "bs-$run-template" >/dev/null && fail "the template QEMU is still running"
    pass "start: $start: 4 clones ready; template, its files and QEMU gone"
}
clones snapshot
clones template
kib() { grep -o "run $1-.*state file [0-9]* KiB" "$T_DIR/launcher.log" | grep -o '[0-9]* KiB$'; }
echo "  state file: snapshot $(kib "[0-9-]*snapshot4"), template $(kib "[0-9-]*template4")"

# --- a mass restart restores too: 2 clones, all stopped after they are ready, 2 more
scenario restart template 2
printf 'restart: {after_s: 0.5, fraction: 1.0}\n' >>"$T_DIR/restart.yaml"
run_json restart || fail "restart run exited $?: $(cat "$T_DIR/restart.err")"
python3 - "$T_DIR/restart.json" template <<'PY' || fail "restart report wrong: $(cat "$T_DIR/restart.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["restart_count"] == 2 and r["spawned"] == 4 and r["ready"] == 4 and r["failed"] == 0, r
# restored, not booted: the boot's markers never show in a clone; template clones have
# `resumed` (QMP RESUME, restore.c), snapshot clones no QMP
ph = r.get("phases_ms") or {}
assert not any(k.startswith("m:") and k != "m:resumed" for k in ph), ph
assert ("m:resumed" in ph) == (sys.argv[2] == "template"), ph
assert "m:resumed" not in ph or 0 < ph["m:resumed"]["p50"] <= r["boot_ms"]["p50"], (ph, r["boot_ms"])
PY
nothing_left "the restart run" 10
pass "mass restart: the 2 new instances restored from the template too"

# --- cold and snapshot side by side: N at once for N in $BS_SNAPSHOT_COUNTS (default 4),
# $BS_SNAPSHOT_REPEAT times each (default 1); docs/SNAPSHOTS.md's numbers come from here.
row() { # START N: one run; prints ready p50 / max, PSS per guest with all N up, prep time
    local start=$1 n=$2 run pss prep
    scenario "m-$start" "$start" "$n"
    echo "hold_s: 3" >>"$T_DIR/m-$start.yaml" # PSS is sampled every 10th sample (1 s)
    run_json "m-$start" || fail "$start x $n exited $?: $(cat "$T_DIR/m-$start.err")"
    run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' \
        "$T_DIR/m-$start.json")
    pss=$(rcli XRANGE "bs:{$run}:mem:snaphost" - + | awk -v n="$n" '
        $0 == "running" { getline; r = $0 } $0 == "pss_kib" { getline; if (r == n && $0 > m) m = $0 }
        END { print m + 0 }')
    prep=$(grep -o "run $run: template of linux-snap ready in [0-9.]*" "$T_DIR/launcher.log" |
        grep -o '[0-9.]*$' || true)
    python3 - "$T_DIR/m-$start.json" "$start" "$n" "$pss" "${prep:--}" <<'PY' || fail "$start x $n"
import json, sys
r = json.load(open(sys.argv[1]))
start, n, pss, prep = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
assert r["ready"] == n and r["failed"] == 0, r
assert ("m:init" in r["phases_ms"]) == (start == "cold"), r["phases_ms"]  # booted or restored
b = r["boot_ms"]
print(f"  {start:<9} {n:>4} {b['p50']:10.1f} {b['max']:10.1f} {pss / 1024 / n:10.1f} {prep:>10}")
PY
    wait_for 20 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after $start x $n"
}
echo "  linux-snap, TCG: ready ms (p50, max), PSS MiB per guest with all up, template prep ms"
echo "  start        N        p50        max  PSS/guest       prep"
for n in ${BS_SNAPSHOT_COUNTS-4}; do # set but empty: none
    for _ in $(seq "${BS_SNAPSHOT_REPEAT:-1}"); do
        row cold "$n"
        row snapshot "$n"
        row template "$n"
        # the same three in bootstorm compare's one table (start, prep, state, PSS rows)
        "$BIN/bootstorm" --redis "$REDIS_URL" compare $(for st in cold snapshot template; do
            python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' \
                "$T_DIR/m-$st.json"; done) |
            grep -E '^(run|start|ready|boot p50|boot max|prep|state|PSS)' || fail "compare x $n"
    done
done
tmp_empty || fail "template files left: $(ls -AR "$TPL_TMP")"
[ "$(shm_files)" = "$SHM_BEFORE" ] || fail "template RAM file left in /dev/shm: $(shm_files)"
pass "cold, snapshot and template side by side"

# --- with BS_SNAPSHOT_RESTART=N: N guests, all stopped 0.5 s after they are ready and N
# new ones started at once (restart: fraction 1.0); "whole again" = the slowest of the
# new ones, from the restart (they are spawned then). docs/SNAPSHOTS.md's restart rows.
restart_row() { # START N
    local start=$1 n=$2 run
    scenario "r-$start" "$start" "$n"
    printf 'restart: {after_s: 0.5, fraction: 1.0}\n' >>"$T_DIR/r-$start.yaml"
    run_json "r-$start" || fail "restart $start x $n exited $?: $(cat "$T_DIR/r-$start.err")"
    run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' \
        "$T_DIR/r-$start.json")
    rcli ZRANGE "bs:{$run}:boot" 0 -1 WITHSCORES | paste - - | awk -v n="$n" -v s="$start" '
        { split($1, a, ":"); if (a[2] + 0 >= n) { k++; if ($2 > m) m = $2 } else { f++ } }
        END { if (k != n || f != n) exit 1
              printf "  %-9s %4d  first boot ready, then restarted: whole again after %.1f ms\n", s, n, m }' ||
        fail "restart $start x $n: not $n + $n ready"
    wait_for 20 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after restart $start x $n"
}
if [ -n "${BS_SNAPSHOT_RESTART:-}" ]; then
    for _ in $(seq "${BS_SNAPSHOT_REPEAT:-1}"); do
        for start in cold snapshot template; do restart_row "$start" "$BS_SNAPSHOT_RESTART"; done
    done
    pass "mass restart, cold vs snapshot vs template"
fi

# --- a profile without restore_ready is refused, with the reason
printf 'name: msnap\nguest: minkernel\ncount: 2\nstart: snapshot\n' >"$T_DIR/msnap.yaml"
if "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/msnap.yaml" --collector "$EP" \
    >"$T_DIR/msnap.out" 2>&1; then
    fail "start: snapshot of minkernel (no restore_ready) was accepted"
fi
grep -q "start: snapshot needs restore_ready" "$T_DIR/msnap.out" ||
    fail "refusal without its reason: $(cat "$T_DIR/msnap.out")"
pass "a profile without restore_ready is refused"

# --- two hosts: each launcher prepares its own template and restores its own clones
start_bg launcher2 env TMPDIR="$TPL_TMP" "$BIN/bootstorm-launcher" --connect "$EP" \
    --host snaphost2 --images "$img"
LAUNCHER2_PID=$LAST_PID
wait_for 20 host_up snaphost2 ||
    fail "launcher2 not known to the collector: $(cat "$T_DIR/launcher2.log")"
scenario two snapshot 2
run_json two || fail "two-host run exited $?: $(cat "$T_DIR/two.err")"
python3 - "$T_DIR/two.json" <<'PY' || fail "two-host report wrong: $(cat "$T_DIR/two.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["ready"] == 4 and r["failed"] == 0 and sorted(r["hosts"]) == ["snaphost", "snaphost2"], r
PY
RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/two.json")
for l in launcher launcher2; do
    grep -q "run $RUN: template of linux-snap ready" "$T_DIR/$l.log" || fail "$l made no template"
done
kill -TERM "$LAUNCHER2_PID"
wait_for 20 bash -c "! kill -0 $LAUNCHER2_PID 2>/dev/null" || fail "launcher2 did not exit"
wait_for 10 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the two-host run"
tmp_empty || fail "template files left: $(ls -AR "$TPL_TMP")"
pass "two hosts: a template each, 2 clones each ready, nothing left"

# --- the launcher stopped (SIGTERM) while the template boots: nothing left
scenario snapterm snapshot 2
"$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/snapterm.yaml" --collector "$EP" \
    >"$T_DIR/snapterm.out" 2>&1 &
CLI_PID=$!
T_PIDS+=("$CLI_PID")
wait_for 60 qemu_count_is "$LAUNCHER_PID" 1 || fail "the template QEMU did not start"
[ -n "$(ls -A "$TPL_TMP")" ] || fail "no template directory while preparing"
kill -TERM "$LAUNCHER_PID"
wait_for 20 bash -c "! kill -0 $LAUNCHER_PID 2>/dev/null" || fail "launcher did not exit on SIGTERM"
wait_for 10 tmp_empty || fail "template files left after SIGTERM: $(ls -AR "$TPL_TMP")"
pgrep -f "bs-.*-snapterm-.*-template" >/dev/null && fail "the template QEMU outlived the launcher"
wait "$CLI_PID" 2>/dev/null || true
pass "launcher stopped while preparing: template and its files gone"
