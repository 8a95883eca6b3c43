#!/usr/bin/env bash
# start: snapshot (docs/SNAPSHOTS.md): the launcher boots one template guest, saves it
# over QMP and restores 4 clones from its state file. Every clone ready (on the
# heartbeat it prints once it runs, not on a boot it never makes), the template's files
# removed, no QEMU left; a run stopped while its template is being prepared leaves
# nothing either; a profile without restore_ready is refused. Cold and snapshot p50 are
# printed side by side. The Linux guest under TCG (KVM fails it on this host kind; TCG
# runs it everywhere), so it needs neither KVM nor its absence.
source "$BS_SOURCE/tests/integration/lib.sh"

img="$BS_BUILD/images"
if [ ! -s "$img/linux-vmlinux" ] || [ ! -s "$img/linux-initramfs.cpio.gz" ]; then
    skip "Linux guest images not built in $img (guests/linux/build.sh needs apt)"
fi
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"

# The launcher's temporary directory is ours: whatever a template leaves is seen there.
TPL_TMP="$T_DIR/launcher-tmp"
mkdir -p "$TPL_TMP"
TMPDIR="$TPL_TMP" start_stack snaphost --images "$img"

scenario() { # NAME START COUNT
    printf 'name: %s\nguest: linux-snap\naccel: tcg\ncount: %s\ntimeout_s: 120\nstart: %s\n' \
        "$1" "$3" "$2" >"$T_DIR/$1.yaml"
}
run_json() { # NAME: runs it, the report in $T_DIR/NAME.json; returns the CLI's status
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$1.yaml" --collector "$EP" --json \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err"
}
tmp_empty() { [ -z "$(ls -A "$TPL_TMP")" ]; }

# --- 4 clones of one template
scenario snap4 snapshot 4
run_json snap4 || fail "snapshot run exited $?: $(cat "$T_DIR/snap4.err")"
python3 - "$T_DIR/snap4.json" <<'PY' || fail "snapshot report wrong: $(cat "$T_DIR/snap4.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["count"] == 4 and r["ready"] == 4 and r["failed"] == 0, r
assert 0 < r["boot_ms"]["p50"] < 120000, r["boot_ms"]
# restored, not booted: the boot's markers never show in a clone
assert not any(k.startswith("m:") for k in (r.get("phases_ms") or {})), r.get("phases_ms")
PY
grep -Eq "template of linux-snap ready in [0-9.]+ ms .*state file [1-9][0-9]* KiB" \
    "$T_DIR/launcher.log" || fail "no template preparation in the launcher log"
wait_for 10 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the snapshot run"
pgrep -f "bs-$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' \
    "$T_DIR/snap4.json")-template" >/dev/null && fail "the template QEMU is still running"
tmp_empty || fail "template files left: $(ls -AR "$TPL_TMP")"
pass "4 clones restored and ready; template removed; no qemu left"

# --- the same 4 booted cold, side by side
scenario cold4 cold 4
run_json cold4 || fail "cold run exited $?: $(cat "$T_DIR/cold4.err")"
python3 - "$T_DIR/cold4.json" "$T_DIR/snap4.json" "$T_DIR/launcher.log" <<'PY' ||
import json, re, sys
c, s = (json.load(open(p)) for p in sys.argv[1:3])
assert c["ready"] == 4 and "m:init" in c["phases_ms"], c
prep = re.findall(r"template of linux-snap ready in ([0-9.]+) ms", open(sys.argv[3]).read())[0]
print("  4 x linux-snap (TCG)   ready p50    max        mem/guest")
for name, r in (("cold", c), ("snapshot", s)):
    b = r["boot_ms"]
    print(f"  {name:<22} {b['p50']:8.1f} ms {b['max']:8.1f} ms {r['mem_per_guest_mib'] or 0:6.1f} MiB")
print(f"  template prepared in {float(prep):.1f} ms (not in the snapshot row)")
PY
    fail "cold run report wrong: $(cat "$T_DIR/cold4.json")"
wait_for 10 qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after the cold run"
pass "cold and snapshot side by side"

# --- a profile without restore_ready is refused, with the reason
printf 'name: msnap\nguest: minkernel\ncount: 2\nstart: snapshot\n' >"$T_DIR/msnap.yaml"
if "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/msnap.yaml" --collector "$EP" \
    >"$T_DIR/msnap.out" 2>&1; then
    fail "start: snapshot of minkernel (no restore_ready) was accepted"
fi
grep -q "start: snapshot needs restore_ready" "$T_DIR/msnap.out" ||
    fail "refusal without its reason: $(cat "$T_DIR/msnap.out")"
pass "a profile without restore_ready is refused"

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
