/* The workers that finish `start: template` clones over QMP (restore.h): for each
 * queued socket, qmp_capabilities, migrate-set-capabilities x-ignore-shared, then
 * migrate-incoming; then the worker watches the clone's QMP for RESUME (incoming
 * migration done, QEMU running) while it goes on with the next clones, and hands the
 * times to the launcher's loop. RESTORE_WORKERS of them, because each waits for its
 * clone's QEMU to start answering: one alone made the last of 256 clones wait 12 s.
 * Not for QMP's wire (qmp.c) nor for the template (snapshot.c). */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "qmp.h"
#include "restore.h"

#define RESTORE_TIMEOUT_MS 30000 /* a clone's QEMU starting under a loaded host */
#define RESTORE_SOCK_MAX 256
#define RESTORE_WATCH_MAX 1024 /* clones watched for RESUME at once; more are not timed */
#define RESTORE_WATCH_S 60     /* a clone not resumed by then is not watched any more */
#define RESTORE_WORKERS 4      /* clones being restored at once */

struct job {
    struct job *next;
    int idx;
    char sock[RESTORE_SOCK_MAX];
};

struct watch { /* a restored clone whose RESUME has not arrived yet */
    struct qmp *q;
    int idx;
    mono_ns until;
};

struct resumed {
    struct resumed *next;
    int idx;
    mono_ns at;
};

struct restorer;

struct worker {
    pthread_t thread;
    struct restorer *rs;
    int started;
    int nwatch;
    struct watch watch[RESTORE_WATCH_MAX]; /* its own clones, waiting for RESUME */
};

struct restorer {
    pthread_mutex_t mu;
    int wake[2]; /* a byte per push wakes one worker; the write end closed stops them all */
    struct job *head, *tail;
    struct resumed *done, *done_tail; /* for restorer_take, oldest first */
    int stop;
    struct worker w[RESTORE_WORKERS];
    char incoming[512];
};

/* One clone: both commands, or the reason in the log. Returns the open client (watched
 * for RESUME) or NULL. */
static struct qmp *finish_clone(const struct restorer *rs, const char *sock)
{
    char err[256];
    struct qmp *q = qmp_open(sock, RESTORE_TIMEOUT_MS, err, sizeof err);
    json_t *caps =
        json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared", "state", 1);
    if (!q ||
        qmp_call(q, "migrate-set-capabilities", caps, NULL, RESTORE_TIMEOUT_MS, err, sizeof err) <
            0 ||
        qmp_call(q, "migrate-incoming", json_pack("{s:s}", "uri", rs->incoming), NULL,
                 RESTORE_TIMEOUT_MS, err, sizeof err) < 0) {
        log_warn("clone %s not restored: %s", sock, err);
        if (!q)
            json_decref(caps);
        qmp_close(q);
        return NULL;
    }
    return q;
}

/* When QEMU stamped event ev, on our monotonic clock (its stamp is realtime, taken when
 * it happened, so the worker's own delay does not count); now when it has none. */
static mono_ns event_mono(json_t *ev)
{
    json_t *ts = json_object_get(ev, "timestamp");
    json_int_t s = json_integer_value(json_object_get(ts, "seconds"));
    json_int_t us = json_integer_value(json_object_get(ts, "microseconds"));
    mono_ns now = clock_mono();
    if (s <= 0)
        return now;
    mono_ns at = clock_mono_of((real_ns){(int64_t)s * NS_PER_S + (int64_t)us * 1000});
    return mono_diff(now, at) > 0 ? now : at; /* never after now */
}

static void add_resumed(struct restorer *rs, int idx, mono_ns at)
{
    struct resumed *d = calloc(1, sizeof *d);
    if (!d)
        return;
    d->idx = idx;
    d->at = at;
    pthread_mutex_lock(&rs->mu);
    if (rs->done_tail)
        rs->done_tail->next = d;
    else
        rs->done = d;
    rs->done_tail = d;
    pthread_mutex_unlock(&rs->mu);
}

/* Reads what watched clone i of wk has; 1 when it is settled (resumed, gone, too late). */
static int watch_read(struct worker *wk, int i)
{
    struct restorer *rs = wk->rs;
    struct watch *w = &wk->watch[i];
    char err[256];
    json_t *ev;
    int rc;
    while ((rc = qmp_event(w->q, 0, &ev, err, sizeof err)) == 1) {
        int resumed = !strcmp(json_string_value(json_object_get(ev, "event")) ?: "", "RESUME");
        if (resumed)
            add_resumed(rs, w->idx, event_mono(ev));
        json_decref(ev);
        if (resumed)
            return 1;
    }
    return rc < 0 || mono_diff(clock_mono(), w->until) <= 0;
}

/* Waits up to timeout_ms (-1: while nothing is watched, for ever; else at most 1 s) for
 * a wake byte or a watched clone's socket; settles what the clones said. One byte is
 * read per wake: each push wakes one worker, not one for all. */
static void wait_watch(struct worker *wk, int timeout_ms)
{
    struct pollfd p[RESTORE_WATCH_MAX + 1];
    p[0] = (struct pollfd){.fd = wk->rs->wake[0], .events = POLLIN};
    for (int i = 0; i < wk->nwatch; i++)
        p[i + 1] = (struct pollfd){.fd = qmp_fd(wk->watch[i].q), .events = POLLIN};
    if (timeout_ms < 0 && wk->nwatch)
        timeout_ms = 1000;
    if (poll(p, (nfds_t)wk->nwatch + 1, timeout_ms) < 0)
        return;
    char b;
    if ((p[0].revents & POLLIN) && read(wk->rs->wake[0], &b, 1) < 0)
        log_debug("restorer: wake pipe: read failed");
    for (int i = wk->nwatch - 1; i >= 0; i--)
        if ((p[i + 1].revents || mono_diff(clock_mono(), wk->watch[i].until) <= 0) &&
            watch_read(wk, i)) {
            qmp_close(wk->watch[i].q);
            wk->watch[i] = wk->watch[--wk->nwatch];
        }
}

/* The next job, NULL when stopping; watches clones while the queue is empty. */
static struct job *take(struct worker *wk)
{
    struct restorer *rs = wk->rs;
    for (;;) {
        pthread_mutex_lock(&rs->mu);
        struct job *j = rs->stop ? NULL : rs->head;
        if (j && !(rs->head = j->next))
            rs->tail = NULL;
        int stop = rs->stop;
        pthread_mutex_unlock(&rs->mu);
        if (j || stop)
            return j;
        wait_watch(wk, -1);
    }
}

static void *work(void *arg)
{
    struct worker *wk = arg;
    struct job *j;
    while ((j = take(wk))) {
        struct qmp *q = finish_clone(wk->rs, j->sock);
        if (q && wk->nwatch < RESTORE_WATCH_MAX)
            wk->watch[wk->nwatch++] =
                (struct watch){q, j->idx, mono_add(clock_mono(), RESTORE_WATCH_S * NS_PER_S)};
        else
            qmp_close(q);
        free(j);
        wait_watch(wk, 0); /* what has come so far reaches the loop while clones queue up */
    }
    return NULL;
}

struct restorer *restorer_start(const char *incoming)
{
    struct restorer *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    snprintf(rs->incoming, sizeof rs->incoming, "%s", incoming);
    if (pipe2(rs->wake, O_CLOEXEC | O_NONBLOCK) < 0)
        goto fail;
    pthread_mutex_init(&rs->mu, NULL);
    for (int i = 0; i < RESTORE_WORKERS; i++) {
        rs->w[i].rs = rs;
        rs->w[i].started = pthread_create(&rs->w[i].thread, NULL, work, &rs->w[i]) == 0;
    }
    if (!rs->w[0].started) { /* no thread at all; fewer than asked still restore */
        pthread_mutex_destroy(&rs->mu);
        close(rs->wake[0]);
        close(rs->wake[1]);
        goto fail;
    }
    return rs;
fail:
    free(rs);
    return NULL;
}

/* One byte wakes the worker; a full pipe has woken it already. */
static void wake(struct restorer *rs)
{
    if (write(rs->wake[1], "w", 1) < 0)
        return;
}

void restorer_push(struct restorer *rs, const char *sock, int idx)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        log_warn("clone %s not restored: out of memory", sock);
        return;
    }
    snprintf(j->sock, sizeof j->sock, "%s", sock);
    j->idx = idx;
    pthread_mutex_lock(&rs->mu);
    if (rs->tail)
        rs->tail->next = j;
    else
        rs->head = j;
    rs->tail = j;
    pthread_mutex_unlock(&rs->mu);
    wake(rs);
}

int restorer_take(struct restorer *rs, int *idx, mono_ns *at)
{
    if (!rs)
        return 0;
    pthread_mutex_lock(&rs->mu);
    struct resumed *d = rs->done;
    if (d && !(rs->done = d->next))
        rs->done_tail = NULL;
    pthread_mutex_unlock(&rs->mu);
    if (!d)
        return 0;
    *idx = d->idx;
    *at = d->at;
    free(d);
    return 1;
}

void restorer_free(struct restorer *rs)
{
    if (!rs)
        return;
    pthread_mutex_lock(&rs->mu);
    rs->stop = 1;
    pthread_mutex_unlock(&rs->mu);
    close(rs->wake[1]); /* every worker's poll sees the end of the pipe */
    for (int i = 0; i < RESTORE_WORKERS; i++)
        if (rs->w[i].started)
            pthread_join(rs->w[i].thread, NULL);
    for (struct job *j = rs->head, *n; j; j = n) {
        n = j->next;
        free(j);
    }
    for (struct resumed *d = rs->done, *n; d; d = n) {
        n = d->next;
        free(d);
    }
    for (int k = 0; k < RESTORE_WORKERS; k++)
        for (int i = 0; i < rs->w[k].nwatch; i++)
            qmp_close(rs->w[k].watch[i].q);
    close(rs->wake[0]);
    pthread_mutex_destroy(&rs->mu);
    free(rs);
}
