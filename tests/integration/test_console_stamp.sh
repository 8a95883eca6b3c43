#!/usr/bin/env bash
# A QEMU console's lines are stamped when they are written, not when the launcher gets
# to read them (common/stamped.c): a "qemu" profile whose program stops the launcher
# (its parent) with SIGSTOP, waits until every thread of it is stopped, writes its
# ready line, writes the realtime clock (ns) to a file and only then lets the launcher
# go on. The ready stamp must come before that moment: the launcher could not read the
# line until after it. The same program as a process guest (its stdout a pipe,
# stamped on read) must be stamped after it: the test tells the two apart by order, not
# by how long anything took, so it fails if QEMU's console went back to being stamped
# on read.
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/g"
for kind in qemu process; do
    cat >"$T_DIR/g/stopper-$kind.yaml" <<Y
name: stopper-$kind
kernel: minkernel.elf
$kind:
  argv: [sh, -c, 'kill -STOP \$PPID; while grep -h "^State:" /proc/\$PPID/task/*/status | grep -qv stopped; do :; done; echo "BOOTSTORM READY stopper"; date +%s%N >"\$0"; kill -CONT \$PPID; exec tail -f /dev/null', "$T_DIR/resumed-$kind"]
ready: 'BOOTSTORM READY stopper'
Y
done
start_stack cs --guests "$T_DIR/g"
wait_for 20 host_up cs ||
    fail "launcher never said hello"

# order KIND: "before" or "after": the guest's ready stamp against the moment the
# launcher was let go (both CLOCK_REALTIME, ns, on this host)
order() {
    printf 'name: %s\nguest: stopper-%s\nbackend: %s\ncount: 1\naccel: tcg\ntimeout_s: 20\n' "$1" "$1" "$1" \
        >"$T_DIR/$1.yaml"
    timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$1.yaml" --collector "$EP" --json \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err" || fail "$1: run exited $?: $(cat "$T_DIR/$1.err")"
    "$BIN/bootstorm" --redis "$REDIS_URL" export last --json >"$T_DIR/$1.export.json" ||
        fail "$1: export failed"
    python3 - "$T_DIR/$1.export.json" "$T_DIR/resumed-$1" <<'PY' || fail "$1: $(cat "$T_DIR/$1.export.json")"
import json, sys
rows = json.load(open(sys.argv[1]))
assert len(rows) == 1 and rows[0]["state"] == "ready", rows
ready = rows[0]["spawn_tr_ns"] + rows[0]["ready_ms"] * 1e6  # --json has no ready_tr_ns
resumed = int(open(sys.argv[2]).read())
print("before" if ready < resumed else "after", "%.3f ms" % ((resumed - ready) / 1e6))
PY
}

read -r stamped gap_q < <(order qemu)
[ "$stamped" = before ] ||
    fail "QEMU console: ready stamped $gap_q before the launcher resumed, i.e. after: stamped on read?"
read -r onread gap_p < <(order process)
[ "$onread" = after ] ||
    fail "process guest: ready stamped $gap_p before the launcher resumed: a pipe is read only after"
pass "ready line stamped when written: $gap_q before the launcher resumed on QEMU's console, $gap_p on a pipe"
