#!/usr/bin/env bash
# The Ansible roles and playbooks for real, over SSH, on network-namespace hosts
# (tests/netns/mkhosts.sh): an sshd in each of 4 namespaces (its own config and host
# key, a client key made here), `ansible-lint ansible/`, then deploy.yml (Redis and
# the collector on h0, a launcher on h1..h3, each host in its own prefix since they
# share this file system, daemons by start script: systemd would start them outside
# the namespace), run.yml with 3 hosts x 4 minkernels (the fetched JSON report must
# say 12 ready, charts fetched too), teardown.yml (every daemon stopped).
# Skipped (ctest skip code) only when network namespaces cannot be made here.
source "$BS_SOURCE/tests/integration/lib.sh"

netns_or_skip
for p in ansible-playbook ansible-lint /usr/sbin/sshd ssh-keygen; do
    command -v "$p" >/dev/null || fail "$p missing: scripts/install-deps.sh installs it"
done
an_cleanup() {
    local rc=$?
    set +e
    "$BS_SOURCE/tests/netns/rmhosts.sh" "$NETID" >/dev/null 2>&1 || true
    if [ "$rc" -ne 0 ]; then
        for f in "$T_DIR"/deploy/*/log/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -20 "$f" >&2; }; done
    fi
    (exit "$rc")
    t_cleanup
}
trap an_cleanup EXIT

# ---- lint first: it needs no hosts
(cd "$BS_SOURCE" && ansible-lint --offline -p --nocolor ansible/) >"$T_DIR/lint.log" 2>&1 ||
    fail "ansible-lint: $(tail -20 "$T_DIR/lint.log")"
pass "ansible-lint ansible/: $(tail -1 "$T_DIR/lint.log")"

"$BS_SOURCE/tests/netns/mkhosts.sh" 4 "$NETID" >"$T_DIR/net.env" || fail "mkhosts failed"
source "$T_DIR/net.env"

# ---- sshd in every namespace host
mkdir -p "$T_DIR/ssh" /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/ssh/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$T_DIR/ssh/id"
cp "$T_DIR/ssh/id.pub" "$T_DIR/ssh/authorized_keys"
for i in 0 1 2 3; do
    ns_var="BSNET_NS_$i" ip_var="BSNET_IP_$i"
    cat >"$T_DIR/ssh/sshd_$i.conf" <<CONF
ListenAddress ${!ip_var}:22
HostKey $T_DIR/ssh/host_key
PidFile $T_DIR/ssh/sshd_$i.pid
AuthorizedKeysFile $T_DIR/ssh/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONF
    start_bg "sshd$i" ip netns exec "${!ns_var}" /usr/sbin/sshd -D -e -f "$T_DIR/ssh/sshd_$i.conf"
done
for i in 0 1 2 3; do
    ip_var="BSNET_IP_$i"
    wait_for 10 bash -c "exec 3<>/dev/tcp/${!ip_var}/22" || fail "sshd on ${!ip_var} did not start"
done

# ---- inventory: per-host prefixes (one file system), start scripts, no apt (one dpkg)
cat >"$T_DIR/inventory.yml" <<YAML
all:
  vars:
    ansible_user: root
    ansible_ssh_private_key_file: $T_DIR/ssh/id
    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
    ansible_python_interpreter: /usr/bin/python3
    bs_build_dir: $BS_BUILD
    bs_prefix: "$T_DIR/deploy/{{ inventory_hostname }}"
    bs_keys_dir: $T_DIR/keys
    bs_service_mgr: script
    bs_install_packages: false
    bs_images: [minkernel.elf]
    bs_redis_address: $BSNET_IP_0
    bs_collector_address: $BSNET_IP_0
    bs_fetch_dir: $T_DIR/fetched
    bs_dist_dir: $T_DIR/dist
  children:
    redis: {hosts: {h0: {ansible_host: $BSNET_IP_0}}}
    collector: {hosts: {h0: {ansible_host: $BSNET_IP_0}}}
    launchers:
      hosts:
        h1: {ansible_host: $BSNET_IP_1, bs_host_id: an1}
        h2: {ansible_host: $BSNET_IP_2, bs_host_id: an2}
        h3: {ansible_host: $BSNET_IP_3, bs_host_id: an3}
YAML
cat >"$T_DIR/storm.yaml" <<'YAML'
name: ansible-storm
guest: minkernel
count: 4
timeout_s: 60
YAML
export ANSIBLE_LOCAL_TEMP="$T_DIR/ansible-local" ANSIBLE_SSH_CONTROL_PATH_DIR="$T_DIR/cp"
export ANSIBLE_NOCOLOR=1 ANSIBLE_PIPELINING=True ANSIBLE_FORKS=4 ANSIBLE_RETRY_FILES_ENABLED=False
export ANSIBLE_HOST_KEY_CHECKING=False ANSIBLE_STDOUT_CALLBACK=default
play() { ansible-playbook -i "$T_DIR/inventory.yml" "$BS_SOURCE/ansible/$1" "${@:2}"; }

t0=$(date +%s.%N)
play deploy.yml >"$T_DIR/deploy.log" 2>&1 || fail "deploy.yml: $(tail -30 "$T_DIR/deploy.log")"
t1=$(date +%s.%N)
grep -qE "an3 +up" "$T_DIR/deploy.log" || fail "deploy.yml: no ready fleet shown"
pass "deploy.yml: 3 launchers up $(python3 -c "print('%.1f' % ($t1 - $t0))") s after ansible-playbook started"

play run.yml -e "bs_scenario=$T_DIR/storm.yaml" >"$T_DIR/run.log" 2>&1 || fail "run.yml: $(tail -30 "$T_DIR/run.log")"
report=$(ls "$T_DIR"/fetched/*/report.json 2>/dev/null | head -1)
[ -n "$report" ] || fail "run.yml fetched no report"
got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['ready'], d['failed'], d['hosts_done'], sorted(h['host'] for h in d['per_host']))" "$report")
[ "$got" = "12 0 3 ['an1', 'an2', 'an3']" ] || fail "fetched report: ready failed done hosts = $got"
ls "$(dirname "$report")"/*.png >/dev/null 2>&1 || fail "no chart fetched"
pass "run.yml: 3 hosts x 4 minkernels, fetched report says 12 ready, 0 failed; $(ls "$(dirname "$report")"/*.png | wc -l) PNG charts fetched"

play teardown.yml >"$T_DIR/teardown.log" 2>&1 || fail "teardown.yml: $(tail -30 "$T_DIR/teardown.log")"
left=$(ls "$T_DIR"/deploy/*/run/*.pid 2>/dev/null || true)
[ -z "$left" ] || fail "teardown.yml left pid files: $left"
for i in 0 1 2 3; do
    ns_var="BSNET_NS_$i"
    for p in $(ip netns pids "${!ns_var}"); do
        comm=$(cat "/proc/$p/comm" 2>/dev/null || true)
        case "$comm" in sshd) ;; "") ;; *) fail "teardown.yml left $comm (pid $p) in ${!ns_var}" ;; esac
    done
done
pass "teardown.yml: every daemon stopped"
