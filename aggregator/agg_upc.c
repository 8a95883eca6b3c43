/* Stream fields (the hosts' mem streams) and the hosts' clock offsets that put their
 * realtimes on one time line, for the charts (agg_plot.c), the HTML report (agg_html.c)
 * and the memory headline (agg_mem.c). Not for what the values mean (those files). */
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

int64_t agg_host_offset_ns(const struct agg_run *r, const char *host)
{
    for (int i = 0; i < r->nhosts; i++)
        if (!strcmp(r->host[i].name, host) && r->host[i].clock_err_ms >= 0)
            return (int64_t)(r->host[i].clock_offset_ms * 1e6 +
                             (r->host[i].clock_offset_ms < 0 ? -0.5 : 0.5));
    return 0;
}
