#!/usr/bin/env bash
# The whole test suite on a fresh Debian 12: install dependencies, build (plain and
# with ASan/UBSan), run unit and integration tests through ctest, then a bounded run of
# each libFuzzer target (scripts/fuzz.sh, 30 s each, build-fuzz/). Tests start and
# stop their own redis-server, collector, launchers and QEMU guests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
BS_BUILD_DIR=build-asan scripts/build.sh -DBS_SANITIZE=ON
echo "== unit tests under ASan/UBSan"
(cd build-asan && ctest -L unit --output-on-failure)
echo "== all tests (the fuzz targets last: scripts/fuzz.sh, 30 s each)"
cd build && ctest --output-on-failure
