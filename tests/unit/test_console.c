/* console: line assembly across reads (partial lines, CRLF, NULs, overlong lines),
 * markers once each and in `after:` order, the ready regex, debug port bytes, stderr
 * tail. Each expectation is the exact sequence of callbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "console.h"

/* Markers: boot (any order), net (after boot); ready: 'login:' after net. */
#define PROFILE_TEXT                                                                               \
    "name: t\nkernel: t.elf\n"                                                                     \
    "qemu:\n  argv: [qemu-system-x86_64, -kernel, '{kernel}']\n"                                   \
    "markers:\n"                                                                                   \
    "  - {name: boot, regex: 'Booting'}\n"                                                         \
    "  - {name: net, regex: 'eth0 up$', after: boot}\n"                                            \
    "ready: {regex: 'login: ?$', after: net}\n"

struct rec {
    char log[2048]; /* "F M0 M1 R L(text) ..." */
};

static void rec_add(struct rec *r, const char *s)
{
    size_t used = strlen(r->log);
    snprintf(r->log + used, sizeof r->log - used, "%s%s", used ? " " : "", s);
}
static void on_first(void *ctx)
{
    rec_add(ctx, "F");
}
static void on_ready(void *ctx)
{
    rec_add(ctx, "R");
}
static void on_marker(void *ctx, int m)
{
    char s[16];
    snprintf(s, sizeof s, "M%d", m);
    rec_add(ctx, s);
}
static void on_line(void *ctx, const char *s, size_t len)
{
    char b[CONSOLE_LINE_MAX + 8];
    snprintf(b, sizeof b, "L(%.*s)", (int)len, s);
    rec_add(ctx, b);
}
static const struct console_cb cb = {on_first, on_marker, on_ready, on_line};

struct fixture {
    struct profile p;
    struct console_matcher m;
    struct console c;
    struct rec r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    char path[] = "/tmp/bs-console-XXXXXX", err[256];
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, PROFILE_TEXT, strlen(PROFILE_TEXT)), (ssize_t)strlen(PROFILE_TEXT));
    close(fd);
    int rc = profile_load(path, &f->p, err, sizeof err);
    unlink(path);
    if (rc < 0)
        fail_msg("%s", err);
    assert_int_equal(console_matcher_init(&f->m, &f->p), 0);
    console_reset(&f->c);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    console_matcher_free(&f->m);
    profile_free(&f->p);
    free(f);
    return 0;
}

static void feed(struct fixture *f, const char *s)
{
    console_feed(&f->m, &f->c, s, strlen(s), &cb, &f->r);
}

static void whole_lines_in_order(void **state)
{
    struct fixture *f = *state;
    feed(f, "Booting kernel\r\neth0 up\r\nlogin: \r\n");
    assert_string_equal(f->r.log, "F M0 L(Booting kernel) M1 L(eth0 up) R L(login: )");
}

static void split_across_reads(void **state)
{
    struct fixture *f = *state;
    feed(f, "Boo");
    feed(f, "ting\net");
    feed(f, "h0 u");
    feed(f, "p\r");
    feed(f, "\n");
    assert_string_equal(f->r.log, "F M0 L(Booting) M1 L(eth0 up)");
    assert_string_equal(console_partial(&f->c), "");
}

/* A prompt never ends in a newline: the partial line must match by itself. */
static void partial_prompt_is_ready(void **state)
{
    struct fixture *f = *state;
    feed(f, "Booting\neth0 up\nlogin: ");
    assert_string_equal(f->r.log, "F M0 L(Booting) M1 L(eth0 up) R");
    assert_string_equal(console_partial(&f->c), "login: ");
    feed(f, "\nlogin: \n"); /* ready and markers fire once */
    assert_string_equal(f->r.log, "F M0 L(Booting) M1 L(eth0 up) R L(login: ) L(login: )");
}

/* `after:` holds a marker (and ready) until the earlier one matched; a line that
 * came too early does not count later. */
static void after_order(void **state)
{
    struct fixture *f = *state;
    feed(f, "eth0 up\nlogin: \nBooting\n");
    assert_string_equal(f->r.log, "F L(eth0 up) L(login: ) M0 L(Booting)");
    feed(f, "login: \n");
    assert_string_equal(f->r.log, "F L(eth0 up) L(login: ) M0 L(Booting) L(login: )");
    feed(f, "eth0 up\nlogin:\n");
    assert_string_equal(f->r.log, "F L(eth0 up) L(login: ) M0 L(Booting) L(login: ) M1 L(eth0 up) "
                                  "R L(login:)");
}

/* CR before LF is no part of the line ('$' anchors); a NUL does not cut it. */
static void crlf_and_nul(void **state)
{
    struct fixture *f = *state;
    console_feed(&f->m, &f->c, "Boot\0ing\r\r\n", 11, &cb, &f->r);
    assert_string_equal(f->r.log, "F L(Boot ing)");
    feed(f, "Booting\r\n");
    assert_string_equal(f->r.log, "F L(Boot ing) M0 L(Booting)");
}

/* A line longer than the buffer is cut into pieces; nothing is lost or repeated. */
static void overlong_line(void **state)
{
    struct fixture *f = *state;
    char big[CONSOLE_LINE_MAX * 2 + 16];
    memset(big, 'x', sizeof big);
    memcpy(big + CONSOLE_LINE_MAX + 3, "Booting", 7);
    big[sizeof big - 1] = '\0';
    feed(f, big);
    feed(f, "\n");
    /* pieces: 511 x, then 4 x + Booting + ..., the marker matches in the second piece */
    assert_non_null(strstr(f->r.log, " M0 "));
    size_t xs = 0;
    for (const char *s = f->r.log; *s; s++)
        xs += *s == 'x';
    assert_int_equal(xs, sizeof big - 1 - 7);
}

static void debug_bytes(void **state)
{
    (void)state;
    struct console_debug d = {0};
    assert_int_equal(console_debug_feed(&d, "OK!", "noise O", 7), 0);
    assert_int_equal(console_debug_feed(&d, "OK!", "K", 1), 0);
    assert_int_equal(console_debug_feed(&d, "OK!", "!", 1), 1);
    char junk[200];
    memset(junk, 'j', sizeof junk);
    struct console_debug e = {0};
    assert_int_equal(console_debug_feed(&e, "OK!", junk, sizeof junk), 0);
    assert_int_equal(console_debug_feed(&e, "OK!", "OK!", 3), 1);
}

static void stderr_tail(void **state)
{
    (void)state;
    struct console_tail t = {0};
    console_tail_add(&t, "first\n", 6);
    char big[CONSOLE_TAIL_MAX];
    memset(big, 'y', sizeof big);
    console_tail_add(&t, big, sizeof big - 10);
    console_tail_add(&t, "KVM internal error\n", 19);
    assert_int_equal(t.len, CONSOLE_TAIL_MAX - 1);
    assert_null(strstr(t.buf, "first"));
    assert_string_equal(console_tail_oneline(&t) + t.len - 19, "KVM internal error ");
}

/* QEMU follows "KVM internal error" with a register dump longer than the tail: the
 * flag must survive it, and a phrase split across two reads must still be seen. */
static void kvm_error_sticks(void **state)
{
    (void)state;
    struct console_tail t = {0};
    console_tail_add(&t, "warning: something\nKVM inter", 28);
    assert_int_equal(t.kvm_error, 0);
    console_tail_add(&t, "nal error. Suberror: 1\n", 23);
    assert_int_equal(t.kvm_error, 1);
    char dump[3 * CONSOLE_TAIL_MAX];
    memset(dump, 'R', sizeof dump);
    console_tail_add(&t, dump, sizeof dump);
    assert_null(strstr(t.buf, "KVM internal"));
    assert_int_equal(t.kvm_error, 1);
    struct console_tail u = {0};
    console_tail_add(&u, "KVM internal erro", 17); /* one byte short: not yet */
    assert_int_equal(u.kvm_error, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(whole_lines_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(split_across_reads, setup, teardown),
        cmocka_unit_test_setup_teardown(partial_prompt_is_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(after_order, setup, teardown),
        cmocka_unit_test_setup_teardown(crlf_and_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(overlong_line, setup, teardown),
        cmocka_unit_test(debug_bytes),
        cmocka_unit_test(stderr_tail),
        cmocka_unit_test(kvm_error_sticks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
