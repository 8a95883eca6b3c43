/* The collector's retention setting (--keep-runs N, BOOTSTORM_KEEP_RUNS): once a run
 * is over, the runs beyond the newest N are removed. Not for how runs are chosen or
 * deleted: common/runstore.c owns both (as for `bootstorm prune --keep N`). */
#ifndef BS_RETAIN_H
#define BS_RETAIN_H

#include <hiredis/hiredis.h>
#include <stdint.h>

/* Called when a run_end of run was stored. When keep > 0 and the run is now over
 * (runstore_over), removes the runs beyond the newest keep that are over, logging
 * each; runs still running are kept. A Redis failure is logged and leaves redis->err
 * set for the caller to reconnect. */
void retain_after_end(redisContext *redis, const char *run, int64_t keep);

#endif
