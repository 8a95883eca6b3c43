/* Config-file helpers over libfyaml: file reading, parsing with the library kept
 * quiet, node lines and scalar conversion, all reporting as "FILE:LINE: key 'K': ...".
 * Key tables and validation belong to the parsers (scenario.c, profile.c). */
#include "yamlcfg.h"
#include "event.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (1 << 20)

int ycfg_fail(const struct ycfg *c, int line, const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (key)
        snprintf(c->err, c->errlen, "%s:%d: key '%s': %s", c->file, line, key, msg);
    else
        snprintf(c->err, c->errlen, "%s:%d: %s", c->file, line, msg);
    return -1;
}

int ycfg_read_file(const struct ycfg *c, char **text, size_t *len)
{
    FILE *f = fopen(c->file, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0, got;
    if (!f) {
        snprintf(c->err, c->errlen, "%s: %s", c->file, strerror(errno));
        return -1;
    }
    do { /* read, not stat: a FIFO or /dev/zero has no useful size */
        if (cap - n < 2) {
            char *nb = cap < MAX_FILE_BYTES ? realloc(buf, cap + 65536) : NULL;
            if (!nb) {
                snprintf(c->err, c->errlen,
                         "%s: larger than %d bytes (the limit for a config file)"
                         " or out of memory",
                         c->file, MAX_FILE_BYTES);
                goto fail;
            }
            buf = nb;
            cap += 65536;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror(f)) {
        snprintf(c->err, c->errlen, "%s: read error", c->file);
        goto fail;
    }
    fclose(f);
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return 0;
fail:
    fclose(f);
    free(buf);
    return -1;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if there is none:
 * no overlong forms, surrogates or code points above U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    size_t len = s[0] < 0x80 ? 1 : s[0] < 0xc2 ? 0 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
    if (len == 0 || len > n || s[0] > 0xf4)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* What libfyaml must not see, or NULL, with its 1-based line in *line. YAML is UTF-8,
 * and libfyaml 0.7.12 loops forever on some invalid bytes (the 2-byte directive
 * "%\xaa") and dereferences NULL on a tab in a complex key ("? a:\t:", 6 bytes); both
 * found by tests/fuzz. Tabs have no use in our files: YAML indents with spaces, and a
 * tab inside a string can be written "\t". */
static const char *text_problem(const char *text, size_t len, int *line)
{
    const unsigned char *s = (const unsigned char *)text;
    *line = 1;
    for (size_t i = 0, n; i < len; i += n) {
        if (!(n = utf8_seq(s + i, len - i)))
            return "not valid UTF-8 (a config file must be UTF-8 text)";
        if (s[i] == '\t')
            return "a tab character (indent with spaces; write a tab in a string as \"\\t\")";
        *line += s[i] == '\n';
    }
    return NULL;
}

/* Returns the first alias node under n (depth-first), or NULL. The document is not
 * resolved, so this walk is linear in the file; libfyaml's depth limit (64) bounds
 * the recursion. */
static struct fy_node *find_alias(struct fy_node *n)
{
    void *it = NULL;
    struct fy_node *hit = NULL;
    if (!n)
        return NULL;
    if (fy_node_is_alias(n))
        return n;
    if (fy_node_is_sequence(n)) {
        struct fy_node *v;
        while (!hit && (v = fy_node_sequence_iterate(n, &it)))
            hit = find_alias(v);
    } else if (fy_node_is_mapping(n)) {
        struct fy_node_pair *p;
        while (!hit && (p = fy_node_mapping_iterate(n, &it))) {
            hit = find_alias(fy_node_pair_key(p));
            if (!hit)
                hit = find_alias(fy_node_pair_value(p));
        }
    }
    return hit;
}

/* Refuses what the key tables never need and an attacker can use: aliases (*name) expand
 * to copies of their anchor's tree, so nested ones ("billion laughs") take gigabytes. */
static int check_root(const struct ycfg *c, struct fy_node *root)
{
    struct fy_node *alias = find_alias(root);
    if (alias) {
        int line = ycfg_line(alias);
        return ycfg_fail(c, line ? line : 1, NULL,
                         "YAML aliases (*name) are not allowed in config files");
    }
    if (!root || !fy_node_is_mapping(root)) {
        int line = ycfg_line(root);
        return ycfg_fail(c, line ? line : 1, NULL, "expected a mapping of keys, got %s",
                         root ? ycfg_kind(root) : "nothing");
    }
    return 0;
}

struct fy_document *ycfg_parse(const struct ycfg *c, const char *text, size_t len)
{
    struct fy_document *doc = NULL;
    struct fy_diag_cfg dc;
    int line;
    const char *bad = text_problem(text, len, &line);
    if (bad) {
        ycfg_fail(c, line, NULL, "%s", bad);
        return NULL;
    }
    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (!diag) {
        ycfg_fail(c, 1, NULL, "out of memory");
        return NULL;
    }
    /* Collected instead of printed: a library must not write to stderr, and the
     * user gets one message in our format rather than libfyaml's banner. */
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pc = {
        .flags = FYPCF_QUIET | FYPCF_COLLECT_DIAG | FYPCF_DEFAULT_VERSION_1_2, /* never resolved */
        .diag = diag,
    };
    doc = fy_document_build_from_string(&pc, text, len);
    if (!doc) {
        void *it = NULL;
        struct fy_diag_error *e = fy_diag_errors_iterate(diag, &it);
        if (e) /* e->line is already 1-based */
            ycfg_fail(c, e->line > 0 ? e->line : 1, NULL, "not valid YAML: %s", e->msg);
        else
            ycfg_fail(c, 1, NULL, "empty, expected a mapping of keys");
        goto fail;
    }
    if (check_root(c, fy_document_root(doc)) < 0)
        goto fail;
    /* destroy, not unref: only destroy frees the collected errors; the document
     * keeps its own reference */
    fy_diag_destroy(diag);
    return doc;
fail:
    fy_document_destroy(doc);
    fy_diag_destroy(diag);
    return NULL;
}

int ycfg_line(struct fy_node *n)
{
    /* libfyaml 0.7 has no node marks, only token marks: descend to the first scalar. */
    while (n) {
        void *it = NULL;
        if (fy_node_is_scalar(n)) {
            struct fy_token *t = fy_node_get_scalar_token(n);
            const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
            return m ? m->line + 1 : 0;
        }
        if (fy_node_is_sequence(n)) {
            n = fy_node_sequence_iterate(n, &it);
        } else {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
        }
    }
    return 0;
}

const char *ycfg_kind(struct fy_node *n)
{
    return fy_node_is_sequence(n) ? "a list" : fy_node_is_mapping(n) ? "a mapping" : "a scalar";
}

int ycfg_text(const struct ycfg *c, const char *key, int line, struct fy_node *v, char *dst,
              size_t cap)
{
    const char *s = NULL;
    size_t len = 0;
    if (v && !fy_node_is_scalar(v))
        return ycfg_fail(c, line, key, "expected a string, got %s", ycfg_kind(v));
    if (v)
        s = fy_node_get_scalar(v, &len);
    if (!s) {
        s = "";
        len = 0;
    }
    if (len >= cap)
        return ycfg_fail(c, line, key, "longer than %zu bytes", cap - 1);
    if (memchr(s, '\0', len))
        return ycfg_fail(c, line, key, "contains a NUL byte");
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

int ycfg_int(struct fy_node *v, long long *out)
{
    char buf[32], *end;
    size_t len = 0;
    const char *s;
    if (!v || !fy_node_is_scalar(v) || fy_node_get_style(v) != FYNS_PLAIN)
        return -1;
    s = fy_node_get_scalar(v, &len);
    if (!s || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    errno = 0;
    *out = strtoll(buf, &end, 10);
    return errno || *end ? -1 : 0;
}

const char *ycfg_shown(struct fy_node *v, char *buf, size_t cap)
{
    size_t len = 0;
    const char *s = v && fy_node_is_scalar(v) ? fy_node_get_scalar(v, &len) : NULL;
    if (!s && v && !fy_node_is_scalar(v))
        return ycfg_kind(v);
    if (!s)
        len = 0;
    snprintf(buf, cap, "'%.*s'", (int)(len > 40 ? 40 : len), s ? s : "");
    return buf;
}

int ycfg_valid_id(const char *s, const char *extra)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(('a' <= *s && *s <= 'z') || ('A' <= *s && *s <= 'Z') || ('0' <= *s && *s <= '9') ||
              strchr("_.-", *s) || (extra && strchr(extra, *s))))
            return 0;
    return 1;
}

const char *ycfg_id_why(const char *s)
{
    static const char *const why[] = {"empty", "longer than 63 characters",
                                      "only letters, digits, '_', '.' and '-' are allowed"};
    _Static_assert(BS_ID_MAX == 64, "the message above says 63");
    if (!*s)
        return why[0];
    if (strlen(s) >= BS_ID_MAX)
        return why[1];
    return ycfg_valid_id(s, NULL) ? NULL : why[2];
}

int ycfg_id_check(const char *what, const char *s, char *err, size_t errlen)
{
    const char *why = ycfg_id_why(s);
    char shown[BS_ID_MAX + 1];
    size_t i;
    if (!why)
        return 0;
    for (i = 0; s[i] && i < sizeof shown - 1; i++)
        shown[i] = s[i] >= ' ' && s[i] < 127 ? s[i] : '?';
    shown[i] = '\0';
    snprintf(err, errlen, "bad %s '%s%s': %s", what, shown, s[i] ? "..." : "", why);
    return -1;
}

void ycfg_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}
