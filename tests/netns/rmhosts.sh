#!/usr/bin/env bash
# Removes what tests/netns/mkhosts.sh ID made: every namespace bs<ID>-h*, their veth
# pairs, the bridge br-bs<ID> and /tmp/bsnet-<ID>.env. Processes still inside those
# namespaces (ones the caller started and left behind) get SIGTERM then SIGKILL, by
# pid from `ip netns pids`. Safe to run twice or on a half-made set.
#   tests/netns/rmhosts.sh ID
set -uo pipefail
ID=${1:?usage: rmhosts.sh ID}
[[ "$ID" =~ ^[0-9a-z]{1,6}$ ]] || { echo "rmhosts: bad ID '$ID'" >&2; exit 2; }
for ns in $(ip netns list | awk '{print $1}' | grep -E "^bs$ID-h[0-9]+$"); do
    pids=$(ip netns pids "$ns" 2>/dev/null)
    if [ -n "$pids" ]; then
        kill -TERM $pids 2>/dev/null
        for _ in $(seq 30); do [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break; sleep 0.1; done
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -n "$pids" ] && kill -KILL $pids 2>/dev/null
    fi
    ip netns del "$ns"
done
for dev in $(ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | grep -E "^vb${ID}h[0-9]+$"); do
    ip link del "$dev" 2>/dev/null
done
ip link del "br-bs$ID" 2>/dev/null
rm -f "/tmp/bsnet-$ID.env"
exit 0
