#!/usr/bin/env bash
# Runs a C integration test binary with a real redis-server on a free port;
# the test reads the URL from BS_REDIS_URL.
source "$BS_SOURCE/tests/integration/lib.sh"
start_redis
BS_REDIS_URL="$REDIS_URL" BS_TMP="$T_DIR" "$1"
