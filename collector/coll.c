/* The collector's loop: drain a batch of messages from the ROUTER, validate each once,
 * hand each launcher's events as received to bs_apply (one FCALL per host and up to
 * APPLY_BATCH_MAX events, pipelined; the next batch is sent while Redis applies this
 * one), ack per host what the Function answered, then
 * dispatch what follows (clock notes, CLI commands) through a table of handlers;
 * reconnect to Redis with backoff when it fails. Not for the key layout (keys.h,
 * bootstorm.lua) nor for the sequence rules (bs_apply owns them). */
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
#include "keys.h"
#include "log.h"
#include "registry.h"
#include "retain.h"
#include "yamlcfg.h"
#include "zap.h"

#define BATCH_MAX 1024                      /* messages taken off the socket per pipeline */
#define PING_NS (2 * NS_PER_S)              /* clock probes to each live launcher */
#define COLL_CLOCK_BOUND_NS (5 * NS_PER_MS) /* |offset| + error beyond this flags a run */
#define LUA_MAX (1 << 20)
#define REDIS_TIMEOUT_MS 5000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define BAD_LOG_BURST 10 /* bad messages logged per window; the rest are only counted */
#define BAD_LOG_WINDOW_NS (10 * NS_PER_S)

struct item {
    struct ev e;   /* decoded, to validate and route it */
    zmq_msg_t msg; /* the payload as received: what bs_apply gets */
    unsigned char route[REG_ROUTE_MAX];
    size_t route_len;
    struct host *h; /* launcher events only */
    int call, pos;  /* its FCALL (index in calls) and place in it; call -1: not sent */
    int code;       /* enum apply_code: bs_apply's answer */
};

/* One batch of messages taken off the socket, from receipt to its acks. While Redis
 * applies one batch, the next is received, validated and sent behind it (two at most):
 * Redis never waits for the collector between batches. */
struct batch {
    struct item *items;       /* BATCH_MAX */
    struct apply_call *calls; /* BATCH_MAX: at most one per item */
    int n, ncalls;
    struct host **touched; /* hosts with messages in it (their acks) */
    size_t ntouched;
    int bit;         /* its bit in host.touched */
    mono_ns now;     /* its receipt */
    int64_t now_tr;  /* its realtime (also the pong receipt t4) */
    uint64_t conn;   /* the Redis connection its calls went down (coll.conn) */
    int broken;      /* Redis failed for it: nothing of it acked */
    int redis_alone; /* a handler of one of its messages calls Redis itself */
};

struct counts {
    int64_t stored, dups, gaps, bad, no_run;
};

struct coll {
    const struct coll_opts *o;
    void *sock;
    struct zap *zap;     /* admission of connections (zap.c) */
    redisContext *redis; /* NULL while disconnected */
    char *lua;
    size_t lua_len;
    struct registry reg;
    struct batch b[2];
    struct batch *inflight; /* sent, answers not read yet; NULL: the pipeline is empty */
    int cur;                /* the b[] to receive into next */
    uint64_t conn;          /* counts connections: a batch of an older one is lost */
    mono_ns now;            /* of the batch being dispatched */
    int64_t t4;             /* its realtime (pong receipt) */
    int broken;             /* Redis failed for it */
    mono_ns started, next_connect, next_liveness, next_stats, last_tick, next_ping;
    mono_ns last_step; /* when the loop last turned (step): a long gap is our own stall */
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
    redisReply *r = redisCommand(c->redis, "SMEMBERS " KEY_HOSTS);
    for (size_t i = 0; r && r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
        const redisReply *m = r->element[i];
        char key[KEY_MAX];
        if (m->type == REDIS_REPLY_STRING && !reg_find(&c->reg, m->str) &&
            keys_host(key, sizeof key, m->str) >= 0) {
            redisReply *x = redisCommand(c->redis, "HSET %s state missing", key);
            if (x)
                freeReplyObject(x);
        }
    }
    if (r)
        freeReplyObject(r);
}

static void redis_connect(struct coll *c, mono_ns now)
{
    char err[1024], shown[256];
    redisReply *rep = NULL;
    bredis_redact(c->o->redis_url, shown, sizeof shown); /* logs never show a password */
    redisContext *r = bredis_connect(c->o->redis_url, REDIS_TIMEOUT_MS, err, sizeof err);
    if (!r)
        goto fail;
    rep = redisCommand(r, "FUNCTION LOAD REPLACE %b", c->lua, c->lua_len);
    if (!rep || rep->type == REDIS_REPLY_ERROR) {
        snprintf(err, sizeof err, "redis %s: FUNCTION LOAD %.256s: %.400s", shown, c->o->lua_path,
                 rep ? rep->str : r->errstr);
        goto fail;
    }
    freeReplyObject(rep);
    log_info("redis %s: connected, function library loaded from %s", shown, c->o->lua_path);
    c->redis = r;
    c->conn++;
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
    redisReply *r = redisCommand(c->redis, "HINCRBY " KEY_COLLECTOR " bad_messages %lld",
                                 (long long)c->bad_unsaved);
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
    if (!ycfg_valid_id(e->host, NULL)) /* it names keys and log lines: no ':' or newline */
        return "host id empty or not [A-Za-z0-9._-]";
    int runless = e->type == EV_HELLO || e->type == EV_HEARTBEAT || e->type == EV_PONG ||
                  e->type == EV_LOST; /* a lost range may span runs: its run may be empty */
    if ((!runless || e->run[0]) && ycfg_id_why(e->run))
        return "run id empty or not [A-Za-z0-9._-], 1..63 characters";
    if (e->type == EV_LOST && e->from > e->seq)
        return "lost range with from > seq";
    return NULL;
}

/* A launcher whose major version differs from ours speaks another protocol
 * generation: refused with the reason in a reply (it logs it and stops), never stored.
 * Returns 1 when refused. */
/* The major of a strict "MAJOR.MINOR.PATCH" version, or -1 when v is not one ("x"
 * and "" once passed as major 0). */
static long version_major(const char *v)
{
    long major = -1;
    for (int i = 0; i < 3; i++) {
        char *end;
        if (*v < '0' || *v > '9' || v[strspn(v, "0123456789")] != (i < 2 ? '.' : '\0'))
            return -1;
        long n = strtol(v, &end, 10);
        if (i == 0)
            major = n > 1000000 ? -1 : n;
        v = end + (i < 2);
    }
    return major;
}

static int refuse_version(struct coll *c, const struct item *it)
{
    long theirs = version_major(it->e.version);
    if (theirs >= 0 && theirs == version_major(BS_VERSION))
        return 0;
    struct ev r;
    ev_init(&r, EV_REPLY);
    r.ok = 0;
    snprintf(r.error, sizeof r.error,
             "launcher %s version '%s' refused: this collector is version %s (a version is "
             "MAJOR.MINOR.PATCH, and major versions must match)",
             it->e.host, it->e.version, BS_VERSION);
    log_err("%s", r.error);
    c->tot.bad++;
    bzmq_send_ev(c->sock, it->route, it->route_len, &r);
    return 1;
}

/* Why a decoded message may not be used, or NULL. */
static const char *unusable(const struct ev *e, char *err, size_t errlen)
{
    const char *why;
    int from_launcher = ev_is_launcher_event(e->type) || e->type == EV_PONG;
    if (!from_launcher && e->type != EV_START && e->type != EV_ABORT)
        snprintf(err, errlen, "a peer may not send '%s'", ev_type_name(e->type));
    else if (from_launcher && (why = insane(e)))
        snprintf(err, errlen, "%s: %s", ev_type_name(e->type), why);
    return err[0] ? err : NULL;
}

/* A peer speaks only as itself. With an allow-list, the id its key is listed for (the
 * ZAP handler's User-Id, zap.c) must be the host a launcher event claims, and only
 * "cli" keys send commands. Without one, a host is not spoken for from another
 * connection while the one it spoke from still exists and was heard within
 * REG_LIVE_NS (a restarted launcher's old connection is gone at once; one cut off by
 * the network is given up after that, and the launcher resends meanwhile). Routing
 * ids are the ROUTER's own (bzmq.c), so no peer can claim another's route. */
/* 1 while the connection h last spoke from still exists: the ROUTER is mandatory
 * (bzmq.c), so a send to a route that is gone fails at once with EHOSTUNREACH. The
 * probe is a ping (the launcher answers it as any other). */
static int route_alive(struct coll *c, const struct host *h)
{
    struct ev p;
    ev_init(&p, EV_PING);
    p.t1 = clock_real().ns;
    return bzmq_send_ev(c->sock, h->route, h->route_len, &p) == 0 || errno != EHOSTUNREACH;
}

static const char *impostor(struct coll *c, const struct item *it, const char *user, mono_ns now)
{
    int from_launcher = ev_is_launcher_event(it->e.type) || it->e.type == EV_PONG;
    if (c->o->curve_allow)
        return strcmp(user, from_launcher ? it->e.host : "cli") ? "its key is not listed for that"
                                                                : NULL;
    const struct host *h = from_launcher ? reg_find(&c->reg, it->e.host) : NULL;
    if (h && reg_is_live(h, now) &&
        (h->route_len != it->route_len || memcmp(h->route, it->route, it->route_len)) &&
        route_alive(c, h))
        return "that host is live on another connection";
    return NULL;
}

/* Takes one message off the socket without waiting and validates it once (ev_decode);
 * its payload frame is kept for bs_apply. Returns 1 with a usable message in it, 0
 * when none is waiting, 2 when it was bad (counted, logged, dropped). */
static int recv_one(struct coll *c, struct item *it)
{
    char err[256] = "";
    int frames = 0, more = 1;
    zmq_msg_init(&it->msg);
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
        more = zmq_msg_more(&m);
        if (++frames == 1) {
            it->route_len = len < sizeof it->route ? len : sizeof it->route;
            memcpy(it->route, zmq_msg_data(&m), it->route_len);
        } else if (frames == 2) {
            ev_decode(zmq_msg_data(&m), len, &it->e, err, sizeof err);
            zmq_msg_move(&it->msg, &m); /* kept as sent: bs_apply decodes it itself */
        }
        zmq_msg_close(&m);
    }
    if (frames != 2)
        snprintf(err, sizeof err, "%d payload frames, expected 1", frames - 1);
    const char *user = frames == 2 ? zmq_msg_gets(&it->msg, "User-Id") : NULL, *why;
    if (!err[0] && (why = impostor(c, it, user ? user : "", clock_mono())))
        snprintf(err, sizeof err, "%s as '%s' refused: %s", ev_type_name(it->e.type), it->e.host,
                 why);
    if (err[0] || unusable(&it->e, err, sizeof err))
        bad(c, it->route, it->route_len, err);
    else if (it->e.type != EV_HELLO || !refuse_version(c, it))
        return 1;
    zmq_msg_close(&it->msg);
    return 2;
}

/* ---- one batch: launcher events through bs_apply, one FCALL per host and 256 ---- */

/* Marks h as heard from in batch b (acks go to the touched hosts). */
static void touch(struct batch *b, struct host *h, const struct item *it)
{
    if (!(h->touched & b->bit)) {
        h->touched |= b->bit;
        b->touched[b->ntouched++] = h;
    }
    if (h->missing)
        log_info("launcher %s is back", h->id);
    h->missing = h->gone = 0;
    reg_heard(h, it->route, it->route_len, b->now);
}

/* Appends the FCALL of call k of b to the pipeline. */
static int send_call(struct coll *c, struct batch *b, int k)
{
    if (apply_send(c->redis, &b->calls[k]) < 0)
        return -1;
    b->ncalls++;
    return 0;
}

/* Queues every launcher event of h from b's items[i..n) (in order) into FCALLs. */
static int queue_host(struct coll *c, struct batch *b, struct host *h, int i)
{
    int k = b->ncalls;
    apply_begin(&b->calls[k], h->id, b->now_tr);
    for (; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->h != h || it->call >= 0)
            continue;
        const char *run = it->e.type == EV_HELLO || it->e.type == EV_HEARTBEAT ? "" : it->e.run;
        if (apply_add(&b->calls[k], run, zmq_msg_data(&it->msg), zmq_msg_size(&it->msg)) < 0) {
            if (send_call(c, b, k++) < 0)
                return -1;
            apply_begin(&b->calls[k], h->id, b->now_tr);
            apply_add(&b->calls[k], run, zmq_msg_data(&it->msg), zmq_msg_size(&it->msg));
        }
        it->call = k;
        it->pos = b->calls[k].nev - 1;
    }
    return send_call(c, b, k);
}

/* Sends the launcher events of b down the pipeline and writes it out, without waiting
 * for the answers. Returns -1 when the connection failed. */
static int queue_batch(struct coll *c, struct batch *b)
{
    b->ntouched = 0;
    b->ncalls = 0;
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        it->h = NULL;
        it->call = -1;
        it->code = APPLY_GAP;
        if (!ev_is_launcher_event(it->e.type))
            continue;
        if (!(it->h = reg_get(&c->reg, it->e.host))) {
            log_err("out of memory for host %s", it->e.host);
            continue;
        }
        touch(b, it->h, it);
    }
    for (int i = 0; i < b->n && c->redis; i++) {
        struct item *it = &b->items[i];
        if (it->h && it->call < 0 && queue_host(c, b, it->h, i) < 0)
            return -1;
    }
    for (int done = !c->redis || !b->ncalls; !done;)
        if (redisBufferWrite(c->redis, &done) != REDIS_OK)
            return -1;
    return 0;
}

/* Reads the answer of call a: its host's ack and every event's code. */
static int read_call(struct coll *c, const struct apply_call *a, int *codes)
{
    redisReply *r = NULL;
    if (redisGetReply(c->redis, (void **)&r) != REDIS_OK)
        return -1;
    char err[256];
    int64_t acked = 0;
    int rc = apply_result(r, a->nev, &acked, codes, err, sizeof err);
    freeReplyObject(r);
    if (rc < 0) {
        log_err("redis refused the events of %s: %s", a->host, err);
        return -1;
    }
    struct host *h = reg_find(&c->reg, a->host);
    if (h) /* the Function owns the ack: it may go down (a hello with seq 1 starts over) */
        h->acked = acked;
    return 0;
}

/* Reads every answer of b and hands each event its code. Returns -1 when the
 * connection must be renewed. */
static int read_batch(struct coll *c, struct batch *b)
{
    static int codes[BATCH_MAX / APPLY_BATCH_MAX + 4][APPLY_BATCH_MAX];
    for (int k = 0; k < b->ncalls; k++)
        if (read_call(c, &b->calls[k], codes[k]) < 0)
            return -1;
    for (int i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->call < 0)
            continue;
        it->code = codes[it->call][it->pos];
        c->tot.stored += it->code == APPLY_STORED;
        c->tot.dups += it->code == APPLY_DUP;
        c->tot.gaps += it->code == APPLY_GAP;
        int64_t n = it->code == APPLY_NO_RUN ? ++c->tot.no_run : 0;
        if (n && !(n & (n - 1))) /* the 1st, 2nd, 4th, ...: a flood is not a log flood */
            log_warn("launcher %s: %s of run '%s' refused: no such run (%lld so far)", it->e.host,
                     ev_type_name(it->e.type), it->e.run, (long long)c->tot.no_run);
    }
    return 0;
}

/* Sends each touched host the ack bs_apply reported: stored in Redis with everything
 * before it (the Function keeps it in bs:host:HOST, so a restarted collector agrees). */
static void send_acks(struct coll *c, const struct batch *b)
{
    for (size_t i = 0; i < b->ntouched; i++) {
        struct host *h = b->touched[i];
        if (!h->acked)
            continue;
        struct ev a;
        ev_init(&a, EV_ACK);
        snprintf(a.host, sizeof a.host, "%s", h->id);
        a.ack = h->acked;
        a.tm = clock_mono();
        a.tr = clock_real();
        if (bzmq_send_ev(c->sock, h->route, h->route_len, &a) < 0)
            log_debug("ack %lld to %s not queued", (long long)h->acked, h->id);
    }
}

/* One clock sample request (NTP-style; the pong comes back over the same socket). */
static void send_ping(struct coll *c, const struct host *h)
{
    struct ev p;
    ev_init(&p, EV_PING);
    p.t1 = clock_real().ns;
    bzmq_send_ev(c->sock, h->route, h->route_len, &p);
}

/* ---- what follows a stored event or a command: one handler per message type ---- */

static void on_hello(struct coll *c, const struct item *it)
{
    const struct ev *e = &it->e;
    if (it->code != APPLY_STORED)
        return;
    send_ping(c, it->h); /* a first clock offset before its first run, not 2 s later */
    log_info("launcher %s: hello (%lld cores, %lld MiB, kvm %lld, backends %s, version %s)",
             e->host, (long long)e->cores, (long long)(e->mem_total_kib / 1024), (long long)e->kvm,
             e->backends, e->version);
}

/* A pong: one more clock sample of its host; the best estimate goes to bs:host:HOST. */
static void on_pong(struct coll *c, const struct item *it)
{
    const struct ev *e = &it->e;
    struct host *h = reg_find(&c->reg, e->host);
    int64_t off, err;
    char key[KEY_MAX];
    if (!h || reg_clock_sample(h, e->t1, e->t2, e->t3, c->t4, &off, &err) < 0 || !c->redis ||
        keys_host(key, sizeof key, h->id) < 0)
        return;
    redisReply *r = redisCommand(c->redis, "HSET %s offset_ns %lld offset_err_ns %lld", key,
                                 (long long)off, (long long)err);
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
    char flag[160] = "", f1[BS_ID_MAX + 24], f2[BS_ID_MAX + 24], v1[24], v2[24];
    if (err < 0)
        snprintf(flag, sizeof flag, "%s: clock offset unknown", h->id);
    else if (worst > COLL_CLOCK_BOUND_NS)
        snprintf(flag, sizeof flag, "%s: clock offset %.3f ms +- %.3f ms beyond %.1f ms", h->id,
                 (double)off / 1e6, (double)err / 1e6, (double)COLL_CLOCK_BOUND_NS / 1e6);
    snprintf(f1, sizeof f1, "clock_offset_ns:%s", h->id);
    snprintf(f2, sizeof f2, "clock_err_ns:%s", h->id);
    snprintf(v1, sizeof v1, "%lld", (long long)off);
    snprintf(v2, sizeof v2, "%lld", (long long)err);
    control_meta_note(c->redis, e->run, f1, v1);
    control_meta_note(c->redis, e->run, f2, v2);
    if (flag[0])
        control_meta_note(c->redis, e->run, "clock_flag", flag);
}

static void on_run_start(struct coll *c, const struct item *it)
{
    if (it->code != APPLY_STORED || c->broken)
        return;
    note_clock(c, &it->e);
    control_on_event(c->redis, &c->reg, &it->e);
}

static void on_run_end(struct coll *c, const struct item *it)
{
    if (it->code != APPLY_STORED || c->broken)
        return;
    control_on_event(c->redis, &c->reg, &it->e);
    retain_after_end(c->redis, it->e.run, c->o->keep_runs);
}

/* start snapshot | template: a host's template is saved; all of them: the go. */
static void on_prepared(struct coll *c, const struct item *it)
{
    if (it->code != APPLY_STORED || c->broken)
        return;
    control_on_event(c->redis, &c->reg, &it->e);
    control_go(c->sock, c->redis, &c->reg, c->o->start_lead_ns);
}

static void on_command(struct coll *c, const struct item *it)
{
    control_handle(c->sock, c->broken ? NULL : c->redis, &c->reg, c->now, c->o->start_lead_ns,
                   it->route, it->route_len, &it->e);
}

/* redis: the handler sends commands of its own on c->redis, so its batch's answers are
 * read with no other batch in the pipeline (their replies would come first). */
static const struct handler {
    enum ev_type type;
    void (*fn)(struct coll *c, const struct item *it);
    int redis;
} handlers[] = {
    {EV_HELLO, on_hello, 0},       {EV_PONG, on_pong, 1},     {EV_RUN_START, on_run_start, 1},
    {EV_RUN_END, on_run_end, 1},   {EV_START, on_command, 1}, {EV_ABORT, on_command, 1},
    {EV_PREPARED, on_prepared, 1},
};

static const struct handler *handler_of(enum ev_type type)
{
    for (size_t i = 0; i < sizeof handlers / sizeof handlers[0]; i++)
        if (handlers[i].type == type)
            return &handlers[i];
    return NULL;
}

static void dispatch(struct coll *c, const struct item *it)
{
    const struct handler *h = handler_of(it->e.type);
    if (h)
        h->fn(c, it);
}

/* Takes up to BATCH_MAX messages off the socket into b, validates them, and sends its
 * launcher events to bs_apply without waiting for the answers (finish_batch reads them). */
static void begin_batch(struct coll *c, struct batch *b)
{
    int r;
    b->n = 0;
    b->redis_alone = 0;
    for (int got = 0; got < BATCH_MAX && (r = recv_one(c, &b->items[b->n])); got++)
        if (r == 1) {
            const struct handler *h = handler_of(b->items[b->n++].e.type);
            b->redis_alone |= h && h->redis;
        }
    b->now = clock_mono();
    b->now_tr = clock_real().ns;
    b->conn = c->conn;
    b->broken = !c->redis;
    if (queue_batch(c, b) < 0) /* without Redis: registry only, nothing stored or acked */
        b->broken = 1;
}

/* Reads b's answers (b was the oldest batch in the pipeline), acks what they stored,
 * dispatches its messages and frees them. */
static void finish_batch(struct coll *c, struct batch *b)
{
    if (!b->broken && (!c->redis || c->redis->err || b->conn != c->conn))
        b->broken = 1; /* its connection failed since: nothing of it is known stored */
    if (!b->broken && read_batch(c, b) < 0)
        b->broken = 1;
    c->now = b->now;
    c->t4 = b->now_tr;
    c->broken = b->broken;
    if (!b->broken)
        send_acks(c, b);
    for (size_t i = 0; i < b->ntouched; i++)
        b->touched[i]->touched &= ~b->bit;
    for (int i = 0; i < b->n; i++) {
        dispatch(c, &b->items[i]);
        zmq_msg_close(&b->items[i].msg);
    }
    b->n = 0;
    if (c->redis && (b->broken || c->redis->err) && b->conn == c->conn)
        redis_drop(c, c->redis->err ? c->redis->errstr : "a command failed");
}

static void finish_inflight(struct coll *c)
{
    struct batch *b = c->inflight;
    c->inflight = NULL;
    if (b)
        finish_batch(c, b);
}

/* One batch off the socket: sent behind the one in flight, which is then finished, so
 * Redis goes from one batch to the next without waiting for the collector. A batch
 * whose handlers call Redis themselves is finished before another is sent. */
static void run_batch(struct coll *c)
{
    struct batch *b = &c->b[c->cur];
    if (c->inflight && c->inflight->redis_alone)
        finish_inflight(c);
    begin_batch(c, b);
    finish_inflight(c);
    c->inflight = b;
    c->cur ^= 1;
}

/* ---- periodic work ---- */

/* bs:host:HOST state = state (the collector's own view of a silent launcher). */
static void host_state(struct coll *c, const struct host *h, const char *state)
{
    char key[KEY_MAX];
    if (!c->redis || keys_host(key, sizeof key, h->id) < 0)
        return;
    redisReply *r = redisCommand(c->redis, "HSET %s state %s", key, state);
    if (r)
        freeReplyObject(r);
    else
        redis_drop(c, c->redis->errstr);
}

static void check_liveness(struct coll *c, mono_ns now)
{
    for (size_t i = 0; i < c->reg.n; i++) {
        struct host *h = c->reg.hosts[i];
        if (h->route_len && !h->gone && mono_diff(h->last_heard, now) >= REG_GONE_NS) {
            h->gone = 1;
            log_warn("launcher %s: silent for %lld s, marked gone", h->id,
                     (long long)(REG_GONE_NS / NS_PER_S));
            host_state(c, h, "gone");
        }
        if (reg_is_live(h, now) && now.ns >= c->next_ping.ns)
            send_ping(c, h);
        if (h->missing || !h->route_len || reg_is_live(h, now))
            continue;
        h->missing = 1;
        log_warn("launcher %s: not heard from for %lld s, marked missing", h->id,
                 (long long)(REG_LIVE_NS / NS_PER_S));
        host_state(c, h, "missing");
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
                 "messages %lld, for no run %lld, launchers %d live of %zu, redis %s",
                 (double)(c->tot.stored - c->at_stats.stored) / dt, (long long)c->tot.stored,
                 (long long)c->tot.dups, (long long)c->tot.gaps, (long long)c->tot.bad,
                 (long long)c->tot.no_run, live, c->reg.n, c->redis ? "up" : "down");
        c->at_stats = c->tot;
        return;
    }
    double up = (double)mono_diff(c->started, now) / 1e9;
    log_info(
        "exit: stored %lld events in %.1f s (%.0f events/s, peak %.0f events/s), "
        "duplicates %lld, out of order %lld, bad messages %lld, for no run %lld, launchers %zu",
        (long long)c->tot.stored, up, up > 0 ? (double)c->tot.stored / up : 0.0, c->peak_rate,
        (long long)c->tot.dups, (long long)c->tot.gaps, (long long)c->tot.bad,
        (long long)c->tot.no_run, c->reg.n);
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
        if (c->redis) {
            control_tick(c->redis, &c->reg, now);
            control_go(c->sock, c->redis, &c->reg, c->o->start_lead_ns); /* a host lost */
        }
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

/* Is periodic work due (it calls Redis itself, so the pipeline is emptied first)? */
static int periodic_due(const struct coll *c, mono_ns now)
{
    return now.ns >= c->next_liveness.ns ||
           (c->o->stats_interval_s > 0 && now.ns >= c->next_stats.ns);
}

/* ---- the loop ---- */

static int batches_alloc(struct coll *c)
{
    for (int i = 0; i < 2; i++) {
        struct batch *b = &c->b[i];
        b->bit = 1 << i;
        b->items = calloc(BATCH_MAX, sizeof *b->items);
        b->touched = calloc(BATCH_MAX, sizeof *b->touched);
        b->calls = calloc(BATCH_MAX, sizeof *b->calls);
        if (!b->items || !b->touched || !b->calls)
            return -1;
    }
    return 0;
}

static void batches_free(struct coll *c)
{
    for (int i = 0; i < 2; i++) {
        free(c->b[i].items);
        free(c->b[i].touched);
        free(c->b[i].calls);
    }
}

/* One turn: (re)connect, periodic work with an empty pipeline, then a batch off the
 * socket if one is waiting (not waiting while one is in flight), else finish that one. */
/* The loop turns at least every 100 ms; a longer gap means we were not listening
 * (SIGSTOP, a starved machine, a blocking Redis call). */
#define STALL_NS (2 * NS_PER_S)

static void step(struct coll *c)
{
    mono_ns now = clock_mono();
    int64_t gap = c->last_step.ns ? mono_diff(c->last_step, now) : 0;
    if (gap > STALL_NS) { /* launchers were not silent: we were deaf */
        log_warn("the collector's loop stalled %.1f s: launchers' silence meanwhile not counted",
                 (double)gap / 1e9);
        reg_excuse_stall(&c->reg, gap);
    }
    c->last_step = now;
    if (!c->redis && now.ns >= c->next_connect.ns)
        redis_connect(c, now);
    if (c->inflight && periodic_due(c, now))
        finish_inflight(c);
    if (!c->inflight) {
        if (c->bad_unsaved)
            flush_bad(c);
        periodic(c, now);
    }
    zmq_pollitem_t pi[2] = {{c->sock, 0, ZMQ_POLLIN, 0}, {zap_socket(c->zap), 0, ZMQ_POLLIN, 0}};
    if (zmq_poll(pi, 2, c->inflight ? 0 : 100) < 0)
        pi[0].revents = pi[1].revents = 0;
    if (pi[1].revents & ZMQ_POLLIN) /* handshakes wait on us: answer them first */
        zap_serve(c->zap);
    if (pi[0].revents & ZMQ_POLLIN)
        run_batch(c);
    else
        finish_inflight(c);
}

int coll_run(const struct coll_opts *o, volatile sig_atomic_t *stop)
{
    struct coll c = {.o = o, .backoff_ms = BACKOFF_MIN_MS};
    char err[256];
    int rc = -1;
    c.started = clock_mono();
    if (batches_alloc(&c) < 0) {
        log_err("out of memory");
        goto out;
    }
    if (load_lua(&c) < 0)
        goto out;
    if (!(c.zap = zap_open(o->curve_allow, err, sizeof err))) { /* before the ROUTER binds */
        log_err("%s", err);
        goto out;
    }
    c.sock = bzmq_socket_curve(ZMQ_ROUTER, o->bind, 1, o->curve, err, sizeof err);
    if (!c.sock) {
        log_err("%s", err);
        goto out;
    }
    log_info("listening on %s%s", o->bind, o->curve ? " (CURVE)" : "");
    while (!*stop)
        step(&c);
    finish_inflight(&c);
    flush_bad(&c);
    log_stats(&c, clock_mono(), 1);
    rc = 0;
out:
    if (c.sock)
        zmq_close(c.sock);
    /* Neither the ZAP handler's socket closed nor zmq_ctx_term: libzmq 4.3.4 crashed
     * in this teardown (3 exits in 9 of bench/fleet.sh, 8 CURVE launchers connected:
     * SIGSEGV under zmq_ctx_term, the ZAP handler just closed while the ROUTER's
     * sessions may still be in a handshake with it). The process ends right after
     * this, which frees both; every socket has LINGER 0, so nothing waits to go. */
    if (c.redis)
        redisFree(c.redis);
    reg_free(&c.reg);
    free(c.lua);
    batches_free(&c);
    return rc;
}
