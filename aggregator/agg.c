/* Reads a run's aggregates from Redis (redis/SCHEMA.md): meta and agg hashes as
 * written, percentiles by nearest rank over the boot and lag zsets. Not for writing
 * keys or rendering (agg_print.c). */
#include "agg.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bredis.h"
#include "clock.h"
#include "keys.h"
#include "runstore.h"
#include "yamlcfg.h"

/* Integer field value; falls back to strtod for values a Lua writer rendered as
 * floats ("1.5e+06"). def when empty or not a number. */
static long long num_ll(const char *s, long long def)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end != s && !*end && !errno)
        return v;
    double d = strtod(s, &end);
    return end != s && !*end && isfinite(d) && fabs(d) < 9.2e18 ? (long long)d : def;
}

static double num_d(const char *s, double def)
{
    char *end;
    double d = strtod(s, &end);
    return end != s && !*end && isfinite(d) ? d : def;
}

/* A run id by the one rule (ycfg_id_check): checked before any key is built from it. */
static int check_id(const char *run, char *err, size_t errlen)
{
    return ycfg_id_check("run id", run, err, errlen);
}

/* Value of field in an HGETALL reply (field/value pairs), NULL if absent. */
static const char *hfield(const redisReply *h, const char *field)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, field))
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL;
    return NULL;
}

/* The HOST in "PREFIX:HOST", or NULL if f does not start with prefix. */
static const char *host_of(const char *f, const char *prefix)
{
    size_t n = strlen(prefix);
    return !strncmp(f, prefix, n) && f[n] == ':' && f[n + 1] ? f + n + 1 : NULL;
}

#define COPY(dst, v) snprintf(dst, sizeof dst, "%s", v)

static int add_host(struct agg_run *r, const char *name)
{
    for (int i = 0; i < r->nhosts; i++)
        if (!strcmp(r->host[i].name, name))
            return i;
    if (r->nhosts == AGG_HOSTS_MAX || !*name || strlen(name) >= AGG_ID_MAX)
        return -1;
    struct agg_host *h = &r->host[r->nhosts];
    memset(h, 0, sizeof *h);
    COPY(h->name, name);
    h->all_ready_ms = -1;
    h->peak_mem_kib = -1;
    h->clock_err_ms = -1;
    h->count = -1;
    h->first_spawn_ms = h->last_ready_ms = -1;
    return r->nhosts++;
}

/* Run-level meta fields copied as they are: strings and integers. */
#define STR_FIELD(f)                                                                               \
    {                                                                                              \
#f, offsetof(struct agg_run, f), sizeof(((struct agg_run *)0)->f)                          \
    }
static const struct {
    const char *name;
    size_t off, size;
} meta_strings[] = {STR_FIELD(name),    STR_FIELD(kind),  STR_FIELD(backend), STR_FIELD(accel),
                    STR_FIELD(pattern), STR_FIELD(hosts), STR_FIELD(invalid), STR_FIELD(clock_flag),
                    STR_FIELD(split),   STR_FIELD(start)};

static const struct {
    const char *name;
    size_t off;
} meta_ints[] = {{"count", offsetof(struct agg_run, count)},
                 {"hosts_expected", offsetof(struct agg_run, hosts_expected)},
                 {"hosts_done", offsetof(struct agg_run, hosts_done)},
                 {"restart_count", offsetof(struct agg_run, restart_count)},
                 {"count_total", offsetof(struct agg_run, total)},
                 {"hosts_lost", offsetof(struct agg_run, hosts_lost)}};

/* A run-level field of the tables above; 1 when f was one. */
static int meta_plain(struct agg_run *r, const char *f, const char *v)
{
    for (size_t i = 0; i < sizeof meta_strings / sizeof meta_strings[0]; i++)
        if (!strcmp(f, meta_strings[i].name)) {
            snprintf((char *)r + meta_strings[i].off, meta_strings[i].size, "%s", v);
            return 1;
        }
    for (size_t i = 0; i < sizeof meta_ints / sizeof meta_ints[0]; i++)
        if (!strcmp(f, meta_ints[i].name)) {
            *(long long *)((char *)r + meta_ints[i].off) = num_ll(v, 0);
            return 1;
        }
    if (!strcmp(f, "created_tr"))
        r->created_tr = num_ll(v, 0);
    else if (!strcmp(f, "start_at_tr"))
        r->start_at_tr = num_ll(v, 0);
    else if (!strcmp(f, "restart_tr"))
        r->restart_tr = num_ll(v, 0);
    else
        return 0;
    return 1;
}

/* A per-host field (FIELD:HOST): accelerator, launcher cost, clock, share, template
 * preparation, missing, error. */
static void meta_host(struct agg_run *r, const char *f, const char *v)
{
    const char *h;
    int i;
    if ((h = host_of(f, "accel"))) {
        if (!r->accel_used[0])
            COPY(r->accel_used, v);
        else if (strcmp(r->accel_used, v))
            COPY(r->accel_used, "mixed");
    } else if ((h = host_of(f, "cpu_ms"))) {
        r->cpu_ms = (r->cpu_ms < 0 ? 0 : r->cpu_ms) + num_ll(v, 0);
    } else if ((h = host_of(f, "rss_kib"))) {
        r->rss_kib = (r->rss_kib < 0 ? 0 : r->rss_kib) + num_ll(v, 0);
    } else if ((h = host_of(f, "start_tr")) && (i = add_host(r, h)) >= 0) {
        r->host[i].started = 1;
    } else if ((h = host_of(f, "lost_tr")) && (i = add_host(r, h)) >= 0) {
        r->host[i].lost = 1;
    } else if ((h = host_of(f, "count")) && (i = add_host(r, h)) >= 0) {
        r->host[i].count = num_ll(v, -1);
    } else if ((h = host_of(f, "clock_offset_ns")) && (i = add_host(r, h)) >= 0) {
        r->host[i].clock_offset_ms = num_d(v, 0) / 1e6;
        r->host[i].clock_from_meta = 1;
    } else if ((h = host_of(f, "clock_err_ns")) && (i = add_host(r, h)) >= 0) {
        r->host[i].clock_err_ms = num_d(v, -1e6) / 1e6; /* -1 ns: unknown */
    } else if ((h = host_of(f, "prep_ns")) && (i = add_host(r, h)) >= 0) {
        r->host[i].prep_ms = num_d(v, 0) / 1e6;
    } else if ((h = host_of(f, "state_kib")) && (i = add_host(r, h)) >= 0) {
        r->host[i].state_kib = num_ll(v, 0);
    } else if ((h = host_of(f, "missing")) && *v && r->nmissing < AGG_HOSTS_MAX) {
        COPY(r->missing[r->nmissing].host, h);
        COPY(r->missing[r->nmissing].why, v);
        r->nmissing++;
    } else if ((h = host_of(f, "error")) && *v) {
        size_t len = strlen(r->errors);
        snprintf(r->errors + len, sizeof r->errors - len, "%s%s: %s", len ? "\n" : "", h, v);
    }
}

static void read_meta(const redisReply *meta, struct agg_run *r)
{
    for (size_t i = 0; i + 1 < meta->elements; i += 2) {
        if (meta->element[i]->type != REDIS_REPLY_STRING ||
            meta->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *f = meta->element[i]->str, *v = meta->element[i + 1]->str;
        if (!meta_plain(r, f, v))
            meta_host(r, f, v);
    }
    char list[sizeof r->hosts], *save = NULL;
    COPY(list, r->hosts);
    for (char *n = strtok_r(list, ",", &save); n; n = strtok_r(NULL, ",", &save))
        add_host(r, n);
    if (!r->total) /* count_total: since split; older runs: count on every host */
        r->total = r->count * r->hosts_expected;
    for (int i = 0; i < r->nhosts; i++)
        if (r->host[i].count < 0)
            r->host[i].count = r->count;
    r->complete = r->hosts_expected > 0 && r->hosts_done >= r->hosts_expected;
}

/* n failures for reason (failed:REASON): the known reasons, else other. */
static void add_failed(struct agg_run *r, const char *reason, long long n)
{
    if (!strcmp(reason, "timeout"))
        r->failed_timeout += n;
    else if (!strcmp(reason, "crash"))
        r->failed_crash += n;
    else if (!strcmp(reason, "spawn"))
        r->failed_spawn += n;
    else
        r->failed_other += n;
}

/* Counters, time until all ready (per host, one clock each) and peak memory with the
 * base of the host that peaked. Returns boot_sum_ms, or -1 when absent. */
static double read_agg(const redisReply *agg, const redisReply *meta, struct agg_run *r)
{
    double boot_sum = -1;
    long long peak_host = -1;
    const char *peak_name = NULL;
    char key[512];
    for (size_t i = 0; i + 1 < agg->elements; i += 2) {
        if (agg->element[i]->type != REDIS_REPLY_STRING ||
            agg->element[i + 1]->type != REDIS_REPLY_STRING)
            continue;
        const char *f = agg->element[i]->str, *v = agg->element[i + 1]->str, *h;
        if (!strcmp(f, "spawned"))
            r->spawned = num_ll(v, 0);
        else if (!strcmp(f, "ready"))
            r->ready = num_ll(v, 0);
        else if (!strcmp(f, "failed"))
            r->failed = num_ll(v, 0);
        else if (!strcmp(f, "stopped"))
            r->stopped = num_ll(v, 0);
        else if (!strcmp(f, "lost"))
            r->lost_events = num_ll(v, 0);
        else if (!strcmp(f, "boot_sum_ms"))
            boot_sum = num_d(v, -1);
        else if (!strcmp(f, "first_spawn_tr"))
            r->first_spawn_tr = num_ll(v, 0);
        else if (!strcmp(f, "last_ready_tr"))
            r->last_ready_tr = num_ll(v, 0);
        else if (!strcmp(f, "peak_mem_kib")) {
            long long n = num_ll(v, -1);
            r->peak_mem_kib = n > r->peak_mem_kib ? n : r->peak_mem_kib;
        } else if ((h = host_of(f, "failed"))) {
            add_failed(r, h, num_ll(v, 0));
        } else if ((h = host_of(f, "first_spawn_tm"))) {
            snprintf(key, sizeof key, "last_ready_tm:%s", h);
            const char *last = hfield(agg, key);
            long long t0 = num_ll(v, -1), t1 = last ? num_ll(last, -1) : -1;
            if (t0 >= 0 && t1 >= t0 && (double)(t1 - t0) / 1e6 > r->all_ready_ms)
                r->all_ready_ms = (double)(t1 - t0) / 1e6;
        } else if ((h = host_of(f, "peak_mem_kib"))) {
            long long n = num_ll(v, -1);
            if (n > peak_host) {
                peak_host = n;
                peak_name = h;
            }
        }
    }
    if (peak_host > r->peak_mem_kib)
        r->peak_mem_kib = peak_host;
    if (peak_name) {
        snprintf(key, sizeof key, "mem_base_kib:%s", peak_name);
        const char *base = hfield(meta, key);
        r->mem_base_kib = base ? num_ll(base, -1) : -1;
    }
    return boot_sum;
}

/* Reads the scores at percentiles pct[0..k) of zset key (n members) in one pipeline.
 * Nearest rank: rank = ceil(p/100 * n), at least 1; p = 0 gives the minimum, p = 100
 * the maximum. Returns 0 or -1 with err. */
static int zset_pct(redisContext *c, const char *key, long long n, const int *pct, int k,
                    double *out, char *err, size_t errlen)
{
    for (int i = 0; i < k; i++) {
        long long rank = (pct[i] * n + 99) / 100;
        rank = rank < 1 ? 1 : rank;
        if (redisAppendCommand(c, "ZRANGE %s %lld %lld WITHSCORES", key, rank - 1, rank - 1) !=
            REDIS_OK) {
            snprintf(err, errlen, "redis: %s", c->errstr);
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < k; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(c, (void **)&rep) != REDIS_OK) {
            snprintf(err, errlen, "redis: %s", c->errstr);
            return -1; /* the context is dead; nothing more to drain */
        }
        if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
            rep->element[1]->type == REDIS_REPLY_STRING)
            out[i] = num_d(rep->element[1]->str, -1);
        else if (!rc) {
            snprintf(err, errlen, "redis: bad ZRANGE reply on %s%s%s", key,
                     rep->type == REDIS_REPLY_ERROR ? ": " : "",
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "");
            rc = -1;
        }
        freeReplyObject(rep);
    }
    return rc;
}

static long long zcard(redisContext *c, const char *key, char *err, size_t errlen)
{
    redisReply *rep = bredis_query(c, REDIS_REPLY_INTEGER, err, errlen, "ZCARD %s", key);
    if (!rep)
        return -1;
    long long n = rep->integer;
    freeReplyObject(rep);
    return n;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

void agg_dist_of(double *v, size_t n, double sum_ms, struct agg_dist *d)
{
    static const int pct[] = {0, 50, 90, 99, 100};
    double *out[] = {&d->min, &d->p50, &d->p90, &d->p99, &d->max};
    d->n = (long long)n;
    d->min = d->p50 = d->p90 = d->p99 = d->max = d->mean = -1;
    if (!n)
        return;
    qsort(v, n, sizeof *v, cmp_double);
    for (int i = 0; i < 5; i++) {
        long long rank = (pct[i] * d->n + 99) / 100;
        *out[i] = v[(rank < 1 ? 1 : rank) - 1];
    }
    d->mean = sum_ms >= 0 ? sum_ms / (double)n : -1;
}

/* The whole of zset bs:{run}:which with scores, in score order (members HOST:IDX or
 * HOST:IDX#GEN): per-host distributions are filtered from it (host_dist), so the
 * Function keeps no per-host copy. NULL with err on a Redis error. */
static redisReply *zset_all(redisContext *c, const char *run, enum key_run which, char *err,
                            size_t errlen)
{
    char key[KEY_MAX];
    keys_run(key, sizeof key, run, which); /* fits: the id was checked (< BS_ID_MAX) */
    return bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "ZRANGE %s 0 -1 WITHSCORES", key);
}

/* Does zset member m belong to host (the part before its first ':')? Host ids hold no
 * ':' (the collector refuses them). */
static int member_of(const redisReply *m, const char *host)
{
    size_t n = strlen(host);
    return m->type == REDIS_REPLY_STRING && m->len > n && m->str[n] == ':' &&
           !memcmp(m->str, host, n);
}

/* The distribution of host's members of zs (a zset_all reply); sum_ms < 0: no mean.
 * Returns 0, or -1 when out of memory. */
static int host_dist(const redisReply *zs, const char *host, double sum_ms, struct agg_dist *d)
{
    double *v = malloc((zs->elements / 2 + 1) * sizeof *v);
    size_t n = 0;
    if (!v)
        return -1;
    for (size_t i = 0; i + 1 < zs->elements; i += 2)
        if (member_of(zs->element[i], host))
            v[n++] = zs->element[i + 1]->type == REDIS_REPLY_STRING
                         ? num_d(zs->element[i + 1]->str, -1)
                         : -1;
    agg_dist_of(v, n, sum_ms, d);
    free(v);
    return 0;
}

static int cmp_host(const void *a, const void *b)
{
    return strcmp(((const struct agg_host *)a)->name, ((const struct agg_host *)b)->name);
}

static int cmp_bucket(const void *a, const void *b)
{
    long long x = ((const struct agg_bucket *)a)->lo, y = ((const struct agg_bucket *)b)->lo;
    return (x > y) - (x < y);
}

/* The host's first spawn and last ready on the fleet timeline: its monotonic times
 * mapped to realtime through one (monotonic, realtime) pair of a spawn of the same host
 * (the two clocks drift apart by NTP slew only, < 0.05 %), minus its clock offset.
 * Leaves them unknown when the host has no spawn event. */
static void fleet_times(const struct agg_guests *gs, struct agg_host *h, long long t0, long long t1)
{
    for (int i = 0; i < gs->nhosts; i++)
        if (!strcmp(gs->host[i], h->name) && gs->anchor_tm[i] >= 0 && t0 >= 0 && t1 >= t0) {
            int64_t am = gs->anchor_tm[i], ar = gs->anchor_tr[i];
            int64_t off = (int64_t)llround(h->clock_offset_ms * 1e6);
            h->first_spawn_c = (int64_t)(ar + (t0 - am)) - off;
            h->last_ready_c = (int64_t)(ar + (t1 - am)) - off;
        }
}

static void fleet(struct agg_run *r)
{
    int lo = -1, hi = -1, lo_last = -1;
    for (int i = 0; i < r->nhosts; i++) {
        const struct agg_host *h = &r->host[i];
        if (!h->first_spawn_c)
            continue;
        if (lo < 0 || h->first_spawn_c < r->host[lo].first_spawn_c)
            lo = i;
        if (lo_last < 0 || h->first_spawn_c > r->host[lo_last].first_spawn_c)
            lo_last = i;
        if (hi < 0 || h->last_ready_c > r->host[hi].last_ready_c)
            hi = i;
    }
    if (lo < 0)
        return;
    int64_t base = r->start_at_tr > 0 ? r->start_at_tr : r->host[lo].first_spawn_c;
    for (int i = 0; i < r->nhosts; i++) {
        struct agg_host *h = &r->host[i];
        if (h->first_spawn_c) {
            h->first_spawn_ms = (double)(h->first_spawn_c - base) / 1e6;
            h->last_ready_ms = (double)(h->last_ready_c - base) / 1e6;
        }
    }
    double e_lo = r->host[lo].clock_err_ms, e_hi = r->host[hi].clock_err_ms;
    r->fleet_ready_ms = (double)(r->host[hi].last_ready_c - r->host[lo].first_spawn_c) / 1e6;
    r->start_spread_ms = (double)(r->host[lo_last].first_spawn_c - r->host[lo].first_spawn_c) / 1e6;
    /* one host alone: no cross-clock term; an unknown offset: no bound */
    if (lo == hi)
        r->fleet_err_ms = 0;
    else
        r->fleet_err_ms = e_lo >= 0 && e_hi >= 0 ? e_lo + e_hi : -1;
}

/* One host's counters (bs:{RUN}:hagg:HOST), boot and lag distributions and clock
 * offset (the run's from meta, else bs:host:HOST now). Returns 0 or -1 with err. */
static int load_host(redisContext *c, const struct agg_run *r, struct agg_host *h,
                     redisReply *const zs[2], char *err, size_t errlen)
{
    char key[KEY_MAX];
    keys_hagg(key, sizeof key, r->run, h->name); /* fits: ids < AGG_ID_MAX */
    redisReply *ha = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "HGETALL %s", key);
    if (!ha)
        return -1;
    const char *v;
    double sum = (v = hfield(ha, "boot_sum_ms")) ? num_d(v, -1) : -1;
    h->spawned = (v = hfield(ha, "spawned")) ? num_ll(v, 0) : 0;
    h->ready = (v = hfield(ha, "ready")) ? num_ll(v, 0) : 0;
    h->failed = (v = hfield(ha, "failed")) ? num_ll(v, 0) : 0;
    h->stopped = (v = hfield(ha, "stopped")) ? num_ll(v, 0) : 0;
    h->restarts = (v = hfield(ha, "restarts")) ? num_ll(v, 0) : 0;
    h->peak_mem_kib = (v = hfield(ha, "peak_mem_kib")) ? num_ll(v, -1) : -1;
    freeReplyObject(ha);
    if (host_dist(zs[0], h->name, sum, &h->boot) < 0 ||
        host_dist(zs[1], h->name, -1, &h->lag) < 0) {
        snprintf(err, errlen, "out of memory for the distributions of %s", h->name);
        return -1;
    }
    keys_host(key, sizeof key, h->name);
    redisReply *hr =
        bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "HMGET %s offset_ns offset_err_ns", key);
    if (!hr)
        return -1;
    if (!h->clock_from_meta && hr->elements == 2 && hr->element[0]->type == REDIS_REPLY_STRING &&
        hr->element[1]->type == REDIS_REPLY_STRING) {
        h->clock_offset_ms = num_d(hr->element[0]->str, 0) / 1e6;
        h->clock_err_ms = num_d(hr->element[1]->str, -1e6) / 1e6;
    }
    freeReplyObject(hr);
    return 0;
}

/* Per host: counters, boot and lag distributions, clock offset, and with the run's
 * events folded (gs, else NULL) the fleet timeline. */
static int load_hosts(redisContext *c, struct agg_run *r, const redisReply *agg,
                      const struct agg_guests *gs, char *err, size_t errlen)
{
    char key[512];
    int rc = -1;
    redisReply *zs[2] = {NULL, NULL}; /* the run's boot and lag zsets, read once */
    qsort(r->host, (size_t)r->nhosts, sizeof r->host[0], cmp_host);
    r->slowest = -1;
    if (!(zs[0] = zset_all(c, r->run, KEY_BOOT, err, errlen)) ||
        !(zs[1] = zset_all(c, r->run, KEY_LAG, err, errlen)))
        goto out;
    for (int i = 0; i < r->nhosts; i++) {
        struct agg_host *h = &r->host[i];
        if (load_host(c, r, h, zs, err, errlen) < 0)
            goto out;
        snprintf(key, sizeof key, "first_spawn_tm:%s", h->name);
        const char *t0 = hfield(agg, key);
        snprintf(key, sizeof key, "last_ready_tm:%s", h->name);
        const char *t1 = hfield(agg, key);
        if (t0 && t1 && num_ll(t1, -1) >= num_ll(t0, -1))
            h->all_ready_ms = (double)(num_ll(t1, 0) - num_ll(t0, 0)) / 1e6;
        if (h->boot.n && (r->slowest < 0 || h->boot.p99 > r->host[r->slowest].boot.p99))
            r->slowest = i;
        if (t0 && t1 && gs)
            fleet_times(gs, h, num_ll(t0, -1), num_ll(t1, -1));
    }
    if (gs)
        fleet(r);
    rc = 0;
out:
    for (int i = 0; i < 2; i++)
        if (zs[i])
            freeReplyObject(zs[i]);
    return rc;
}

static const char *const fixed_phases[] = {"spawned", "first_output", "ready"};

/* Position of a fixed phase in a boot (3 for a marker). */
static int phase_rank(const char *name)
{
    for (int j = 0; j < 3; j++)
        if (!strcmp(name, fixed_phases[j]))
            return j;
    return 3;
}

/* Phases: the fixed ones in boot order, then markers by name. Sorts gs's values. */
static void load_phases(struct agg_run *r, struct agg_guests *gs)
{
    for (int i = 0; i < gs->nphases; i++) {
        struct agg_phase *p = &r->phase[r->nphases++];
        COPY(p->name, gs->phase[i].name);
        agg_dist_of(gs->phase[i].v, gs->phase[i].n, -1, &p->d);
    }
    for (int a = 0; a < r->nphases; a++) /* fixed phases in boot order, then markers */
        for (int b = a + 1; b < r->nphases; b++) {
            int ra = phase_rank(r->phase[a].name), rb = phase_rank(r->phase[b].name);
            if (rb < ra || (ra == 3 && rb == 3 && strcmp(r->phase[b].name, r->phase[a].name) < 0)) {
                struct agg_phase t = r->phase[a];
                r->phase[a] = r->phase[b];
                r->phase[b] = t;
            }
        }
}

/* What needs a guest's earlier events, from the run's events folded: phases, boot time
 * by guests running at spawn, ready per second, instances by accel, restart recovery. */
static void load_detail(struct agg_run *r, struct agg_guests *gs)
{
    load_phases(r, gs);
    r->nbuckets = gs->nbuckets;
    memcpy(r->bucket, gs->bucket, sizeof r->bucket);
    qsort(r->bucket, (size_t)r->nbuckets, sizeof r->bucket[0], cmp_bucket);
    r->peak_ready_1s = gs->peak_ready_1s;
    for (int i = 0; i < gs->naccels; i++)
        if (gs->accels[i].n > 0 && r->naccels < 4) {
            COPY(r->accels[r->naccels].name, gs->accels[i].name);
            r->accels[r->naccels++].n = gs->accels[i].n;
        }
    if (r->all_ready_ms > 0 && r->ready > 0)
        r->ready_per_s = (double)r->ready / (r->all_ready_ms / 1000.0);
    agg_restart_fill(r, gs);
}

/* Every value unknown: -1 (see struct agg_run). */
static void init_run(struct agg_run *out)
{
    memset(out, 0, sizeof *out);
    out->boot_min_ms = out->boot_p50_ms = out->boot_p90_ms = out->boot_p99_ms = -1;
    out->boot_max_ms = out->boot_mean_ms = out->all_ready_ms = -1;
    out->lag_p50_ms = out->lag_p99_ms = -1;
    out->peak_mem_kib = out->mem_base_kib = out->cpu_ms = out->rss_kib = -1;
    out->ready_per_s = -1;
    out->slowest = -1;
    out->fleet_ready_ms = out->fleet_err_ms = out->start_spread_ms = -1;
    out->restart_level = out->restart_low = -1;
    out->restart_recovery_ms = -1;
}

/* The run's boot and lag percentiles (bs:{RUN}:boot, bs:{RUN}:lag). */
static int load_run_dists(redisContext *c, struct agg_run *out, double boot_sum, char *err,
                          size_t errlen)
{
    static const int boot_pct[] = {0, 50, 90, 99, 100}, lag_pct[] = {50, 99};
    double v[5];
    char boot[KEY_MAX], lag[KEY_MAX];
    keys_run(boot, sizeof boot, out->run, KEY_BOOT); /* fit: the id was checked */
    keys_run(lag, sizeof lag, out->run, KEY_LAG);
    if ((out->boot_n = zcard(c, boot, err, errlen)) < 0)
        return -1;
    if (out->boot_n > 0) {
        if (zset_pct(c, boot, out->boot_n, boot_pct, 5, v, err, errlen) < 0)
            return -1;
        out->boot_min_ms = v[0], out->boot_p50_ms = v[1], out->boot_p90_ms = v[2];
        out->boot_p99_ms = v[3], out->boot_max_ms = v[4];
        if (out->ready > 0 && boot_sum >= 0)
            out->boot_mean_ms = boot_sum / (double)out->ready;
    }
    if ((out->lag_n = zcard(c, lag, err, errlen)) < 0)
        return -1;
    if (out->lag_n > 0) {
        if (zset_pct(c, lag, out->lag_n, lag_pct, 2, v, err, errlen) < 0)
            return -1;
        out->lag_p50_ms = v[0], out->lag_p99_ms = v[1];
    }
    return 0;
}

/* Guests that never got a verdict count as failed, so no report says "failed 0" of
 * guests that never ran: once every host has ended (a launcher refused the run or
 * ended it early), "not started"; on a host the collector gave up on (lost_tr:HOST),
 * "launcher lost" when it had started, else "not started". Mass restarts and ramps can
 * make ready exceed the count; then nothing is missing. */
static void account_no_verdict(struct agg_run *r)
{
    long long missing = r->total - r->ready - r->failed - r->stopped;
    if (r->complete && missing > 0) {
        r->failed += missing;
        r->failed_not_started = missing;
        return;
    }
    for (int i = 0; i < r->nhosts; i++) {
        const struct agg_host *h = &r->host[i];
        long long m = h->count - h->ready - h->failed - h->stopped;
        if (!h->lost || m <= 0)
            continue;
        r->failed += m;
        *(h->started ? &r->failed_launcher_lost : &r->failed_not_started) += m;
    }
}

/* agg_load, the run's events folded into *gs (zeroed by the caller; NULL: a list of
 * runs, without what needs the fold: phases, buckets, ready per second, accels, the
 * fleet timeline, restart recovery). */
static int load_run(redisContext *c, const char *run, struct agg_run *out, struct agg_guests *gs,
                    char *err, size_t errlen)
{
    redisReply *last = NULL, *meta = NULL, *agg = NULL;
    int rc = -1;
    init_run(out);
    if (!strcmp(run, "last")) {
        if (!(last = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "ZREVRANGE %s 0 0", KEY_RUNS)))
            goto fail;
        if (last->elements == 0 || last->element[0]->type != REDIS_REPLY_STRING) {
            snprintf(err, errlen, "no run 'last' in Redis (%s is empty)", KEY_RUNS);
            goto fail;
        }
        run = last->element[0]->str;
    }
    if (check_id(run, err, errlen) < 0)
        goto fail;
    char key[KEY_MAX];
    keys_run(key, sizeof key, run, KEY_META); /* fits: the id was checked */
    if (!(meta = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "HGETALL %s", key)))
        goto fail;
    if (meta->elements == 0) {
        snprintf(err, errlen, "no run '%s' in Redis", run);
        goto fail;
    }
    keys_run(key, sizeof key, run, KEY_AGG);
    if (!(agg = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "HGETALL %s", key)))
        goto fail;
    COPY(out->run, run);
    read_meta(meta, out);
    if (load_run_dists(c, out, read_agg(agg, meta, out), err, errlen) < 0)
        goto fail;
    const char *rs = hfield(agg, "restarts");
    out->restarts = rs ? num_ll(rs, 0) : 0;
    if (gs && agg_guests_load(c, out->run, gs, err, errlen) < 0)
        goto fail;
    if (load_hosts(c, out, agg, gs, err, errlen) < 0 || agg_mem_load(c, out, err, errlen) < 0)
        goto fail;
    if (gs)
        load_detail(out, gs);
    account_no_verdict(out);
    rc = 0;
fail:
    if (last)
        freeReplyObject(last);
    if (meta)
        freeReplyObject(meta);
    if (agg)
        freeReplyObject(agg);
    return rc;
}

int agg_load_guests(redisContext *c, const char *run, struct agg_run *out, struct agg_guests *gs,
                    char *err, size_t errlen)
{
    memset(gs, 0, sizeof *gs);
    int rc = load_run(c, run, out, gs, err, errlen);
    if (rc < 0)
        agg_guests_free(gs);
    return rc;
}

int agg_load(redisContext *c, const char *run, struct agg_run *out, char *err, size_t errlen)
{
    struct agg_guests gs;
    int rc = agg_load_guests(c, run, out, &gs, err, errlen);
    agg_guests_free(&gs);
    return rc;
}

/* The newest `limit` run ids (all if limit <= 0), newest first; NULL with err. */
static redisReply *run_ids(redisContext *c, int limit, char *err, size_t errlen)
{
    return bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "ZREVRANGE %s 0 %d", KEY_RUNS,
                        limit > 0 ? limit - 1 : -1);
}

int agg_list_runs(redisContext *c, FILE *out, int limit, char *err, size_t errlen)
{
    redisReply *ids = run_ids(c, limit, err, errlen);
    struct agg_run *r = malloc(sizeof *r);
    int w = 3, rc = -1;
    if (!ids || !r)
        goto fail;
    for (size_t i = 0; i < ids->elements; i++)
        if (ids->element[i]->type == REDIS_REPLY_STRING && (int)ids->element[i]->len > w)
            w = (int)ids->element[i]->len;
    fprintf(out, "%-*s  %-12s  %7s  %12s  %8s  %s\n", w, "run", "guest", "guests", "ready/failed",
            "p50 ms", "complete");
    for (size_t i = 0; i < ids->elements; i++) {
        if (ids->element[i]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = ids->element[i]->str;
        char rf[48], p50[32] = "-";
        if (load_run(c, id, r, NULL, err, errlen) < 0) {
            if (c->err)
                goto fail;
            fprintf(out, "%-*s  (%s)\n", w, id, err); /* listed but unreadable: say why, go on */
            continue;
        }
        snprintf(rf, sizeof rf, "%lld/%lld", r->ready, r->failed);
        if (r->boot_n > 0)
            snprintf(p50, sizeof p50, "%.1f", r->boot_p50_ms);
        fprintf(out, "%-*s  %-12s  %7lld  %12s  %8s  %s\n", w, id, r->kind[0] ? r->kind : "-",
                r->total, rf, p50, r->complete ? "yes" : "no");
    }
    rc = (int)ids->elements;
fail:
    if (!r)
        snprintf(err, errlen, "out of memory");
    free(r);
    if (ids)
        freeReplyObject(ids);
    return rc;
}

/* One row of `runs --json`. */
static json_t *run_row(const struct agg_run *r)
{
    return json_pack("{so,so,sI,sI,sI,so,sb}", "run", agg_json_string(r->run), "guest",
                     agg_json_string(r->kind), "count", (json_int_t)r->total, "ready",
                     (json_int_t)r->ready, "failed", (json_int_t)r->failed, "boot_p50_ms",
                     agg_json_number(r->boot_p50_ms, r->boot_n > 0), "complete", r->complete);
}

json_t *agg_list_runs_json(redisContext *c, int limit, char *err, size_t errlen)
{
    redisReply *ids = run_ids(c, limit, err, errlen);
    struct agg_run *r = malloc(sizeof *r);
    json_t *a = json_array();
    if (!ids || !r || !a)
        goto fail;
    for (size_t i = 0; i < ids->elements; i++) {
        if (ids->element[i]->type != REDIS_REPLY_STRING)
            continue;
        const char *id = ids->element[i]->str;
        json_t *row;
        if (load_run(c, id, r, NULL, err, errlen) == 0)
            row = run_row(r);
        else if (!c->err) /* listed but unreadable: say why, go on */
            row = json_pack("{so,so}", "run", agg_json_string(id), "error", agg_json_string(err));
        else
            goto fail;
        if (!row || json_array_append_new(a, row) < 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    free(r);
    freeReplyObject(ids);
    return a;
fail:
    if (ids && (!r || !a))
        snprintf(err, errlen, "out of memory");
    json_decref(a);
    free(r);
    if (ids)
        freeReplyObject(ids);
    return NULL;
}

int agg_wait_done(redisContext *c, const char *run, int timeout_ms, char *err, size_t errlen)
{
    if (check_id(run, err, errlen) < 0)
        return -1;
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    struct runstore_state st = {0, -1, 0};
    for (;;) {
        int over = runstore_over(c, run, &st, err, errlen); /* the one rule of "over" */
        if (over < 0)
            return -1;
        if (over && st.expected > 0) /* no meta yet, or no host expected: keep waiting */
            return 0;
        int64_t left = mono_diff(clock_mono(), end);
        if (left <= 0)
            break;
        int64_t nap = left < 50 * NS_PER_MS ? left : 50 * NS_PER_MS;
        struct timespec ts = {(time_t)(nap / NS_PER_S), (long)(nap % NS_PER_S)};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
    long long done = st.done, expected = st.expected;
    if (expected < 0)
        snprintf(err, errlen, "no run '%s' in Redis after waiting %d ms", run, timeout_ms);
    else
        snprintf(err, errlen, "run '%s': %lld of %lld hosts done after %d ms", run, done, expected,
                 timeout_ms);
    return -1;
}
