/* spawner (launcher/spawner.c): jobs run in order, each at or after its due time, in
 * the spawner's thread; a cancel gives back what has not started, untouched; free hands
 * back what was never taken; the eventfd is readable exactly while a job waits.
 * spawner.c is compiled in here (tests/CMakeLists.txt builds unit tests against
 * bscommon only). */
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(in_order_on_time),
        cmocka_unit_test(cancel_gives_back_untouched),
        cmocka_unit_test(free_hands_back),
        cmocka_unit_test(rt_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
