#!/usr/bin/env python3
"""Boots by spawn order, quarter by quarter: where in a burst two runs on the same
schedule differ (bench/storm.sh, SHAPE=ref). A per-guest p50 ratio says how much; this
says whether the first guests, the last, or all of them moved.

usage: quarters.py pair WHAT A B RECORD ACCEL N KIND
         A, B: one guest a line, "SPAWN_MS BOOT_MS" (BOOT_MS < 0: never ready), as
         ref_spawner -b writes; prints the p50 of each quarter of A and of B, guests
         taken in spawn order, and A/B; appends "ACCEL N KIND R1 R2 R3 R4" to RECORD
       quarters.py summary RECORD
         the median and range of each quarter's ratio, per ACCEL, N and KIND
       quarters.py from-csv CSV OUT
         a bootstorm export (--csv) as such a file: spawn_tr_ns and boot_ms
"""
import csv
import statistics
import sys

QUARTERS = 4


def load(path):
    """(spawn ms, boot ms) per guest in spawn order; guests never ready left out."""
    rows = []
    for line in open(path):
        f = line.split()
        if len(f) == 2 and float(f[1]) >= 0:
            rows.append((float(f[0]), float(f[1])))
    return sorted(rows)


def quarter_p50s(rows):
    n = len(rows)
    if n < QUARTERS:
        return None
    return [statistics.median(b for _, b in rows[k * n // QUARTERS:(k + 1) * n // QUARTERS])
            for k in range(QUARTERS)]


def pair(what, a, b, record, accel, n, kind):
    qa, qb = quarter_p50s(load(a)), quarter_p50s(load(b))
    if not qa or not qb:
        return
    ratios = [x / y for x, y in zip(qa, qb)]
    cells = " ".join("%.0f/%.0f (%.2f)" % (x, y, r) for x, y, r in zip(qa, qb, ratios))
    print("  %s by spawn order, p50 ms of each quarter: %s" % (what, cells))
    with open(record, "a") as fo:
        fo.write("%s %s %s %s\n" % (accel, n, kind, " ".join("%f" % r for r in ratios)))


def summary(record):
    by = {}
    for line in open(record):
        f = line.split()
        by.setdefault((f[0], int(f[1]), f[2]), []).append([float(x) for x in f[3:]])
    for (accel, n, kind), pairs in sorted(by.items()):
        cols = []
        for k in range(QUARTERS):
            v = sorted(p[k] for p in pairs)
            cols.append("q%d %.2f (%.2f-%.2f)" % (k + 1, statistics.median(v), v[0], v[-1]))
        print("%s x %d, %d pairs, %s by spawn order, median per quarter: %s" %
              (accel, n, len(pairs), kind, ", ".join(cols)))


def from_csv(path, out):
    rows = []
    for x in csv.DictReader(open(path)):
        if x.get("spawn_tr_ns"):
            boot = float(x["boot_ms"]) if x.get("boot_ms") else -1.0
            rows.append((int(x["spawn_tr_ns"]), boot))
    rows.sort()
    with open(out, "w") as fo:
        for t, b in rows:
            fo.write("%.3f %.3f\n" % ((t - rows[0][0]) / 1e6, b))


if __name__ == "__main__":
    cmd, args = sys.argv[1] if len(sys.argv) > 1 else "", sys.argv[2:]
    if cmd == "pair" and len(args) == 7:
        pair(*args)
    elif cmd == "summary" and len(args) == 1:
        summary(*args)
    elif cmd == "from-csv" and len(args) == 2:
        from_csv(*args)
    else:
        sys.exit(__doc__)
