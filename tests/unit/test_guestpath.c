/* Where profiles and images are found (common/guestpath.c): the user's folders before
 * the environment's before the built-in ones, --image NAME=PATH by key or by file name
 * (the last one wins), an unknown guest refused with the known names, bad --image. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "guestpath.h"

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static const char profile_fmt[] = "name: %s\nkernel: %s\nprocess:\n  argv: [sh, \"{kernel}\"]\n"
                                  "ready: 'READY'\n";

static void write_profile(const char *dir, const char *name, const char *kernel)
{
    char text[512], file[128];
    snprintf(text, sizeof text, profile_fmt, name, kernel);
    snprintf(file, sizeof file, "%s.yaml", name);
    write_file(dir, file, text);
}

static void lookup_order(void **state)
{
    (void)state;
    char a[] = "/tmp/bs-gp-a-XXXXXX", b[] = "/tmp/bs-gp-b-XXXXXX", err[1400], out[4200];
    assert_non_null(mkdtemp(a));
    assert_non_null(mkdtemp(b));
    write_profile(a, "g", "a.img"); /* the same name in both: the first folder wins */
    write_profile(b, "g", "b.img");
    write_profile(b, "only-b", "k.img");
    write_file(b, "a.img", "x");
    write_file(b, "b.img", "x");
    static struct guest_paths gp;
    memset(&gp, 0, sizeof gp);
    setenv("BOOTSTORM_GUESTS", b, 1);
    setenv("BOOTSTORM_IMAGES", b, 1);
    assert_int_equal(gp_add_guests(&gp, a, err, sizeof err), 0);
    assert_int_equal(gp_finish(&gp, err, sizeof err), 0);
    assert_string_equal(gp.guests[0], a); /* command line, then environment, then built-in */
    assert_string_equal(gp.guests[1], b);
    struct profile p;
    assert_int_equal(gp_load(&gp, "g", &p, err, sizeof err), 0);
    assert_string_equal(p.kernel, "a.img");
    assert_int_equal(gp_image(&gp, &p, "kernel", out, sizeof out, err, sizeof err), 0);
    assert_non_null(strstr(out, "/a.img")); /* found in the images folder from the env */
    assert_int_equal(gp_add_image(&gp, "kernel=/k1", err, sizeof err), 0);
    assert_int_equal(gp_add_image(&gp, "a.img=/etc/hostname", err, sizeof err), 0);
    assert_int_equal(gp_image(&gp, &p, "kernel", out, sizeof out, err, sizeof err), 0);
    assert_string_equal(out, "/etc/hostname"); /* by file name, and the last one wins */
    profile_free(&p);
    assert_int_equal(gp_load(&gp, "only-b", &p, err, sizeof err), 0);
    assert_int_equal(gp_image(&gp, &p, "kernel", out, sizeof out, err, sizeof err), -1);
    assert_non_null(strstr(err, "/k1")); /* --image kernel= applies to every profile */
    profile_free(&p);
    assert_int_equal(gp_load(&gp, "nope", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown guest 'nope' (known: "));
    assert_non_null(strstr(err, "g, "));
    assert_non_null(strstr(err, "only-b"));
    assert_int_equal(gp_load(&gp, "../x", &p, err, sizeof err), -1); /* no path escapes */
    unsetenv("BOOTSTORM_GUESTS");
    unsetenv("BOOTSTORM_IMAGES");
}

static void bad_image_args(void **state)
{
    (void)state;
    static struct guest_paths gp;
    char err[512];
    assert_int_equal(gp_add_image(&gp, "kernel", err, sizeof err), -1);
    assert_non_null(strstr(err, "NAME=PATH"));
    assert_int_equal(gp_add_image(&gp, "=x", err, sizeof err), -1);
    assert_int_equal(gp_add_image(&gp, "kernel=", err, sizeof err), -1);
    for (int i = 0; i < GP_MAX_IMAGES; i++)
        assert_int_equal(gp_add_image(&gp, "k=/p", err, sizeof err), 0);
    assert_int_equal(gp_add_image(&gp, "k=/p", err, sizeof err), -1);
    for (int i = 0; i < GP_MAX_DIRS; i++) {
        char d[32];
        snprintf(d, sizeof d, "/d%d", i);
        assert_int_equal(gp_add_guests(&gp, d, err, sizeof err), 0);
    }
    assert_int_equal(gp_add_guests(&gp, "/d0", err, sizeof err), 0); /* a repeat is no new one */
    assert_int_equal(gp_add_guests(&gp, "/more", err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_order),
        cmocka_unit_test(bad_image_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
