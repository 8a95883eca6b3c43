/* `bootstorm check RUN --p99-max MS --max-failed-pct P --baseline RUN2 --max-regress PCT`:
 * a pass/fail verdict for CI pipelines, against fixed limits and/or an earlier run. A run
 * with too many failures is marked invalid in its meta (`invalid`), so `compare` leaves
 * it out of means. Not for showing a run (cmd_report). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "args.h"
#include "cmd.h"
#include "numarg.h"
#include "runmeta.h"

static const char usage[] =
    "usage: bootstorm check RUN|last [--p99-max MS] [--max-failed-pct P]\n"
    "                       [--baseline RUN2 --max-regress PCT[%]]\n"
    "  exit 1 when the boot p99 exceeds MS, more than P percent of the guests were not\n"
    "  ready, the run is incomplete, or its boot p50, boot p99 or time until all were\n"
    "  ready is more than PCT percent above RUN2's; at least one limit or a baseline\n"
    "  must be given\n";

struct limits {
    double p99_max, failed_max; /* < 0: not given */
    const char *baseline;       /* NULL: not given */
    double max_regress;         /* percent; < 0: not given */
};

static const struct option opts[] = {
    {"p99-max", required_argument, 0, 'p'},  {"max-failed-pct", required_argument, 0, 'f'},
    {"baseline", required_argument, 0, 'b'}, {"max-regress", required_argument, 0, 'r'},
    {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};

/* --max-regress PCT: a percentage, with or without its '%' ("10" or "10%"). */
static int parse_regress(const char *s, double *out)
{
    char num[64], err[256];
    size_t n = strlen(s);
    if (n > 1 && n < sizeof num && s[n - 1] == '%') {
        memcpy(num, s, n - 1);
        num[n - 1] = '\0';
        s = num;
    }
    if (numarg_double("--max-regress", s, 0, 1e6, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm check: %s\n", err);
    return -1;
}

/* What the options say together: at least one limit, a baseline with its margin. */
static int parse_check(int argc, const struct limits *lim)
{
    if (argc - optind != 1)
        return args_bad("check", usage, optind < argc ? "one run only" : "no run given", NULL);
    if (!lim->baseline != (lim->max_regress < 0))
        return args_bad("check", usage,
                        lim->baseline ? "--baseline needs --max-regress PCT"
                                      : "--max-regress needs --baseline RUN2",
                        NULL);
    if (lim->p99_max < 0 && lim->failed_max < 0 && !lim->baseline)
        return args_bad("check", usage,
                        "no limit given: --p99-max MS, --max-failed-pct P and/or "
                        "--baseline RUN2 --max-regress PCT is required",
                        NULL);
    return -1;
}

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
        } else if (c == 'b') {
            lim->baseline = optarg;
        } else if (c == 'r') {
            if (parse_regress(optarg, &lim->max_regress) < 0)
                return ARGS_USAGE;
        } else {
            return args_usage(usage, c == 'h');
        }
    }
    return parse_check(argc, lim);
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

/* The metrics a baseline is held to, each -1 when the run does not have it. */
static double m_p50(const struct agg_run *r)
{
    return r->boot_n > 0 ? r->boot_p50_ms : -1;
}
static double m_p99(const struct agg_run *r)
{
    return r->boot_n > 0 ? r->boot_p99_ms : -1;
}
static double m_all_ready(const struct agg_run *r)
{
    return r->all_ready_ms;
}

static const struct {
    const char *label;
    double (*get)(const struct agg_run *);
} metrics[] = {{"boot p50 ms", m_p50}, {"boot p99 ms", m_p99}, {"all ready ms", m_all_ready}};

/* One line per metric of r against its baseline b: value, baseline, delta, percent,
 * PASS/FAIL. A metric either run lacks fails. Returns 1 when any failed. */
static int regressions(const struct agg_run *r, const struct agg_run *b, double max_regress)
{
    int broken = 0;
    printf("baseline %s: %s may be at most %.1f%% slower\n", b->run, r->run, max_regress);
    if (b->invalid[0] || !b->complete)
        printf("note: the baseline is %s\n", b->invalid[0] ? "marked INVALID" : "incomplete");
    for (size_t i = 0; i < sizeof metrics / sizeof metrics[0]; i++) {
        double v = metrics[i].get(r), base = metrics[i].get(b), d = 0, pct = 0;
        char vs[32] = "-", bs[32] = "-", ds[32] = "-", ps[32] = "-";
        int ok = agg_delta(v, base, &d, &pct) == 0 && pct <= max_regress;
        if (v >= 0)
            snprintf(vs, sizeof vs, "%.1f", v);
        if (base >= 0)
            snprintf(bs, sizeof bs, "%.1f", base);
        if (v >= 0 && base >= 0) {
            snprintf(ds, sizeof ds, "%+.1f", d);
            snprintf(ps, sizeof ps, isinf(pct) ? "+inf%%" : "%+.1f%%", pct);
        }
        printf("%-12s  value %9s  baseline %9s  delta %9s  %8s  %s\n", metrics[i].label, vs, bs, ds,
               ps, ok ? "PASS" : "FAIL");
        broken |= !ok;
    }
    return broken;
}

/* Loads the run and, when asked, its baseline, then prints every verdict. Returns the
 * exit code. */
static int judge(redisContext *c, const char *run, const struct limits *lim)
{
    static struct agg_run r, b;
    char err[512];
    if (agg_load(c, run, &r, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm check: %s\n", err);
        return ARGS_USAGE;
    }
    if (lim->baseline && agg_load(c, lim->baseline, &b, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm check: --baseline: %s\n", err);
        return ARGS_USAGE;
    }
    int broken = verdicts(c, &r, lim);
    if (lim->baseline)
        broken |= regressions(&r, &b, lim->max_regress);
    return broken ? ARGS_FAIL : ARGS_OK;
}

int cmd_check(int argc, char **argv, const char *redis_url)
{
    struct limits lim = {-1, -1, NULL, -1};
    int rc = parse(argc, argv, &lim);
    if (rc >= 0)
        return rc;
    if (args_run_id("check", argv[optind]) < 0)
        return ARGS_USAGE;
    redisContext *c = cmd_connect("check", redis_url);
    if (!c)
        return ARGS_USAGE;
    rc = judge(c, argv[optind], &lim);
    redisFree(c);
    return rc;
}
