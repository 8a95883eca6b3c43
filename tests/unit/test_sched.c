/* sched: the launch patterns without a single process. Burst (all due at t0),
 * interval due times, concurrency limit, ramp up and down, mass restart, hold, abort,
 * the next due time the loop sleeps until, and when the fleet is whole (its owner's
 * PSS sample) and kept so until the owner lets it go; then random ramps, bursts and
 * intervals against what the trace or the limits ask, tick by tick. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "sched.h"
#include "testrand.h"

#define MS(x) ((int64_t)(x)*NS_PER_MS)

struct owner {
    int created, stopped[64], nstopped, failed[64], nfailed, restarts, restart_count;
    int wholes;       /* ops->whole calls */
    mono_ns whole_at; /* the last one's now */
    int64_t keep_ns;  /* what o_whole asks: keep the fleet this long (0: not) */
};

static int o_create(void *ctx, int idx)
{
    struct owner *o = ctx;
    assert_int_equal(idx, o->created); /* created in index order */
    o->created++;
    return 0;
}
static void o_stop(void *ctx, int idx)
{
    struct owner *o = ctx;
    o->stopped[o->nstopped++] = idx;
}
static void o_fail(void *ctx, int idx)
{
    struct owner *o = ctx;
    o->failed[o->nfailed++] = idx;
}
static void o_restart(void *ctx, int stopped, mono_ns now)
{
    struct owner *o = ctx;
    (void)now;
    o->restarts++;
    o->restart_count = stopped;
}
static mono_ns o_whole(void *ctx, mono_ns now)
{
    struct owner *o = ctx;
    o->wholes++;
    o->whole_at = now;
    return o->keep_ns ? mono_add(now, o->keep_ns) : (mono_ns){0};
}
static const struct sched_ops ops = {o_create, o_stop, o_fail, o_restart, NULL};
static const struct sched_ops kops = {o_create, o_stop, o_fail, o_restart, o_whole};

static mono_ns at(int64_t ms)
{
    return (mono_ns){MS(1000) + MS(ms)}; /* t0 is 1000 ms */
}

/* Takes everything due at now; returns how many. */
static int take_all(struct sched *s, mono_ns now, int *first)
{
    int n = 0, idx;
    while ((idx = sched_take_due(s, now)) >= 0) {
        if (n == 0 && first)
            *first = idx;
        n++;
    }
    return n;
}

/* Spawned and ready, as a guest that boots at once. */
static void boot(struct sched *s, int idx)
{
    assert_int_equal(sched_spawned(s, idx), 1);
    assert_int_equal(sched_ready(s, idx), 1);
}

static void burst(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {.count = 5, .hold_ns = MS(100)};
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    assert_int_equal(o.created, 5);
    assert_int_equal(sched_next_due(&s).ns, at(0).ns);
    assert_int_equal(take_all(&s, at(-1), NULL), 0); /* not before t0 */
    assert_int_equal(take_all(&s, at(0), NULL), 5);
    assert_int_equal(s.booting, 5);
    for (int i = 0; i < 5; i++)
        boot(&s, i);
    assert_int_equal(sched_ready(&s, 0), 0); /* once */
    sched_tick(&s, at(10));                  /* settled at 10: hold until 110 */
    assert_int_equal(sched_next_due(&s).ns, at(110).ns);
    sched_tick(&s, at(109));
    assert_false(s.ending);
    sched_tick(&s, at(110));
    assert_true(s.ending);
    assert_int_equal(o.nstopped, 5);
    assert_false(sched_finished(&s));
    for (int i = 0; i < 5; i++)
        assert_int_equal(sched_gone(&s, i), 1);
    assert_true(sched_finished(&s));
    sched_free(&s);
}

static void interval(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {.count = 4, .interval_ns = MS(50)};
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.in[i].due.ns, at(50 * i).ns);
    int first = -1;
    assert_int_equal(take_all(&s, at(0), &first), 1);
    assert_int_equal(first, 0);
    assert_int_equal(sched_next_due(&s).ns, at(50).ns);
    /* a late loop turn catches up, each keeps its own due time (lag is measured) */
    assert_int_equal(take_all(&s, at(120), &first), 2);
    assert_int_equal(first, 1);
    assert_int_equal(sched_next_due(&s).ns, at(150).ns);
    sched_free(&s);
}

static void concurrency_limit(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {.count = 5, .concurrency = 2};
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    assert_int_equal(take_all(&s, at(0), NULL), 2);
    assert_int_equal(sched_next_due(&s).ns, INT64_MAX); /* nothing until one settles */
    boot(&s, 0);
    assert_int_equal(sched_next_due(&s).ns, at(0).ns);
    assert_int_equal(take_all(&s, at(1), NULL), 1);
    sched_spawned(&s, 1);
    assert_int_equal(sched_failed(&s, 1), 1); /* a failure frees a place too */
    assert_int_equal(take_all(&s, at(2), NULL), 1);
    assert_int_equal(s.booting, 2);
    assert_int_equal(s.nfailed, 1);
    sched_free(&s);
}

/* s set up with the ramp trace (and hold), t0 at(0), for owner o. */
static void ramp_init(struct sched *s, const char *trace, int64_t hold_ns,
                      const struct sched_ops *with, void *o)
{
    struct sched_cfg c = {.hold_ns = hold_ns};
    char err[128];
    assert_int_equal(sched_parse_ramp(&c, trace, err, sizeof err), 0);
    assert_int_equal(sched_init(s, &c, at(0), with, o), 0);
}

static void ramp(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {0};
    char err[128];
    c.hold_ns = MS(1000);
    assert_int_equal(sched_parse_ramp(&c, "0:2,100:4,200:1", err, sizeof err), 0);
    assert_int_equal(c.nramp, 3);
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    assert_int_equal(o.created, 0);
    sched_tick(&s, at(0));
    assert_int_equal(s.n, 2);
    assert_int_equal(take_all(&s, at(0), NULL), 2);
    boot(&s, 0);
    boot(&s, 1);
    assert_int_equal(sched_next_due(&s).ns, at(100).ns);
    sched_tick(&s, at(100));
    assert_int_equal(s.n, 4);
    assert_int_equal(sched_take_due(&s, at(100)), 2); /* one this turn: 3 stays pending */
    boot(&s, 2);
    sched_tick(&s, at(200)); /* down to 1: drop pending 3, stop the newest live 2, 1 */
    assert_int_equal(s.n, 3);
    assert_int_equal(o.nstopped, 2);
    assert_int_equal(o.stopped[0], 2);
    assert_int_equal(o.stopped[1], 1);
    assert_false(s.in[0].retired);
    assert_false(s.ending);
    sched_tick(&s, at(1200)); /* settled at 200, held 1000: the end stops 0 only */
    assert_true(s.ending);
    assert_int_equal(o.nstopped, 3);
    assert_int_equal(o.stopped[2], 0);
    assert_int_equal(sched_parse_ramp(&c, "100:1,50:2", err, sizeof err), -1); /* time goes back */
    assert_int_equal(sched_parse_ramp(&c, "10:x", err, sizeof err), -1);
    assert_int_equal(sched_parse_ramp(&c, "", err, sizeof err), -1);
    sched_free(&s);
}

/* An owner that takes spawns 150 ms early: a ramp's rises are created that early, due
 * at their own points' times (a late tick too), a fall waits for its time, and the
 * owner is woken early only for spawns, never for a ramp point or the hold's end
 * (it used to be, and spun for that long). */
static void ramp_taken_ahead(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    ramp_init(&s, "0:2,100:4,400:6,500:1", MS(1000), &ops, &o);
    s.take_ahead_ns = MS(150);
    sched_tick(&s, at(-50)); /* before t0: the rises due by 100 exist already */
    assert_int_equal(s.n, 4);
    assert_int_equal(s.in[1].due.ns, at(0).ns);
    assert_int_equal(s.in[2].due.ns, at(100).ns);
    assert_int_equal(take_all(&s, at(100), NULL), 4);  /* now + 150 */
    assert_int_equal(sched_next_due(&s).ns, at(0).ns); /* the point at 0, at its time */
    sched_tick(&s, at(0));
    assert_int_equal(s.n, 4); /* nothing created twice */
    assert_int_equal(sched_next_due(&s).ns, at(100).ns);
    sched_tick(&s, at(100));
    assert_int_equal(sched_next_due(&s).ns, at(250).ns); /* 400's rise, 150 ms ahead */
    sched_tick(&s, at(260));
    assert_int_equal(s.n, 6);
    assert_int_equal(s.in[5].due.ns, at(400).ns);
    assert_int_equal(sched_next_due(&s).ns, at(250).ns); /* the spawn, 150 ms early */
    assert_int_equal(take_all(&s, at(410), NULL), 2);    /* now + 150 */
    assert_int_equal(sched_next_due(&s).ns, at(400).ns);
    sched_tick(&s, at(420)); /* late: nothing new, and the fall at 500 waits */
    assert_int_equal(s.n, 6);
    assert_int_equal(o.nstopped, 0);
    assert_int_equal(sched_next_due(&s).ns, at(500).ns);
    for (int i = 0; i < 6; i++)
        boot(&s, i);
    sched_tick(&s, at(500));
    assert_int_equal(o.nstopped, 5);
    assert_int_equal(sched_next_due(&s).ns, at(1500).ns); /* the hold's end, not 150 ms before */
    sched_free(&s);
}

/* A tick that comes after a ramp point, with no owner taking ahead: the point's
 * instances are due at the point's time, so the launch lag shows how late they are. */
static void ramp_late_tick(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    ramp_init(&s, "0:1,100:3", 0, &ops, &o);
    sched_tick(&s, at(130));
    assert_int_equal(s.n, 3);
    assert_int_equal(s.in[0].due.ns, at(0).ns);
    assert_int_equal(s.in[1].due.ns, at(100).ns);
    assert_int_equal(s.in[2].due.ns, at(100).ns);
    sched_free(&s);
}

/* Points at one time are one step, whose count is the last one's: a trace written to
 * the millisecond from a burst (bench/storm.sh SHAPE=ref: "0:1,1:2,1:3,1:4,13:5") rises
 * once at 1, to 4. Each point at 1 used to be applied in turn against the instances
 * created ahead for all of them: "1:2" found 4 due by 1 and stopped or dropped the
 * newest, and later points created them again, so a 64-guest trace spawned 67-74
 * guests and aborted 3-10. A step that ends lower than it starts ("200:3,200:1") ends
 * at 1. */
static void ramp_same_time(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    ramp_init(&s, "0:1,1:2,1:3,1:4,13:5,200:3,200:1", MS(1000), &ops, &o);
    assert_int_equal(s.ramp_peak, 4);
    s.take_ahead_ns = MS(2000); /* the launcher's: every rise is created at the first tick */
    sched_tick(&s, at(0));
    assert_int_equal(s.n, 5);
    assert_int_equal(s.in[1].due.ns, at(1).ns);
    assert_int_equal(s.in[3].due.ns, at(1).ns);
    assert_int_equal(s.in[4].due.ns, at(13).ns);
    assert_int_equal(take_all(&s, at(2000), NULL), 5);
    for (int ms = 0; ms <= 13; ms++)
        sched_tick(&s, at(ms));
    assert_int_equal(s.n, 5);
    assert_int_equal(o.nstopped, 0);
    for (int i = 0; i < 5; i++)
        boot(&s, i);
    assert_true(sched_whole(&s)); /* the peak (13:5) was asked for, and all are up */
    sched_tick(&s, at(200));
    assert_int_equal(o.nstopped, 4); /* straight to 1, not to 3 first */
    assert_int_equal(s.n, 5);
    sched_free(&s);
    ramp_init(&s, "0:1,1:5,1:2,5:3", 0, &ops, &o); /* the peak is the step at 5, not 1:5 */
    assert_int_equal(s.ramp_peak, 3);
    sched_free(&s);
}

/* Counts only: the random traces below stop more than struct owner holds. */
struct tally {
    int created, stopped, restarted; /* restarted: how many the mass restart stopped */
};
static int t_create(void *ctx, int idx)
{
    (void)idx;
    ((struct tally *)ctx)->created++;
    return 0;
}
static void t_stop(void *ctx, int idx)
{
    (void)idx;
    ((struct tally *)ctx)->stopped++;
}
static void t_restart(void *ctx, int stopped, mono_ns now)
{
    (void)now;
    ((struct tally *)ctx)->restarted = stopped;
}
static const struct sched_ops tops = {t_create, t_stop, NULL, t_restart, NULL};

/* The count the trace asks for at ms: the last point at or before it (0 before the
 * first), which is the last of its step. */
static int trace_count(const struct sched_cfg *c, int64_t ms)
{
    int want = 0;
    for (int i = 0; i < c->nramp && c->ramp[i].at_ns <= MS(ms); i++)
        want = c->ramp[i].count;
    return want;
}

/* Random traces (times rising or equal, counts up and down), the owner taking spawns
 * 0, 5 or 2000 ms ahead, guests up at once, and in every other trace one spawn in
 * eight failing: at every 1 ms tick the live instances due by then are exactly what
 * the trace asks for (failed ones replaced), and only a fall stops any: as many as it
 * falls, or fewer when some of them failed before it. */
static void ramp_random_traces(void **state)
{
    (void)state;
    uint32_t rng = 12345;
    for (int round = 0; round < 400; round++) {
        char trace[512];
        int len = 0, t = 0, npoints = 1 + test_rand(&rng, 12), failing = round % 2;
        for (int i = 0; i < npoints; i++) {
            t += test_rand(&rng, 3) == 0
                     ? 0
                     : test_rand(&rng, 8); /* a third at the previous point's time */
            len += snprintf(trace + len, sizeof trace - (size_t)len, "%s%d:%d", i ? "," : "", t,
                            test_rand(&rng, 7));
        }
        struct sched_cfg c = {.hold_ns = MS(100000)};
        char err[128];
        assert_int_equal(sched_parse_ramp(&c, trace, err, sizeof err), 0);
        struct tally o = {0};
        struct sched s;
        assert_int_equal(sched_init(&s, &c, at(0), &tops, &o), 0);
        static const int64_t ahead_ms[] = {0, 5, 2000};
        s.take_ahead_ns = MS(ahead_ms[round % 3]);
        for (int ms = 0; ms <= t + 2; ms++) {
            int stopped_before = o.stopped;
            sched_tick(&s, at(ms));
            int live = 0;
            for (int i = 0; i < s.n; i++)
                live += !s.in[i].retired && s.in[i].state != SCHED_FAILED &&
                        s.in[i].due.ns <= at(ms).ns;
            int want = trace_count(&c, ms), before = ms ? trace_count(&c, ms - 1) : 0;
            int fall = before > want ? before - want : 0, stopped = o.stopped - stopped_before;
            if (live != want || stopped > fall || (!failing && stopped != fall))
                fail_msg("trace %s, ahead %lld ms, failing %d, at %d ms: %d live (want %d), "
                         "%d stopped (the trace fell by %d)",
                         trace, (long long)ahead_ms[round % 3], failing, ms, live, want, stopped,
                         fall);
            for (int idx; (idx = sched_take_due(&s, mono_add(at(ms), s.take_ahead_ns))) >= 0;) {
                assert_int_equal(sched_spawned(&s, idx), 1);
                if (failing && test_rand(&rng, 8) == 0)
                    sched_failed(&s, idx);
                else
                    assert_int_equal(sched_ready(&s, idx), 1);
            }
            for (int i = 0; i < s.n; i++)
                if ((s.in[i].retired || s.in[i].state == SCHED_FAILED) && s.in[i].alive)
                    sched_gone(&s, i);
        }
        sched_free(&s);
    }
}

/* Random bursts and intervals (count, interval, concurrency limit, a mass restart,
 * boots that take 0-9 ms, one in eight failing), driven by 1 ms ticks with an owner
 * that takes what is due: nothing starts before its time or in another order, never
 * more boot at once than the limit, every instance is taken, and the run ends with
 * every instance settled and the restart done once, with as many new instances as it
 * stopped (at most its share: failed ones are gone already). */
static void random_bursts(void **state)
{
    (void)state;
    uint32_t rng = 777;
    for (int round = 0; round < 300; round++) {
        struct sched_cfg c = {.count = 1 + test_rand(&rng, 20),
                              .interval_ns = MS(test_rand(&rng, 3) ? 0 : test_rand(&rng, 5)),
                              .concurrency = test_rand(&rng, 2) ? 0 : 1 + test_rand(&rng, 4),
                              .restart_permille =
                                  test_rand(&rng, 3) ? 0 : 1 + test_rand(&rng, 1000),
                              .restart_after_ns = MS(test_rand(&rng, 10)),
                              .hold_ns = MS(test_rand(&rng, 10))};
        struct tally o = {0};
        struct sched s;
        assert_int_equal(sched_init(&s, &c, at(0), &tops, &o), 0);
        int up_at[64] = {0}, next = 0, ms;
        for (ms = 0; ms < 2000 && !s.ending; ms++) {
            sched_tick(&s, at(ms));
            for (int i = 0; i < s.n; i++) { /* boots that end now; stopped ones exit */
                if (s.in[i].state == SCHED_BOOTING && s.in[i].alive && up_at[i] <= ms &&
                    (test_rand(&rng, 8) ? sched_ready(&s, i) : sched_failed(&s, i)) &&
                    s.in[i].state == SCHED_FAILED)
                    sched_gone(&s, i);
                if (s.in[i].retired && s.in[i].alive)
                    sched_gone(&s, i);
            }
            for (int idx; (idx = sched_take_due(&s, at(ms))) >= 0; next++) {
                assert_int_equal(idx, next); /* in index order */
                assert_true(s.in[idx].due.ns <= at(ms).ns);
                assert_true(!c.concurrency || s.booting <= c.concurrency);
                assert_int_equal(sched_spawned(&s, idx), 1);
                assert_true(idx < 64);
                up_at[idx] = ms + test_rand(&rng, 10);
            }
        }
        if (!s.ending)
            fail_msg(
                "round %d: count %lld, concurrency %d, restart %d permille: not ended by %d ms",
                round, (long long)c.count, c.concurrency, c.restart_permille, ms);
        assert_int_equal(next, s.n); /* every instance taken */
        assert_int_equal(s.booting, 0);
        assert_int_equal(s.nready + s.nfailed, s.n);
        if (c.restart_permille) { /* of those up then: failed ones are gone already */
            assert_int_equal(s.restart_done, 1);
            assert_true(o.restarted <= (int)(c.count * c.restart_permille / 1000));
        }
        assert_int_equal(s.n, c.count + o.restarted);
        sched_free(&s);
    }
}

static void mass_restart(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {
        .count = 10, .restart_permille = 300, .restart_after_ns = MS(20), .hold_ns = MS(5)};
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    assert_int_equal(take_all(&s, at(0), NULL), 10);
    for (int i = 0; i < 10; i++)
        boot(&s, i);
    sched_tick(&s, at(1));
    assert_int_equal(sched_next_due(&s).ns, at(21).ns);
    sched_tick(&s, at(21));
    assert_int_equal(o.restarts, 1);
    assert_int_equal(o.restart_count, 3);
    assert_int_equal(o.nstopped, 3);
    assert_int_equal(s.n, 13);
    assert_false(s.ending);
    for (int i = 0; i < 3; i++) /* the stopped ones exit: no failure */
        sched_gone(&s, o.stopped[i]);
    assert_int_equal(take_all(&s, at(21), NULL), 3);
    for (int i = 10; i < 13; i++)
        boot(&s, i);
    sched_tick(&s, at(30)); /* settled again: now the hold, no second restart */
    sched_tick(&s, at(35));
    assert_int_equal(o.restarts, 1);
    assert_true(s.ending);
    assert_int_equal(s.nfailed, 0);
    sched_free(&s);
}

static void abort_run(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {.count = 4, .interval_ns = MS(10)};
    assert_int_equal(sched_init(&s, &c, at(0), &ops, &o), 0);
    take_all(&s, at(10), NULL); /* 0 and 1 booting, 2 and 3 pending */
    boot(&s, 0);
    sched_spawned(&s, 1);
    sched_abort(&s);
    assert_int_equal(o.nfailed, 3); /* 1 (booting), 2, 3 (never spawned) */
    assert_int_equal(s.nfailed, 3);
    assert_int_equal(s.nready, 1);
    assert_int_equal(o.nstopped, 2);
    assert_int_equal(take_all(&s, at(100), NULL), 0);
    assert_false(sched_finished(&s));
    sched_gone(&s, 0);
    sched_gone(&s, 1);
    assert_true(sched_finished(&s));
    sched_free(&s);
}

/* Issue 11: interval_ns * i overflowed for the largest interval and count the event
 * table allows (3600000 ms x 2^24); times past the span are refused before arithmetic. */
static void overflow_refused(void **state)
{
    (void)state;
    struct sched_cfg c = {.count = 1 << 24, .interval_ns = MS(3600000)};
    struct sched s;
    char err[128] = "";
    assert_int_equal(sched_check_cfg(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "interval of 3600000000000 ns times 16777216 instances"));
    assert_int_equal(sched_init(&s, &c, at(0), NULL, NULL), -1);
    c.count = 2; /* the last instance exactly at the span is fine, one ns more is not */
    c.interval_ns = SCHED_MAX_SPAN_NS;
    assert_int_equal(sched_check_cfg(&c, err, sizeof err), 0);
    c.interval_ns++;
    assert_int_equal(sched_check_cfg(&c, err, sizeof err), -1);
    c = (struct sched_cfg){.count = 1, .hold_ns = -1};
    assert_int_equal(sched_check_cfg(&c, err, sizeof err), -1);
    c = (struct sched_cfg){.count = 1, .restart_after_ns = SCHED_MAX_SPAN_NS + 1};
    assert_int_equal(sched_check_cfg(&c, err, sizeof err), -1);
    char ramp[64];
    snprintf(ramp, sizeof ramp, "0:1,%lld:2", (long long)(SCHED_MAX_SPAN_NS / NS_PER_MS));
    assert_int_equal(sched_parse_ramp(&c, ramp, err, sizeof err), 0);
    snprintf(ramp, sizeof ramp, "0:1,%lld:2", (long long)(SCHED_MAX_SPAN_NS / NS_PER_MS + 1));
    assert_int_equal(sched_parse_ramp(&c, ramp, err, sizeof err), -1);
    assert_int_equal(sched_parse_ramp(&c, "0:1,99999999999999999999:2", err, sizeof err), -1);
}

/* A burst with no hold: whole when the last one booted, and the end waits for the
 * owner's release (its PSS sample of the whole fleet), not a moment longer. */
static void whole_kept_burst(void **state)
{
    (void)state;
    struct owner o = {.keep_ns = MS(50)};
    struct sched s;
    struct sched_cfg c = {.count = 4};
    assert_int_equal(sched_init(&s, &c, at(0), &kops, &o), 0);
    assert_int_equal(take_all(&s, at(0), NULL), 4);
    for (int i = 0; i < 3; i++)
        boot(&s, i);
    sched_tick(&s, at(5));
    assert_false(sched_whole(&s)); /* one still booting */
    assert_int_equal(o.wholes, 0);
    boot(&s, 3);
    assert_true(sched_whole(&s));
    sched_tick(&s, at(10));
    assert_int_equal(o.wholes, 1);
    assert_int_equal(o.whole_at.ns, at(10).ns);
    assert_false(s.ending); /* hold 0, but kept */
    assert_true(sched_kept(&s, at(10)));
    assert_int_equal(sched_next_due(&s).ns, at(60).ns);
    sched_tick(&s, at(30));
    assert_false(s.ending);
    sched_release(&s);
    assert_false(sched_kept(&s, at(30)));
    assert_int_equal(sched_next_due(&s).ns, at(10).ns); /* the end is due: now */
    sched_tick(&s, at(31));
    assert_true(s.ending);
    assert_int_equal(o.nstopped, 4);
    assert_int_equal(o.wholes, 1); /* once */
    sched_free(&s);
}

/* The owner's sample never comes back: the fleet is kept no longer than it asked. */
static void whole_keep_expires(void **state)
{
    (void)state;
    struct owner o = {.keep_ns = MS(50)};
    struct sched s;
    struct sched_cfg c = {.count = 2, .hold_ns = MS(20)};
    assert_int_equal(sched_init(&s, &c, at(0), &kops, &o), 0);
    take_all(&s, at(0), NULL);
    boot(&s, 0);
    boot(&s, 1);
    sched_tick(&s, at(10));
    assert_int_equal(sched_next_due(&s).ns, at(60).ns); /* the keep outlasts the hold */
    sched_tick(&s, at(59));
    assert_false(s.ending);
    sched_tick(&s, at(60));
    assert_true(s.ending);
    assert_false(sched_kept(&s, at(60)));
    sched_free(&s);
}

/* Interval and concurrency limit: a guest ready before the next is spawned leaves
 * none booting, yet the fleet is whole only once the last instance has booted. */
static void whole_after_last_spawn(void **state)
{
    (void)state;
    struct owner o = {0};
    struct sched s;
    struct sched_cfg c = {.count = 3, .interval_ns = MS(50)};
    assert_int_equal(sched_init(&s, &c, at(0), &kops, &o), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(take_all(&s, at(50 * i), NULL), 1);
        boot(&s, i);
        assert_int_equal(s.booting, 0);
        sched_tick(&s, at(50 * i + 10));
        assert_int_equal(o.wholes, i == 2);
    }
    assert_int_equal(o.whole_at.ns, at(110).ns);
    assert_true(s.ending); /* keep_ns 0: the owner needs nothing, the end is not held */
    sched_free(&s);

    struct owner p = {0};
    c = (struct sched_cfg){.count = 3, .concurrency = 1};
    assert_int_equal(sched_init(&s, &c, at(0), &kops, &p), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(take_all(&s, at(i), NULL), 1);
        boot(&s, i);
        sched_tick(&s, at(i));
        assert_int_equal(p.wholes, i == 2);
    }
    sched_free(&s);
}

/* A ramp is whole at its peak: once the instances of the first point with the
 * largest count have booted; the trace goes on while the fleet is kept, the end waits. */
static void whole_ramp_peak(void **state)
{
    (void)state;
    struct owner o = {.keep_ns = MS(500)};
    struct sched s;
    ramp_init(&s, "0:2,100:4,200:4,300:1", 0, &kops, &o);
    assert_int_equal(s.ramp_peak, 1);
    sched_tick(&s, at(0));
    take_all(&s, at(0), NULL);
    boot(&s, 0);
    boot(&s, 1);
    sched_tick(&s, at(10));
    assert_int_equal(o.wholes, 0); /* all booted, but not the peak yet */
    sched_tick(&s, at(100));
    assert_int_equal(take_all(&s, at(100), NULL), 2);
    boot(&s, 2);
    sched_tick(&s, at(105));
    assert_int_equal(o.wholes, 0);
    boot(&s, 3);
    sched_tick(&s, at(110));
    assert_int_equal(o.wholes, 1);
    assert_int_equal(o.whole_at.ns, at(110).ns);
    sched_tick(&s, at(300)); /* down to 1 while kept: the trace is the user's */
    assert_int_equal(o.nstopped, 3);
    assert_false(s.ending); /* settled at 300 with hold 0, kept until 610 */
    assert_int_equal(sched_next_due(&s).ns, at(610).ns);
    sched_tick(&s, at(610));
    assert_true(s.ending);
    sched_free(&s);
}

/* An abort waits for nothing: the keep is dropped. */
static void whole_abort(void **state)
{
    (void)state;
    struct owner o = {.keep_ns = MS(1000)};
    struct sched s;
    struct sched_cfg c = {.count = 2};
    assert_int_equal(sched_init(&s, &c, at(0), &kops, &o), 0);
    take_all(&s, at(0), NULL);
    boot(&s, 0);
    boot(&s, 1);
    sched_tick(&s, at(10));
    assert_true(sched_kept(&s, at(10)));
    sched_abort(&s);
    assert_true(s.ending);
    assert_false(sched_kept(&s, at(10)));
    assert_int_equal(o.nstopped, 2);
    assert_int_equal(sched_next_due(&s).ns, INT64_MAX);
    sched_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst),
        cmocka_unit_test(interval),
        cmocka_unit_test(concurrency_limit),
        cmocka_unit_test(ramp),
        cmocka_unit_test(ramp_taken_ahead),
        cmocka_unit_test(ramp_late_tick),
        cmocka_unit_test(ramp_same_time),
        cmocka_unit_test(ramp_random_traces),
        cmocka_unit_test(random_bursts),
        cmocka_unit_test(mass_restart),
        cmocka_unit_test(abort_run),
        cmocka_unit_test(overflow_refused),
        cmocka_unit_test(whole_kept_burst),
        cmocka_unit_test(whole_keep_expires),
        cmocka_unit_test(whole_after_last_spawn),
        cmocka_unit_test(whole_ramp_peak),
        cmocka_unit_test(whole_abort),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
