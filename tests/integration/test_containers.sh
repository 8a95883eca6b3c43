#!/usr/bin/env bash
# End to end with containers as guests (process backend): for each OCI runtime here
# (crun, runc, runsc), 1 and 8 at once (64 for crun and runc) through collector,
# launcher and `bootstorm run`: all ready, PSS per guest recorded, no container of ours
# left; then a launcher killed with SIGKILL mid-run leaves containers that the next
# launcher removes before its first run. A runtime that is missing is skipped, saying so.
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

# SIGKILL to the launcher with 4 containers held: they stay (the runtime's process died
# with the launcher); a new launcher removes them before its first run.
crash_and_clean() {
    local rt=$1 name="ctr-$1-held"
    printf 'name: %s\nguest: %s\nbackend: process\ncount: 4\nhold_s: 120\ntimeout_s: 60\n' \
        "$name" "${PROFILE[$rt]}" >"$T_DIR/$name.yaml"
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$name.yaml" --collector "$EP" \
        >"$T_DIR/$name.out" 2>&1 &
    local cli=$!
    T_PIDS+=("$cli")
    wait_for 30 count_is "$rt" "bs-" 4 || fail "$rt: 4 held containers not running: $(ours "$rt" bs-)"
    kill -KILL "$LAUNCHER_PID"
    wait "$LAUNCHER_PID" 2>/dev/null || true
    kill -TERM "$cli" 2>/dev/null || true
    wait "$cli" 2>/dev/null || true
    count_is "$rt" "bs-" 4 || fail "$rt: the launcher's SIGKILL should leave its containers"
    start_bg "launcher-$rt" "$BIN/bootstorm-launcher" --connect "$EP" --host testhost \
        "${LAUNCHER_ARGS[@]}"
    LAUNCHER_PID=$LAST_PID
    wait_for 20 grep -q 'host testhost connected' "$T_DIR/launcher-$rt.log" ||
        fail "$rt: the restarted launcher did not connect"
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
    crash_and_clean "$rt"
    pass "$rt: ${SIZES[$rt]} at once all ready, PSS recorded, none left, stale ones cleaned after SIGKILL"
    ran=$((ran + 1))
done
[ "$ran" -gt 0 ] || skip "no OCI runtime (crun, runc, runsc) installed"
