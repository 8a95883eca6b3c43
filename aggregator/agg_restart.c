/* Mass restart recovery: how long after a restart the fleet was whole again, from the
 * ready-count timeline folded from the run's events (agg_events.c). The one place this is computed;
 * the text, JSON, chart and HTML outputs only show struct agg_run's restart_* fields. */
#include "agg.h"

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

void agg_restart_fill(struct agg_run *r, const struct agg_guests *gs)
{
    if (r->restart_tr)
        r->restart_recovery_ms = agg_restart_recovery(gs->upc, gs->nupc, r->restart_tr,
                                                      r->restart_count, &r->restart_level,
                                                      &r->restart_low);
}
