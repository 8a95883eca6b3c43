/* The launcher's outgoing events: gap-free sequence numbers, the queue of events
 * the collector has not acknowledged yet, and their resending. Not for the
 * socket's life cycle (main.c) or for what the events mean (run.c). */
#ifndef BS_OUTBOX_H
#define BS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

struct outbox;

/* Creates an outbox sending through sock (a connected DEALER), stamping every event
 * with host. max_unacked bounds memory: past it the oldest events are dropped with an
 * error logged (the on-disk spool is the cure). Returns NULL on allocation failure. */
struct outbox *outbox_new(void *sock, const char *host, size_t max_unacked);
void outbox_free(struct outbox *ob);

/* Stamps e with host, the next seq and, when e->tm is 0, the current clocks; keeps a
 * copy until acknowledged and sends it now if the socket takes it. Returns the seq. */
int64_t outbox_push(struct outbox *ob, struct ev *e);

/* Forgets every event with seq <= ack. */
void outbox_ack(struct outbox *ob, int64_t ack);

/* Resends every unacknowledged event when nothing was acknowledged for resend_ms
 * (a lost connection, a restarted collector). Call periodically. */
void outbox_tick(struct outbox *ob, int resend_ms);

size_t outbox_pending(const struct outbox *ob);
int64_t outbox_last_seq(const struct outbox *ob);

#endif
