/* Per-guest raw rows of a run (bs:{RUN}:guest:*) for export and charts: every guest
 * hash read in one SCAN + pipelined HGETALL pass. Not for aggregates (agg.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "keys.h"
#include "yamlcfg.h"

#define COPY(dst, v) snprintf(dst, sizeof dst, "%s", v)

static const char *hget(const redisReply *h, const char *f)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, f))
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL;
    return NULL;
}

static long long ll_of(const redisReply *h, const char *f, long long def)
{
    const char *v = hget(h, f);
    char *end;
    if (!v)
        return def;
    long long x = strtoll(v, &end, 10);
    return end != v && !*end ? x : def;
}

/* (t - spawn_tm) in ms when both are known, else -1. */
static double since(const redisReply *h, const char *f, long long t0)
{
    long long t = ll_of(h, f, -1);
    return t0 >= 0 && t >= t0 ? (double)(t - t0) / 1e6 : -1;
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

/* One guest from its hash h; id is its key's part after bs:{RUN}:guest: (HOST:IDX). */
static void fill(struct agg_guests *gs, struct agg_guest *g, const char *id, const redisReply *h)
{
    const char *v;
    memset(g, 0, sizeof *g);
    COPY(g->id, id);
    COPY(g->host, (v = hget(h, "host")) ? v : "");
    COPY(g->state, (v = hget(h, "state")) ? v : "");
    COPY(g->reason, (v = hget(h, "reason")) ? v : "");
    COPY(g->accel, (v = hget(h, "accel")) ? v : "");
    COPY(g->accel_why, (v = hget(h, "accel_why")) ? v : "");
    g->idx = ll_of(h, "idx", -1);
    g->gen = ll_of(h, "gen", 0);
    g->running = ll_of(h, "running", -1);
    g->spawn_tr = ll_of(h, "spawn_tr", 0);
    long long t0 = ll_of(h, "spawn_tm", -1);
    g->boot_ms = ll_of(h, "boot_ns", -1) >= 0 ? (double)ll_of(h, "boot_ns", 0) / 1e6 : -1;
    g->spawned_ms = since(h, "spawned_tm", t0);
    g->first_output_ms = since(h, "first_output_tm", t0);
    g->ready_ms = since(h, "ready_tm", t0);
    g->rss_kib = ll_of(h, "rss_kib", -1);
    g->ram_kib = ll_of(h, "ram_kib", -1);
    g->cpu_ms = ll_of(h, "cpu_ms", -1);
    for (int i = 0; i < AGG_MARKERS_MAX; i++)
        g->marker_ms[i] = -1;
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const char *f = h->element[i]->str;
        int m;
        if (h->element[i]->type == REDIS_REPLY_STRING && !strncmp(f, "m:", 2) &&
            (m = marker_index(gs, f + 2)) >= 0)
            g->marker_ms[m] = since(h, f, t0);
    }
}

static int cmp_guest(const void *a, const void *b)
{
    const struct agg_guest *x = a, *y = b;
    int c = strcmp(x->host, y->host);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

int agg_guests_load(redisContext *c, const char *run, struct agg_guests *out, char *err,
                    size_t errlen)
{
    memset(out, 0, sizeof *out);
    size_t cap = 0;
    char cursor[32] = "0", match[KEY_MAX];
    if (ycfg_id_check("run id", run, err, errlen) < 0) /* no glob or key part from outside */
        return -1;
    keys_guest_match(match, sizeof match, run); /* fits: the id was checked */
    size_t pre = strlen(match) - 1;             /* bs:{RUN}:guest: without the '*' */
    do {
        redisReply *r = redisCommand(c, "SCAN %s MATCH %s COUNT 1000", cursor, match);
        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
            snprintf(err, errlen, "redis: SCAN: %s",
                     r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            goto fail;
        }
        COPY(cursor, r->element[0]->str);
        const redisReply *keys = r->element[1];
        for (size_t i = 0; i < keys->elements; i++)
            redisAppendCommand(c, "HGETALL %s", keys->element[i]->str);
        for (size_t i = 0; i < keys->elements; i++) {
            redisReply *h = NULL;
            if (redisGetReply(c, (void **)&h) != REDIS_OK) {
                snprintf(err, errlen, "redis: %s", c->errstr);
                freeReplyObject(r);
                goto fail;
            }
            if (h->type == REDIS_REPLY_ARRAY && h->elements) {
                if (out->n == cap) {
                    cap = cap ? cap * 2 : 256;
                    struct agg_guest *p = realloc(out->g, cap * sizeof *p);
                    if (!p) {
                        snprintf(err, errlen, "out of memory");
                        freeReplyObject(h);
                        freeReplyObject(r);
                        goto fail;
                    }
                    out->g = p;
                }
                const char *k = keys->element[i]->str; /* MATCH gave it the prefix */
                fill(out, &out->g[out->n++], strlen(k) > pre ? k + pre : k, h);
            }
            freeReplyObject(h);
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0"));
    qsort(out->g, out->n, sizeof *out->g, cmp_guest);
    return 0;
fail:
    agg_guests_free(out);
    return -1;
}

void agg_guests_free(struct agg_guests *gs)
{
    free(gs->g);
    memset(gs, 0, sizeof *gs);
}

static void csv_num(FILE *out, double v)
{
    v >= 0 ? fprintf(out, ",%.6f", v) : fputs(",", out);
}

/* CSV cell of a string: quoted when it holds a separator, quote or newline. */
static void csv_str(FILE *out, const char *s, int first)
{
    if (!first)
        fputc(',', out);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, out);
    fputc('"', out);
}

void agg_export_csv(const struct agg_guests *gs, FILE *out)
{
    fputs("guest,host,idx,gen,state,reason,running,spawn_tr_ns,ready_tr_ns,boot_ms,spawned_ms,"
          "first_output_ms,ready_ms,rss_kib,ram_kib,vmm_overhead_kib,cpu_ms,accel,accel_why",
          out);
    for (int i = 0; i < gs->nmarkers; i++)
        fputs(",m:", out), csv_str(out, gs->marker[i], 1);
    fputc('\n', out);
    for (size_t i = 0; i < gs->n; i++) {
        const struct agg_guest *g = &gs->g[i];
        csv_str(out, g->id, 1);
        csv_str(out, g->host, 0);
        fprintf(out, ",%lld,%lld", g->idx, g->gen);
        csv_str(out, g->state, 0);
        csv_str(out, g->reason, 0);
        fprintf(out, ",%lld,", g->running);
        if (g->spawn_tr)
            fprintf(out, "%lld", (long long)g->spawn_tr);
        fputc(',', out);
        if (g->spawn_tr && g->ready_ms >= 0)
            fprintf(out, "%lld", (long long)g->spawn_tr + (long long)(g->ready_ms * 1e6 + 0.5));
        csv_num(out, g->boot_ms);
        csv_num(out, g->spawned_ms);
        csv_num(out, g->first_output_ms);
        csv_num(out, g->ready_ms);
        long long kib[4] = {g->rss_kib, g->ram_kib,
                            g->rss_kib >= 0 && g->ram_kib >= 0 ? g->rss_kib - g->ram_kib : -1,
                            g->cpu_ms};
        for (int k = 0; k < 4; k++)
            kib[k] >= 0 ? fprintf(out, ",%lld", kib[k]) : fputs(",", out);
        csv_str(out, g->accel, 0);
        csv_str(out, g->accel_why, 0);
        for (int m = 0; m < gs->nmarkers; m++)
            csv_num(out, g->marker_ms[m]);
        fputc('\n', out);
    }
}
