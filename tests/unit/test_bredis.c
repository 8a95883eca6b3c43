/* bredis: Redis URLs with credentials, passwords from the environment or a file, and
 * error messages and logs that never show a password. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "bredis.h"

static int clear_env(void **state)
{
    (void)state;
    unsetenv("BOOTSTORM_REDIS_PASSWORD");
    unsetenv("BOOTSTORM_REDIS_PASSWORD_FILE");
    return 0;
}

static void plain_urls(void **state)
{
    (void)state;
    struct bredis_addr a;
    char err[256] = "";
    assert_int_equal(bredis_parse_url("redis://10.0.0.1:6380/3", &a, err, sizeof err), 0);
    assert_string_equal(a.host, "10.0.0.1");
    assert_int_equal(a.port, 6380);
    assert_int_equal(a.db, 3);
    assert_string_equal(a.user, "");
    assert_string_equal(a.pass, "");
    assert_int_equal(bredis_parse_url("localhost", &a, err, sizeof err), 0);
    assert_int_equal(a.port, 6379);
    assert_int_equal(bredis_parse_url("unix:///run/r.sock", &a, err, sizeof err), 0);
    assert_int_equal(a.port, 0);
    assert_string_equal(a.host, "/run/r.sock");
    assert_int_equal(bredis_parse_url("redis://h:99999", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad port"));
    assert_int_equal(bredis_parse_url("redis://h:1/16", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "bad database"));
}

static void credentials(void **state)
{
    (void)state;
    struct bredis_addr a;
    char err[256] = "";
    assert_int_equal(bredis_parse_url("redis://bs:s3cret@127.0.0.1:7000/2", &a, err, sizeof err), 0);
    assert_string_equal(a.user, "bs");
    assert_string_equal(a.pass, "s3cret");
    assert_string_equal(a.host, "127.0.0.1");
    assert_int_equal(a.port, 7000);
    assert_int_equal(a.db, 2);
    assert_int_equal(bredis_parse_url("redis://:onlypass@h", &a, err, sizeof err), 0);
    assert_string_equal(a.user, "");
    assert_string_equal(a.pass, "onlypass");
    /* a bad port with a password in the URL: the error names the URL, not the password */
    assert_int_equal(bredis_parse_url("redis://u:hunter2@h:x", &a, err, sizeof err), -1);
    assert_null(strstr(err, "hunter2"));
    assert_non_null(strstr(err, "u:***@h:x"));
}

static void redaction(void **state)
{
    (void)state;
    char out[256];
    bredis_redact("redis://u:pw@h:1/0", out, sizeof out);
    assert_string_equal(out, "redis://u:***@h:1/0");
    bredis_redact("redis://:pw@h", out, sizeof out);
    assert_string_equal(out, "redis://:***@h");
    bredis_redact("redis://h:1", out, sizeof out);
    assert_string_equal(out, "redis://h:1");
    bredis_redact("redis://u@h:1", out, sizeof out);
    assert_string_equal(out, "redis://u@h:1");
}

static void password_from_environment(void **state)
{
    (void)state;
    struct bredis_addr a;
    char err[256] = "", path[] = "/tmp/bs-bredis-XXXXXX";
    setenv("BOOTSTORM_REDIS_PASSWORD", "fromenv", 1);
    assert_int_equal(bredis_parse_url("redis://h:1", &a, err, sizeof err), 0);
    assert_string_equal(a.pass, "fromenv");
    /* a password in the URL wins */
    assert_int_equal(bredis_parse_url("redis://:inurl@h:1", &a, err, sizeof err), 0);
    assert_string_equal(a.pass, "inurl");
    unsetenv("BOOTSTORM_REDIS_PASSWORD");

    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("fromfile\n", f);
    fclose(f);
    setenv("BOOTSTORM_REDIS_PASSWORD_FILE", path, 1);
    assert_int_equal(bredis_parse_url("redis://h:1", &a, err, sizeof err), 0);
    assert_string_equal(a.pass, "fromfile");
    unlink(path);
    assert_int_equal(bredis_parse_url("redis://h:1", &a, err, sizeof err), -1);
    assert_non_null(strstr(err, "BOOTSTORM_REDIS_PASSWORD_FILE"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(plain_urls, clear_env),
        cmocka_unit_test_setup(credentials, clear_env),
        cmocka_unit_test_setup(redaction, clear_env),
        cmocka_unit_test_setup(password_from_environment, clear_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
