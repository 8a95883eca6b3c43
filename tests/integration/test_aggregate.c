/* The aggregator against a real Redis holding runs laid out exactly as redis/SCHEMA.md
 * says the collector leaves them: exact nearest-rank percentiles, mean, time until all
 * ready, failures by reason, memory, "last", text/JSON output, waiting for the end.
 * Needs BS_REDIS_URL and BS_TMP (tests/integration/run-c-test.sh). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agg.h"
#include "bredis.h"
#include "event.h"

static int failures;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                        \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)
#define CHECK_NUM(got, want)                                                                       \
    CHECK(fabs((double)(got) - (double)(want)) < 1e-9, "%s = %.9g, want %.9g", #got,               \
          (double)(got), (double)(want))
#define FATAL(...) (fprintf(stderr, "FATAL: " __VA_ARGS__), fputc('\n', stderr), exit(1))

static const char *A = "20240101-000000-storm-102-aaaa"; /* 1 host, 100 ready + 2 failed */
static const char *B =
    "20240101-000100-spread-4-bbbb"; /* 2 hosts, interval, one launcher still running */
static const char *C = "20231231-000000-empty-8-cccc"; /* started, nothing happened */
/* D, not in bs:runs: a host missed the start, events were lost, 16 ready in 1.1 s */
static const char *D = "20240101-000200-lost-16-dddd";

/* Runs one command and dies on a transport or error reply: setup must not fail. */
static void rcmd(redisContext *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r || r->type == REDIS_REPLY_ERROR)
        FATAL("redis '%s': %s", fmt, r ? r->str : c->errstr);
    freeReplyObject(r);
}

static void populate(redisContext *c)
{
    rcmd(c, "FLUSHALL");
    /* A: boot times 1..100 ms inserted in a scrambled order (37 is coprime with 100). */
    rcmd(c, "ZADD bs:runs 1704067200000 %s", A);
    rcmd(
        c,
        "HSET bs:{%s}:meta run %s name storm kind minkernel backend qemu accel auto count 102 "
        "pattern burst interval_ms 0 hold_s 2 timeout_s 60 created_tr 1704067200000000000 hosts h1 "
        "hosts_expected 1 accel:h1 kvm kvm:h1 1 prio:h1 0 mem_base_kib:h1 1048576 start_tr:h1 1 "
        "hosts_started 1 hosts_done 1 end_tr:h1 2 cpu_ms:h1 500 rss_kib:h1 20480",
        A, A);
    for (int i = 0; i < 100; i++) {
        int g = (i * 37) % 100;
        rcmd(c, "ZADD bs:{%s}:boot %d h1:%d", A, g + 1, g);
    }
    rcmd(c,
         "HSET bs:{%s}:agg spawned 102 ready 100 failed 2 failed:timeout 1 failed:crash 1 exited 0 "
         "boot_min_ms 1 boot_max_ms 100 boot_sum_ms 5050 first_spawn_tm:h1 1000000000 "
         "last_ready_tm:h1 1123456789 first_spawn_tr 5 last_ready_tr 6 "
         "peak_mem_kib:h1 2093056 peak_mem_kib 2093056 peak_rss_kib:h1 1000000",
         A); /* peak = base + 102 * 10 MiB */
    /* A's PSS samples (agg_mem.c): one asked while spawns were coming back (1 read, its
     * shared pages divided among few: too high per guest), the whole fleet's (32 of
     * 102 read), one of fewer running, one later with less PSS: the whole fleet's wins */
    const int mem[][4] = {/* tr, running, pss_kib, pss_n */
                          {10, 102, 20000, 1},
                          {20, 102, 448000, 32},
                          {30, 50, 750000, 50},
                          {40, 102, 440000, 32}};
    for (int i = 0; i < 4; i++)
        rcmd(c, "XADD bs:{%s}:mem:h1 * tm 1 used_kib 1 rss_kib 1 tr %d running %d pss_kib %d pss_n %d",
             A, mem[i][0], mem[i][1], mem[i][2], mem[i][3]);

    /* B: two hosts, different accelerators and clocks; h2 done, h1 not yet. */
    rcmd(c, "ZADD bs:runs 1704067260000 %s", B);
    rcmd(
        c,
        "HSET bs:{%s}:meta run %s name spread kind linux backend qemu accel auto count 4 pattern "
        "interval "
        "interval_ms 5 created_tr 1704067260000000000 hosts h1,h2 hosts_expected 2 "
        "accel:h1 kvm accel:h2 tcg mem_base_kib:h1 1000000 mem_base_kib:h2 2500000 hosts_started 2 "
        "hosts_done 1 cpu_ms:h2 250 rss_kib:h2 4096",
        B, B);
    rcmd(c, "HSET bs:{%s}:meta error:h2 %s", B, "qemu said \"no\"\tat\\x \xff\x01 caf\xc3\xa9");
    rcmd(c, "ZADD bs:{%s}:boot 10 h1:0 20 h1:1 30 h1:2 40 h2:0 50 h2:1 60 h2:2", B);
    rcmd(c, "ZADD bs:{%s}:lag 1 h1:0 2 h1:1 3 h1:2 4 h1:3 5 h2:0 6 h2:1 7 h2:2 8 h2:3", B);
    rcmd(c,
         "HSET bs:{%s}:agg spawned 8 ready 6 failed 2 failed:spawn 1 failed:oom 1 boot_sum_ms 210 "
         "first_spawn_tm:h1 5000000000 last_ready_tm:h1 5030000000 "
         "first_spawn_tm:h2 7000000000 last_ready_tm:h2 7250000000 "
         "peak_mem_kib:h1 2000000 peak_mem_kib:h2 3000000 peak_mem_kib 3000000",
         B);

    /* C: older, only meta. */
    rcmd(c, "ZADD bs:runs 1703980800000 %s", C);
    rcmd(c,
         "HSET bs:{%s}:meta run %s name empty kind osv backend libvirt accel tcg count 8 pattern "
         "burst "
         "hosts h1 hosts_expected 1 hosts_started 0",
         C, C);
}

/* An event of guest idx of host h1 of run at monotonic tm (realtime a fixed offset
 * from it), ready to have its type's fields set. */
static struct ev event_of(const char *run, enum ev_type type, int64_t idx, int64_t tm)
{
    struct ev e;
    ev_init(&e, type);
    snprintf(e.host, sizeof e.host, "h1");
    snprintf(e.run, sizeof e.run, "%s", run);
    e.seq = 1;
    e.guest = idx;
    e.tm.ns = tm;
    e.tr.ns = 1704067200000000000LL + tm;
    return e;
}

/* Appends e to its run's ev list, encoded by the launcher's codec (the aggregator folds
 * guests, phases and rates from ev). */
static void push(redisContext *c, const struct ev *e)
{
    char buf[1024];
    int n = ev_encode(e, buf, sizeof buf);
    redisReply *r = n > 0 ? redisCommand(c, "RPUSH bs:{%s}:ev %b", e->run, buf, (size_t)n) : NULL;
    CHECK(r && r->type == REDIS_REPLY_INTEGER, "RPUSH of an encoded %s", ev_type_name(e->type));
    if (r)
        freeReplyObject(r);
}

/* A spawn or a ready (booted in tm - 1 s) of guest idx of h1 at tm. */
static void push_event(redisContext *c, const char *run, enum ev_type type, int idx, int64_t tm)
{
    struct ev e = event_of(run, type, idx, tm);
    e.boot_ns = type == EV_READY ? tm - 1000000000 : 0;
    push(c, &e);
}

/* D: the first missing:HOST line is not "HOST: why" (a host id holding a newline), the
 * launcher dropped events (agg `lost`), 16 ready in 1.1 s with 11 in the first second. */
static void populate_d(redisContext *c)
{
    rcmd(c,
         "HSET bs:{%s}:meta run %s name lost kind minkernel backend qemu accel kvm count 16 "
         "pattern burst hosts h1,h2 hosts_expected 2 hosts_done 1 hosts_lost 1",
         D, D);
    rcmd(c, "HSET bs:{%s}:meta %s %s", D, "missing:a\nb", "pool member not connected");
    rcmd(c, "HSET bs:{%s}:meta missing:h2 %s", D, "missed the start: no run_start");
    rcmd(c,
         "HSET bs:{%s}:agg spawned 16 ready 16 failed 0 lost 7 boot_sum_ms 160 "
         "first_spawn_tm:h1 1000000000 last_ready_tm:h1 2100000000",
         D);
    for (int i = 0; i < 16; i++) {
        rcmd(c, "ZADD bs:{%s}:boot %d h1:%d", D, 10, i);
        /* its events, as the launcher sent them: 11 ready in the first second */
        int64_t ready = i < 11 ? 1500000000 : 2100000000;
        push_event(c, D, EV_SPAWN, i, 1000000000);
        push_event(c, D, EV_READY, i, ready);
    }
}

/* Writes the output of fn(r) to a file in BS_TMP and runs python3 on it with the
 * checks in py (d is the parsed object). Returns the exit status of python3. */
static int json_check(const struct agg_run *r, const char *name, const char *py)
{
    char path[512], cmd[4096];
    snprintf(path, sizeof path, "%s/%s.json", getenv("BS_TMP") ? getenv("BS_TMP") : "/tmp", name);
    FILE *f = fopen(path, "w");
    if (!f)
        FATAL("cannot write %s", path);
    agg_print_json(r, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); %s' %s",
             py, path);
    int st = system(cmd);
    if (st != 0) {
        fprintf(stderr, "JSON check of %s failed; the object was:\n", name);
        snprintf(cmd, sizeof cmd, "cat %s >&2", path);
        if (system(cmd) != 0)
            fprintf(stderr, "(cannot show it)\n");
    }
    return st;
}

/* agg_print_text's output with runs of spaces squashed to one, so checks do not
 * depend on column widths. Caller frees. */
static char *text_of(const struct agg_run *r)
{
    char *buf = NULL, *d, *s;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        FATAL("open_memstream");
    agg_print_text(r, f);
    fclose(f);
    for (d = s = buf; *s; s++)
        if (*s != ' ' || d == buf || d[-1] != ' ')
            *d++ = *s;
    *d = '\0';
    return buf;
}

static void test_run_a(redisContext *c)
{
    struct agg_run r;
    char err[256] = "";
    CHECK(agg_load(c, A, &r, err, sizeof err) == 0, "load A: %s", err);
    CHECK(!strcmp(r.run, A) && !strcmp(r.kind, "minkernel") && !strcmp(r.backend, "qemu"),
          "ids: %s %s %s", r.run, r.kind, r.backend);
    CHECK(!strcmp(r.accel, "auto") && !strcmp(r.accel_used, "kvm"), "accel %s used %s", r.accel,
          r.accel_used);
    CHECK_NUM(r.total, 102);
    CHECK_NUM(r.ready, 100);
    CHECK_NUM(r.failed, 2);
    CHECK_NUM(r.boot_n, 100);
    CHECK_NUM(r.boot_min_ms, 1);
    CHECK_NUM(r.boot_p50_ms, 50);
    CHECK_NUM(r.boot_p90_ms, 90);
    CHECK_NUM(r.boot_p99_ms, 99);
    CHECK_NUM(r.boot_max_ms, 100);
    CHECK_NUM(r.boot_mean_ms, 50.5);
    CHECK_NUM(r.all_ready_ms, 123.456789);
    CHECK_NUM(r.failed_timeout, 1);
    CHECK_NUM(r.failed_crash, 1);
    CHECK_NUM(r.failed_spawn, 0);
    CHECK_NUM(r.failed_other, 0);
    CHECK_NUM(r.peak_mem_kib, 2093056);
    CHECK_NUM(r.mem_base_kib, 1048576);
    CHECK_NUM(r.lag_n, 0);
    CHECK_NUM(r.cpu_ms, 500);
    CHECK_NUM(r.rss_kib, 20480);
    CHECK_NUM(r.pss_per_guest_mib, 448000.0 / 32 / 1024);
    CHECK_NUM(r.pss_sampled, 32);
    CHECK_NUM(r.pss_running, 102);
    CHECK(r.complete == 1, "complete %d", r.complete);
    CHECK(r.created_tr == 1704067200000000000LL, "created_tr %lld", (long long)r.created_tr);
    CHECK(r.errors[0] == '\0', "errors '%s'", r.errors);

    char *t = text_of(&r);
    /* one table row: count ready failed min p50 p90 p99 max mean all-ready peak MiB/guest */
    CHECK(
        strstr(t,
               "\nminkernel qemu kvm 102 100 2 1.0 50.0 90.0 99.0 100.0 50.5 123.5 2044.0 10.00\n"),
        "text:\n%s", t);
    CHECK(strstr(t, "1 timeout, 1 crash, 0 spawn, 0 other"), "text failures:\n%s", t);
    free(t);

    CHECK(
        json_check(
            &r, "a",
            "b=d[\"boot_ms\"]; "
            "assert "
            "(b[\"min\"],b[\"p50\"],b[\"p90\"],b[\"p99\"],b[\"max\"],b[\"mean\"])==(1,50,90,99,100,"
            "50.5), b; "
            "assert d[\"run\"]==\""
            "20240101-000000-storm-102-aaaa"
            "\" and d[\"guest\"]==\"minkernel\"; "
            "assert d[\"backend\"]==\"qemu\" and d[\"accel\"]==\"kvm\" and d[\"count\"]==102, d; "
            "assert d[\"hosts\"]==[\"h1\"] and d[\"ready\"]==100 and d[\"failed\"]==2, d; "
            "assert d[\"failed_by_reason\"]=={\"timeout\":1,\"crash\":1,\"spawn\":0,\"other\":0,\"not_started\":0,\"launcher_lost\":0}, "
            "d; "
            "assert abs(d[\"all_ready_ms\"]-123.456789)<1e-6 and d[\"peak_mem_mib\"]==2044, d; "
            "assert d[\"mem_base_mib\"]==1024 and d[\"mem_per_guest_mib\"]==10, d; "
            "assert d[\"lag_ms\"] is None and d[\"complete\"] is True and d[\"errors\"]==[], d") ==
            0,
        "JSON of run A");
}

static void test_run_b(redisContext *c)
{
    struct agg_run r;
    char err[256] = "";
    CHECK(agg_load(c, "last", &r, err, sizeof err) == 0, "load last: %s", err);
    CHECK(!strcmp(r.run, B), "'last' is %s, want the newest %s", r.run, B);
    CHECK(!strcmp(r.accel_used, "mixed"), "accel used %s", r.accel_used);
    CHECK(!strcmp(r.hosts, "h1,h2"), "hosts %s", r.hosts);
    CHECK_NUM(r.total, 8);
    CHECK_NUM(r.boot_min_ms, 10);
    CHECK_NUM(r.boot_p50_ms, 30); /* rank ceil(3) = 3 */
    CHECK_NUM(r.boot_p90_ms, 60); /* rank ceil(5.4) = 6 */
    CHECK_NUM(r.boot_p99_ms, 60);
    CHECK_NUM(r.boot_max_ms, 60);
    CHECK_NUM(r.boot_mean_ms, 35);
    CHECK_NUM(r.all_ready_ms, 250); /* h2's own clock: 250 ms, more than h1's 30 */
    CHECK_NUM(r.failed_spawn, 1);
    CHECK_NUM(r.failed_other, 1);
    CHECK_NUM(r.peak_mem_kib, 3000000);
    CHECK_NUM(r.mem_base_kib, 2500000); /* base of h2, the host that peaked */
    CHECK_NUM(r.lag_n, 8);
    CHECK_NUM(r.lag_p50_ms, 4);
    CHECK_NUM(r.lag_p99_ms, 8);
    CHECK_NUM(r.cpu_ms, 250);
    CHECK(r.complete == 0 && r.hosts_done == 1 && r.hosts_expected == 2, "complete %d %lld/%lld",
          r.complete, r.hosts_done, r.hosts_expected);
    CHECK(!strncmp(r.errors, "h2: qemu said", 13), "errors '%s'", r.errors);
    char *t = text_of(&r);
    CHECK(strstr(t, "INCOMPLETE") && strstr(t, "p50 4.00 ms, p99 8.00 ms") &&
              strstr(t, "\n h2: qemu said") && strstr(t, "created 2024-01-01 00:01:00.000 UTC"),
          "text:\n%s", t);
    free(t);
    CHECK(
        json_check(&r, "b",
                   "assert d[\"accel\"]==\"mixed\" and d[\"hosts\"]==[\"h1\",\"h2\"] and "
                   "d[\"count\"]==8, d; "
                   "assert d[\"boot_ms\"][\"p50\"]==30 and d[\"boot_ms\"][\"mean\"]==35, d; "
                   "assert d[\"lag_ms\"]=={\"p50\":4,\"p99\":8} and d[\"all_ready_ms\"]==250, d; "
                   "assert d[\"failed_by_reason\"][\"other\"]==1 and d[\"complete\"] is False, d; "
                   "assert d[\"errors\"]==[\"h2: qemu said \\\"no\\\"\\tat\\\\x \\ufffd\\x01 "
                   "caf\\u00e9\"], d") == 0,
        "JSON of run B (escaping, U+FFFD for invalid UTF-8)");
}

static void test_run_c_and_errors(redisContext *c)
{
    struct agg_run r;
    char err[256] = "";
    CHECK(agg_load(c, C, &r, err, sizeof err) == 0, "load C: %s", err);
    CHECK(r.boot_n == 0 && r.boot_p50_ms < 0 && r.all_ready_ms < 0 && r.peak_mem_kib < 0 &&
              r.cpu_ms < 0,
          "C has no values: n %lld p50 %g all %g peak %lld", r.boot_n, r.boot_p50_ms,
          r.all_ready_ms, r.peak_mem_kib);
    char *t = text_of(&r);
    CHECK(strstr(t, "\nosv libvirt tcg 8 0 0 - - - - - - - - -\n"), "text of empty run:\n%s", t);
    free(t);
    CHECK(json_check(&r, "c",
                     "assert d[\"boot_ms\"] is None and d[\"all_ready_ms\"] is None and "
                     "d[\"peak_mem_mib\"] is None, d; "
                     "assert d[\"accel\"]==\"tcg\" and d[\"ready\"]==0 and "
                     "d[\"launcher\"][\"cpu_ms\"] is None, d") == 0,
          "JSON of run C");

    CHECK(agg_load(c, "nope", &r, err, sizeof err) == -1, "unknown run loaded");
    CHECK(!strcmp(err, "no run 'nope' in Redis"), "err '%s'", err);
    CHECK(agg_load(c, "a{b}", &r, err, sizeof err) == -1 && strstr(err, "bad run id"), "err '%s'",
          err);
    CHECK(agg_wait_done(c, "nope", 100, err, sizeof err) == -1 && strstr(err, "no run 'nope'"),
          "err '%s'", err);
}

/* The comma bug: "missing" was written with a comma before its first pair whenever
 * the first line was not a pair ({,"b":...}); lost events; the ready rate's wording. */
static void test_run_d(redisContext *c)
{
    struct agg_run r;
    char err[256] = "";
    CHECK(agg_load(c, D, &r, err, sizeof err) == 0, "load D: %s", err);
    CHECK_NUM(r.lost_events, 7);
    CHECK_NUM(r.nmissing, 2);
    char *t = text_of(&r);
    CHECK(strstr(t, "\nlost events: 7 (launcher outbox overflow)\n"), "text:\n%s", t);
    CHECK(strstr(t, " a?b: pool member not connected\n"), "control bytes shown:\n%s", t);
    CHECK(strstr(t, "ready rate: 16 ready in 1.10 s, 14.5 per second; busiest whole second "
                    "counted from the first spawn: 11 ready\n"),
          "text:\n%s", t);
    CHECK(!strstr(t, "on average, at most"), "contradictory wording:\n%s", t);
    free(t);
    CHECK(json_check(&r, "d",
                     "assert d[\"missing\"]=={\"a\\nb\":\"pool member not connected\","
                     "\"h2\":\"missed the start: no run_start\"}, d[\"missing\"]; "
                     "assert d[\"lost_events\"]==7 and d[\"hosts_lost\"]==1, d") == 0,
          "JSON of run D (missing, lost_events)");
    CHECK(agg_load(c, A, &r, err, sizeof err) == 0, "load A: %s", err);
    t = text_of(&r);
    CHECK(!strstr(t, "lost events"), "lost events shown when none:\n%s", t);
    free(t);
    CHECK(json_check(&r, "a0", "assert d[\"lost_events\"]==0, d") == 0, "A: lost_events 0");
}

#define MS 1000000LL

/* The values of phase name in gs, NULL when it has none. */
static const struct agg_phase_values *phase_in(const struct agg_guests *gs, const char *name)
{
    for (int i = 0; i < gs->nphases; i++)
        if (!strcmp(gs->phase[i].name, name))
            return &gs->phase[i];
    return NULL;
}

/* E: the fold of a run's events (agg_events.c). Guest 0 boots (spawned, first output,
 * marker, ready), is restarted (a second generation: its phase fields start again, it
 * goes down and up) and boots without output; guest 2 is ready 31 years after the
 * first spawn (no per-second array up to it); a guest with the largest index the codec
 * allows fails. */
static void populate_e(redisContext *c, const char *run)
{
    struct ev e = event_of(run, EV_SPAWN, 0, 0);
    push(c, &e);
    e = event_of(run, EV_SPAWNED, 0, 10 * MS), e.pid = 100, snprintf(e.accel, 16, "kvm");
    push(c, &e);
    e = event_of(run, EV_FIRST_OUTPUT, 0, 20 * MS), push(c, &e);
    e = event_of(run, EV_MARKER, 0, 25 * MS), snprintf(e.name, sizeof e.name, "entry");
    push(c, &e);
    e = event_of(run, EV_READY, 0, 50 * MS), e.boot_ns = 50 * MS, push(c, &e);
    e = event_of(run, EV_SPAWN, 0, 100 * MS), e.running = 1, push(c, &e);
    e = event_of(run, EV_SPAWNED, 0, 105 * MS), e.pid = 101, snprintf(e.accel, 16, "tcg");
    push(c, &e);
    e = event_of(run, EV_READY, 0, 130 * MS), e.boot_ns = 30 * MS, push(c, &e);
    e = event_of(run, EV_SPAWN, 2, 0), push(c, &e);
    e = event_of(run, EV_READY, 2, 1000000000000000000LL), e.boot_ns = MS, push(c, &e);
    e = event_of(run, EV_SPAWN, (1 << 30), 0), e.running = 1, push(c, &e);
    e = event_of(run, EV_FAILED, (1 << 30), 200 * MS), snprintf(e.reason, 16, "crash");
    push(c, &e);
}

static void test_fold(redisContext *c)
{
    const char *E = "20240101-000300-fold-2-eeee";
    struct agg_guests gs;
    char err[256] = "";
    populate_e(c, E);
    CHECK(agg_guests_load(c, E, &gs, err, sizeof err) == 0, "fold E: %s", err);
    CHECK_NUM((long long)gs.n, 3);
    const struct agg_guest *g = &gs.g[0], *big = &gs.g[2];
    CHECK(g->gen == 1 && !strcmp(g->state, "ready") && !strcmp(g->accel, "tcg") && g->pid == 101,
          "guest 0: gen %lld state %s accel %s pid %lld", g->gen, g->state, g->accel, g->pid);
    CHECK(g->spawned_ms == 5 && g->ready_ms == 30 && g->first_output_ms == -1 &&
              g->marker_ms[0] == -1,
          "guest 0's second generation: spawned %g ready %g output %g marker %g", g->spawned_ms,
          g->ready_ms, g->first_output_ms, g->marker_ms[0]);
    CHECK(big->idx == (1 << 30) && !strcmp(big->state, "failed") && !strcmp(big->reason, "crash"),
          "the last guest: idx %lld state %s reason %s", big->idx, big->state, big->reason);
    const struct agg_phase_values *sp = phase_in(&gs, "spawned"), *fo = phase_in(&gs, "first_output"),
                                  *rd = phase_in(&gs, "ready"), *mk = phase_in(&gs, "m:entry");
    CHECK(sp && sp->n == 2 && sp->v[0] == 10 && sp->v[1] == 5, "phase spawned");
    CHECK(fo && fo->n == 1 && fo->v[0] == 10, "phase first_output (spawned -> output)");
    CHECK(rd && rd->n == 1 && rd->v[0] == 30, "phase ready: only the generation with output");
    CHECK(mk && mk->n == 1 && mk->v[0] == 25, "phase m:entry");
    CHECK(gs.respawned == 1 && gs.naccels == 2 && gs.accels[0].n == 1 && gs.accels[1].n == 1,
          "respawned %lld, %d accels", gs.respawned, gs.naccels);
    CHECK(gs.nupc == 4 && gs.upc[0].all == 1 && gs.upc[1].all == 0 && gs.upc[2].all == 1 &&
              gs.upc[3].all == 2,
          "ready count up, down at the restart, up: %zu changes", gs.nupc);
    CHECK(gs.nbuckets == 2 && gs.peak_ready_1s == 2, "%d buckets, peak %lld", gs.nbuckets,
          gs.peak_ready_1s);
    agg_guests_free(&gs);
    printf("PASS (e) the fold: generations, phases, accels, the ready count, a sparse index, a "
           "far ready\n");
}

static void test_list(redisContext *c)
{
    char *buf = NULL, err[256] = "";
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int n = agg_list_runs(c, f, 0, err, sizeof err);
    fclose(f);
    CHECK(n == 3, "listed %d: %s", n, err);
    char *pa = strstr(buf, A), *pb = strstr(buf, B), *pc = strstr(buf, C);
    CHECK(pa && pb && pc && pb < pa && pa < pc, "runs not newest first:\n%s", buf);
    CHECK(pa && strstr(pa, "100/2") && strstr(pa, "50.0") && strstr(pa, "yes"), "row of A:\n%s",
          buf);
    free(buf);
    buf = NULL;
    f = open_memstream(&buf, &len);
    n = agg_list_runs(c, f, 1, err, sizeof err);
    fclose(f);
    CHECK(n == 1 && strstr(buf, B) && !strstr(buf, A), "limit 1 (%d):\n%s", n, buf);
    free(buf);
}

/* The child of test_wait: once the waiter (client id `waiter`) has polled the run's meta
 * at least once (its last command is the poll, no longer CLIENT ID), B is finished.
 * Returns the exit status: 0 when written, 1 on error or after 10 s of no poll. */
static int finish_mid_wait(const char *url, long long waiter)
{
    char err[256];
    redisContext *w = bredis_connect(url, 2000, err, sizeof err);
    int polled = 0;
    for (int i = 0; w && i < 1000 && !polled; i++) {
        redisReply *l = redisCommand(w, "CLIENT LIST ID %lld", waiter);
        polled = l && l->type == REDIS_REPLY_STRING && strstr(l->str, "cmd=hmget");
        if (l)
            freeReplyObject(l);
        if (!polled)
            usleep(10 * 1000);
    }
    redisReply *rep = polled ? redisCommand(w, "HSET bs:{%s}:meta hosts_done 2", B) : NULL;
    return rep && rep->type == REDIS_REPLY_INTEGER ? 0 : 1;
}

/* B has 1 of 2 launchers done: waiting times out; a writer finishing it mid-wait ends it. */
static void test_wait(redisContext *c, const char *url)
{
    char err[256] = "";
    CHECK(agg_wait_done(c, B, 120, err, sizeof err) == -1, "wait on unfinished run succeeded");
    CHECK(strstr(err, "1 of 2 hosts done"), "err '%s'", err);
    redisReply *id = redisCommand(c, "CLIENT ID");
    CHECK(id && id->type == REDIS_REPLY_INTEGER, "CLIENT ID");
    long long me = id->integer;
    freeReplyObject(id);
    pid_t pid = fork();
    if (pid == 0)
        _exit(finish_mid_wait(url, me));
    CHECK(agg_wait_done(c, B, 5000, err, sizeof err) == 0, "wait: %s", err);
    int st;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "writer child failed");
    struct agg_run r;
    CHECK(agg_load(c, B, &r, err, sizeof err) == 0 && r.complete, "B complete after wait: %s", err);
}

int main(void)
{
    const char *url = getenv("BS_REDIS_URL");
    if (!url)
        FATAL("BS_REDIS_URL is not set (run through tests/integration/run-c-test.sh)");
    char err[256];
    redisContext *c = bredis_connect(url, 2000, err, sizeof err);
    if (!c)
        FATAL("%s", err);

    rcmd(c, "FLUSHALL");
    struct agg_run r;
    CHECK(agg_load(c, "last", &r, err, sizeof err) == -1 && strstr(err, "no run 'last'"),
          "empty: '%s'", err);

    populate(c);
    populate_d(c);
    test_run_a(c);
    test_run_b(c);
    test_run_c_and_errors(c);
    test_run_d(c);
    test_fold(c);
    test_list(c);
    test_wait(c, url);
    redisFree(c);
    if (failures) {
        fprintf(stderr, "test_aggregate: %d check(s) failed\n", failures);
        return 1;
    }
    printf("PASS: test_aggregate\n");
    return 0;
}
