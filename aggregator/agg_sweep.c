/* A sweep's summary across counts and repeats (agg_sweep.h): the runs' loaded
 * aggregates grouped by count, their mean ± sample stddev, and the boot-storm curve.
 * Not for one run's numbers (agg.c) nor its charts (agg_plot.c).
 *
 * JSON keys (stable: tests and users read them): summary (true: tells it apart from
 * the per-run report objects of `run --json`), name, guest, accel, hosts,
 * hosts_expected (null when runs differ), split, nruns, runs [ids, in order], counts
 * [{count, runs, guests, ready, failed, boot_p50_ms, boot_p99_ms, boot_max_ms,
 * all_ready_ms}], each metric {n, mean, sd (null with one run), min, max} | null. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "agg_sweep.h"
#include "bredis.h"
#include "keys.h"
#include "procspawn.h"

enum { M_P50, M_P99, M_MAX, M_ALL, M_N }; /* the metrics kept per run */

struct agg_stat agg_stat_of(const double *v, int n, int stride)
{
    struct agg_stat s = {0};
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double x = v[i * stride];
        if (x < 0)
            continue;
        s.min = s.n == 0 || x < s.min ? x : s.min;
        s.max = s.n == 0 || x > s.max ? x : s.max;
        sum += x;
        s.n++;
    }
    if (!s.n)
        return s;
    s.mean = sum / s.n;
    if (s.n < 2)
        return s;
    double ss = 0; /* two passes: no cancellation for close values */
    for (int i = 0; i < n; i++)
        if (v[i * stride] >= 0)
            ss += (v[i * stride] - s.mean) * (v[i * stride] - s.mean);
    s.sd = sqrt(ss / (s.n - 1));
    s.has_sd = 1;
    return s;
}

/* Copies src into dst, or "mixed" when dst was set from an earlier run and differs. */
static void same_or_mixed(char *dst, size_t len, const char *src, int first)
{
    if (first)
        snprintf(dst, len, "%s", src);
    else if (strcmp(dst, src))
        snprintf(dst, len, "mixed");
}

/* The slot of count in s, a new one when it is new; -1 when s is full. */
static int count_slot(struct agg_sweep *s, long long count)
{
    for (int i = 0; i < s->ncounts; i++)
        if (s->c[i].count == count)
            return i;
    if (s->ncounts == AGG_SWEEP_COUNTS_MAX)
        return -1;
    memset(&s->c[s->ncounts], 0, sizeof s->c[0]);
    memset(&s->acc[s->ncounts], 0, sizeof s->acc[0]);
    s->c[s->ncounts].count = count;
    return s->ncounts++;
}

int agg_sweep_add(struct agg_sweep *s, const struct agg_run *r)
{
    int k = count_slot(s, r->count);
    if (k < 0)
        return -1;
    struct agg_sweep_acc *a = &s->acc[k];
    double *v = realloc(a->v, sizeof *v * M_N * (size_t)(a->n + 1));
    char(*ids)[AGG_ID_MAX] = v ? realloc(s->ids, sizeof *ids * (size_t)(s->nruns + 1)) : NULL;
    if (v)
        a->v = v;
    if (!ids)
        return -1;
    s->ids = ids;
    int boot = r->boot_n > 0;
    double *row = a->v + M_N * a->n++;
    row[M_P50] = boot ? r->boot_p50_ms : -1;
    row[M_P99] = boot ? r->boot_p99_ms : -1;
    row[M_MAX] = boot ? r->boot_max_ms : -1;
    row[M_ALL] = r->all_ready_ms;
    struct agg_sweep_count *c = &s->c[k];
    c->nruns++;
    c->guests += r->total;
    c->ready += r->ready;
    c->failed += r->failed;
    int first = s->nruns == 0;
    same_or_mixed(s->name, sizeof s->name, r->name, first);
    same_or_mixed(s->kind, sizeof s->kind, r->kind, first);
    same_or_mixed(s->accel, sizeof s->accel, agg_accel_shown(r), first);
    same_or_mixed(s->hosts, sizeof s->hosts, r->hosts, first);
    same_or_mixed(s->split, sizeof s->split, r->split, first);
    if (first)
        s->hosts_expected = r->hosts_expected;
    else if (s->hosts_expected != r->hosts_expected)
        s->hosts_expected = -1;
    if (first)
        snprintf(s->first_run, sizeof s->first_run, "%s", r->run);
    snprintf(s->last_run, sizeof s->last_run, "%s", r->run);
    snprintf(s->ids[s->nruns++], AGG_ID_MAX, "%s", r->run);
    return 0;
}

static int by_count(const void *a, const void *b)
{
    const struct agg_sweep_count *x = a, *y = b;
    return (x->count > y->count) - (x->count < y->count);
}

void agg_sweep_finish(struct agg_sweep *s)
{
    for (int i = 0; i < s->ncounts; i++) {
        const struct agg_sweep_acc *a = &s->acc[i];
        s->c[i].p50 = agg_stat_of(a->v + M_P50, a->n, M_N);
        s->c[i].p99 = agg_stat_of(a->v + M_P99, a->n, M_N);
        s->c[i].max = agg_stat_of(a->v + M_MAX, a->n, M_N);
        s->c[i].all_ready = agg_stat_of(a->v + M_ALL, a->n, M_N);
    }
    /* sort the counts and their accumulators together: a permutation by selection */
    for (int i = 0; i < s->ncounts; i++) {
        int m = i;
        for (int j = i + 1; j < s->ncounts; j++)
            if (by_count(&s->c[j], &s->c[m]) < 0)
                m = j;
        if (m == i)
            continue;
        struct agg_sweep_count tc = s->c[i];
        struct agg_sweep_acc ta = s->acc[i];
        s->c[i] = s->c[m], s->acc[i] = s->acc[m];
        s->c[m] = tc, s->acc[m] = ta;
    }
}

void agg_sweep_free(struct agg_sweep *s)
{
    for (int i = 0; i < s->ncounts; i++) {
        free(s->acc[i].v);
        s->acc[i].v = NULL;
    }
    free(s->ids);
    s->ids = NULL;
}

int agg_sweep_load(redisContext *c, char *const *runs, int n, struct agg_sweep *s, char *err,
                   size_t errlen)
{
    struct agg_run *r = malloc(sizeof *r);
    int rc = r ? 0 : -1;
    if (!r)
        snprintf(err, errlen, "out of memory");
    for (int i = 0; i < n && rc == 0; i++) {
        if ((rc = agg_load(c, runs[i], r, err, errlen)) < 0)
            break;
        if ((rc = agg_sweep_add(s, r)) < 0)
            snprintf(err, errlen, "run %s: out of memory or more than %d counts", runs[i],
                     AGG_SWEEP_COUNTS_MAX);
    }
    free(r);
    agg_sweep_finish(s);
    return rc;
}

int agg_sweep_last(redisContext *c, int n, char (*ids)[AGG_ID_MAX], char *err, size_t errlen)
{
    redisReply *z =
        bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "ZREVRANGE %s 0 %d", KEY_RUNS, n - 1);
    if (!z)
        return -1;
    int got = (int)z->elements < n ? (int)z->elements : n;
    for (int i = 0; i < got; i++) /* newest first in the reply: reverse */
        snprintf(ids[got - 1 - i], AGG_ID_MAX, "%s",
                 z->element[i]->type == REDIS_REPLY_STRING ? z->element[i]->str : "");
    freeReplyObject(z);
    return got;
}

/* ---- text ---- */

#define CELL 96

/* "12.3 ± 0.4 (11.9..12.6)", "12.3 (1 run)" or "-". */
static void stat_cell(const struct agg_stat *st, char *buf, size_t len)
{
    if (!st->n)
        snprintf(buf, len, "-");
    else if (!st->has_sd)
        snprintf(buf, len, "%.1f (1 run)", st->mean);
    else
        snprintf(buf, len, "%.1f ± %.1f (%.1f..%.1f)", st->mean, st->sd, st->min, st->max);
}

/* Columns on screen of UTF-8 text s (continuation bytes take none). */
static int width(const char *s)
{
    int w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void pad(FILE *out, const char *s, int w)
{
    fprintf(out, "%*s%s", w - width(s) > 0 ? w - width(s) : 0, "", s);
}

static const char *or_dash(const char *s)
{
    return s && s[0] ? s : "-";
}

void agg_sweep_print_text(const struct agg_sweep *s, FILE *out)
{
    enum { COLS = 6 };
    static const char *const head[COLS] = {"count",       "runs",         "boot p50 ms",
                                           "boot p99 ms", "all ready ms", "failed"};
    char cell[AGG_SWEEP_COUNTS_MAX][COLS][CELL];
    int w[COLS];
    for (int j = 0; j < COLS; j++)
        w[j] = width(head[j]);
    for (int i = 0; i < s->ncounts; i++) {
        const struct agg_sweep_count *c = &s->c[i];
        snprintf(cell[i][0], CELL, "%lld", c->count);
        snprintf(cell[i][1], CELL, "%d", c->nruns);
        stat_cell(&c->p50, cell[i][2], CELL);
        stat_cell(&c->p99, cell[i][3], CELL);
        stat_cell(&c->all_ready, cell[i][4], CELL);
        snprintf(cell[i][5], CELL, "%lld/%lld", c->failed, c->guests);
        for (int j = 0; j < COLS; j++)
            w[j] = width(cell[i][j]) > w[j] ? width(cell[i][j]) : w[j];
    }
    fprintf(out, "sweep %s: %d run%s, %d count%s; %s, accel %s, ", or_dash(s->name), s->nruns,
            s->nruns == 1 ? "" : "s", s->ncounts, s->ncounts == 1 ? "" : "s", or_dash(s->kind),
            or_dash(s->accel));
    if (s->hosts_expected >= 0)
        fprintf(out, "%lld host%s (%s)\n", s->hosts_expected, s->hosts_expected == 1 ? "" : "s",
                or_dash(s->hosts));
    else
        fprintf(out, "hosts %s\n", or_dash(s->hosts));
    fprintf(out, "runs %s .. %s; mean ± sample stddev (min..max) over each count's runs\n",
            or_dash(s->first_run), or_dash(s->last_run));
    for (int j = 0; j < COLS; j++) {
        fputs(j ? "  " : "", out);
        pad(out, head[j], w[j]);
    }
    fputc('\n', out);
    for (int i = 0; i < s->ncounts; i++) {
        for (int j = 0; j < COLS; j++) {
            fputs(j ? "  " : "", out);
            pad(out, cell[i][j], w[j]);
        }
        fputc('\n', out);
    }
}

/* ---- JSON ---- */

static json_t *stat_json(const struct agg_stat *st)
{
    if (!st->n)
        return json_null();
    return json_pack("{s:i, s:o, s:o, s:o, s:o}", "n", st->n, "mean", agg_json_number(st->mean, 1),
                     "sd", agg_json_number(st->sd, st->has_sd), "min", agg_json_number(st->min, 1),
                     "max", agg_json_number(st->max, 1));
}

static json_t *count_json(const struct agg_sweep_count *c)
{
    return json_pack("{s:I, s:i, s:I, s:I, s:I, s:o, s:o, s:o, s:o}", "count", (json_int_t)c->count,
                     "runs", c->nruns, "guests", (json_int_t)c->guests, "ready",
                     (json_int_t)c->ready, "failed", (json_int_t)c->failed, "boot_p50_ms",
                     stat_json(&c->p50), "boot_p99_ms", stat_json(&c->p99), "boot_max_ms",
                     stat_json(&c->max), "all_ready_ms", stat_json(&c->all_ready));
}

json_t *agg_sweep_json(const struct agg_sweep *s)
{
    json_t *runs = json_array(), *counts = json_array();
    for (int i = 0; runs && i < s->nruns; i++)
        if (json_array_append_new(runs, agg_json_string(s->ids[i])) < 0)
            goto fail;
    for (int i = 0; counts && i < s->ncounts; i++)
        if (json_array_append_new(counts, count_json(&s->c[i])) < 0)
            goto fail;
    if (!runs || !counts)
        goto fail;
    return json_pack(
        "{s:b, s:o, s:o, s:o, s:o, s:o, s:o, s:i, s:o, s:o}", "summary", 1, "name",
        agg_json_string(s->name), "guest", agg_json_string(s->kind), "accel",
        agg_json_string(s->accel), "hosts", agg_json_string(s->hosts), "hosts_expected",
        s->hosts_expected >= 0 ? json_integer(s->hosts_expected) : json_null(), "split",
        agg_json_string(s->split), "nruns", s->nruns, "runs", runs, "counts", counts);
fail:
    json_decref(runs);
    json_decref(counts);
    return NULL;
}

/* ---- the boot-storm curve ---- */

/* s with what could end a gnuplot string or turn into markup made '?'. */
static void plain(char *dst, size_t len, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        dst[i] = strchr("\"\\'`$@&{}^_~", s[i]) || (unsigned char)s[i] < 0x20 ||
                         (unsigned char)s[i] >= 0x7f
                     ? '?'
                     : s[i];
    dst[i] = 0;
}

static void dat_stat(FILE *f, const struct agg_stat *st)
{
    if (st->n)
        fprintf(f, " %.6f %.6f", st->mean, st->sd);
    else
        fputs(" - -", f);
}

static int write_dat(const struct agg_sweep *s, FILE *f)
{
    int points = 0;
    fputs("# count runs p50 p50_sd p99 p99_sd max max_sd all_ready all_ready_sd (ms; mean and "
          "sample stddev over the runs, sd 0 with one run)\n",
          f);
    for (int i = 0; i < s->ncounts; i++) {
        const struct agg_sweep_count *c = &s->c[i];
        fprintf(f, "%lld %d", c->count, c->nruns);
        dat_stat(f, &c->p50);
        dat_stat(f, &c->p99);
        dat_stat(f, &c->max);
        dat_stat(f, &c->all_ready);
        fputc('\n', f);
        points += c->p50.n > 0;
    }
    return points;
}

static void write_gp(const struct agg_sweep *s, FILE *f)
{
    char name[AGG_ID_MAX], kind[AGG_ID_MAX], accel[16], hosts[256];
    plain(name, sizeof name, or_dash(s->name));
    plain(kind, sizeof kind, or_dash(s->kind));
    plain(accel, sizeof accel, or_dash(s->accel));
    plain(hosts, sizeof hosts, or_dash(s->hosts));
    int per_host = strcmp(s->split, "by_cores") && s->hosts_expected != 1;
    fprintf(f,
            "# bootstorm boot-storm curve of runs %s .. %s\n"
            "set title \"boot-storm curve %s: %s, accel %s, ",
            s->first_run, s->last_run, name, kind, accel);
    if (s->hosts_expected >= 0)
        fprintf(f, "%lld host%s (%s)", s->hosts_expected, s->hosts_expected == 1 ? "" : "s", hosts);
    else
        fprintf(f, "hosts %s", hosts);
    fprintf(f,
            ", %d runs\" noenhanced\nset grid\nset datafile missing '-'\n"
            "set xlabel 'guests started%s'\nset ylabel 'boot time (ms), mean and stddev of "
            "the repeats'\nset key top left\nset xrange [0:*]\nset yrange [0:*]\nset offsets 0, "
            "graph 0.05, 0, 0\n"
            "set terminal pngcairo size 1000,640\nset output 'sweep.png'\n"
            "plot 'sweep.dat' using 1:3:4 with yerrorlines lw 2 pt 7 title 'p50', \\\n"
            "     '' using 1:5:6 with yerrorlines lw 2 pt 5 title 'p99', \\\n"
            "     '' using 1:7:8 with yerrorlines lw 2 dt 2 pt 9 title 'max'\n"
            "set terminal svg size 1000,640\nset output 'sweep.svg'\nreplot\n",
            s->nruns, per_host ? " (per host)" : "");
}

/* Writes dir/file with fn; 0 or -1 with err. */
static int write_file(const char *dir, const char *file, const struct agg_sweep *s,
                      int (*fn)(const struct agg_sweep *, FILE *), int *ret, char *err,
                      size_t errlen)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    *ret = fn(s, f);
    if (ferror(f) | fclose(f)) {
        snprintf(err, errlen, "%s: write failed", path);
        return -1;
    }
    return 0;
}

static int gp_fn(const struct agg_sweep *s, FILE *f)
{
    write_gp(s, f);
    return 0;
}

int agg_sweep_plot(const struct agg_sweep *s, const char *dir, char *err, size_t errlen)
{
    int points = 0, unused;
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (write_file(dir, "sweep.dat", s, write_dat, &points, err, errlen) < 0 ||
        write_file(dir, "sweep.gp", s, gp_fn, &unused, err, errlen) < 0)
        return -1;
    if (!points) {
        snprintf(err, errlen, "no run of the sweep has a boot time: nothing to draw");
        return -1;
    }
    return agg_gnuplot(dir, "sweep.gp", err, errlen);
}

int agg_sweep_report(const struct agg_sweep *s, int json, const char *plot_dir, FILE *out,
                     char *err, size_t errlen)
{
    if (json && agg_json_dump(agg_sweep_json(s), out) < 0) {
        snprintf(err, errlen, "cannot write the JSON summary");
        return -1;
    }
    if (!json)
        agg_sweep_print_text(s, out);
    fflush(out);
    if (!plot_dir)
        return 0;
    if (agg_sweep_plot(s, plot_dir, err, errlen) < 0)
        return -1;
    fprintf(json ? stderr : out,
            "boot-storm curve: %s/sweep.png, %s/sweep.svg (data sweep.dat, script sweep.gp)\n",
            plot_dir, plot_dir);
    return 0;
}
