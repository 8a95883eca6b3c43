/* Collector ingest benchmark: a fake launcher (a real DEALER speaking the real
 * protocol) sends N events of one run (spawn / spawned / ready per guest) to a running
 * collector, as fast as acks allow or paced at RATE events/s, and reads the cumulative
 * acks. An ack means "stored in Redis", so ack time - send time is the end-to-end
 * latency event -> visible in Redis.
 * usage: bench_ingest ENDPOINT HOST N [RATE]  -> "ingest n=.. secs=.. ev_per_s=.. p50_ms=..
 * p99_ms=.." */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bzmq.h"
#include "clock.h"
#include "event.h"

static int cmp(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void drain_acks(void *s, int64_t *acked, const mono_ns *sent, int64_t *lat, int wait_ms)
{
    zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
    while (zmq_poll(&it, 1, wait_ms) > 0) {
        char buf[EV_MAX_BYTES], err[128];
        int n = zmq_recv(s, buf, sizeof buf, ZMQ_DONTWAIT);
        struct ev e;
        if (n <= 0 || ev_decode(buf, (size_t)n, &e, err, sizeof err) < 0 || e.type != EV_ACK)
            continue;
        mono_ns now = clock_mono();
        for (int64_t q = *acked + 1; q <= e.ack; q++)
            lat[q] = mono_diff(sent[q], now);
        if (e.ack > *acked)
            *acked = e.ack;
        wait_ms = 0;
    }
}

/* Starts run on host as `bootstorm run` does (a start to the collector, from a socket
 * of its own): the collector creates the run, whose events are refused otherwise.
 * Returns 0, or -1 with the collector's answer on stderr. */
static int start_run(const char *endpoint, const char *host, const char *run, int64_t guests)
{
    char err[256], buf[EV_MAX_BYTES];
    void *cli = bzmq_socket(ZMQ_DEALER, endpoint, 0, err, sizeof err);
    struct ev st, r;
    ev_init(&st, EV_START);
    snprintf(st.run, sizeof st.run, "%s", run);
    snprintf(st.kind, sizeof st.kind, "sim");
    snprintf(st.backend, sizeof st.backend, "process");
    snprintf(st.accel, sizeof st.accel, "none");
    snprintf(st.pattern, sizeof st.pattern, "burst");
    snprintf(st.hosts, sizeof st.hosts, "%s", host);
    st.count = guests;
    st.timeout_s = 600;
    zmq_pollitem_t it = {cli, 0, ZMQ_POLLIN, 0};
    int n = -1;
    if (cli && bzmq_send_ev(cli, NULL, 0, &st) == 0 && zmq_poll(&it, 1, 5000) == 1)
        n = zmq_recv(cli, buf, sizeof buf, 0);
    int ok = n > 0 && ev_decode(buf, (size_t)n, &r, err, sizeof err) == 0 && r.type == EV_REPLY &&
             r.ok == 1;
    if (!ok)
        fprintf(stderr, "bench_ingest: start of %s refused: %s\n", run,
                n > 0 && r.type == EV_REPLY ? r.error : "no answer from the collector");
    if (cli)
        zmq_close(cli);
    return ok ? 0 : -1;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: bench_ingest ENDPOINT HOST N [RATE]\n");
        return 2;
    }
    int64_t n = atoll(argv[3]), rate = argc > 4 ? atoll(argv[4]) : 0;
    char err[256];
    void *s = bzmq_socket(ZMQ_DEALER, argv[1], 0, err, sizeof err);
    if (!s) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    mono_ns *sent = calloc((size_t)n + 2, sizeof *sent);
    int64_t *lat = calloc((size_t)n + 2, sizeof *lat);
    char run[BS_ID_MAX];
    snprintf(run, sizeof run, "20261122-000000-ingest-%lld-%04x", (long long)n,
             (unsigned)getpid() & 0xffff);
    int64_t acked = 0, prev = 0;
    mono_ns t0 = clock_mono();
    for (int64_t seq = 1; seq <= n; seq++) {
        struct ev e;
        static const enum ev_type cycle[] = {EV_SPAWN, EV_SPAWNED, EV_READY};
        ev_init(&e, seq == 1 ? EV_HELLO : cycle[(seq - 2) % 3]);
        snprintf(e.host, sizeof e.host, "%s", argv[2]);
        e.seq = seq;
        if (e.type == EV_HELLO) {
            e.cores = 1;
            snprintf(e.backends, sizeof e.backends, "bench");
            snprintf(e.version, sizeof e.version, "%s", BS_VERSION);
        } else {
            snprintf(e.run, sizeof e.run, "%s", run);
            e.guest = (seq - 2) / 3;
            e.pid = 1000;
            e.boot_ns = 50 * NS_PER_MS;
            e.prev = prev;
            prev = seq;
        }
        if (rate) { /* paced: send at seq / rate seconds */
            mono_ns due = mono_add(t0, seq * NS_PER_S / rate);
            while (mono_diff(clock_mono(), due) > 0)
                drain_acks(s, &acked, sent, lat, 1);
        }
        e.tm = sent[seq] = clock_mono();
        e.tr = clock_real();
        while (bzmq_send_ev(s, NULL, 0, &e) < 0)
            drain_acks(s, &acked, sent, lat, 1);
        if (seq == 1) { /* hello first: the start needs a live launcher */
            while (acked < 1 && mono_diff(t0, clock_mono()) < 10 * NS_PER_S)
                drain_acks(s, &acked, sent, lat, 100);
            if (acked < 1 || start_run(argv[1], argv[2], run, n / 3 + 1) < 0)
                return 1;
            t0 = clock_mono();
        }
        if (seq - acked > 20000) /* keep the collector's batches, not its queue, full */
            drain_acks(s, &acked, sent, lat, 1);
        else
            drain_acks(s, &acked, sent, lat, 0);
    }
    mono_ns end = mono_add(clock_mono(), 30 * NS_PER_S);
    while (acked < n && mono_diff(clock_mono(), end) > 0)
        drain_acks(s, &acked, sent, lat, 100);
    double secs = (double)mono_diff(t0, clock_mono()) / NS_PER_S;
    qsort(lat + 1, (size_t)acked, sizeof *lat, cmp);
    printf("ingest n=%lld acked=%lld secs=%.3f ev_per_s=%.0f p50_ms=%.3f p99_ms=%.3f\n",
           (long long)n, (long long)acked, secs, acked / secs,
           acked ? lat[1 + (acked + 1) / 2 - 1] / 1e6 : -1.0,
           acked ? lat[1 + (acked * 99 + 99) / 100 - 1] / 1e6 : -1.0);
    zmq_close(s);
    bzmq_term();
    return acked == n ? 0 : 1;
}
