/* The collector's loop: drain a batch of messages from the ROUTER, store the due
 * launcher events with one Redis pipeline, ack per host what Redis confirmed, then
 * serve CLI commands; reconnect to Redis with backoff when it fails. Not for the key
 * layout (apply.c, control.c) nor for the sequence rules (registry.c). */
#include "coll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "apply.h"
#include "bredis.h"
#include "bzmq.h"
#include "cmd.h"
#include "control.h"
#include "log.h"
#include "registry.h"

#define BATCH_MAX 1000
#define PING_NS (2 * NS_PER_S) /* clock probes to each live launcher */
#define COLL_CLOCK_BOUND_NS                                                                        \
    (5 * NS_PER_MS) /* |offset| + error beyond this flags a run */ /* messages taken off the       \
                                                                      socket per pipeline */
#define LUA_MAX (1 << 20)
#define REDIS_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define BAD_LOG_BURST 10 /* bad messages logged per window; the rest are only counted */
#define BAD_LOG_WINDOW_NS (10 * NS_PER_S)

struct item {
    struct ev e;
    unsigned char route[REG_ROUTE_MAX];
    size_t route_len;
    struct host *h; /* launcher events only */
    int ncmds;      /* replies due from Redis; 0 when nothing was sent */
};

struct counts {
    int64_t stored, dups, gaps, bad;
};

struct coll {
    const struct coll_opts *o;
    void *sock;
    redisContext *redis; /* NULL while disconnected */
    char *lua;
    size_t lua_len;
    struct registry reg;
    struct item *items;    /* BATCH_MAX */
    struct host **touched; /* hosts with messages in the current batch */
    size_t ntouched;
    mono_ns started, next_connect, next_liveness, next_stats, last_tick, next_ping;
    int64_t stored_at_tick;
    double peak_rate; /* highest events/s stored over one liveness tick (~1 s) */
    int backoff_ms, connect_failures, ready_written;
    int64_t bad_unsaved; /* bad messages not yet added to bs:collector in Redis */
    struct counts tot, at_stats;
    mono_ns bad_window;
    int bad_logged;
    int64_t bad_quiet;
};

/* ---- small helpers ---- */

static void route_str(const unsigned char *r, size_t len, char *out, size_t cap)
{
    int printable = len > 0;
    for (size_t i = 0; i < len; i++)
        printable &= r[i] >= 0x21 && r[i] < 0x7f;
    if (printable) {
        snprintf(out, cap, "'%.*s'", (int)(len > 64 ? 64 : len), (const char *)r);
        return;
    }
    size_t n = (size_t)snprintf(out, cap, "0x");
    for (size_t i = 0; i < len && i < 16 && n + 3 < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%02x", r[i]);
}

/* Opens a new window of the bad-message log limit once the last one is over. */
static void bad_log_window(struct coll *c, mono_ns now)
{
    if (mono_diff(c->bad_window, now) < BAD_LOG_WINDOW_NS)
        return;
    if (c->bad_quiet)
        log_warn("%lld more bad messages were not logged", (long long)c->bad_quiet);
    c->bad_window = now;
    c->bad_logged = 0;
    c->bad_quiet = 0;
}

static void bad(struct coll *c, const unsigned char *route, size_t route_len, const char *why)
{
    c->tot.bad++;
    c->bad_unsaved++;
    bad_log_window(c, clock_mono());
    if (c->bad_logged++ < BAD_LOG_BURST) {
        char peer[80];
        route_str(route, route_len, peer, sizeof peer);
        log_warn("bad message from peer %s dropped: %s", peer, why);
    } else {
        c->bad_quiet++;
    }
}

static int load_lua(struct coll *c)
{
    FILE *f = fopen(c->o->lua_path, "rb");
    if (!f) {
        log_err("%s: %s", c->o->lua_path, strerror(errno));
        return -1;
    }
    c->lua = malloc(LUA_MAX);
    c->lua_len = c->lua ? fread(c->lua, 1, LUA_MAX, f) : 0;
    int err = ferror(f) || c->lua_len == 0 || c->lua_len == LUA_MAX;
    fclose(f);
    if (err)
        log_err("%s: unreadable, empty or larger than %d bytes", c->o->lua_path, LUA_MAX);
    return err ? -1 : 0;
}

static void write_ready(struct coll *c)
{
    c->ready_written = 1;
    if (!c->o->ready_file)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", c->o->ready_file);
    FILE *f = fopen(tmp, "w");
    int ok = f && fputs("ok\n", f) >= 0;
    ok = f && !fclose(f) && ok && !rename(tmp, c->o->ready_file);
    if (!ok)
        log_err("ready file %s: %s", c->o->ready_file, strerror(errno));
}

/* ---- Redis connection ---- */

static void redis_drop(struct coll *c, const char *why)
{
    log_warn("redis: %s; reconnecting", why);
    redisFree(c->redis);
    c->redis = NULL;
    c->next_connect = mono_add(clock_mono(), (int64_t)c->backoff_ms * NS_PER_MS);
}

/* Hosts in bs:hosts this collector has not heard from are marked missing: a
 * launcher that died while no collector ran must not look "up" forever. */
static void mark_unheard_missing(struct coll *c)
{
    redisReply *r = redisCommand(c->redis, "SMEMBERS bs:hosts");
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *m = r->element[i];
        if (m->type == REDIS_REPLY_STRING && !reg_find(&c->reg, m->str)) {
            redisReply *x = redisCommand(c->redis, "HSET bs:host:%s state missing", m->str);
            if (x)
                freeReplyObject(x);
        }
    }
    if (r)
        freeReplyObject(r);
}

static void redis_connect(struct coll *c, mono_ns now)
{
    char err[512];
    redisReply *rep = NULL;
    redisContext *r = bredis_connect(c->o->redis_url, REDIS_TIMEOUT_MS, err, sizeof err);
    if (!r)
        goto fail;
    rep = redisCommand(r, "FUNCTION LOAD REPLACE %b", c->lua, c->lua_len);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, sizeof err, "redis %s: FUNCTION LOAD %s: %s", c->o->redis_url, c->o->lua_path,
                 rep ? rep->str : r->errstr);
        goto fail;
    }
    freeReplyObject(rep);
    log_info("redis %s: connected, function library loaded from %s", c->o->redis_url,
             c->o->lua_path);
    c->redis = r;
    c->backoff_ms = BACKOFF_MIN_MS;
    c->connect_failures = 0;
    if (!c->ready_written) {
        mark_unheard_missing(c);
        write_ready(c);
    }
    return;
fail:
    if (rep)
        freeReplyObject(rep);
    if (r)
        redisFree(r);
    if (c->connect_failures++ % 20 == 0)
        log_warn("%s (retrying every %d ms at most)", err, BACKOFF_MAX_MS);
    c->next_connect = mono_add(now, (int64_t)c->backoff_ms * NS_PER_MS);
    c->backoff_ms = c->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : c->backoff_ms * 2;
}

/* Adds the bad messages counted since the last success to bs:collector. */
static void flush_bad(struct coll *c)
{
    if (!c->redis || !c->bad_unsaved)
        return;
    redisReply *r =
        redisCommand(c->redis, "HINCRBY bs:collector bad_messages %lld", (long long)c->bad_unsaved);
    if (r && r->type == REDIS_REPLY_INTEGER)
        c->bad_unsaved = 0;
    if (r)
        freeReplyObject(r);
    else
        redis_drop(c, c->redis->errstr);
}

/* ---- receiving ---- */

/* Checks what the codec cannot: ids that become parts of Redis keys. */
static const char *insane(const struct ev *e)
{
    if (!e->host[0] || strchr(e->host, ':'))
        return "host id empty or holding ':'";
    if (e->type != EV_HELLO && e->type != EV_HEARTBEAT && e->type != EV_PONG &&
        (!e->run[0] || strpbrk(e->run, "{}")))
        return "run id empty or holding '{' or '}'";
    return NULL;
}

/* A launcher whose major version differs from ours speaks another protocol
 * generation: refused with the reason in a reply (it logs it and stops), never stored.
 * Returns 1 when refused. */
static int refuse_version(struct coll *c, const struct item *it)
{
    if (atoi(it->e.version) == atoi(BS_VERSION))
        return 0;
    struct ev r;
    ev_init(&r, EV_REPLY);
    r.ok = 0;
    snprintf(
        r.error, sizeof r.error,
        "launcher %s version %s refused: this collector is version %s (major versions must match)",
        it->e.host, it->e.version, BS_VERSION);
    log_err("%s", r.error);
    c->tot.bad++;
    bzmq_send_ev(c->sock, it->route, it->route_len, &r);
    return 1;
}

/* Takes one message off the socket without waiting. Returns 1 with a usable message
 * in it, 0 when none is waiting, 2 when it was bad (counted, logged, dropped). */
static int recv_one(struct coll *c, struct item *it)
{
    char err[256] = "";
    int frames = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, c->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (!frames)
                return 0;
            break; /* cannot happen: ZeroMQ delivers messages whole */
        }
        size_t len = zmq_msg_size(&m);
        if (++frames == 1) {
            it->route_len = len < sizeof it->route ? len : sizeof it->route;
            memcpy(it->route, zmq_msg_data(&m), it->route_len);
        } else if (frames == 2) {
            ev_decode(zmq_msg_data(&m), len, &it->e, err, sizeof err);
        }
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    const char *why = NULL;
    if (frames != 2)
        snprintf(err, sizeof err, "%d payload frames, expected 1", frames - 1);
    else if (!err[0] && !ev_is_launcher_event(it->e.type) && it->e.type != EV_START &&
             it->e.type != EV_ABORT && it->e.type != EV_PONG)
        snprintf(err, sizeof err, "a peer may not send '%s'", ev_type_name(it->e.type));
    else if (!err[0] && (ev_is_launcher_event(it->e.type) || it->e.type == EV_PONG) &&
             (why = insane(&it->e)))
        snprintf(err, sizeof err, "%s: %s", ev_type_name(it->e.type), why);
    if (err[0]) {
        bad(c, it->route, it->route_len, err);
        return 2;
    }
    if (it->e.type == EV_HELLO && refuse_version(c, it))
        return 2;
    return 1;
}

/* ---- one batch ---- */

/* Resumes h's sequence from the ack stored in bs:host:HOST (acked). Returns 0 (known
 * now, or never stored: the first seq seen starts it), -1 when Redis failed. */
static int load_acked(struct coll *c, struct host *h)
{
    redisReply *r = redisCommand(c->redis, "HGET bs:host:%s acked", h->id);
    if (!r || r->type == REDIS_REPLY_ERROR) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    if (r->type == REDIS_REPLY_STRING) {
        h->seq_known = 1;
        h->acked = atoll(r->str);
        h->next = h->acked + 1;
    }
    freeReplyObject(r);
    return 0;
}

/* Sends the due launcher events of items[0..n) down the pipeline. */
static int queue_batch(struct coll *c, int n, mono_ns now)
{
    int64_t now_tr = clock_real().ns;
    int broken = 0;
    c->ntouched = 0;
    /* Before any command is appended (a synchronous one would read their replies): hosts
     * first heard since our start resume from their ack as stored, never from "whatever
     * seq comes first" (that could ack events a killed collector never stored). */
    for (int i = 0; i < n && c->redis; i++)
        if (ev_is_launcher_event(c->items[i].e.type)) {
            struct host *h = reg_get(&c->reg, c->items[i].e.host);
            if (h && !h->seq_known && load_acked(c, h) < 0)
                broken = 1;
        }
    for (int i = 0; i < n; i++) {
        struct item *it = &c->items[i];
        it->h = NULL;
        it->ncmds = 0;
        if (!ev_is_launcher_event(it->e.type))
            continue;
        struct host *h = reg_get(&c->reg, it->e.host);
        if (!h) {
            log_err("out of memory for host %s", it->e.host);
            continue;
        }
        it->h = h;
        if (!h->touched) {
            h->touched = 1;
            c->touched[c->ntouched++] = h;
        }
        if (h->missing)
            log_info("launcher %s is back", h->id);
        h->missing = h->gone = 0;
        reg_heard(h, it->route, it->route_len, now);
        if (!c->redis || broken) {
            reg_forget_gap(h);
            continue; /* neither stored nor acked: the launcher resends it */
        }
        switch (reg_accept(h, it->e.type, it->e.seq, now)) {
        case REG_DUP:
            c->tot.dups++;
            h->ack_due = 1;
            break;
        case REG_GAP:
            c->tot.gaps++;
            h->ack_due = 1;
            log_debug("%s seq %lld after a gap (next due %lld): dropped", h->id,
                      (long long)it->e.seq, (long long)h->next);
            break;
        case REG_APPLY:
            it->ncmds = apply_append(c->redis, &it->e, now_tr);
            if (it->ncmds < 0) {
                log_err("%s seq %lld: could not build its Redis command", h->id,
                        (long long)it->e.seq);
                it->ncmds = 0;
                broken = 1;
            }
            break;
        }
    }
    return broken;
}

/* One clock sample request (NTP-style; the pong comes back over the same socket). */
static void send_ping(struct coll *c, const struct host *h)
{
    struct ev p;
    ev_init(&p, EV_PING);
    p.t1 = clock_real().ns;
    bzmq_send_ev(c->sock, h->route, h->route_len, &p);
}

/* Reads every reply due; advances each host's ack over its events Redis stored, in
 * order, up to its first failure. Returns 1 when the connection must be renewed. */
static int read_batch(struct coll *c, int n)
{
    int broken = 0, dead = 0;
    for (int i = 0; i < n && !dead; i++) {
        struct item *it = &c->items[i];
        int ok = 1, lua_dup = 0;
        for (int j = 0; j < it->ncmds; j++) {
            redisReply *r = NULL;
            if (redisGetReply(c->redis, (void **)&r) != REDIS_OK) {
                dead = broken = 1;
                ok = 0;
                break;
            }
            if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "GAP ", 4)) {
                /* its predecessor failed earlier: not stored, not acked, resent later */
                log_warn("redis deferred %s seq %lld of %s: %s", ev_type_name(it->e.type),
                         (long long)it->e.seq, it->e.host, r->str);
                ok = 0;
            } else if (r->type == REDIS_REPLY_ERROR) {
                log_err("redis refused %s seq %lld of %s: %s", ev_type_name(it->e.type),
                        (long long)it->e.seq, it->e.host, r->str);
                ok = 0;
                broken = 1;
            } else if (it->e.type != EV_HELLO && it->e.type != EV_HEARTBEAT) {
                lua_dup = apply_fcall_result(r) == 0;
            }
            freeReplyObject(r);
        }
        struct host *h = it->h;
        if (!it->ncmds)
            continue;
        if (!ok || h->failed) {
            h->failed = 1; /* nothing after it may be acked in this batch */
            continue;
        }
        reg_stored(h, it->e.seq);
        h->ack_due = 1;
        if (lua_dup) {
            c->tot.dups++;
            continue;
        }
        c->tot.stored++;
        if (it->e.type == EV_HELLO) {
            send_ping(c, h); /* a first clock offset before its first run, not 2 s later */
            log_info("launcher %s: hello (%lld cores, %lld MiB, kvm %lld, backends %s, version %s)",
                     h->id, (long long)it->e.cores, (long long)(it->e.mem_total_kib / 1024),
                     (long long)it->e.kvm, it->e.backends, it->e.version);
        }
    }
    return broken;
}

/* Stores every due ack before it is sent: a restarted collector resumes from it. */
static int persist_acks(struct coll *c)
{
    int n = 0, ok = 1;
    for (size_t i = 0; i < c->ntouched; i++) {
        struct host *h = c->touched[i];
        if (h->ack_due && h->acked > 0) {
            redisAppendCommand(c->redis, "HSET bs:host:%s acked %lld", h->id, (long long)h->acked);
            n++;
        }
    }
    for (int i = 0; i < n; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c->redis, (void **)&r) != REDIS_OK)
            return -1;
        ok &= r->type != REDIS_REPLY_ERROR;
        freeReplyObject(r);
    }
    return ok ? 0 : -1;
}

static void send_acks(struct coll *c)
{
    int persisted = c->redis && persist_acks(c) == 0;
    for (size_t i = 0; i < c->ntouched; i++) {
        struct host *h = c->touched[i];
        if (h->ack_due && persisted) {
            struct ev a;
            ev_init(&a, EV_ACK);
            snprintf(a.host, sizeof a.host, "%s", h->id);
            a.ack = h->acked;
            a.tm = clock_mono();
            a.tr = clock_real();
            if (bzmq_send_ev(c->sock, h->route, h->route_len, &a) < 0)
                log_debug("ack %lld to %s not queued", (long long)h->acked, h->id);
        }
        reg_rewind(h); /* nothing is in flight now: what was not stored is due again */
        h->touched = h->ack_due = h->failed = 0;
    }
}

/* A pong: one more clock sample of its host; the best estimate goes to bs:host:HOST. */
static void on_pong(struct coll *c, const struct ev *e, int64_t t4)
{
    struct host *h = reg_find(&c->reg, e->host);
    int64_t off, err;
    if (!h || reg_clock_sample(h, e->t1, e->t2, e->t3, t4, &off, &err) < 0 || !c->redis)
        return;
    redisReply *r = redisCommand(c->redis, "HSET bs:host:%s offset_ns %lld offset_err_ns %lld",
                                 h->id, (long long)off, (long long)err);
    if (r)
        freeReplyObject(r);
}

/* At a run_start: the host's clock offset goes into the run's meta, and the run is
 * flagged when it is not known within COLL_CLOCK_BOUND_NS (cross-host timelines would
 * then be off by more than that). */
static void note_clock(struct coll *c, const struct ev *e)
{
    struct host *h = reg_find(&c->reg, e->host);
    if (!h || !c->redis)
        return;
    int64_t off = 0, err = -1;
    reg_clock_best(h, &off, &err);
    int64_t worst = (off < 0 ? -off : off) + err;
    char flag[160] = "";
    if (err < 0)
        snprintf(flag, sizeof flag, "%s: clock offset unknown", h->id);
    else if (worst > COLL_CLOCK_BOUND_NS)
        snprintf(flag, sizeof flag, "%s: clock offset %.3f ms +- %.3f ms beyond %.1f ms", h->id,
                 (double)off / 1e6, (double)err / 1e6, (double)COLL_CLOCK_BOUND_NS / 1e6);
    redisReply *r =
        redisCommand(c->redis, "HSET bs:{%s}:meta clock_offset_ns:%s %lld clock_err_ns:%s %lld",
                     e->run, h->id, (long long)off, h->id, (long long)err);
    if (r)
        freeReplyObject(r);
    if (flag[0] && (r = redisCommand(c->redis, "HSET bs:{%s}:meta clock_flag %s", e->run, flag)))
        freeReplyObject(r);
}

static void run_batch(struct coll *c, int n)
{
    mono_ns now = clock_mono();
    int64_t t4 = clock_real().ns;
    int broken = queue_batch(c, n, now);
    if (c->redis)
        broken |= read_batch(c, n);
    send_acks(c);
    for (int i = 0; i < n; i++) {
        struct item *it = &c->items[i];
        if (it->e.type == EV_PONG && !broken)
            on_pong(c, &it->e, t4);
        if (it->e.type == EV_RUN_START && it->ncmds && !broken)
            note_clock(c, &it->e);
        if ((it->e.type == EV_RUN_START || it->e.type == EV_RUN_END) && it->ncmds && !broken)
            control_on_event(c->redis, &c->reg, &it->e);
        if (it->e.type == EV_START || it->e.type == EV_ABORT)
            control_handle(c->sock, broken ? NULL : c->redis, &c->reg, now, c->o->start_lead_ns,
                           it->route, it->route_len, &it->e);
    }
    if (c->redis && (broken || c->redis->err))
        redis_drop(c, c->redis->err ? c->redis->errstr : "a command failed");
}

/* ---- periodic work ---- */

static void check_liveness(struct coll *c, mono_ns now)
{
    for (size_t i = 0; i < c->reg.n; i++) {
        struct host *h = c->reg.hosts[i];
        if (h->route_len && !h->gone && mono_diff(h->last_heard, now) >= REG_GONE_NS) {
            h->gone = 1;
            log_warn("launcher %s: silent for %lld s, marked gone", h->id,
                     (long long)(REG_GONE_NS / NS_PER_S));
            redisReply *r =
                c->redis ? redisCommand(c->redis, "HSET bs:host:%s state gone", h->id) : NULL;
            if (r)
                freeReplyObject(r);
        }
        if (reg_is_live(h, now) && now.ns >= c->next_ping.ns)
            send_ping(c, h);
        if (h->missing || !h->route_len || reg_is_live(h, now))
            continue;
        h->missing = 1;
        log_warn("launcher %s: not heard from for %lld s, marked missing", h->id,
                 (long long)(REG_LIVE_NS / NS_PER_S));
        if (!c->redis)
            continue;
        redisReply *r = redisCommand(c->redis, "HSET bs:host:%s state missing", h->id);
        if (r)
            freeReplyObject(r);
        else
            redis_drop(c, c->redis->errstr);
    }
    if (now.ns >= c->next_ping.ns)
        c->next_ping = mono_add(now, PING_NS);
}

static void log_stats(struct coll *c, mono_ns now, int final)
{
    int live = 0;
    for (size_t i = 0; i < c->reg.n; i++)
        live += reg_is_live(c->reg.hosts[i], now);
    if (!final) {
        double dt = (double)c->o->stats_interval_s;
        log_info("stats: %.0f events/s, stored %lld, duplicates %lld, out of order %lld, bad "
                 "messages %lld, launchers %d live of %zu, redis %s",
                 (double)(c->tot.stored - c->at_stats.stored) / dt, (long long)c->tot.stored,
                 (long long)c->tot.dups, (long long)c->tot.gaps, (long long)c->tot.bad, live,
                 c->reg.n, c->redis ? "up" : "down");
        c->at_stats = c->tot;
        return;
    }
    double up = (double)mono_diff(c->started, now) / 1e9;
    log_info("exit: stored %lld events in %.1f s (%.0f events/s, peak %.0f events/s), "
             "duplicates %lld, out of order %lld, bad messages %lld, launchers %zu",
             (long long)c->tot.stored, up, up > 0 ? (double)c->tot.stored / up : 0.0, c->peak_rate,
             (long long)c->tot.dups, (long long)c->tot.gaps, (long long)c->tot.bad, c->reg.n);
}

static void periodic(struct coll *c, mono_ns now)
{
    if (now.ns >= c->next_liveness.ns) {
        double dt = (double)mono_diff(c->last_tick, now) / 1e9;
        double rate = (double)(c->tot.stored - c->stored_at_tick) / dt;
        if (c->last_tick.ns && rate > c->peak_rate)
            c->peak_rate = rate;
        c->last_tick = now;
        c->stored_at_tick = c->tot.stored;
        check_liveness(c, now);
        if (c->redis)
            control_tick(c->redis, &c->reg, now);
        flush_bad(c);
        bad_log_window(c, now);
        c->next_liveness = mono_add(now, NS_PER_S);
    }
    if (c->o->stats_interval_s > 0 && now.ns >= c->next_stats.ns) {
        if (c->next_stats.ns)
            log_stats(c, now, 0);
        c->next_stats = mono_add(now, c->o->stats_interval_s * NS_PER_S);
    }
}

/* ---- the loop ---- */

int coll_run(const struct coll_opts *o, volatile sig_atomic_t *stop)
{
    struct coll c = {.o = o, .backoff_ms = BACKOFF_MIN_MS};
    char err[256];
    int rc = -1;
    c.started = clock_mono();
    c.items = calloc(BATCH_MAX, sizeof *c.items);
    c.touched = calloc(BATCH_MAX, sizeof *c.touched);
    if (!c.items || !c.touched) {
        log_err("out of memory");
        goto out;
    }
    if (load_lua(&c) < 0)
        goto out;
    c.sock = bzmq_socket_curve(ZMQ_ROUTER, o->bind, 1, NULL, o->curve, err, sizeof err);
    if (!c.sock) {
        log_err("%s", err);
        goto out;
    }
    log_info("listening on %s%s", o->bind, o->curve ? " (CURVE)" : "");
    while (!*stop) {
        mono_ns now = clock_mono();
        if (!c.redis && now.ns >= c.next_connect.ns)
            redis_connect(&c, now);
        zmq_pollitem_t pi = {c.sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&pi, 1, 100) > 0) {
            int n = 0, r;
            for (int got = 0; got < BATCH_MAX && (r = recv_one(&c, &c.items[n])); got++)
                n += r == 1;
            run_batch(&c, n);
            if (c.bad_unsaved)
                flush_bad(&c);
        }
        periodic(&c, clock_mono());
    }
    flush_bad(&c);
    log_stats(&c, clock_mono(), 1);
    rc = 0;
out:
    if (c.sock)
        zmq_close(c.sock);
    bzmq_term();
    if (c.redis)
        redisFree(c.redis);
    reg_free(&c.reg);
    free(c.lua);
    free(c.items);
    free(c.touched);
    return rc;
}
