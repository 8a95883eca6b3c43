#!/usr/bin/env bash
# The main job on a fresh Debian 12: install dependencies, build, then run the default
# boot storm (64 minkernel guests at once) on an embedded local Redis + collector +
# launcher and print the report. Everything started is stopped again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
exec build/bin/bootstorm run scenarios/default.yaml "$@"
