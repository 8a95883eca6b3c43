/* Memory per guest from the guests' own processes: each host's mem stream
 * (bs:{RUN}:mem:HOST, redis/SCHEMA.md) holds samples of the PSS summed over its
 * guests' processes and how many ran; the headline figure is the PSS of each host's
 * sample with the largest PSS over the guests it counted, summed over hosts (the
 * launcher takes one such sample as soon as no guest is booting any more). Host-wide memory
 * (everything in use on the host) stays peak_mem_kib. Not for drawing memory (agg_plot.c). */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "bredis.h"
#include "keys.h"

/* The sample of one host's stream x with the largest PSS (the fleet at its peak: guests
 * keep touching memory as they boot, and leave): its PSS, the guests it was summed over
 * and its realtime; all 0 when no sample has a PSS. */
struct pss_sample {
    long long pss_kib, running, tr;
};

static struct pss_sample best_sample(const redisReply *x)
{
    struct pss_sample b = {0, 0, 0};
    for (size_t i = 0; i < x->elements; i++) {
        const char *p = agg_xfield(x->element[i], "pss_kib"),
                   *n = agg_xfield(x->element[i], "pss_n"), *t = agg_xfield(x->element[i], "tr");
        if (!n || !atoll(n)) /* before pss_n (2026-11-30): the guests alive, an upper bound */
            n = agg_xfield(x->element[i], "running");
        long long pss = p ? atoll(p) : 0, run = n ? atoll(n) : 0;
        if (pss > b.pss_kib && run > 0)
            b = (struct pss_sample){pss, run, t ? atoll(t) : 0};
    }
    return b;
}

int agg_mem_load(redisContext *c, struct agg_run *r, char *err, size_t errlen)
{
    long long pss = 0, running = 0, tr = 0;
    r->pss_per_guest_mib = -1;
    for (int h = 0; h < r->nhosts; h++) {
        char key[KEY_MAX];
        if (keys_mem(key, sizeof key, r->run, r->host[h].name) < 0)
            continue;
        redisReply *x = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "XRANGE %s - +", key);
        if (!x)
            return -1;
        struct pss_sample b = best_sample(x);
        freeReplyObject(x);
        pss += b.pss_kib;
        running += b.running;
        tr = b.tr > tr ? b.tr : tr;
    }
    if (running <= 0)
        return 0;
    r->pss_per_guest_mib = (double)pss / (double)running / 1024.0;
    r->pss_running = running;
    r->pss_at_ms = r->first_spawn_tr && tr ? (double)(tr - r->first_spawn_tr) / 1e6 : -1;
    r->pss_booting = tr && r->last_ready_tr && tr < r->last_ready_tr; /* not all ready yet */
    return 0;
}
