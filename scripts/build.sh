#!/usr/bin/env bash
# Configures and builds bootstorm into build/ (programs in build/bin/).
# BS_BUILD_DIR and extra cmake arguments may be given: scripts/build.sh -DBS_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${BS_BUILD_DIR:-build}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"
