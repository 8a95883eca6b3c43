/* pidmap: insert / lookup / remove, pids that collide on a slot, growth past many
 * thousands, tombstones that keep a probe chain reachable and do not grow the table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "pidmap.h"

static void basic(void **state)
{
    (void)state;
    struct pidmap m = {0};
    assert_int_equal(pidmap_get(&m, 42), -1);
    assert_int_equal(pidmap_del(&m, 42), -1);
    assert_int_equal(pidmap_put(&m, 42, 7), 0);
    assert_int_equal(pidmap_put(&m, 43, 8), 0);
    assert_int_equal(pidmap_get(&m, 42), 7);
    assert_int_equal(pidmap_get(&m, 43), 8);
    assert_int_equal(pidmap_get(&m, 44), -1);
    assert_int_equal(pidmap_put(&m, 42, 9), 0); /* replaces */
    assert_int_equal(pidmap_get(&m, 42), 9);
    assert_int_equal(m.count, 2);
    assert_int_equal(pidmap_del(&m, 42), 9);
    assert_int_equal(pidmap_get(&m, 42), -1);
    assert_int_equal(pidmap_get(&m, 43), 8);
    assert_int_equal(m.count, 1);
    pidmap_free(&m);
}

/* pids 64 apart land on the same slot of a 64-slot table (the hash is a multiply
 * masked to the capacity, so multiples of cap collide): a removed one in the middle
 * of the chain must not hide the ones after it. */
static void collisions(void **state)
{
    (void)state;
    struct pidmap m = {0};
    for (int i = 0; i < 8; i++)
        assert_int_equal(pidmap_put(&m, 64 * (i + 1), i), 0);
    assert_int_equal(m.cap, 64);
    assert_int_equal(pidmap_del(&m, 64 * 3), 2);
    for (int i = 0; i < 8; i++)
        assert_int_equal(pidmap_get(&m, 64 * (i + 1)), i == 2 ? -1 : i);
    assert_int_equal(pidmap_put(&m, 64 * 3, 20), 0); /* reuses the tombstone */
    assert_int_equal(pidmap_get(&m, 64 * 3), 20);
    assert_int_equal(m.count, 8);
    pidmap_free(&m);
}

static void growth(void **state)
{
    (void)state;
    struct pidmap m = {0};
    for (int i = 1; i <= 20000; i++)
        assert_int_equal(pidmap_put(&m, i * 7, i), 0);
    assert_true(m.cap >= 40000);
    assert_int_equal(m.count, 20000);
    for (int i = 1; i <= 20000; i++)
        assert_int_equal(pidmap_get(&m, i * 7), i);
    assert_int_equal(pidmap_get(&m, 3), -1);
    pidmap_free(&m);
    assert_null(m.slots);
}

/* A launcher restarting guests forever: pids come and go, the table stays small. */
static void churn(void **state)
{
    (void)state;
    struct pidmap m = {0};
    for (int i = 1; i <= 100000; i++) {
        assert_int_equal(pidmap_put(&m, i, i), 0);
        if (i > 10)
            assert_int_equal(pidmap_del(&m, i - 10), i - 10);
    }
    assert_int_equal(m.count, 10);
    assert_true(m.cap <= 128);
    for (int i = 100000 - 9; i <= 100000; i++)
        assert_int_equal(pidmap_get(&m, i), i);
    pidmap_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(basic),
        cmocka_unit_test(collisions),
        cmocka_unit_test(growth),
        cmocka_unit_test(churn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
