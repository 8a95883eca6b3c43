/* `bootstorm compare RUN...`: several runs side by side, one column per run, and the
 * mean over the valid ones. Not for one run's detail (cmd_report). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"

#define MAX_RUNS 16

static void row(const char *label, struct agg_run *const *r, int n, const char *fmt, int ok_mean,
                double (*get)(const struct agg_run *))
{
    double sum = 0;
    int valid = 0;
    printf("%-18s", label);
    for (int i = 0; i < n; i++) {
        double v = get(r[i]);
        char b[32] = "-";
        if (v >= 0)
            snprintf(b, sizeof b, fmt, v);
        printf("  %14s", b);
        if (!r[i]->invalid[0] && v >= 0)
            sum += v, valid++;
    }
    if (n > 1) {
        char b[32] = "-";
        if (ok_mean && valid)
            snprintf(b, sizeof b, fmt, sum / valid);
        printf("  %14s", b);
    }
    putchar('\n');
}

#define GET(name, expr)                                                                            \
    static double name(const struct agg_run *r)                                                    \
    {                                                                                              \
        return (expr);                                                                             \
    }
GET(g_total, (double)r->total)
GET(g_ready, (double)r->ready)
GET(g_failed, (double)r->failed)
GET(g_min, r->boot_min_ms)
GET(g_p50, r->boot_p50_ms)
GET(g_p90, r->boot_p90_ms)
GET(g_p99, r->boot_p99_ms)
GET(g_max, r->boot_max_ms)
GET(g_mean, r->boot_mean_ms)
GET(g_all, r->all_ready_ms)
GET(g_rps, r->ready_per_s)
GET(g_peak, r->peak_mem_kib >= 0 ? (double)r->peak_mem_kib / 1024.0 : -1)
GET(g_lag, r->lag_n ? r->lag_p99_ms : -1)

static const char usage[] = "usage: bootstorm compare RUN... [--json]\n"
                            "  runs side by side (at most 16) and the mean of the valid ones;\n"
                            "  --json: one JSON array of their reports\n";

/* The runs' reports as one JSON array. */
static int print_json(struct agg_run *const *r, int n)
{
    json_t *a = json_array();
    for (int i = 0; a && i < n; i++) {
        json_t *o = agg_run_json(r[i]);
        if (!o || json_array_append_new(a, o) < 0) {
            json_decref(a);
            a = NULL;
        }
    }
    return agg_json_dump(a, stdout);
}

static void print_table(struct agg_run *const *r, int n)
{
    printf("%-18s", "run");
    for (int i = 0; i < n; i++) /* the tail of the id: its count and random suffix */
        printf("  %14s", strlen(r[i]->run) > 14 ? r[i]->run + strlen(r[i]->run) - 14 : r[i]->run);
    printf(n > 1 ? "  %14s\n" : "\n", "mean of valid");
    printf("%-18s", "guest");
    for (int i = 0; i < n; i++)
        printf("  %14.14s", r[i]->kind);
    printf("\n%-18s", "valid");
    for (int i = 0; i < n; i++)
        printf("  %14s", r[i]->invalid[0] ? "INVALID" : r[i]->complete ? "yes" : "incomplete");
    putchar('\n');
    row("guests", r, n, "%.0f", 1, g_total);
    row("ready", r, n, "%.0f", 1, g_ready);
    row("failed", r, n, "%.0f", 1, g_failed);
    row("boot min ms", r, n, "%.1f", 1, g_min);
    row("boot p50 ms", r, n, "%.1f", 1, g_p50);
    row("boot p90 ms", r, n, "%.1f", 1, g_p90);
    row("boot p99 ms", r, n, "%.1f", 1, g_p99);
    row("boot max ms", r, n, "%.1f", 1, g_max);
    row("boot mean ms", r, n, "%.1f", 1, g_mean);
    row("all ready ms", r, n, "%.1f", 1, g_all);
    row("ready/s", r, n, "%.1f", 1, g_rps);
    row("peak MiB", r, n, "%.1f", 1, g_peak);
    row("lag p99 ms", r, n, "%.2f", 1, g_lag);
}

static const struct option opts[] = {
    {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

int cmd_compare(int argc, char **argv, const char *redis_url)
{
    int json = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
        if (c == 'j')
            json = 1;
        else
            return args_usage(usage, c == 'h');
    }
    int n = argc - optind;
    if (n < 1 || n > MAX_RUNS)
        return args_bad("compare", usage, n ? "too many runs" : "no run given", NULL);
    for (int i = 0; i < n; i++)
        if (args_run_id("compare", argv[optind + i]) < 0)
            return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("compare", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    struct agg_run *r[MAX_RUNS] = {0};
    char err[512];
    int rc = ARGS_OK;
    for (int i = 0; i < n && !rc; i++)
        if (!(r[i] = malloc(sizeof *r[i])) ||
            agg_load(rc_redis, argv[optind + i], r[i], err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm compare: %s\n", r[i] ? err : "out of memory");
            rc = rc_redis->err ? ARGS_USAGE : ARGS_FAIL;
        }
    if (!rc && json && print_json(r, n) < 0) {
        fprintf(stderr, "bootstorm compare: cannot write the JSON\n");
        rc = ARGS_FAIL;
    } else if (!rc && !json) {
        print_table(r, n);
    }
    for (int i = 0; i < n; i++)
        free(r[i]);
    redisFree(rc_redis);
    return rc;
}
