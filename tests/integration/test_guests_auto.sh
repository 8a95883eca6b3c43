#!/usr/bin/env bash
# accel auto's retry machinery, fast and on any host whose KVM boots the probe: a
# "qemu" profile whose program is a shell that, given accel kvm, dies the way QEMU dies
# in its KVM code (stderr naming kvm, status 134) and, given tcg, prints its ready line.
# Under auto every guest must end ready (respawned under TCG, counted once), the profile
# stays TCG for the launcher's life, a guest failing under TCG too says it was retried,
# and guests check retries at once. Where KVM does not boot the probe the guests start
# under TCG and the test says so (the retry part cannot run there).
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/g"
# $0 is the accelerator ({accel}); kernel: the probe's image, only to satisfy the schema
for n in fakekvm fakebad; do
    if [ $n = fakekvm ]; then tcg='echo "BOOTSTORM READY fake"; exec sleep 30'; else tcg='exit 3'; fi
    cat >"$T_DIR/g/$n.yaml" <<Y
name: $n
kernel: minkernel.elf
qemu:
  argv: [sh, -c, 'if [ "\$0" = kvm ]; then echo "qemu: kvm_run failed: Bad address" >&2; exit 134; fi; $tcg', "{accel}"]
ready: 'BOOTSTORM READY fake'
Y
done
start_stack fake --guests "$T_DIR/g"
wait_for 20 host_up fake ||
    fail "launcher never said hello"
LOG="$T_DIR/launcher.log"

run_json() { # NAME GUEST COUNT: the run's JSON report in $T_DIR/NAME.json (exit status kept)
    printf 'name: %s\nguest: %s\ncount: %s\naccel: auto\ntimeout_s: 20\n' "$1" "$2" "$3" >"$T_DIR/$1.yaml"
    timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$1.yaml" --collector "$EP" --json \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err"
}
json() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($2)" "$T_DIR/$1.json"; }

run_json first fakekvm 3 || fail "fakekvm under auto: $(cat "$T_DIR/first.json" "$T_DIR/first.err")"
[ "$(json first 'r["ready"], r["failed"], r["spawned"]')" = "3 0 3" ] ||
    fail "fakekvm: not 3 ready, 0 failed, 3 spawned: $(cat "$T_DIR/first.json")"
if grep -q "auto: KVM not usable" "$LOG"; then
    grep -q "respawned" "$LOG" && fail "respawned without KVM"
    echo "SKIP (part): KVM does not boot the probe here: guests ran under TCG from the start"
    pass "fakekvm under auto without KVM: 3 ready under TCG"
    exit 0
fi
grep -q "QEMU died in its KVM code (guest [0-9]): fakekvm falls back to TCG on this host" "$LOG" ||
    fail "no fallback in the log: $(grep fakekvm "$LOG")"
[ "$(grep -c 'respawned under TCG' "$LOG")" -eq 3 ] || fail "not 3 respawns: $(grep respawned "$LOG")"
grep -q "0 failed of 3 (3 retried under TCG" "$LOG" || fail "run end does not count the retries"
pass "fakekvm under auto: KVM failed it, 3 respawned under TCG, 3 ready, counted once"

# Per guest, the export says what it ran under and why (accel, accel_why).
"$BIN/bootstorm" --redis "$REDIS_URL" export "$(json first 'r["run"]')" --json >"$T_DIR/first.guests" ||
    fail "export of the first run"
python3 - "$T_DIR/first.guests" <<'PY' || fail "per-guest accel: $(cat "$T_DIR/first.guests")"
import json, sys
g = json.load(open(sys.argv[1]))
assert len(g) == 3, g
for x in g:
    assert x["accel"] == "tcg", x
    assert "KVM failed it" in x["accel_why"] and "retried under TCG" in x["accel_why"], x
PY
pass "export: each guest's accel (tcg) and why (KVM failed it, retried under TCG)"

run_json again fakekvm 2 || fail "second run: $(cat "$T_DIR/again.json")"
grep -q "2 x fakekvm on qemu/tcg (auto: fakekvm fell back to TCG here (QEMU died in its KVM code))" "$LOG" ||
    fail "fallback not remembered: $(grep 'x fakekvm' "$LOG")"
[ "$(grep -c 'respawned under TCG' "$LOG")" -eq 3 ] || fail "the second run respawned again"
python3 -c "
import json, subprocess, sys
g = json.loads(subprocess.check_output(['$BIN/bootstorm', '--redis', '$REDIS_URL', 'export',
    json.load(open('$T_DIR/again.json'))['run'], '--json']))
assert all(x['accel'] == 'tcg' and 'fell back to TCG here' in x['accel_why'] for x in g), g
" || fail "second run: per-guest accel_why"
pass "fakekvm: remembered, second run under TCG at once (each guest says why)"

run_json bad fakebad 1 && fail "fakebad ready?"
run=$(json bad 'r["run"]')
d=$(guest_field "$run" fake:0 detail)
case $d in *"retried under TCG after KVM failed it"*) ;; *) fail "fakebad detail: $d" ;; esac
pass "a guest failing under TCG too: failed, detail says it was retried ($d)"

timeout 30 "$BIN/bootstorm" guests check fakekvm --guests "$T_DIR/g" --accel auto >"$T_DIR/check.log" 2>&1 ||
    fail "guests check fakekvm: $(cat "$T_DIR/check.log")"
grep -q "KVM failed this guest (QEMU died in its KVM code): accel auto retries it under TCG" \
    "$T_DIR/check.log" || fail "check did not retry: $(cat "$T_DIR/check.log")"
grep -q "ready (console)" "$T_DIR/check.log" || fail "check not ready"
pass "guests check under auto retries under TCG at once"
