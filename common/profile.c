/* Guest profiles: YAML -> struct profile (argv template checked for unknown
 * {placeholders}, regexes compiled with PCRE2), and rendering of the argv template.
 * Also where its image files are. Not for spawning (procspawn.c) nor for console
 * matching (console.c). */
#include "profile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "yamlcfg.h"

#define MAX_ARG_BYTES 4096

/* The placeholders, in the order profile_render's value table uses. */
static const char *const vars[] = {"kernel",  "initrd",     "disk",       "accel",  "mem",
                                   "vcpus",   "cmdline",    "name",       "port",   "debugcon",
                                   "console", "guest_addr", "guest_port", "bindir", "domain_type",
                                   "id",      "pid"};
#define NVARS (int)(sizeof vars / sizeof *vars)
#define VAR_INITRD 1
#define VAR_DISK 2
#define KNOWN_VARS                                                                                 \
    "{kernel} {initrd} {disk} {accel} {mem} {vcpus} {cmdline} {name} {port} {debugcon} "           \
    "{console} {guest_addr} {guest_port} {bindir} {domain_type} {id} {pid}"

/* What profile_load learns on the way and checks once the whole file is read: keys
 * may come in any order, so {initrd} may be used before `initrd:` is given. */
struct pstate {
    int have_ready;
    int initrd_line, disk_line; /* first use of {initrd} / {disk}, 0 if none */
    const char *initrd_key, *disk_key;
    char ready_after[64]; /* ready.after's marker name, resolved at the end */
    int ready_after_line;
    int binary_set;
};

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

static int get_name(const struct ycfg *c, const char *key, int line, struct fy_node *v, char *dst,
                    size_t cap)
{
    if (ycfg_text(c, key, line, v, dst, cap) < 0)
        return -1;
    if (!ycfg_valid_id(dst, NULL))
        return ycfg_fail(c, line, key, "expected letters, digits, '_', '.', '-', got '%s'", dst);
    return 0;
}

/* ready.http: {port: 80, path: /, guest_addr: 10.0.2.15, status: 200}, every key optional. */
static int set_http(const struct ycfg *c, int line, struct fy_node *v, struct profile *p)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    if (v && fy_node_is_scalar(v) && !fy_node_get_scalar_length(v))
        return 0; /* `http:` alone: every default */
    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "ready.http", "expected {port, path, guest_addr, status}, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        struct fy_node *val = fy_node_pair_value(pair);
        int at = line_of(fy_node_pair_key(pair), line);
        char key[64];

        snprintf(key, sizeof key, "ready.http.%s", k ? k : "?");
        if (k && !strcmp(k, "port")) {
            if (get_bounded(c, key, at, val, 1, 65535, &p->http_port) < 0)
                return -1;
        } else if (k && !strcmp(k, "status")) {
            if (get_bounded(c, key, at, val, 100, 599, &p->http_status) < 0)
                return -1;
        } else if (k && !strcmp(k, "path")) {
            if (ycfg_text(c, key, at, val, p->http_path, sizeof p->http_path) < 0)
                return -1;
            if (p->http_path[0] != '/' || strpbrk(p->http_path, " \r\n"))
                return ycfg_fail(c, at, key, "expected an absolute path without spaces, got '%s'",
                                 p->http_path);
        } else if (k && !strcmp(k, "guest_addr")) {
            if (ycfg_text(c, key, at, val, p->http_addr, sizeof p->http_addr) < 0)
                return -1;
            if (!ycfg_valid_id(p->http_addr, ":"))
                return ycfg_fail(c, at, key, "expected an address, got '%s'", p->http_addr);
        } else {
            return ycfg_fail(c, at, key, "unknown key (known: port, path, guest_addr, status)");
        }
    }
    return 0;
}

/* One kind of ready rule, k (regex, debugcon, http or exit), from val. */
static int set_ready_kind(const struct ycfg *c, const char *k, const char *key, int at,
                          struct fy_node *val, struct profile *p)
{
    if (!strcmp(k, "regex"))
        return set_regex(c, key, at, val, &p->ready);
    if (!strcmp(k, "debugcon")) {
        p->ready_kind = READY_DEBUGCON;
        if (ycfg_text(c, key, at, val, p->ready_bytes, sizeof p->ready_bytes) < 0)
            return -1;
        if (!p->ready_bytes[0])
            return ycfg_fail(c, at, key, "the byte sequence is empty");
        return 0;
    }
    if (!strcmp(k, "http")) {
        p->ready_kind = READY_HTTP;
        return set_http(c, at, val, p);
    }
    const char *b = val && fy_node_is_scalar(val) ? fy_node_get_scalar0(val) : NULL;
    p->ready_kind = READY_EXIT;
    if (!b || strcmp(b, "true"))
        return ycfg_fail(c, at, key, "expected true");
    return 0;
}

/* ready: REGEX | {regex: R, after: MARKER} | {debugcon: BYTES} | {http: {...}} | {exit: true}.
 * One kind only; `after` goes with regex and is resolved once markers are known. */
static int set_ready(const struct ycfg *c, int line, struct fy_node *v, struct profile *p,
                     struct pstate *st)
{
    struct fy_node_pair *pair;
    void *it = NULL;
    const char *kind = NULL;

    strcpy(p->ready.name, "ready");
    p->ready_kind = READY_CONSOLE;
    st->have_ready = 1;
    if (!v || !fy_node_is_mapping(v))
        return set_regex(c, "ready", line, v, &p->ready);
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        struct fy_node *val = fy_node_pair_value(pair);
        int at = line_of(fy_node_pair_key(pair), line);
        char key[64];

        snprintf(key, sizeof key, "ready.%s", k ? k : "?");
        if (k && !strcmp(k, "after")) {
            if (get_name(c, key, at, val, st->ready_after, sizeof st->ready_after) < 0)
                return -1;
            st->ready_after_line = at;
            continue;
        }
        if (!k ||
            (strcmp(k, "regex") && strcmp(k, "debugcon") && strcmp(k, "http") && strcmp(k, "exit")))
            return ycfg_fail(c, at, "ready",
                             "unknown key '%s' (known: regex, after, debugcon, "
                             "http, exit)",
                             k ? k : "?");
        if (kind)
            return ycfg_fail(c, at, key, "only one of regex, debugcon, http, exit (%s given)",
                             kind);
        kind = k;
        if (set_ready_kind(c, k, key, at, val, p) < 0)
            return -1;
    }
    if (!kind)
        return ycfg_fail(c, line, "ready", "expected one of regex, debugcon, http, exit");
    if (st->ready_after[0] && p->ready_kind != READY_CONSOLE)
        return ycfg_fail(c, st->ready_after_line, "ready.after", "only with ready.regex");
    return 0;
}

static int set_marker(const struct ycfg *c, int line, struct fy_node *v, struct profile *p, int idx)
{
    struct profile_marker *m = &p->markers[idx];
    char after[64] = "";
    int after_line = line;
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
        } else if (k && !strcmp(k, "after")) {
            if (get_name(c, key, at, val, after, sizeof after) < 0)
                return -1;
            after_line = at;
        } else {
            return ycfg_fail(c, at, key, "unknown key (known: name, regex, after)");
        }
    }
    snprintf(key, sizeof key, "markers[%d].%s", idx, !m->name[0] ? "name" : "regex");
    if (!m->name[0] || !m->re)
        return ycfg_fail(c, line, key, "required");
    for (int i = 0; i < idx; i++)
        if (!strcmp(p->markers[i].name, m->name))
            return ycfg_fail(c, line, key, "marker '%s' is already defined", m->name);
    if (after[0]) {
        snprintf(key, sizeof key, "markers[%d].after", idx);
        for (int i = 0; i < idx && m->after < 0; i++)
            if (!strcmp(p->markers[i].name, after))
                m->after = i;
        if (m->after < 0)
            return ycfg_fail(c, after_line, key, "'%s' is not an earlier marker", after);
    }
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
        if (set_marker(c, line_of(item, line), item, p, p->nmarkers) < 0)
            return -1;
        p->nmarkers++;
    }
    return 0;
}

/* {word} placeholders in a template must be known; literal braces pass. Remembers the
 * first use of {initrd} and {disk}, which need their keys. */
static int check_template(const struct ycfg *c, const char *key, int line, const char *t,
                          struct pstate *st)
{
    for (const char *s = strchr(t, '{'); s; s = strchr(s + 1, '{')) {
        size_t n = placeholder_len(s);
        int var = n ? var_index(s, n) : -1;
        if (n && var < 0)
            return ycfg_fail(c, line, key,
                             "unknown placeholder %.*s in '%.60s' (known: " KNOWN_VARS ")", (int)n,
                             s, t);
        if (var == VAR_INITRD && !st->initrd_line) {
            st->initrd_line = line;
            st->initrd_key = key;
        }
        if (var == VAR_DISK && !st->disk_line) {
            st->disk_line = line;
            st->disk_key = key;
        }
    }
    return 0;
}

/* argv items (of qemu.argv or process.argv, named key) are strings; {word}
 * placeholders must be known, literal braces pass. */
static int set_argv(const struct ycfg *c, const char *key, int line, struct fy_node *v, char **argv,
                    int *argc, struct pstate *st)
{
    char arg[MAX_ARG_BYTES];
    struct fy_node *item;
    void *it = NULL;

    if (!v || !fy_node_is_sequence(v))
        return ycfg_fail(c, line, key, "expected a list of strings, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((item = fy_node_sequence_iterate(v, &it))) {
        int at = line_of(item, line);
        if (*argc == PROFILE_MAX_ARGS - 1) /* one slot stays for the NULL */
            return ycfg_fail(c, at, key, "at most %d arguments", PROFILE_MAX_ARGS - 1);
        if (ycfg_text(c, key, at, item, arg, sizeof arg) < 0)
            return -1;
        if (check_template(c, key, at, arg, st) < 0)
            return -1;
        if (!(argv[*argc] = strdup(arg)))
            return ycfg_fail(c, at, key, "out of memory");
        (*argc)++;
    }
    if (*argc == 0)
        return ycfg_fail(c, line, key, "the list is empty");
    return 0;
}

/* process: {argv: [...], stop: [...], clean: [...]}: the command the process backend
 * runs as a guest, the one it runs once the guest is stopped (removes a container),
 * and the one that removes stale guests before a run. */
static int set_process(const struct ycfg *c, int line, struct fy_node *v, struct profile *p,
                       struct pstate *st)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "process", "expected a mapping with argv, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        int at = line_of(fy_node_pair_key(pair), line);
        struct fy_node *val = fy_node_pair_value(pair);
        int rc = !k ? 1
                 : !strcmp(k, "argv")
                     ? set_argv(c, "process.argv", at, val, p->proc_argv, &p->proc_argc, st)
                 : !strcmp(k, "stop")
                     ? set_argv(c, "process.stop", at, val, p->proc_stop, &p->proc_stop_argc, st)
                 : !strcmp(k, "clean")
                     ? set_argv(c, "process.clean", at, val, p->proc_clean, &p->proc_clean_argc, st)
                     : 1;
        if (rc == 1)
            return ycfg_fail(c, at, "process", "unknown key '%s' (known: argv, stop, clean)",
                             k ? k : "?");
        if (rc < 0)
            return -1;
    }
    if (p->proc_argc == 0)
        return ycfg_fail(c, line, "process.argv", "required");
    return 0;
}

static int set_qemu(const struct ycfg *c, int line, struct fy_node *v, struct profile *p,
                    struct pstate *st)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "qemu", "expected a mapping with argv, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        int at = line_of(fy_node_pair_key(pair), line);
        if (k && !strcmp(k, "binary")) {
            if (ycfg_text(c, "qemu.binary", at, fy_node_pair_value(pair), p->binary,
                          sizeof p->binary) < 0)
                return -1;
            if (!p->binary[0])
                return ycfg_fail(c, at, "qemu.binary", "the program name is empty");
            st->binary_set = 1;
            continue;
        }
        if (!k || strcmp(k, "argv"))
            return ycfg_fail(c, at, "qemu", "unknown key '%s' (known: argv, binary)", k ? k : "?");
        if (set_argv(c, "qemu.argv", at, fy_node_pair_value(pair), p->argv, &p->argc, st) < 0)
            return -1;
    }
    if (p->argc == 0)
        return ycfg_fail(c, line, "qemu.argv", "required");
    return 0;
}

/* libvirt: {xml: TEMPLATE}, a domain XML with the argv placeholders. */
static int set_libvirt(const struct ycfg *c, int line, struct fy_node *v, struct profile *p,
                       struct pstate *st)
{
    struct fy_node_pair *pair;
    void *it = NULL;

    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "libvirt", "expected a mapping with xml, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        const char *k = fy_node_get_scalar0(fy_node_pair_key(pair));
        struct fy_node *val = fy_node_pair_value(pair);
        int at = line_of(fy_node_pair_key(pair), line);
        size_t len;
        const char *x;

        if (!k || strcmp(k, "xml"))
            return ycfg_fail(c, at, "libvirt", "unknown key '%s' (known: xml)", k ? k : "?");
        if (!val || !fy_node_is_scalar(val) || !(x = fy_node_get_scalar(val, &len)) || !len)
            return ycfg_fail(c, at, "libvirt.xml", "expected the domain XML as a string");
        if (len > 65536 || memchr(x, '\0', len))
            return ycfg_fail(c, at, "libvirt.xml", "at most 65536 bytes of text");
        free(p->libvirt_xml);
        if (!(p->libvirt_xml = strndup(x, len)))
            return ycfg_fail(c, at, "libvirt.xml", "out of memory");
        if (check_template(c, "libvirt.xml", line_of(val, at), p->libvirt_xml, st) < 0)
            return -1;
    }
    if (!p->libvirt_xml)
        return ycfg_fail(c, line, "libvirt.xml", "required");
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
                   struct profile *p, struct pstate *st)
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
    if (!strcmp(k, "initrd"))
        return ycfg_text(c, k, line, v, p->initrd, sizeof p->initrd);
    if (!strcmp(k, "disk"))
        return ycfg_text(c, k, line, v, p->disk, sizeof p->disk);
    if (!strcmp(k, "status")) {
        if (ycfg_text(c, k, line, v, p->status, sizeof p->status) < 0)
            return -1;
        if (strcmp(p->status, "tested") && strcmp(p->status, "untested"))
            return ycfg_fail(c, line, k, "expected tested or untested, got '%s'", p->status);
        return 0;
    }
    if (!strcmp(k, "libvirt"))
        return set_libvirt(c, line, v, p, st);
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
        return set_qemu(c, line, v, p, st);
    if (!strcmp(k, "process"))
        return set_process(c, line, v, p, st);
    if (!strcmp(k, "ready"))
        return set_ready(c, line, v, p, st);
    if (!strcmp(k, "markers"))
        return set_markers(c, line, v, p);
    if (!strcmp(k, "exit_ok"))
        return set_exit_ok(c, line, v, p);
    if (!strcmp(k, "restore_ready")) {
        strcpy(p->restore_ready.name, "restore_ready");
        return set_regex(c, k, line, v, &p->restore_ready);
    }
    return ycfg_fail(c, line, k,
                     "unknown key (known: name, description, status, kernel, initrd, "
                     "disk, mem_mib, vcpus, accel, cmdline, qemu, process, libvirt, ready, "
                     "markers, exit_ok, restore_ready)");
}

static void set_defaults(struct profile *p, const char *path)
{
    memset(p, 0, sizeof *p);
    ycfg_copy(p->path, sizeof p->path, path);
    strcpy(p->status, "tested");
    p->mem_mib = 16;
    p->vcpus = 1;
    strcpy(p->accel, "auto");
    p->ready.after = -1;
    p->restore_ready.after = -1;
    for (int i = 0; i < PROFILE_MAX_MARKERS; i++)
        p->markers[i].after = -1;
    p->http_port = 80;
    strcpy(p->http_path, "/");
    strcpy(p->http_addr, "10.0.2.15");
}

/* What only the whole file can tell: required keys, images its templates need, the
 * marker ready.after names, qemu.binary. Returns 0, or -1 with err written. */
static int finish(const struct ycfg *c, struct profile *p, const struct pstate *st)
{
    /* A missing key has no line of its own; line 1 points at the file. A guest run only
     * through libvirt (Mini-OS on Xen) needs no qemu argv; a process "guest" (a
     * container, a simulated guest) needs neither a qemu argv nor a kernel. */
    const char *missing = !p->name[0]                                    ? "name"
                          : !p->kernel[0] && !p->proc_argc               ? "kernel"
                          : !p->argc && !p->libvirt_xml && !p->proc_argc ? "qemu.argv"
                          : !st->have_ready                              ? "ready"
                                                                         : NULL;
    if (missing)
        return ycfg_fail(c, 1, missing, "required");
    if (st->initrd_line && !p->initrd[0])
        return ycfg_fail(c, st->initrd_line, "initrd", "required by {initrd} in %s",
                         st->initrd_key);
    if (st->disk_line && !p->disk[0])
        return ycfg_fail(c, st->disk_line, "disk", "required by {disk} in %s", st->disk_key);
    if (st->ready_after[0]) {
        for (int i = 0; i < p->nmarkers && p->ready.after < 0; i++)
            if (!strcmp(p->markers[i].name, st->ready_after))
                p->ready.after = i;
        if (p->ready.after < 0)
            return ycfg_fail(c, st->ready_after_line, "ready.after", "no marker named '%s'",
                             st->ready_after);
    }
    /* qemu.binary replaces the program of the argv; without it, it names that program. */
    if (p->argc && st->binary_set) {
        char *b = strdup(p->binary);
        if (!b)
            return ycfg_fail(c, 1, "qemu.binary", "out of memory");
        free(p->argv[0]);
        p->argv[0] = b;
    } else if (p->argc) {
        ycfg_copy(p->binary, sizeof p->binary, p->argv[0]);
    }
    return 0;
}

int profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
    const struct ycfg c = {path, err, errlen};
    struct fy_document *doc = NULL;
    struct fy_node_pair *pair;
    char *text = NULL;
    size_t len;
    void *it = NULL;
    struct pstate st = {0};

    set_defaults(p, path);
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
        if (set_key(&c, key, line, fy_node_pair_value(pair), p, &st) < 0)
            goto fail;
    }
    if (finish(&c, p, &st) < 0)
        goto fail;
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
    for (int i = 0; i < PROFILE_MAX_ARGS; i++) {
        free(p->argv[i]);
        free(p->proc_argv[i]);
        free(p->proc_stop[i]);
        free(p->proc_clean[i]);
    }
    free(p->libvirt_xml);
    pcre2_code_free(p->ready.re);
    pcre2_code_free(p->restore_ready.re);
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

/* The value of every placeholder, in vars[] order; nums holds the decimal ones. Unset
 * vars fall back to the profile's own values (relative image names, its name). */
static void values(const struct profile *p, const struct profile_vars *v, char nums[5][16],
                   const char *val[NVARS])
{
    snprintf(nums[0], sizeof nums[0], "%d", p->mem_mib);
    snprintf(nums[1], sizeof nums[1], "%d", p->vcpus);
    snprintf(nums[2], sizeof nums[2], "%d", v->port);
    snprintf(nums[3], sizeof nums[3], "%d", p->http_port);
    snprintf(nums[4], sizeof nums[4], "%d", (int)v->pid);
    const char *t[NVARS] = {v->kernel ? v->kernel : p->kernel, v->initrd ? v->initrd : p->initrd,
                            v->disk ? v->disk : p->disk, v->accel ? v->accel : p->accel, nums[0],
                            nums[1], p->cmdline, v->name ? v->name : p->name, nums[2],
                            v->debugcon ? v->debugcon : "", v->console ? v->console : "",
                            p->http_addr, nums[3], v->bindir ? v->bindir : "",
                            /* libvirt's <domain type=...>: kvm, or qemu for TCG */
                            !strcmp(v->accel ? v->accel : p->accel, "kvm") ? "kvm" : "qemu",
                            v->id     ? v->id
                            : v->name ? v->name
                                      : p->name,
                            nums[4]};
    memcpy(val, t, sizeof t);
}

/* Appends s (n bytes) XML-escaped. */
static int append_xml(char **w, const char *end, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *e = s[i] == '&'    ? "&amp;"
                        : s[i] == '<'  ? "&lt;"
                        : s[i] == '>'  ? "&gt;"
                        : s[i] == '"'  ? "&quot;"
                        : s[i] == '\'' ? "&apos;"
                                       : NULL;
        if (e ? append(w, end, e, strlen(e)) : append(w, end, s + i, 1))
            return -1;
    }
    return 0;
}

/* Substitutes the template t into *w (NUL-terminated); -1 if it does not fit or holds
 * an unknown placeholder (a hand-built profile that skipped profile_load's check). */
static int substitute(const char *t, const char *const val[NVARS], int xml, char **w,
                      const char *end)
{
    for (const char *s = t; *s;) {
        size_t n = *s == '{' ? placeholder_len(s) : 0;
        int var = n ? var_index(s, n) : -1;
        if (n && var < 0)
            return -1;
        if (!n) {
            if (append(w, end, s, 1) < 0)
                return -1;
            s++;
            continue;
        }
        if ((xml ? append_xml : append)(w, end, val[var], strlen(val[var])) < 0)
            return -1;
        s += n;
    }
    return append(w, end, "", 1);
}

static int render(const struct profile *p, char *const *tmpl, int n, const struct profile_vars *v,
                  char **argv, char *buf, size_t buflen)
{
    char *w = buf;
    const char *end = buf + buflen;
    char nums[5][16];
    const char *val[NVARS];

    if (n >= PROFILE_MAX_ARGS)
        return -1;
    values(p, v, nums, val);
    for (int i = 0; i < n; i++) {
        argv[i] = w;
        if (substitute(tmpl[i], val, 0, &w, end) < 0)
            return -1;
    }
    argv[n] = NULL;
    return n;
}

int profile_render_argv(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen)
{
    return render(p, p->argv, p->argc, v, argv, buf, buflen);
}

int profile_render_process(const struct profile *p, const struct profile_vars *v, char **argv,
                           char *buf, size_t buflen)
{
    return render(p, p->proc_argv, p->proc_argc, v, argv, buf, buflen);
}

int profile_render_stop(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen)
{
    return render(p, p->proc_stop, p->proc_stop_argc, v, argv, buf, buflen);
}

int profile_render_clean(const struct profile *p, const struct profile_vars *v, char **argv,
                         char *buf, size_t buflen)
{
    return render(p, p->proc_clean, p->proc_clean_argc, v, argv, buf, buflen);
}

char *profile_render_xml(const struct profile *p, const struct profile_vars *v)
{
    char nums[5][16];
    const char *val[NVARS];
    size_t cap;

    if (!p->libvirt_xml)
        return NULL;
    values(p, v, nums, val);
    /* Grow until it fits: values are short, so one or two tries. */
    for (cap = 2 * strlen(p->libvirt_xml) + 4096;; cap *= 2) {
        char *out = malloc(cap), *w = out;
        if (!out)
            return NULL;
        if (substitute(p->libvirt_xml, val, 1, &w, out + cap) == 0)
            return out;
        free(out);
        if (cap > (size_t)1 << 24)
            return NULL;
    }
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

int profile_http_ok(const struct profile *p, long status)
{
    return p->http_status ? status == p->http_status : status >= 200 && status < 400;
}

const char *profile_image(const struct profile *p, const char *key)
{
    return !strcmp(key, "kernel") ? p->kernel : !strcmp(key, "initrd") ? p->initrd : p->disk;
}

int profile_image_path(const struct profile *p, const char *key, const char *images_dir,
                       const char *override, char *out, size_t len, char *err, size_t errlen)
{
    const char *file = override ? override : profile_image(p, key);
    out[0] = '\0';
    if (!file[0])
        return 0;
    if (file[0] == '/' || override)
        snprintf(out, len, "%s", file);
    else
        snprintf(out, len, "%s/%s", images_dir, file);
    if (access(out, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "%s image %s of profile %s: %s", key, out, p->name, strerror(errno));
    return -1;
}
