/* ZeroMQ context and socket helpers. */
#include "bzmq.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

static void *ctx;

void *bzmq_ctx(void)
{
    if (!ctx)
        ctx = zmq_ctx_new();
    return ctx;
}

void bzmq_term(void)
{
    if (ctx)
        zmq_ctx_term(ctx);
    ctx = NULL;
}

void *bzmq_socket(int type, const char *endpoint, int bind, const char *identity, char *err,
                  size_t errlen)
{
    void *s = zmq_socket(bzmq_ctx(), type);
    if (!s) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = 0, hwm = 100000, maxmsg = EV_MAX_BYTES + 1024;
    int64_t maxmsg64 = maxmsg;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg64, sizeof maxmsg64);
    if (identity)
        zmq_setsockopt(s, ZMQ_ROUTING_ID, identity, strlen(identity));
    if (type == ZMQ_ROUTER) {
        int on = 1; /* a launcher that reconnects with the same id takes its route over */
        zmq_setsockopt(s, ZMQ_ROUTER_HANDOVER, &on, sizeof on);
    }
    int rc = bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint);
    if (rc < 0) {
        snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect", endpoint, zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

int bzmq_send_ev(void *sock, const void *route, size_t route_len, const struct ev *e)
{
    char buf[EV_MAX_BYTES];
    int n = ev_encode(e, buf, sizeof buf);
    if (n < 0)
        return -1;
    if (route && zmq_send(sock, route, route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(sock, buf, (size_t)n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}
