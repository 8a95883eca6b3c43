/* Reading the ready-count timeline bs:{RUN}:upc (redis/SCHEMA.md) and putting its
 * entries on one time line with the hosts' clock offsets: the one parser of its
 * entries, for the chart (agg_plot.c), the HTML report (agg_html.c) and the restart
 * recovery (agg_restart.c). Not for what the counts mean (those files). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

const char *agg_xfield(const redisReply *e, const char *f)
{
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2)
        return NULL;
    const redisReply *kv = e->element[1];
    if (kv->type != REDIS_REPLY_ARRAY)
        return NULL;
    for (size_t i = 0; i + 1 < kv->elements; i += 2)
        if (kv->element[i]->type == REDIS_REPLY_STRING && !strcmp(kv->element[i]->str, f) &&
            kv->element[i + 1]->type == REDIS_REPLY_STRING)
            return kv->element[i + 1]->str;
    return NULL;
}

int agg_upc_entry(const redisReply *e, struct agg_upc *out, const char **host)
{
    long long tm, tr, n, all;
    int at = 0;
    if (e->type == REDIS_REPLY_STRING &&
        sscanf(e->str, "%lld %lld %lld %lld %n", &tm, &tr, &n, &all, &at) == 4 && at &&
        e->str[at]) {
        *out = (struct agg_upc){tr, all};
        *host = e->str + at;
        return 1;
    }
    const char *t = agg_xfield(e, "tr"), *a = agg_xfield(e, "all"), *h = agg_xfield(e, "host");
    if (!t || !a || !h)
        return 0;
    *out = (struct agg_upc){atoll(t), atoll(a)};
    *host = h;
    return 1;
}

int64_t agg_host_offset_ns(const struct agg_run *r, const char *host)
{
    for (int i = 0; i < r->nhosts; i++)
        if (!strcmp(r->host[i].name, host) && r->host[i].clock_err_ms >= 0)
            return (int64_t)(r->host[i].clock_offset_ms * 1e6 +
                             (r->host[i].clock_offset_ms < 0 ? -0.5 : 0.5));
    return 0;
}
