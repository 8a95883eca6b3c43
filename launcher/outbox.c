/* Unacknowledged events kept encoded in a growable ring, resent in order. */
#include "outbox.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"

struct pending {
    int64_t seq;
    uint16_t len;
    char *data;
};

struct outbox {
    void *sock;
    char host[BS_ID_MAX];
    int64_t next_seq;
    struct pending *ring;
    size_t cap, head, count, max;
    mono_ns last_progress;
    int64_t dropped;
};

struct outbox *outbox_new(void *sock, const char *host, size_t max_unacked)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob)
        return NULL;
    ob->sock = sock;
    snprintf(ob->host, sizeof ob->host, "%s", host);
    ob->next_seq = 1;
    ob->max = max_unacked;
    ob->last_progress = clock_mono();
    return ob;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    for (size_t i = 0; i < ob->count; i++)
        free(ob->ring[(ob->head + i) % ob->cap].data);
    free(ob->ring);
    free(ob);
}

static int grow(struct outbox *ob)
{
    size_t ncap = ob->cap ? ob->cap * 2 : 1024;
    struct pending *n = malloc(ncap * sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < ob->count; i++)
        n[i] = ob->ring[(ob->head + i) % ob->cap];
    free(ob->ring);
    ob->ring = n;
    ob->cap = ncap;
    ob->head = 0;
    return 0;
}

static void send_raw(struct outbox *ob, const struct pending *p)
{
    /* A full pipe (collector away) is fine: the event stays pending and is resent. */
    zmq_send(ob->sock, p->data, p->len, ZMQ_DONTWAIT);
}

int64_t outbox_push(struct outbox *ob, struct ev *e)
{
    snprintf(e->host, sizeof e->host, "%s", ob->host);
    e->seq = ob->next_seq++;
    if (e->tm.ns == 0) {
        e->tm = clock_mono();
        e->tr = clock_real();
    }
    char buf[EV_MAX_BYTES];
    int n = ev_encode(e, buf, sizeof buf);
    if (n < 0) {
        log_err("cannot encode %s event seq %lld", ev_type_name(e->type), (long long)e->seq);
        return e->seq;
    }
    if (ob->count == ob->max) {
        /* Bounded memory wins over completeness; say so loudly. */
        free(ob->ring[ob->head].data);
        ob->head = (ob->head + 1) % ob->cap;
        ob->count--;
        if (ob->dropped++ % 1000 == 0)
            log_err("outbox full (%zu unacknowledged): dropping oldest events", ob->max);
    }
    if (ob->count == ob->cap && grow(ob) < 0) {
        log_err("out of memory queueing event seq %lld", (long long)e->seq);
        return e->seq;
    }
    struct pending *p = &ob->ring[(ob->head + ob->count) % ob->cap];
    p->seq = e->seq;
    p->len = (uint16_t)n;
    p->data = malloc((size_t)n);
    if (!p->data) {
        log_err("out of memory queueing event seq %lld", (long long)e->seq);
        return e->seq;
    }
    memcpy(p->data, buf, (size_t)n);
    ob->count++;
    if (ob->count == 1)
        ob->last_progress = clock_mono();
    send_raw(ob, p);
    return e->seq;
}

void outbox_ack(struct outbox *ob, int64_t ack)
{
    int progressed = 0;
    while (ob->count && ob->ring[ob->head].seq <= ack) {
        free(ob->ring[ob->head].data);
        ob->head = (ob->head + 1) % ob->cap;
        ob->count--;
        progressed = 1;
    }
    if (progressed)
        ob->last_progress = clock_mono();
}

void outbox_tick(struct outbox *ob, int resend_ms)
{
    mono_ns now = clock_mono();
    if (!ob->count || mono_diff(ob->last_progress, now) < (int64_t)resend_ms * NS_PER_MS)
        return;
    log_info("no ack for %d ms: resending %zu events from seq %lld", resend_ms, ob->count,
             (long long)ob->ring[ob->head].seq);
    for (size_t i = 0; i < ob->count; i++)
        send_raw(ob, &ob->ring[(ob->head + i) % ob->cap]);
    ob->last_progress = now;
}

size_t outbox_pending(const struct outbox *ob) { return ob->count; }
int64_t outbox_last_seq(const struct outbox *ob) { return ob->next_seq - 1; }
