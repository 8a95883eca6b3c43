#!/usr/bin/env bash
# start: snapshot with `snapshot_file: PATH` (docs/SNAPSHOTS.md, "A state file from a
# path"): a minkernel-snap state saved by hand with QEMU and QMP (boot to ready, stop,
# migrate to exec:cat > FILE: the steps the launcher's template takes), then a storm of
# 4 that restores it: all ready on the heartbeat, no template prepared (nothing made in
# the launcher's temporary directory), the file still there afterwards. Refused with a
# clear reason: a missing file, a file that is not a QEMU migration stream (the run's
# error), a relative path and snapshot_file with start: template (the scenario parser).
# Skipped without minkernel or QEMU, or when the launcher ignores snapshot_file (the
# launcher/run.c part is not in this tree).
source "$BS_SOURCE/tests/integration/lib.sh"
source "$BS_SOURCE/tests/integration/snapshot_lib.sh"

img="$BS_BUILD/images"
[ -s "$img/minkernel.elf" ] || skip "minkernel.elf not built in $img"
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 is not installed"
ACCEL=tcg
[ -w /dev/kvm ] && ACCEL=kvm

# --- the scenario parser refuses what no launcher could use
bad() { # NAME EXPECTED-MESSAGE YAML-LINES
    printf 'name: %s\nguest: minkernel-snap\ncount: 1\n%s\n' "$1" "$3" >"$T_DIR/$1.yaml"
    if "$BIN/bootstorm" --redis redis://127.0.0.1:1 run "$T_DIR/$1.yaml" --collector tcp://127.0.0.1:1 \
        >"$T_DIR/$1.out" 2>&1; then
        fail "$1: accepted"
    fi
    grep -qF "$2" "$T_DIR/$1.out" || fail "$1: unclear refusal: $(cat "$T_DIR/$1.out")"
}
bad relative "key 'snapshot_file': expected an absolute path" $'start: snapshot\nsnapshot_file: state.bin'
bad withtemplate "key 'snapshot_file': goes with start: snapshot" $'start: template\nsnapshot_file: /tmp/x'
pass "scenario: a relative snapshot_file and one with start: template refused"

# --- a state saved by hand: the profile's argv (guests/minkernel-snap.yaml), QMP
STATE="$T_DIR/shared/minkernel-snap.state"
mkdir -p "$T_DIR/shared"
# the profile's machine (a state restores only into the same devices)
machine=$(sed -nE 's/.*qemu-system-x86_64, -M, ("([^"]*)"|([^,]*)),.*/\2\3/p' "$BS_SOURCE/guests/minkernel-snap.yaml")
[ -n "$machine" ] || fail "no -M in guests/minkernel-snap.yaml"
python3 - "$img/minkernel.elf" "$ACCEL" "$STATE" "$T_DIR/save-qmp.sock" "$machine" <<'PY' || fail "saving a state by hand failed"
import json, os, socket, subprocess, sys, time
kernel, accel, state, sock, machine = sys.argv[1:6]
q = subprocess.Popen(["qemu-system-x86_64", "-M", machine, "-accel", accel, "-m", "2", "-smp", "1",
                      "-name", "saved", "-nodefaults", "-no-user-config", "-display", "none",
                      "-serial", "stdio", "-kernel", kernel, "-append", "bs.beat",
                      "-qmp", f"unix:{sock},server=on,wait=off",
                      "-global", "migration.store-global-state=off"],
                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
try:
    seen, end = b"", time.time() + 30
    while b"BOOTSTORM READY minkernel" not in seen and time.time() < end:
        seen += os.read(q.stdout.fileno(), 4096)
    assert b"BOOTSTORM READY minkernel" in seen, seen[-200:]
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rw")
    def call(cmd, **args):
        f.write(json.dumps({"execute": cmd, "arguments": args}) + "\n"); f.flush()
        while True:
            r = json.loads(f.readline())
            if "return" in r or "error" in r:
                assert "error" not in r, r
                return r["return"]
    json.loads(f.readline())  # greeting
    call("qmp_capabilities")
    call("stop")
    call("migrate", uri=f"exec:cat > '{state}'")
    while call("query-migrate").get("status") not in ("completed", "failed"):
        time.sleep(0.01)
    assert call("query-migrate")["status"] == "completed"
finally:
    q.kill()
PY
[ -s "$STATE" ] || fail "no state file saved"
printf 'not a migration stream\n' >"$T_DIR/shared/text.state"

snap_stack mkhost "$img"
scenario() { # NAME FILE COUNT
    printf 'name: %s\nguest: minkernel-snap\naccel: %s\ncount: %s\nstart: snapshot\nsnapshot_file: %s\n' \
        "$1" "$ACCEL" "$3" "$2" >"$T_DIR/$1.yaml"
}

# --- a missing file: the run fails, its error names the file and why
scenario missing /nonexistent/minkernel.state 2
if run_json missing; then
    grep -q "template of minkernel-snap ready" "$T_DIR/launcher.log" &&
        skip "the launcher ignores snapshot_file (launcher/run.c: docs/SNAPSHOTS.md)"
    fail "a missing snapshot_file: the run succeeded"
fi
grep -rqF "snapshot_file /nonexistent/minkernel.state: No such file or directory" \
    "$T_DIR/missing.json" "$T_DIR/missing.err" ||
    fail "missing file: unclear error: $(cat "$T_DIR/missing.err" "$T_DIR/missing.json")"
pass "a missing snapshot_file: the run fails, naming the file"

scenario text "$T_DIR/shared/text.state" 2
run_json text && fail "a text file as snapshot_file: the run succeeded"
grep -rqF "snapshot_file $T_DIR/shared/text.state: not a QEMU migration stream" \
    "$T_DIR/text.json" "$T_DIR/text.err" ||
    fail "text file: unclear error: $(cat "$T_DIR/text.err" "$T_DIR/text.json")"
pass "a file that is not a QEMU migration stream: the run fails, saying so"

# --- the storm restores the file saved by hand
scenario fromfile "$STATE" 4
run_json fromfile || fail "run from $STATE exited $?: $(cat "$T_DIR/fromfile.err")"
python3 - "$T_DIR/fromfile.json" <<'PY' || fail "report wrong: $(cat "$T_DIR/fromfile.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["ready"], r["failed"], r["start"]) == (4, 0, "snapshot"), r
assert not any(k.startswith("m:") for k in (r.get("phases_ms") or {})), r["phases_ms"]
h = r["per_host"][0]
assert h["state_kib"] > 0 and h["prep_ms"] is not None and h["prep_ms"] < 1000, h
print(f"  4 clones of the saved state: ready p50 {r['boot_ms']['p50']:.1f} ms, "
      f"state {h['state_kib']} KiB, checked in {h['prep_ms']:.2f} ms")
PY
grep -qF "clones of minkernel-snap restore $STATE" "$T_DIR/launcher.log" ||
    fail "launcher log: no restore from $STATE"
grep -q "template of minkernel-snap ready" "$T_DIR/launcher.log" &&
    fail "a template was prepared although snapshot_file was given"
nothing_left "the storm from $STATE"
[ -s "$STATE" ] || fail "the launcher removed the shared state file"
pass "start: snapshot from $STATE: 4/4 ready, no template, the file kept, nothing left"
