/* The collector's admission rules (collector/zap.c): which keys are admitted, as which id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zap.h"

#define K1 "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
#define K2 "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID"
#define K3 "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"

static const struct zap_entry allow[] = {{K1, "h1"}, {K2, "h2"}, {K3, "cli"}};

static void plain_connections(void **state)
{
    (void)state;
    const char *user = "x";
    assert_null(zap_decide("NULL", "", NULL, 0, &user));
    assert_string_equal(user, "");
    assert_null(zap_decide("CURVE", K1, NULL, 0, &user)); /* no allow-list: any key */
    assert_string_equal(user, "");
    assert_non_null(zap_decide("PLAIN", "", NULL, 0, &user));
}

static void curve_allow_list(void **state)
{
    (void)state;
    const char *user = "";
    assert_null(zap_decide("CURVE", K1, allow, 3, &user));
    assert_string_equal(user, "h1");
    assert_null(zap_decide("CURVE", K2, allow, 3, &user));
    assert_string_equal(user, "h2");
    assert_null(zap_decide("CURVE", K3, allow, 3, &user));
    assert_string_equal(user, "cli");
    user = "stale";
    assert_non_null(zap_decide("CURVE", "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf8", allow, 3, &user));
    assert_string_equal(user, "");
    /* a plain connection never gets an allow-listed id */
    assert_null(zap_decide("NULL", "", allow, 3, &user));
    assert_string_equal(user, "");
}

static void allow_file(void **state)
{
    (void)state;
    char path[] = "/tmp/bs-zap-XXXXXX", err[256] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# launchers\n%s h1\n\n  %s cli\n", K1, K3);
    fclose(f);
    struct zap_entry *v = NULL;
    assert_int_equal(zap_allow_load(path, &v, err, sizeof err), 2);
    assert_string_equal(v[0].id, "h1");
    assert_string_equal(v[1].key, K3);
    free(v);
    f = fopen(path, "a");
    fprintf(f, "tooshort h3\n");
    fclose(f);
    assert_int_equal(zap_allow_load(path, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, ":5: expected"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(plain_connections),
                                       cmocka_unit_test(curve_allow_list),
                                       cmocka_unit_test(allow_file)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
