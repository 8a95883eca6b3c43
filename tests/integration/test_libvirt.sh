#!/usr/bin/env bash
# The libvirt backend against a real libvirtd started here (its own socket dir and
# log, no systemd): 4 minkernel-libvirt domains ready with their create-call latency
# recorded; no bs-* domain left after a run; a launcher killed with SIGKILL leaves no
# domain behind (autodestroy); stale bs-* domains are destroyed by the next launcher.
# Skipped (ctest skip code) only when no libvirtd can serve the QEMU driver on this machine.
source "$BS_SOURCE/tests/integration/lib.sh"


for p in libvirtd virtlogd virsh; do
    command -v "$p" >/dev/null || skip "$p not installed (apt-get install libvirt-daemon-system)"
done
grep -q vmm_libvirt_ops <(nm "$BIN/bootstorm-launcher" 2>/dev/null) ||
    skip "launcher built without libvirt (libvirt-dev missing)"
# QEMU run by libvirtd is user libvirt-qemu: it must reach the kernel, and neither the
# build tree nor $T_DIR (mktemp: 0700) need be traversable for it. A 0755 copy is.
IMAGES=$(mktemp -d /tmp/bsimages.XXXXXX)
chmod 755 "$IMAGES"
cp "$BS_BUILD/images/minkernel.elf" "$IMAGES/"
chmod 644 "$IMAGES/minkernel.elf"
T_EXTRA_DIRS+=("$IMAGES")
KERNEL="$IMAGES/minkernel.elf"
[ -f "$KERNEL" ] || fail "no $KERNEL"

# virtlogd: the QEMU driver talks to it on a fixed system socket; start one only if
# none answers there, and stop only the one started here.
vlog_up() { python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' \
    /run/libvirt/virtlogd-sock 2>/dev/null; }
if ! vlog_up; then
    virtlogd -d --pid-file "$T_DIR/virtlogd.pid" || skip "virtlogd does not start"
    wait_for 10 test -s "$T_DIR/virtlogd.pid" || skip "virtlogd wrote no pid file"
    T_PIDS+=("$(cat "$T_DIR/virtlogd.pid")")
    wait_for 10 vlog_up || fail "virtlogd does not answer"
fi

# libvirtd with its sockets and log here. Its QEMU driver state (/run/libvirt/qemu)
# is per machine: a second libvirtd cannot claim it.
LV_RUN="$T_DIR/lvrun"
mkdir -p "$LV_RUN"
cat >"$T_DIR/libvirtd.conf" <<EOF
unix_sock_dir = "$LV_RUN"
log_outputs = "3:file:$T_DIR/libvirtd.log"
listen_tcp = 0
listen_tls = 0
EOF
URI="qemu:///system?socket=$LV_RUN/libvirt-sock"
# When libvirt-qemu may not open /dev/kvm (root-only without udev), libvirt's QEMU
# capability probe and its cache check must agree that there is no KVM, or every
# create rejects the cache and probes QEMU again (~11 probes of ~2 s per create).
# /dev/null bound over /dev/kvm does not do it: libvirt-qemu may open /dev/null, so the
# check says "KVM should be usable now" while the probe QEMU found none. A root-only
# character device (the null device, mode 0600) bound over /dev/kvm in libvirtd's
# private mount namespace does: neither sees KVM, the domains are type='qemu' (TCG).
# A regular file would not do: libvirt then cannot start a domain. docs/BACKENDS.md.
LVD=(libvirtd --config "$T_DIR/libvirtd.conf" --pid-file "$T_DIR/libvirtd.pid" -d)
if [ -e /dev/kvm ] && ! setpriv --reuid=libvirt-qemu --regid=libvirt-qemu --init-groups \
        sh -c 'test -r /dev/kvm && test -w /dev/kvm' 2>/dev/null &&
    unshare -m --propagation private true 2>/dev/null; then
    mknod -m 600 "$T_DIR/nokvm" c 1 3 || skip "cannot make a device node to hide /dev/kvm from libvirtd"
    unshare -m --propagation private sh -c 'mount --bind "$0" /dev/kvm && exec "$@"' \
        "$T_DIR/nokvm" "${LVD[@]}" || skip "libvirtd does not start"
else
    "${LVD[@]}" || skip "libvirtd does not start"
fi
wait_for 10 test -s "$T_DIR/libvirtd.pid" || skip "libvirtd wrote no pid file"
T_PIDS+=("$(cat "$T_DIR/libvirtd.pid")")
wait_for 20 virsh -c "$URI" version ||
    skip "libvirtd started but its QEMU driver does not answer (another libvirtd owns /run/libvirt/qemu?): $(tail -3 "$T_DIR/libvirtd.log")"
# One-time QEMU capability probe (seconds), so it is not counted in a create call.
virsh -c "$URI" domcapabilities --virttype qemu >/dev/null || fail "domcapabilities"

bs_domains() { virsh -c "$URI" list --name | grep '^bs-' || true; }

start_redis
EP="tcp://127.0.0.1:$(free_port)"
start_bg collector "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" \
    --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
start_launcher() {
    start_bg "launcher$1" "$BIN/bootstorm-launcher" --connect "$EP" --host lv --libvirt-uri "$URI" \
        --images "$IMAGES"
    LAUNCHER_PID=$LAST_PID
}

scenario() { # NAME COUNT [extra lines]
    local name=$1 count=$2
    shift 2
    printf 'name: %s\nguest: minkernel-libvirt\ncount: %s\nbackend: libvirt\naccel: tcg\ntimeout_s: 90\n' \
        "$name" "$count" >"$T_DIR/$name.yaml"
    local l
    for l in "$@"; do echo "$l" >>"$T_DIR/$name.yaml"; done
}

# run_lv NAME COUNT [extra lines]: runs, checks every guest ready, sets RUN.
run_lv() {
    local name=$1 count=$2
    scenario "$@"
    timeout 240 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" --json \
        >"$T_DIR/$name.json" || fail "$name: run exited $?: $(cat "$T_DIR/$name.json")"
    RUN=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==int(sys.argv[2]), r; print(r["run"])' \
        "$T_DIR/$name.json" "$count") || fail "$name: not every guest ready: $(cat "$T_DIR/$name.json")"
}

# A domain as a launcher that died without autodestroy (libvirtd restarted under it)
# would leave: transient, running, named bs-*.
make_stale() {
    sed -e "s|{name}|$1|; s|{mem}|2|; s|{vcpus}|1|; s|{kernel}|$KERNEL|; s|{cmdline}||; s|{domain_type}|qemu|" \
        <(awk '/^  xml: \|/ {f = 1; next} f && /^    / {sub(/^    /, ""); print; next} f {exit}' \
            "$BS_SOURCE/guests/minkernel-libvirt.yaml") >"$T_DIR/$1.xml"
    virsh -c "$URI" create "$T_DIR/$1.xml" >/dev/null || fail "cannot create $1 by hand"
}

# 1. Stale domain cleaned at open; 4 domains ready, each create call timed, pid known.
make_stale bs-stale-0
start_launcher 1
run_lv four 4
[ -z "$(bs_domains)" ] || fail "bs-* domains left after the run: $(bs_domains)"
grep -q "destroyed 1 stale bs-\* domain" "$T_DIR/launcher1.log" || fail "stale domain not reported cleaned"
"$BIN/bootstorm" --redis "$REDIS_URL" export "$RUN" --json >"$T_DIR/four.guests" || fail "export"
python3 - "$T_DIR/four.guests" <<'PY' || fail "libvirt guests: $(cat "$T_DIR/four.guests")"
import json, sys
g = {x["guest"]: x for x in json.load(open(sys.argv[1]))}
for i in range(4):
    x = g["lv:%d" % i]
    assert x["spawn_call_ms"] and x["spawn_call_ms"] > 0, ("no create-call latency", x)
    assert x["pid"] and x["pid"] > 1, ("QEMU pid unknown", x)
    print("guest %d: create call %.0f ms, boot %.0f ms, rss %s KiB" % (i, x["spawn_call_ms"], x["boot_ms"], x["rss_kib"]))
assert "entry" in g["lv:0"]["markers_ms"], "console marker 'entry' not seen"
PY
run_lv one 1
echo "one alone: create call $(guest_field "$RUN" lv:0 spawn_call_ms) ms"
pass "stale bs-* domain destroyed at open; 4/4 libvirt guests ready, create latency and pid recorded, none left"

# 2. SIGKILL mid-run (hold): libvirtd destroys the domains with the connection.
scenario hold 4 "hold_s: 120"
start_bg hold "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/hold.yaml" --collector "$EP" --json
HOLD_PID=$LAST_PID
wait_for 60 bash -c "[ \"\$(virsh -c '$URI' list --name | grep -c '^bs-')\" -eq 4 ]" ||
    fail "4 domains not running during the hold: $(bs_domains)"
kill -KILL "$LAUNCHER_PID"
wait "$LAUNCHER_PID" 2>/dev/null || true
kill -TERM "$HOLD_PID" 2>/dev/null || true
wait_for 15 bash -c "[ -z \"\$(virsh -c '$URI' list --name | grep '^bs-')\" ]" ||
    fail "domains left 15 s after the launcher was killed: $(bs_domains)"
pass "launcher killed with SIGKILL: its 4 domains destroyed with its connection"

# 3. A new launcher cleans what a dead one left and runs again.
make_stale bs-stale-1
start_launcher 2
run_lv again 4
grep -q "destroyed 1 stale bs-\* domain" "$T_DIR/launcher2.log" || fail "new launcher did not clean the stale domain"
[ -z "$(bs_domains)" ] || fail "bs-* domains left after the run: $(bs_domains)"
pass "new launcher: stale domain destroyed, 4/4 ready, none left"
