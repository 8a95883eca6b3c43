#!/usr/bin/env bash
# Live progress of `bootstorm run` on stderr: plain lines (every 5 s and one at the end
# with the final counts) when stderr is a file, one line redrawn in place (\r, cleared)
# on a terminal (a pty from util-linux `script`), none with --quiet; stdout keeps only
# the JSON report. Real redis-server, collector, launcher, simulated guests.
source "$BS_SOURCE/tests/integration/lib.sh"

[ -x "$BIN/bootstorm-simguest" ] || skip "no bootstorm-simguest in $BIN"
start_stack prog
wait_for 15 host_up prog ||
    fail "launcher prog never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")
scenario() { # $1 file, $2 count, $3 hold_s
    printf 'name: progress\nguest: sim\nbackend: process\ncount: %s\npattern: burst\ntimeout_s: 30\nhold_s: %s\n' \
        "$2" "$3" >"$1"
}

# --- not a terminal: plain lines, the last one with the final counts; stdout is JSON only
scenario "$T_DIR/long.yaml" 6 6
"${BS[@]}" run "$T_DIR/long.yaml" --collector "$EP" --json >"$T_DIR/long.json" 2>"$T_DIR/long.err" ||
    fail "run exited $?: $(cat "$T_DIR/long.err")"
RUN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["run"])' "$T_DIR/long.json") ||
    fail "stdout is not one JSON report: $(cat "$T_DIR/long.json")"
[ "$(wc -l <"$T_DIR/long.json")" -eq 1 ] || fail "stdout has more than the report"
python3 - "$T_DIR/long.err" "$RUN" <<'PY' || fail "progress lines wrong: $(cat "$T_DIR/long.err")"
import re, sys
text = open(sys.argv[1], newline="").read()
assert "\r" not in text and "\033" not in text, repr(text)
pat = re.compile(r"^run (\S+): (\d+)/(\d+) spawned, (\d+) ready, (\d+) failed, ([\d.]+) s, ([\d.]+) ready/s$")
lines = [m for m in map(pat.match, text.splitlines()) if m]
# first tick, one 5 s later (the run holds 6 s), the end
assert len(lines) >= 3, text
assert all(m.group(1) == sys.argv[2] for m in lines), text
last = lines[-1].groups()
assert last[1:5] == ("6", "6", "6", "0"), last
t = [float(m.group(6)) for m in lines]
assert t == sorted(t) and t[-1] >= 6 and 4 <= t[1] - t[0] <= 6.5, t
print("%d plain lines, last: %s" % (len(lines), lines[-1].group(0)))
PY
pass "progress on a file: plain lines every 5 s, final counts at the end"

# --- a terminal: the line redrawn in place
scenario "$T_DIR/short.yaml" 4 1
CMD=$(printf '%q ' "${BS[@]}" run "$T_DIR/short.yaml" --collector "$EP")
script -qec "$CMD" /dev/null </dev/null >"$T_DIR/tty.out" 2>&1 ||
    fail "run on a pty exited $?: $(cat "$T_DIR/tty.out")"
python3 - "$T_DIR/tty.out" <<'PY' || fail "no in-place progress on a pty: $(cat -A "$T_DIR/tty.out")"
import re, sys
text = open(sys.argv[1], encoding="utf-8", errors="replace", newline="").read()
redraws = re.findall(r"\r\033\[Krun \S+: (\d+)/(\d+) spawned, (\d+) ready, (\d+) failed, [\d.]+ s, ([\d.]+) ready/s", text)
assert len(redraws) >= 2, redraws
assert redraws[-1][:4] == ("4", "4", "4", "0"), redraws
# ready/s over the last 3 s: some redraw saw the 4 guests come up, none more than 4 per 0.1 s
rates = [float(r[4]) for r in redraws]
assert 0 < max(rates) <= 40, rates
print("%d redraws, last %s, rates %s" % (len(redraws), redraws[-1], rates))
PY
pass "progress on a terminal: one line redrawn with \\r"

# --- --quiet: none
"${BS[@]}" run "$T_DIR/short.yaml" --collector "$EP" --quiet >"$T_DIR/quiet.out" 2>"$T_DIR/quiet.err" ||
    fail "quiet run exited $?: $(cat "$T_DIR/quiet.err")"
grep -q "ready/s" "$T_DIR/quiet.err" && fail "--quiet printed progress: $(cat "$T_DIR/quiet.err")"
grep -q "^run " "$T_DIR/quiet.out" || grep -q "ready" "$T_DIR/quiet.out" ||
    fail "no report on stdout: $(cat "$T_DIR/quiet.out")"
pass "--quiet prints no progress"
