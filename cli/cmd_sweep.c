/* `bootstorm sweep RUN... | --last N`: the summary of a sweep (runs grouped by count,
 * mean ± stddev of the repeats) for runs already stored, the same as `run` prints at
 * the end of a sweep (aggregator/agg_sweep.c computes both), and the boot-storm curve.
 * Not for runs side by side (cmd_compare.c). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "agg_sweep.h"
#include "args.h"
#include "cmd.h"

#define SWEEP_RUNS_MAX 1024

static const char usage[] =
    "usage: bootstorm sweep RUN... | --last N [--json] [--plot DIR]\n"
    "  the runs (or the newest N, taken oldest first) grouped by count: per count the\n"
    "  runs, mean ± sample stddev (min..max) of boot p50, boot p99 and all ready, and\n"
    "  the failed guests (at most 1024 runs)\n"
    "  --json      one JSON object, \"summary\": true (docs/REPORTS.md)\n"
    "  --plot DIR  the boot-storm curve: p50, p99 and max boot time against the count,\n"
    "              error bars from the repeats (DIR/sweep.png, .svg, .dat, .gp; gnuplot)\n";

static const struct option opts[] = {{"last", required_argument, 0, 'l'},
                                     {"json", no_argument, 0, 'j'},
                                     {"plot", required_argument, 0, 'p'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

/* The run ids to summarise: the command line's, or the newest `last` from Redis. */
static int run_list(redisContext *c, int argc, char **argv, int64_t last, char (*ids)[AGG_ID_MAX],
                    char **ptr)
{
    char err[512];
    int n = last ? agg_sweep_last(c, (int)last, ids, err, sizeof err) : argc;
    if (n < 0) {
        fprintf(stderr, "bootstorm sweep: %s\n", err);
        return -1;
    }
    for (int i = 0; i < n; i++)
        ptr[i] = last ? ids[i] : argv[i];
    return n;
}

int cmd_sweep(int argc, char **argv, const char *redis_url)
{
    int json = 0, c;
    int64_t last = 0;
    const char *plot = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "l:jp:h", opts, NULL)) != -1) {
        if (c == 'l' && args_int("sweep", "--last", optarg, 1, SWEEP_RUNS_MAX, &last) < 0)
            return ARGS_USAGE;
        else if (c == 'j')
            json = 1;
        else if (c == 'p')
            plot = optarg;
        else if (c != 'l')
            return args_usage(usage, c == 'h');
    }
    int n = argc - optind;
    if ((n > 0) == (last > 0))
        return args_bad("sweep", usage, n ? "RUN... or --last N, not both" : "no run given", NULL);
    if (n > SWEEP_RUNS_MAX)
        return args_bad("sweep", usage, "too many runs", NULL);
    for (int i = 0; i < n; i++)
        if (args_run_id("sweep", argv[optind + i]) < 0)
            return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("sweep", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    static char ids[SWEEP_RUNS_MAX][AGG_ID_MAX];
    static char *ptr[SWEEP_RUNS_MAX];
    static struct agg_sweep s;
    char err[512];
    int rc = ARGS_OK;
    n = run_list(rc_redis, n, argv + optind, last, ids, ptr);
    if (n == 0)
        fprintf(stderr, "bootstorm sweep: no run stored\n");
    if (n <= 0 || agg_sweep_load(rc_redis, ptr, n, &s, err, sizeof err) < 0) {
        if (n > 0)
            fprintf(stderr, "bootstorm sweep: %s\n", err);
        rc = rc_redis->err || n < 0 ? ARGS_USAGE : ARGS_FAIL;
    } else if (agg_sweep_report(&s, json, plot, stdout, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm sweep: %s\n", err);
        rc = ARGS_FAIL;
    }
    agg_sweep_free(&s);
    redisFree(rc_redis);
    return rc;
}
