#!/usr/bin/env bash
# `bootstorm report RUN --html FILE` on a real small run (a process guest of the test's
# own: 8 guests, 2 of them crash by index, a marker, boots spread over ~200 ms): the file
# parses as nested HTML (python3's html.parser), has the run id and the scenario in its
# title, the tables (summary with the JSON report's p50, phases, hosts, the failed
# guests with their reasons) and two inline SVG charts; text from Redis is escaped; no
# external reference, no script. Then headless Chromium renders it to a PNG, which must
# not be blank and must show the charts' line colour. No chromium: skipped, visibly.
source "$BS_SOURCE/tests/integration/lib.sh"

mkdir -p "$T_DIR/g"
# guest N of the run: crashes when N % 4 == 2, else "boots" in 20 ms * (N + 1)
cat >"$T_DIR/mine.sh" <<'SH'
#!/bin/sh
n=$(echo "${1##*-}" | sed 's/^0*//')
n=${n:-0}
echo "mine: start"
[ $((n % 4)) -eq 2 ] && exit 1
sleep "0.$(printf '%03d' $((20 * (n + 1))))"
echo "BOOTSTORM READY mine"
exec sleep 60
SH
printf 'name: mine\nkernel: mine.sh\nprocess:\n  argv: [sh, "{kernel}", "{id}"]\nready: "BOOTSTORM READY mine"\nmarkers:\n  - {name: start, regex: "mine: start"}\n' \
    >"$T_DIR/g/mine.yaml"
printf 'name: html-demo\nguest: mine\nbackend: process\ncount: 8\npattern: burst\ntimeout_s: 20\n' \
    >"$T_DIR/run.yaml"
start_stack htmlhost --guests "$T_DIR/g" --image "mine.sh=$T_DIR/mine.sh"
wait_for 10 sh -c "redis-cli -p $REDIS_PORT SISMEMBER bs:hosts htmlhost | grep -q 1" ||
    fail "launcher htmlhost never said hello"
BS=("$BIN/bootstorm" --redis "$REDIS_URL")

rc=0
"${BS[@]}" run "$T_DIR/run.yaml" --collector "$EP" --json >"$T_DIR/run.json" || rc=$?
[ "$rc" = 1 ] || fail "run exited $rc (1 expected: 2 guests crash): $(cat "$T_DIR/run.json")"
RUN=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["ready"]==6 and d["failed"]==2, d; print(d["run"])' \
    "$T_DIR/run.json") || fail "not 6 ready, 2 failed: $(cat "$T_DIR/run.json")"
# text a remote host could have sent, to be escaped
rcli HSET "bs:{$RUN}:meta" "missing:<i>h&x</i>" "gone <script>alert(1)</script>" >/dev/null
"${BS[@]}" report "$RUN" --json >"$T_DIR/report.json" || fail "report --json"
pass "run $RUN: 6 ready, 2 crashed"

"${BS[@]}" report "$RUN" --html "$T_DIR/report.html" || fail "report --html exited $?"
python3 - "$T_DIR/report.html" "$RUN" "$T_DIR/report.json" <<'PY' || fail "HTML checks"
import json, re, sys
from html.parser import HTMLParser

VOID = {"meta", "br", "line", "rect", "polyline", "path", "circle", "img", "hr"}

class Check(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.count, self.text, self.title = [], {}, [], ""
        self.cells, self.row, self.in_cell = [], None, False

    def handle_starttag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1
        for k, v in attrs:
            assert not k.startswith("on"), ("event handler", tag, k)
            if k in ("src", "href") or (k == "xmlns" and tag != "svg"):
                raise AssertionError(("external reference", tag, k, v))
        if tag == "tr":
            self.row = []
        if tag in ("td", "th"):
            self.in_cell = True
            self.row.append("")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.count[tag] = self.count.get(tag, 0) + 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, ("unbalanced", tag, self.stack[-5:])
        self.stack.pop()
        if tag in ("td", "th"):
            self.in_cell = False
        if tag == "tr":
            self.cells.append(self.row)

    def handle_data(self, data):
        if self.stack and self.stack[-1] == "title" and "svg" not in self.stack:
            self.title += data
        if self.in_cell:
            self.row[-1] += data
        self.text.append(data)

path, run, rep = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
raw = open(path, encoding="utf-8").read()
p = Check()
p.feed(raw)
p.close()
assert p.stack == [], ("unclosed", p.stack)
assert raw.startswith("<!DOCTYPE html>"), raw[:40]
assert run in p.title and "8 x mine" in p.title and "htmlhost" in p.title, p.title
assert p.count.get("svg") == 2 and p.count.get("polyline") == 2, p.count
assert "script" not in p.count and "i" not in p.count, p.count  # escaped, not elements
assert "&lt;script&gt;alert(1)&lt;/script&gt;" in raw and "&lt;i&gt;h&amp;x&lt;/i&gt;" in raw
text = "".join(p.text)
assert "boot time CDF" in text and "guests ready over time" in text, text[:500]
assert re.search(r"p50 [\d.]+ ms", text) and re.search(r"p99 [\d.]+ ms", text), text
rows = {r[0]: r for r in p.cells if r}
head = next(r for r in p.cells if r and r[0] == "guest" and "p50 ms" in r)
summ = rows["mine"]
assert summ[head.index("p50 ms")] == "%.1f" % rep["boot_ms"]["p50"], (summ, rep["boot_ms"])
assert summ[head.index("ready")] == "6" and summ[head.index("failed")] == "2", summ
assert "htmlhost" in rows, rows.keys()
phases = [r[0] for r in p.cells if r and r[0].startswith(("spawn", "1st"))]
assert phases[:3] == ["spawn -> spawned", "spawned -> 1st output", "1st output -> ready"], phases
assert "spawn -> start" in phases, phases
failed = [r for r in p.cells if len(r) == 5 and r[1] == "htmlhost" and r[3] != "state"]
assert len(failed) == 2 and all(r[4] not in ("", "-") for r in failed), failed
assert sorted(int(r[0].rsplit(":", 1)[-1]) for r in failed) == [2, 6], failed
print("html ok: %d bytes, tags %s, failed %s" % (len(raw), p.count, failed))
PY
pass "HTML: nested, title with the run and scenario, tables, 2 SVG charts, strings escaped"

command -v chromium >/dev/null 2>&1 ||
    skip "chromium not installed (scripts/install-deps.sh installs it): HTML checked, not rendered"
timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T_DIR/chromium" \
    --screenshot="$T_DIR/report.png" --window-size=1200,1600 "file://$T_DIR/report.html" \
    >"$T_DIR/chromium.log" 2>&1 || fail "chromium exited $?: $(tail -5 "$T_DIR/chromium.log")"
[ -s "$T_DIR/report.png" ] || fail "chromium wrote no PNG: $(tail -5 "$T_DIR/chromium.log")"
[ -z "${BS_KEEP_PNG:-}" ] || cp "$T_DIR/report.png" "$BS_KEEP_PNG"
python3 - "$T_DIR/report.png" <<'PY' || fail "the rendered PNG"
import struct, sys, zlib

data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
pos, idat, ihdr = 8, b"", None
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8])
    body = data[pos + 8:pos + 8 + n]
    if kind == b"IHDR":
        ihdr = struct.unpack(">IIBBBBB", body)
    elif kind == b"IDAT":
        idat += body
    pos += 12 + n
w, h, depth, ctype, _, _, interlace = ihdr
assert depth == 8 and ctype in (2, 6) and not interlace, ihdr
bpp = 3 if ctype == 2 else 4
raw, stride = zlib.decompress(idat), w * bpp
prev, px = bytearray(stride), []
for y in range(h):  # undo the PNG filters, row by row
    f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
    for i in range(stride):
        a = line[i - bpp] if i >= bpp else 0
        b, c = prev[i], prev[i - bpp] if i >= bpp else 0
        if f == 1: line[i] = (line[i] + a) & 255
        elif f == 2: line[i] = (line[i] + b) & 255
        elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
        elif f == 4:
            pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
            line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    px.extend(bytes(line[i:i + 3]) for i in range(0, stride, bpp))
    prev = line
colors = set(px)
nonwhite = sum(1 for p in px if p != b"\xff\xff\xff")
blue = sum(1 for p in px if abs(p[0] - 0x1f) < 40 and abs(p[1] - 0x77) < 40 and abs(p[2] - 0xb4) < 40)
print("png %dx%d: %d colours, %d non-white pixels (%.1f%%), %d of the lines' blue" %
      (w, h, len(colors), nonwhite, 100.0 * nonwhite / len(px), blue))
assert len(colors) > 16, len(colors)
assert nonwhite > 0.02 * len(px), nonwhite
assert blue > 300, blue
PY
pass "chromium rendered the report: not blank, the charts' lines drawn"
