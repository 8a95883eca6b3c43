/* Memory per guest from the guests' own processes: each host's mem stream
 * (bs:{RUN}:mem:HOST, redis/SCHEMA.md) holds samples of the PSS summed over its
 * guests' processes, over how many guests it was read and how many ran; the headline
 * figure is the PSS per guest read of each host's sample with the most guests running
 * (best_sample), over all hosts (the launcher takes one such sample as soon as no guest
 * is booting any more). Host-wide memory
 * (everything in use on the host) stays peak_mem_kib. Not for drawing memory (agg_plot.c). */
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "bredis.h"
#include "keys.h"

/* The sample of one host's stream x taken when the most guests ran, of those with a
 * PSS (the fleet at its peak; the launcher reads PSS for a spread of pss_guests of
 * them, scenario.h); among those, the one read for the most guests (a sample asked
 * while the spawns were still coming back reads the few whose pids were known, and
 * their PSS per guest is too high: shared pages divided among fewer), then the
 * largest PSS (guests keep touching memory as they boot). Its PSS, the guests it was
 * read for, the guests running and its realtime; all 0 when no sample has a PSS. */
struct pss_sample {
    long long pss_kib, sampled, running, tr;
};

static long long field_ll(const redisReply *e, const char *name)
{
    const char *v = agg_xfield(e, name);
    return v ? atoll(v) : 0;
}

/* a beats b: more guests running, then more read, then more PSS */
static int pss_better(const struct pss_sample *a, const struct pss_sample *b)
{
    if (a->running != b->running)
        return a->running > b->running;
    if (a->sampled != b->sampled)
        return a->sampled > b->sampled;
    return a->pss_kib > b->pss_kib;
}

static struct pss_sample best_sample(const redisReply *x)
{
    struct pss_sample b = {0, 0, 0, 0};
    for (size_t i = 0; i < x->elements; i++) {
        const redisReply *e = x->element[i];
        struct pss_sample s = {field_ll(e, "pss_kib"), field_ll(e, "pss_n"), field_ll(e, "running"),
                               field_ll(e, "tr")};
        if (!s.sampled) /* before pss_n (2026-11-30): the guests alive, an upper bound */
            s.sampled = s.running;
        if (s.pss_kib > 0 && s.sampled > 0 && (!b.sampled || pss_better(&s, &b)))
            b = s;
    }
    return b;
}

int agg_mem_load(redisContext *c, struct agg_run *r, char *err, size_t errlen)
{
    long long pss = 0, sampled = 0, running = 0, tr = 0;
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
        sampled += b.sampled;
        running += b.running;
        tr = b.tr > tr ? b.tr : tr;
    }
    if (sampled <= 0)
        return 0;
    r->pss_per_guest_mib = (double)pss / (double)sampled / 1024.0;
    r->pss_sampled = sampled;
    r->pss_running = running;
    r->pss_at_ms = r->first_spawn_tr && tr ? (double)(tr - r->first_spawn_tr) / 1e6 : -1;
    r->pss_booting = tr && r->last_ready_tr && tr < r->last_ready_tr; /* not all ready yet */
    return 0;
}
