/* Scenario files: YAML -> struct scenario, driven by one table of keys; unknown keys
 * and bad values are errors naming file:line:key, so a typo never passes silently.
 * Parsing and validation only; running a scenario is the CLI's and launcher's job. */
#include "scenario.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bslimits.h"
#include "yamlcfg.h"

enum key_kind {
    K_ID,      /* a name: [A-Za-z0-9_.-] */
    K_ENUM,    /* one of `choices`; a value in `later` is refused as not supported yet */
    K_INT,     /* min..INT_MAX, and within the codec's range of key `wire` */
    K_COUNT,   /* N or [N, ...] */
    K_HOSTS,   /* "all", "a,b" or [a, b] */
    K_LATER,   /* a planned feature: any value is refused with the message in `later` */
    K_BOOL,    /* true | false */
    K_RESTART, /* {after_s: S, fraction: F} */
    K_RAMP,    /* a CSV file of t_s,count rows */
    K_PATH,    /* an absolute path on the launchers' hosts */
};

struct key {
    const char *key;
    enum key_kind kind;
    size_t off, cap;
    int min;
    const char *choices, *later;
    const char *wire; /* K_INT: the start message's key it becomes (its range applies) */
};

#define FIELD(k) offsetof(struct scenario, k), sizeof(((struct scenario *)0)->k)
#define STR(k, kind, ch, lt)                                                                       \
    {                                                                                              \
#k, kind, FIELD(k), 0, ch, lt                                                              \
    }
#define INT(k, lo, w)                                                                              \
    {                                                                                              \
#k, K_INT, FIELD(k), lo, NULL, NULL, w                                                     \
    }

static const struct key keys[] = {
    STR(name, K_ID, NULL, NULL),
    STR(guest, K_ID, NULL, NULL),
    STR(backend, K_ENUM, "qemu|libvirt|process", NULL),
    STR(accel, K_ENUM, "auto|kvm|tcg", NULL),
    {"count", K_COUNT, 0, 0, 0, NULL, NULL},
    STR(pattern, K_ENUM, "burst|interval|ramp", NULL),
    INT(interval_ms, 0, "interval_ms"),
    INT(hold_s, 0, "hold_s"),
    INT(timeout_s, 1, "timeout_s"),
    INT(repeat, 1, NULL),
    INT(sample_ms, 10, "sample_ms"),
    INT(pss_guests, 0, "pss_guests"),
    INT(cooldown_s, 0, NULL),
    STR(hosts, K_HOSTS, NULL, NULL),
    STR(split, K_ENUM, "per_host|by_cores", NULL),
    STR(start, K_ENUM, "cold|snapshot|template", NULL),
    STR(snapshot_file, K_PATH, NULL, NULL),
    INT(concurrency_limit, 0, "concurrency"),
    {"trace", K_BOOL, FIELD(trace), 0, NULL, NULL},
    {"restart", K_RESTART, 0, 0, 0, NULL, NULL},
    {"ramp", K_RAMP, FIELD(ramp), 0, NULL, NULL},
};
#define NKEYS (sizeof keys / sizeof *keys)

/* True if word is one of the '|'-separated choices. */
static int one_of(const char *word, const char *choices)
{
    size_t n = strlen(word);
    for (const char *p = choices;; p++) {
        if (!strncmp(p, word, n) && (p[n] == '|' || p[n] == '\0'))
            return 1;
        if (!(p = strchr(p, '|')))
            return 0;
    }
}

static int set_counts(const struct ycfg *c, int line, struct fy_node *v, struct scenario *s)
{
    char shown[64];
    void *it = NULL;
    int is_list = v && fy_node_is_sequence(v);
    struct fy_node *item = is_list ? fy_node_sequence_iterate(v, &it) : v;

    if (is_list && !item)
        return ycfg_fail(c, line, "count", "the list is empty");
    for (s->ncounts = 0; item; item = is_list ? fy_node_sequence_iterate(v, &it) : NULL) {
        long long n;
        int at = ycfg_line(item);
        at = at ? at : line;
        if (ycfg_int(item, &n) < 0)
            return ycfg_fail(c, at, "count",
                             "expected a positive integer or a list of them, got %s",
                             ycfg_shown(item, shown, sizeof shown));
        if (n < 1 || n > LIM_COUNT_MAX)
            return ycfg_fail(c, at, "count", "%lld is out of range 1..%d", n, LIM_COUNT_MAX);
        if (s->ncounts == SCENARIO_MAX_COUNTS)
            return ycfg_fail(c, at, "count", "at most %d values in a sweep", SCENARIO_MAX_COUNTS);
        s->counts[s->ncounts++] = (int)n;
    }
    return 0;
}

const char *scenario_hosts_why(const char *list)
{
    if (!ycfg_valid_id(list, ",:"))
        return "expected \"all\" or host/pool names (pool:NAME) separated by commas";
    if (strlen(list) >= sizeof((struct scenario *)0)->hosts)
        return "longer than 255 bytes";
    return NULL;
}

/* The header stores hosts comma-separated; a YAML list is accepted and joined. */
static int set_hosts(const struct ycfg *c, int line, struct fy_node *v, struct scenario *s)
{
    char host[BS_ID_MAX];
    void *it = NULL;
    struct fy_node *item;

    if (!v || !fy_node_is_sequence(v)) {
        if (ycfg_text(c, "hosts", line, v, s->hosts, sizeof s->hosts) < 0)
            return -1;
        const char *why = scenario_hosts_why(s->hosts);
        if (why)
            return ycfg_fail(c, line, "hosts", "%s, got '%s'", why, s->hosts);
        return 0;
    }
    s->hosts[0] = '\0';
    while ((item = fy_node_sequence_iterate(v, &it))) {
        int at = ycfg_line(item);
        at = at ? at : line;
        if (ycfg_text(c, "hosts", at, item, host, sizeof host) < 0)
            return -1;
        if (!ycfg_valid_id(host, ":"))
            return ycfg_fail(c, at, "hosts", "bad host name '%s'", host);
        size_t used = strlen(s->hosts);
        if (used + strlen(host) + 2 > sizeof s->hosts)
            return ycfg_fail(c, at, "hosts", "longer than %zu bytes", sizeof s->hosts - 1);
        snprintf(s->hosts + used, sizeof s->hosts - used, "%s%s", used ? "," : "", host);
    }
    if (!s->hosts[0])
        return ycfg_fail(c, line, "hosts", "the list is empty");
    return 0;
}

/* A plain decimal number (integer or not) scalar. */
static int scalar_double(struct fy_node *v, double *out)
{
    const char *t = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : NULL;
    char *end;
    if (!t || !*t)
        return -1;
    *out = strtod(t, &end);
    return *end ? -1 : 0;
}

/* An integer key: at least k->min, and within what the codec accepts for k->wire
 * (bslimits.h), so a value the collector would refuse is refused here, by name. */
static int set_int(const struct ycfg *c, int line, const struct key *k, struct fy_node *v, int *out)
{
    char shown[64];
    long long n;
    int64_t lo = k->min, hi = INT_MAX, wlo, whi;
    if (k->wire && ev_field_range(k->wire, &wlo, &whi) == 0) {
        lo = wlo > lo ? wlo : lo;
        hi = whi < hi ? whi : hi;
    }
    if (ycfg_int(v, &n) < 0 || (hi == INT_MAX && (n < lo || n > hi)))
        return ycfg_fail(c, line, k->key, "expected an integer >= %lld, got %s", (long long)lo,
                         ycfg_shown(v, shown, sizeof shown));
    if (n < lo || n > hi)
        return ycfg_fail(c, line, k->key,
                         "%lld is out of range %lld..%lld (the protocol's limit, "
                         "common/bslimits.h)",
                         n, (long long)lo, (long long)hi);
    *out = (int)n;
    return 0;
}

static int set_restart(const struct ycfg *c, int line, struct fy_node *v, struct scenario *s)
{
    char shown[64];
    struct fy_node_pair *pair;
    void *it = NULL;
    double after = -1, fraction = 1.0;
    if (!v || !fy_node_is_mapping(v))
        return ycfg_fail(c, line, "restart", "expected a mapping {after_s: S, fraction: F}, got %s",
                         v ? ycfg_kind(v) : "nothing");
    while ((pair = fy_node_mapping_iterate(v, &it))) {
        struct fy_node *kn = fy_node_pair_key(pair), *val = fy_node_pair_value(pair);
        const char *key = kn && fy_node_is_scalar(kn) ? fy_node_get_scalar0(kn) : "";
        int at = ycfg_line(kn) ? ycfg_line(kn) : line;
        double d;
        if (!strcmp(key, "after_s")) {
            if (scalar_double(val, &d) < 0 || d < 0 || d * 1000 > LIM_RESTART_AFTER_MS_MAX)
                return ycfg_fail(c, at, "restart.after_s", "expected seconds 0..%d, got %s",
                                 LIM_RESTART_AFTER_MS_MAX / 1000,
                                 ycfg_shown(val, shown, sizeof shown));
            after = d;
        } else if (!strcmp(key, "fraction")) {
            if (scalar_double(val, &d) < 0 || d <= 0 || d > 1)
                return ycfg_fail(c, at, "restart.fraction", "expected a number in (0, 1], got %s",
                                 ycfg_shown(val, shown, sizeof shown));
            fraction = d;
        } else {
            return ycfg_fail(c, at, "restart", "unknown key '%s' (known: after_s, fraction)", key);
        }
    }
    if (after < 0)
        return ycfg_fail(c, line, "restart.after_s", "required: seconds after all are ready");
    s->restart_after_ms = (int)(after * 1000 + 0.5);
    s->restart_permille = (int)(fraction * 1000 + 0.5);
    return 0;
}

/* Opens a ramp file for reading: a regular file of at most 1 MiB (a FIFO or /dev/zero
 * would block or never end). Returns the stream, or NULL with the error written. */
static FILE *open_ramp(const struct ycfg *c, int line, const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        ycfg_fail(c, line, "ramp", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    FILE *f = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        ycfg_fail(c, line, "ramp", "%s is not a regular file", path);
    else if (st.st_size > 1 << 20)
        ycfg_fail(c, line, "ramp", "%s is larger than 1 MiB", path);
    else if (!(f = fdopen(fd, "r")))
        ycfg_fail(c, line, "ramp", "cannot read %s: %s", path, strerror(errno));
    if (!f)
        close(fd);
    return f;
}

/* One data row "t_s,count" checked and appended to s->ramp as "T_MS:COUNT"; a row in
 * the previous one's millisecond replaces it (*prev_at: where that one starts), as the
 * launcher reads points at one time as one step to the last count (sched.c step_last).
 * Messages name the file and row, never the row's text: the file may be anything
 * (/etc/shadow). Returns 1 for a new point, 2 for one that replaced the previous (its
 * count in *cnt either way), 0 for a header, -1 on error. */
static int ramp_row(const struct ycfg *c, int line, const char *path, int rowno, const char *p,
                    double *last_t, size_t *used, size_t *prev_at, struct scenario *s,
                    long *cnt_out)
{
    double t;
    long cnt;
    if (sscanf(p, "%lf , %ld", &t, &cnt) != 2) {
        if (rowno == 1)
            return 0; /* header */
        return ycfg_fail(c, line, "ramp", "%s:%d: expected 't_s,count'", path, rowno);
    }
    /* written as !(in range) so that NaN fails too; the bound keeps t * 1000 in int64 */
    if (!(t >= *last_t && t >= 0 && t <= (double)(INT64_MAX / NS_PER_MS / 1000)) || cnt < 0 ||
        cnt > LIM_COUNT_MAX)
        return ycfg_fail(c, line, "ramp", "%s:%d: times must rise and counts be 0..%d", path, rowno,
                         LIM_COUNT_MAX);
    long long ms = (long long)(t * 1000 + 0.5);
    int same = *used && ms == (long long)(*last_t * 1000 + 0.5);
    if (same)
        *used = *prev_at;
    *prev_at = *used;
    int n =
        snprintf(s->ramp + *used, sizeof s->ramp - *used, "%s%lld:%ld", *used ? "," : "", ms, cnt);
    if (n < 0 || *used + (size_t)n >= sizeof s->ramp)
        return ycfg_fail(c, line, "ramp", "%s: too many rows (the trace must fit %zu bytes)", path,
                         sizeof s->ramp);
    *used += (size_t)n;
    *last_t = t;
    *cnt_out = cnt;
    return same ? 2 : 1;
}

/* Reads the ramp CSV (t_s,count per row; a first row that is not numbers is a header;
 * # comments) relative to the scenario's directory, into "T_MS:COUNT,...". */
static int set_ramp(const struct ycfg *c, int line, struct fy_node *v, struct scenario *s)
{
    char file[256], path[512], row[256];
    if (ycfg_text(c, "ramp", line, v, file, sizeof file) < 0)
        return -1;
    const char *slash = strrchr(c->file, '/');
    if (file[0] != '/' && slash)
        snprintf(path, sizeof path, "%.*s/%s", (int)(slash - c->file), c->file, file);
    else
        snprintf(path, sizeof path, "%s", file);
    FILE *f = open_ramp(c, line, path);
    if (!f)
        return -1;
    int rowno = 0, points = 0, peak = 0, rc = 0;
    long step = 0; /* the count of the last point so far: a later row may replace it */
    double last_t = 0;
    size_t used = 0, prev_at = 0;
    s->ramp[0] = '\0';
    while (rc == 0 && fgets(row, sizeof row, f)) {
        char *p = row + strspn(row, " \t");
        long cnt = 0;
        rowno++;
        if (!strchr(row, '\n') && !feof(f)) {
            rc = ycfg_fail(c, line, "ramp", "%s:%d: longer than %zu bytes", path, rowno,
                           sizeof row - 2);
        } else if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0') {
            continue;
        } else if ((rc = ramp_row(c, line, path, rowno, p, &last_t, &used, &prev_at, s, &cnt)) >
                   0) {
            if (rc == 1) { /* a new point: the previous one's count stands */
                points++;
                peak = step > peak ? (int)step : peak;
            }
            step = cnt;
            rc = 0;
        }
    }
    peak = step > peak ? (int)step : peak;
    fclose(f);
    if (rc == 0 && points == 0)
        rc = ycfg_fail(c, line, "ramp", "%s has no t_s,count rows", path);
    if (rc == 0 && !s->ncounts) { /* the report's count of a ramp: its peak */
        s->counts[0] = peak;
        s->ncounts = 1;
    }
    return rc;
}

static int set_key(const struct ycfg *c, const struct key *k, int line, struct fy_node *v,
                   struct scenario *s)
{
    char *field = (char *)s + k->off;
    char shown[64];

    switch (k->kind) {
    case K_ID:
        if (ycfg_text(c, k->key, line, v, field, k->cap) < 0)
            return -1;
        if (!ycfg_valid_id(field, NULL))
            return ycfg_fail(c, line, k->key,
                             "expected a name of letters, digits, '_', '.', '-', got '%s'", field);
        return 0;
    case K_ENUM:
        if (ycfg_text(c, k->key, line, v, field, k->cap) < 0)
            return -1;
        if (k->later && one_of(field, k->later))
            return ycfg_fail(c, line, k->key, "'%s' is not supported yet", field);
        if (!one_of(field, k->choices))
            return ycfg_fail(c, line, k->key, "expected one of %s, got '%s'", k->choices, field);
        return 0;
    case K_INT:
        return set_int(c, line, k, v, (int *)field);
    case K_COUNT:
        return set_counts(c, line, v, s);
    case K_HOSTS:
        return set_hosts(c, line, v, s);
    case K_LATER:
        return ycfg_fail(c, line, k->key, "%s", k->later);
    case K_BOOL: {
        const char *t = v && fy_node_is_scalar(v) ? fy_node_get_scalar0(v) : "";
        if (strcmp(t, "true") && strcmp(t, "false"))
            return ycfg_fail(c, line, k->key, "expected true or false, got %s",
                             ycfg_shown(v, shown, sizeof shown));
        *(int *)field = !strcmp(t, "true");
        return 0;
    }
    case K_RESTART:
        return set_restart(c, line, v, s);
    case K_RAMP:
        return set_ramp(c, line, v, s);
    case K_PATH: /* read by the launchers, quoted in QEMU's exec: URI (snapshot.c) */
        if (ycfg_text(c, k->key, line, v, field, k->cap) < 0)
            return -1;
        if (field[0] != '/' || strpbrk(field, "'\n"))
            return ycfg_fail(c, line, k->key,
                             "expected an absolute path (on the launchers' hosts) without ', "
                             "got '%s'",
                             field);
        return 0;
    }
    return ycfg_fail(c, line, k->key, "unhandled key kind %d", (int)k->kind);
}

static int unknown_key(const struct ycfg *c, int line, const char *key)
{
    char known[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < NKEYS; i++) /* planned keys are not offered as a fix */
        if (keys[i].kind != K_LATER && used < sizeof known)
            used += snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "", keys[i].key);
    return ycfg_fail(c, line, key, "unknown key (known: %s)", known);
}

/* The base name without directories and a .yaml/.yml suffix, made an id by the one rule
 * (ycfg_id_why): each run of other bytes ("my storm!" -> "my-storm-", UTF-8 too) becomes
 * one '-', cut to BS_ID_MAX - 1 bytes, "scenario" when nothing is left. A name derived
 * this way is never refused: the file's name is not the user's choice of a run name
 * (`name:` is, and a bad one is refused). */
static void default_name(const char *path, char *dst, size_t cap)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base), o = 0;
    if (n > 5 && !strcmp(base + n - 5, ".yaml"))
        n -= 5;
    else if (n > 4 && !strcmp(base + n - 4, ".yml"))
        n -= 4;
    char id[BS_ID_MAX];
    for (size_t i = 0; i < n && o < sizeof id - 1; i++) {
        char ch[2] = {base[i], '\0'};
        if (ycfg_valid_id(ch, NULL))
            id[o++] = base[i];
        else if (!o || id[o - 1] != '-')
            id[o++] = '-';
    }
    id[o] = '\0';
    ycfg_copy(dst, cap, o ? id : "scenario");
}

/* What a scenario is before its file says anything. */
static void set_defaults(const char *name, struct scenario *s)
{
    memset(s, 0, sizeof *s);
    ycfg_copy(s->path, sizeof s->path, name);
    default_name(name, s->name, sizeof s->name);
    strcpy(s->backend, "qemu");
    strcpy(s->accel, "auto");
    strcpy(s->pattern, "burst");
    strcpy(s->hosts, "all");
    strcpy(s->split, "per_host");
    strcpy(s->start, "cold");
    s->interval_ms = 5;
    s->timeout_s = 60;
    s->repeat = 1;
    s->sample_ms = 100;
    s->pss_guests = PSS_GUESTS_DEFAULT;
}

/* Reads every key of the document's mapping into s; *interval_line gets the line of
 * interval_ms. Returns 0, or -1 with err. */
static int read_keys(const struct ycfg *c, struct fy_document *doc, struct scenario *s,
                     int *interval_line)
{
    struct fy_node_pair *pair;
    void *it = NULL;
    while ((pair = fy_node_mapping_iterate(fy_document_root(doc), &it))) {
        struct fy_node *kn = fy_node_pair_key(pair);
        const char *key = kn && fy_node_is_scalar(kn) ? fy_node_get_scalar0(kn) : NULL;
        int line = ycfg_line(kn);
        size_t i;

        line = line ? line : 1;
        if (!key)
            return ycfg_fail(c, line, NULL, "keys must be names, got %s",
                             kn ? ycfg_kind(kn) : "none");
        for (i = 0; i < NKEYS && strcmp(keys[i].key, key); i++)
            ;
        if (i == NKEYS) {
            unknown_key(c, line, key);
            return -1;
        }
        if (set_key(c, &keys[i], line, fy_node_pair_value(pair), s) < 0)
            return -1;
        if (!strcmp(key, "interval_ms"))
            *interval_line = line;
    }
    return 0;
}

/* The rules between keys. A missing key has no line of its own; line 1 points at the
 * file. Returns 0, or -1 with err. */
static int check_together(const struct ycfg *c, const struct scenario *s, int interval_line)
{
    if (!s->guest[0])
        return ycfg_fail(c, 1, "guest", "required: the guest profile to boot (guests/NAME.yaml)");
    if (!strcmp(s->pattern, "ramp") != (s->ramp[0] != 0))
        return ycfg_fail(c, 1, "ramp",
                         s->ramp[0]
                             ? "given, but pattern is not ramp"
                             : "required when pattern is ramp: a CSV file of t_s,count rows");
    if (!s->ncounts)
        return ycfg_fail(c, 1, "count", "required: how many guests to boot (a number or a list)");
    if (s->restart_permille && s->ramp[0])
        return ycfg_fail(c, 1, "restart",
                         "a ramp follows its trace; restart goes with burst or interval");
    if (strcmp(s->start, "cold") && strcmp(s->backend, "qemu"))
        return ycfg_fail(c, 1, "start", "'%s' needs backend qemu (QMP migration); backend is %s",
                         s->start, s->backend);
    if (s->snapshot_file[0] && strcmp(s->start, "snapshot"))
        return ycfg_fail(c, 1, "snapshot_file",
                         "goes with start: snapshot (a template's RAM is not in its state "
                         "file), start is %s",
                         s->start);
    if (!strcmp(s->pattern, "interval") && s->interval_ms <= 0)
        return ycfg_fail(c, interval_line, "interval_ms", "must be > 0 when pattern is interval");
    return 0;
}

int scenario_parse(const char *name, const char *text, size_t len, struct scenario *s, char *err,
                   size_t errlen)
{
    const struct ycfg c = {name, err, errlen};
    struct fy_document *doc;
    int interval_line = 1;

    set_defaults(name, s);
    if (!(doc = ycfg_parse(&c, text, len)))
        return -1;
    int rc = read_keys(&c, doc, s, &interval_line) < 0 || check_together(&c, s, interval_line) < 0
                 ? -1
                 : 0;
    fy_document_destroy(doc);
    return rc;
}

int scenario_load(const char *path, struct scenario *s, char *err, size_t errlen)
{
    const struct ycfg c = {path, err, errlen};
    char *text;
    size_t len;
    int rc;

    memset(s, 0, sizeof *s);
    if (ycfg_read_file(&c, &text, &len) < 0)
        return -1;
    rc = scenario_parse(path, text, len, s, err, errlen);
    free(text);
    return rc;
}

void scenario_to_start(const struct scenario *s, int count, struct ev *start)
{
    ev_init(start, EV_START);
    ycfg_copy(start->kind, sizeof start->kind, s->guest);
    ycfg_copy(start->backend, sizeof start->backend, s->backend);
    ycfg_copy(start->accel, sizeof start->accel, s->accel);
    ycfg_copy(start->pattern, sizeof start->pattern, s->pattern);
    ycfg_copy(start->hosts, sizeof start->hosts, s->hosts);
    ycfg_copy(start->split, sizeof start->split, s->split);
    ycfg_copy(start->start, sizeof start->start, s->start);
    ycfg_copy(start->snapshot_file, sizeof start->snapshot_file, s->snapshot_file);
    start->count = count;
    start->interval_ms = s->interval_ms;
    start->hold_s = s->hold_s;
    start->timeout_s = s->timeout_s;
    start->sample_ms = s->sample_ms;
    start->pss_guests = s->pss_guests;
    start->concurrency = s->concurrency_limit;
    start->trace = s->trace;
    start->restart_after_ms = s->restart_after_ms;
    start->restart_permille = s->restart_permille;
    ycfg_copy(start->ramp, sizeof start->ramp, s->ramp);
}
