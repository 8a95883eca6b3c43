/* A hostile peer for test_identity.sh: connects to a collector with a routing id of
 * its choosing (ZMQ_ROUTING_ID, as the reproduced takeover did), optionally over CURVE
 * with given keys, and speaks as HOST: a hello, then heartbeats every 100 ms for
 * SECONDS. Prints "impostor acks=N replies=M" (what the collector sent back to it).
 * usage: impostor ENDPOINT ROUTING_ID HOST SECONDS [SERVER_PUB CLIENT_KEY] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bzmq.h"
#include "clock.h"
#include "event.h"

static int curve(void *s, const char *server_pub, const char *client_key)
{
    char spub[64], cpub[64], csec[64], err[256];
    if (bzmq_key_load(server_pub, spub, NULL, err, sizeof err) < 0 ||
        bzmq_key_load(client_key, cpub, csec, err, sizeof err) < 0) {
        fprintf(stderr, "impostor: %s\n", err);
        return -1;
    }
    return zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, spub, 40) | zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cpub, 40) |
           zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, csec, 40);
}

static void say(void *s, enum ev_type type, const char *host, int64_t seq)
{
    struct ev e;
    char buf[EV_MAX_BYTES];
    ev_init(&e, type);
    snprintf(e.host, sizeof e.host, "%s", host);
    e.seq = seq;
    e.tm = clock_mono();
    e.tr = clock_real();
    e.cores = 1;
    e.mem_total_kib = 1024;
    snprintf(e.backends, sizeof e.backends, "qemu");
    snprintf(e.version, sizeof e.version, "%s", BS_VERSION);
    int n = ev_encode(&e, buf, sizeof buf);
    if (n > 0)
        zmq_send(s, buf, (size_t)n, ZMQ_DONTWAIT);
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 7) {
        fprintf(stderr, "usage: impostor ENDPOINT ROUTING_ID HOST SECONDS [SERVER_PUB CLIENT_KEY]\n");
        return 2;
    }
    void *s = zmq_socket(bzmq_ctx(), ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, argv[2], strlen(argv[2]));
    if ((argc == 7 && curve(s, argv[5], argv[6]) != 0) || zmq_connect(s, argv[1]) != 0)
        return 1;
    int acks = 0, replies = 0;
    mono_ns end = mono_add(clock_mono(), (int64_t)(atof(argv[4]) * 1e9));
    for (int64_t seq = 1; mono_diff(clock_mono(), end) > 0; seq++) {
        say(s, seq == 1 ? EV_HELLO : EV_HEARTBEAT, argv[3], seq);
        zmq_pollitem_t pi = {s, 0, ZMQ_POLLIN, 0};
        while (zmq_poll(&pi, 1, 100) > 0) {
            char buf[EV_MAX_BYTES], err[128];
            struct ev e;
            int n = zmq_recv(s, buf, sizeof buf, 0);
            if (n > 0 && ev_decode(buf, (size_t)n, &e, err, sizeof err) == 0)
                acks += e.type == EV_ACK, replies += e.type != EV_ACK;
        }
    }
    printf("impostor acks=%d replies=%d\n", acks, replies);
    zmq_close(s);
    bzmq_term();
    return 0;
}
