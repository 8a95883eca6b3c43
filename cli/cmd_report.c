/* `bootstorm report` and `bootstorm runs`: read-only views of runs stored in Redis,
 * computed by the aggregator, as text, JSON or one HTML file. Not for starting runs
 * (cmd_run). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "agg_html.h"
#include "args.h"
#include "cmd.h"

static const char report_usage[] =
    "usage: bootstorm report [RUN|last] [--json | --html FILE]\n"
    "  the report of one run (default: the newest); --json: one JSON object;\n"
    "  --html FILE: one self-contained HTML file (tables and SVG charts)\n";
static const char runs_usage[] = "usage: bootstorm runs [--limit N] [--json]\n"
                                 "  the newest N runs (default 20), newest first;\n"
                                 "  --json: one JSON array\n";

static const struct option report_opts[] = {{"json", no_argument, 0, 'j'},
                                            {"html", required_argument, 0, 'H'},
                                            {"help", no_argument, 0, 'h'},
                                            {0, 0, 0, 0}};

/* Writes the HTML report of r and its guests gs (loaded) to path: its series read
 * first, the file written whole or removed. Returns the exit code. */
static int write_html(redisContext *c, const struct agg_run *r, const struct agg_guests *gs,
                      const char *path)
{
    struct agg_series s = {0};
    char err[512];
    int rc = ARGS_FAIL;
    FILE *f = NULL;
    if (agg_series_load(c, r, gs, &s, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm report: %s\n", err);
        rc = c->err ? ARGS_USAGE : ARGS_FAIL;
        goto fail;
    }
    if (!(f = fopen(path, "w"))) {
        fprintf(stderr, "bootstorm report: --html: %s: %s\n", path, strerror(errno));
        goto fail;
    }
    if ((agg_html_write(r, gs, &s, f) < 0) | (fclose(f) != 0)) {
        fprintf(stderr, "bootstorm report: --html: %s: write failed\n", path);
        remove(path);
        goto fail;
    }
    rc = ARGS_OK;
fail:
    agg_series_free(&s);
    return rc;
}

int cmd_report(int argc, char **argv, const char *redis_url)
{
    int json = 0, c;
    const char *html = NULL;
    optind = 0;
    while ((c = getopt_long(argc, argv, "jH:h", report_opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else if (c == 'H')
            html = optarg;
        else
            return args_usage(report_usage, c == 'h');
    }
    if (argc - optind > 1)
        return args_bad("report", report_usage, "unexpected argument", argv[optind + 1]);
    if (json && html)
        return args_bad("report", report_usage, "--json and --html: one at a time", NULL);
    if (html && !*html)
        return args_bad("report", report_usage, "--html needs a file name", NULL);
    const char *run = optind < argc ? argv[optind] : "last";
    char err[512];
    if (args_run_id("report", run) < 0)
        return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("report", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    struct agg_run *r = malloc(sizeof *r);
    struct agg_guests gs = {0};
    int rc = ARGS_OK;
    if (!r) {
        fprintf(stderr, "bootstorm report: out of memory\n");
        rc = ARGS_USAGE;
    } else if (agg_load_guests(rc_redis, run, r, &gs, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm report: %s\n", err);
        rc = rc_redis->err ? ARGS_USAGE : ARGS_FAIL;
    } else if (html) {
        rc = write_html(rc_redis, r, &gs, html);
    } else if (json) {
        if (agg_print_json(r, stdout) < 0) {
            fprintf(stderr, "bootstorm report: cannot write the JSON report\n");
            rc = ARGS_FAIL;
        }
    } else {
        agg_print_text(r, stdout);
    }
    agg_guests_free(&gs);
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
