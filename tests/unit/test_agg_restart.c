/* agg_restart_recovery, the one rule of "the fleet whole again" after a mass restart:
 * the count before it, a killed guest slow to exit, a restart that never recovered, a
 * late change of another host, and no count before the restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "agg.h"

#define MS 1000000LL

static void test_whole_again(void **state)
{
    (void)state;
    /* 4 up; restart at 100 ms kills 2 (exits at 101, 102), new ones ready at 150, 180 */
    const struct agg_upc u[] = {{10 * MS, 1},  {11 * MS, 2},  {12 * MS, 3},  {13 * MS, 4},
                                {101 * MS, 3}, {102 * MS, 2}, {150 * MS, 3}, {180 * MS, 4},
                                {900 * MS, 3}, {901 * MS, 2}};
    long long level, low;
    assert_true(agg_restart_recovery(u, 10, 100 * MS, 2, &level, &low) == 80.0);
    assert_int_equal(level, 4);
    assert_int_equal(low, 2);
}

static void test_slow_exit(void **state)
{
    (void)state;
    /* one killed guest exits only after the first new one is ready: the count touches 4
     * at 150 ms but the second restarted guest is ready at 200 ms */
    const struct agg_upc u[] = {{10 * MS, 1},  {11 * MS, 2},  {12 * MS, 3},  {13 * MS, 4},
                                {101 * MS, 3}, {140 * MS, 4}, {160 * MS, 3}, {200 * MS, 4}};
    long long level, low;
    assert_true(agg_restart_recovery(u, 8, 100 * MS, 2, &level, &low) == 100.0);
}

static void test_never_back(void **state)
{
    (void)state;
    const struct agg_upc u[] = {{10 * MS, 1}, {11 * MS, 2}, {101 * MS, 1}, {300 * MS, 0}};
    long long level, low;
    assert_true(agg_restart_recovery(u, 4, 100 * MS, 1, &level, &low) == -1);
    assert_int_equal(level, 2);
    assert_int_equal(low, 0);
}

static void test_late_change_of_another_host(void **state)
{
    (void)state;
    /* a change stamped before the restart but applied after it counts for the steps,
     * not as a ready after the restart */
    const struct agg_upc u[] = {
        {10 * MS, 1}, {11 * MS, 2}, {101 * MS, 1}, {99 * MS, 2}, {120 * MS, 3}};
    long long level, low;
    assert_true(agg_restart_recovery(u, 5, 100 * MS, 1, &level, &low) == 20.0);
    assert_int_equal(level, 2);
}

static void test_nothing_before(void **state)
{
    (void)state;
    const struct agg_upc u[] = {{150 * MS, 1}};
    long long level = 7, low = 7;
    assert_true(agg_restart_recovery(u, 1, 100 * MS, 1, &level, &low) == -1);
    assert_true(agg_restart_recovery(NULL, 0, 100 * MS, 1, &level, &low) == -1);
    assert_int_equal(level, -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_whole_again),    cmocka_unit_test(test_slow_exit),
        cmocka_unit_test(test_never_back),     cmocka_unit_test(test_late_change_of_another_host),
        cmocka_unit_test(test_nothing_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
