/* Starting guests off the launcher's loop: one thread that takes jobs in order, sleeps
 * until each one's due time and runs it there (a vfork + exec, which blocks its caller
 * until the child has exec'd). The loop hands jobs over ahead of their due time and
 * gets them back through an eventfd, so neither its console reads nor a slow spawn of
 * the previous guest decide when the next spawn call starts. Generic: what a job does
 * is the caller's (run_spawn.c); tested alone (tests/unit/test_spawner.c). */
#ifndef BS_SPAWNER_H
#define BS_SPAWNER_H

#include <stdint.h>

#include "clock.h"

/* Embedded first in the caller's job; the spawner owns it from push until taken back. */
struct spawner_job {
    struct spawner_job *next;
    mono_ns due;
    int cancelled; /* set when taken back by spawner_cancel: it never ran */
};

struct spawner;

/* Starts the thread; run(job, ctx) runs there, at or after job->due. rt_prio > 0: the
 * thread asks for SCHED_FIFO at that priority (spawner_rt says if it got it; if not,
 * it keeps the caller's nice value). NULL on failure. */
struct spawner *spawner_new(void (*run)(struct spawner_job *job, void *ctx), void *ctx,
                            int rt_prio);

/* How long a job the publish hook kept quiet may wait in done before the loop is told:
 * the thread tells it when its next job is not due within this. */
#define SPAWNER_QUIET_NS (20 * NS_PER_MS)

/* publish(job, ctx) runs in the thread, under the lock spawner_take takes, as a job it
 * ran joins the done list: what it makes visible to the loop (fds added to the loop's
 * epoll set) cannot be seen before the job can be taken back. It returns 1 when the
 * loop must be woken for this job (the eventfd), 0 when the loop will learn of it
 * anyway (an event on those fds; it then calls spawner_take) - each eventfd wake-up
 * is a context switch of the loop. Not called for cancelled jobs (always told). */
void spawner_set_publish(struct spawner *s, int (*publish)(struct spawner_job *job, void *ctx));

/* 1 if the thread runs at SCHED_FIFO. */
int spawner_rt(const struct spawner *s);

/* Waits for the job running (if any), joins the thread, and hands every job not taken
 * back (queued or done) to drop (the caller's to free; NULL: left alone). */
void spawner_free(struct spawner *s, void (*drop)(struct spawner_job *job));

/* Readable while a job waits to be taken back (with a publish hook: once the loop is
 * to be told, see spawner_set_publish). */
int spawner_fd(const struct spawner *s);

/* Queues job (due times must not decrease from one push to the next). */
void spawner_push(struct spawner *s, struct spawner_job *job, mono_ns due);

/* The oldest job run or cancelled, or NULL. */
struct spawner_job *spawner_take(struct spawner *s);

/* Every queued job that has not started is marked cancelled and made ready to take;
 * returns how many. */
int spawner_cancel(struct spawner *s);

/* The thread's CPU time (user + system) as of its latest job, in ms. */
int64_t spawner_cpu_ms(const struct spawner *s);

/* Jobs pushed and not taken back yet (queued, running, or done). */
int spawner_pending(const struct spawner *s);

#endif
