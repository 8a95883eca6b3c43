/* Kernel-stamped console sockets (common/stamped.c): each write comes back with the
 * moment it was made, not the moment it is read (ordered by clock reads between
 * the writes, no waiting); a write longer than STAMPED_MSG_MAX is
 * cut and says so; an empty write is not the end, a closed writer is; and a child
 * started with SPAWN_STAMPED writes its stdout there, stamped as it writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

#include <cmocka.h>

#include "procspawn.h"
#include "stamped.h"

static int64_t real_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Ordered by clock reads between the writes, not by waiting: a stamp taken at the
 * read would come after every one of them. */
static void stamped_when_written(void **state)
{
    (void)state;
    int fd[2];
    assert_int_equal(stamped_pair(fd), 0);
    struct stamped_reader *rd = stamped_reader_new();
    struct stamped_msg m[STAMPED_BATCH];
    int64_t t0 = real_now();
    assert_int_equal(write(fd[1], "a", 1), 1);
    int64_t t1 = real_now();
    assert_int_equal(write(fd[1], "b\n", 2), 2);
    int64_t t2 = real_now();
    assert_int_equal(stamped_read(rd, fd[0], m), 2);
    assert_int_equal(m[0].len, 1);
    assert_memory_equal(m[0].p, "a", 1);
    assert_int_equal(m[1].len, 2);
    assert_memory_equal(m[1].p, "b\n", 2);
    assert_true(t0 <= m[0].at.ns && m[0].at.ns <= t1); /* each within its own write */
    assert_true(t1 <= m[1].at.ns && m[1].at.ns <= t2);
    assert_false(m[0].cut || m[1].cut);
    assert_int_equal(stamped_read(rd, fd[0], m), -1); /* nothing more now */
    assert_int_equal(errno, EAGAIN);
    close(fd[0]);
    close(fd[1]);
    stamped_reader_free(rd);
}

static void long_write_cut_empty_write_eof(void **state)
{
    (void)state;
    int fd[2];
    assert_int_equal(stamped_pair(fd), 0);
    struct stamped_reader *rd = stamped_reader_new();
    struct stamped_msg m[STAMPED_BATCH];
    size_t big = STAMPED_MSG_MAX + 4096;
    char *buf = calloc(1, big);
    assert_int_equal(write(fd[1], buf, big), (ssize_t)big); /* taken at once, as a pipe would */
    assert_int_equal(stamped_read(rd, fd[0], m), 1);
    assert_int_equal(m[0].len, STAMPED_MSG_MAX);
    assert_true(m[0].cut);
    assert_int_equal(write(fd[1], "", 0), 0); /* an empty write is not the end */
    assert_int_equal(stamped_read(rd, fd[0], m), -1);
    assert_int_equal(errno, EAGAIN);
    assert_int_equal(write(fd[1], "", 0), 0);
    assert_int_equal(write(fd[1], "x", 1), 1);
    assert_int_equal(stamped_read(rd, fd[0], m), 1);
    assert_memory_equal(m[0].p, "x", 1);
    assert_int_equal(write(fd[1], "y", 1), 1);
    close(fd[1]); /* the writes before the end first, then the end */
    assert_int_equal(stamped_read(rd, fd[0], m), 1);
    assert_memory_equal(m[0].p, "y", 1);
    assert_int_equal(stamped_read(rd, fd[0], m), 0);
    close(fd[0]);
    free(buf);
    stamped_reader_free(rd);
}

/* The child writes the realtime clock (ns) to its stderr between its two writes; both
 * stamps are read after it has exited, so stamps taken at the read would come after
 * the wait. */
static void child_stdout_stamped(void **state)
{
    (void)state;
    char *argv[] = {"sh", "-c", "printf a; date +%s%N >&2; printf 'b\\n'", NULL};
    struct spawned s;
    char err[256];
    int64_t t0 = real_now();
    assert_int_equal(spawn_process(argv, SPAWN_STAMPED, &s, err, sizeof err), 0);
    assert_true(s.console_stamped);
    assert_int_equal(spawn_wait(s.pid), 0);
    int64_t waited = real_now();
    char mid_text[64] = "";
    assert_true(read(s.stderr_fd, mid_text, sizeof mid_text - 1) > 0);
    int64_t mid = strtoll(mid_text, NULL, 10);
    struct stamped_reader *rd = stamped_reader_new();
    struct stamped_msg m[STAMPED_BATCH];
    assert_int_equal(stamped_read(rd, s.console_fd, m), 2);
    assert_memory_equal(m[0].p, "a", 1);
    assert_memory_equal(m[1].p, "b\n", 2);
    assert_true(t0 <= m[0].at.ns && m[0].at.ns <= mid);
    assert_true(mid <= m[1].at.ns && m[1].at.ns <= waited);
    assert_int_equal(stamped_read(rd, s.console_fd, m), 0); /* the child is gone: EOF */
    close(s.console_fd);
    close(s.stderr_fd);
    stamped_reader_free(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamped_when_written),
        cmocka_unit_test(long_write_cut_empty_write_eof),
        cmocka_unit_test(child_stdout_stamped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
