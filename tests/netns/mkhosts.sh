#!/usr/bin/env bash
# Makes K network-namespace "hosts" for multi-host tests (usable by hand too):
#   tests/netns/mkhosts.sh K [ID]
# ID (default: 4 random hex digits) prefixes every name, so parallel runs never meet:
# namespaces bs<ID>-h0 .. bs<ID>-h<K-1>, a bridge br-bs<ID>, one veth pair per
# namespace (vb<ID>h<i> on the bridge, eth0 inside), addresses 10.254.<N>.<i+1>/24 with
# N picked from ID (the next free /24 if taken) and the bridge itself at .254 so the
# root namespace (ssh, ansible) reaches every host. Loopback is up in each namespace.
# Traffic stays on the bridge: nothing is routed out, no NAT, no default route.
# Prints (and writes to /tmp/bsnet-<ID>.env) shell assignments:
#   BSNET_ID BSNET_K BSNET_BR BSNET_PREFIX BSNET_GW BSNET_NS_<i> BSNET_IP_<i> BSNET_DEV_<i>
# Run a process inside with: ip netns exec "$BSNET_NS_0" CMD ...
# Remove everything with tests/netns/rmhosts.sh ID (also after a failed attempt).
set -euo pipefail

K=${1:?usage: mkhosts.sh K [ID]}
ID=${2:-$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')}
[[ "$K" =~ ^[0-9]+$ ]] && [ "$K" -ge 1 ] && [ "$K" -le 200 ] || { echo "mkhosts: K must be 1..200" >&2; exit 2; }
[[ "$ID" =~ ^[0-9a-z]{1,6}$ ]] || { echo "mkhosts: ID must be 1..6 of [0-9a-z]" >&2; exit 2; }
HERE=$(cd "$(dirname "$0")" && pwd)
BR="br-bs$ID"
ENV="/tmp/bsnet-$ID.env"

# A /24 inside 10.254.0.0/16 that no interface or route uses yet.
n=$(( (0x$(printf '%s' "$ID" | cksum | cut -c1-4 | tr -dc 0-9a-f) % 250) + 1 )) || n=1
for _ in $(seq 250); do
    if ! ip -4 addr show | grep -q "inet 10\.254\.$n\." && [ -z "$(ip route show "10.254.$n.0/24")" ]; then
        break
    fi
    n=$(( n % 250 + 1 ))
done
PREFIX="10.254.$n"

trap '"$HERE/rmhosts.sh" "$ID" >/dev/null 2>&1 || true' ERR
ip link add "$BR" type bridge
ip addr add "$PREFIX.254/24" dev "$BR"
ip link set "$BR" up
{
    echo "BSNET_ID=$ID"
    echo "BSNET_K=$K"
    echo "BSNET_BR=$BR"
    echo "BSNET_PREFIX=$PREFIX"
    echo "BSNET_GW=$PREFIX.254"
} >"$ENV"
for i in $(seq 0 $((K - 1))); do
    ns="bs$ID-h$i" dev="vb${ID}h$i" peer="vp${ID}h$i"
    ip netns add "$ns"
    ip link add "$dev" type veth peer name "$peer"
    ip link set "$peer" netns "$ns"
    ip -n "$ns" link set "$peer" name eth0
    ip -n "$ns" addr add "$PREFIX.$((i + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip link set "$dev" master "$BR"
    ip link set "$dev" up
    { echo "BSNET_NS_$i=$ns"; echo "BSNET_IP_$i=$PREFIX.$((i + 1))"; echo "BSNET_DEV_$i=$dev"; } >>"$ENV"
done
# every namespace answers before we say it is ready: a TCP connect to a closed port is
# refused at once when the host is reachable (no ping needed), and times out when not
for i in $(seq 0 $((K - 1))); do
    ok=0
    for _ in $(seq 20); do
        rc=0
        timeout 1 bash -c "exec 3<>/dev/tcp/$PREFIX.$((i + 1))/9" 2>/dev/null || rc=$?
        [ "$rc" -ne 124 ] && { ok=1; break; }
        sleep 0.1
    done
    [ "$ok" = 1 ] || { echo "mkhosts: $PREFIX.$((i + 1)) does not answer" >&2; false; }
done
cat "$ENV"
