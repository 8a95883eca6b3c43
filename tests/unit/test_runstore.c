/* runstore: which ids may name a run (they become a key's hash tag). Removal and the
 * "over" rule need a Redis: tests/integration/test_retention.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "event.h"
#include "runstore.h"

static void ids(void **state)
{
    (void)state;
    char longest[BS_ID_MAX], too_long[BS_ID_MAX + 1];
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    memset(too_long, 'a', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    assert_true(runstore_valid_id("20261130-003841-retain-2-899b"));
    assert_true(runstore_valid_id("g*")); /* glob characters are escaped, not refused */
    assert_true(runstore_valid_id(longest));
    static const char *const bad[] = {"", "a{b", "a}b", "a b", "a\tb", "a\nb", "a\x7f"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(runstore_valid_id(bad[i]));
    assert_false(runstore_valid_id(too_long));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(ids)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
