/* A sweep's summary: runs grouped by their count, and per count the number of runs and
 * mean ± sample standard deviation, min and max of boot p50, p99, max and all-ready, plus
 * failed guests (as hyperfine summarises repeats); rendered as a text table, one JSON
 * object ("summary": true) and the boot-storm curve (gnuplot). The one place these
 * numbers are computed, for `bootstorm run` of a sweep and `bootstorm sweep`. Not for
 * one run's numbers (agg.c loads them) nor for side-by-side runs (cmd_compare.c). */
#ifndef BS_AGG_SWEEP_H
#define BS_AGG_SWEEP_H

#include <stdio.h>

#include "agg.h"

#define AGG_SWEEP_COUNTS_MAX 64 /* distinct counts (a scenario has at most 32) */

/* One metric over the runs of a count that have it. n = 0: none had it (every other
 * field 0); n = 1: sd is 0 and has_sd 0 (a sample stddev needs two runs). */
struct agg_stat {
    int n, has_sd;
    double mean, sd, min, max;
};

/* One count of the sweep: nruns runs, their guests (total), ready and failed summed. */
struct agg_sweep_count {
    long long count;
    int nruns;
    long long guests, ready, failed;
    struct agg_stat p50, p99, max, all_ready; /* boot p50 / p99 / max ms, all_ready_ms */
};

/* Filled by agg_sweep_add, in the order the runs were added; agg_sweep_finish computes
 * the per-count stats (counts ascending). Zero it before the first add. */
struct agg_sweep {
    int nruns;
    char first_run[AGG_ID_MAX], last_run[AGG_ID_MAX];
    /* the scenario, from the first run; "mixed" when later runs differ */
    char name[AGG_ID_MAX], kind[AGG_ID_MAX], accel[16], hosts[1024], split[16];
    long long hosts_expected; /* of the first run; -1 when runs differ */
    int ncounts;
    struct agg_sweep_count c[AGG_SWEEP_COUNTS_MAX];
    /* per count, the values added so far (agg_sweep_finish turns them into stats) */
    struct agg_sweep_acc {
        int n;
        double *v; /* n values per metric, interleaved: 4 per run, -1 = none */
    } acc[AGG_SWEEP_COUNTS_MAX];
    char (*ids)[AGG_ID_MAX]; /* every run added, in order (nruns of them) */
};

/* Adds run r (loaded by agg_load) to s. Returns 0, or -1 when out of memory or the
 * run's count would be count number AGG_SWEEP_COUNTS_MAX + 1 (r not added). */
int agg_sweep_add(struct agg_sweep *s, const struct agg_run *r);

/* Computes every count's stats from what was added (may be called again after more
 * adds). */
void agg_sweep_finish(struct agg_sweep *s);

/* Frees what agg_sweep_add allocated; s may be added to again after zeroing. */
void agg_sweep_free(struct agg_sweep *s);

/* mean, sample sd (n - 1), min and max of the n values v[i*stride] that are >= 0.
 * The statistic of the summary, exposed for its unit test. */
struct agg_stat agg_stat_of(const double *v, int n, int stride);

/* Loads each of the n runs (ids, or "last") with agg_load and adds it, then finishes.
 * Returns 0, or -1 with err (the run that failed to load named). */
int agg_sweep_load(redisContext *c, char *const *runs, int n, struct agg_sweep *s, char *err,
                   size_t errlen);

/* The newest n run ids (bs:runs, newest first) into ids (n slots), oldest first, so a
 * sweep just run reads in its order. Returns how many, or -1 with err. */
int agg_sweep_last(redisContext *c, int n, char (*ids)[AGG_ID_MAX], char *err, size_t errlen);

/* The summary as a text table: a header line with the scenario, then one row per count
 * ("12.3 ± 0.4 (11.9..12.6)"; one run: "12.3 (1 run)"; "-" when no run had it). */
void agg_sweep_print_text(const struct agg_sweep *s, FILE *out);

/* The summary as one JSON object, "summary": true (keys in agg_sweep.c). A new
 * reference, NULL when out of memory. */
json_t *agg_sweep_json(const struct agg_sweep *s);

/* The boot-storm curve into dir (created if absent): sweep.dat (one row per count:
 * count runs p50 p50_sd p99 p99_sd max max_sd all_ready all_ready_sd, "-" when none),
 * sweep.gp, and gnuplot's sweep.png (pngcairo) and sweep.svg, run by argv in dir.
 * Returns 0, or -1 with err (I/O, gnuplot missing or failing, no count with boots). */
int agg_sweep_plot(const struct agg_sweep *s, const char *dir, char *err, size_t errlen);

/* What `run` of a sweep and `bootstorm sweep` print: the text table (json 0) or the JSON
 * object on one line (json 1) on out, then with plot_dir the curve (agg_sweep_plot),
 * its files named on out (text) or stderr (JSON, so out stays one document per line).
 * Returns 0, or -1 with err (nothing to plot, gnuplot, I/O). */
int agg_sweep_report(const struct agg_sweep *s, int json, const char *plot_dir, FILE *out,
                     char *err, size_t errlen);

#endif
