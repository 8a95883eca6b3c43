/* agg_delta, the one rule of `check --baseline` and `compare`: how far a value is from
 * its baseline, with unknown values (< 0) and a zero baseline. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg.h"

static void test_worse_better_same(void **state)
{
    (void)state;
    double d = 0, p = 0;
    assert_int_equal(agg_delta(110, 100, &d, &p), 0);
    assert_true(fabs(d - 10) < 1e-9 && fabs(p - 10) < 1e-9);
    assert_int_equal(agg_delta(50, 200, &d, &p), 0);
    assert_true(fabs(d + 150) < 1e-9 && fabs(p + 75) < 1e-9);
    assert_int_equal(agg_delta(7.5, 7.5, &d, &p), 0);
    assert_true(d == 0 && p == 0);
}

static void test_zero_baseline(void **state)
{
    (void)state;
    double d = 1, p = 1;
    assert_int_equal(agg_delta(0, 0, &d, &p), 0);
    assert_true(d == 0 && p == 0);
    assert_int_equal(agg_delta(3, 0, &d, &p), 0);
    assert_true(d == 3 && isinf(p) && p > 0);
}

static void test_unknown(void **state)
{
    (void)state;
    double d = 42, p = 43;
    assert_int_equal(agg_delta(-1, 100, &d, &p), -1);
    assert_int_equal(agg_delta(100, -1, &d, &p), -1);
    assert_true(d == 42 && p == 43); /* left alone */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worse_better_same),
        cmocka_unit_test(test_zero_baseline),
        cmocka_unit_test(test_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
