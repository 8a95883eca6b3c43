/* numarg: whole-text integers and numbers, ranges, and errors that name the option. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "numarg.h"

static void ints(void **state)
{
    (void)state;
    char err[128] = "";
    int64_t v = 7;
    assert_int_equal(numarg_int("--count", "64", 1, 100, &v, err, sizeof err), 0);
    assert_int_equal(v, 64);
    assert_int_equal(numarg_int("--count", "-3", -5, 5, &v, err, sizeof err), 0);
    assert_int_equal(v, -3);
    v = 7;
    assert_int_equal(numarg_int("--count", "abc", 1, 100, &v, err, sizeof err), -1);
    assert_string_equal(err, "--count: 'abc' is not an integer");
    assert_int_equal(v, 7);
    assert_int_equal(numarg_int("--count", "12x", 1, 100, &v, err, sizeof err), -1);
    assert_int_equal(numarg_int("--count", "", 1, 100, &v, err, sizeof err), -1);
    assert_int_equal(numarg_int("--count", "101", 1, 100, &v, err, sizeof err), -1);
    assert_string_equal(err, "--count: '101' is out of range 1..100");
    assert_int_equal(numarg_int("--n", "99999999999999999999", 0, INT64_MAX, &v, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "out of range"));
}

static void doubles(void **state)
{
    (void)state;
    char err[128] = "";
    double d = 0;
    assert_int_equal(numarg_double("--p99-max", "2.5", 0, 1e9, &d, err, sizeof err), 0);
    assert_true(d == 2.5);
    assert_int_equal(numarg_double("--p99-max", "abc", 0, 1e9, &d, err, sizeof err), -1);
    assert_string_equal(err, "--p99-max: 'abc' is not a number");
    assert_int_equal(numarg_double("--p99-max", "nan", 0, 1e9, &d, err, sizeof err), -1);
    assert_int_equal(numarg_double("--max-failed-pct", "101", 0, 100, &d, err, sizeof err), -1);
    assert_string_equal(err, "--max-failed-pct: '101' is out of range 0..100");
}

static void durations(void **state)
{
    (void)state;
    char err[160] = "";
    int64_t v = 7;
    const int64_t year = 366 * 86400LL;
    assert_int_equal(numarg_duration("--older-than", "30m", 1, year, &v, err, sizeof err), 0);
    assert_int_equal(v, 1800);
    assert_int_equal(numarg_duration("--older-than", "12h", 1, year, &v, err, sizeof err), 0);
    assert_int_equal(v, 12 * 3600);
    assert_int_equal(numarg_duration("--older-than", "7d", 1, year, &v, err, sizeof err), 0);
    assert_int_equal(v, 7 * 86400);
    assert_int_equal(numarg_duration("--older-than", "45s", 1, year, &v, err, sizeof err), 0);
    assert_int_equal(v, 45);
    v = 7;
    static const char *const bad[] = {"",    "d",    "12",  "7w",  "-1d",
                                      "+1d", "1.5h", "h12", "1dd", " 1d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(numarg_duration("--older-than", bad[i], 1, year, &v, err, sizeof err), -1);
        assert_non_null(strstr(err, "--older-than: '"));
        assert_non_null(strstr(err, "is not a duration"));
        assert_int_equal(v, 7);
    }
    assert_int_equal(numarg_duration("--older-than", "0d", 1, year, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "out of range"));
    assert_int_equal(
        numarg_duration("--older-than", "99999999999999d", 1, year, &v, err, sizeof err), -1);
    assert_int_equal(v, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(ints), cmocka_unit_test(doubles),
                                       cmocka_unit_test(durations)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
