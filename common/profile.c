/* Guest profiles: YAML -> struct profile (argv template checked for unknown
 * {placeholders}, regexes compiled with PCRE2), and rendering of the argv template.
 * Not for spawning or console matching: those are the launcher's. */
#include "profile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlcfg.h"

#define MAX_ARG_BYTES 4096

static const char *const vars[] = {"kernel", "accel", "mem", "vcpus", "cmdline", "name", "port"};
#define NVARS (int)(sizeof vars / sizeof *vars)

/* At s[0] == '{': the length of a {word} placeholder (word = [a-z_]+), or 0 when it
 * is literal text, so JSON-style QEMU arguments like {"driver":...} pass untouched. */
static size_t placeholder_len(const char *s)
{
    size_t n = 1;
    while (s[n] == '_' || (s[n] >= 'a' && s[n] <= 'z'))
        n++;
    return n > 1 && s[n] == '}' ? n + 1 : 0;
}

/* Index in vars of the placeholder {word} of length len, or -1. */
static int var_index(const char *s, size_t len)
{
    for (int i = 0; i < NVARS; i++)
        if (strlen(vars[i]) == len - 2 && !strncmp(s + 1, vars[i], len - 2))
            return i;
    return -1;
}

static int get_bounded(const struct ycfg *c, const char *key, int line, struct fy_node *v,
                       long long lo, long long hi, int *out)
{
    char shown[64];
    long long n;
    if (ycfg_int(v, &n) < 0 || n < lo || n > hi)
        return ycfg_fail(c, line, key, "expected an integer in %lld..%lld, got %s", lo, hi,
                         ycfg_shown(v, shown, sizeof shown));
    *out = (int)n;
    return 0;
}

static int line_of(struct fy_node *n, int fallback)
{
    int line = ycfg_line(n);
    return line ? line : fallback;
}

static int set_regex(const struct ycfg *c, const char *key, int line, struct fy_node *v,
                     struct profile_marker *m)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE off;
    int code;

    if (ycfg_text(c, key, line, v, m->pattern, sizeof m->pattern) < 0)
        return -1;
    if (!m->pattern[0])
        return ycfg_fail(c, line, key, "the regex is empty");
    m->re = pcre2_compile((PCRE2_SPTR)m->pattern, PCRE2_ZERO_TERMINATED, 0, &code, &off, NULL);
    if (!m->re) {
        pcre2_get_error_message(code, msg, sizeof msg);
        return ycfg_fail(c, line, key, "bad regex '%s': %s at offset %zu", m->pattern,
                         (const char *)msg, (size_t)off);
    }
    return 0;
}

/* ready: 'REGEX' or {regex: 'REGEX'} (the mapping leaves room for other probes). */
static int set_ready(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    strcpy(p->ready.name, "ready");
    if (!v || !fy_node_is_mapping(v))
        return set_regex(c, "ready", line, v, &p->ready);
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        int at = line_of(fy_node_pair_key(pair), line);
        if (!k || strcmp(k, "regex"))
            return ycfg_fail(c, at, "ready", "unknown key '%s' (known: regex)", k ? k : "?");
        if (set_regex(c, "ready.regex", at, fy_node_pair_value(pair), &p->ready) < 0)
            return -1;
    }
    if (!p->ready.re)
        return ycfg_fail(c, line, "ready.regex", "required");
    return 0;
}

static int set_marker(const struct ycfg *c, int line, struct fy_node *v, struct profile_marker *m,
                      int idx)
{
    struct fy_node_pair *pair;
    void *it = NULL;
    char key[64];

    snprintf(key, sizeof key, "markers[%d]", idx);
    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, key, "expected {name: NAME, regex: REGEX}, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        struct fy_node *val = fy_node_pair_value(pair);
        int at = line_of(fy_node_pair_key(pair), line);

        snprintf(key, sizeof key, "markers[%d].%s", idx, k ? k : "?");
        if (k && !strcmp(k, "name")) {
            if (ycfg_text(c, key, at, val, m->name, sizeof m->name) < 0)
                return -1;
            if (!ycfg_valid_id(m->name, NULL))
                return ycfg_fail(c, at, key, "expected letters, digits, '_', '.', '-', got '%s'",
                                 m->name);
        } else if (k && !strcmp(k, "regex")) {
            if (set_regex(c, key, at, val, m) < 0)
                return -1;
        } else {
            return ycfg_fail(c, at, key, "unknown key (known: name, regex)");
        }
    }
    snprintf(key, sizeof key, "markers[%d].%s", idx, !m->name[0] ? "name" : "regex");
    if (!m->name[0] || !m->re)
        return ycfg_fail(c, line, key, "required");
    return 0;
}

static int set_markers(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    struct fy_node *item;
    void *it = NULL;

    if (!v || !fy_node_is_sequence(v))
        return ycfg_fail(c, line, "markers", "expected a list of {name, regex}, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((item = fy_node_sequence_iterate(v, &it))) {
        if (p->nmarkers == PROFILE_MAX_MARKERS)
            return ycfg_fail(c, line_of(item, line), "markers", "at most %d markers",
                             PROFILE_MAX_MARKERS);
        if (set_marker(c, line_of(item, line), item, &p->markers[p->nmarkers], p->nmarkers) < 0)
            return -1;
        p->nmarkers++;
    }
    return 0;
}

/* argv items are strings; {word} placeholders must be known, literal braces pass. */
static int set_argv(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    char arg[MAX_ARG_BYTES];
    struct fy_node *item;
    void *it = NULL;

    if (!v || !fy_node_is_sequence(v))
        return ycfg_fail(c, line, "qemu.argv", "expected a list of strings, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((item = fy_node_sequence_iterate(v, &it))) {
        int at = line_of(item, line);
        if (p->argc == PROFILE_MAX_ARGS - 1) /* one slot stays for the NULL */
            return ycfg_fail(c, at, "qemu.argv", "at most %d arguments", PROFILE_MAX_ARGS - 1);
        if (ycfg_text(c, "qemu.argv", at, item, arg, sizeof arg) < 0)
            return -1;
        for (const char *s = strchr(arg, '{'); s; s = strchr(s + 1, '{')) {
            size_t n = placeholder_len(s);
            if (n && var_index(s, n) < 0)
                return ycfg_fail(c, at, "qemu.argv", "unknown placeholder %.*s in '%s' (known: "
                                 "{kernel} {accel} {mem} {vcpus} {cmdline} {name} {port})",
                                 (int)n, s, arg);
        }
        if (!(p->argv[p->argc] = strdup(arg)))
            return ycfg_fail(c, at, "qemu.argv", "out of memory");
        p->argc++;
    }
    if (p->argc == 0)
        return ycfg_fail(c, line, "qemu.argv", "the list is empty");
    return 0;
}

static int set_qemu(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "qemu", "expected a mapping with argv, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        int at = line_of(fy_node_pair_key(pair), line);
        if (!k || strcmp(k, "argv"))
            return ycfg_fail(c, at, "qemu", "unknown key '%s' (known: argv)", k ? k : "?");
        if (set_argv(c, at, fy_node_pair_value(pair), p) < 0)
            return -1;
    }
    if (p->argc == 0)
        return ycfg_fail(c, line, "qemu.argv", "required");
    return 0;
}

static int set_exit_ok(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    void *it = NULL;
    int is_list = v && fy_node_is_sequence(v);
    struct fy_node *item = is_list ? fy_node_sequence_iterate(v, &it) : v;

    for (; item; item = is_list ? fy_node_sequence_iterate(v, &it) : NULL) {
        int at = line_of(item, line);
        if (p->nexit_ok == PROFILE_MAX_EXIT_OK)
            return ycfg_fail(c, at, "exit_ok", "at most %d codes", PROFILE_MAX_EXIT_OK);
        if (get_bounded(c, "exit_ok", at, item, 0, 255, &p->exit_ok[p->nexit_ok]) < 0)
            return -1;
        p->nexit_ok++;
    }
    return 0;
}

static int set_key(const struct ycfg *c, const char *k, int line, struct fy_node *v,
                   struct profile *p)
{
    if (!strcmp(k, "name")) {
        if (ycfg_text(c, k, line, v, p->name, sizeof p->name) < 0)
            return -1;
        if (!ycfg_valid_id(p->name, NULL))
            return ycfg_fail(c, line, k, "expected letters, digits, '_', '.', '-', got '%s'",
                             p->name);
        return 0;
    }
    if (!strcmp(k, "description"))
        return ycfg_text(c, k, line, v, p->description, sizeof p->description);
    if (!strcmp(k, "kernel"))
        return ycfg_text(c, k, line, v, p->kernel, sizeof p->kernel);
    if (!strcmp(k, "cmdline"))
        return ycfg_text(c, k, line, v, p->cmdline, sizeof p->cmdline);
    if (!strcmp(k, "mem_mib"))
        return get_bounded(c, k, line, v, 1, 1 << 20, &p->mem_mib);
    if (!strcmp(k, "vcpus"))
        return get_bounded(c, k, line, v, 1, 1024, &p->vcpus);
    if (!strcmp(k, "accel")) {
        if (ycfg_text(c, k, line, v, p->accel, sizeof p->accel) < 0)
            return -1;
        if (strcmp(p->accel, "auto") && strcmp(p->accel, "kvm") && strcmp(p->accel, "tcg"))
            return ycfg_fail(c, line, k, "expected one of auto|kvm|tcg, got '%s'", p->accel);
        return 0;
    }
    if (!strcmp(k, "qemu"))
        return set_qemu(c, line, v, p);
    if (!strcmp(k, "ready"))
        return set_ready(c, line, v, p);
    if (!strcmp(k, "markers"))
        return set_markers(c, line, v, p);
    if (!strcmp(k, "exit_ok"))
        return set_exit_ok(c, line, v, p);
    return ycfg_fail(c, line, k, "unknown key (known: name, description, kernel, mem_mib, vcpus, "
                                 "accel, cmdline, qemu, ready, markers, exit_ok)");
}

int profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
    const struct ycfg c = {path, err, errlen};
    struct fy_document *doc = NULL;
    struct fy_node_pair *pair;
    char *text = NULL;
    size_t len;
    void *it = NULL;

    memset(p, 0, sizeof *p);
    ycfg_copy(p->path, sizeof p->path, path);
    p->mem_mib = 16;
    p->vcpus = 1;
    strcpy(p->accel, "auto");

    if (ycfg_read_file(&c, &text, &len) < 0 || !(doc = ycfg_parse(&c, text, len)))
        goto fail;
    while ((pair = fy_node_mapping_iterate(fy_document_root(doc), &it))) {
        struct fy_node *kn = fy_node_pair_key(pair);
        const char *key = kn && fy_node_is_scalar(kn) ? fy_node_get_scalar0(kn) : NULL;
        int line = line_of(kn, 1);
        if (!key) {
            ycfg_fail(&c, line, NULL, "keys must be names, got %s", kn ? ycfg_kind(kn) : "none");
            goto fail;
        }
        if (set_key(&c, key, line, fy_node_pair_value(pair), p) < 0)
            goto fail;
    }
    /* A missing key has no line of its own; line 1 points at the file. */
    const char *missing = !p->name[0]     ? "name"
                          : !p->kernel[0] ? "kernel"
                          : !p->argc      ? "qemu.argv"
                          : !p->ready.re  ? "ready"
                                          : NULL;
    if (missing) {
        ycfg_fail(&c, 1, missing, "required");
        goto fail;
    }
    fy_document_destroy(doc);
    free(text);
    return 0;
fail:
    fy_document_destroy(doc);
    free(text);
    profile_free(p);
    return -1;
}

int profile_load_named(const char *dir, const char *name, struct profile *p, char *err,
                       size_t errlen)
{
    char path[4096];

    memset(p, 0, sizeof *p);
    /* Names come from scenario files and commands: never let one leave dir. */
    if (!ycfg_valid_id(name, NULL)) {
        snprintf(err, errlen,
                 "guest profile '%s': expected a name of letters, digits, '_', '.', '-'", name);
        return -1;
    }
    if (snprintf(path, sizeof path, "%s/%s.yaml", dir, name) >= (int)sizeof path) {
        snprintf(err, errlen, "guest profile '%s': path too long", name);
        return -1;
    }
    return profile_load(path, p, err, errlen);
}

void profile_free(struct profile *p)
{
    for (int i = 0; i < PROFILE_MAX_ARGS; i++)
        free(p->argv[i]);
    pcre2_code_free(p->ready.re);
    for (int i = 0; i < PROFILE_MAX_MARKERS; i++)
        pcre2_code_free(p->markers[i].re);
    memset(p, 0, sizeof *p);
}

/* Appends n bytes of s at *w; -1 when they do not fit before end. */
static int append(char **w, const char *end, const char *s, size_t n)
{
    if ((size_t)(end - *w) < n)
        return -1;
    memcpy(*w, s, n);
    *w += n;
    return 0;
}

int profile_render_argv(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen)
{
    char *w = buf;
    const char *end = buf + buflen;
    char num[3][16];

    if (p->argc >= PROFILE_MAX_ARGS)
        return -1;
    snprintf(num[0], sizeof num[0], "%d", p->mem_mib);
    snprintf(num[1], sizeof num[1], "%d", p->vcpus);
    snprintf(num[2], sizeof num[2], "%d", v->port);
    /* Same order as vars[]; unset vars fall back to the profile's own values. */
    const char *val[] = {v->kernel ? v->kernel : p->kernel, v->accel ? v->accel : p->accel,
                         num[0], num[1], p->cmdline, v->name ? v->name : p->name, num[2]};
    for (int i = 0; i < p->argc; i++) {
        argv[i] = w;
        for (const char *s = p->argv[i]; *s;) {
            size_t n = *s == '{' ? placeholder_len(s) : 0;
            int var = n ? var_index(s, n) : -1;
            if (n && var < 0) /* a hand-built profile that skipped profile_load's check */
                return -1;
            if (n ? append(&w, end, val[var], strlen(val[var])) : append(&w, end, s, 1))
                return -1;
            s += n ? n : 1;
        }
        if (append(&w, end, "", 1) < 0)
            return -1;
    }
    argv[p->argc] = NULL;
    return p->argc;
}

int profile_exit_ok(const struct profile *p, int code)
{
    if (p->nexit_ok == 0)
        return code == 0;
    for (int i = 0; i < p->nexit_ok; i++)
        if (p->exit_ok[i] == code)
            return 1;
    return 0;
}
