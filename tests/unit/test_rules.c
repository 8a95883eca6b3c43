/* The guest rules the launcher and guests check share: accelerator choice (the
 * profile's pin wins, auto follows the KVM probe, kvm refused when unusable), image
 * paths (absolute, images dir, --image override, missing file named) and the HTTP
 * status that means ready. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "accel.h"
#include "profile.h"

static void accel_rules(void **state)
{
    (void)state;
    struct profile p;
    memset(&p, 0, sizeof p);
    struct accel_kvm yes = {.ok = 1}, no = {.ok = 0, .why = "/dev/kvm: EACCES"};
    char out[16], err[256];
    int fb;
    assert_string_equal(accel_wanted(NULL, &p), "auto");
    assert_string_equal(accel_wanted("tcg", &p), "tcg");
    assert_int_equal(accel_choose("auto", &p, 0, &yes, out, sizeof out, &fb, err, sizeof err), 0);
    assert_string_equal(out, "kvm");
    assert_int_equal(fb, 0);
    assert_int_equal(accel_choose("auto", &p, 0, &no, out, sizeof out, &fb, err, sizeof err), 0);
    assert_string_equal(out, "tcg");
    assert_int_equal(fb, 1);
    assert_int_equal(accel_choose("kvm", &p, 0, &no, out, sizeof out, &fb, err, sizeof err), -1);
    assert_non_null(strstr(err, "KVM is not usable: /dev/kvm: EACCES"));
    assert_int_equal(accel_choose("kvm", &p, 1, &no, out, sizeof out, &fb, err, sizeof err), 0);
    assert_string_equal(out, "none"); /* the process backend has no accelerator */
    strcpy(p.accel, "tcg");           /* a pin wins over what is asked */
    assert_string_equal(accel_wanted("kvm", &p), "tcg");
    assert_int_equal(accel_choose("kvm", &p, 0, &yes, out, sizeof out, &fb, err, sizeof err), 0);
    assert_string_equal(out, "tcg");
    strcpy(p.accel, "auto");
    assert_string_equal(accel_wanted("kvm", &p), "kvm");
}

/* auto per guest: what counts as KVM failing a guest, and the per-profile memory. */
static void accel_fallback_rules(void **state)
{
    (void)state;
    struct console_tail t = {0};
    assert_null(accel_kvm_failure(&t, 0, 0));
    assert_null(accel_kvm_failure(&t, 0, ACCEL_KVM_SILENT_NS - 1));
    assert_non_null(strstr(accel_kvm_failure(&t, 0, ACCEL_KVM_SILENT_NS), "no console output"));
    console_tail_add(&t, "qemu: guest exited\n", 19);
    assert_null(accel_kvm_failure(&t, 1, 0)); /* a crash that does not name KVM: no fallback */
    console_tail_add(&t, "kvm.c:3183: kvm_buf_set_msrs: Assertion failed.\n", 47);
    assert_null(accel_kvm_failure(&t, 0, 0)); /* still running: not yet */
    assert_string_equal(accel_kvm_failure(&t, 1, 0), "QEMU died in its KVM code");
    console_tail_add(&t, "KVM internal error. Suberror: 1\n", 32);
    assert_string_equal(accel_kvm_failure(&t, 0, 0), "KVM internal error");

    struct profile q;
    memset(&q, 0, sizeof q);
    q.ready_kind = READY_CONSOLE;
    assert_true(accel_silence_counts(&q));
    q.ready_kind = READY_EXIT; /* may print nothing at all */
    assert_false(accel_silence_counts(&q));
    q.nmarkers = 1; /* but its markers are on the console */
    assert_true(accel_silence_counts(&q));

    static struct accel_memo m;
    assert_null(accel_memo_tcg(&m, "linux"));
    accel_memo_set_tcg(&m, "linux", "KVM internal error");
    accel_memo_set_tcg(&m, "linux", "second reason"); /* the first one stays */
    assert_string_equal(accel_memo_tcg(&m, "linux"), "KVM internal error");
    assert_null(accel_memo_tcg(&m, "linux-http")); /* per profile */
    for (int i = 0; i < ACCEL_MEMO_MAX + 4; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%d", i);
        accel_memo_set_tcg(&m, name, "x"); /* full: ignored, never overflows */
    }
    assert_int_equal(m.n, ACCEL_MEMO_MAX);
}

static void image_paths(void **state)
{
    (void)state;
    struct profile p;
    memset(&p, 0, sizeof p);
    strcpy(p.name, "t");
    char dir[] = "/tmp/bs-rules-XXXXXX", path[600], err[512], out[600];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/k.elf", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    strcpy(p.kernel, "k.elf");
    assert_int_equal(profile_image_path(&p, "kernel", dir, NULL, out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, path);
    assert_int_equal(profile_image_path(&p, "initrd", dir, NULL, out, sizeof out, err, sizeof err),
                     0);
    assert_string_equal(out, ""); /* none: not an error */
    strcpy(p.disk, "missing.img");
    assert_int_equal(profile_image_path(&p, "disk", dir, NULL, out, sizeof out, err, sizeof err),
                     -1);
    char want[700];
    snprintf(want, sizeof want, "disk image %s/missing.img of profile t: No such file", dir);
    assert_int_equal(strncmp(err, want, strlen(want)), 0);
    strcpy(p.kernel, path); /* absolute: as it is */
    assert_int_equal(
        profile_image_path(&p, "kernel", "/nonexistent", NULL, out, sizeof out, err, sizeof err),
        0);
    assert_string_equal(out, path);
    assert_int_equal(
        profile_image_path(&p, "disk", "/nonexistent", path, out, sizeof out, err, sizeof err),
        0); /* --image disk=PATH */
    assert_string_equal(out, path);
    unlink(path);
    rmdir(dir);
}

static void http_status(void **state)
{
    (void)state;
    struct profile p;
    memset(&p, 0, sizeof p);
    assert_true(profile_http_ok(&p, 200));
    assert_true(profile_http_ok(&p, 302));
    assert_false(profile_http_ok(&p, 404));
    assert_false(profile_http_ok(&p, 0));
    p.http_status = 404;
    assert_true(profile_http_ok(&p, 404));
    assert_false(profile_http_ok(&p, 200));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accel_rules),
        cmocka_unit_test(accel_fallback_rules),
        cmocka_unit_test(image_paths),
        cmocka_unit_test(http_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
