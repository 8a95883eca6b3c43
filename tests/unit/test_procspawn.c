/* procspawn: the child starts with an empty signal mask and SIGPIPE at its default
 * whatever the parent blocks or ignores; log files, working directory, exec errors. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "procspawn.h"

/* Everything the child wrote on its stdout, until EOF. */
static size_t read_all(int fd, char *buf, size_t len)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        if (n == 0 || got == len - 1)
            break;
        usleep(1000); /* non-blocking pipe: the child has not written yet */
    }
    buf[got] = '\0';
    return got;
}

static unsigned long long status_mask(const char *status, const char *key)
{
    const char *p = strstr(status, key);
    assert_non_null(p);
    return strtoull(p + strlen(key), NULL, 16);
}

static void signals_reset(void **state)
{
    (void)state;
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigaddset(&usr1, SIGCHLD);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN); /* ignored on purpose stays ignored, as with posix_spawn */
    char *argv[] = {"cat", "/proc/self/status", NULL};
    struct spawned s;
    char err[256], out[8192];
    assert_int_equal(spawn_process(argv, 0, &s, err, sizeof err), 0);
    read_all(s.console_fd, out, sizeof out);
    assert_int_equal(spawn_wait(s.pid), 0);
    close(s.console_fd);
    close(s.stderr_fd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    assert_int_equal(status_mask(out, "SigBlk:\t"), 0);
    unsigned long long ign = status_mask(out, "SigIgn:\t");
    assert_false(ign & (1ULL << (SIGPIPE - 1)));
    assert_true(ign & (1ULL << (SIGHUP - 1)));
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

static void log_and_dir(void **state)
{
    (void)state;
    char dir[] = "/tmp/bs-procspawn-XXXXXX", log[128], err[256], out[256] = "";
    assert_non_null(mkdtemp(dir));
    snprintf(log, sizeof log, "%s/out.log", dir);
    char *argv[] = {"sh", "-c", "pwd; echo oops >&2; exit 3", NULL};
    struct spawn_opts o = {.out = SPAWN_OUT_LOG, .log = log, .dir = dir, .own_pgrp = 1};
    struct spawned s;
    assert_int_equal(spawn_start(argv, &o, &s, err, sizeof err), 0);
    assert_int_equal(s.console_fd, -1);
    assert_int_equal(spawn_wait(s.pid), 3);
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    fclose(f);
    out[n] = '\0';
    char want[300];
    snprintf(want, sizeof want, "%s\noops\n", dir);
    assert_string_equal(out, want);
    unlink(log);
    rmdir(dir);
}

static void exec_error(void **state)
{
    (void)state;
    char *argv[] = {"/nonexistent/bootstorm-no-such-program", NULL};
    struct spawned s = {.pid = -7};
    char err[256] = "";
    assert_int_equal(spawn_process(argv, 1, &s, err, sizeof err), -1);
    assert_int_equal(s.pid, -7);
    assert_non_null(strstr(err, "No such file"));
}

static void debug_pipe(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "echo dbg > /dev/fd/3", NULL};
    struct spawned s;
    char err[256], out[64];
    assert_int_equal(spawn_process(argv, 1, &s, err, sizeof err), 0);
    assert_true(s.debug_fd >= 0);
    read_all(s.debug_fd, out, sizeof out);
    assert_string_equal(out, "dbg\n");
    assert_int_equal(spawn_wait(s.pid), 0);
    close(s.console_fd);
    close(s.stderr_fd);
    close(s.debug_fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signals_reset),
        cmocka_unit_test(log_and_dir),
        cmocka_unit_test(exec_error),
        cmocka_unit_test(debug_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
