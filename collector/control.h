/* Commands from the CLI (a DEALER that never says hello): `start` a run on the live
 * launchers and `abort` one. Not for launcher events (apply.c) nor for the loop. */
#ifndef BS_COLL_CONTROL_H
#define BS_COLL_CONTROL_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "event.h"
#include "registry.h"

/* Handles e (EV_START or EV_ABORT) that came from route on sock, and replies there.
 * start: picks the targets ("all"/empty: every live launcher; else the comma list,
 * each of which must be live), writes bs:{RUN}:meta and bs:runs, forwards the start
 * to each target with `host` set, replies {ok 1, run, hosts, count}; abort: forwards
 * to every live launcher, replies {ok 1, run, count}. Errors reply {ok 0, error}.
 * redis may be NULL (start then fails); a connection failure leaves redis->err set
 * for the caller to reconnect. */
void control_handle(void *sock, redisContext *redis, const struct registry *reg, mono_ns now,
                    const void *route, size_t route_len, const struct ev *e);

#endif
