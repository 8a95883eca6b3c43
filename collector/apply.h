/* One FCALL bs_apply for a batch of one launcher's events: the messages exactly as the
 * launcher encoded them (decoded once by the collector to validate them, never
 * re-encoded), the run keys they touch, and the reading of the per-event answer.
 * Not for deciding what is stored or acked: bs_apply (redis/bootstorm.lua) does that. */
#ifndef BS_COLL_APPLY_H
#define BS_COLL_APPLY_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"

#define APPLY_BATCH_MAX 256 /* events per FCALL */
#define APPLY_RUNS_MAX 8    /* distinct runs declared as keys per FCALL */

/* Per-event answers of bs_apply. */
/* What bs_apply did with one event (redis/bootstorm.lua). APPLY_NO_RUN: in order, but
 * its run does not exist: not stored, counted, and the sequence goes on past it. */
enum apply_code { APPLY_GAP = -1, APPLY_DUP = 0, APPLY_STORED = 1, APPLY_NO_RUN = 2 };

struct apply_call {
    char host[BS_ID_MAX];
    char now[24];
    int nev, nruns;
    char runs[APPLY_RUNS_MAX][BS_ID_MAX];
    const char *msg[APPLY_BATCH_MAX];
    size_t len[APPLY_BATCH_MAX];
};

/* Starts an empty call for host's events; now_tr is the collector's realtime (the
 * host's last sighting). */
void apply_begin(struct apply_call *a, const char *host, int64_t now_tr);

/* Adds one validated message of a's host (run "" for hello/heartbeat/lost without run),
 * by reference: msg must live until apply_send returned. Returns 0, or -1 when a is
 * full (send it and begin another). */
int apply_add(struct apply_call *a, const char *run, const void *msg, size_t len);

/* Appends the FCALL to r's pipeline. Returns 0, or -1 when hiredis failed. */
int apply_send(redisContext *r, const struct apply_call *a);

/* Reads the reply r of a call of nev events: *acked = the host's last seq stored with
 * everything before it (0: none), codes[i] = enum apply_code of event i. Returns 0, or
 * -1 when r is an error or malformed (the error is in errbuf). */
int apply_result(const redisReply *r, int nev, int64_t *acked, int *codes, char *errbuf,
                 size_t errlen);

#endif
