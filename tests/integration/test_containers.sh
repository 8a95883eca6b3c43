#!/usr/bin/env bash
# End to end with containers as guests (process backend): for each OCI runtime here
# (crun, runc, runsc), 1 and 8 at once (64 for crun and runc) through collector,
# launcher and `bootstorm run`: all ready, PSS per guest recorded, no container of ours
# left; a launcher stopped by SIGTERM mid-run leaves none; one killed with SIGKILL
# leaves containers that the next launcher removes before its first run. A runtime that is missing is skipped, saying so.
source "$BS_SOURCE/tests/integration/lib.sh"

[ "$(id -u)" = 0 ] || skip "the OCI runtimes run root containers: needs root"
[ -f "$BS_BUILD/images/container-bundle/config.json" ] ||
    skip "no OCI bundle in $BS_BUILD/images (guests/container/build.sh needs apt)"
start_stack testhost --guests "$BS_BUILD/guests" --images "$BS_BUILD/images"
LAUNCHER_ARGS=(--guests "$BS_BUILD/guests" --images "$BS_BUILD/images")

# runtime: profile, global flags (the profile's), sizes
declare -A PROFILE=([crun]=container-crun [runc]=container-runc [runsc]=sandbox-gvisor)
declare -A GLOBAL=([crun]="" [runc]="" [runsc]="--platform=ptrace --network=none")
declare -A SIZES=([crun]="1 8 64" [runc]="1 8 64" [runsc]="1 8")
[ "${BS_CONTAINERS_RUNSC_64:-}" = 1 ] && SIZES[runsc]="1 8 64"

# Container ids of ours ($2 prefix, e.g. bs-RUN-) the runtime $1 lists, one a line.
# crun needs the hybrid-cgroup work-around for list too.
ours() {
    local rt=$1 prefix=$2
    if [ "$rt" = crun ]; then
        "$BIN/bootstorm-oci" --umount /sys/fs/cgroup/unified run -- crun list --quiet
    else
        # shellcheck disable=SC2086
        $rt ${GLOBAL[$rt]} list --quiet
    fi | grep "^$prefix" || true
}
none_left() { [ -z "$(ours "$1" "$2")" ]; }
count_is() { [ "$(ours "$1" "$2" | wc -l)" -eq "$3" ]; }

# Runs N containers of runtime RT; prints "RT N p50 max pss_per_guest_kib".
storm() {
    local rt=$1 n=$2 name="ctr-$1-$2"
    cat >"$T_DIR/$name.yaml" <<YAML
name: $name
guest: ${PROFILE[$rt]}
backend: process
count: $n
pattern: burst
hold_s: 2
timeout_s: 60
YAML
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" \
        --json >"$T_DIR/$name.json" || fail "$rt x$n: bootstorm run exited $? ($(cat "$T_DIR/$name.json"))"
    local run
    run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/$name.json")
    rcli XRANGE "bs:{$run}:mem:testhost" - + >"$T_DIR/$name.mem"
    python3 - "$T_DIR/$name.json" "$T_DIR/$name.mem" "$rt" "$n" <<'PY' || fail "$rt x$n: report wrong: $(cat "$T_DIR/$name.json")"
import json, sys
r = json.load(open(sys.argv[1]))
n = int(sys.argv[4])
assert r["count"] == n and r["ready"] == n and r["failed"] == 0, r
b = r["boot_ms"]
assert 0 < b["min"] <= b["p50"] <= b["max"] < 60000, b
# XRANGE lines: an entry id (digits-digits), then field and value lines
lines = [l.strip() for l in open(sys.argv[2]) if l.strip()]
entries, cur = [], None
for l in lines:
    if cur is None or (len(cur) % 2 == 0 and "-" in l and l.replace("-", "").isdigit()):
        cur = []
        entries.append(cur)
        continue
    cur.append(l)
per = [int(f["pss_kib"]) / n for f in (dict(zip(e[::2], e[1::2])) for e in entries)
       if int(f.get("pss_kib", 0)) > 0 and int(f.get("running", 0)) == n]
assert per, "no PSS sample with all %d guests running" % n
print("%s %d %.1f %.1f %.0f" % (sys.argv[3], n, b["p50"], b["max"], max(per)))
PY
    wait_for 30 none_left "$rt" "bs-$run-" || fail "$rt x$n: containers left: $(ours "$rt" "bs-$run-")"
}

# Starts a run of 4 held containers of runtime $1 in the background (sets CLI_PID) and
# waits until the runtime lists them.
start_held() {
    local rt=$1 name="ctr-$1-held-$2"
    printf 'name: %s\nguest: %s\nbackend: process\ncount: 4\nhold_s: 120\ntimeout_s: 60\n' \
        "$name" "${PROFILE[$rt]}" >"$T_DIR/$name.yaml"
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" \
        >"$T_DIR/$name.out" 2>&1 &
    CLI_PID=$!
    T_PIDS+=("$CLI_PID")
    wait_for 30 count_is "$rt" "bs-" 4 || fail "$rt: 4 held containers not running: $(ours "$rt" bs-)"
}

# A new launcher in place of the one that left (sets LAUNCHER_PID), connected.
restart_launcher() {
    local log=$1
    start_bg "$log" "$BIN/bootstorm-launcher" --connect "$EP" --host testhost "${LAUNCHER_ARGS[@]}"
    LAUNCHER_PID=$LAST_PID
    wait_for 20 grep -q 'host testhost connected' "$T_DIR/$log.log" ||
        fail "the restarted launcher ($log) did not connect"
}

# SIGTERM to the launcher with 4 containers held: it stops them, none is left.
sigterm_stops() {
    local rt=$1
    start_held "$rt" term
    kill -TERM "$LAUNCHER_PID"
    wait_for 20 bash -c "! kill -0 $LAUNCHER_PID 2>/dev/null" || fail "$rt: launcher ignored SIGTERM"
    wait_for 30 none_left "$rt" bs- || fail "$rt: containers left after SIGTERM: $(ours "$rt" bs-)"
    kill -TERM "$CLI_PID" 2>/dev/null || true
    wait "$CLI_PID" 2>/dev/null || true
    restart_launcher "launcher-$rt-term"
}

# SIGKILL to the launcher with 4 containers held: they stay (the runtime's process died
# with the launcher); a new launcher removes them before its first run.
crash_and_clean() {
    local rt=$1
    start_held "$rt" kill
    kill -KILL "$LAUNCHER_PID"
    wait "$LAUNCHER_PID" 2>/dev/null || true
    kill -TERM "$CLI_PID" 2>/dev/null || true
    wait "$CLI_PID" 2>/dev/null || true
    count_is "$rt" "bs-" 4 || fail "$rt: the launcher's SIGKILL should leave its containers"
    restart_launcher "launcher-$rt"
    storm "$rt" 1 >/dev/null || exit 1
    wait_for 30 none_left "$rt" "bs-" || fail "$rt: stale containers left: $(ours "$rt" bs-)"
}

ran=0
for rt in ${BS_CONTAINERS_RUNTIMES:-crun runc runsc}; do
    if ! command -v "$rt" >/dev/null; then
        echo "SKIP: $rt: not installed (scripts/install-deps.sh installs it)"
        continue
    fi
    none_left "$rt" bs- || fail "$rt: bs-* containers exist before the test: $(ours "$rt" bs-)"
    for n in ${SIZES[$rt]}; do
        line=$(storm "$rt" "$n") || exit 1 # fail in the subshell ends the test
        echo "MEASURED (runtime n p50_ms max_ms pss_kib_per_guest): $line"
    done
    sigterm_stops "$rt"
    crash_and_clean "$rt"
    pass "$rt: ${SIZES[$rt]} at once all ready, PSS recorded, none left; none after a launcher SIGTERM; stale ones cleaned after SIGKILL"
    ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || skip "no OCI runtime (crun, runc, runsc) installed"
