/* `bootstorm report` and `bootstorm runs`: read-only views of runs stored in Redis,
 * computed by the aggregator. Not for starting runs (cmd_run). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "bredis.h"
#include "cmd.h"

#define REDIS_TIMEOUT_MS 5000

static int usage_report(FILE *f)
{
    fputs("usage: bootstorm report [RUN|last] [--json]\n", f);
    return f == stdout ? 0 : 1;
}

static int usage_runs(FILE *f)
{
    fputs("usage: bootstorm runs [--limit N]\n", f);
    return f == stdout ? 0 : 1;
}

redisContext *cmd_connect(const char *sub, const char *redis_url)
{
    char err[512];
    redisContext *c = bredis_connect(redis_url, REDIS_TIMEOUT_MS, err, sizeof err);
    if (!c)
        fprintf(stderr, "bootstorm %s: %s\n", sub, err);
    return c;
}

int cmd_report(int argc, char **argv, const char *redis_url)
{
    const char *run = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage_report(stdout);
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "bootstorm report: unknown option '%s'\n", argv[i]);
            return usage_report(stderr);
        } else if (run) {
            fprintf(stderr, "bootstorm report: unexpected argument '%s' (run '%s' already given)\n",
                    argv[i], run);
            return usage_report(stderr);
        } else
            run = argv[i];
    }
    char err[512];
    redisContext *c = cmd_connect("report", redis_url);
    if (!c)
        return 2;
    struct agg_run *r = malloc(sizeof *r);
    int rc = 0;
    if (!r) {
        fprintf(stderr, "bootstorm report: out of memory\n");
        rc = 2;
    } else if (agg_load(c, run ? run : "last", r, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm report: %s\n", err);
        rc = c->err ? 2 : 1;
    } else if (json)
        agg_print_json(r, stdout);
    else
        agg_print_text(r, stdout);
    free(r);
    redisFree(c);
    return rc;
}

int cmd_runs(int argc, char **argv, const char *redis_url)
{
    long limit = 20;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (!strcmp(argv[i], "--limit")) {
            if (i + 1 == argc) {
                fprintf(stderr, "bootstorm runs: --limit needs a value\n");
                return usage_runs(stderr);
            }
            v = argv[++i];
        } else if (!strncmp(argv[i], "--limit=", 8))
            v = argv[i] + 8;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return usage_runs(stdout);
        else {
            fprintf(stderr, "bootstorm runs: unexpected argument '%s'\n", argv[i]);
            return usage_runs(stderr);
        }
        char *end;
        limit = strtol(v, &end, 10);
        if (end == v || *end || limit < 1 || limit > 1000000) {
            fprintf(stderr, "bootstorm runs: bad --limit '%s' (want a positive integer)\n", v);
            return 1;
        }
    }
    char err[512];
    redisContext *c = cmd_connect("runs", redis_url);
    if (!c)
        return 2;
    int rc = 0;
    if (agg_list_runs(c, stdout, (int)limit, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm runs: %s\n", err);
        rc = c->err ? 2 : 1;
    }
    redisFree(c);
    return rc;
}
