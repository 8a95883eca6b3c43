/* Unacknowledged events kept encoded in a growable ring, resent in order, and
 * mirrored into the spool file when there is one (every push and ack is written
 * through; the file is rewritten with only the live events once it is mostly dead). */
#include "outbox.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "log.h"
#include "spool.h"

#define COMPACT_MIN_BYTES (16u << 20) /* spool size before a rewrite is considered */

struct pending {
    int64_t seq;
    uint32_t len;
    char *data;
};

struct outbox {
    void *sock;
    char host[BS_ID_MAX];
    int64_t next_seq;
    struct pending *ring;
    size_t cap, head, count, max;
    uint64_t live_bytes;
    mono_ns last_progress;
    int64_t dropped, forgot; /* forgot: highest seq acked or dropped */
    struct spool *spool;
    int spool_failed; /* logged once */
};

static struct pending *at(const struct outbox *ob, size_t i)
{
    return &ob->ring[(ob->head + i) % ob->cap];
}

static void pop(struct outbox *ob)
{
    struct pending *p = at(ob, 0);
    ob->live_bytes -= p->len;
    free(p->data);
    ob->head = (ob->head + 1) % ob->cap;
    ob->count--;
}

static void spool_err(struct outbox *ob, const char *what)
{
    if (!ob->spool_failed++)
        log_err("spool: %s: %s (events stay in memory; a restart would lose them)", what,
                strerror(errno));
}

/* Keeps a copy of data as the newest pending event; -1 on ENOMEM. */
static int keep(struct outbox *ob, int64_t seq, const void *data, size_t len)
{
    if (ob->count == ob->cap) {
        size_t ncap = ob->cap ? ob->cap * 2 : 1024;
        struct pending *n = malloc(ncap * sizeof *n);
        if (!n)
            return -1;
        for (size_t i = 0; i < ob->count; i++)
            n[i] = *at(ob, i);
        free(ob->ring);
        ob->ring = n;
        ob->cap = ncap;
        ob->head = 0;
    }
    struct pending *p = &ob->ring[(ob->head + ob->count) % ob->cap];
    if (!(p->data = malloc(len ? len : 1)))
        return -1;
    memcpy(p->data, data, len);
    p->seq = seq;
    p->len = (uint32_t)len;
    ob->count++;
    ob->live_bytes += len;
    return 0;
}

/* Drops the oldest events while over a bound; bounded memory and disk win over
 * completeness, loudly. */
static void enforce_bounds(struct outbox *ob, size_t incoming)
{
    int64_t last = 0;
    while (ob->count &&
           (ob->count + (incoming > 0) > ob->max || ob->live_bytes + incoming > OUTBOX_MAX_BYTES)) {
        last = at(ob, 0)->seq;
        pop(ob);
        if (ob->dropped++ % 1000 == 0)
            log_err("outbox full (%zu events, %llu bytes unacknowledged): dropping the oldest",
                    ob->max, (unsigned long long)ob->live_bytes);
    }
    if (last) {
        ob->forgot = last;
        if (ob->spool && spool_append(ob->spool, last, NULL, 0) < 0)
            spool_err(ob, "write");
    }
}

static void on_load(void *arg, int64_t seq, const void *data, size_t len)
{
    struct outbox *ob = arg;
    if (seq >= ob->next_seq)
        ob->next_seq = seq + 1;
    if (!data) {
        while (ob->count && at(ob, 0)->seq <= seq)
            pop(ob);
        if (seq > ob->forgot)
            ob->forgot = seq;
    } else if (seq > ob->forgot && (!ob->count || seq > at(ob, ob->count - 1)->seq) &&
               keep(ob, seq, data, len) < 0) {
        log_err("spool: out of memory loading seq %lld", (long long)seq);
    }
}

static void send_raw(struct outbox *ob, const struct pending *p)
{
    /* A full pipe (collector away) is fine: the event stays pending and is resent. */
    zmq_send(ob->sock, p->data, p->len, ZMQ_DONTWAIT);
}

struct outbox *outbox_open(void *sock, const char *host, const char *spool_dir, size_t max_unacked,
                           char *err, size_t errlen)
{
    struct outbox *ob = calloc(1, sizeof *ob);
    if (!ob) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ob->sock = sock;
    snprintf(ob->host, sizeof ob->host, "%s", host);
    ob->next_seq = 1;
    ob->max = max_unacked ? max_unacked : 1;
    ob->last_progress = clock_mono();
    if (spool_dir) {
        if (!(ob->spool = spool_open(spool_dir, host, on_load, ob, err, errlen))) {
            outbox_free(ob);
            return NULL;
        }
        enforce_bounds(ob, 0);
        if (ob->count)
            log_info("spool %s: %zu unacknowledged events reloaded (seq %lld..%lld), resending",
                     spool_dir, ob->count, (long long)at(ob, 0)->seq,
                     (long long)at(ob, ob->count - 1)->seq);
        if (ob->next_seq > 1)
            log_info("spool %s: seq continues at %lld", spool_dir, (long long)ob->next_seq);
        for (size_t i = 0; i < ob->count; i++)
            send_raw(ob, at(ob, i));
    }
    return ob;
}

void outbox_free(struct outbox *ob)
{
    if (!ob)
        return;
    while (ob->count)
        pop(ob);
    free(ob->ring);
    spool_close(ob->spool);
    free(ob);
}

int64_t outbox_push(struct outbox *ob, struct ev *e)
{
    snprintf(e->host, sizeof e->host, "%s", ob->host);
    e->seq = ob->next_seq++;
    if (e->tm.ns == 0) {
        e->tm = clock_mono();
        e->tr = clock_real();
    }
    static char buf[EV_MAX_BYTES];
    int n = ev_encode(e, buf, sizeof buf);
    if (n < 0) {
        /* never sent: the collector would wait for this seq; a forget mark and the
         * collector's gap give-up (docs/PROTOCOL.md) carry on past it */
        log_err("cannot encode %s event seq %lld", ev_type_name(e->type), (long long)e->seq);
        return e->seq;
    }
    enforce_bounds(ob, (size_t)n);
    if (ob->spool && spool_append(ob->spool, e->seq, buf, (size_t)n) < 0)
        spool_err(ob, "write");
    if (keep(ob, e->seq, buf, (size_t)n) < 0) {
        log_err("out of memory queueing event seq %lld", (long long)e->seq);
        return e->seq;
    }
    if (ob->count == 1)
        ob->last_progress = clock_mono();
    send_raw(ob, at(ob, ob->count - 1));
    return e->seq;
}

/* Rewrites the spool with only the live events once it is mostly dead weight. */
static void maybe_compact(struct outbox *ob)
{
    uint64_t sz = spool_bytes(ob->spool);
    if (sz < COMPACT_MIN_BYTES || sz < 2 * ob->live_bytes + COMPACT_MIN_BYTES / 2)
        return;
    int rc = spool_rewrite_begin(ob->spool, ob->count ? at(ob, 0)->seq - 1 : ob->next_seq - 1);
    for (size_t i = 0; i < ob->count && rc == 0; i++)
        rc = spool_rewrite_add(ob->spool, at(ob, i)->seq, at(ob, i)->data, at(ob, i)->len);
    if (rc < 0 || spool_rewrite_commit(ob->spool) < 0)
        spool_err(ob, "compaction");
    else
        log_debug("spool compacted from %llu to %llu bytes", (unsigned long long)sz,
                  (unsigned long long)spool_bytes(ob->spool));
}

void outbox_ack(struct outbox *ob, int64_t ack)
{
    int progressed = 0;
    while (ob->count && at(ob, 0)->seq <= ack) {
        pop(ob);
        progressed = 1;
    }
    if (!progressed)
        return;
    ob->last_progress = clock_mono();
    if (ack > ob->forgot)
        ob->forgot = ack < ob->next_seq ? ack : ob->next_seq - 1;
    if (ob->spool) {
        if (spool_append(ob->spool, ob->forgot, NULL, 0) < 0)
            spool_err(ob, "write");
        maybe_compact(ob);
    }
}

void outbox_tick(struct outbox *ob, int resend_ms)
{
    mono_ns now = clock_mono();
    if (!ob->count || mono_diff(ob->last_progress, now) < (int64_t)resend_ms * NS_PER_MS)
        return;
    log_info("no ack for %d ms: resending %zu events from seq %lld", resend_ms, ob->count,
             (long long)at(ob, 0)->seq);
    for (size_t i = 0; i < ob->count; i++)
        send_raw(ob, at(ob, i));
    ob->last_progress = now;
}

size_t outbox_pending(const struct outbox *ob)
{
    return ob->count;
}
int64_t outbox_last_seq(const struct outbox *ob)
{
    return ob->next_seq - 1;
}
