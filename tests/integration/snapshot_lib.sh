# Helpers of the snapshot tests (test_snapshot.sh, test_snapshot_minkernel.sh), sourced
# after lib.sh: the launcher's temporary directory that a template's files live in,
# the /dev/shm RAM files, running a scenario to its JSON report, and "nothing left".

shm_files() { ls /dev/shm 2>/dev/null | grep '^bootstorm-snap-' | sort || true; }
tmp_empty() { [ -z "$(ls -A "$TPL_TMP")" ]; }

# snap_stack HOST IMAGES: Redis, collector and a launcher whose temporary directory is
# ours ($TPL_TMP: whatever a template leaves is seen there); $SHM_BEFORE the RAM files
# already in /dev/shm (another launcher's may be there; ours must not stay).
snap_stack() {
    TPL_TMP="$T_DIR/launcher-tmp"
    mkdir -p "$TPL_TMP"
    TMPDIR="$TPL_TMP" start_stack "$1" --images "$2"
    SHM_BEFORE=$(shm_files)
}

run_json() { # NAME: runs it, the report in $T_DIR/NAME.json; returns the CLI's status
    "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/$1.yaml" --collector "$EP" --json \
        >"$T_DIR/$1.json" 2>"$T_DIR/$1.err"
}

nothing_left() { # WHAT [SECONDS]: no QEMU of the launcher, no template file, no RAM file
    wait_for "${2:-20}" qemu_count_is "$LAUNCHER_PID" 0 || fail "qemu left after $1"
    tmp_empty || fail "template files left after $1: $(ls -AR "$TPL_TMP")"
    [ "$(shm_files)" = "$SHM_BEFORE" ] || fail "RAM file left in /dev/shm after $1: $(shm_files)"
}
