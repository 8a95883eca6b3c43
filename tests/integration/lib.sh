# Shared helpers for integration tests (bash): temporary dirs, free ports, a real
# redis-server, and cleanup of every process a test started, by pid, on any exit.
# Usage: source "$BS_SOURCE/tests/integration/lib.sh" at the top of a test.
set -euo pipefail

: "${BS_SOURCE:?BS_SOURCE must point at the source tree}"
: "${BS_BUILD:?BS_BUILD must point at the build tree}"
BIN="$BS_BUILD/bin"
T_DIR=$(mktemp -d /tmp/bstest.XXXXXX)
T_PIDS=()
T_EXTRA_DIRS=() # removed at exit too, whatever the outcome

t_cleanup() {
    local rc=$?
    local p d
    for d in "${T_EXTRA_DIRS[@]}"; do rm -rf "$d"; done
    for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${T_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    if [ "$rc" -ne 0 ] && [ "$rc" -ne "$T_SKIP_RC" ]; then
        echo "--- test failed (rc=$rc); logs in $T_DIR:" >&2
        for f in "$T_DIR"/*.log; do [ -f "$f" ] && { echo "== $f" >&2; tail -30 "$f" >&2; }; done
    else
        rm -rf "$T_DIR"
    fi
    exit "$rc"
}
trap t_cleanup EXIT
trap 'exit 130' INT TERM

# ctest's skip code (SKIP_RETURN_CODE in tests/CMakeLists.txt): a test that cannot
# run here is reported as skipped, never as passed.
T_SKIP_RC=77
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*"; exit "$T_SKIP_RC"; }
pass() { echo "PASS: $*"; }

# Prints a TCP port nobody listens on now.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Starts a redis-server on a free port with its data in $T_DIR; sets REDIS_PORT, REDIS_URL, REDIS_PID.
start_redis() {
    REDIS_PORT=$(free_port)
    mkdir -p "$T_DIR/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$T_DIR/redis" --save "" \
        --appendonly no --daemonize no >"$T_DIR/redis.log" 2>&1 &
    REDIS_PID=$!
    T_PIDS+=("$REDIS_PID")
    REDIS_URL="redis://127.0.0.1:$REDIS_PORT"
    for _ in $(seq 100); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    fail "redis-server did not start on port $REDIS_PORT"
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# guest_field RUN HOST:IDX KEY: one key of that guest's row in `bootstorm export --json`
# (the aggregator folds it from the run's events; markers as m:NAME), "" when null or
# no such guest. Redis at $REDIS_URL.
guest_field() {
    "$BIN/bootstorm" --redis "$REDIS_URL" export "$1" --json | python3 -c '
import json, sys
g = [r for r in json.load(sys.stdin) if r["guest"] == sys.argv[1]]
k = sys.argv[2]
v = g[0]["markers_ms"].get(k[2:]) if g and k.startswith("m:") else (g[0].get(k) if g else None)
print("" if v is None else v)' "$2" "$3"
}

# guest_exited RUN HOST:IDX: true once that guest's exit is among the run's events.
guest_exited() { [ -n "$(guest_field "$1" "$2" exit_status)" ]; }

# Starts the stack most tests need: a redis-server, a collector on a free port and one
# launcher with host id $1 (further arguments go to the launcher). Sets EP and
# LAUNCHER_PID.
start_stack() {
    local host=$1
    shift
    start_redis
    EP="tcp://127.0.0.1:$(free_port)"
    start_bg collector "$BIN/bootstorm-collector" --bind "$EP" --redis "$REDIS_URL" \
        --ready-file "$T_DIR/collector.ready"
    wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
    start_bg launcher "$BIN/bootstorm-launcher" --connect "$EP" --host "$host" "$@"
    LAUNCHER_PID=$LAST_PID
}

# Sets NETID, a random id for this test's namespaces, or skips the test where
# network namespaces cannot be made.
netns_or_skip() {
    NETID=$(printf '%04x' $(((RANDOM << 1 ^ $$) & 0xffff)))
    if ! ip netns add "bs$NETID-probe" 2>/dev/null; then
        skip "ip netns add is not permitted here"
    fi
    ip netns del "bs$NETID-probe"
}

# netns_hosts N: N namespace hosts for this test (tests/netns/mkhosts.sh; skips where
# namespaces cannot be made), their names and addresses sourced from its output, all
# removed by pid and name on exit before t_cleanup. inns NS CMD... runs CMD in one.
netns_hosts() {
    netns_or_skip
    trap netns_cleanup EXIT
    "$BS_SOURCE/tests/netns/mkhosts.sh" "$1" "$NETID" >"$T_DIR/net.env" || fail "mkhosts failed"
    source "$T_DIR/net.env"
}
netns_cleanup() {
    local rc=$?
    set +e
    "$BS_SOURCE/tests/netns/rmhosts.sh" "$NETID" >/dev/null 2>&1 || true
    (exit "$rc")
    t_cleanup
}
inns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# Starts a program in the background, logging to $T_DIR/NAME.log; sets LAST_PID.
start_bg() {
    local name=$1; shift
    "$@" >"$T_DIR/$name.log" 2>&1 &
    LAST_PID=$!
    T_PIDS+=("$LAST_PID")
}

# Waits up to $1 seconds for the command "$@" to succeed.
wait_for() {
    local secs=$1; shift
    local end=$((SECONDS + secs))
    while [ $SECONDS -lt $end ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    return 1
}

# Prints the pids of qemu processes whose parent is $1.
qemu_children() { pgrep -P "$1" qemu-system 2>/dev/null || true; }

# Succeeds while process $1 runs (a zombie waiting for a reaper does not count:
# an orphan's zombie stays until init reaps it, and init may be slow or absent here).
alive() { [ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# Succeeds when the process $1 has exactly $2 qemu children (for wait_for).
qemu_count_is() { [ "$(qemu_children "$1" | wc -l)" -eq "$2" ]; }

# Succeeds when no process of the pids given runs any more (for wait_for).
all_dead() {
    local p
    for p in "$@"; do alive "$p" && return 1; done
    return 0
}

# Prints how many lines of file $1 contain the fixed string $2 (0 when none, or no file).
log_count() { grep -cF -- "$2" "$1" 2>/dev/null || true; }

# Succeeds when file $1 has more than $3 lines containing $2 (for wait_for): count the
# lines before an action, then wait for a new one, so an earlier line never answers.
log_grew() { [ "$(log_count "$1" "$2")" -gt "$3" ]; }

# Succeeds when the redis-server on port $1 answers PING with PONG (not LOADING).
# host_up HOST: the collector has HOST as up (its launcher said hello), for wait_for
host_up() { [ "$(rcli HGET "bs:host:$1" state)" = up ]; }

redis_pong() { [ "$(redis-cli -p "$1" ping 2>/dev/null)" = PONG ]; }
