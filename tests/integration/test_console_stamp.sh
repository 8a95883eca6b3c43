#!/usr/bin/env bash
# A QEMU console's lines are stamped when they are written, not when the launcher gets
# to read them (common/stamped.c): a "qemu" profile whose program stops the launcher
# (its parent) with SIGSTOP, waits until every thread of it is stopped, writes its ready
# line and lets the launcher go on a second later. Its boot must stay far under that
# second. The same program as a process guest (its stdout a pipe, stamped on read) must
# show the second: the test tells the two apart, so it fails if QEMU's console went
# back to being stamped on read.
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/g"
stop_parent='kill -STOP $PPID; while grep -h "^State:" /proc/$PPID/task/*/status | grep -qv stopped; do :; done; echo "BOOTSTORM READY stopper"; sleep 1; kill -CONT $PPID; exec sleep 30'
cat >"$T_DIR/g/stopper.yaml" <<Y
name: stopper
kernel: minkernel.elf
qemu:
  argv: [sh, -c, '$stop_parent']
ready: 'BOOTSTORM READY stopper'
Y
cat >"$T_DIR/g/stopper-pipe.yaml" <<Y
name: stopper-pipe
process:
  argv: [sh, -c, '$stop_parent']
ready: 'BOOTSTORM READY stopper'
Y
start_stack cs --guests "$T_DIR/g"
wait_for 20 bash -c "[ \"\$(redis-cli -p $REDIS_PORT HGET bs:host:cs state)\" = up ]" ||
    fail "launcher never said hello"

boot_ms() { # NAME GUEST BACKEND: one guest's boot, ms
    printf 'name: %s\nguest: %s\nbackend: %s\ncount: 1\naccel: tcg\ntimeout_s: 20\n' "$1" "$2" "$3" \
        >"$T_DIR/$1.yaml"
    timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$1.yaml" --collector "$EP" --json \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err" || fail "$1: run exited $?: $(cat "$T_DIR/$1.err")"
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"] == 1, r; print(round(r["boot_ms"]["p50"]))' \
        "$T_DIR/$1.json" || fail "$1: not ready: $(cat "$T_DIR/$1.json")"
}

stamped=$(boot_ms stamped stopper qemu)
[ "$stamped" -lt 500 ] ||
    fail "QEMU console: boot $stamped ms, the launcher's 1 s stop is in it (stamped on read?)"
onread=$(boot_ms onread stopper-pipe process)
[ "$onread" -ge 900 ] ||
    fail "process guest: boot $onread ms: a pipe read 1 s late should show the stop"
pass "ready line stamped when written: $stamped ms on QEMU's console, $onread ms on a pipe read after a 1 s stop"
