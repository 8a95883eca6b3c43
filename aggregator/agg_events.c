/* A run's guests, phases, boot-by-running buckets, ready per second, ready-count
 * timeline and instances by accel, folded from the run's events (bs:{RUN}:ev, each
 * message as its launcher sent it) at query time. The Redis Function stores the events
 * and the run's counters only: what needs a guest's earlier events is derived here,
 * once per query, not in Redis once per event (docs/ARCHITECTURE.md, "The event path").
 * Not for the counters and the boot and lag distributions (agg.c reads those). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "bredis.h"
#include "event.h"
#include "keys.h"
#include "yamlcfg.h"

#define COPY(dst, v) snprintf(dst, sizeof dst, "%s", v)
#define EV_CHUNK 5000 /* events per LRANGE */

/* Fold state beside the rows: per host its ready count and first spawn, the rows by
 * (host, index) in an open-addressing table (indexes are sparse after restarts and
 * ramps, and a launcher may send any index the codec allows: no array by index), per
 * row the monotonic time the phases are measured from. */
struct fold_host {
    long long up;     /* its guests ready and alive */
    int64_t first_tm; /* its first spawn (monotonic), -1 before one */
};

struct fold_slot {
    size_t row1; /* row + 1; 0: empty */
    int64_t idx;
    int host;
};

struct fold {
    struct agg_guests *gs;
    struct fold_host host[AGG_HOSTS_MAX];
    struct fold_slot *tab; /* tab_cap entries, a power of two, at most half full */
    size_t tab_cap;
    int64_t *spawn_tm; /* per row, the latest generation's spawn */
    char *up;          /* per row, 1 while ready and alive */
    size_t cap_tm, cap_up;
    long long up_all;
    int64_t *ready_s; /* per ready: the second since its host's first spawn */
    size_t nready, cap_ready;
};

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * size);
    if (!q)
        return -1;
    memset((char *)q + *cap * size, 0, (n - *cap) * size);
    *p = q;
    *cap = n;
    return 0;
}

static int host_index(struct fold *f, const char *name)
{
    struct agg_guests *gs = f->gs;
    for (int i = 0; i < gs->nhosts; i++)
        if (!strcmp(gs->host[i], name))
            return i;
    if (gs->nhosts == AGG_HOSTS_MAX)
        return -1;
    COPY(gs->host[gs->nhosts], name);
    f->host[gs->nhosts].first_tm = -1;
    gs->anchor_tm[gs->nhosts] = -1;
    return gs->nhosts++;
}

/* *dst becomes a copy of v. Returns 0 or -1 (out of memory, *dst unchanged). */
static int set_text(char **dst, const char *v)
{
    char *c = strdup(v);
    if (!c)
        return -1;
    free(*dst);
    *dst = c;
    return 0;
}

static void row_reset(struct agg_guest *g)
{
    free(g->accel_why);
    free(g->detail);
    g->accel_why = g->detail = NULL;
    g->state[0] = g->reason[0] = g->accel[0] = 0;
    g->boot_ms = g->spawned_ms = g->first_output_ms = g->ready_ms = g->exit_ms = -1;
    g->rss_kib = g->ram_kib = g->cpu_ms = g->pid = g->exit_status = g->spawn_ns = -1;
    for (int i = 0; i < AGG_MARKERS_MAX; i++)
        g->marker_ms[i] = -1;
}

static size_t slot_of(const struct fold_slot *tab, size_t cap, int h, int64_t idx)
{
    size_t i = (size_t)(((uint64_t)idx * 0x9E3779B97F4A7C15u) >> 7 ^ (uint64_t)h) & (cap - 1);
    while (tab[i].row1 && (tab[i].idx != idx || tab[i].host != h))
        i = (i + 1) & (cap - 1);
    return i;
}

/* Doubles the table (from 1024) when the next row would fill it past half. */
static int tab_grow(struct fold *f)
{
    if (2 * (f->gs->n + 1) <= f->tab_cap)
        return 0;
    size_t cap = f->tab_cap ? 2 * f->tab_cap : 1024;
    struct fold_slot *t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
    for (size_t i = 0; i < f->tab_cap; i++)
        if (f->tab[i].row1)
            t[slot_of(t, cap, f->tab[i].host, f->tab[i].idx)] = f->tab[i];
    free(f->tab);
    f->tab = t;
    f->tab_cap = cap;
    return 0;
}

/* A new row for guest idx of host h; NULL when out of memory. */
static struct agg_guest *row_new(struct fold *f, int h, int64_t idx)
{
    struct agg_guests *gs = f->gs;
    size_t n = gs->n + 1;
    if (tab_grow(f) < 0 || grow((void **)&gs->g, &gs->cap, n, sizeof *gs->g) < 0 ||
        grow((void **)&f->spawn_tm, &f->cap_tm, n, sizeof *f->spawn_tm) < 0 ||
        grow((void **)&f->up, &f->cap_up, n, 1) < 0)
        return NULL;
    struct agg_guest *g = &gs->g[gs->n];
    memset(g, 0, sizeof *g);
    row_reset(g);
    g->host = h;
    g->idx = idx;
    g->running = g->spawn_tm = -1;
    f->spawn_tm[gs->n] = -1;
    f->tab[slot_of(f->tab, f->tab_cap, h, idx)] = (struct fold_slot){++gs->n, idx, h};
    return g;
}

/* The row of guest idx of host h, made on its first event; NULL when out of memory. */
static struct agg_guest *row_of(struct fold *f, int h, int64_t idx, size_t *at)
{
    if (f->tab_cap) {
        const struct fold_slot *s = &f->tab[slot_of(f->tab, f->tab_cap, h, idx)];
        if (s->row1) {
            *at = s->row1 - 1;
            return &f->gs->g[*at];
        }
    }
    if (!row_new(f, h, idx))
        return NULL;
    *at = f->gs->n - 1;
    return &f->gs->g[*at];
}

/* One value (ms) of phase name; -1 when out of memory. */
static int phase_add(struct agg_guests *gs, const char *name, double ms)
{
    int i = 0;
    while (i < gs->nphases && strcmp(gs->phase[i].name, name))
        i++;
    if (i == gs->nphases) {
        if (i == AGG_PHASES_MAX || strlen(name) >= AGG_ID_MAX)
            return 0; /* more phases than a report shows: left out */
        COPY(gs->phase[i].name, name);
        gs->nphases++;
    }
    struct agg_phase_values *p = &gs->phase[i];
    if (grow((void **)&p->v, &p->cap, p->n + 1, sizeof *p->v) < 0)
        return -1;
    p->v[p->n++] = ms;
    return 0;
}

/* The phase from t0 to t1 (monotonic ns) when both are known and in order. */
static int phase_between(struct agg_guests *gs, const char *name, double t0_ms, double t1_ms)
{
    return t0_ms >= 0 && t1_ms >= t0_ms ? phase_add(gs, name, t1_ms - t0_ms) : 0;
}

/* The ready count changes by delta at e (its host's realtime): one timeline entry. */
static int up_change(struct fold *f, int h, size_t at, int delta, const struct ev *e)
{
    struct agg_guests *gs = f->gs;
    f->up[at] = delta > 0;
    f->host[h].up += delta;
    f->up_all += delta;
    if (grow((void **)&gs->upc, &gs->upc_cap, gs->nupc + 1, sizeof *gs->upc) < 0)
        return -1;
    gs->upc[gs->nupc++] = (struct agg_upc){e->tr.ns, f->up_all, h};
    return 0;
}

static int down(struct fold *f, int h, size_t at, const struct ev *e)
{
    return f->up[at] ? up_change(f, h, at, -1, e) : 0;
}

static void accel_count(struct agg_guests *gs, const char *accel, int delta)
{
    int i = 0;
    while (i < gs->naccels && strcmp(gs->accels[i].name, accel))
        i++;
    if (i == gs->naccels) {
        if (i == 4)
            return;
        COPY(gs->accels[i].name, accel);
        gs->accels[i].n = 0;
        gs->naccels++;
    }
    gs->accels[i].n += delta;
}

/* Power-of-two bucket of the guests already running at spawn: 0, 1, 2, 4, 8, ... */
static long long bucket_lo(long long n)
{
    long long b = 1;
    if (n < 1)
        return 0;
    while (b * 2 <= n)
        b *= 2;
    return b;
}

static void bucket_add(struct agg_guests *gs, long long running, double boot_ms)
{
    long long lo = bucket_lo(running);
    int i = 0;
    while (i < gs->nbuckets && gs->bucket[i].lo != lo)
        i++;
    if (i == gs->nbuckets) {
        if (i == AGG_BUCKETS_MAX)
            return;
        gs->bucket[i] = (struct agg_bucket){lo, 0, 0, -1};
        gs->nbuckets++;
    }
    struct agg_bucket *b = &gs->bucket[i];
    b->n++;
    b->mean_ms += boot_ms; /* a sum until fold_finish */
    if (boot_ms > b->max_ms)
        b->max_ms = boot_ms;
}

/* One more ready in second s since its host's first spawn (all hosts summed): kept as
 * a list, counted once sorted (a ready far in the future costs no array up to it). */
static int rps_add(struct fold *f, int64_t s)
{
    if (grow((void **)&f->ready_s, &f->cap_ready, f->nready + 1, sizeof *f->ready_s) < 0)
        return -1;
    f->ready_s[f->nready++] = s;
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The most readies in one second (nearest to bs:{RUN}:rps of older libraries). */
static long long peak_per_second(int64_t *s, size_t n)
{
    long long peak = 0, run = 0;
    qsort(s, n, sizeof *s, cmp_i64);
    for (size_t i = 0; i < n; i++) {
        run = i && s[i] == s[i - 1] ? run + 1 : 1;
        peak = run > peak ? run : peak;
    }
    return peak;
}

static int marker_index(struct agg_guests *gs, const char *name)
{
    for (int i = 0; i < gs->nmarkers; i++)
        if (!strcmp(gs->marker[i], name))
            return i;
    if (gs->nmarkers == AGG_MARKERS_MAX || strlen(name) >= AGG_ID_MAX)
        return -1;
    COPY(gs->marker[gs->nmarkers], name);
    return gs->nmarkers++;
}

static double ms_since(int64_t t0, int64_t t)
{
    return t0 >= 0 && t >= t0 ? (double)(t - t0) / 1e6 : -1;
}

/* spawn: a new generation when the guest was spawned before (a restart). */
static int on_spawn(struct fold *f, int h, size_t at, struct agg_guest *g, const struct ev *e)
{
    struct agg_guests *gs = f->gs;
    if (f->spawn_tm[at] >= 0) {
        if (down(f, h, at, e) < 0)
            return -1;
        g->gen++;
        gs->respawned++;
        row_reset(g);
    }
    COPY(g->state, "spawning");
    f->spawn_tm[at] = g->spawn_tm = e->tm.ns;
    g->spawn_tr = e->tr.ns;
    g->running = e->running;
    if (f->host[h].first_tm < 0 || e->tm.ns < f->host[h].first_tm)
        f->host[h].first_tm = e->tm.ns;
    if (gs->anchor_tm[h] < 0) { /* one (monotonic, realtime) pair of the host */
        gs->anchor_tm[h] = e->tm.ns;
        gs->anchor_tr[h] = e->tr.ns;
    }
    return 0;
}

static int on_spawned(struct fold *f, size_t at, struct agg_guest *g, const struct ev *e)
{
    g->pid = e->pid;
    g->spawned_ms = ms_since(f->spawn_tm[at], e->tm.ns);
    if (e->spawn_ns)
        g->spawn_ns = e->spawn_ns;
    if (e->accel[0] && strcmp(e->accel, g->accel)) { /* instances by accel */
        if (g->accel[0])
            accel_count(f->gs, g->accel, -1);
        accel_count(f->gs, e->accel, 1);
        COPY(g->accel, e->accel);
    }
    if (e->detail[0] && set_text(&g->accel_why, e->detail) < 0)
        return -1;
    if (!g->state[0] || !strcmp(g->state, "spawning"))
        COPY(g->state, "running");
    return phase_between(f->gs, "spawned", 0, g->spawned_ms);
}

static int on_first_output(struct fold *f, size_t at, struct agg_guest *g, const struct ev *e)
{
    if (g->first_output_ms >= 0)
        return 0;
    g->first_output_ms = ms_since(f->spawn_tm[at], e->tm.ns);
    return phase_between(f->gs, "first_output", g->spawned_ms >= 0 ? g->spawned_ms : 0,
                         g->first_output_ms);
}

static int on_marker(struct fold *f, size_t at, struct agg_guest *g, const struct ev *e)
{
    int m = marker_index(f->gs, e->name);
    char name[AGG_ID_MAX + 2];
    if (m < 0 || g->marker_ms[m] >= 0)
        return 0;
    g->marker_ms[m] = ms_since(f->spawn_tm[at], e->tm.ns);
    snprintf(name, sizeof name, "m:%s", e->name);
    return phase_between(f->gs, name, 0, g->marker_ms[m]);
}

static int on_ready(struct fold *f, int h, size_t at, struct agg_guest *g, const struct ev *e)
{
    COPY(g->state, "ready");
    g->ready_ms = ms_since(f->spawn_tm[at], e->tm.ns);
    g->boot_ms = (double)e->boot_ns / 1e6;
    if (phase_between(f->gs, "ready", g->first_output_ms, g->ready_ms) < 0)
        return -1;
    bucket_add(f->gs, g->running, g->boot_ms);
    int64_t t0 = f->host[h].first_tm;
    if (t0 >= 0 && e->tm.ns >= t0 && rps_add(f, (e->tm.ns - t0) / 1000000000) < 0)
        return -1;
    return up_change(f, h, at, 1, e);
}

/* exit and failed: the guest's end, with what its launcher measured of it. */
static int on_end(struct fold *f, int h, size_t at, struct agg_guest *g, const struct ev *e)
{
    if (e->type == EV_EXIT) {
        g->exit_status = e->status;
        g->exit_ms = ms_since(f->spawn_tm[at], e->tm.ns);
        if (e->ram_kib)
            g->ram_kib = e->ram_kib;
        if (strcmp(g->state, "ready") && strcmp(g->state, "failed"))
            COPY(g->state, "exited");
    } else {
        COPY(g->state, "failed");
        COPY(g->reason, e->reason);
    }
    if (e->rss_kib)
        g->rss_kib = e->rss_kib;
    if (e->cpu_ms)
        g->cpu_ms = e->cpu_ms;
    if (e->detail[0] && set_text(&g->detail, e->detail) < 0)
        return -1;
    return down(f, h, at, e);
}

/* One stored event, applied as the Function once applied it to a guest's hash. */
static int apply(struct fold *f, const struct ev *e)
{
    size_t at;
    int h;
    struct agg_guest *g;
    if (e->guest < 0 || e->type == EV_LINE || (h = host_index(f, e->host)) < 0)
        return 0;
    if (!(g = row_of(f, h, e->guest, &at)))
        return -1;
    switch (e->type) {
    case EV_SPAWN:
        return on_spawn(f, h, at, g, e);
    case EV_SPAWNED:
        return on_spawned(f, at, g, e);
    case EV_FIRST_OUTPUT:
        return on_first_output(f, at, g, e);
    case EV_MARKER:
        return on_marker(f, at, g, e);
    case EV_READY:
        return on_ready(f, h, at, g, e);
    case EV_EXIT:
    case EV_FAILED:
        return on_end(f, h, at, g, e);
    default:
        return 0;
    }
}

static int cmp_guest(const void *a, const void *b, void *gs)
{
    const struct agg_guest *x = a, *y = b;
    int c = strcmp(agg_guest_host(gs, x), agg_guest_host(gs, y));
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

const char *agg_guest_host(const struct agg_guests *gs, const struct agg_guest *g)
{
    return g->host >= 0 && g->host < gs->nhosts ? gs->host[g->host] : "";
}

const char *agg_guest_id(const struct agg_guests *gs, const struct agg_guest *g, char *buf,
                         size_t len)
{
    snprintf(buf, len, "%s:%lld", agg_guest_host(gs, g), g->idx);
    return buf;
}

/* Buckets hold sums until here; the busiest second; rows go in host, index order. */
static void fold_finish(const struct fold *f, struct agg_guests *gs)
{
    gs->peak_ready_1s = peak_per_second(f->ready_s, f->nready);
    for (int i = 0; i < gs->nbuckets; i++)
        gs->bucket[i].mean_ms = gs->bucket[i].n ? gs->bucket[i].mean_ms / gs->bucket[i].n : -1;
    qsort_r(gs->g, gs->n, sizeof *gs->g, cmp_guest, gs);
}

/* Applies the events of one LRANGE reply; an element the codec refuses (a newer
 * launcher's type) is skipped, as the Function kept it without applying it. */
static int apply_reply(struct fold *f, const redisReply *r, struct ev *e)
{
    char why[128];
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *x = r->element[i];
        if (x->type == REDIS_REPLY_STRING && ev_decode(x->str, x->len, e, why, sizeof why) == 0 &&
            apply(f, e) < 0)
            return -1;
    }
    return 0;
}

static int fold_events(redisContext *c, const char *run, struct fold *f, char *err, size_t errlen)
{
    char key[KEY_MAX];
    struct ev *e = malloc(sizeof *e);
    int rc = e ? 0 : -1;
    keys_run(key, sizeof key, run, KEY_EV); /* fits: the id was checked */
    for (long long at = 0; rc == 0;) {
        redisReply *r = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "LRANGE %s %lld %lld", key,
                                     at, at + EV_CHUNK - 1);
        if (!r)
            break;
        rc = apply_reply(f, r, e);
        size_t n = r->elements;
        freeReplyObject(r);
        if (n < EV_CHUNK)
            break;
        at += EV_CHUNK;
    }
    if (rc < 0)
        snprintf(err, errlen, "out of memory for the events of run %s", run);
    free(e);
    return rc < 0 || c->err ? -1 : 0;
}

int agg_guests_load(redisContext *c, const char *run, struct agg_guests *out, char *err,
                    size_t errlen)
{
    struct fold f;
    memset(out, 0, sizeof *out);
    memset(&f, 0, sizeof f);
    f.gs = out;
    if (ycfg_id_check("run id", run, err, errlen) < 0)
        return -1;
    int rc = fold_events(c, run, &f, err, errlen);
    if (rc == 0)
        fold_finish(&f, out);
    else
        agg_guests_free(out);
    free(f.tab);
    free(f.spawn_tm);
    free(f.up);
    free(f.ready_s);
    return rc;
}

void agg_guests_free(struct agg_guests *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        row_reset(&gs->g[i]);
    free(gs->g);
    free(gs->upc);
    for (int i = 0; i < gs->nphases; i++)
        free(gs->phase[i].v);
    memset(gs, 0, sizeof *gs);
}
