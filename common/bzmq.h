/* ZeroMQ helpers: one shared context, socket set-up with our options, and sending
 * or receiving one struct ev. Not for message semantics (acks, commands). */
#ifndef BS_BZMQ_H
#define BS_BZMQ_H

#include <stddef.h>

#include "event.h"

/* The process-wide ZeroMQ context, created on first use. */
void *bzmq_ctx(void);

/* Terminates the context; every socket must be closed first. */
void bzmq_term(void);

/* Creates a socket of type (ZMQ_DEALER, ZMQ_ROUTER), linger 0, large HWMs. A
 * non-NULL identity becomes the routing id. Binds if bind else connects to
 * endpoint. Returns the socket or NULL with the reason in err. */
void *bzmq_socket(int type, const char *endpoint, int bind, const char *identity, char *err,
                  size_t errlen);

/* Encodes and sends e (non-blocking). With a non-NULL route (a ROUTER's peer id),
 * sends the id frame first. Returns 0, or -1 when the message could not be queued. */
int bzmq_send_ev(void *sock, const void *route, size_t route_len, const struct ev *e);

#endif
