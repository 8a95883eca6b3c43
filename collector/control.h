/* Commands from the CLI (a DEALER that never says hello): `start` a run on the live
 * launchers and `abort` one. Not for launcher events (apply.c) nor for the loop. */
#ifndef BS_COLL_CONTROL_H
#define BS_COLL_CONTROL_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "event.h"
#include "registry.h"

/* Handles e (EV_START or EV_ABORT) that came from route on sock, and replies there.
 * start: resolves the targets (`hosts`: "all"/empty = every live launcher; else a comma
 * list of host ids, each of which must be live, and pools, "pool:NAME" or a bare NAME
 * that is no known host: bs:pool:NAME, whose members not connected are left out and
 * noted as missing:HOST), each target's share (`split`: per_host or by_cores) and one
 * agreed start `at` (the start's own, else our realtime + lead_ns), writes
 * bs:{RUN}:meta and bs:runs, forwards the start to each target with `host`, `count`
 * and `at` set for it (at corrected by its clock offset), follows the run (reg->runs)
 * and replies {ok 1, run, hosts, count}; abort: forwards to every live launcher,
 * replies {ok 1, run, count}. Errors reply {ok 0, error}. redis may be NULL (start then
 * fails); a connection failure leaves redis->err set for the caller to reconnect. */
void control_handle(void *sock, redisContext *redis, struct registry *reg, mono_ns now,
                    int64_t lead_ns, const void *route, size_t route_len, const struct ev *e);

/* A run_start, prepared or run_end of a followed run was stored: its target started,
 * prepared its template or ended (a target given up on that starts, prepares or ends
 * after all is waited for again). */
void control_on_event(redisContext *redis, struct registry *reg, const struct ev *e);

/* Once a second, after the liveness check: a target with no run_start
 * REG_START_GRACE_NS after the start, or whose host is gone mid-run, is given up on
 * (meta missing:HOST = why, lost_tr:HOST, hosts_lost + 1: the CLI stops waiting for
 * it); a host missing mid-run is noted in missing:HOST, and again when it is back.
 * Runs whose targets all ended are no longer followed. */
void control_tick(redisContext *redis, struct registry *reg, mono_ns now);

/* start snapshot | template (docs/SNAPSHOTS.md): for each followed run whose targets
 * are all prepared (a `prepared` event), ended or given up on, picks the storm's agreed
 * start once (the first `at` while it is lead_ns / 4 ahead, else that long from now, a
 * lone target at once;
 * noted as the run's start_at_tr when it moved) and sends each prepared target a `go`
 * with it (corrected by its clock offset); a target prepared later gets it at once.
 * Call it when a `prepared` was stored and once a second. */
void control_go(void *sock, redisContext *redis, struct registry *reg, int64_t lead_ns);

/* HSET bs:{run}:meta field value, best effort (a failed connection leaves redis->err
 * set). The collector's one way to write a run's meta after the start (write_meta). */
void control_meta_note(redisContext *redis, const char *run, const char *field, const char *value);

#endif
