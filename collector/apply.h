/* Turns one launcher event into the Redis commands that store it (redis/SCHEMA.md):
 * FCALL bs_apply for run events, host registry writes for hello and heartbeat.
 * Not for deciding whether an event is due (registry.h) nor for reading replies. */
#ifndef BS_COLL_APPLY_H
#define BS_COLL_APPLY_H

#include <hiredis/hiredis.h>

#include "event.h"

/* Appends to r's pipeline the commands that store e, a decoded launcher event
 * (ev_is_launcher_event) with a non-empty host and, for run events, a run id
 * without braces. now_tr is the collector's time, recorded as the host's last
 * sighting. Returns the number of replies to read (1 or 3), or -1 on failure. */
int apply_append(redisContext *r, const struct ev *e, int64_t now_tr);

/* 1 when reply r of a bs_apply says "applied", 0 for "duplicate", -1 when it is an
 * error or not an integer. */
int apply_fcall_result(const redisReply *r);

#endif
