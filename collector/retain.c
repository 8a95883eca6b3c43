/* --keep-runs: prune after a run ends, through common/runstore.c. See retain.h. */
#include "retain.h"

#include "log.h"
#include "runstore.h"

static void logged(void *arg, const char *run, enum runstore_fate fate, long long nkeys)
{
    const int64_t *keep = arg;
    if (fate == RUNSTORE_REMOVED)
        log_info("--keep-runs %lld: removed run %s (%lld keys)", (long long)*keep, run, nkeys);
}

void retain_after_end(redisContext *redis, const char *run, int64_t keep)
{
    char err[512];
    if (keep <= 0)
        return;
    int over = runstore_over(redis, run, NULL, err, sizeof err);
    struct runstore_rule rule = {.keep = keep};
    if (over > 0 && runstore_prune(redis, &rule, logged, &keep, err, sizeof err) >= 0)
        return;
    if (over < 0 || over > 0)
        log_warn("--keep-runs: %s", err);
}
