/* `bootstorm check RUN --p99-max MS --max-failed-pct P`: a pass/fail verdict for CI
 * pipelines. A run with too many failures is marked invalid in its meta (`invalid`),
 * so `compare` leaves it out of means. Not for showing a run (cmd_report). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"
#include "runmeta.h"

static const char usage[] =
    "usage: bootstorm check RUN|last [--p99-max MS] [--max-failed-pct P]\n"
    "  exit 1 when the boot p99 exceeds MS, more than P percent of the guests were not\n"
    "  ready, or the run is incomplete; at least one limit must be given\n";

struct limits {
    double p99_max, failed_max; /* < 0: not given */
};

static const struct option opts[] = {{"p99-max", required_argument, 0, 'p'},
                                     {"max-failed-pct", required_argument, 0, 'f'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

/* Parses the options into *lim and leaves optind at RUN; returns -1 to go on, else
 * the exit code. */
static int parse(int argc, char **argv, struct limits *lim)
{
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "p:f:h", opts, NULL)) != -1) {
        if (c == 'p') {
            if (args_double("check", "--p99-max", optarg, 0, 1e9, &lim->p99_max) < 0)
                return ARGS_USAGE;
        } else if (c == 'f') {
            if (args_double("check", "--max-failed-pct", optarg, 0, 100, &lim->failed_max) < 0)
                return ARGS_USAGE;
        } else {
            return args_usage(usage, c == 'h');
        }
    }
    if (argc - optind != 1)
        return args_bad("check", usage, optind < argc ? "one run only" : "no run given", NULL);
    if (lim->p99_max < 0 && lim->failed_max < 0)
        return args_bad("check", usage,
                        "no limit given: --p99-max MS and/or --max-failed-pct P is required", NULL);
    return -1;
}

/* Marks the run invalid in its meta: compare leaves it out of means. */
static void mark_invalid(redisContext *c, const char *run, double failed_pct, double limit)
{
    char why[128];
    snprintf(why, sizeof why, "%.2f%% of guests not ready > %.2f%%", failed_pct, limit);
    char err[256];
    if (runmeta_note(c, run, RUNMETA_SET, "invalid", why, err, sizeof err) < 0)
        fprintf(stderr, "bootstorm check: could not mark %s invalid: %s\n", run, err);
}

/* Prints one line per verdict; returns 1 when any is broken. */
static int verdicts(redisContext *c, const struct agg_run *r, const struct limits *lim)
{
    int broken = 0;
    long long n = r->total > r->spawned ? r->total : r->spawned;
    double failed_pct = n > 0 ? 100.0 * (double)(n - r->ready) / (double)n : 100.0;
    if (!r->complete) {
        printf("FAIL %s: incomplete (%lld/%lld launchers done)\n", r->run, r->hosts_done,
               r->hosts_expected);
        broken = 1;
    }
    if (lim->p99_max >= 0) {
        int ok = r->boot_n > 0 && r->boot_p99_ms <= lim->p99_max;
        printf("%s %s: boot p99 %.1f ms, limit %.1f ms\n", ok ? "ok  " : "FAIL", r->run,
               r->boot_p99_ms, lim->p99_max);
        broken |= !ok;
    }
    if (lim->failed_max >= 0) {
        int ok = failed_pct <= lim->failed_max;
        printf("%s %s: %.2f%% of %lld guests not ready (%lld failed), limit %.2f%%\n",
               ok ? "ok  " : "FAIL", r->run, failed_pct, n, r->failed, lim->failed_max);
        if (!ok)
            mark_invalid(c, r->run, failed_pct, lim->failed_max);
        broken |= !ok;
    }
    return broken;
}

int cmd_check(int argc, char **argv, const char *redis_url)
{
    struct limits lim = {-1, -1};
    int rc = parse(argc, argv, &lim);
    if (rc >= 0)
        return rc;
    if (args_run_id("check", argv[optind]) < 0)
        return ARGS_USAGE;
    redisContext *c = cmd_connect("check", redis_url);
    if (!c)
        return ARGS_USAGE;
    static struct agg_run r;
    char err[512];
    if (agg_load(c, argv[optind], &r, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm check: %s\n", err);
        rc = ARGS_USAGE;
    } else {
        rc = verdicts(c, &r, &lim) ? ARGS_FAIL : ARGS_OK;
    }
    redisFree(c);
    return rc;
}
