/* Integration test of bootstorm-collector with a real redis-server (started by
 * run-c-test.sh) and real ZeroMQ: fake launchers (DEALER sockets) send events, the
 * test checks their acks and the keys of redis/SCHEMA.md. The events/s it prints is
 * for information only; nothing here is a timed assertion. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <msgpack.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "agg.h"
#include "bredis.h"
#include "bzmq.h"
#include "event.h"
#include "keys.h"
#include "outbox.h"

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static pid_t coll_pid, redis2_pid;
static char endpoint[64], ready_path[512], log_path[512], coll_bin[512];
static const char *redis_url, *tmp_dir;
static redisContext *rc;

static void kill_pid(pid_t *pid, int sig)
{
    if (*pid > 0) {
        kill(*pid, sig);
        waitpid(*pid, NULL, 0);
        *pid = 0;
    }
}

static void kill_all(void)
{
    kill_pid(&coll_pid, SIGKILL);
    kill_pid(&redis2_pid, SIGKILL);
}

static void sleep_ms(int ms)
{
    usleep((useconds_t)ms * 1000);
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(s >= 0 && !bind(s, (struct sockaddr *)&a, sizeof a) &&
              !getsockname(s, (struct sockaddr *)&a, &len),
          "%s", strerror(errno));
    close(s);
    return ntohs(a.sin_port);
}

static void wait_ready(void);

static void start_collector_on(const char *url)
{
    unlink(ready_path);
    coll_pid = fork();
    CHECK(coll_pid >= 0, "fork: %s", strerror(errno));
    if (coll_pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(coll_bin, coll_bin, "--bind", endpoint, "--redis", url, "--ready-file", ready_path,
              "--stats-interval", "1", (char *)NULL);
        _exit(127);
    }
}

static void start_collector(void)
{
    start_collector_on(redis_url);
    wait_ready();
}

static void wait_ready(void)
{
    for (int i = 0; i < 200; i++) {
        char buf[8] = "";
        FILE *f = fopen(ready_path, "r");
        if (f) {
            int ok = fgets(buf, sizeof buf, f) && !strcmp(buf, "ok\n");
            fclose(f);
            if (ok)
                return;
        }
        CHECK(waitpid(coll_pid, NULL, WNOHANG) == 0, "collector exited early (see %s)", log_path);
        sleep_ms(50);
    }
    CHECK(0, "collector not ready after 10 s (see %s)", log_path);
}

/* Lines of the collectors' log (shared, appended) that contain needle. */
static int log_count(const char *needle)
{
    char line[2048];
    int n = 0;
    FILE *f = fopen(log_path, "r");
    while (f && fgets(line, sizeof line, f))
        n += strstr(line, needle) != NULL;
    if (f)
        fclose(f);
    return n;
}

/* Waits up to 10 s for a line with needle beyond the `before` there were already. */
static void wait_log_more(const char *needle, int before)
{
    for (int i = 0; i < 200; i++, sleep_ms(50))
        if (log_count(needle) > before)
            return;
    CHECK(0, "no new line '%s' in %s after 10 s", needle, log_path);
}

static void assert_alive(void)
{
    CHECK(coll_pid > 0 && waitpid(coll_pid, NULL, WNOHANG) == 0, "collector died (see %s)",
          log_path);
}

/* ---- Redis reads ---- */

static redisReply *cmd(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    CHECK(r && r->type != REDIS_REPLY_ERROR, "redis: %s", r ? r->str : rc->errstr);
    return r;
}

/* An integer reply, or a string reply as a number; -1 for nil. */
static long long num(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    CHECK(r && r->type != REDIS_REPLY_ERROR, "redis: %s", r ? r->str : rc->errstr);
    long long v = r->type == REDIS_REPLY_INTEGER  ? r->integer
                  : r->type == REDIS_REPLY_STRING ? atoll(r->str)
                                                  : -1;
    freeReplyObject(r);
    return v;
}

static void expect_str(const char *want, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(rc, fmt, ap);
    va_end(ap);
    CHECK(r && r->type == REDIS_REPLY_STRING && !strcmp(r->str, want), "%s: want '%s', got '%s'",
          fmt, want, r && r->type == REDIS_REPLY_STRING ? r->str : "(not a string)");
    freeReplyObject(r);
}

/* Creates run in the Redis behind r as the collector's start does (FCALL bs_run_create):
 * events of a run that does not exist are refused. */
/* Guest idx of host of run as the aggregator folds it from the run's events; *found 0
 * when the run has no event of it. */
static struct agg_guest guest_of(const char *run, const char *host, long long idx, int *found)
{
    struct agg_guests gs;
    struct agg_guest g;
    char err[256];
    memset(&g, 0, sizeof g);
    *found = 0;
    CHECK(agg_guests_load(rc, run, &gs, err, sizeof err) == 0, "agg_guests_load %s: %s", run, err);
    for (size_t i = 0; i < gs.n; i++)
        if (!strcmp(agg_guest_host(&gs, &gs.g[i]), host) && gs.g[i].idx == idx) {
            g = gs.g[i];
            g.accel_why = g.detail = NULL; /* freed with gs below */
            *found = 1;
        }
    agg_guests_free(&gs);
    return g;
}

static void create_run(redisContext *r, const char *run)
{
    char meta[KEY_MAX];
    keys_run(meta, sizeof meta, run, KEY_META);
    const char *argv[] = {"FCALL", "bs_run_create", "2", meta, KEY_RUNS, run, "1", "kind", "test"};
    redisReply *x = redisCommandArgv(r, 9, argv, NULL);
    CHECK(x && x->type == REDIS_REPLY_INTEGER, "bs_run_create %s: %s", run,
          x && x->type == REDIS_REPLY_ERROR ? x->str : r->errstr);
    freeReplyObject(x);
}

/* FCALL bs_apply with n events of host (encoded as a launcher does) in run. */
static redisReply *fcall_evs(const char *host, const char *run, struct ev *evs, int n)
{
    static char bufs[8][4096];
    char hk[128], mk_[128];
    const char *argv[16];
    size_t len[16];
    snprintf(hk, sizeof hk, "bs:host:%s", host);
    snprintf(mk_, sizeof mk_, "bs:{%s}:meta", run);
    int a = 0;
    const char *fixed[] = {"FCALL", "bs_apply", "2", hk, mk_, host, "1"};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++, a++) {
        argv[a] = fixed[i];
        len[a] = strlen(fixed[i]);
    }
    for (int i = 0; i < n; i++, a++) {
        int m = ev_encode(&evs[i], bufs[i], sizeof bufs[i]);
        CHECK(m > 0, "encode");
        argv[a] = bufs[i];
        len[a] = (size_t)m;
    }
    redisReply *r = redisCommandArgv(rc, a, argv, len);
    CHECK(r && r->type == REDIS_REPLY_ARRAY && r->elements == (size_t)n + 1, "bs_apply: %s",
          r && r->type == REDIS_REPLY_ERROR ? r->str : "not an array of n + 1");
    return r;
}

/* ---- a fake launcher ---- */

struct launcher {
    void *sock;
    char host[BS_ID_MAX];
    int64_t seq;   /* last seq sent */
    int64_t acked; /* highest ack received */
};

static void l_open(struct launcher *l, const char *host)
{
    char err[256];
    l->sock = bzmq_socket(ZMQ_DEALER, endpoint, 0, err, sizeof err);
    CHECK(l->sock, "%s", err);
    snprintf(l->host, sizeof l->host, "%s", host);
}

/* Sends e as l's; a zero e->seq gets the next seq. */
static void l_send(struct launcher *l, struct ev *e)
{
    snprintf(e->host, sizeof e->host, "%s", l->host);
    if (!e->seq)
        e->seq = ++l->seq;
    if (!e->tm.ns)
        e->tm = clock_mono();
    e->tr = clock_real();
    CHECK(bzmq_send_ev(l->sock, NULL, 0, e) == 0, "send %s seq %lld", ev_type_name(e->type),
          (long long)e->seq);
}

/* Receives the next message within ms; 0 or -1 on timeout. Acks update l->acked. */
static int l_recv(struct launcher *l, struct ev *e, int ms)
{
    zmq_pollitem_t pi = {l->sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&pi, 1, ms) <= 0)
        return -1;
    char buf[EV_MAX_BYTES], err[256];
    int n = zmq_recv(l->sock, buf, sizeof buf, 0);
    CHECK(n > 0 && ev_decode(buf, (size_t)n, e, err, sizeof err) == 0, "bad reply: %s", err);
    if (e->type == EV_ACK) {
        CHECK(!strcmp(e->host, l->host), "ack for %s sent to %s", e->host, l->host);
        CHECK(e->ack >= l->acked || e->ack == 0, "ack went back from %lld to %lld",
              (long long)l->acked, (long long)e->ack);
        if (e->ack > l->acked)
            l->acked = e->ack;
    }
    return 0;
}

static void l_wait_ack(struct launcher *l, int64_t want)
{
    struct ev e;
    for (int i = 0; i < 1000 && l->acked < want; i++)
        l_recv(l, &e, 10);
    CHECK(l->acked >= want, "%s: acked %lld, want %lld", l->host, (long long)l->acked,
          (long long)want);
}

/* Takes every message that arrives until 300 ms pass in silence. */
static void l_settle(struct launcher *l)
{
    struct ev e;
    while (l_recv(l, &e, 300) == 0)
        ;
}

/* The next ack, which must come within 5 s. */
static int64_t l_next_ack(struct launcher *l)
{
    struct ev e;
    for (int i = 0; i < 50; i++)
        if (l_recv(l, &e, 100) == 0 && e.type == EV_ACK)
            return e.ack;
    CHECK(0, "no ack");
    return -1;
}

static struct ev mk(enum ev_type t, const char *run, int64_t guest)
{
    struct ev e;
    ev_init(&e, t);
    snprintf(e.run, sizeof e.run, "%s", run);
    e.guest = guest;
    return e;
}

static struct ev mk_run_start(const char *run, int count, const char *pattern)
{
    struct ev e = mk(EV_RUN_START, run, -1);
    e.count = count;
    e.timeout_s = 60;
    e.interval_ms = 5;
    e.mem_used_kib = 1000000;
    snprintf(e.kind, sizeof e.kind, "minkernel");
    snprintf(e.backend, sizeof e.backend, "process");
    snprintf(e.accel, sizeof e.accel, "tcg");
    snprintf(e.pattern, sizeof e.pattern, "%s", pattern);
    return e;
}

/* The 12 events of test (a), seq 1..12: hello, run_start, 3 x spawn/spawned/ready, run_end. */
static int events_a(struct ev *out, const char *run)
{
    int n = 0;
    ev_init(&out[n], EV_HELLO);
    out[n].cores = 4;
    out[n].mem_total_kib = 8 << 20;
    out[n].kvm = 1;
    snprintf(out[n].backends, sizeof out[n].backends, "qemu,process");
    snprintf(out[n++].version, sizeof out[0].version, "%s", BS_VERSION);
    out[n++] = mk_run_start(run, 3, "burst");
    for (int g = 0; g < 3; g++) {
        out[n] = mk(EV_SPAWN, run, g);
        out[n].running = g;
        out[n].tm.ns = 1000 + g;
        out[++n] = mk(EV_SPAWNED, run, g);
        out[n++].pid = 1000 + g;
        out[n] = mk(EV_READY, run, g);
        out[n].tm.ns = 5000 + g;
        out[n++].boot_ns = (g + 1) * 100 * NS_PER_MS + 250000; /* 100.25, 200.25, 300.25 ms */
    }
    out[n] = mk(EV_RUN_END, run, -1);
    out[n++].ready = 3;
    for (int i = 0; i < n; i++)
        out[i].seq = i + 1;
    return n;
}

#define RUN_A "20250101-000000-a-3-aaaa"
#define RUN_B "20250101-000100-b-1-bbbb"
#define RUN_C "20250101-000200-c-4-cccc"
#define RUN_D "20250101-000300-ctl-two-2-dddd"
#define RUN_E "20250101-000400-e-10000-eeee"
#define RUN_F "20250101-000500-f-6-ffff"
#define RUN_G "20261122-000000-gap-1-abcd"

static void test_basic_and_idempotence(struct launcher *l)
{
    struct ev evs[16];
    int n = events_a(evs, RUN_A);
    for (int i = 0; i < n; i++)
        l_send(l, &evs[i]);
    l->seq = n;
    l_wait_ack(l, n);

    CHECK(num("HGET bs:{%s}:agg ready", RUN_A) == 3, "agg ready");
    CHECK(num("HGET bs:{%s}:agg spawned", RUN_A) == 3, "agg spawned");
    CHECK(num("ZCARD bs:{%s}:boot", RUN_A) == 3, "boot zset");
    expect_str("100.25", "ZSCORE bs:{%s}:boot h1:0", RUN_A);
    expect_str("300.25", "ZSCORE bs:{%s}:boot h1:2", RUN_A);
    expect_str("100.25", "HGET bs:{%s}:agg boot_min_ms", RUN_A);
    expect_str("300.25", "HGET bs:{%s}:agg boot_max_ms", RUN_A);
    expect_str("600.75", "HGET bs:{%s}:agg boot_sum_ms", RUN_A);
    expect_str("1000", "HGET bs:{%s}:agg first_spawn_tm:h1", RUN_A);
    expect_str("5002", "HGET bs:{%s}:agg last_ready_tm:h1", RUN_A);
    CHECK(num("HGET bs:{%s}:meta hosts_started", RUN_A) == 1, "hosts_started");
    CHECK(num("HGET bs:{%s}:meta hosts_done", RUN_A) == 1, "hosts_done");
    expect_str("tcg", "HGET bs:{%s}:meta accel:h1", RUN_A);
    int found;
    struct agg_guest g = guest_of(RUN_A, "h1", 1, &found);
    CHECK(found && !strcmp(g.state, "ready"), "guest h1:1 '%s', want ready", g.state);
    CHECK(g.pid == 1001, "pid %lld", g.pid);
    CHECK(num("HGET bs:{%s}:seq h1", RUN_A) == 12, "seq");
    CHECK(num("LLEN bs:{%s}:ev", RUN_A) == 11, "stream holds the 11 run events");
    CHECK(num("SISMEMBER bs:hosts h1") == 1, "bs:hosts");
    CHECK(num("HGET bs:host:h1 cores") == 4, "host cores");
    expect_str("qemu,process", "HGET bs:host:h1 backends");
    expect_str("up", "HGET bs:host:h1 state");
    printf("PASS (a) hello + run of 3 guests stored, acked up to 12\n");

    /* (b) everything again: the collector re-acks, Redis changes nothing. A hello with
     * seq 1 is what a launcher without a spool sends after a restart: the ack restarts. */
    l->acked = 0;
    for (int i = 0; i < n; i++)
        l_send(l, &evs[i]);
    l_settle(l);
    CHECK(l->acked == 12, "acked %lld", (long long)l->acked);
    CHECK(num("HGET bs:{%s}:agg ready", RUN_A) == 3, "agg ready after resend");
    CHECK(num("HGET bs:{%s}:agg spawned", RUN_A) == 3, "agg spawned after resend");
    CHECK(num("HGET bs:{%s}:meta hosts_done", RUN_A) == 1, "hosts_done after resend");
    CHECK(num("LLEN bs:{%s}:ev", RUN_A) == 11, "stream after resend");
    expect_str("600.75", "HGET bs:{%s}:agg boot_sum_ms", RUN_A);
    /* and the Function itself answers a duplicate with 0 and changes nothing */
    struct ev dup = evs[4];
    redisReply *x = fcall_evs("h1", RUN_A, &dup, 1);
    CHECK(x->element[1]->integer == 0, "bs_apply of a duplicate answered %lld",
          (long long)x->element[1]->integer);
    freeReplyObject(x);
    CHECK(num("HGET bs:{%s}:agg ready", RUN_A) == 3, "agg ready after direct duplicate");
    /* A guest booted again (a restart, same index): each boot keeps its own member,
     * HOST:IDX then HOST:IDX#SEQ, whether the earlier one is in the same call or not. */
    struct ev rb[6];
    for (int i = 0; i < 6; i++) {
        rb[i] = mk(i % 2 ? EV_READY : EV_SPAWN, RUN_A, 0);
        snprintf(rb[i].host, sizeof rb[i].host, "hr");
        rb[i].seq = i + 1;
        rb[i].boot_ns = (i + 1) * NS_PER_MS;
    }
    freeReplyObject(fcall_evs("hr", RUN_A, rb, 4));
    freeReplyObject(fcall_evs("hr", RUN_A, rb + 4, 2));
    expect_str("2", "ZSCORE bs:{%s}:boot hr:0", RUN_A);
    expect_str("4", "ZSCORE bs:{%s}:boot hr:0#4", RUN_A);
    expect_str("6", "ZSCORE bs:{%s}:boot hr:0#6", RUN_A);
    /* One sequence check, in the Function: an event after a hole is answered -1 (gap)
     * and changes nothing, as does everything after it in the call; once the hole is
     * filled it applies. */
    const char *run_g = RUN_G;
    struct ev ch[3] = {mk(EV_SPAWN, run_g, 0), mk(EV_SPAWNED, run_g, 0), mk(EV_READY, run_g, 0)};
    ch[1].pid = 9;
    ch[2].boot_ns = 2;
    for (int i = 0; i < 3; i++) {
        snprintf(ch[i].host, sizeof ch[i].host, "hg");
        ch[i].seq = 5 + i;
        ch[i].tm.ns = ch[i].tr.ns = i + 1;
    }
    x = fcall_evs("hg", run_g, &ch[0], 1);
    CHECK(x->element[0]->integer == 5 && x->element[1]->integer == 1, "first event of hg");
    freeReplyObject(x);
    x = fcall_evs("hg", run_g, &ch[2], 1);
    CHECK(x->element[0]->integer == 5 && x->element[1]->integer == -1,
          "an event after a hole must be answered -1");
    freeReplyObject(x);
    CHECK(num("HGET bs:{%s}:agg ready", run_g) <= 0, "a refused event changed the aggregates");
    x = fcall_evs("hg", run_g, &ch[1], 2);
    CHECK(x->element[0]->integer == 7 && x->element[1]->integer == 1 && x->element[2]->integer == 1,
          "the hole filled, then the deferred event");
    freeReplyObject(x);
    CHECK(num("HGET bs:{%s}:agg ready", run_g) == 1, "ready after the chain is whole");
    CHECK(num("HGET bs:host:hg acked") == 7, "the Function keeps the host's ack");
    printf("PASS (b) the same 12 events twice: counts unchanged; out-of-chain event deferred\n");
}

/* ---- (c) malformed messages ---- */

/* ---- (b2) events of a run that was never started: refused, counted, never stored ---- */

static void test_no_such_run(struct launcher *l)
{
    const char *ghost = "20250101-009900-ghost-1-0000";
    long long before = num("HGET bs:host:%s refused_no_run", l->host);
    before = before < 0 ? 0 : before; /* -1: none yet */
    struct ev e[3] = {mk_run_start(ghost, 1, "burst"), mk(EV_SPAWN, ghost, 0),
                      mk(EV_SPAWN, RUN_A, 9)};
    for (int i = 0; i < 3; i++)
        l_send(l, &e[i]);
    l_wait_ack(l, e[2].seq); /* the sequence goes on past the refused ones: no stall */
    CHECK(num("HGET bs:host:%s refused_no_run", l->host) - before == 2, "refused_no_run counted");
    redisReply *k = cmd("KEYS bs:{%s}:*", ghost);
    CHECK(k->type == REDIS_REPLY_ARRAY && k->elements == 0,
          "%zu keys stored for a run that does "
          "not exist",
          k->elements);
    freeReplyObject(k);
    int found;
    guest_of(RUN_A, l->host, 9, &found);
    CHECK(found, "the next event of a real run");
    printf("PASS (b2) events of a run that does not exist: refused, counted, the chain goes on\n");
}

static void send_raw(void *sock, const void *p, size_t n, int flags)
{
    CHECK(zmq_send(sock, p, n, flags) == (int)n, "zmq_send: %s", zmq_strerror(errno));
}

static void pack_kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
    msgpack_pack_str(pk, strlen(v));
    msgpack_pack_str_body(pk, v, strlen(v));
}

static void pack_kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    msgpack_pack_str(pk, strlen(k));
    msgpack_pack_str_body(pk, k, strlen(k));
    msgpack_pack_int64(pk, v);
}

/* bs:collector bad_messages once it reaches want (or after 5 s, whatever it is then). */
static long long bad_count_at_least(long long want)
{
    long long got = num("HGET bs:collector bad_messages");
    for (int i = 0; i < 100 && got < want; i++) {
        sleep_ms(50);
        got = num("HGET bs:collector bad_messages");
    }
    return got;
}

static void test_malformed(struct launcher *l)
{
    long long bad0 = num("HGET bs:collector bad_messages");
    bad0 = bad0 < 0 ? 0 : bad0;
    char err[256], buf[EV_MAX_BYTES + 2048];
    void *s = bzmq_socket(ZMQ_DEALER, endpoint, 0, err, sizeof err);
    CHECK(s, "%s", err);
    int sent = 0;

    send_raw(s, "\xc1\xc1\xc1 garbage", 11, 0), sent++;

    struct ev e = mk(EV_SPAWN, RUN_A, 7);
    snprintf(e.host, sizeof e.host, "h9");
    e.seq = 1;
    int n = ev_encode(&e, buf, sizeof buf);
    send_raw(s, buf, (size_t)n / 2, 0), sent++; /* truncated */
    buf[n] = '\0';
    send_raw(s, buf, (size_t)n + 1, 0), sent++; /* a trailing byte */
    send_raw(s, buf, (size_t)n, ZMQ_SNDMORE);   /* two payload frames */
    send_raw(s, buf, (size_t)n, 0), sent++;
    send_raw(s, "", 0, 0), sent++; /* empty */
    memset(buf, 'x', EV_MAX_BYTES + 100);
    send_raw(s, buf, EV_MAX_BYTES + 100, 0), sent++; /* over EV_MAX_BYTES */

    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
#define SEND_SB()                                                                                  \
    do {                                                                                           \
        send_raw(s, sb.data, sb.size, 0);                                                          \
        sent++;                                                                                    \
        msgpack_sbuffer_clear(&sb);                                                                \
    } while (0)
    msgpack_pack_array(&pk, 2); /* not a map */
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    SEND_SB();
    msgpack_pack_map(&pk, 6); /* wrong types: host is a number, seq a string */
    pack_kv_int(&pk, "v", 1);
    pack_kv_str(&pk, "type", "heartbeat");
    pack_kv_int(&pk, "host", 5);
    pack_kv_str(&pk, "seq", "1");
    pack_kv_int(&pk, "tm", 1);
    pack_kv_int(&pk, "tr", 1);
    SEND_SB();
    msgpack_pack_map(&pk, 2); /* unknown type */
    pack_kv_int(&pk, "v", 1);
    pack_kv_str(&pk, "type", "bogus");
    SEND_SB();
    msgpack_pack_map(&pk, 2); /* another protocol version */
    pack_kv_int(&pk, "v", 2);
    pack_kv_str(&pk, "type", "heartbeat");
    SEND_SB();
    msgpack_pack_map(&pk, 4); /* a type only the collector sends */
    pack_kv_int(&pk, "v", 1);
    pack_kv_str(&pk, "type", "ack");
    pack_kv_str(&pk, "host", "h9");
    pack_kv_int(&pk, "ack", 3);
    SEND_SB();
    msgpack_pack_map(&pk, 6); /* missing required keys (run, guest, running) */
    pack_kv_int(&pk, "v", 1);
    pack_kv_str(&pk, "type", "spawn");
    pack_kv_str(&pk, "host", "h9");
    pack_kv_int(&pk, "seq", 1);
    pack_kv_int(&pk, "tm", 1);
    pack_kv_int(&pk, "tr", 1);
    SEND_SB();
    e = mk(EV_SPAWN, "", 0); /* an empty run id */
    snprintf(e.host, sizeof e.host, "h9");
    e.seq = 1;
    n = ev_encode(&e, buf, sizeof buf);
    send_raw(s, buf, (size_t)n, 0), sent++;
    msgpack_sbuffer_destroy(&sb);

    /* beyond ZMQ_MAXMSGSIZE: libzmq drops the connection, nothing reaches the collector */
    void *huge = bzmq_socket(ZMQ_DEALER, endpoint, 0, err, sizeof err);
    CHECK(huge, "%s", err);
    char *big = calloc(1, 200000);
    send_raw(huge, big, 200000, 0);
    free(big);

    long long got = bad_count_at_least(bad0 + sent);
    CHECK(got == bad0 + sent, "bad_messages %lld, want %lld", got, bad0 + sent);
    /* One more bad message on the same connection, after the others: once it is
     * counted, every earlier one has been read, so the count holds no late extra. */
    send_raw(s, "\xc1", 1, 0), sent++;
    got = bad_count_at_least(bad0 + sent);
    assert_alive();
    CHECK(got == bad0 + sent, "bad_messages %lld after the last one, want %lld", got, bad0 + sent);
    zmq_close(s);
    zmq_close(huge);

    struct ev m = mk(EV_MEM, RUN_A, -1);
    m.mem_used_kib = 2000000;
    m.rss_kib = 3000;
    m.running = 3;
    l_send(l, &m);
    l_wait_ack(l, m.seq);
    CHECK(num("HGET bs:{%s}:agg peak_mem_kib:h1", RUN_A) == 2000000, "mem after the bad ones");
    CHECK(num("XLEN bs:{%s}:mem:h1", RUN_A) == 1, "mem stream");
    printf(
        "PASS (c) %d malformed messages counted and dropped, collector alive, next event stored\n",
        sent);
}

/* ---- (d) a gap ---- */

static void test_gap(struct launcher *l)
{
    struct ev rs = mk_run_start(RUN_B, 1, "interval");
    l_send(l, &rs);
    l_wait_ack(l, rs.seq);
    l_settle(l);
    int64_t base = l->acked;

    struct ev sp = mk(EV_SPAWN, RUN_B, 0), sd = mk(EV_SPAWNED, RUN_B, 0);
    sp.seq = base + 1;
    sp.lag_ns = 2500000;
    sd.seq = base + 2;
    sd.pid = 4242;
    l_send(l, &sd); /* base + 1 is missing */
    CHECK(l_next_ack(l) == base, "ack past the gap");
    int found;
    guest_of(RUN_B, "h1", 0, &found);
    CHECK(!found, "event past the gap was stored");
    CHECK(num("HGET bs:{%s}:seq h1", RUN_B) == base, "seq moved past the gap");

    l_send(l, &sp); /* the launcher resends from its oldest unacked */
    l_send(l, &sd);
    l->seq = sd.seq;
    l_wait_ack(l, sd.seq);
    CHECK(num("HGET bs:{%s}:agg spawned", RUN_B) == 1, "spawn lost");
    struct agg_guest g = guest_of(RUN_B, "h1", 0, &found);
    CHECK(found && !strcmp(g.state, "running"), "guest h1:0 '%s', want running", g.state);
    CHECK(g.pid == 4242, "pid %lld", g.pid);
    expect_str("2.5", "ZSCORE bs:{%s}:lag h1:0", RUN_B);
    CHECK(num("LLEN bs:{%s}:ev", RUN_B) == 3, "stream");
    printf("PASS (d) an event after a gap is held back until the gap is filled\n");
}

/* ---- (e) collector killed and restarted ---- */

static void test_restart(struct launcher *l)
{
    struct ev evs[16];
    int n = 0;
    evs[n++] = mk_run_start(RUN_C, 4, "burst");
    for (int g = 0; g < 4; g++) {
        evs[n] = mk(EV_SPAWN, RUN_C, g);
        evs[n++].running = g;
    }
    int first_ready = n;
    for (int g = 0; g < 4; g++) {
        evs[n] = mk(EV_READY, RUN_C, g);
        evs[n++].boot_ns = 50 * NS_PER_MS;
    }
    evs[n] = mk(EV_MEM, RUN_C, -1);
    evs[n].mem_used_kib = 500;
    evs[n].rss_kib = 10;
    evs[n++].running = 4;
    evs[n] = mk(EV_RUN_END, RUN_C, -1);
    evs[n++].ready = 4;
    for (int i = 0; i < first_ready; i++)
        l_send(l, &evs[i]);
    l_wait_ack(l, evs[first_ready - 1].seq);
    for (int i = first_ready; i < first_ready + 4; i++)
        l_send(l, &evs[i]);
    l_wait_ack(l, evs[first_ready + 3].seq);
    CHECK(num("HGET bs:{%s}:agg ready", RUN_C) == 4, "ready before the kill");

    kill(coll_pid, SIGKILL);
    waitpid(coll_pid, NULL, 0);
    coll_pid = 0;
    zmq_close(l->sock); /* the launcher reconnects; what it had queued is gone */
    start_collector();
    l_open(l, "h1");
    /* the acks of the ready events are taken as lost: resend from the first ready */
    for (int i = first_ready; i < n; i++)
        l_send(l, &evs[i]);
    l_wait_ack(l, evs[n - 1].seq);
    CHECK(num("HGET bs:{%s}:agg ready", RUN_C) == 4, "ready counted twice");
    CHECK(num("HGET bs:{%s}:agg spawned", RUN_C) == 4, "spawned");
    CHECK(num("ZCARD bs:{%s}:boot", RUN_C) == 4, "boot zset");
    expect_str("200", "HGET bs:{%s}:agg boot_sum_ms", RUN_C);
    CHECK(num("HGET bs:{%s}:meta hosts_done", RUN_C) == 1, "hosts_done");
    CHECK(num("XLEN bs:{%s}:mem:h1", RUN_C) == 1, "mem stream");
    CHECK(num("LLEN bs:{%s}:ev", RUN_C) == n, "stream");
    printf("PASS (e) SIGKILL + restart + resend of acked events: exact counts\n");
}

/* ---- (f) CLI commands ---- */

static struct ev cli_call(void *cli, struct ev *req)
{
    CHECK(bzmq_send_ev(cli, NULL, 0, req) == 0, "cli send");
    zmq_pollitem_t pi = {cli, 0, ZMQ_POLLIN, 0};
    CHECK(zmq_poll(&pi, 1, 5000) == 1, "no reply to %s", ev_type_name(req->type));
    char buf[EV_MAX_BYTES], err[256];
    struct ev r;
    int n = zmq_recv(cli, buf, sizeof buf, 0);
    CHECK(n > 0 && ev_decode(buf, (size_t)n, &r, err, sizeof err) == 0 && r.type == EV_REPLY,
          "bad reply: %s", err);
    return r;
}

static void test_control(struct launcher *l)
{
    char err[256];
    void *cli = bzmq_socket(ZMQ_DEALER, endpoint, 0, err, sizeof err);
    CHECK(cli, "%s", err);
    struct ev hb = mk(EV_HEARTBEAT, "", -1);
    l_send(l, &hb);
    l_wait_ack(l, hb.seq);

    struct ev st = mk(EV_START, RUN_D, -1);
    st.count = 2;
    st.timeout_s = 30;
    snprintf(st.kind, sizeof st.kind, "minkernel");
    snprintf(st.backend, sizeof st.backend, "process");
    snprintf(st.accel, sizeof st.accel, "auto");
    snprintf(st.pattern, sizeof st.pattern, "burst");
    snprintf(st.hosts, sizeof st.hosts, "all");
    struct ev r = cli_call(cli, &st);
    CHECK(r.ok == 1 && r.count == 1 && !strcmp(r.hosts, "h1") && !strcmp(r.run, RUN_D),
          "start reply: ok %lld count %lld hosts '%s' error '%s'", (long long)r.ok,
          (long long)r.count, r.hosts, r.error);
    struct ev got;
    do
        CHECK(l_recv(l, &got, 5000) == 0, "the launcher got no start");
    while (got.type == EV_ACK);
    CHECK(got.type == EV_START && !strcmp(got.run, RUN_D) && !strcmp(got.host, "h1") &&
              got.count == 2,
          "forwarded: %s", ev_type_name(got.type));
    expect_str("ctl-two", "HGET bs:{%s}:meta name", RUN_D);
    expect_str("h1", "HGET bs:{%s}:meta hosts", RUN_D);
    CHECK(num("HGET bs:{%s}:meta hosts_expected", RUN_D) == 1, "hosts_expected");
    CHECK(num("HGET bs:{%s}:meta count", RUN_D) == 2, "count");
    redisReply *z = cmd("ZSCORE bs:runs %s", RUN_D);
    CHECK(z->type == REDIS_REPLY_STRING, "bs:runs");
    freeReplyObject(z);

    r = cli_call(cli, &st);
    CHECK(!r.ok && strstr(r.error, "exists"), "second start of one run: '%s'", r.error);
    snprintf(st.run, sizeof st.run, "%s", "20250101-000301-x-1-ffff");
    snprintf(st.hosts, sizeof st.hosts, "h1,nosuch");
    r = cli_call(cli, &st);
    CHECK(!r.ok && strstr(r.error, "nosuch"), "start on an unknown host: '%s'", r.error);
    CHECK(num("EXISTS bs:{%s}:meta", st.run) == 0, "meta of a refused run");
    snprintf(st.hosts, sizeof st.hosts, "pool:po:ol");
    r = cli_call(cli, &st);
    CHECK(!r.ok && strstr(r.error, "bad pool name 'po:ol'"), "a bad pool name: '%s'", r.error);
    snprintf(st.hosts, sizeof st.hosts, "h1");
    snprintf(st.run, sizeof st.run, "%s", "20250101-000302-x\n-1-ffff");
    r = cli_call(cli, &st);
    CHECK(!r.ok && strstr(r.error, "bad run id"), "a raw start with a bad run id: '%s'", r.error);

    /* A raw start beyond the limits the CLI applies (bslimits.h): refused by the codec,
     * logged with its reason, never forwarded or stored. */
    int bad_before = log_count("bad message from peer");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 7);
    pack_kv_int(&pk, "v", 1);
    pack_kv_str(&pk, "type", "start");
    pack_kv_str(&pk, "run", "20250101-000303-huge-1-ffff");
    pack_kv_str(&pk, "hosts", "h1");
    pack_kv_str(&pk, "kind", "minkernel");
    pack_kv_int(&pk, "count", 16777216);
    pack_kv_int(&pk, "timeout_s", 30);
    send_raw(cli, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    wait_log_more("bad message from peer", bad_before);
    CHECK(log_count("count") > 0, "the refusal does not name count");
    CHECK(num("EXISTS bs:{20250101-000303-huge-1-ffff}:meta") == 0, "a start beyond the limits");

    struct ev ab = mk(EV_ABORT, RUN_D, -1);
    r = cli_call(cli, &ab);
    CHECK(r.ok == 1 && r.count == 1, "abort reply");
    do
        CHECK(l_recv(l, &got, 5000) == 0, "the launcher got no abort");
    while (got.type == EV_ACK);
    CHECK(got.type == EV_ABORT && !strcmp(got.run, RUN_D), "forwarded abort");
    zmq_close(cli);
    printf("PASS (f) start/abort relayed, meta written, bad starts refused\n");
}

/* ---- throughput, informative ---- */

static void test_throughput(struct launcher *l1)
{
    enum { N = 20000 };
    struct launcher l2 = {0};
    l_open(&l2, "h2");
    struct ev rs1 = mk_run_start(RUN_E, N / 2, "burst"), rs2 = rs1;
    l_send(l1, &rs1);
    l_send(&l2, &rs2);
    l_wait_ack(l1, rs1.seq);
    l_wait_ack(&l2, rs2.seq);
    mono_ns t0 = clock_mono();
    for (int g = 0; g < N / 2; g++) {
        struct ev a = mk(EV_SPAWN, RUN_E, g), b = a;
        l_send(l1, &a);
        l_send(&l2, &b);
    }
    l_wait_ack(l1, l1->seq);
    l_wait_ack(&l2, l2.seq);
    double s = (double)mono_diff(t0, clock_mono()) / 1e9;
    CHECK(num("HGET bs:{%s}:agg spawned", RUN_E) == N, "spawned");
    printf("INFO %d events from 2 launchers stored and acked in %.3f s: %.0f events/s\n", N, s,
           N / s);
    zmq_close(l2.sock);
}

/* ---- (g) a range the launcher no longer has: a lost event, never a stall ---- */

static void test_lost_range(void)
{
    struct launcher l = {0};
    l_open(&l, "h4");
    struct ev hb = mk(EV_HEARTBEAT, "", -1);
    l_send(&l, &hb);
    l_wait_ack(&l, 1);
    struct ev e = mk(EV_HEARTBEAT, "", -1);
    e.seq = 3; /* 2 is never sent */
    l_send(&l, &e);
    CHECK(l_next_ack(&l) == 1, "ack past a hole");
    struct ev lost = mk(EV_LOST, "", -1);
    lost.seq = lost.from = 2;
    l_send(&l, &lost);
    l_send(&l, &e);
    l_wait_ack(&l, 3);
    zmq_close(l.sock);
    printf("PASS (g) a hole the launcher says is lost is passed at once\n");
}

/* ---- (j) the reproduction: a bounded outbox drops events while the collector is away ---- */

static void outbox_drain_acks(void *s, struct outbox *ob)
{
    zmq_pollitem_t pi = {s, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&pi, 1, 100) > 0) {
        char buf[EV_MAX_BYTES], err[256];
        struct ev a;
        int n = zmq_recv(s, buf, sizeof buf, 0);
        if (n > 0 && ev_decode(buf, (size_t)n, &a, err, sizeof err) == 0 && a.type == EV_ACK)
            outbox_ack(ob, a.ack);
    }
}

static void test_outbox_drops(void)
{
    const char *run = RUN_F;
    char err[256];
    void *s = zmq_socket(bzmq_ctx(), ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    struct outbox *ob = outbox_open(s, "h5", NULL, 4, err, sizeof err);
    CHECK(ob, "%s", err);
    /* not connected: everything stays in the outbox, which keeps only 4 */
    struct ev e = mk(EV_HELLO, "", -1);
    e.cores = 1;
    snprintf(e.backends, sizeof e.backends, "process");
    snprintf(e.version, sizeof e.version, "%s", BS_VERSION);
    outbox_push(ob, &e);
    int64_t prev = 0;
    e = mk_run_start(run, 6, "burst");
    prev = outbox_push(ob, &e);
    for (int g = 0; g < 6; g++) {
        e = mk(EV_SPAWN, run, g);
        e.running = g;
        e.prev = prev; /* chained as launcher/run.c does */
        prev = outbox_push(ob, &e);
    }
    CHECK(outbox_pending(ob) == 5, "pending %zu: 4 events and one lost marker", outbox_pending(ob));
    CHECK(zmq_connect(s, endpoint) == 0, "connect");
    for (int i = 0; i < 50 && outbox_pending(ob); i++) {
        outbox_tick(ob, 0);
        outbox_drain_acks(s, ob);
    }
    CHECK(outbox_pending(ob) == 0, "stalled: %zu events never acked", outbox_pending(ob));
    CHECK(num("HGET bs:{%s}:agg lost", run) == 3, "lost: run_start and 2 spawns");
    CHECK(num("HGET bs:{%s}:hagg:h5 lost", run) == 3, "lost per host");
    CHECK(num("HGET bs:{%s}:agg spawned", run) == 4, "the 4 spawns kept");
    e = mk(EV_RUN_END, run, -1);
    e.prev = prev;
    outbox_push(ob, &e);
    for (int i = 0; i < 50 && outbox_pending(ob); i++)
        outbox_drain_acks(s, ob);
    CHECK(outbox_pending(ob) == 0, "the event after the loss was not acked");
    CHECK(num("HGET bs:{%s}:meta hosts_done", run) == 1, "run_end after the loss");
    outbox_free(ob);
    zmq_close(s);
    printf("PASS (j) a bounded outbox dropped 4 events: no stall, 3 run events counted lost\n");
}

/* A launcher of another major version is refused with the reason, and not stored. */
static void test_version_refused(void)
{
    struct launcher l = {0};
    l_open(&l, "hv");
    struct ev hello = mk(EV_HELLO, "", -1);
    hello.cores = 1;
    snprintf(hello.backends, sizeof hello.backends, "qemu");
    snprintf(hello.version, sizeof hello.version, "99.0.0");
    l_send(&l, &hello);
    struct ev r;
    CHECK(l_recv(&l, &r, 3000) == 0, "no answer to a hello of another version");
    CHECK(r.type == EV_REPLY && !r.ok && strstr(r.error, "99.0.0") && strstr(r.error, "refused"),
          "expected a refusal naming the version, got %s '%s'", ev_type_name(r.type), r.error);
    CHECK(num("SISMEMBER bs:hosts hv") == 0, "a refused launcher was registered");
    zmq_close(l.sock);
    /* not MAJOR.MINOR.PATCH: "x" and "" once passed as major 0 */
    static const char *const bad[] = {"x", "", "0", "0.1", "0.1.x", "0x0.1.0", "0.1.0.1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct launcher b = {0};
        char id[16];
        snprintf(id, sizeof id, "hv%zu", i);
        l_open(&b, id);
        snprintf(hello.host, sizeof hello.host, "%s", id);
        snprintf(hello.version, sizeof hello.version, "%s", bad[i]);
        l_send(&b, &hello);
        CHECK(l_recv(&b, &r, 3000) == 0 && r.type == EV_REPLY && !r.ok,
              "version '%s' was not refused", bad[i]);
        zmq_close(b.sock);
    }
    printf(
        "PASS (i) a launcher of another major version, or of no strict version, is refused: %s\n",
        r.error);
}

/* ---- (h) Redis down at start and in the middle ---- */

/* A redis-server of our own on port, appending every write to its AOF at once so a
 * SIGKILL loses nothing. */
static void start_redis2(int port)
{
    char p[16], dir[512];
    snprintf(p, sizeof p, "%d", port);
    snprintf(dir, sizeof dir, "%s/redis2", tmp_dir);
    mkdir(dir, 0755);
    redis2_pid = fork();
    CHECK(redis2_pid >= 0, "fork");
    if (redis2_pid == 0) {
        char logf[600];
        snprintf(logf, sizeof logf, "%s/redis2.log", tmp_dir);
        int fd = open(logf, O_WRONLY | O_CREAT | O_APPEND, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execlp("redis-server", "redis-server", "--port", p, "--bind", "127.0.0.1", "--dir", dir,
               "--save", "", "--appendonly", "yes", "--appendfsync", "always", (char *)NULL);
        _exit(127);
    }
}

static void test_redis_outage(void)
{
    int port = free_port();
    char url[64];
    snprintf(url, sizeof url, "redis://127.0.0.1:%d", port);
    int failed0 = log_count("retrying every");
    start_collector_on(url);
    wait_log_more("retrying every", failed0); /* it tried Redis, found none */
    assert_alive();
    CHECK(access(ready_path, F_OK) != 0, "ready before Redis was up");
    start_redis2(port);
    wait_ready();

    char err[256];
    redisContext *r2 = NULL;
    for (int i = 0; i < 100 && !r2; i++, sleep_ms(50))
        r2 = bredis_connect(url, 2000, err, sizeof err);
    CHECK(r2, "%s", err);
    create_run(r2, RUN_B);
    struct launcher l = {0};
    l_open(&l, "h3");
    struct ev evs[8];
    int n = 0;
    evs[n++] = mk_run_start(RUN_B, 4, "burst");
    for (int g = 0; g < 4; g++) {
        evs[n] = mk(EV_SPAWN, RUN_B, g);
        evs[n++].running = g;
    }
    for (int i = 0; i < 3; i++)
        l_send(&l, &evs[i]);
    l_wait_ack(&l, evs[2].seq);

    kill_pid(&redis2_pid, SIGKILL);
    for (int i = 3; i < n; i++)
        l_send(&l, &evs[i]);
    l_settle(&l);
    CHECK(l.acked == evs[2].seq, "acked %lld with Redis down", (long long)l.acked);
    assert_alive();

    int conn0 = log_count("connected, function library loaded");
    start_redis2(port);
    wait_log_more("connected, function library loaded", conn0); /* the collector is back */
    for (int i = 3; i < n; i++) /* resend after a silence, from the oldest unacked */
        l_send(&l, &evs[i]);
    for (int i = 0; i < 100 && l.acked < evs[n - 1].seq; i++) {
        l_settle(&l);
        for (int j = 3; j < n && l.acked < evs[n - 1].seq; j++)
            if (evs[j].seq > l.acked)
                l_send(&l, &evs[j]);
    }
    CHECK(l.acked == evs[n - 1].seq, "acked %lld after Redis came back", (long long)l.acked);
    redisFree(r2);
    r2 = bredis_connect(url, 2000, err, sizeof err);
    CHECK(r2, "%s", err);
    redisReply *x = redisCommand(r2, "HGET bs:{%s}:agg spawned", RUN_B);
    CHECK(x && x->type == REDIS_REPLY_STRING && !strcmp(x->str, "4"), "spawned after the outage");
    freeReplyObject(x);
    redisFree(r2);
    zmq_close(l.sock);
    kill_pid(&coll_pid, SIGTERM);
    kill_pid(&redis2_pid, SIGTERM);
    printf("PASS (h) Redis down at start and in mid-run: no ack while down, all stored after\n");
}

int main(void)
{
    const char *build = getenv("BS_BUILD"), *tmp = tmp_dir = getenv("BS_TMP");
    redis_url = getenv("BS_REDIS_URL");
    CHECK(build && tmp && redis_url, "BS_BUILD, BS_TMP and BS_REDIS_URL must be set");
    atexit(kill_all);
    signal(SIGPIPE, SIG_IGN);
    snprintf(coll_bin, sizeof coll_bin, "%s/bin/bootstorm-collector", build);
    snprintf(ready_path, sizeof ready_path, "%s/collector.ready", tmp);
    snprintf(log_path, sizeof log_path, "%s/collector.log", tmp);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", free_port());
    char err[256];
    rc = bredis_connect(redis_url, 5000, err, sizeof err);
    CHECK(rc, "%s", err);

    start_collector();
    const char *runs[] = {RUN_A, RUN_B, RUN_C, RUN_E, RUN_G, RUN_F};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
        create_run(rc, runs[i]);
    struct launcher l = {0};
    l_open(&l, "h1");
    test_basic_and_idempotence(&l);
    test_no_such_run(&l);
    test_malformed(&l);
    test_gap(&l);
    test_restart(&l);
    test_control(&l);
    test_throughput(&l);
    test_lost_range();
    test_outbox_drops();
    test_version_refused();

    kill(coll_pid, SIGTERM);
    int status;
    CHECK(waitpid(coll_pid, &status, 0) == coll_pid, "waitpid");
    coll_pid = 0;
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "collector exit status %d", status);
    zmq_close(l.sock);
    test_redis_outage();
    bzmq_term();
    redisFree(rc);
    printf("PASS test_collector\n");
    return 0;
}
