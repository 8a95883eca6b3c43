#!/usr/bin/env bash
# The .deb as a user gets it: cpack builds it, dpkg-deb -x unpacks it into a temporary
# root (the machine's /usr is not touched), and the installed tree alone (another cwd,
# PATH without the build tree) runs the main job: the default embedded storm, every
# guest ready. Its Depends cover every library the programs load; man pages render;
# the bash completion loads and completes. BOOTSTORM_REDIS / _COLLECTOR /
# _CURVE_SERVER_KEY stand for their options (an explicit option wins; the embedded
# set-up ignores them) and `bootstorm redis-cli` passes the password in REDISCLI_AUTH.
source "$BS_SOURCE/tests/integration/lib.sh"

for t in cpack dpkg-deb dpkg groff bash redis-cli objdump; do
    command -v "$t" >/dev/null || skip "$t not installed"
done
[ -f "$BS_BUILD/CPackConfig.cmake" ] || skip "no CPackConfig.cmake in $BS_BUILD"

# --- the package ---
(cd "$T_DIR" && cpack -G DEB --config "$BS_BUILD/CPackConfig.cmake" -B "$T_DIR/pkg") \
    >"$T_DIR/cpack.log" 2>&1 || fail "cpack failed: $(tail -5 "$T_DIR/cpack.log")"
DEB=$(ls "$T_DIR"/pkg/bootstorm_*.deb)
ROOT="$T_DIR/root"
dpkg-deb -x "$DEB" "$ROOT"
P="$ROOT/usr"
depends=$(dpkg-deb -f "$DEB" Depends)
size_kib=$(dpkg-deb -f "$DEB" Installed-Size)
real_kib=$(du -sk "$ROOT" | cut -f1)
[ "$size_kib" -le $((real_kib + 1024)) ] || fail "Installed-Size $size_kib KiB, the tree is $real_kib KiB"
for b in "$P"/lib/bootstorm/bin/*; do
    for so in $(objdump -p "$b" | awk '/NEEDED/ {print $2}'); do
        path=$(ldd "$b" | awk -v so="$so" '$1 == so {print $3}')
        pkg=$(dpkg -S "$path" 2>/dev/null || dpkg -S "/usr$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null || true)
        pkg=${pkg%%:*}
        [[ ", $depends," == *", $pkg,"* ]] || fail "$(basename "$b") needs $so ($pkg), not in Depends: $depends"
    done
done
! grep -rlF "$BS_BUILD" "$ROOT" >/dev/null || fail "the package refers to the build tree: $(grep -rlF "$BS_BUILD" "$ROOT")"
pass "$(basename "$DEB"): $(du -k "$DEB" | cut -f1) KiB, Installed-Size $size_kib KiB, Depends covers every NEEDED library"

# --- the installed tree alone ---
export PATH="$P/bin:/usr/sbin:/usr/bin:/sbin:/bin"
unset BOOTSTORM_REDIS BOOTSTORM_COLLECTOR BOOTSTORM_CURVE_SERVER_KEY BOOTSTORM_DATA BOOTSTORM_GUESTS BOOTSTORM_IMAGES
cd "$T_DIR"
[ "$(command -v bootstorm)" = "$P/bin/bootstorm" ] || fail "bootstorm is not the installed one"
v=$(bootstorm --version) && [ "$v" = "bootstorm $(dpkg-deb -f "$DEB" Version)" ] || fail "--version: $v"
bootstorm-collector --help | grep -q -- "--redis URL" || fail "bootstorm-collector --help"
bootstorm-launcher --version | grep -q "^bootstorm-launcher " || fail "bootstorm-launcher --version"
bootstorm guests list | grep -Eq "^minkernel +tested.*present" || fail "guests list: $(bootstorm guests list)"
pass "installed programs answer; profiles and images found beside them"

# The main job: `bootstorm run` with no file (the default storm), embedded. Shared
# daemons named in the environment must not leak into the embedded set-up.
DATA="$T_DIR/data"
BOOTSTORM_COLLECTOR=tcp://192.0.2.1:1 BOOTSTORM_CURVE_SERVER_KEY=/nonexistent \
    bootstorm --data-dir "$DATA" run >"$T_DIR/run.txt" 2>"$T_DIR/run.log" ||
    fail "the default storm from the installed tree exited $?: $(tail -5 "$T_DIR/run.log")"
n=$(awk '/^minkernel +qemu/ {print $4}' "$T_DIR/run.txt")
[ -n "$n" ] && [ "$n" -ge 1 ] || fail "no minkernel row: $(cat "$T_DIR/run.txt")"
grep -Eq "^minkernel +qemu +(kvm|tcg) +$n +$n +0 " "$T_DIR/run.txt" || fail "not all ready: $(cat "$T_DIR/run.txt")"
left=$(pgrep -f -- "$DATA" || true)
[ -z "$left" ] || fail "processes of the embedded set-up left behind: $left"
pass "default storm from the installed tree: $n of $n ready, every daemon stopped"

# --- redis-cli on the embedded Redis: real, then argv and environment seen by a stand-in ---
out=$(bootstorm --data-dir "$DATA" redis-cli ZCARD bs:runs) && [ "$out" = 1 ] || fail "redis-cli ZCARD bs:runs: $out"
mkdir "$T_DIR/fake"
printf '#!/bin/sh\necho "argv: $*"\necho "auth: ${REDISCLI_AUTH:-none}"\n' >"$T_DIR/fake/redis-cli"
chmod +x "$T_DIR/fake/redis-cli"
PATH="$T_DIR/fake:$PATH" bootstorm --data-dir "$DATA" redis-cli GET x >"$T_DIR/fake.txt"
pw=$(sed -n 's/^auth: //p' "$T_DIR/fake.txt")
[ -n "$pw" ] && [ "$pw" != none ] || fail "REDISCLI_AUTH not set: $(cat "$T_DIR/fake.txt")"
! grep -q -- "^argv:.*$pw" "$T_DIR/fake.txt" || fail "password on redis-cli's argv"
grep -Eq "^argv: -h 127.0.0.1 -p [0-9]+ -n 0 GET x$" "$T_DIR/fake.txt" || fail "argv: $(cat "$T_DIR/fake.txt")"
left=$(pgrep -f -- "$DATA" || true)
[ -z "$left" ] || fail "redis-cli left the embedded Redis running: $left"
pass "redis-cli: embedded Redis reached, password only in REDISCLI_AUTH, Redis stopped after"

# --- shared daemons from the environment ---
start_redis
EP="tcp://127.0.0.1:$(free_port)"
start_bg collector bootstorm-collector --bind "$EP" --redis "$REDIS_URL" --ready-file "$T_DIR/collector.ready"
wait_for 10 test -f "$T_DIR/collector.ready" || fail "collector not ready"
BOOTSTORM_COLLECTOR="$EP" start_bg launcher bootstorm-launcher --host envhost
wait_for 15 sh -c "redis-cli -p $REDIS_PORT SISMEMBER bs:hosts envhost | grep -q 1" ||
    fail "a launcher given BOOTSTORM_COLLECTOR never reached the collector"
export BOOTSTORM_REDIS="$REDIS_URL" BOOTSTORM_COLLECTOR="$EP"
bootstorm run "$P/share/bootstorm/scenarios/smoke.yaml" --count 2 --hosts envhost >"$T_DIR/env.txt" 2>"$T_DIR/env.log" ||
    fail "run with BOOTSTORM_REDIS and BOOTSTORM_COLLECTOR: $(tail -5 "$T_DIR/env.log")"
grep -Eq "^minkernel +qemu +(kvm|tcg) +2 +2 +0 " "$T_DIR/env.txt" || fail "env run: $(cat "$T_DIR/env.txt")"
[ "$(bootstorm redis-cli ZCARD bs:runs)" = 1 ] || fail "redis-cli with BOOTSTORM_REDIS"
[ "$(BOOTSTORM_REDIS=redis://127.0.0.1:1 bootstorm --redis "$REDIS_URL" redis-cli PING)" = PONG ] ||
    fail "--redis does not win over BOOTSTORM_REDIS"
set +e
BOOTSTORM_COLLECTOR=tcp://127.0.0.1:1 timeout 60 bootstorm run "$P/share/bootstorm/scenarios/smoke.yaml" \
    --count 1 --hosts envhost --collector "$EP" >/dev/null 2>"$T_DIR/win.log"
rc=$?
BOOTSTORM_CURVE_SERVER_KEY=/nonexistent bootstorm run --count 1 --hosts envhost >/dev/null 2>"$T_DIR/key.log"
krc=$?
set -e
[ "$rc" = 0 ] || fail "--collector does not win over BOOTSTORM_COLLECTOR (exit $rc): $(tail -3 "$T_DIR/win.log")"
[ "$krc" = 2 ] && grep -q nonexistent "$T_DIR/key.log" || fail "BOOTSTORM_CURVE_SERVER_KEY not used by run (exit $krc)"
unset BOOTSTORM_REDIS BOOTSTORM_COLLECTOR
pass "BOOTSTORM_REDIS, BOOTSTORM_COLLECTOR, BOOTSTORM_CURVE_SERVER_KEY used; explicit options win"

# --- man pages and completion ---
for m in bootstorm bootstorm-collector bootstorm-launcher bootstorm-simguest; do
    f="$P/share/man/man1/$m.1"
    [ -f "$f" ] || fail "no man page $m.1"
    warn=$(groff -man -Tutf8 -ww -z "$f" 2>&1)
    [ -z "$warn" ] || fail "$m.1: $warn"
    MANWIDTH=80 man -l "$f" 2>/dev/null | grep -q "^NAME" || fail "$m.1 does not render"
done
man -l "$P/share/man/man1/bootstorm.1" 2>/dev/null | grep -q BOOTSTORM_COLLECTOR || fail "bootstorm.1 lacks the environment"
comp="$P/share/bash-completion/completions/bootstorm"
got=$(bash -c 'source "$1" || exit 1; complete -p bootstorm >/dev/null || exit 1
    t() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _bootstorm; echo "${COMPREPLY[*]}"; }
    t bootstorm r; t bootstorm run --co; t bootstorm guests check minkernel-e' _ "$comp") ||
    fail "the completion file does not load"
[ "$got" = "$(printf 'run report runs rm redis-cli\n--count --collector\nminkernel-exit')" ] ||
    fail "completions: $got"
pass "4 man pages render without warnings; the bash completion loads and completes"
