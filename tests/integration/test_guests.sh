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
# The untested profiles as their systems' sources describe them (docs/GUESTS.md): Embox
# ready by HTTP, IncludeOS through its chainloader with the service as the module.
grep -Eq '^embox +untested +http ' "$T_DIR/list.log" || fail "embox not untested/http"
grep -Eq '^includeos +untested +console +kernel=chainloader .*initrd=service ' "$T_DIR/list.log" ||
    fail "includeos not listed with chainloader + service: $(grep includeos "$T_DIR/list.log")"
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

# Process-backend profiles (process.argv only) are listed and booted, not "libvirt only".
grep -Eq '^sim +tested +console +\[process backend\]' "$T_DIR/list.log" ||
    fail "sim not listed as a process-backend profile: $(grep '^sim' "$T_DIR/list.log")"
grep -Eq '^solo5-hvt +tested .*\[process backend\]' "$T_DIR/list.log" || fail "solo5-hvt listing"
check sim sim --console
grep -q 'process backend, accel none' "$T_DIR/sim.log" || fail "sim: $(cat "$T_DIR/sim.log")"
grep -q 'marker start' "$T_DIR/sim.log" && grep -q 'ready (console)' "$T_DIR/sim.log" ||
    fail "sim not ready: $(cat "$T_DIR/sim.log")"
pass "guests check sim (process backend)"
RG=${BOOTSTORM_REAL_GUESTS:-}
if [ -n "$RG" ] && [ -x "$RG/solo5/solo5-hvt" ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
    PATH="$RG/solo5:$PATH" check solo5-hvt hvt --image "kernel=$RG/solo5/test_hello.hvt"
    grep -q 'ready (console)' "$T_DIR/hvt.log" || fail "solo5-hvt: $(cat "$T_DIR/hvt.log")"
    pass "guests check solo5-hvt (process backend, Solo5's tender)"
else
    echo "SKIP (part): solo5-hvt check needs BOOTSTORM_REAL_GUESTS and a usable /dev/kvm"
fi

# A user's own profile in their own folder (--guests, or BOOTSTORM_GUESTS), its image
# named by file (--image NAME=PATH). The guest writes "\n\r" line ends and an escape
# sequence, and leaves its last line unfinished: --console shows each line once, with
# no control byte that would let the terminal overwrite the timeline with stale bytes.
mkdir -p "$T_DIR/mine" "$T_DIR/myimages"
printf '#!/bin/sh\nprintf "mine: up\\n\\rmine: \\033[1mbold\\033[0m\\n\\rBOOTSTORM READY mine\\n\\rmine: tail"\nsleep 30\n' \
    >"$T_DIR/myimages/mine.sh"
cat >"$T_DIR/mine/mine.yaml" <<'Y'
name: mine
kernel: mine-image.sh
process:
  argv: [sh, "{kernel}"]
ready: 'BOOTSTORM READY mine'
markers:
  - {name: up, regex: 'mine: up'}
Y
timeout 30 "$BIN/bootstorm" guests check mine --guests "$T_DIR/mine" \
    --image "mine-image.sh=$T_DIR/myimages/mine.sh" --console >"$T_DIR/mine.log" 2>&1 ||
    fail "guests check mine: $(cat "$T_DIR/mine.log")"
grep -q 'ready (console)' "$T_DIR/mine.log" || fail "mine not ready: $(cat "$T_DIR/mine.log")"
if LC_ALL=C grep -q $'[\r\033]' "$T_DIR/mine.log"; then
    fail "control bytes reach the terminal: $(cat -A "$T_DIR/mine.log")"
fi
grep -q '|  *mine: .\[1mbold.\[0m$' "$T_DIR/mine.log" || fail "escape not shown as '.': $(cat -A "$T_DIR/mine.log")"
[ "$(grep -c '| BOOTSTORM READY mine$' "$T_DIR/mine.log")" -eq 1 ] ||
    fail "ready line not shown exactly once: $(cat -A "$T_DIR/mine.log")"
BOOTSTORM_GUESTS="$T_DIR/mine" BOOTSTORM_IMAGES="$T_DIR/myimages" "$BIN/bootstorm" guests list \
    >"$T_DIR/mine-list.log" 2>&1 || true
grep -Eq '^mine +tested +console +kernel=mine-image.sh \(missing\)' "$T_DIR/mine-list.log" ||
    fail "BOOTSTORM_GUESTS not used: $(cat "$T_DIR/mine-list.log")"
grep -q "guests folders: $T_DIR/mine " "$T_DIR/mine-list.log" || fail "guests folders not listed"
pass "a user's profile through --guests / BOOTSTORM_GUESTS and --image NAME=PATH; console shown clean"

# An unknown guest is refused with the list of known ones.
"$BIN/bootstorm" guests check minkernell >"$T_DIR/unknown.log" 2>&1 && fail "unknown guest accepted"
grep -q "unknown guest 'minkernell' (known: .*minkernel, " "$T_DIR/unknown.log" ||
    fail "unknown guest message: $(cat "$T_DIR/unknown.log")"
pass "unknown guest refused with the known ones"
