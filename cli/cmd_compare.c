/* `bootstorm compare RUN...`: several runs side by side, one column per run (full ids),
 * each after the first with its deltas against the first, and the mean over the valid
 * ones; how each run's guests started (cold, snapshot, template) with its template's
 * preparation and state file beside boot p50, so restore reads against cold boot. Not
 * for one run's detail (cmd_report) nor for a verdict (cmd_check --baseline). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"

#define MAX_RUNS 16
#define MAX_ROWS 24
#define CELL_MAX (AGG_ID_MAX + 32)

/* The table as text before it is printed, so each column is as wide as its widest cell
 * (full run ids, values with their deltas). Column n is the mean over the valid runs. */
struct table {
    int nrows;
    const char *label[MAX_ROWS];
    char cell[MAX_ROWS][MAX_RUNS + 1][CELL_MAX];
};

static char *next_row(struct table *t, const char *label)
{
    t->label[t->nrows] = label;
    return t->cell[t->nrows++][0];
}

/* One metric: its value per run, from the second run on with the delta and percentage
 * against the first ("612.4 (+409.3, +201.5%)"), then the mean of the valid runs. */
static void metric(struct table *t, const char *label, struct agg_run *const *r, int n, int prec,
                   double (*get)(const struct agg_run *))
{
    double sum = 0, base = get(r[0]), d, pct;
    int valid = 0, row = t->nrows;
    next_row(t, label);
    for (int i = 0; i < n; i++) {
        double v = get(r[i]);
        char *c = t->cell[row][i];
        snprintf(c, CELL_MAX, v < 0 ? "-" : "%.*f", prec, v);
        if (i > 0 && agg_delta(v, base, &d, &pct) == 0) {
            size_t len = strlen(c);
            if (isinf(pct))
                snprintf(c + len, CELL_MAX - len, " (%+.*f)", prec, d);
            else
                snprintf(c + len, CELL_MAX - len, " (%+.*f, %+.1f%%)", prec, d, pct);
        }
        if (!r[i]->invalid[0] && v >= 0)
            sum += v, valid++;
    }
    snprintf(t->cell[row][n], CELL_MAX, valid ? "%.*f" : "-", prec, valid ? sum / valid : 0);
}

#define GET(name, expr)                                                                            \
    static double name(const struct agg_run *r)                                                    \
    {                                                                                              \
        return (expr);                                                                             \
    }
GET(g_total, (double)r->total)
GET(g_ready, (double)r->ready)
GET(g_failed, (double)r->failed)
GET(g_min, r->boot_n > 0 ? r->boot_min_ms : -1)
GET(g_p50, r->boot_n > 0 ? r->boot_p50_ms : -1)
GET(g_p90, r->boot_n > 0 ? r->boot_p90_ms : -1)
GET(g_p99, r->boot_n > 0 ? r->boot_p99_ms : -1)
GET(g_max, r->boot_n > 0 ? r->boot_max_ms : -1)
GET(g_mean, r->boot_n > 0 ? r->boot_mean_ms : -1)
GET(g_all, r->all_ready_ms)
GET(g_rps, r->ready_per_s)
GET(g_peak, r->peak_mem_kib >= 0 ? (double)r->peak_mem_kib / 1024.0 : -1)
GET(g_lag, r->lag_n ? r->lag_p99_ms : -1)
GET(g_pss, r->pss_per_guest_mib)

/* start snapshot / template: the slowest host's preparation (with several hosts the
 * storm waits for it, docs/SNAPSHOTS.md) and the largest state file; -1 (shown "-")
 * for a cold run. */
static double g_prep(const struct agg_run *r)
{
    double v = -1;
    for (int i = 0; i < r->nhosts; i++)
        if (r->host[i].prep_ms > 0 && r->host[i].prep_ms > v)
            v = r->host[i].prep_ms;
    return v;
}

static double g_state(const struct agg_run *r)
{
    double v = -1;
    for (int i = 0; i < r->nhosts; i++)
        if (r->host[i].state_kib > 0 && (double)r->host[i].state_kib > v)
            v = (double)r->host[i].state_kib;
    return v;
}

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

static void print_rows(const struct table *t, int ncols)
{
    int w[MAX_RUNS + 1];
    for (int j = 0; j < ncols; j++) {
        w[j] = 0;
        for (int i = 0; i < t->nrows; i++)
            w[j] = (int)strlen(t->cell[i][j]) > w[j] ? (int)strlen(t->cell[i][j]) : w[j];
    }
    for (int i = 0; i < t->nrows; i++) {
        printf("%-14s", t->label[i]);
        for (int j = 0; j < ncols; j++)
            printf("  %*s", w[j], t->cell[i][j]);
        putchar('\n');
    }
}

/* One column per run (its full id), deltas against the first, the mean when n > 1. */
static void print_table(struct agg_run *const *r, int n)
{
    static struct table t;
    memset(&t, 0, sizeof t);
    char *run = next_row(&t, "run"), *guest = next_row(&t, "guest"), *ok = next_row(&t, "valid");
    char *start = next_row(&t, "start");
    for (int i = 0; i < n; i++) {
        snprintf(run + i * CELL_MAX, CELL_MAX, "%s", r[i]->run);
        snprintf(guest + i * CELL_MAX, CELL_MAX, "%s", r[i]->kind[0] ? r[i]->kind : "-");
        snprintf(start + i * CELL_MAX, CELL_MAX, "%s", r[i]->start[0] ? r[i]->start : "cold");
        snprintf(ok + i * CELL_MAX, CELL_MAX, "%s",
                 r[i]->invalid[0] ? "INVALID"
                 : r[i]->complete ? "yes"
                                  : "incomplete");
    }
    snprintf(run + n * CELL_MAX, CELL_MAX, "mean of valid");
    metric(&t, "guests", r, n, 0, g_total);
    metric(&t, "ready", r, n, 0, g_ready);
    metric(&t, "failed", r, n, 0, g_failed);
    metric(&t, "boot min ms", r, n, 1, g_min);
    metric(&t, "boot p50 ms", r, n, 1, g_p50);
    metric(&t, "prep ms", r, n, 1, g_prep);
    metric(&t, "state KiB", r, n, 0, g_state);
    metric(&t, "PSS/guest MiB", r, n, 1, g_pss);
    metric(&t, "boot p90 ms", r, n, 1, g_p90);
    metric(&t, "boot p99 ms", r, n, 1, g_p99);
    metric(&t, "boot max ms", r, n, 1, g_max);
    metric(&t, "boot mean ms", r, n, 1, g_mean);
    metric(&t, "all ready ms", r, n, 1, g_all);
    metric(&t, "ready/s", r, n, 1, g_rps);
    metric(&t, "peak MiB", r, n, 1, g_peak);
    metric(&t, "lag p99 ms", r, n, 2, g_lag);
    print_rows(&t, n > 1 ? n + 1 : n);
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
