/* Unacknowledged events kept encoded in a growable ring, resent in order, and
 * mirrored into the spool file when there is one (every push and ack is written
 * through; the file is rewritten with only the live events once it is mostly dead).
 * An event the ring had to drop (bound) or could not encode is replaced in place by a
 * `lost` event for its seq range, so the sequence the collector sees has no hole. */
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
    /* a lost marker: stands for seq from..seq, nlost of them run events of run */
    int lost;
    int64_t from, nlost;
    char run[BS_ID_MAX];
};

struct outbox {
    void *sock;
    char host[BS_ID_MAX];
    int64_t next_seq;
    struct pending *ring;
    size_t cap, head, count, max;
    size_t markers; /* lost markers among count (they do not count against max) */
    uint64_t live_bytes;
    mono_ns last_progress;
    int64_t dropped, forgot; /* forgot: highest seq acked or dropped */
    uint64_t sends;          /* zmq_send calls (outbox_sends) */
    struct spool *spool;
    int spool_failed;               /* logged once */
    int64_t delay_ns, max_delay_ns; /* outbox_set_delay; delay_ns < 0: sent at push */
    size_t unsent;                  /* the newest events kept and not sent yet */
    mono_ns unsent_since;
};

static struct pending *at(const struct outbox *ob, size_t i)
{
    return &ob->ring[(ob->head + i) % ob->cap];
}

static void release(struct outbox *ob, struct pending *p)
{
    ob->live_bytes -= p->len;
    ob->markers -= p->lost != 0;
    free(p->data);
    p->data = NULL;
}

static void pop(struct outbox *ob)
{
    release(ob, at(ob, 0));
    ob->head = (ob->head + 1) % ob->cap;
    if (ob->unsent > --ob->count) /* an ack beyond what was sent: nothing left to send */
        ob->unsent = ob->count;
}

static int grow(struct outbox *ob)
{
    if (ob->count < ob->cap)
        return 0;
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
    return 0;
}

/* Replaces the entries [i, j) (j >= i; i == j inserts before i) with *p, moving the
 * entries before i (few: the lost markers at the front), never the tail. */
static int ring_replace(struct outbox *ob, size_t i, size_t j, const struct pending *p)
{
    if (i == j && grow(ob) < 0)
        return -1;
    for (size_t k = i; k < j; k++)
        release(ob, at(ob, k));
    if (i == j && i == ob->count) {
        ob->count++;
    } else if (i == j) {
        ob->head = (ob->head + ob->cap - 1) % ob->cap;
        ob->count++;
        for (size_t k = 0; k < i; k++)
            *at(ob, k) = *at(ob, k + 1);
    } else {
        size_t d = j - 1 - i;
        for (size_t k = i; k-- > 0;)
            *at(ob, k + d) = *at(ob, k);
        ob->head = (ob->head + d) % ob->cap;
        ob->count -= d;
    }
    *at(ob, i) = *p;
    ob->live_bytes += p->len;
    ob->markers += p->lost != 0;
    return 0;
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
    if (grow(ob) < 0)
        return -1;
    struct pending *p = &ob->ring[(ob->head + ob->count) % ob->cap];
    memset(p, 0, sizeof *p);
    if (!(p->data = malloc(len ? len : 1)))
        return -1;
    memcpy(p->data, data, len);
    p->seq = seq;
    p->len = (uint32_t)len;
    ob->count++;
    ob->live_bytes += len;
    return 0;
}

/* Encodes the lost event of marker m (its fields set) into m->data. Returns 0 or -1. */
static int encode_marker(const struct outbox *ob, struct pending *m)
{
    struct ev e;
    char buf[1024];
    ev_init(&e, EV_LOST);
    snprintf(e.host, sizeof e.host, "%s", ob->host);
    snprintf(e.run, sizeof e.run, "%s", m->run);
    e.seq = m->seq;
    e.from = m->from;
    e.lost = m->nlost;
    e.tm = clock_mono();
    e.tr = clock_real();
    int n = ev_encode(&e, buf, sizeof buf);
    if (n < 0 || !(m->data = malloc((size_t)n)))
        return -1;
    memcpy(m->data, buf, (size_t)n);
    m->len = (uint32_t)n;
    return 0;
}

/* The run of an encoded event ("" for hello/heartbeat) and whether it is a run event. */
static int run_of(const struct pending *p, char *run)
{
    static struct ev e;
    char err[128];
    run[0] = '\0';
    if (ev_decode(p->data, p->len, &e, err, sizeof err) < 0)
        return 0;
    snprintf(run, BS_ID_MAX, "%s", e.run);
    return e.type != EV_HELLO && e.type != EV_HEARTBEAT && e.type != EV_LOST && e.run[0];
}

/* Puts marker m in place of the entries [i, j) and writes it to the spool. */
static void place_marker(struct outbox *ob, size_t i, size_t j, struct pending *m)
{
    if (encode_marker(ob, m) < 0 || ring_replace(ob, i, j, m) < 0) {
        free(m->data);
        log_err("out of memory recording lost events %lld..%lld", (long long)m->from,
                (long long)m->seq);
        return;
    }
    if (ob->spool && spool_append(ob->spool, m->seq, m->data, m->len) < 0)
        spool_err(ob, "write");
}

/* Drops the oldest real event (after the markers at the front): it joins the marker
 * just before it when the run fits, else becomes a marker of its own. */
static void drop_oldest(struct outbox *ob)
{
    size_t i = 0;
    while (i < ob->count && at(ob, i)->lost)
        i++;
    const struct pending *p = at(ob, i);
    char run[BS_ID_MAX];
    int is_run = run_of(p, run);
    struct pending m = {.lost = 1, .from = p->seq};
    size_t first = i;
    if (i > 0) {
        const struct pending *prev = at(ob, i - 1);
        if (!run[0] || !prev->run[0] || !strcmp(prev->run, run)) {
            m = *prev;
            first = i - 1;
        }
    }
    m.seq = p->seq;
    m.data = NULL;
    m.len = 0;
    if (!m.run[0])
        snprintf(m.run, sizeof m.run, "%s", run);
    m.nlost += is_run;
    place_marker(ob, first, i + 1, &m);
}

/* Drops the oldest events while over a bound; bounded memory and disk win over
 * completeness, loudly. */
static void enforce_bounds(struct outbox *ob, size_t incoming)
{
    size_t real;
    while ((real = ob->count - ob->markers) > 0 &&
           (real + (incoming > 0) > ob->max || ob->live_bytes + incoming > OUTBOX_MAX_BYTES)) {
        if (ob->dropped++ % 1000 == 0)
            log_err("outbox full (%zu events, %llu bytes unacknowledged): dropping the oldest, "
                    "sent as lost",
                    ob->max, (unsigned long long)ob->live_bytes);
        drop_oldest(ob);
        if (ob->count - ob->markers >= real)
            break; /* out of memory for the marker: logged */
    }
}

/* A lost marker read back from the spool takes the place of the entries it covers.
 * Returns 0 when data is no lost event. */
static int load_marker(struct outbox *ob, int64_t seq, const void *data, size_t len)
{
    static struct ev e;
    char err[128];
    if (!memmem(data, len, "\xa4lost", 5) || ev_decode(data, len, &e, err, sizeof err) < 0 ||
        e.type != EV_LOST)
        return 0;
    struct pending m = {
        .lost = 1, .seq = seq, .from = e.from, .nlost = e.lost, .len = (uint32_t)len};
    snprintf(m.run, sizeof m.run, "%s", e.run);
    size_t i = 0, j;
    while (i < ob->count && at(ob, i)->seq < e.from)
        i++;
    for (j = i; j < ob->count && at(ob, j)->seq <= seq;)
        j++;
    if (!(m.data = malloc(len)) || (memcpy(m.data, data, len), ring_replace(ob, i, j, &m) < 0)) {
        free(m.data);
        log_err("spool: out of memory loading lost seq %lld..%lld", (long long)e.from,
                (long long)seq);
    }
    return 1;
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
    } else if (seq > ob->forgot && !load_marker(ob, seq, data, len) &&
               (!ob->count || seq > at(ob, ob->count - 1)->seq) && keep(ob, seq, data, len) < 0) {
        log_err("spool: out of memory loading seq %lld", (long long)seq);
    }
}

static void send_raw(struct outbox *ob, const struct pending *p)
{
    /* A full pipe (collector away) is fine: the event stays pending and is resent. */
    zmq_send(ob->sock, p->data, p->len, ZMQ_DONTWAIT);
    ob->sends++;
}

/* The newest event was just kept: sent now, or left for outbox_flush. */
static void send_newest(struct outbox *ob)
{
    if (ob->delay_ns < 0) {
        send_raw(ob, at(ob, ob->count - 1));
        return;
    }
    if (!ob->unsent++)
        ob->unsent_since = clock_mono();
    if (ob->unsent > ob->count) /* the bound dropped some that waited: a marker stands in */
        ob->unsent = ob->count;
}

void outbox_set_delay(struct outbox *ob, int64_t min_ns, int64_t max_ns)
{
    ob->delay_ns = min_ns;
    ob->max_delay_ns = max_ns > min_ns ? max_ns : min_ns;
}

mono_ns outbox_flush(struct outbox *ob, mono_ns now, int force)
{
    if (ob->unsent > ob->count) /* the bound dropped some that waited */
        ob->unsent = ob->count;
    if (!ob->unsent)
        return (mono_ns){INT64_MAX};
    if (!force && mono_diff(ob->unsent_since, now) < ob->delay_ns)
        return mono_add(ob->unsent_since, ob->max_delay_ns);
    for (size_t i = ob->count - ob->unsent; i < ob->count; i++)
        send_raw(ob, at(ob, i));
    ob->unsent = 0;
    return (mono_ns){INT64_MAX};
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
    ob->delay_ns = -1;
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
        /* never sent as such: a lost event takes its seq, so the sequence goes on */
        log_err("cannot encode %s event seq %lld: sent as lost", ev_type_name(e->type),
                (long long)e->seq);
        struct pending m = {.lost = 1, .seq = e->seq, .from = e->seq};
        snprintf(m.run, sizeof m.run, "%s", e->run);
        m.nlost = e->run[0] && e->type != EV_HELLO && e->type != EV_HEARTBEAT;
        enforce_bounds(ob, 1);
        place_marker(ob, ob->count, ob->count, &m);
        if (ob->count && at(ob, ob->count - 1)->seq == e->seq)
            send_newest(ob);
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
    send_newest(ob);
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

int outbox_ack(struct outbox *ob, int64_t ack)
{
    /* The collector stored this host's events beyond any seq given here: an earlier
     * launcher's spool was lost or cut short (a full disk). Continue above, or every
     * later event would be taken for one already stored. */
    int beyond = ack >= ob->next_seq, progressed = 0;
    if (beyond) {
        log_warn("the collector has stored this host's events up to seq %lld, beyond this "
                 "launcher's %lld (its spool was lost or cut short): continuing at %lld",
                 (long long)ack, (long long)(ob->next_seq - 1), (long long)(ack + 1));
        ob->next_seq = ack + 1;
    }
    while (ob->count && at(ob, 0)->seq <= ack) {
        pop(ob);
        progressed = 1;
    }
    if (!progressed && !beyond)
        return 0;
    ob->last_progress = clock_mono();
    if (ack > ob->forgot)
        ob->forgot = ack < ob->next_seq ? ack : ob->next_seq - 1;
    if (ob->spool) { /* the forget mark also carries the sequence over a restart */
        if (spool_append(ob->spool, ob->forgot, NULL, 0) < 0)
            spool_err(ob, "write");
        maybe_compact(ob);
    }
    return beyond;
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
    ob->unsent = 0;
    ob->last_progress = now;
}

uint64_t outbox_sends(const struct outbox *ob)
{
    return ob->sends;
}

size_t outbox_pending(const struct outbox *ob)
{
    return ob->count;
}
int64_t outbox_last_seq(const struct outbox *ob)
{
    return ob->next_seq - 1;
}
