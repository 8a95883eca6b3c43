#!/usr/bin/env bash
# Many hosts on network-namespace hosts (tests/netns/mkhosts.sh): Redis and the
# collector (bound to its veth address, CURVE keys) in one namespace, a launcher in
# each of 3 others, the CLI beside the collector.
#  (a) no keys: the collector refuses to bind the veth address;
#  (b) a mass restart (8 minkernels per host, restart fraction 1.0) on a pool of the 3
#      hosts: fleet-wide counts exact (3 x (8+8) spawned and ready, 0 failed), a
#      coordinated start (first spawns close together on the corrected timeline),
#      fleet-wide and per-host rows in the report;
#  (c) one host's link cut mid-run until it resends unacked events: no event lost, counts exact;
#  (d) a host frozen mid-run (SIGSTOP): given up on after 6 s of silence ("launcher
#      lost"), the CLI's wait ends, the report names it and fails its guests.
# Skipped (ctest skip code) only when network namespaces cannot be made here.
source "$BS_SOURCE/tests/integration/lib.sh"

netns_hosts 4

# ---- Redis and collector in h0
RPORT=6379 CPORT=5555
start_bg redis ip netns exec "$BSNET_NS_0" redis-server --port "$RPORT" --bind "$BSNET_IP_0" 127.0.0.1 --protected-mode no \
    --dir "$T_DIR" --save "" --appendonly no
REDIS_URL="redis://$BSNET_IP_0:$RPORT"
rcli() { inns "$BSNET_NS_0" redis-cli -h 127.0.0.1 -p "$RPORT" "$@"; }
wait_for 10 rcli ping || fail "redis did not start"
"$BIN/bootstorm" keys gen "$T_DIR/keys" >/dev/null || fail "keys gen"
EP="tcp://$BSNET_IP_0:$CPORT"

# (a) without keys a non-loopback bind is refused, naming the address
if out=$(inns "$BSNET_NS_0" "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" 2>&1); then
    fail "(a) the collector bound $EP without CURVE keys"
fi
grep -q "refusing to bind $EP without CURVE" <<<"$out" || fail "(a) unclear refusal: $out"
pass "(a) no keys: binding $EP refused"

start_bg collector ip netns exec "$BSNET_NS_0" "$BIN/bootstorm-collector" --bind "$EP" \
    --redis "$REDIS_URL" --curve-secret "$T_DIR/keys/server.key" --ready-file "$T_DIR/collector.ready" \
    --stats-interval 0
COLL_PID=$LAST_PID
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
declare -A LPID
for i in 1 2 3; do
    ns_var="BSNET_NS_$i"
    start_bg "launcher$i" ip netns exec "${!ns_var}" "$BIN/bootstorm-launcher" --connect "$EP" \
        --host "mh$i" --guests "$BS_BUILD/guests" --images "$BS_BUILD/images" \
        --spool "$T_DIR/spool$i" --curve-server-key "$T_DIR/keys/server.pub" \
        --curve-keys "$T_DIR/keys/client.key"
    LPID[$i]=$LAST_PID
done
hosts_up() { [ "$(rcli --raw eval "local n=0 for _,h in ipairs({'mh1','mh2','mh3'}) do if redis.call('hget','bs:host:'..h,'state')=='up' and redis.call('hexists','bs:host:'..h,'offset_ns')==1 then n=n+1 end end return n" 0)" = 3 ]; }
wait_for 30 hosts_up || fail "3 launchers did not come up over CURVE (with a clock sample)"
CLI=(ip netns exec "$BSNET_NS_0" "$BIN/bootstorm" --redis "$REDIS_URL")
"${CLI[@]}" pool add fleet mh1 mh2 mh3 || fail "pool add"
"${CLI[@]}" hosts >"$T_DIR/hosts.txt"
[ "$(grep -cE '^mh[123] +up +[0-9]+ .*fleet' "$T_DIR/hosts.txt")" = 3 ] || fail "bootstorm hosts: $(cat "$T_DIR/hosts.txt")"
RUN=("${CLI[@]}" run --collector "$EP" --curve-server-key "$T_DIR/keys/server.pub" --json)

jq_() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($2)" "$1"; }

# ---- (b) mass restart on the pool
cat >"$T_DIR/b.yaml" <<'YAML'
name: mh-restart
guest: minkernel
count: 8
restart: {after_s: 1, fraction: 1.0}
hold_s: 1
timeout_s: 60
YAML
"${RUN[@]}" "$T_DIR/b.yaml" --hosts pool:fleet >"$T_DIR/b.json" 2>"$T_DIR/b.err" ||
    fail "(b) run failed: $(cat "$T_DIR/b.err")"
got=$(jq_ "$T_DIR/b.json" "d['spawned'], d['ready'], d['failed'], d['hosts_done'], len(d['per_host']), sorted(h['ready'] for h in d['per_host'])")
[ "$got" = "48 48 0 3 3 [16, 16, 16]" ] || fail "(b) spawned ready failed done hosts per-host: $got"
fleet=$(jq_ "$T_DIR/b.json" "d['fleet']['ready_ms'] is not None and d['fleet']['err_ms'] is not None and d['fleet']['ready_ms'] + d['fleet']['err_ms'] + 1 >= max(h['all_ready_ms'] for h in d['per_host']) and d['fleet']['start_spread_ms'] < 250 and d['slowest_host'] in ('mh1','mh2','mh3') and min(h['first_spawn_ms'] for h in d['per_host']) > -5")
[ "$fleet" = True ] || fail "(b) fleet aggregates: $(jq_ "$T_DIR/b.json" "d['fleet'], [(h['host'], h['first_spawn_ms'], h['all_ready_ms']) for h in d['per_host']]")"
pass "(b) mass restart on 3 hosts: 48/48 ready, 0 failed; $(jq_ "$T_DIR/b.json" "'fleet ready %.1f ms +- %.3f, first spawns %.1f ms apart' % (d['fleet']['ready_ms'], d['fleet']['err_ms'], d['fleet']['start_spread_ms'])")"

# ---- (c) one host's link cut mid-run, until it resends what was not acked
cat >"$T_DIR/c.yaml" <<'YAML'
name: mh-linkcut
guest: minkernel
count: 8
restart: {after_s: 2, fraction: 1.0}
hold_s: 3
timeout_s: 60
YAML
PREV_RUN=$(rcli ZREVRANGE bs:runs 0 0)
start_bg cli-c "${RUN[@]}" "$T_DIR/c.yaml" --hosts all
CLI_C=$LAST_PID
# wait for (c)'s own run first: the newest run is the previous one until it is stored
wait_for 30 bash -c "[ \"\$(ip netns exec $BSNET_NS_0 redis-cli -p $RPORT zrevrange bs:runs 0 0)\" != '$PREV_RUN' ]" ||
    fail "(c) run never created"
wait_for 30 bash -c "[ \"\$(ip netns exec $BSNET_NS_0 redis-cli -p $RPORT --raw eval \"local r=redis.call('zrevrange','bs:runs',0,0)[1] if not r then return 0 end return redis.call('hget','bs:{'..r..'}:hagg:mh1','spawned') or 0\" 0)\" -ge 1 ]" ||
    fail "(c) mh1 spawned nothing"
RESENDS=$(log_count "$T_DIR/launcher1.log" "no ack for")
ip link set "$BSNET_DEV_1" down
# down until mh1 has events the collector could not ack and resends them (2 s of no ack)
wait_for 20 log_grew "$T_DIR/launcher1.log" "no ack for" "$RESENDS" ||
    fail "(c) mh1 never missed an ack with its link down"
ip link set "$BSNET_DEV_1" up
wait "$CLI_C" || fail "(c) run failed: $(tail -5 "$T_DIR/cli-c.log")"
python3 - "$T_DIR/cli-c.log" <<'PY' || fail "(c) counts after the link cut: $(tail -c 600 "$T_DIR/cli-c.log")"
import json, sys
d = json.loads([l for l in open(sys.argv[1]) if l.startswith('{')][-1])
ok = (d['spawned'], d['ready'], d['failed'], d['hosts_done']) == (48, 48, 0, 3)
ok = ok and all((h['spawned'], h['ready']) == (16, 16) for h in d['per_host'])
sys.exit(0 if ok else 1)
PY
RUN_C=$(rcli ZREVRANGE bs:runs 0 0)
# every guest event of mh1 is in the raw list exactly once: 16 spawns, 16 ready
n_ev=$(rcli --raw eval "local s,r=0,0 for _,m in ipairs(redis.call('lrange',KEYS[1],0,-1)) do local e=cmsgpack.unpack(m) if e.host=='mh1' then if e.type=='spawn' then s=s+1 elseif e.type=='ready' then r=r+1 end end end return s..' '..r" 1 "bs:{$RUN_C}:ev")
[ "$n_ev" = "16 16" ] || fail "(c) mh1 spawn/ready events in the stream: $n_ev"
grep -q "taken as lost" "$T_DIR/collector.log" && fail "(c) the collector gave events up as lost"
pass "(c) link of mh1 cut mid-run until it resent: 48/48 ready, mh1's 16 spawn and 16 ready events all stored once"

# ---- (d) a host frozen mid-run: lost after 6 s of silence, the wait ends, the report says so
cat >"$T_DIR/d.yaml" <<'YAML'
name: mh-gone
guest: minkernel
count: 2
hold_s: 12
timeout_s: 60
YAML
start_bg cli-d "${RUN[@]}" "$T_DIR/d.yaml" --hosts mh1,mh2,mh3
CLI_D=$LAST_PID
# the newest run is (d)'s only once its start was stored: until then it is (c)'s
wait_for 30 bash -c "[ \"\$(ip netns exec $BSNET_NS_0 redis-cli -p $RPORT zrevrange bs:runs 0 0)\" != '$RUN_C' ]" ||
    fail "(d) run never created"
RUN_D=$(rcli ZREVRANGE bs:runs 0 0)
wait_for 30 bash -c "[ \"\$(ip netns exec $BSNET_NS_0 redis-cli -p $RPORT hget 'bs:{$RUN_D}:meta' hosts_started)\" = 3 ]" ||
    fail "(d) not started on 3 hosts"
kill -STOP "${LPID[3]}"
t0=$SECONDS
rc=0
wait "$CLI_D" || rc=$?
kill -CONT "${LPID[3]}"
[ "$rc" = 1 ] || fail "(d) the CLI exited $rc, expected 1 (a host lost)"
[ $((SECONDS - t0)) -lt 30 ] || fail "(d) the CLI waited $((SECONDS - t0)) s"
"${CLI[@]}" report "$RUN_D" >"$T_DIR/d.txt" || true
grep -qE "^  mh3: launcher lost: silent since" "$T_DIR/d.txt" || fail "(d) report: $(cat "$T_DIR/d.txt")"
grep -q "2/3 launchers done: INCOMPLETE" "$T_DIR/d.txt" || fail "(d) report header: $(head -3 "$T_DIR/d.txt")"
pass "(d) mh3 frozen mid-run: lost after 6 s of silence, the CLI's wait ended in $((SECONDS - t0)) s, the report names it"
