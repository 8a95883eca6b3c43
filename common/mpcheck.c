/* MessagePack bound check (mpcheck.h): one pass over the bytes with a small stack of
 * "items left" per open array or map; nothing is allocated or copied. */
#include "mpcheck.h"

#include <stdint.h>
#include <stdio.h>

struct walk {
    const unsigned char *p;
    size_t len, off;
    uint64_t left[MP_MAX_DEPTH + 1]; /* items still to read at each open level */
    int depth;
    char *err;
    size_t errlen;
};

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* Reads an n-byte big-endian length or count after the tag; -1 if truncated. */
static int read_size(struct walk *w, int n, uint64_t *out)
{
    if (w->len - w->off < (size_t)n) {
        snprintf(w->err, w->errlen, "truncated message (%zu bytes)", w->len);
        return -1;
    }
    *out = be(w->p + w->off, n);
    w->off += (size_t)n;
    return 0;
}

/* Skips a payload of n bytes (str, bin, ext, numbers): it must fit in what is left.
 * what NULL: a fixed-size payload, so a short one is a truncation. */
static int skip(struct walk *w, uint64_t n, const char *what)
{
    if (n > w->len - w->off && !what) {
        snprintf(w->err, w->errlen, "truncated message (%zu bytes)", w->len);
        return -1;
    }
    if (n > w->len - w->off) {
        snprintf(w->err, w->errlen, "%s of %llu bytes declared, %zu bytes left", what,
                 (unsigned long long)n, w->len - w->off);
        return -1;
    }
    w->off += (size_t)n;
    return 0;
}

/* Opens an array or map of n items: each item takes at least one byte. */
static int open_level(struct walk *w, uint64_t items)
{
    if (items > w->len - w->off) {
        snprintf(w->err, w->errlen, "array or map of %llu items declared, %zu bytes left",
                 (unsigned long long)items, w->len - w->off);
        return -1;
    }
    if (items == 0)
        return 0;
    if (w->depth == MP_MAX_DEPTH) {
        snprintf(w->err, w->errlen, "nested deeper than %d levels", MP_MAX_DEPTH);
        return -1;
    }
    w->left[++w->depth] = items;
    return 0;
}

/* Fixed payload sizes after the tag byte for 0xc0..0xdf; -1: variable or invalid. */
static const signed char fixed_size[32] = {
    [0x00] = 0,  [0x01] = -1, [0x02] = 0,  [0x03] = 0,  [0x04] = -1, [0x05] = -1, [0x06] = -1,
    [0x07] = -1, [0x08] = -1, [0x09] = -1, [0x0a] = 4,  [0x0b] = 8,  [0x0c] = 1,  [0x0d] = 2,
    [0x0e] = 4,  [0x0f] = 8,  [0x10] = 1,  [0x11] = 2,  [0x12] = 4,  [0x13] = 8,  [0x14] = 2,
    [0x15] = 3,  [0x16] = 5,  [0x17] = 9,  [0x18] = 17, [0x19] = -1, [0x1a] = -1, [0x1b] = -1,
    [0x1c] = -1, [0x1d] = -1, [0x1e] = -1, [0x1f] = -1,
};

/* Variable-size tags: how many bytes the size takes, and what it sizes. */
static int variable(struct walk *w, unsigned char tag)
{
    static const struct {
        unsigned char tag, size_bytes, kind; /* kind: 0 payload, 1 array, 2 map */
        unsigned char extra;                 /* ext: the type byte */
    } rows[] = {
        {0xc4, 1, 0, 0}, {0xc5, 2, 0, 0}, {0xc6, 4, 0, 0}, {0xc7, 1, 0, 1}, {0xc8, 2, 0, 1},
        {0xc9, 4, 0, 1}, {0xd9, 1, 0, 0}, {0xda, 2, 0, 0}, {0xdb, 4, 0, 0}, {0xdc, 2, 1, 0},
        {0xdd, 4, 1, 0}, {0xde, 2, 2, 0}, {0xdf, 4, 2, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].tag != tag)
            continue;
        uint64_t n;
        if (read_size(w, rows[i].size_bytes, &n) < 0)
            return -1;
        if (rows[i].kind == 1)
            return open_level(w, n);
        if (rows[i].kind == 2)
            return open_level(w, 2 * n);
        return skip(w, n + rows[i].extra, tag >= 0xd9 ? "string" : "bin or ext");
    }
    snprintf(w->err, w->errlen, "malformed MessagePack (byte 0x%02x at %zu)", tag, w->off - 1);
    return -1;
}

/* Reads one tag and its payload, or opens a level for a container. */
static int step(struct walk *w)
{
    unsigned char tag = w->p[w->off++];
    if (tag <= 0x7f || tag >= 0xe0)
        return 0;
    if (tag <= 0x8f)
        return open_level(w, 2u * (tag & 0x0f));
    if (tag <= 0x9f)
        return open_level(w, tag & 0x0f);
    if (tag <= 0xbf)
        return skip(w, tag & 0x1f, "string");
    if (fixed_size[tag - 0xc0] >= 0)
        return skip(w, (uint64_t)fixed_size[tag - 0xc0], NULL);
    return variable(w, tag);
}

int mp_check(const void *data, size_t len, size_t *used, char *err, size_t errlen)
{
    struct walk w = {.p = data, .len = len, .err = err, .errlen = errlen};
    w.left[0] = 1; /* the one top-level object */
    while (w.depth > 0 || w.left[0] > 0) {
        if (w.left[w.depth] == 0) {
            w.depth--;
            continue;
        }
        if (w.off == w.len) {
            snprintf(err, errlen, "truncated message (%zu bytes)", len);
            return -1;
        }
        w.left[w.depth]--; /* this item is consumed before its children are opened */
        if (step(&w) < 0)
            return -1;
    }
    *used = w.off;
    return 0;
}
