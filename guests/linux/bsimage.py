#!/usr/bin/env python3
"""Image helpers for guests/linux/build.sh (no root needed, no cpio binary needed).

  bsimage.py extract BZIMAGE OUT   the uncompressed vmlinux (ELF, PVH entry) inside a
                                   bzImage, as the kernel's scripts/extract-vmlinux does:
                                   find a compressor's magic, decompress, keep it if ELF
  bsimage.py cpio DIR OUT.cpio.gz  a newc cpio of DIR (owner root, fixed mtime, sorted,
                                   so the same input gives the same bytes) plus
                                   /dev/console, gzip-compressed
"""
import gzip
import io
import lzma
import os
import stat
import subprocess
import sys
import zlib

# (name, magic, how to decompress from that offset); the order of extract-vmlinux.
MAGICS = [
    ("gzip", b"\x1f\x8b\x08", None),
    ("xz", b"\xfd7zXZ\x00", None),
    ("lz4", b"\x02\x21\x4c\x18", ["lz4", "-dc"]),
    ("zstd", b"\x28\xb5\x2f\xfd", ["zstd", "-dc"]),
]


def decompress(kind, data, cmd):
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
    if kind == "xz":
        return lzma.LZMADecompressor().decompress(data)
    # lz4/zstd: the CLI tools; trailing bytes after the stream make them complain,
    # so their exit status is ignored and the output judged by its ELF magic.
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return p.stdout


def extract(src, dst):
    data = open(src, "rb").read()
    for kind, magic, cmd in MAGICS:
        pos = data.find(magic)
        while pos >= 0:
            try:
                out = decompress(kind, data[pos:], cmd)
            except (OSError, zlib.error, lzma.LZMAError, EOFError):
                out = b""
            if out[:4] == b"\x7fELF":
                with open(dst, "wb") as f:
                    f.write(out)
                print("bsimage: %s-compressed vmlinux at offset %d, %d bytes" % (kind, pos, len(out)))
                return 0
            pos = data.find(magic, pos + 1)
    print("bsimage: no compressed ELF found in %s" % src, file=sys.stderr)
    return 1


def cpio_entry(out, name, mode, data=b"", rdev=(0, 0), ino=[0]):
    ino[0] += 1
    name_b = name.encode() + b"\0"
    fields = [ino[0], mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(name_b), 0]
    out.write(b"070701" + b"".join(b"%08X" % f for f in fields))
    out.write(name_b)
    out.write(b"\0" * (-(110 + len(name_b)) % 4))
    out.write(data)
    out.write(b"\0" * (-len(data) % 4))


def cpio(root, dst):
    buf = io.BytesIO()
    entries = []
    for d, dirs, files in os.walk(root):
        for n in dirs + files:
            entries.append(os.path.join(d, n))
    for path in sorted(entries):
        rel = os.path.relpath(path, root)
        st = os.lstat(path)
        perm = stat.S_IMODE(st.st_mode)
        if stat.S_ISLNK(st.st_mode):
            cpio_entry(buf, rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
        elif stat.S_ISDIR(st.st_mode):
            cpio_entry(buf, rel, stat.S_IFDIR | perm)
        else:
            cpio_entry(buf, rel, stat.S_IFREG | perm, open(path, "rb").read())
    # The kernel opens /dev/console for init's stdio before init runs.
    cpio_entry(buf, "dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1))
    cpio_entry(buf, "TRAILER!!!", 0)
    with open(dst, "wb") as f:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=9, mtime=0) as g:
            g.write(buf.getvalue())
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "extract":
        return extract(argv[2], argv[3])
    if len(argv) == 4 and argv[1] == "cpio":
        return cpio(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
