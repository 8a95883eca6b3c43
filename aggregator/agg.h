/* Aggregates of one run, read from Redis as redis/SCHEMA.md lays it out, and their
 * text and JSON renderings for `bootstorm report` / `bootstorm runs`. Read-only: it
 * never writes a key (the collector's Redis Function does). agg.c queries, agg_print.c
 * renders. */
#ifndef BS_AGG_H
#define BS_AGG_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AGG_ID_MAX 128

/* Missing values: counts are 0, integers that may be unknown are -1, ms values are -1
 * (every measured duration is >= 0). boot_* are valid only when boot_n > 0, lag_*
 * only when lag_n > 0. */
struct agg_run {
    char run[AGG_ID_MAX], name[AGG_ID_MAX], kind[AGG_ID_MAX];
    char backend[32], accel[16], pattern[16];
    char accel_used[16]; /* accel:HOST of every host; "mixed" if they differ; "" if none */
    char hosts[1024];    /* comma list as in meta */
    long long count;     /* guests per host */
    long long hosts_expected, hosts_done;
    long long total; /* count * hosts_expected */
    long long spawned, ready, failed;
    long long failed_timeout, failed_crash, failed_spawn, failed_other;
    long long boot_n; /* members of bs:{RUN}:boot */
    double boot_min_ms, boot_p50_ms, boot_p90_ms, boot_p99_ms, boot_max_ms, boot_mean_ms;
    double all_ready_ms; /* max over hosts of last_ready_tm - first_spawn_tm; -1 if none */
    /* Peak host memory is the run's peak_mem_kib (max over hosts); mem_base_kib is the
     * base (before any guest) of the host that reached that peak, so peak - base is one
     * host's cost of its `count` guests. -1 when unknown. */
    long long peak_mem_kib, mem_base_kib;
    long long lag_n; /* members of bs:{RUN}:lag (interval runs) */
    double lag_p50_ms, lag_p99_ms;
    long long cpu_ms, rss_kib; /* launchers' own, summed over hosts; -1 if none reported */
    int complete;              /* hosts_expected > 0 && hosts_done >= hosts_expected */
    int64_t created_tr;        /* realtime ns, 0 if unknown */
    char errors[2048];         /* "HOST: message" per failing launcher, '\n'-separated */
};

/* Loads run (an id, or "last" = the newest in bs:runs) into *out. Returns 0, or -1 with
 * the reason in err: "no run 'X' in Redis" when it has no meta, else the Redis error.
 * A transport failure leaves c->err set: the caller frees c (hiredis rule). */
int agg_load(redisContext *c, const char *run, struct agg_run *out, char *err, size_t errlen);

/* Prints a table of the newest `limit` runs (all if limit <= 0), newest first: run,
 * guest kind, guests, ready/failed, boot p50, complete. Returns the number of runs
 * printed, or -1 with the reason in err. */
int agg_list_runs(redisContext *c, FILE *out, int limit, char *err, size_t errlen);

/* Polls bs:{RUN}:meta every ~50 ms until hosts_done >= hosts_expected > 0 (returns 0)
 * or timeout_ms passes (-1, err says how many hosts finished). run must be an id, not
 * "last". A Redis error also returns -1 at once. */
int agg_wait_done(redisContext *c, const char *run, int timeout_ms, char *err, size_t errlen);

/* Renders r as a header, one table row (the published studies' columns) and notes on
 * failures, lag, launcher cost and errors. "-" marks a missing value. */
void agg_print_text(const struct agg_run *r, FILE *out);

/* Renders r as one JSON object on one line (keys in docs of agg_print.c); missing
 * values are null, strings escaped, invalid UTF-8 replaced by U+FFFD. */
void agg_print_json(const struct agg_run *r, FILE *out);

#endif
