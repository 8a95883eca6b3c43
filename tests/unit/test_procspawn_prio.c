/* procspawn: a guest started by a launcher at nice -10, or by its SCHED_FIFO spawner
 * thread, runs at SCHED_OTHER nice 0 by the time spawn_process returns (the parent sets
 * it once the child has exec'd; the child keeps the caller's priority until then), and
 * with the caller's CPU mask: a real-time caller pins itself and the child to one CPU
 * around the vfork, and both get their mask back. */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "procspawn.h"

struct seen {
    int spawned, policy, nice;
    int child_mask_kept, own_mask_kept; /* equal to the caller's mask before the spawn */
};

/* Policy and nice value of pid, from /proc/PID/stat (fields 41 and 19); -1 unknown. */
static void policy_nice(pid_t pid, struct seen *w)
{
    char path[64], buf[1024];
    w->policy = w->nice = -1;
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char *p = fgets(buf, sizeof buf, f) ? strrchr(buf, ')') : NULL; /* the name may hold spaces */
    fclose(f);
    long v[40];
    int n = 0;
    char *save;
    for (char *tok = p ? strtok_r(p + 2, " ", &save) : NULL; tok && n < 40;
         tok = strtok_r(NULL, " ", &save))
        v[n++] = strtol(tok, NULL, 10);
    if (n >= 39) {
        w->nice = (int)v[16];   /* field 19: fields count from 1, and state is field 3 */
        w->policy = (int)v[38]; /* field 41 */
    }
}

/* Spawns `sleep 30`, notes its policy and nice value right away, stops it. No cmocka
 * assert here: it may run in a thread of its own. */
static void *spawn_and_look(void *arg)
{
    struct seen *w = arg;
    char *argv[] = {"sleep", "30", NULL};
    struct spawned s;
    char err[256];
    cpu_set_t before, own, child;
    sched_getaffinity(0, sizeof before, &before);
    if (!(w->spawned = spawn_process(argv, 0, &s, err, sizeof err) == 0))
        return NULL;
    policy_nice(s.pid, w);
    w->child_mask_kept = sched_getaffinity(s.pid, sizeof child, &child) == 0 &&
                         CPU_EQUAL(&child, &before);
    w->own_mask_kept = sched_getaffinity(0, sizeof own, &own) == 0 && CPU_EQUAL(&own, &before);
    kill(s.pid, SIGKILL);
    spawn_wait(s.pid);
    close(s.console_fd);
    close(s.stderr_fd);
    return NULL;
}

static void check_normal(const struct seen *w)
{
    assert_true(w->spawned);
    assert_int_equal(w->policy, SCHED_OTHER);
    assert_int_equal(w->nice, 0);
    assert_true(w->child_mask_kept);
    assert_true(w->own_mask_kept);
}

static void nice_back_to_zero(void **state)
{
    (void)state;
    if (setpriority(PRIO_PROCESS, 0, -10) < 0)
        skip(); /* not permitted here */
    struct seen w;
    spawn_and_look(&w);
    assert_int_equal(getpriority(PRIO_PROCESS, 0), -10); /* ours stays raised */
    check_normal(&w);
    setpriority(PRIO_PROCESS, 0, 0);
}

static void fifo_caller_normal_guest(void **state)
{
    (void)state;
    pthread_attr_t a;
    struct sched_param sp = {.sched_priority = 10};
    pthread_attr_init(&a);
    pthread_attr_setinheritsched(&a, PTHREAD_EXPLICIT_SCHED);
    pthread_attr_setschedpolicy(&a, SCHED_FIFO);
    pthread_attr_setschedparam(&a, &sp);
    pthread_t t;
    struct seen w;
    int rc = pthread_create(&t, &a, spawn_and_look, &w);
    pthread_attr_destroy(&a);
    if (rc != 0)
        skip(); /* SCHED_FIFO not permitted here */
    pthread_join(t, NULL);
    check_normal(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nice_back_to_zero),
        cmocka_unit_test(fifo_caller_normal_guest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
