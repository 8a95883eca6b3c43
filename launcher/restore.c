/* The worker that finishes `start: template` clones over QMP (restore.h): for each
 * queued socket, qmp_capabilities, migrate-set-capabilities x-ignore-shared, then
 * migrate-incoming. Not for QMP's wire (qmp.c) nor for the template (snapshot.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "qmp.h"
#include "restore.h"

#define RESTORE_TIMEOUT_MS 30000 /* a clone's QEMU starting under a loaded host */
#define RESTORE_SOCK_MAX 256

struct job {
    struct job *next;
    char sock[RESTORE_SOCK_MAX];
};

struct restorer {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct job *head, *tail;
    int stop;
    char incoming[512];
};

/* One clone: both commands, or the reason in the log. */
static void finish_clone(const struct restorer *rs, const char *sock)
{
    char err[256];
    struct qmp *q = qmp_open(sock, RESTORE_TIMEOUT_MS, err, sizeof err);
    json_t *caps =
        json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared", "state", 1);
    if (!q ||
        qmp_call(q, "migrate-set-capabilities", caps, NULL, RESTORE_TIMEOUT_MS, err, sizeof err) <
            0 ||
        qmp_call(q, "migrate-incoming", json_pack("{s:s}", "uri", rs->incoming), NULL,
                 RESTORE_TIMEOUT_MS, err, sizeof err) < 0)
        log_warn("clone %s not restored: %s", sock, err);
    if (!q)
        json_decref(caps);
    qmp_close(q);
}

static struct job *take(struct restorer *rs)
{
    pthread_mutex_lock(&rs->mu);
    while (!rs->head && !rs->stop)
        pthread_cond_wait(&rs->cv, &rs->mu);
    struct job *j = rs->stop ? NULL : rs->head;
    if (j && !(rs->head = j->next))
        rs->tail = NULL;
    pthread_mutex_unlock(&rs->mu);
    return j;
}

static void *work(void *arg)
{
    struct restorer *rs = arg;
    struct job *j;
    while ((j = take(rs))) {
        finish_clone(rs, j->sock);
        free(j);
    }
    return NULL;
}

struct restorer *restorer_start(const char *incoming)
{
    struct restorer *rs = calloc(1, sizeof *rs);
    if (!rs)
        return NULL;
    snprintf(rs->incoming, sizeof rs->incoming, "%s", incoming);
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->cv, NULL);
    if (pthread_create(&rs->thread, NULL, work, rs) != 0) {
        pthread_mutex_destroy(&rs->mu);
        pthread_cond_destroy(&rs->cv);
        free(rs);
        return NULL;
    }
    return rs;
}

void restorer_push(struct restorer *rs, const char *sock)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        log_warn("clone %s not restored: out of memory", sock);
        return;
    }
    snprintf(j->sock, sizeof j->sock, "%s", sock);
    pthread_mutex_lock(&rs->mu);
    if (rs->tail)
        rs->tail->next = j;
    else
        rs->head = j;
    rs->tail = j;
    pthread_cond_signal(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}

void restorer_free(struct restorer *rs)
{
    if (!rs)
        return;
    pthread_mutex_lock(&rs->mu);
    rs->stop = 1;
    pthread_cond_signal(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    pthread_join(rs->thread, NULL);
    for (struct job *j = rs->head, *n; j; j = n) {
        n = j->next;
        free(j);
    }
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->cv);
    free(rs);
}
