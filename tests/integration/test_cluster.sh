#!/usr/bin/env bash
# Redis Cluster, as far as bootstorm reaches today (docs/SCALING.md): three
# `redis-server --cluster-enabled yes` on loopback, the Function library loaded on each.
#  (a) every key of a run carries the {RUN} hash tag: all of them hash to one slot;
#  (b) a call whose keys are all of the run (bs_run_note) is answered by the slot's
#      owner without MOVED, and by another node with MOVED (what hiredis 0.14, which
#      has no cluster support, would hand back as an error);
#  (c) the two calls that mix a run key with a global one are refused CROSSSLOT:
#      bs_run_create (bs:{RUN}:meta + bs:runs) and bs_apply (bs:host:HOST +
#      bs:{RUN}:meta). This pins what SCALING.md says: the collector cannot write to a
#      cluster until the global keys move (or a cluster-aware client and split calls).
# Skipped (77) when this redis-server cannot make a cluster here.
source "$BS_SOURCE/tests/integration/lib.sh"

LUA="$BS_SOURCE/redis/bootstorm.lua"
# A port for a cluster node: at most 55535 (its bus listens on port + 10000), both free.
cluster_port() {
    python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 55535)
    try:
        for q in (p, p + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", q)); s.close()
        print(p); break
    except OSError:
        pass
PY
}
P=()
for i in 0 1 2; do
    p=$(cluster_port)
    mkdir -p "$T_DIR/n$i"
    start_bg "node$i" redis-server --port "$p" --bind 127.0.0.1 --dir "$T_DIR/n$i" --save "" \
        --appendonly no --cluster-enabled yes --cluster-config-file "$T_DIR/n$i/nodes.conf" \
        --cluster-node-timeout 5000
    P+=("$p")
done
for i in 0 1 2; do wait_for 10 redis_pong "${P[$i]}" || skip "a cluster-enabled redis-server did not start: $(tail -3 "$T_DIR/node$i.log")"; done
redis-cli --cluster create "127.0.0.1:${P[0]}" "127.0.0.1:${P[1]}" "127.0.0.1:${P[2]}" \
    --cluster-replicas 0 --cluster-yes >"$T_DIR/create.log" 2>&1 || skip "redis-cli --cluster create: $(tail -2 "$T_DIR/create.log")"
cluster_ok() { [ "$(redis-cli -p "$1" cluster info | tr -d '\r' | sed -n 's/^cluster_state://p')" = ok ]; }
for p in "${P[@]}"; do wait_for 20 cluster_ok "$p" || fail "node $p: cluster state not ok"; done
for p in "${P[@]}"; do
    redis-cli -p "$p" -x function load replace <"$LUA" >/dev/null || fail "function load on $p"
done

RUN=20261130-000000-cluster-1a2b
slot() { redis-cli -p "${P[0]}" cluster keyslot "$1"; }
# (a) the run's keys (redis/SCHEMA.md, common/keys.h) all hash to the slot of {RUN}
want=$(slot "{$RUN}")
for k in meta seq ev boot lag agg lines hagg:h1 mem:h1; do
    [ "$(slot "bs:{$RUN}:$k")" = "$want" ] || fail "(a) bs:{$RUN}:$k is not in slot $want"
done
pass "(a) every bs:{$RUN}:* key hashes to slot $want"

# the node that serves the slot, and one that does not
owner='' other=''
for p in "${P[@]}"; do
    if ! redis-cli -p "$p" get "{$RUN}" 2>&1 | grep -q MOVED; then
        owner=$p
    else
        other=$p
    fi
done
{ [ -n "$owner" ] && [ -n "$other" ]; } || fail "could not tell the owner of slot $want"

# (b) all keys in the run's slot: the owner answers the Function itself (the run does
# not exist, so the Function's own error), another node answers MOVED
out=$(redis-cli -p "$owner" fcall bs_run_note 1 "bs:{$RUN}:meta" "$RUN" set invalid x 2>&1)
grep -q MOVED <<<"$out" && fail "(b) the owner answered MOVED: $out"
grep -q "run $RUN does not exist" <<<"$out" || fail "(b) unexpected answer from the owner: $out"
echo "owner: $out"
out=$(redis-cli -p "$other" fcall bs_run_note 1 "bs:{$RUN}:meta" "$RUN" set invalid x 2>&1)
grep -q "MOVED $want " <<<"$out" || fail "(b) a non-owner did not answer MOVED: $out"
pass "(b) single-slot FCALL: the owner runs it (no MOVED), another node answers MOVED $want"

# (c) run key + global key in one call: refused whichever node is asked
[ "$(slot bs:runs)" != "$want" ] || skip "bs:runs happens to share slot $want with this run id"
out=$(redis-cli -p "$owner" fcall bs_run_create 2 "bs:{$RUN}:meta" bs:runs "$RUN" 1 name x 2>&1)
grep -q CROSSSLOT <<<"$out" || fail "(c) bs_run_create was not refused CROSSSLOT: $out"
[ "$(slot bs:host:h1)" != "$want" ] || skip "bs:host:h1 happens to share slot $want"
out=$(redis-cli -p "$owner" fcall bs_apply 2 bs:host:h1 "bs:{$RUN}:meta" h1 1 x 2>&1)
grep -q CROSSSLOT <<<"$out" || fail "(c) bs_apply was not refused CROSSSLOT: $out"
echo "bs_apply: $out"
pass "(c) bs_run_create (meta + bs:runs) and bs_apply (bs:host:HOST + meta) are refused CROSSSLOT"
