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
