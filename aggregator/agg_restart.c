/* Mass restart recovery: how long after a restart the fleet was whole again, read from
 * the ready-count list bs:{RUN}:upc (redis/SCHEMA.md). The one place this is computed;
 * the text, JSON, chart and HTML outputs only show struct agg_run's restart_* fields. */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "keys.h"

double agg_restart_recovery(const struct agg_upc *u, size_t n, int64_t restart_tr,
                            long long restarted, long long *level, long long *low)
{
    *level = *low = -1;
    size_t i = 0;
    for (; i < n && u[i].tr < restart_tr; i++)
        *level = u[i].all;
    if (*level <= 0) /* nothing was up to restart, or no count before it */
        return -1;
    /* The net count alone is not enough: a killed guest that takes long to exit lets
     * the count reach its level while a restarted one is still booting. So count the
     * readies (each change is +-1 in the order applied) since the restart too. */
    long long prev = *level, ups = 0, need = restarted > 0 ? restarted : 1;
    for (; i < n; i++) {
        long long step = u[i].all - prev;
        prev = u[i].all;
        if (u[i].tr < restart_tr) /* another host's change applied late: not after it */
            continue;
        if (*low < 0 || u[i].all < *low)
            *low = u[i].all;
        ups += step > 0;
        if (ups >= need && u[i].all >= *level)
            return (double)(u[i].tr - restart_tr) / 1e6;
    }
    return -1;
}

/* Parses the elements of list upc into a new array (agg_upc_entry); NULL when out of
 * memory. Unreadable elements are left out. */
static struct agg_upc *upc_parse(const redisReply *x, size_t *n)
{
    struct agg_upc *u = malloc((x->elements ? x->elements : 1) * sizeof *u);
    const char *host;
    *n = 0;
    for (size_t i = 0; u && i < x->elements; i++)
        *n += agg_upc_entry(x->element[i], &u[*n], &host);
    return u;
}

int agg_restart_load(redisContext *c, struct agg_run *r, char *err, size_t errlen)
{
    char key[KEY_MAX];
    if (!r->restart_tr)
        return 0;
    if (keys_run(key, sizeof key, r->run, KEY_UPC) < 0) {
        snprintf(err, errlen, "run id '%.64s' too long for a key", r->run);
        return -1;
    }
    redisReply *x = redisCommand(c, "LRANGE %s 0 -1", key);
    if (x && x->type == REDIS_REPLY_ERROR && !strncmp(x->str, "WRONGTYPE", 9)) {
        freeReplyObject(x); /* a stream: a run stored before library version 6 */
        return 0;
    }
    if (!x || x->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "redis: %s", x && x->type == REDIS_REPLY_ERROR ? x->str : c->errstr);
        if (x)
            freeReplyObject(x);
        return -1;
    }
    size_t n;
    struct agg_upc *u = upc_parse(x, &n);
    freeReplyObject(x);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    r->restart_recovery_ms = agg_restart_recovery(u, n, r->restart_tr, r->restart_count,
                                                  &r->restart_level, &r->restart_low);
    free(u);
    return 0;
}
