#!/usr/bin/env bash
# What `bootstorm run` refuses before anything is stored, and a user's own guest run
# through the embedded set-up: an unknown guest is refused with the known ones and no
# daemon starts; --count on a ramp scenario is refused; --guests/--image reach the
# embedded launcher, whose hello is awaited (the collector never refuses a start for
# want of a launcher); a remote launcher's refusal is printed and fails the run, its
# host named once; a guest whose spawn fails counts as failed with reason spawn.
source "$BS_SOURCE/tests/integration/lib.sh"

DATA="$T_DIR/data"
printf 'name: typo\nguest: minkernell\ncount: 2\n' >"$T_DIR/typo.yaml"
if "$BIN/bootstorm" --data-dir "$DATA" run "$T_DIR/typo.yaml" >"$T_DIR/typo.out" 2>"$T_DIR/typo.err"; then
    fail "a run of an unknown guest succeeded"
fi
grep -q "unknown guest 'minkernell' (known: .*minkernel, " "$T_DIR/typo.err" ||
    fail "unknown guest message: $(cat "$T_DIR/typo.err")"
[ ! -e "$DATA/redis" ] || fail "an unknown guest started the embedded Redis (something stored)"
pass "unknown guest refused before anything starts: $(cat "$T_DIR/typo.err")"

printf '0,1\n1,2\n' >"$T_DIR/ramp.csv"
printf 'name: r\nguest: minkernel\npattern: ramp\nramp: ramp.csv\n' >"$T_DIR/ramp.yaml"
if "$BIN/bootstorm" --data-dir "$DATA" run "$T_DIR/ramp.yaml" --count 16 2>"$T_DIR/ramp.err"; then
    fail "--count on a ramp scenario accepted"
fi
grep -q -- "--count does not apply to ramp scenario" "$T_DIR/ramp.err" || fail "ramp: $(cat "$T_DIR/ramp.err")"
pass "--count on a ramp scenario refused"

# A user's guest (process backend, its "image" a script named by --image NAME=PATH),
# from a folder of theirs, through the embedded launcher.
mkdir -p "$T_DIR/mine"
printf '#!/bin/sh\necho "mine: up"\necho "BOOTSTORM READY mine"\nexec sleep 60\n' >"$T_DIR/mine.sh"
printf 'name: mine\nkernel: mine.sh\nprocess:\n  argv: [sh, "{kernel}"]\nready: "BOOTSTORM READY mine"\n' \
    >"$T_DIR/mine/mine.yaml"
printf 'name: mine\nguest: mine\nbackend: process\ncount: 3\ntimeout_s: 20\n' >"$T_DIR/mine.yaml"
timeout 120 "$BIN/bootstorm" --data-dir "$DATA" run "$T_DIR/mine.yaml" --guests "$T_DIR/mine" \
    --image "mine.sh=$T_DIR/mine.sh" --json >"$T_DIR/mine.json" 2>"$T_DIR/mine.err" ||
    fail "embedded run of the user's guest: $(cat "$T_DIR/mine.err")"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["ready"]==3 and r["failed"]==0, r' \
    "$T_DIR/mine.json" || fail "user's guest not ready: $(cat "$T_DIR/mine.json")"
if grep -q "refused: no live launcher" "$DATA/collector.log"; then
    fail "the run was started before the launcher's hello: $(grep refused "$DATA/collector.log")"
fi
pass "a user's guest via --guests and --image: 3 ready; no start refused for want of a launcher"

# Remote launcher: it refuses the unknown guest; run prints why, exits non-zero.
start_stack remote --no-kvm --guests "$T_DIR/mine" --image "mine.sh=$T_DIR/mine.sh"
wait_for 20 host_up remote ||
    fail "remote launcher never said hello"
if timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/typo.yaml" --collector "$EP" \
        >"$T_DIR/remote.out" 2>"$T_DIR/remote.err"; then
    fail "remote run of an unknown guest exited 0: $(cat "$T_DIR/remote.out")"
fi
grep -q "remote: unknown guest 'minkernell' (known: .*minkernel" "$T_DIR/remote.err" ||
    fail "remote refusal not printed: $(cat "$T_DIR/remote.err")"
grep -q "remote: remote:" "$T_DIR/remote.err" "$T_DIR/remote.out" && fail "host prefix doubled"
pass "remote launcher's refusal printed once-prefixed, exit non-zero"

# A spawn that fails (no such program) is a failed guest with reason spawn and a detail.
printf 'name: nope\nkernel: mine.sh\nprocess:\n  argv: [/nonexistent/bs-guest]\nready: "never"\n' \
    >"$T_DIR/mine/nope.yaml"
printf 'name: nope\nguest: nope\nbackend: process\ncount: 2\ntimeout_s: 5\n' >"$T_DIR/nope.yaml"
timeout 60 "$BIN/bootstorm" --redis "$REDIS_URL" run "$T_DIR/nope.yaml" --collector "$EP" --json \
    >"$T_DIR/nope.json" 2>"$T_DIR/nope.err" && fail "a run whose spawns fail exited 0"
python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); assert r["failed"]==2 and r["ready"]==0, r' \
    "$T_DIR/nope.json" || fail "failed spawns not counted: $(cat "$T_DIR/nope.json")"
run=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/nope.json")
[ "$(guest_field "$run" remote:0 reason)" = spawn ] || fail "reason not spawn"
detail=$(guest_field "$run" remote:0 detail)
[ -n "$detail" ] || fail "no detail for the failed spawn"
pass "failed spawns: failed 2, reason spawn, detail: $detail"
