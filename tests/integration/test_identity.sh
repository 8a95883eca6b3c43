#!/usr/bin/env bash
# Who may speak as a launcher. Reproduction (issue "Trust"): a peer that connected with
# a live launcher's routing id (ZMQ_ROUTING_ID "h1") took its route over; the real
# launcher was cut off for good and runs failed with "no live launcher". Now routing
# ids are the collector's own, a host live on one connection cannot be spoken for from
# another, and with CURVE an allow-list binds each key to one id (collector/zap.c).
source "$BS_SOURCE/tests/integration/lib.sh"
IMPOSTOR="$BS_BUILD/tests/impostor"

# run_sim NAME: 4 sim guests on the stack's launcher; all must be ready.
run_sim() {
    local name=$1
    shift
    printf 'name: %s\nguest: sim\nbackend: process\ncount: 4\ntimeout_s: 30\n' "$name" >"$T_DIR/$name.yaml"
    timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" \
        --collector "$EP" --json "$@" >"$T_DIR/run.json" 2>"$T_DIR/run.err"
}
host_up() { [ "$(rcli HGET "bs:host:$1" state)" = up ]; }

# --- 1. plain (loopback): the takeover reproduced, refused
start_stack h1
wait_for 15 host_up h1 || fail "launcher h1 never said hello"
"$IMPOSTOR" "$EP" h1 h1 1.5 >"$T_DIR/imp1.out" || fail "impostor failed to run"
grep -q "impostor acks=0 replies=0" "$T_DIR/imp1.out" || fail "the impostor was answered: $(cat "$T_DIR/imp1.out")"
wait_for 10 grep -q "as 'h1' refused: that host is live on another connection" "$T_DIR/collector.log" ||
    fail "no refusal logged: $(tail -5 "$T_DIR/collector.log")"
run_sim after-impostor || fail "run after the impostor failed: $(cat "$T_DIR/run.json" "$T_DIR/run.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==4, r' "$T_DIR/run.json" ||
    fail "not 4 ready after the impostor: $(cat "$T_DIR/run.json")"
host_up h1 || fail "h1 is $(rcli HGET bs:host:h1 state) after the impostor"
pass "an impostor with h1's routing id got nothing; h1 kept its route and ran 4/4"
kill -TERM "$LAUNCHER_PID"
wait "$LAUNCHER_PID" 2>/dev/null || true

# --- 2. CURVE with an allow-list: each key speaks only as its own id
for k in srv l1 l2 cli; do "$BIN/bootstorm" keys gen "$T_DIR/$k" >/dev/null; done
pub() { awk '/^public/ {print $3}' "$T_DIR/$1/client.key"; }
printf '# test allow-list\n%s h1\n%s h2\n%s cli\n' "$(pub l1)" "$(pub l2)" "$(pub cli)" >"$T_DIR/allow"
EP="tcp://127.0.0.1:$(free_port)"
rm -f "$T_DIR/collector.ready"
start_bg collector2 "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" \
    --curve-secret "$T_DIR/srv/server.key" --curve-allow "$T_DIR/allow" --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "CURVE collector not ready"
SPUB="$T_DIR/srv/server.pub"
start_bg launcher2 "$BIN/bootstorm-launcher" --connect "$EP" --host h1 \
    --curve-server-key "$SPUB" --curve-keys "$T_DIR/l1/client.key"
rcli HSET bs:host:h1 state gone >/dev/null # so its state says whether it was heard again
wait_for 15 host_up h1 || fail "listed launcher h1 not admitted: $(tail -5 "$T_DIR/collector2.log")"
"$IMPOSTOR" "$EP" h1 h1 1 "$SPUB" "$T_DIR/l2/client.key" >"$T_DIR/imp2.out"
grep -q "acks=0" "$T_DIR/imp2.out" || fail "h2's key speaking as h1 was acked: $(cat "$T_DIR/imp2.out")"
wait_for 10 grep -q "as 'h1' refused: its key is not listed for that" "$T_DIR/collector2.log" ||
    fail "h2's key as h1 not refused: $(tail -5 "$T_DIR/collector2.log")"
"$BIN/bootstorm" keys gen "$T_DIR/stranger" >/dev/null
"$IMPOSTOR" "$EP" h1 h1 1 "$SPUB" "$T_DIR/stranger/client.key" >"$T_DIR/imp3.out"
grep -q "acks=0" "$T_DIR/imp3.out" || fail "an unlisted key was acked"
wait_for 10 grep -q "refused a CURVE connection from 127.0.0.1 with key .*: public key not in the allow-list" \
    "$T_DIR/collector2.log" || fail "unlisted key not refused at the handshake: $(tail -5 "$T_DIR/collector2.log")"
run_sim curve-ok --curve-server-key "$SPUB" --curve-keys "$T_DIR/cli/client.key" ||
    fail "run with the listed CLI key failed: $(cat "$T_DIR/run.json" "$T_DIR/run.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==4, r' "$T_DIR/run.json" ||
    fail "not 4 ready over CURVE: $(cat "$T_DIR/run.json")"
set +e
run_sim curve-hostkey --curve-server-key "$SPUB" --curve-keys "$T_DIR/l2/client.key"
rc=$?
set -e
[ "$rc" -ne 0 ] || fail "a launcher's key started a run as the CLI"
pass "CURVE allow-list: h2's key as h1 refused, an unlisted key refused at the handshake, the listed CLI key runs 4/4, a launcher key may not start runs"
