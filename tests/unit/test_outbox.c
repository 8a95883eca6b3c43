/* The launcher's outbox with a real ZeroMQ pair (inproc) and a spool in a temporary
 * dir: events go out in seq order, acks forget them, a bounded outbox replaces what it
 * drops by `lost` events (one per run, seq ranges joined), an event that cannot be
 * encoded becomes a lost event too, and all of it survives a reopen from the spool;
 * then random sequences of all of it against a collector that acks what it holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "bzmq.h"
#include "outbox.h"
#include "testrand.h"

static void *tx, *rx; /* the outbox sends on tx; the test reads rx */
static char dir[] = "/tmp/bs-outbox-test-XXXXXX";

static int setup(void **state)
{
    (void)state;
    static int n;
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://outbox-%d", n++);
    rx = zmq_socket(bzmq_ctx(), ZMQ_PAIR);
    tx = zmq_socket(bzmq_ctx(), ZMQ_PAIR);
    int linger = 0;
    zmq_setsockopt(rx, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(tx, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(rx, ep), 0);
    assert_int_equal(zmq_connect(tx, ep), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    zmq_close(tx);
    zmq_close(rx);
    return 0;
}

/* The next message on rx, decoded; fails the test when none is waiting. */
static struct ev next(void)
{
    char buf[EV_MAX_BYTES], err[256];
    struct ev e;
    int n = zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT);
    if (n <= 0)
        fail_msg("no message waiting");
    if (ev_decode(buf, (size_t)n, &e, err, sizeof err) < 0)
        fail_msg("undecodable: %s", err);
    return e;
}

static void drain(void)
{
    char buf[EV_MAX_BYTES];
    while (zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT) > 0)
        ;
}

static int64_t push(struct outbox *ob, enum ev_type t, const char *run)
{
    struct ev e;
    ev_init(&e, t);
    snprintf(e.run, sizeof e.run, "%s", run);
    e.guest = 0;
    e.pid = 1;
    e.cores = 1;
    snprintf(e.version, sizeof e.version, "1");
    return outbox_push(ob, &e);
}

static void test_send_and_ack(void **state)
{
    (void)state;
    char err[256];
    struct outbox *ob = outbox_open(tx, "h1", NULL, 100, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(push(ob, EV_HELLO, ""), 1);
    assert_int_equal(push(ob, EV_SPAWN, "r1"), 2);
    assert_int_equal(push(ob, EV_SPAWNED, "r1"), 3);
    for (int64_t s = 1; s <= 3; s++) {
        struct ev e = next();
        assert_int_equal(e.seq, s);
        assert_string_equal(e.host, "h1");
    }
    outbox_ack(ob, 2);
    assert_int_equal(outbox_pending(ob), 1);
    outbox_tick(ob, 0); /* resend what is left */
    assert_int_equal(next().seq, 3);
    outbox_ack(ob, 3);
    assert_int_equal(outbox_pending(ob), 0);
    outbox_free(ob);
}

/* Two runs dropped in turn: a lost event per run, in seq order, then the kept ones. */
static void test_bounded_drops_become_lost(void **state)
{
    (void)state;
    char err[256];
    struct outbox *ob = outbox_open(tx, "h1", NULL, 3, err, sizeof err);
    assert_non_null(ob);
    push(ob, EV_HELLO, "");   /* 1: no run, joins the first lost range */
    push(ob, EV_SPAWN, "ra"); /* 2 */
    push(ob, EV_SPAWN, "ra"); /* 3 */
    push(ob, EV_SPAWN, "rb"); /* 4 */
    push(ob, EV_SPAWN, "rb"); /* 5 */
    push(ob, EV_SPAWN, "rb"); /* 6 */
    push(ob, EV_SPAWN, "rb"); /* 7 */
    push(ob, EV_SPAWN, "rb"); /* 8: 1..5 dropped: ra 1..3 (2 run events), rb 4..5 (2) */
    assert_int_equal(outbox_pending(ob), 5);
    drain();
    outbox_tick(ob, 0);
    struct ev a = next(), b = next();
    assert_int_equal(a.type, EV_LOST);
    assert_int_equal(a.from, 1);
    assert_int_equal(a.seq, 3);
    assert_int_equal(a.lost, 2);
    assert_string_equal(a.run, "ra");
    assert_int_equal(b.type, EV_LOST);
    assert_int_equal(b.from, 4);
    assert_int_equal(b.seq, 5);
    assert_int_equal(b.lost, 2);
    assert_string_equal(b.run, "rb");
    for (int64_t s = 6; s <= 8; s++)
        assert_int_equal(next().seq, s);
    outbox_ack(ob, 5); /* the lost events are acked like any other */
    assert_int_equal(outbox_pending(ob), 3);
    outbox_free(ob);
}

static void test_unencodable_becomes_lost(void **state)
{
    (void)state;
    char err[256];
    struct outbox *ob = outbox_open(tx, "h1", NULL, 100, err, sizeof err);
    assert_non_null(ob);
    push(ob, EV_SPAWN, "ra");
    assert_int_equal(push(ob, EV_NONE, "ra"), 2); /* the codec refuses it */
    push(ob, EV_SPAWN, "ra");
    assert_int_equal(next().seq, 1);
    struct ev l = next();
    assert_int_equal(l.type, EV_LOST);
    assert_int_equal(l.from, 2);
    assert_int_equal(l.seq, 2);
    assert_int_equal(l.lost, 1);
    assert_int_equal(next().seq, 3);
    outbox_free(ob);
}

/* Drops, then a reopen from the spool: the lost event stands where the dropped ones
 * were, and seq continues. */
static void test_spool_keeps_lost(void **state)
{
    (void)state;
    char err[256];
    assert_non_null(mkdtemp(dir));
    struct outbox *ob = outbox_open(tx, "h1", dir, 2, err, sizeof err);
    assert_non_null(ob);
    for (int i = 0; i < 5; i++)
        push(ob, EV_SPAWN, "ra"); /* 1..3 dropped */
    outbox_free(ob);
    drain();
    ob = outbox_open(tx, "h1", dir, 2, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(outbox_pending(ob), 3);
    struct ev l = next();
    assert_int_equal(l.type, EV_LOST);
    assert_int_equal(l.from, 1);
    assert_int_equal(l.seq, 3);
    assert_int_equal(l.lost, 3);
    assert_int_equal(next().seq, 4);
    assert_int_equal(next().seq, 5);
    assert_int_equal(push(ob, EV_SPAWN, "ra"), 6); /* 4 dropped: joins the lost range */
    outbox_free(ob);
    drain();
    ob = outbox_open(tx, "h1", dir, 2, err, sizeof err);
    assert_non_null(ob);
    l = next();
    assert_int_equal(l.from, 1);
    assert_int_equal(l.seq, 4);
    assert_int_equal(l.lost, 4);
    assert_int_equal(next().seq, 5);
    assert_int_equal(next().seq, 6);
    outbox_free(ob);
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

static void rm_spool_dir(void)
{
    DIR *d = opendir(dir);
    for (struct dirent *de; d && (de = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (de->d_name[0] != '.')
            unlink(path);
    }
    if (d)
        closedir(d);
    assert_int_equal(rmdir(dir), 0);
}

/* Reproduction (issue "Trust", 6): a spool cut short (a full disk) restarted the
 * sequence below what the collector had stored, so every later event was taken for a
 * duplicate. An ack beyond the sequence moves it above, and that survives a reopen. */
static void test_ack_beyond_sequence(void **state)
{
    (void)state;
    char err[256];
    strcpy(dir, "/tmp/bs-outbox-test-XXXXXX");
    assert_non_null(mkdtemp(dir));
    struct outbox *ob = outbox_open(tx, "h1", dir, 100, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(push(ob, EV_HELLO, ""), 1);
    assert_int_equal(push(ob, EV_HEARTBEAT, ""), 2);
    assert_int_equal(outbox_ack(ob, 1), 0);
    assert_int_equal(outbox_ack(ob, 500), 1); /* the collector has 500 of this host */
    assert_int_equal(outbox_pending(ob), 0);
    assert_int_equal(push(ob, EV_SPAWN, "ra"), 501);
    assert_int_equal(outbox_ack(ob, 501), 0);
    outbox_free(ob);
    drain();
    ob = outbox_open(tx, "h1", dir, 100, err, sizeof err);
    assert_non_null(ob);
    assert_int_equal(push(ob, EV_HELLO, ""), 502);
    outbox_free(ob);
    rm_spool_dir();
}

/* With a delay, pushes are kept and sent only by outbox_flush: not before the oldest is
 * min_ns old (the call says when to come back: max_ns after it), all in order then, at
 * once when forced, none twice; acks forget them as any other. */
static void test_delayed_send(void **state)
{
    (void)state;
    char err[256], buf[EV_MAX_BYTES];
    struct outbox *ob = outbox_open(tx, "h1", NULL, 100, err, sizeof err);
    assert_non_null(ob);
    outbox_set_delay(ob, 60 * NS_PER_S, 120 * NS_PER_S);
    mono_ns t = clock_mono();
    assert_true(outbox_flush(ob, t, 0).ns == INT64_MAX); /* nothing waits */
    push(ob, EV_SPAWN, "r1");
    push(ob, EV_SPAWNED, "r1");
    assert_int_equal(zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT), -1); /* kept, not sent */
    mono_ns again = outbox_flush(ob, clock_mono(), 0);
    assert_true(mono_diff(t, again) >= 120 * NS_PER_S); /* not due: come back by max */
    assert_int_equal(zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT), -1);
    assert_true(outbox_flush(ob, mono_add(clock_mono(), 60 * NS_PER_S), 0).ns == INT64_MAX);
    assert_int_equal(next().seq, 1); /* due: both, in order */
    assert_int_equal(next().seq, 2);
    push(ob, EV_READY, "r1");
    assert_true(outbox_flush(ob, clock_mono(), 1).ns == INT64_MAX); /* forced */
    assert_int_equal(next().seq, 3);
    assert_int_equal(outbox_pending(ob), 3);
    outbox_ack(ob, 3);
    assert_int_equal(outbox_pending(ob), 0);
    outbox_flush(ob, clock_mono(), 1);
    assert_int_equal(zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT), -1); /* none twice */
    outbox_free(ob);
}

/* Random pushes, acks, resends, delayed and forced sends, and reopens from the spool,
 * with a bound of 3-40 events (drops become lost events) or none to speak of, against
 * a collector that acks what it holds without a gap: every push gets the next seq,
 * across reopens too; every seq the collector receives was given out; and at the end
 * every seq from 1 on has reached it, as its event or inside a lost range. */
#define RAND_SEQS 4096
static unsigned char covered[RAND_SEQS + 1];

/* Reads everything waiting on rx into covered[]; returns the highest seq held without
 * a gap from 1. */
static int64_t collect(int64_t given)
{
    char buf[EV_MAX_BYTES], err[256];
    int n;
    while ((n = zmq_recv(rx, buf, sizeof buf, ZMQ_DONTWAIT)) > 0) {
        struct ev e;
        if (ev_decode(buf, (size_t)n, &e, err, sizeof err) < 0)
            fail_msg("undecodable: %s", err);
        if (e.seq < 1 || e.seq > given)
            fail_msg("seq %lld received, only 1..%lld given", (long long)e.seq, (long long)given);
        for (int64_t q = e.type == EV_LOST ? e.from : e.seq; q <= e.seq; q++)
            covered[q] = 1;
    }
    int64_t upto = 0;
    while (upto < given && covered[upto + 1])
        upto++;
    return upto;
}

static void test_random_model(void **state)
{
    (void)state;
    uint32_t rng = 4242;
    for (int round = 0; round < 40; round++) {
        char err[256];
        strcpy(dir, "/tmp/bs-outbox-test-XXXXXX");
        assert_non_null(mkdtemp(dir));
        size_t bound = test_rand(&rng, 2) ? (size_t)(3 + test_rand(&rng, 38)) : 100000;
        int delayed = test_rand(&rng, 2);
        struct outbox *ob = outbox_open(tx, "h1", dir, bound, err, sizeof err);
        assert_non_null(ob);
        if (delayed)
            outbox_set_delay(ob, 0, NS_PER_S);
        memset(covered, 0, sizeof covered);
        int64_t given = 0, acked = 0;
        for (int step = 0; step < 600 && given < RAND_SEQS - 8; step++) {
            int op = test_rand(&rng, 20);
            if (op < 12) {
                static const char *const runs[] = {"", "ra", "rb"};
                enum ev_type type = test_rand(&rng, 2) ? EV_SPAWN : EV_READY;
                assert_int_equal(push(ob, type, runs[test_rand(&rng, 3)]), ++given);
            } else if (op < 15) {
                int64_t upto = collect(given);
                if (upto > acked && test_rand(&rng, 3)) /* now and then an ack lost on the way */
                    assert_int_equal(outbox_ack(ob, acked = upto), 0);
            } else if (op < 17) {
                outbox_tick(ob, 0); /* nothing acked for "resend_ms": everything again */
            } else if (op < 19) {
                outbox_flush(ob, clock_mono(), test_rand(&rng, 2));
            } else {
                outbox_free(ob); /* the launcher restarts: its spool is all it has */
                ob = outbox_open(tx, "h1", dir, bound, err, sizeof err);
                if (!ob)
                    fail_msg("reopen: %s", err);
                if (delayed)
                    outbox_set_delay(ob, 0, NS_PER_S);
            }
        }
        outbox_flush(ob, clock_mono(), 1);
        outbox_tick(ob, 0);
        if (collect(given) != given)
            fail_msg("round %d (bound %zu, delayed %d): seq %lld never reached the collector of "
                     "1..%lld",
                     round, bound, delayed, (long long)collect(given) + 1, (long long)given);
        outbox_free(ob);
        rm_spool_dir();
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_send_and_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delayed_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bounded_drops_become_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unencodable_becomes_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spool_keeps_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_beyond_sequence, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_model, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    bzmq_term();
    return rc;
}
