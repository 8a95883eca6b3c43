/* spawner (launcher/spawner.c): jobs run in order, each at or after its due time, in
 * the spawner's thread; a cancel gives back what has not started, untouched; free hands
 * back what was never taken; the eventfd is readable exactly while a job waits (with a
 * publish hook: only for the jobs the loop would not learn of otherwise). spawner.c is compiled in
 * here (tests/CMakeLists.txt builds unit tests against bscommon only). */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <cmocka.h>

#include "../../launcher/spawner.h"

struct job {
    struct spawner_job base;
    int n;
    mono_ns ran_at;
    pthread_t ran_in;
};

static void run_job(struct spawner_job *b, void *ctx)
{
    struct job *j = (struct job *)b;
    j->ran_at = clock_mono();
    j->ran_in = pthread_self();
    (*(int *)ctx)++;
}

/* The next job back, waiting on the eventfd (up to 5 s). */
static struct job *take_wait(struct spawner *s)
{
    struct spawner_job *b;
    while (!(b = spawner_take(s))) {
        struct pollfd p = {.fd = spawner_fd(s), .events = POLLIN};
        assert_int_equal(poll(&p, 1, 5000), 1);
    }
    return (struct job *)b;
}

static void in_order_on_time(void **state)
{
    (void)state;
    int runs = 0;
    struct spawner *s = spawner_new(run_job, &runs, 0);
    assert_non_null(s);
    struct job jobs[6];
    mono_ns t0 = clock_mono();
    for (int i = 0; i < 6; i++) {
        jobs[i] = (struct job){.n = i};
        spawner_push(s, &jobs[i].base, mono_add(t0, (i / 2) * 20 * NS_PER_MS)); /* 2 per due */
    }
    assert_int_equal(spawner_pending(s), 6);
    for (int i = 0; i < 6; i++) {
        struct job *j = take_wait(s);
        assert_int_equal(j->n, i);
        assert_int_equal(j->base.cancelled, 0);
        assert_true(mono_diff(j->base.due, j->ran_at) >= 0); /* never before its due time */
        assert_false(pthread_equal(j->ran_in, pthread_self()));
    }
    assert_int_equal(runs, 6);
    assert_int_equal(spawner_pending(s), 0);
    assert_null(spawner_take(s));
    struct pollfd p = {.fd = spawner_fd(s), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0); /* nothing waits: not readable */
    spawner_free(s, NULL);
}

static void cancel_gives_back_untouched(void **state)
{
    (void)state;
    int runs = 0;
    struct spawner *s = spawner_new(run_job, &runs, 0);
    assert_non_null(s);
    struct job jobs[3];
    mono_ns later = mono_add(clock_mono(), 60 * NS_PER_S);
    for (int i = 0; i < 3; i++) {
        jobs[i] = (struct job){.n = i};
        spawner_push(s, &jobs[i].base, later);
    }
    assert_int_equal(spawner_cancel(s), 3);
    for (int i = 0; i < 3; i++) {
        struct job *j = take_wait(s);
        assert_int_equal(j->n, i);
        assert_int_equal(j->base.cancelled, 1);
        assert_int_equal(j->ran_at.ns, 0);
    }
    assert_int_equal(runs, 0);
    assert_int_equal(spawner_cancel(s), 0);
    spawner_free(s, NULL);
}

static int dropped;
static void drop(struct spawner_job *b)
{
    dropped += ((struct job *)b)->base.cancelled ? 100 : 1;
}

static void free_hands_back(void **state)
{
    (void)state;
    int runs = 0;
    struct spawner *s = spawner_new(run_job, &runs, 0);
    assert_non_null(s);
    struct job now = {.n = 0}, later = {.n = 1};
    spawner_push(s, &now.base, clock_mono());
    struct pollfd p = {.fd = spawner_fd(s), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1); /* ran, not taken back */
    spawner_push(s, &later.base, mono_add(clock_mono(), 60 * NS_PER_S));
    dropped = 0;
    spawner_free(s, drop);
    assert_int_equal(dropped, 101); /* the run one and the cancelled one */
    assert_int_equal(runs, 1);
}

/* Asked for SCHED_FIFO: it says whether it got it (root here usually does). */
static void rt_reported(void **state)
{
    (void)state;
    int runs = 0;
    struct spawner *s = spawner_new(run_job, &runs, 10);
    assert_non_null(s);
    struct job j = {.n = 0};
    spawner_push(s, &j.base, clock_mono());
    take_wait(s);
    int policy;
    struct sched_param sp;
    assert_int_equal(pthread_getschedparam(j.ran_in, &policy, &sp), 0);
    assert_int_equal(policy == SCHED_FIFO, spawner_rt(s));
    spawner_free(s, NULL);
}

/* ---- the thread sleeps through pushes behind its next job ---- */

static long first_job_wakeups = -1;

/* the thread's voluntary context switches so far, taken by the first job */
static void run_counting(struct spawner_job *b, void *ctx)
{
    run_job(b, ctx);
    struct rusage ru;
    if (((struct job *)b)->n == 0 && getrusage(RUSAGE_THREAD, &ru) == 0)
        first_job_wakeups = ru.ru_nvcsw;
}

/* A batch pushed behind a job that is not due yet does not wake the thread once per
 * push (the loop hands a second of jobs over at once): by its first job it has slept
 * a few times, not once per job pushed meanwhile. */
static void push_behind_does_not_wake(void **state)
{
    (void)state;
    enum { N = 50 };
    int runs = 0;
    struct spawner *s = spawner_new(run_counting, &runs, 10); /* FIFO when allowed: wakes at once */
    assert_non_null(s);
    static struct job jobs[N];
    mono_ns due = mono_add(clock_mono(), 300 * NS_PER_MS);
    for (int i = 0; i < N; i++) {
        jobs[i] = (struct job){.n = i};
        spawner_push(s, &jobs[i].base, due);
        if (i == 0) /* the thread now sleeps until due; give it a moment to get there */
            sched_yield();
    }
    for (int i = 0; i < N; i++)
        assert_int_equal(take_wait(s)->n, i);
    assert_true(first_job_wakeups >= 0);
    assert_true(first_job_wakeups < 10);
    spawner_free(s, NULL);
}

/* ---- a publish hook that keeps the loop asleep ---- */

static sem_t pushed, published, started, go;

static void sem_wait5(sem_t *s)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 5;
    assert_int_equal(sem_timedwait(s, &t), 0);
}

/* job 0 waits until the test has pushed every job (else, on a loaded machine, it could
 * finish before job 1 is there, and the queue's end is told); job 1 holds the thread
 * until the test says go */
static void run_gated(struct spawner_job *b, void *ctx)
{
    if (((struct job *)b)->n == 0)
        sem_wait5(&pushed);
    run_job(b, ctx);
    if (((struct job *)b)->n == 1) {
        sem_post(&started);
        sem_wait5(&go);
    }
}

/* the loop learns of every job by itself (its fds), except job 2 */
static int publish_quiet(struct spawner_job *b, void *ctx)
{
    (void)ctx;
    sem_post(&published);
    return ((struct job *)b)->n == 2;
}

static int readable(const struct spawner *s)
{
    struct pollfd p = {.fd = spawner_fd(s), .events = POLLIN};
    return poll(&p, 1, 0);
}

/* A job the hook keeps quiet makes no eventfd wake-up while the next job is due at
 * once, yet it can be taken as soon as the hook has run; a job the hook wants told,
 * and the last job of the queue, are told. */
static void publish_hook_keeps_loop_asleep(void **state)
{
    (void)state;
    int runs = 0;
    sem_init(&pushed, 0, 0);
    sem_init(&published, 0, 0);
    sem_init(&started, 0, 0);
    sem_init(&go, 0, 0);
    struct spawner *s = spawner_new(run_gated, &runs, 0);
    assert_non_null(s);
    spawner_set_publish(s, publish_quiet);
    struct job jobs[4];
    mono_ns t0 = clock_mono();
    for (int i = 0; i < 3; i++) {
        jobs[i] = (struct job){.n = i};
        spawner_push(s, &jobs[i].base, t0);
    }
    sem_post(&pushed);
    sem_wait5(&published); /* job 0 is done, job 1 runs: nothing told yet */
    sem_wait5(&started);
    assert_int_equal(readable(s), 0);
    struct job *j = (struct job *)spawner_take(s);
    assert_non_null(j);
    assert_int_equal(j->n, 0);
    sem_post(&go); /* job 1 quiet, job 2 told */
    assert_int_equal(take_wait(s)->n, 1);
    assert_int_equal(take_wait(s)->n, 2);
    assert_null(spawner_take(s)); /* as the loop drains: until none is left */
    assert_int_equal(readable(s), 0);
    jobs[3] = (struct job){.n = 3}; /* quiet, but the last: told */
    spawner_push(s, &jobs[3].base, clock_mono());
    assert_int_equal(take_wait(s)->n, 3);
    assert_null(spawner_take(s));
    assert_int_equal(readable(s), 0);
    assert_int_equal(runs, 4);
    spawner_free(s, NULL);
    sem_destroy(&pushed);
    sem_destroy(&published);
    sem_destroy(&started);
    sem_destroy(&go);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_on_time),
        cmocka_unit_test(cancel_gives_back_untouched),
        cmocka_unit_test(free_hands_back),
        cmocka_unit_test(rt_reported),
        cmocka_unit_test(push_behind_does_not_wake),
        cmocka_unit_test(publish_hook_keeps_loop_asleep),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
