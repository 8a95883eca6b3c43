/* `bootstorm plot RUN --out DIR`: the run's charts as PNG and SVG (gnuplot). Not for
 * drawing them (aggregator/agg_plot.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"

static const char usage[] = "usage: bootstorm plot RUN|last --out DIR\n"
                            "  the run's charts as PNG and SVG into DIR (gnuplot)\n";

static const struct option opts[] = {
    {"out", required_argument, 0, 'o'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

int cmd_plot(int argc, char **argv, const char *redis_url)
{
    const char *dir = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        if (c == 'o')
            dir = optarg;
        else
            return args_usage(usage, c == 'h');
    }
    if (!dir)
        return args_bad("plot", usage, "missing --out DIR", NULL);
    if (argc - optind != 1)
        return args_bad("plot", usage, optind < argc ? "one run only" : "no run given", NULL);
    if (args_run_id("plot", argv[optind]) < 0)
        return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("plot", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    static struct agg_run r;
    struct agg_guests gs = {0};
    char err[512];
    int rc = ARGS_OK, n;
    if (agg_load_guests(rc_redis, argv[optind], &r, &gs, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm plot: %s\n", err);
        rc = rc_redis->err ? ARGS_USAGE : ARGS_FAIL;
    } else if ((n = agg_plot(rc_redis, &r, &gs, dir, err, sizeof err)) < 0) {
        fprintf(stderr, "bootstorm plot: %s\n", err);
        rc = ARGS_FAIL;
    } else {
        printf("%d charts of run %s written to %s (PNG and SVG)\n", n, r.run, dir);
    }
    agg_guests_free(&gs);
    redisFree(rc_redis);
    return rc;
}
