#!/usr/bin/env bash
# Guest profiles end to end: every shipped profile parses and is listed with its
# status; `guests check` boots minkernel (console, debugcon and exit readiness) and
# prints the phase timeline; a broken profile is refused naming FILE:LINE: key.
source "$BS_SOURCE/tests/integration/lib.sh"

"$BIN/bootstorm" guests list >"$T_DIR/list.log" 2>&1 || { cat "$T_DIR/list.log"; fail "guests list"; }
for f in "$BS_SOURCE"/guests/*.yaml; do
    n=$(basename "$f" .yaml)
    grep -Eq "^$n +(tested|untested) " "$T_DIR/list.log" || fail "guests list lacks $n"
done
grep -Eq '^minkernel +tested +console +kernel=minkernel.elf \(present\)' "$T_DIR/list.log" ||
    fail "minkernel not listed as present"
grep -Eq '^osv +untested ' "$T_DIR/list.log" || fail "osv not untested"
pass "guests list: $(ls "$BS_SOURCE"/guests/*.yaml | wc -l) profiles"

check() { # NAME LOG [args]: guests check must succeed
    local name=$1 log=$2; shift 2
    timeout 60 "$BIN/bootstorm" guests check "$name" --accel tcg --timeout-s 30 "$@" \
        >"$T_DIR/$log.log" 2>&1 || fail "guests check $name: $(cat "$T_DIR/$log.log")"
}
check minkernel mk
for ev in spawn first_output 'marker entry' 'ready \(console\)'; do
    grep -Eq "^ *[0-9.]+ ms  $ev" "$T_DIR/mk.log" || fail "minkernel timeline lacks $ev"
done
pass "guests check minkernel: $(grep ready "$T_DIR/mk.log")"
check minkernel-debugcon dbg
grep -q 'ready (debugcon)' "$T_DIR/dbg.log" || fail "debugcon ready missing"
pass "guests check minkernel-debugcon"
check minkernel-exit exit
grep -q 'ready (exit status 1)' "$T_DIR/exit.log" || fail "exit ready missing"
grep -q 'marker exit' "$T_DIR/exit.log" || fail "exit marker missing"
pass "guests check minkernel-exit"
check minkernel-pc pc
pass "guests check minkernel-pc"

# Not ready: a guest whose ready line never comes fails with the reason, exit 1.
mkdir -p "$T_DIR/g"
sed "s/^ready: .*/ready: 'NEVER PRINTED'/" "$BS_SOURCE/guests/minkernel.yaml" >"$T_DIR/g/never.yaml"
sed -i 's/^name: .*/name: never/' "$T_DIR/g/never.yaml"
if "$BIN/bootstorm" guests check never --guests-dir "$T_DIR/g" --images-dir "$BS_BUILD/images" \
        --accel tcg --timeout-s 1 >"$T_DIR/never.log" 2>&1; then
    fail "a guest that never gets ready passed"
fi
grep -q 'not ready: timeout after 1 s' "$T_DIR/never.log" || fail "no timeout reason: $(cat "$T_DIR/never.log")"
pass "guests check reports a timeout"

# A broken copy (typo in a placeholder, line 11) is refused with file, line and key.
sed 's/"{kernel}"/"{kernal}"/' "$BS_SOURCE/guests/minkernel.yaml" >"$T_DIR/g/broken.yaml"
line=$(grep -n '{kernal}' "$T_DIR/g/broken.yaml" | cut -d: -f1)
"$BIN/bootstorm" guests list --guests-dir "$T_DIR/g" >"$T_DIR/broken.log" 2>&1 &&
    fail "guests list accepted a broken profile"
grep -q "broken.yaml:$line: key 'qemu.argv': unknown placeholder {kernal}" "$T_DIR/broken.log" ||
    fail "broken profile message: $(cat "$T_DIR/broken.log")"
"$BIN/bootstorm" guests check broken --guests-dir "$T_DIR/g" >"$T_DIR/broken2.log" 2>&1 &&
    fail "guests check accepted a broken profile"
grep -q "broken.yaml:$line: key 'qemu.argv'" "$T_DIR/broken2.log" || fail "check: $(cat "$T_DIR/broken2.log")"
pass "broken profile refused at broken.yaml:$line"
