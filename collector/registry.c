/* Host registry: a flat array searched linearly (launchers number in the tens or
 * hundreds; a batch touches few of them). */
#include "registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct host *reg_find(const struct registry *r, const char *id)
{
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->hosts[i]->id, id))
            return r->hosts[i];
    return NULL;
}

struct host *reg_get(struct registry *r, const char *id)
{
    struct host *h = reg_find(r, id);
    if (h)
        return h;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct host **p = realloc(r->hosts, cap * sizeof *p);
        if (!p)
            return NULL;
        r->hosts = p;
        r->cap = cap;
    }
    h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    snprintf(h->id, sizeof h->id, "%s", id);
    r->hosts[r->n++] = h;
    return h;
}

void reg_heard(struct host *h, const void *route, size_t route_len, mono_ns now)
{
    if (route_len > sizeof h->route)
        route_len = sizeof h->route;
    memcpy(h->route, route, route_len);
    h->route_len = route_len;
    h->last_heard = now;
}

void reg_excuse_stall(struct registry *r, int64_t ns)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->hosts[i]->last_heard.ns)
            r->hosts[i]->last_heard = mono_add(r->hosts[i]->last_heard, ns);
}

int reg_is_live(const struct host *h, mono_ns now)
{
    return h->route_len > 0 && mono_diff(h->last_heard, now) < REG_LIVE_NS;
}

int reg_clock_sample(struct host *h, int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                     int64_t *offset, int64_t *err_ns)
{
    int64_t delay = (t4 - t1) - (t3 - t2);
    if (delay < 0 || t3 < t2 || t4 < t1)
        return -1;
    h->clk_offset[h->clk_i] = ((t2 - t1) + (t3 - t4)) / 2;
    h->clk_delay[h->clk_i] = delay;
    h->clk_i = (h->clk_i + 1) % REG_CLOCK_SAMPLES;
    if (h->clk_n < REG_CLOCK_SAMPLES)
        h->clk_n++;
    return reg_clock_best(h, offset, err_ns);
}

int reg_clock_best(const struct host *h, int64_t *offset, int64_t *err_ns)
{
    if (!h->clk_n)
        return -1;
    int best = 0;
    for (int i = 1; i < h->clk_n; i++)
        if (h->clk_delay[i] < h->clk_delay[best])
            best = i;
    *offset = h->clk_offset[best];
    *err_ns = h->clk_delay[best] / 2;
    return 0;
}

struct reg_run *reg_run_add(struct registry *r, const char *id, int64_t at_tr, struct host **t,
                            int n, mono_ns now)
{
    if (r->nruns == r->runs_cap) {
        size_t cap = r->runs_cap ? r->runs_cap * 2 : 8;
        struct reg_run **p = realloc(r->runs, cap * sizeof *p);
        if (!p)
            return NULL;
        r->runs = p;
        r->runs_cap = cap;
    }
    struct reg_run *run = calloc(1, sizeof *run);
    if (!run || !(run->t = calloc((size_t)n, sizeof *run->t)))
        goto fail;
    snprintf(run->id, sizeof run->id, "%s", id);
    run->at_tr = at_tr;
    run->created = now;
    run->n = n;
    for (int i = 0; i < n; i++)
        run->t[i].h = t[i];
    r->runs[r->nruns++] = run;
    return run;
fail:
    free(run);
    return NULL;
}

struct reg_run *reg_run_find(const struct registry *r, const char *id)
{
    for (size_t i = 0; i < r->nruns; i++)
        if (!strcmp(r->runs[i]->id, id))
            return r->runs[i];
    return NULL;
}

void reg_run_drop(struct registry *r, size_t i)
{
    free(r->runs[i]->t);
    free(r->runs[i]);
    r->runs[i] = r->runs[--r->nruns];
}

void reg_free(struct registry *r)
{
    while (r->nruns)
        reg_run_drop(r, 0);
    free(r->runs);
    for (size_t i = 0; i < r->n; i++)
        free(r->hosts[i]);
    free(r->hosts);
    memset(r, 0, sizeof *r);
}
