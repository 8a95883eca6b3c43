/* The spawner thread (spawner.h): a mutex and a condition variable (on CLOCK_MONOTONIC)
 * guard two singly linked lists, jobs to run and jobs done; an eventfd tells the loop
 * that done is not empty (not for each job when a publish hook is set). The thread waits on the
 * condition variable until the head's due time, so a push or a cancel is seen at once. */
#include "spawner.h"

#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

struct spawner {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    int efd, stop, pending;
    int rt_prio, rt; /* asked for, and got, SCHED_FIFO */
    int64_t cpu_ms;  /* the thread's CPU time after its latest job */
    sem_t started;
    struct spawner_job *todo, **todo_tail, *done, **done_tail;
    void (*run)(struct spawner_job *job, void *ctx);
    int (*publish)(struct spawner_job *job, void *ctx); /* spawner_set_publish */
    void *ctx;
    int signalled; /* efd written since the loop last emptied done */
};

static void append(struct spawner_job ***tail, struct spawner_job *job)
{
    job->next = NULL;
    **tail = job;
    *tail = &job->next;
}

/* Under s->mu: the loop's eventfd made readable. */
static void signal_loop(struct spawner *s)
{
    if (s->signalled)
        return;
    uint64_t one = 1;
    ssize_t w = write(s->efd, &one, sizeof one);
    (void)w; /* EAGAIN: the counter is already non-zero */
    s->signalled = 1;
}

/* Under s->mu: job joins done and the loop hears of it. */
static void finish(struct spawner *s, struct spawner_job *job)
{
    append(&s->done_tail, job);
    signal_loop(s);
}

/* Under s->mu: job, just run, joins done. The loop is told at once unless the publish
 * hook says the loop will learn of it anyway; then it is told once the thread has no
 * job due within SPAWNER_QUIET_NS (the queue's end, a pause), so a job whose guest
 * stays silent is not left there long. */
static void finish_run(struct spawner *s, struct spawner_job *job)
{
    if (!s->publish || s->publish(job, s->ctx)) {
        finish(s, job);
        return;
    }
    append(&s->done_tail, job);
    if (!s->todo || mono_diff(clock_mono(), s->todo->due) > SPAWNER_QUIET_NS)
        signal_loop(s);
}

/* Under s->mu: the head of todo once it is due (popped), or NULL when stopping. */
static struct spawner_job *wait_due(struct spawner *s)
{
    while (!s->stop) {
        if (!s->todo) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        mono_ns due = s->todo->due;
        if (mono_diff(due, clock_mono()) >= 0) {
            struct spawner_job *job = s->todo;
            if (!(s->todo = job->next))
                s->todo_tail = &s->todo;
            return job;
        }
        struct timespec ts = {.tv_sec = due.ns / NS_PER_S, .tv_nsec = due.ns % NS_PER_S};
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    return NULL;
}

static void *worker(void *arg)
{
    struct spawner *s = arg;
    pthread_setname_np(pthread_self(), "bs-spawner"); /* ps, top and perf tell threads apart */
    if (s->rt_prio > 0) {
        struct sched_param p = {.sched_priority = s->rt_prio};
        s->rt = pthread_setschedparam(pthread_self(), SCHED_FIFO, &p) == 0;
    }
    sem_post(&s->started);
    pthread_mutex_lock(&s->mu);
    struct spawner_job *job;
    while ((job = wait_due(s))) {
        pthread_mutex_unlock(&s->mu);
        s->run(job, s->ctx);
        struct rusage ru;
        getrusage(RUSAGE_THREAD, &ru);
        pthread_mutex_lock(&s->mu);
        s->cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
                    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
        finish_run(s, job);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct spawner *spawner_new(void (*run)(struct spawner_job *job, void *ctx), void *ctx, int rt_prio)
{
    struct spawner *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->rt_prio = rt_prio;
    sem_init(&s->started, 0, 0);
    s->run = run;
    s->ctx = ctx;
    s->todo_tail = &s->todo;
    s->done_tail = &s->done;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* due times are clock_mono() */
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, worker, s) != 0) { /* inherits our nice -10 */
        close(s->efd);
        goto fail;
    }
    while (sem_wait(&s->started) < 0) /* spawner_rt() is known from here on */
        ;
    return s;
fail:
    sem_destroy(&s->started);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
    return NULL;
}

void spawner_free(struct spawner *s, void (*drop)(struct spawner_job *job))
{
    if (!s)
        return;
    spawner_cancel(s);
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    for (struct spawner_job *job = s->done, *next; job; job = next) {
        next = job->next;
        if (drop)
            drop(job);
    }
    close(s->efd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    sem_destroy(&s->started);
    free(s);
}

void spawner_set_publish(struct spawner *s, int (*publish)(struct spawner_job *job, void *ctx))
{
    pthread_mutex_lock(&s->mu);
    s->publish = publish;
    pthread_mutex_unlock(&s->mu);
}

int spawner_rt(const struct spawner *s)
{
    return s->rt;
}

int spawner_fd(const struct spawner *s)
{
    return s->efd;
}

void spawner_push(struct spawner *s, struct spawner_job *job, mono_ns due)
{
    job->due = due;
    job->cancelled = 0;
    pthread_mutex_lock(&s->mu);
    int head = !s->todo;
    append(&s->todo_tail, job);
    s->pending++;
    /* behind another job, it changes nothing the thread waits for (due times do not
     * decrease): woken for each push of a batch, the thread took two context switches
     * per job (the wake, then the mutex) */
    if (head)
        pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

struct spawner_job *spawner_take(struct spawner *s)
{
    pthread_mutex_lock(&s->mu);
    struct spawner_job *job = s->done;
    if (job) {
        if (!(s->done = job->next))
            s->done_tail = &s->done;
        s->pending--;
    } else if (s->signalled) {
        uint64_t n;
        ssize_t r = read(s->efd, &n, sizeof n); /* empty: the fd stops being readable */
        (void)r;
        s->signalled = 0;
    }
    pthread_mutex_unlock(&s->mu);
    return job;
}

int spawner_cancel(struct spawner *s)
{
    int n = 0;
    pthread_mutex_lock(&s->mu);
    while (s->todo) {
        struct spawner_job *job = s->todo;
        s->todo = job->next;
        job->cancelled = 1;
        finish(s, job);
        n++;
    }
    s->todo_tail = &s->todo;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return n;
}

int64_t spawner_cpu_ms(const struct spawner *s)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&s->mu;
    pthread_mutex_lock(mu);
    int64_t ms = s->cpu_ms;
    pthread_mutex_unlock(mu);
    return ms;
}

int spawner_pending(const struct spawner *s)
{
    pthread_mutex_t *mu = (pthread_mutex_t *)&s->mu;
    pthread_mutex_lock(mu);
    int n = s->pending;
    pthread_mutex_unlock(mu);
    return n;
}
