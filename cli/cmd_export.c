/* `bootstorm export RUN --csv|--json`: every guest's raw numbers, one row each. Not
 * for aggregates (cmd_report). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"

static const char usage[] = "usage: bootstorm export RUN|last (--csv|--json) [--out FILE]\n"
                            "  one row per guest: CSV with a header line, or one JSON array\n";

enum fmt { FMT_NONE, FMT_CSV, FMT_JSON };

static const struct option opts[] = {{"csv", no_argument, 0, 'c'},
                                     {"json", no_argument, 0, 'j'},
                                     {"out", required_argument, 0, 'o'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

/* Writes the guests of run in fmt to path (stdout when NULL). Returns an exit code. */
static int export_run(redisContext *c, const char *run, enum fmt fmt, const char *path)
{
    static struct agg_run r;
    struct agg_guests gs = {0};
    char err[512];
    int rc = ARGS_OK;
    FILE *out = stdout;
    if (agg_load_guests(c, run, &r, &gs, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm export: %s\n", err);
        rc = c->err ? ARGS_USAGE : ARGS_FAIL;
    } else if (path && !(out = fopen(path, "w"))) {
        perror(path);
        rc = ARGS_FAIL;
    } else {
        if (fmt == FMT_CSV)
            agg_export_csv(&gs, out);
        else if (agg_json_dump(agg_guests_json(&gs), out) < 0)
            rc = ARGS_FAIL;
        if ((out != stdout && fclose(out)) || rc) {
            perror(path ? path : "stdout");
            rc = ARGS_FAIL;
        }
    }
    agg_guests_free(&gs);
    return rc;
}

int cmd_export(int argc, char **argv, const char *redis_url)
{
    const char *path = NULL;
    enum fmt fmt = FMT_NONE;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "cjo:h", opts, NULL)) != -1) {
        enum fmt want = c == 'c' ? FMT_CSV : FMT_JSON;
        if (c == 'c' || c == 'j') {
            if (fmt != FMT_NONE && fmt != want)
                return args_bad("export", usage, "give one of --csv and --json", NULL);
            fmt = want;
        } else if (c == 'o') {
            path = optarg;
        } else {
            return args_usage(usage, c == 'h');
        }
    }
    if (fmt == FMT_NONE)
        return args_bad("export", usage, "missing --csv or --json", NULL);
    if (argc - optind != 1)
        return args_bad("export", usage, optind < argc ? "one run only" : "no run given", NULL);
    if (args_run_id("export", argv[optind]) < 0)
        return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("export", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    int rc = export_run(rc_redis, argv[optind], fmt, path);
    redisFree(rc_redis);
    return rc;
}
