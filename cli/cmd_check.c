/* `bootstorm check RUN --p99-max MS --max-failed-pct P`: a pass/fail verdict for CI
 * pipelines. A run with too many failures is marked invalid in its meta (`invalid`),
 * so `compare` leaves it out of means. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "cmd.h"

int cmd_check(int argc, char **argv, const char *redis_url)
{
    const char *run = NULL;
    double p99_max = -1, failed_max = -1;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--p99-max") && i + 1 < argc)
            p99_max = strtod(argv[++i], &end);
        else if (!strcmp(argv[i], "--max-failed-pct") && i + 1 < argc)
            failed_max = strtod(argv[++i], &end);
        else if (argv[i][0] != '-' && !run)
            run = argv[i];
        else
            bad = 1;
        bad |= end && *end;
    }
    if (!run || bad) {
        fprintf(stderr, "usage: bootstorm check RUN|last [--p99-max MS] [--max-failed-pct P]\n");
        return 2;
    }
    redisContext *c = cmd_connect("check", redis_url);
    if (!c)
        return 2;
    static struct agg_run r;
    char err[512];
    if (agg_load(c, run, &r, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm check: %s\n", err);
        redisFree(c);
        return 2;
    }
    int broken = 0;
    long long n = r.total > r.spawned ? r.total : r.spawned;
    double failed_pct = n > 0 ? 100.0 * (double)(n - r.ready) / (double)n : 100.0;
    if (!r.complete) {
        printf("FAIL %s: incomplete (%lld/%lld launchers done)\n", r.run, r.hosts_done,
               r.hosts_expected);
        broken = 1;
    }
    if (p99_max >= 0) {
        int ok = r.boot_n > 0 && r.boot_p99_ms <= p99_max;
        printf("%s %s: boot p99 %.1f ms, limit %.1f ms\n", ok ? "ok  " : "FAIL", r.run,
               r.boot_p99_ms, p99_max);
        broken |= !ok;
    }
    if (failed_max >= 0) {
        int ok = failed_pct <= failed_max;
        printf("%s %s: %.2f%% of %lld guests not ready (%lld failed), limit %.2f%%\n",
               ok ? "ok  " : "FAIL", r.run, failed_pct, n, r.failed, failed_max);
        if (!ok) {
            char why[128];
            snprintf(why, sizeof why, "%.2f%% of guests not ready > %.2f%%", failed_pct,
                     failed_max);
            redisReply *x = redisCommand(c, "HSET bs:{%s}:meta invalid %s", r.run, why);
            if (!x || x->type == REDIS_REPLY_ERROR)
                fprintf(stderr, "bootstorm check: could not mark %s invalid\n", r.run);
            if (x)
                freeReplyObject(x);
        }
        broken |= !ok;
    }
    redisFree(c);
    return broken;
}
