/* `bootstorm report` and `bootstorm runs`: read-only views of runs stored in Redis,
 * computed by the aggregator. Not for starting runs (cmd_run). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"

static const char report_usage[] =
    "usage: bootstorm report [RUN|last] [--json]\n"
    "  the report of one run (default: the newest); --json: one JSON object\n";
static const char runs_usage[] = "usage: bootstorm runs [--limit N] [--json]\n"
                                 "  the newest N runs (default 20), newest first;\n"
                                 "  --json: one JSON array\n";

static const struct option report_opts[] = {
    {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

int cmd_report(int argc, char **argv, const char *redis_url)
{
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "jh", report_opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return args_usage(report_usage, c == 'h');
    }
    if (argc - optind > 1)
        return args_bad("report", report_usage, "unexpected argument", argv[optind + 1]);
    const char *run = optind < argc ? argv[optind] : "last";
    char err[512];
    if (args_run_id("report", run) < 0)
        return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("report", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    struct agg_run *r = malloc(sizeof *r);
    int rc = ARGS_OK;
    if (!r) {
        fprintf(stderr, "bootstorm report: out of memory\n");
        rc = ARGS_USAGE;
    } else if (agg_load(rc_redis, run, r, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm report: %s\n", err);
        rc = rc_redis->err ? ARGS_USAGE : ARGS_FAIL;
    } else if (json) {
        if (agg_print_json(r, stdout) < 0) {
            fprintf(stderr, "bootstorm report: cannot write the JSON report\n");
            rc = ARGS_FAIL;
        }
    } else {
        agg_print_text(r, stdout);
    }
    free(r);
    redisFree(rc_redis);
    return rc;
}

static const struct option runs_opts[] = {{"limit", required_argument, 0, 'n'},
                                          {"json", no_argument, 0, 'j'},
                                          {"help", no_argument, 0, 'h'},
                                          {0, 0, 0, 0}};

int cmd_runs(int argc, char **argv, const char *redis_url)
{
    int64_t limit = 20;
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "n:jh", runs_opts, NULL)) != -1) {
        if (c == 'n') {
            if (args_int("runs", "--limit", optarg, 1, 1000000, &limit) < 0)
                return ARGS_USAGE;
        } else if (c == 'j') {
            json = 1;
        } else {
            return args_usage(runs_usage, c == 'h');
        }
    }
    if (optind < argc)
        return args_bad("runs", runs_usage, "unexpected argument", argv[optind]);
    char err[512] = "";
    redisContext *rc_redis = cmd_connect("runs", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    int rc = ARGS_OK;
    if (json) {
        json_t *a = agg_list_runs_json(rc_redis, (int)limit, err, sizeof err);
        if (agg_json_dump(a, stdout) < 0)
            rc = ARGS_FAIL;
    } else if (agg_list_runs(rc_redis, stdout, (int)limit, err, sizeof err) < 0) {
        rc = ARGS_FAIL;
    }
    if (rc) {
        fprintf(stderr, "bootstorm runs: %s\n", err[0] ? err : "cannot write the list");
        rc = rc_redis->err ? ARGS_USAGE : ARGS_FAIL;
    }
    redisFree(rc_redis);
    return rc;
}
