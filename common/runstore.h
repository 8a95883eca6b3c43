/* A run as a whole in Redis: whether it is still running, and removing it (every
 * bs:{RUN}:* key and its bs:runs entry), alone or by a retention rule (keep the newest
 * N, or those created after a time). The one owner of deleting runs: `bootstorm rm`,
 * `bootstorm prune` and the collector's --keep-runs call it. Not for reading what a
 * run holds (aggregator/) nor for writing it (collector/control.c, bs_apply). */
#ifndef BS_RUNSTORE_H
#define BS_RUNSTORE_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

/* What a run's meta says of its progress. */
struct runstore_state {
    long long done, expected, lost; /* hosts_done, hosts_expected (-1: no meta), hosts_lost */
};

/* 1 when run id may name a run: not empty, shorter than BS_ID_MAX, no '{', '}',
 * whitespace or control characters (it becomes a key's hash tag). */
int runstore_valid_id(const char *run);

/* 1 when run exists (a bs:runs member or a meta hash), 0 if not, -1 on a Redis error
 * (err). run must be valid (runstore_valid_id). */
int runstore_exists(redisContext *c, const char *run, char *err, size_t errlen);

/* Whether run is over: 1 when hosts_done >= hosts_expected > 0, or when hosts were
 * given up on (hosts_lost > 0) and every target host has end_tr:HOST or lost_tr:HOST;
 * also 1 when the meta expects no host (nothing is running for it). 0 while it runs,
 * -1 on a Redis error (err). *st (may be NULL) gets the counts read. */
int runstore_over(redisContext *c, const char *run, struct runstore_state *st, char *err,
                  size_t errlen);

/* Deletes every key of run (SCAN MATCH bs:{RUN}:*, UNLINK in batches) and its bs:runs
 * member. Does not check that the run exists or is over: the caller decides. Returns
 * the number of keys deleted (the bs:runs member not counted), or -1 with err. */
long long runstore_remove(redisContext *c, const char *run, char *err, size_t errlen);

/* What runstore_prune did, or would do, to one run. */
enum runstore_fate { RUNSTORE_REMOVED, RUNSTORE_WOULD_REMOVE, RUNSTORE_KEPT_RUNNING };

/* Which runs prune chooses: those beyond the newest `keep` (keep < 0: no such rule)
 * and those created before before_ms (bs:runs score, realtime ms; 0: no such rule).
 * Both rules given: a run either chooses goes. */
struct runstore_rule {
    int64_t keep;
    int64_t before_ms;
    int dry_run; /* 1: remove nothing, report RUNSTORE_WOULD_REMOVE */
    int force;   /* 1: remove runs still running too */
};

/* Called once per run chosen, oldest first, with what happened and the keys deleted. */
typedef void (*runstore_each_fn)(void *arg, const char *run, enum runstore_fate fate,
                                 long long nkeys);

/* Applies rule: removes the runs it chooses that are over (all of them with force),
 * calling each (may be NULL) for every run chosen. Returns the number of runs removed
 * (or that would be), or -1 with err on a Redis error (runs removed before it stay
 * removed). */
int runstore_prune(redisContext *c, const struct runstore_rule *rule, runstore_each_fn each,
                   void *arg, char *err, size_t errlen);

#endif
