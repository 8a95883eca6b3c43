#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz/fuzz_*.c) with clang, ASan and UBSan into
# build-fuzz/ and runs each for SECONDS (default 30) from its seed corpus
# (tests/fuzz/corpus/NAME; new inputs go to build-fuzz/corpus/NAME, never the tree).
# Usage: scripts/fuzz.sh [SECONDS] [fuzz_event|fuzz_scenario|fuzz_profile ...]
# Exits 77 (skipped) when clang or its libFuzzer runtime is missing, 1 on a finding
# (the input is saved as build-fuzz/findings/TARGET-crash-*; see docs/FUZZING.md).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_event fuzz_scenario fuzz_profile)
dir=${BS_FUZZ_DIR:-build-fuzz}

cc=$(command -v clang || command -v clang-14 || true)
if [ -z "$cc" ]; then
    echo "fuzz: clang not found (scripts/install-deps.sh installs it): skipped"
    exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return d && n; }' >"$probe/p.c"
if ! "$cc" -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" 2>/dev/null; then
    echo "fuzz: $cc has no libFuzzer runtime (libclang-rt-14-dev): skipped"
    exit 77
fi

san="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$dir" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBS_FUZZ=ON \
    -DBS_WERROR=OFF -DCMAKE_C_FLAGS="$san" >/dev/null
cmake --build "$dir" -j"$(nproc)" --target "${targets[@]}" >/dev/null

export LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0"
rc=0
for t in "${targets[@]}"; do
    work="$dir/corpus/$t"
    mkdir -p "$work" "$dir/findings"
    log="$dir/$t.log"
    start=$(date +%s)
    # -timeout: one input taking 10 s is a finding (an alias bomb would be one);
    # -rss_limit_mb: so is one taking 1 GiB. The seed corpus is read-only input.
    if "$dir/fuzz/$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 \
        -print_final_stats=1 -artifact_prefix="$dir/findings/$t-" \
        "$work" "tests/fuzz/corpus/${t#fuzz_}" >"$log" 2>&1; then
        status=ok
    else
        status=FAILED
        rc=1
        tail -n 60 "$log"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz: $t: $status, ${execs:-?} executions in $(($(date +%s) - start)) s (log: $log)"
done
exit $rc
