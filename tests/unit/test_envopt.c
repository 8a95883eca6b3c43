/* envopt: a variable becomes "OPTION VALUE" right after argv[0], so getopt sees it
 * first and an explicit option, read later, wins; unset or empty changes nothing. */
#include <getopt.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "envopt.h"

static void unset_or_empty(void **state)
{
    (void)state;
    char *args[] = {"run", "x.yaml", NULL}, **argv = args;
    int argc = 2;
    unsetenv("BOOTSTORM_COLLECTOR");
    assert_null(envopt_get(ENVOPT_COLLECTOR));
    assert_int_equal(envopt_prepend(ENVOPT_COLLECTOR, "--collector", &argc, &argv), 0);
    assert_ptr_equal(argv, args);
    assert_int_equal(argc, 2);
    setenv("BOOTSTORM_COLLECTOR", "", 1);
    assert_null(envopt_get(ENVOPT_COLLECTOR));
    assert_int_equal(envopt_prepend(ENVOPT_COLLECTOR, "--collector", &argc, &argv), 0);
    assert_ptr_equal(argv, args);
    unsetenv("BOOTSTORM_COLLECTOR");
}

static void inserted_after_argv0(void **state)
{
    (void)state;
    char *args[] = {"run", "x.yaml", "--json", NULL}, **argv = args;
    int argc = 3;
    setenv("BOOTSTORM_COLLECTOR", "tcp://h:1", 1);
    setenv("BOOTSTORM_CURVE_SERVER_KEY", "/k.pub", 1);
    assert_int_equal(envopt_prepend(ENVOPT_COLLECTOR, "--collector", &argc, &argv), 0);
    assert_int_equal(envopt_prepend(ENVOPT_CURVE_SERVER_KEY, "--curve-server-key", &argc, &argv),
                     0);
    assert_int_equal(argc, 7);
    const char *want[] = {
        "run", "--curve-server-key", "/k.pub", "--collector", "tcp://h:1", "x.yaml", "--json"};
    for (int i = 0; i < 7; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[7]);
    free(argv); /* the second copy; the first was freed when it replaced it */
    unsetenv("BOOTSTORM_COLLECTOR");
    unsetenv("BOOTSTORM_CURVE_SERVER_KEY");
}

/* Parses --collector as a command's parser does (the last one kept). */
static const char *last_collector(int argc, char **argv)
{
    static const struct option opts[] = {{"collector", required_argument, 0, 'c'}, {0, 0, 0, 0}};
    const char *v = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "c:", opts, NULL)) != -1)
        if (c == 'c')
            v = optarg;
    return v;
}

static void explicit_option_wins(void **state)
{
    (void)state;
    char *args[] = {"run", "--collector", "tcp://mine:2", "x.yaml", NULL}, **argv = args;
    int argc = 4;
    setenv("BOOTSTORM_COLLECTOR", "tcp://env:1", 1);
    assert_int_equal(envopt_prepend(ENVOPT_COLLECTOR, "--collector", &argc, &argv), 0);
    assert_string_equal(last_collector(argc, argv), "tcp://mine:2");
    char *plain[] = {"run", "x.yaml", NULL}, **pv = plain;
    int pc = 2;
    assert_int_equal(envopt_prepend(ENVOPT_COLLECTOR, "--collector", &pc, &pv), 0);
    assert_string_equal(last_collector(pc, pv), "tcp://env:1");
    free(argv);
    free(pv);
    envopt_unset(ENVOPT_COLLECTOR);
    assert_null(getenv("BOOTSTORM_COLLECTOR"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unset_or_empty),
        cmocka_unit_test(inserted_after_argv0),
        cmocka_unit_test(explicit_option_wins),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
