/* launcher/qmp.c against a fake QEMU on a unix socket (a thread): the greeting and
 * qmp_capabilities, answers split across writes, events skipped, QEMU's errors, a
 * socket that appears late, a QEMU that closes or never answers. No QEMU needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../../launcher/qmp.h"

#define GREETING "{\"QMP\": {\"version\": {}, \"capabilities\": []}}\r\n"

struct fake {
    char path[108];
    int delay_ms;       /* before the socket exists */
    const char *script; /* what to write after each command, '|' between commands;
                         * '~' splits one write into two; "" answers nothing */
    pthread_t t;
};

static void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ms / 1000, (long)(ms % 1000) * 1000000L}, NULL);
}

static void write_split(int fd, const char *s, size_t n)
{
    const char *tilde = memchr(s, '~', n);
    size_t first = tilde ? (size_t)(tilde - s) : n;
    assert_int_equal(write(fd, s, first), (ssize_t)first);
    if (tilde) {
        sleep_ms(20);
        assert_int_equal(write(fd, tilde + 1, n - first - 1), (ssize_t)(n - first - 1));
    }
}

/* Greets, then for each command line read writes the next piece of the script. */
static void *serve(void *arg)
{
    struct fake *f = arg;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    sleep_ms(f->delay_ms);
    strcpy(a.sun_path, f->path);
    int ls = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(ls, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(ls, 1), 0);
    int fd = accept(ls, NULL, NULL);
    close(ls);
    assert_int_equal(write(fd, GREETING, strlen(GREETING)), (ssize_t)strlen(GREETING));
    const char *p = f->script;
    char c;
    while (*p && read(fd, &c, 1) == 1) {
        if (c != '\n')
            continue;
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        write_split(fd, p, n);
        p += n + (bar ? 1 : 0);
    }
    sleep_ms(300); /* long enough for a caller's short timeout */
    close(fd);
    unlink(f->path);
    return NULL;
}

static void fake_start(struct fake *f, int delay_ms, const char *script)
{
    snprintf(f->path, sizeof f->path, "/tmp/bs-qmp-%d-%ld.sock", (int)getpid(), (long)random());
    f->delay_ms = delay_ms;
    f->script = script;
    assert_int_equal(pthread_create(&f->t, NULL, serve, f), 0);
}

static void test_calls(void **state)
{
    (void)state;
    struct fake f;
    char err[256];
    json_t *r;
    /* capabilities; query-migrate answered after an event, in two writes; stop refused */
    fake_start(
        &f, 100,
        "{\"return\": {}}\r\n|"
        "{\"event\": \"STOP\", \"data\": {}}\r\n{\"return\": {\"sta~tus\": \"completed\"}}\r\n|"
        "{\"error\": {\"class\": \"GenericError\", \"desc\": \"nope\"}}\r\n");
    struct qmp *q = qmp_open(f.path, 2000, err, sizeof err); /* the socket comes 100 ms late */
    assert_non_null(q);
    assert_int_equal(qmp_call(q, "query-migrate", NULL, &r, 2000, err, sizeof err), 0);
    assert_string_equal(json_string_value(json_object_get(r, "status")), "completed");
    json_decref(r);
    assert_int_equal(qmp_call(q, "stop", json_pack("{s:b}", "x", 1), NULL, 2000, err, sizeof err),
                     -1);
    assert_string_equal(err, "QMP stop: nope");
    qmp_close(q);
    pthread_join(f.t, NULL);
}

static void test_no_answer_and_closed(void **state)
{
    (void)state;
    struct fake f;
    char err[256];
    fake_start(&f, 0, "{\"return\": {}}\r\n|"); /* then silence, then the socket closes */
    struct qmp *q = qmp_open(f.path, 2000, err, sizeof err);
    assert_non_null(q);
    assert_int_equal(qmp_call(q, "query-status", NULL, NULL, 50, err, sizeof err), -1);
    assert_string_equal(err, "QMP: no answer in time");
    assert_int_equal(qmp_call(q, "query-status", NULL, NULL, 2000, err, sizeof err), -1);
    /* closed or reset (our unread command): either way at once, not by the timeout */
    assert_true(!strcmp(err, "QMP: QEMU closed the socket") ||
                !strcmp(err, "QMP: Connection reset by peer"));
    qmp_close(q);
    pthread_join(f.t, NULL);
}

static void test_no_socket(void **state)
{
    (void)state;
    char err[256];
    assert_null(qmp_open("/tmp/bs-qmp-nobody-here.sock", 30, err, sizeof err));
    assert_non_null(strstr(err, "No such file or directory"));
}

int main(void)
{
    srandom((unsigned)getpid());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls),
        cmocka_unit_test(test_no_answer_and_closed),
        cmocka_unit_test(test_no_socket),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
