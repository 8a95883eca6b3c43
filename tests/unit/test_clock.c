/* The monotonic <-> realtime conversion (clock_real_of, clock_mono_of): a moment maps
 * to the other clock and back to itself, and "now" on one clock is "now" on the other;
 * a moment 2 s ago stays 2 s ago. Tolerances are loose (50 ms): the clocks are read a
 * few microseconds apart on a shared machine. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "clock.h"

#define SLACK_NS (50 * NS_PER_MS)

static void now_maps_to_now(void **state)
{
    (void)state;
    real_ns r = clock_real_of(clock_mono());
    assert_true(llabs(r.ns - clock_real().ns) < SLACK_NS);
    mono_ns m = clock_mono_of(clock_real());
    assert_true(llabs(mono_diff(m, clock_mono())) < SLACK_NS);
}

static void past_stays_past(void **state)
{
    (void)state;
    mono_ns ago = mono_add(clock_mono(), -2 * NS_PER_S);
    real_ns r = clock_real_of(ago);
    assert_true(llabs(clock_real().ns - r.ns - 2 * NS_PER_S) < SLACK_NS);
    mono_ns back = clock_mono_of(r);
    assert_true(llabs(mono_diff(ago, back)) < SLACK_NS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(now_maps_to_now),
        cmocka_unit_test(past_stays_past),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
