/* The sweep summary (aggregator/agg_sweep.c) on hand-made runs: the statistic (mean,
 * sample stddev, min, max; values < 0 left out; one value has no stddev), runs grouped
 * by count and sorted, sums of guests and failures, the scenario fields ("mixed" when
 * runs differ), the text cells, the JSON object and the chart's data file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agg_sweep.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_stat(void **state)
{
    (void)state;
    double three[] = {10, 12, 14};
    struct agg_stat s = agg_stat_of(three, 3, 1);
    assert_int_equal(s.n, 3);
    assert_true(s.has_sd);
    NEAR(s.mean, 12);
    NEAR(s.sd, 2); /* sqrt((4 + 0 + 4) / 2) */
    NEAR(s.min, 10);
    NEAR(s.max, 14);

    double two[] = {100, 104};
    s = agg_stat_of(two, 2, 1);
    NEAR(s.mean, 102);
    NEAR(s.sd, sqrt(8)); /* sample: (4 + 4) / 1, not / 2 */

    double one[] = {7.5};
    s = agg_stat_of(one, 1, 1);
    assert_int_equal(s.n, 1);
    assert_false(s.has_sd);
    NEAR(s.mean, 7.5);
    NEAR(s.sd, 0);
    NEAR(s.min, 7.5);
    NEAR(s.max, 7.5);

    double missing[] = {-1, 5, 9};
    s = agg_stat_of(missing, 3, 1);
    assert_int_equal(s.n, 2);
    NEAR(s.mean, 7);
    NEAR(s.sd, sqrt(8));
    NEAR(s.min, 5);

    double none[] = {-1, -1};
    s = agg_stat_of(none, 2, 1);
    assert_int_equal(s.n, 0);
    assert_false(s.has_sd);

    double strided[] = {1, 99, 3, 99, 5, 99}; /* every other value */
    s = agg_stat_of(strided, 3, 2);
    NEAR(s.mean, 3);
    NEAR(s.sd, 2);
}

static struct agg_run *mk(const char *id, long long count, double p50, double p99, double max,
                          double all, long long failed)
{
    static struct agg_run runs[8];
    static int next;
    struct agg_run *r = &runs[next++ % 8];
    memset(r, 0, sizeof *r);
    snprintf(r->run, sizeof r->run, "%s", id);
    snprintf(r->name, sizeof r->name, "demo");
    snprintf(r->kind, sizeof r->kind, "sim");
    snprintf(r->accel, sizeof r->accel, "kvm");
    snprintf(r->hosts, sizeof r->hosts, "h1");
    snprintf(r->split, sizeof r->split, "per_host");
    r->hosts_expected = 1;
    r->count = r->total = count;
    r->failed = failed;
    r->ready = count - failed;
    r->boot_n = p50 >= 0 ? r->ready : 0;
    r->boot_p50_ms = p50;
    r->boot_p99_ms = p99;
    r->boot_max_ms = max;
    r->all_ready_ms = all;
    return r;
}

/* Counts 8, 2, 8, 2, 4 added in that order:
 *   2: p50 {10, 14} -> 12 ± 2.828, p99 {20, 30} -> 25 ± 7.071, all {25, 35}, 1 failed of 4
 *   4: one run, p50 20
 *   8: p50 {30} (the other run booted nothing), all {40}, 8 failed of 16 */
static void fill(struct agg_sweep *s)
{
    memset(s, 0, sizeof *s);
    assert_int_equal(agg_sweep_add(s, mk("r1", 8, 30, 50, 60, 40, 0)), 0);
    assert_int_equal(agg_sweep_add(s, mk("r2", 2, 10, 20, 22, 25, 0)), 0);
    assert_int_equal(agg_sweep_add(s, mk("r3", 8, -1, -1, -1, -1, 8)), 0);
    assert_int_equal(agg_sweep_add(s, mk("r4", 2, 14, 30, 33, 35, 1)), 0);
    assert_int_equal(agg_sweep_add(s, mk("r5", 4, 20, 21, 21.5, 23, 0)), 0);
    agg_sweep_finish(s);
}

static void test_group(void **state)
{
    (void)state;
    static struct agg_sweep s;
    fill(&s);
    assert_int_equal(s.nruns, 5);
    assert_int_equal(s.ncounts, 3);
    assert_string_equal(s.first_run, "r1");
    assert_string_equal(s.last_run, "r5");
    assert_string_equal(s.ids[3], "r4");
    const struct agg_sweep_count *c = s.c;
    assert_int_equal(c[0].count, 2);
    assert_int_equal(c[1].count, 4);
    assert_int_equal(c[2].count, 8);
    assert_int_equal(c[0].nruns, 2);
    assert_int_equal(c[0].guests, 4);
    assert_int_equal(c[0].failed, 1);
    NEAR(c[0].p50.mean, 12);
    NEAR(c[0].p50.sd, sqrt(8));
    NEAR(c[0].p99.mean, 25);
    NEAR(c[0].p99.sd, sqrt(50));
    NEAR(c[0].max.mean, 27.5);
    NEAR(c[0].all_ready.mean, 30);
    NEAR(c[0].all_ready.sd, sqrt(50));
    assert_int_equal(c[1].nruns, 1);
    assert_false(c[1].p50.has_sd);
    assert_int_equal(c[2].nruns, 2);
    assert_int_equal(c[2].p50.n, 1);
    assert_int_equal(c[2].all_ready.n, 1);
    assert_int_equal(c[2].failed, 8);
    assert_int_equal(c[2].guests, 16);
    assert_string_equal(s.kind, "sim");
    assert_int_equal(s.hosts_expected, 1);

    struct agg_run *other = mk("r6", 2, 11, 21, 21, 21, 0);
    snprintf(other->kind, sizeof other->kind, "linux");
    other->hosts_expected = 2;
    assert_int_equal(agg_sweep_add(&s, other), 0);
    agg_sweep_finish(&s);
    assert_string_equal(s.kind, "mixed");
    assert_string_equal(s.name, "demo");
    assert_int_equal(s.hosts_expected, -1);
    assert_int_equal(s.c[0].nruns, 3);
    NEAR(s.c[0].p50.mean, 35.0 / 3);
    agg_sweep_free(&s);
}

static void test_too_many_counts(void **state)
{
    (void)state;
    static struct agg_sweep s;
    memset(&s, 0, sizeof s);
    for (int i = 0; i < AGG_SWEEP_COUNTS_MAX; i++)
        assert_int_equal(agg_sweep_add(&s, mk("r", i + 1, 1, 1, 1, 1, 0)), 0);
    assert_int_equal(agg_sweep_add(&s, mk("r", 1000, 1, 1, 1, 1, 0)), -1);
    assert_int_equal(agg_sweep_add(&s, mk("r", 5, 1, 1, 1, 1, 0)), 0); /* a known count */
    assert_int_equal(s.nruns, AGG_SWEEP_COUNTS_MAX + 1);
    agg_sweep_free(&s);
}

static void test_text(void **state)
{
    (void)state;
    static struct agg_sweep s;
    fill(&s);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    agg_sweep_print_text(&s, f);
    fclose(f);
    assert_non_null(strstr(buf, "sweep demo: 5 runs, 3 counts; sim, accel kvm, 1 host (h1)\n"));
    assert_non_null(strstr(buf, "runs r1 .. r5;"));
    assert_non_null(strstr(buf, "    2     2  12.0 ± 2.8 (10.0..14.0)  25.0 ± 7.1 (20.0..30.0)"));
    assert_non_null(strstr(buf, "30.0 ± 7.1 (25.0..35.0)     1/4\n"));
    assert_non_null(strstr(buf, "20.0 (1 run)"));
    assert_non_null(strstr(buf, "    8     2"));
    assert_non_null(strstr(buf, "8/16\n"));
    free(buf);
    agg_sweep_free(&s);
}

static void test_json(void **state)
{
    (void)state;
    static struct agg_sweep s;
    fill(&s);
    json_t *j = agg_sweep_json(&s);
    assert_non_null(j);
    assert_true(json_is_true(json_object_get(j, "summary")));
    assert_int_equal(json_array_size(json_object_get(j, "runs")), 5);
    assert_int_equal(json_integer_value(json_object_get(j, "nruns")), 5);
    json_t *counts = json_object_get(j, "counts");
    assert_int_equal(json_array_size(counts), 3);
    json_t *c2 = json_array_get(counts, 0), *c4 = json_array_get(counts, 1);
    json_t *p50 = json_object_get(c2, "boot_p50_ms");
    assert_int_equal(json_integer_value(json_object_get(c2, "count")), 2);
    assert_int_equal(json_integer_value(json_object_get(c2, "failed")), 1);
    NEAR(json_number_value(json_object_get(p50, "mean")), 12);
    assert_true(fabs(json_number_value(json_object_get(p50, "sd")) - sqrt(8)) < 1e-6);
    p50 = json_object_get(c4, "boot_p50_ms");
    assert_true(json_is_null(json_object_get(p50, "sd"))); /* one run: no stddev */
    assert_int_equal(json_integer_value(json_object_get(p50, "n")), 1);
    json_decref(j);
    agg_sweep_free(&s);
}

/* sweep.dat is written before gnuplot runs: its rows hold whatever gnuplot then says. */
static void test_dat(void **state)
{
    (void)state;
    static struct agg_sweep s;
    fill(&s);
    char dir[] = "/tmp/test_agg_sweep.XXXXXX", path[64], line[256];
    assert_non_null(mkdtemp(dir));
    char err[256];
    agg_sweep_plot(&s, dir, err, sizeof err);
    snprintf(path, sizeof path, "%s/sweep.dat", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    int rows = 0;
    while (fgets(line, sizeof line, f))
        if (line[0] != '#') {
            long long count;
            int runs;
            double p50, p50sd;
            assert_int_equal(sscanf(line, "%lld %d %lf %lf", &count, &runs, &p50, &p50sd), 4);
            if (rows == 0) {
                assert_true(count == 2 && runs == 2);
                assert_true(fabs(p50 - 12) < 1e-6 && fabs(p50sd - sqrt(8)) < 1e-6);
            }
            if (rows == 1) /* one run: sd 0 so the error bar is flat */
                assert_true(count == 4 && fabs(p50 - 20) < 1e-6 && p50sd == 0);
            rows++;
        }
    fclose(f);
    assert_int_equal(rows, 3);
    static const char *const files[] = {"sweep.dat", "sweep.gp", "sweep.png", "sweep.svg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        unlink(path);
    }
    rmdir(dir);
    agg_sweep_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat),
        cmocka_unit_test(test_group),
        cmocka_unit_test(test_too_many_counts),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_dat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
