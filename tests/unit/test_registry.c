/* The collector's host registry without sockets or Redis: hosts found and added,
 * liveness, the NTP-style clock arithmetic (offset, error bound, best of the last
 * samples by delay) and the runs it follows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "registry.h"

static void test_hosts_and_liveness(void **state)
{
    (void)state;
    struct registry r = {0};
    assert_null(reg_find(&r, "a"));
    struct host *a = reg_get(&r, "a");
    assert_non_null(a);
    for (int i = 0; i < 40; i++) { /* growth keeps pointers valid */
        char id[16];
        snprintf(id, sizeof id, "h%d", i);
        assert_non_null(reg_get(&r, id));
    }
    assert_ptr_equal(reg_get(&r, "a"), a);
    assert_ptr_equal(reg_find(&r, "a"), a);
    assert_int_equal(r.n, 41);
    mono_ns t0 = {.ns = 10 * NS_PER_S};
    assert_false(reg_is_live(a, t0)); /* never heard */
    reg_heard(a, "route-a", 7, t0);
    assert_memory_equal(a->route, "route-a", 7);
    assert_true(reg_is_live(a, mono_add(t0, REG_LIVE_NS - 1)));
    assert_false(reg_is_live(a, mono_add(t0, REG_LIVE_NS)));
    /* the collector stalled 10 s: that silence is not the host's */
    struct host *quiet = reg_get(&r, "h0");
    reg_excuse_stall(&r, 10 * NS_PER_S);
    assert_true(reg_is_live(a, mono_add(t0, 10 * NS_PER_S + REG_LIVE_NS - 1)));
    assert_int_equal(quiet->last_heard.ns, 0); /* never heard stays never heard */
    reg_free(&r);
    assert_int_equal(r.n, 0);
}

static void test_clock_sample_arithmetic(void **state)
{
    (void)state;
    struct registry r = {0};
    struct host *h = reg_get(&r, "a");
    int64_t off, err;
    assert_int_equal(reg_clock_best(h, &off, &err), -1);
    /* its clock is 1000 ahead; 100 out, 10 inside, 100 back: delay 200, offset 1000 */
    assert_int_equal(reg_clock_sample(h, 0, 1100, 1110, 210, &off, &err), 0);
    assert_int_equal(off, 1000);
    assert_int_equal(err, 100);
    /* asymmetric paths shift the estimate by half the asymmetry; a slower sample does
     * not replace a faster one */
    assert_int_equal(reg_clock_sample(h, 1000, 2400, 2400, 1500, &off, &err), 0);
    assert_int_equal(off, 1000);
    assert_int_equal(err, 100);
    /* a faster one does */
    assert_int_equal(reg_clock_sample(h, 2000, 3010, 3010, 2020, &off, &err), 0);
    assert_int_equal(off, 1000);
    assert_int_equal(err, 10);
    assert_int_equal(reg_clock_best(h, &off, &err), 0);
    assert_int_equal(err, 10);
    /* impossible: negative delay, or replies before requests */
    assert_int_equal(reg_clock_sample(h, 100, 50, 40, 200, &off, &err), -1);
    assert_int_equal(reg_clock_sample(h, 100, 50, 60, 90, &off, &err), -1);
    reg_free(&r);
}

static void test_clock_best_of_last_samples(void **state)
{
    (void)state;
    struct registry r = {0};
    struct host *h = reg_get(&r, "a");
    int64_t off, err;
    /* the fastest sample first, then REG_CLOCK_SAMPLES slower ones push it out */
    reg_clock_sample(h, 0, 505, 505, 10, &off, &err); /* delay 10, offset 500 */
    for (int i = 1; i <= REG_CLOCK_SAMPLES; i++) {
        int64_t t1 = i * 10000;
        /* delay 400 + 2i, offset i */
        reg_clock_sample(h, t1, t1 + 200 + 2 * i, t1 + 200 + 2 * i, t1 + 400 + 2 * i, &off, &err);
        if (i < REG_CLOCK_SAMPLES) {
            assert_int_equal(off, 500);
            assert_int_equal(err, 5);
        }
    }
    assert_int_equal(err, 201); /* the fast one has left the window: i = 1 is best now */
    assert_int_equal(off, 1);
    reg_free(&r);
}

static void test_runs(void **state)
{
    (void)state;
    struct registry r = {0};
    struct host *t[2] = {reg_get(&r, "a"), reg_get(&r, "b")};
    mono_ns now = {.ns = 1};
    struct reg_run *run = reg_run_add(&r, "run1", 42, t, 2, now);
    assert_non_null(run);
    assert_ptr_equal(reg_run_find(&r, "run1"), run);
    assert_int_equal(run->n, 2);
    assert_ptr_equal(run->t[1].h, t[1]);
    assert_int_equal(run->t[0].state, TGT_WAITING);
    assert_non_null(reg_run_add(&r, "run2", 43, t, 1, now));
    reg_run_drop(&r, 0);
    assert_null(reg_run_find(&r, "run1"));
    assert_non_null(reg_run_find(&r, "run2"));
    reg_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hosts_and_liveness),
        cmocka_unit_test(test_clock_sample_arithmetic),
        cmocka_unit_test(test_clock_best_of_last_samples),
        cmocka_unit_test(test_runs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
