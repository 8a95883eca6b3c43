/* The launcher's outgoing events: gap-free sequence numbers, the queue of events
 * the collector has not acknowledged yet, their resending and (with a spool dir)
 * their persistence across launcher restarts (spool.h). Not for the socket's life
 * cycle (main.c) or for what the events mean (run.c). */
#ifndef BS_OUTBOX_H
#define BS_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "event.h"

#define OUTBOX_MAX_BYTES (512u << 20) /* encoded bytes kept unacknowledged, memory and disk */

struct outbox;

/* Creates an outbox sending through sock (a connected DEALER), stamping every event
 * with host. spool_dir NULL: memory only. Else the unacknowledged events also live
 * in spool_dir/HOST.spool: the ones an earlier launcher left there are loaded and
 * sent at once (before anything pushed later) and seq continues after the highest
 * one the spool saw, so the sequence stays gap-free across restarts. max_unacked
 * events (and OUTBOX_MAX_BYTES) bound memory and disk: past it the oldest events are
 * dropped with an error logged, and a `lost` event (docs/PROTOCOL.md) takes their place
 * in the sequence, so the collector never waits for them. Returns NULL with err set
 * (spool unusable or locked by another launcher, out of memory). */
struct outbox *outbox_open(void *sock, const char *host, const char *spool_dir, size_t max_unacked,
                           char *err, size_t errlen);
void outbox_free(struct outbox *ob);

/* Stamps e with host, the next seq and, when e->tm is 0, the current clocks; keeps a
 * copy (spooled first) until acknowledged and sends it now if the socket takes it.
 * An event that cannot be encoded is replaced by a `lost` event for its seq.
 * Returns the seq. */
int64_t outbox_push(struct outbox *ob, struct ev *e);

/* Pushes from now on keep their event and send nothing: outbox_flush sends what waits
 * once the oldest of it is min_ns old, and asks to be called again by the time it is
 * max_ns old. So the events of several loop turns go to libzmq together, on a turn the
 * loop makes anyway; sent one by one, each woke libzmq's I/O thread, and each batch the
 * collector stored came back as an ack that woke the loop (docs/SCALING.md, "Launcher
 * CPU"). The events' stamps do not move. min_ns < 0, the default: outbox_push sends at
 * once. */
void outbox_set_delay(struct outbox *ob, int64_t min_ns, int64_t max_ns);

/* Sends what waits once it is due (see outbox_set_delay; force: at once). Returns when
 * it must be called again at the latest, INT64_MAX ns when nothing waits. */
mono_ns outbox_flush(struct outbox *ob, mono_ns now, int force);

/* Forgets every event with seq <= ack (in the spool too, compacting it now and then).
 * An ack beyond every seq given so far (the collector holds more of this host than
 * the spool did) makes the sequence continue at ack + 1; returns 1 then (the caller
 * says hello again: the one it sent was taken for one already stored), else 0. */
int outbox_ack(struct outbox *ob, int64_t ack);

/* Resends every unacknowledged event when nothing was acknowledged for resend_ms
 * (a lost connection, a restarted collector). Call periodically. */
void outbox_tick(struct outbox *ob, int resend_ms);

size_t outbox_pending(const struct outbox *ob);

/* How many messages the outbox has handed the socket so far (its user drains the
 * socket after sends: docs of ZMQ_FD). */
uint64_t outbox_sends(const struct outbox *ob);
int64_t outbox_last_seq(const struct outbox *ob);

#endif
