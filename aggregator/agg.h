/* Aggregates of one run, read from Redis as redis/SCHEMA.md lays it out, and their
 * text and JSON renderings for `bootstorm report` / `bootstorm runs`. Read-only: it
 * never writes a key (the collector's Redis Function does). agg.c queries, agg_print.c
 * renders text, agg_json.c JSON (jansson), agg_guests.c per-guest rows, agg_plot.c charts. */
#ifndef BS_AGG_H
#define BS_AGG_H

#include <hiredis/hiredis.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define AGG_ID_MAX 128

#define AGG_HOSTS_MAX 64
#define AGG_PHASES_MAX 16
#define AGG_BUCKETS_MAX 32

/* An exact distribution read from one sorted set (nearest rank); n = 0: none. */
struct agg_dist {
    long long n;
    double min, p50, p90, p99, max, mean; /* mean -1 when no sum is kept */
};

/* One launcher's share of a run (bs:{RUN}:hagg:HOST, its members of boot and lag). */
struct agg_host {
    char name[AGG_ID_MAX];
    long long spawned, ready, failed, restarts;
    long long stopped; /* stopped by a ramp before they were ready: no failure */
    struct agg_dist boot, lag;
    double all_ready_ms; /* last_ready_tm - first_spawn_tm on its clock; -1 if none */
    long long peak_mem_kib;
    double clock_offset_ms, clock_err_ms; /* the run's estimate (meta clock_offset_ns:HOST,
                                           * else bs:host:HOST now); err -1 when unknown */
    int clock_from_meta;
    long long count;   /* guests asked of it: count:HOST (split by_cores), else the run's count */
    int started, lost; /* meta start_tr:HOST / lost_tr:HOST (given up on by the collector) */
    /* fleet timeline, realtime corrected by its offset, ms after the agreed start
     * (start_at_tr; else after the fleet's first spawn); -1 when unknown */
    double first_spawn_ms, last_ready_ms;
    int64_t first_spawn_c, last_ready_c; /* the same as corrected realtime ns, 0 unknown */
    /* start snapshot / template (docs/SNAPSHOTS.md): meta prep_ns:HOST (template spawn
     * to state file complete) and state_kib:HOST; 0 when none (cold, or not reported) */
    double prep_ms;
    long long state_kib;
};

/* One phase of a boot (bs:{RUN}:ph:NAME): "spawned" spawn->spawned, "first_output"
 * spawned->first output, "ready" first output->ready, "m:NAME" spawn->marker. */
struct agg_phase {
    char name[AGG_ID_MAX];
    struct agg_dist d;
};

/* Boot times of the guests that found [lo, 2*lo) (lo 0: none) already running. */
struct agg_bucket {
    long long lo, n;
    double mean_ms, max_ms;
};

/* A target host the run gave up on or that went missing, and why (meta missing:HOST). */
struct agg_missing {
    char host[AGG_ID_MAX];
    char why[256];
};

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
    long long stopped; /* stopped by a ramp before they were ready: neither ready nor failed */
    long long failed_timeout, failed_crash, failed_spawn, failed_other;
    long long failed_not_started;   /* guests that never got a verdict, their host never started */
    long long failed_launcher_lost; /* the same on a host lost mid-run (its launcher died) */
    long long boot_n;               /* members of bs:{RUN}:boot */
    double boot_min_ms, boot_p50_ms, boot_p90_ms, boot_p99_ms, boot_max_ms, boot_mean_ms;
    double all_ready_ms; /* max over hosts of last_ready_tm - first_spawn_tm; -1 if none */
    /* Peak host memory is the run's peak_mem_kib (max over hosts); mem_base_kib is the
     * base (before any guest) of the host that reached that peak, so peak - base is one
     * host's cost of its `count` guests. -1 when unknown. */
    long long peak_mem_kib, mem_base_kib;
    /* Memory per guest from the guests' own processes (agg_mem.c): the PSS per guest of
     * each host's sample with the most guests running, read for pss_sampled of the
     * pss_running guests; -1 unknown. */
    double pss_per_guest_mib;
    long long pss_sampled, pss_running;
    double pss_at_ms; /* when that sample was taken, ms after the first spawn; -1 unknown */
    int pss_booting;  /* 1: taken before the last guest was ready (an underestimate) */
    /* Instances by the accel they ran under (the Function's agg accel:ACCEL). */
    int naccels;
    struct {
        char name[16];
        long long n;
    } accels[4];
    long long lag_n; /* members of bs:{RUN}:lag (interval runs) */
    double lag_p50_ms, lag_p99_ms;
    long long cpu_ms, rss_kib; /* launchers' own, summed over hosts; -1 if none reported */
    int complete;              /* hosts_expected > 0 && hosts_done >= hosts_expected */
    int64_t created_tr;        /* realtime ns, 0 if unknown */
    int64_t first_spawn_tr, last_ready_tr; /* the run's (agg), realtime ns; 0 if unknown */
    char errors[2048]; /* "HOST: message" per failing launcher, '\n'-separated */
    /* detail (agg_load fills it too) */
    int nhosts, nphases, nbuckets;
    struct agg_host host[AGG_HOSTS_MAX]; /* sorted by name */
    int slowest;                         /* index in host[] of the highest boot p99, -1 */
    struct agg_phase phase[AGG_PHASES_MAX];
    struct agg_bucket bucket[AGG_BUCKETS_MAX];
    double ready_per_s;                /* ready / all_ready_s; -1 if unknown */
    long long peak_ready_1s;           /* most guests ready within one second (bs:{RUN}:rps) */
    long long restarts, restart_count; /* restart events, instances they killed */
    char invalid[256];                 /* meta `invalid`: why `check` rejected the run, "" if not */
    char clock_flag[256]; /* meta `clock_flag`: hosts' clocks too far apart, "" if not */
    /* fleet-wide (docs/MULTIHOST.md): one timeline over every host's realtime corrected
     * by its clock offset. fleet_ready_ms = max(last ready) - min(first spawn); its
     * error bound = the clock errors of the two hosts those came from; start_spread_ms =
     * max - min of the hosts' first spawns. -1 when unknown (fewer than one host). */
    char split[16];      /* per_host | by_cores */
    char start[16];      /* meta start: cold | snapshot | template; "" in older runs */
    int64_t start_at_tr; /* the agreed start, collector realtime; 0 if none */
    double fleet_ready_ms, fleet_err_ms, start_spread_ms;
    long long hosts_lost; /* targets given up on (missed the start, gone) */
    int nmissing;
    struct agg_missing missing[AGG_HOSTS_MAX]; /* per meta missing:HOST, in meta order */
    long long lost_events; /* agg `lost`: events launchers had to drop (outbox overflow) */
    /* Mass restart recovery (agg_restart.c), on the hosts' realtime as upc has it:
     * restart_tr is meta restart_tr (the earliest host's restart, 0 if none);
     * restart_level the guests ready and alive just before it, restart_low the fewest
     * after it; restart_recovery_ms the time from restart_tr until every restarted
     * instance was ready again and the ready count back at restart_level (the fleet
     * whole again), -1 when unknown or never (restart_low < restart_level: never back). */
    int64_t restart_tr;
    long long restart_level, restart_low;
    double restart_recovery_ms;
};

/* Loads run (an id, or "last" = the newest in bs:runs) into *out. Returns 0, or -1 with
 * the reason in err: "no run 'X' in Redis" when it has no meta, else the Redis error.
 * A transport failure leaves c->err set: the caller frees c (hiredis rule). */
int agg_load(redisContext *c, const char *run, struct agg_run *out, char *err, size_t errlen);

struct agg_guests;
/* agg_load, keeping the run's events folded (agg_guests_load) in *gs for the caller's
 * rows and charts: one fold for both. Free gs with agg_guests_free, also on -1. */
int agg_load_guests(redisContext *c, const char *run, struct agg_run *out, struct agg_guests *gs,
                    char *err, size_t errlen);

/* The distribution of v[0..n) by nearest rank (v is sorted in place); sum_ms < 0: no
 * mean. The one rule of percentiles over values the Function does not keep sorted. */
void agg_dist_of(double *v, size_t n, double sum_ms, struct agg_dist *d);

/* Prints a table of the newest `limit` runs (all if limit <= 0), newest first: run,
 * guest kind, guests, ready/failed, boot p50, complete. Returns the number of runs
 * printed, or -1 with the reason in err. */
int agg_list_runs(redisContext *c, FILE *out, int limit, char *err, size_t errlen);

/* The same runs as a JSON array of {run, guest, count, ready, failed, boot_p50_ms,
 * complete} (an unreadable run: {run, error}). NULL with err on a Redis error. */
json_t *agg_list_runs_json(redisContext *c, int limit, char *err, size_t errlen);

/* Polls bs:{RUN}:meta every ~50 ms until hosts_done >= hosts_expected > 0, or every
 * target host has ended (end_tr:HOST) or been given up on by the collector
 * (lost_tr:HOST: missed the start or gone mid-run) (returns 0)
 * or timeout_ms passes (-1, err says how many hosts finished). run must be an id, not
 * "last". A Redis error also returns -1 at once. */
int agg_wait_done(redisContext *c, const char *run, int timeout_ms, char *err, size_t errlen);

/* Renders r as a header, one table row (the published studies' columns) and notes on
 * failures, lag, launcher cost and errors. "-" marks a missing value. */
void agg_print_text(const struct agg_run *r, FILE *out);

/* How v compares with base, both >= 0 with < 0 meaning unknown: *delta = v - base and
 * *pct = 100 * delta / base (0 when both are 0, +inf when only base is). Returns 0, or
 * -1 (outputs left alone) when either is unknown. The one rule of `check --baseline`
 * and `compare` (agg_print.c). */
int agg_delta(double v, double base, double *delta, double *pct);

/* Memory one guest costs on the host that peaked (MiB), or -1 when unknown (agg_print.c). */
double agg_mem_per_guest_mib(const struct agg_run *r);

/* The accel to show: what the instances ran under ("mixed" when more than one), else
 * the one the hosts started with, else the one asked for (agg_print.c). */
const char *agg_accel_shown(const struct agg_run *r);

/* What phase name (struct agg_phase) means, for tables: "spawn -> spawned",
 * "spawned -> 1st output", "1st output -> ready", "spawn -> MARKER" (agg_print.c). */
void agg_phase_label(const char *name, char *buf, size_t len);

/* Fills r->pss_per_guest_mib and pss_running from the hosts' mem streams (agg_mem.c).
 * Returns 0, or -1 with err on a Redis error. */
int agg_mem_load(redisContext *c, struct agg_run *r, char *err, size_t errlen);

/* ---- mass restart recovery (agg_restart.c) ---- */

/* One change of the ready count: realtime ns of its host and the run's count after it. */
struct agg_upc {
    int64_t tr;
    long long all;
    int host; /* index in struct agg_guests host[] */
};

/* Field f of a stream entry (id, [k, v, ...]), NULL when absent or not one. */
const char *agg_xfield(const redisReply *e, const char *f);

/* The host's clock offset (its realtime - the collector's) in ns, 0 when unknown. */
int64_t agg_host_offset_ns(const struct agg_run *r, const char *host);

/* The recovery from a restart at restart_tr that restarted `restarted` instances, over
 * the changes u[0..n) in the order applied: *level = the count of the last change
 * before restart_tr, *low the fewest from then on; returns ms from restart_tr to the
 * first change by which `restarted` guests became ready since and the count is back at
 * *level (every restarted guest ready again), or -1 (no level before it, never back).
 * The one rule of "whole again"; agg_load calls it through agg_restart_load. */
double agg_restart_recovery(const struct agg_upc *u, size_t n, int64_t restart_tr,
                            long long restarted, long long *level, long long *low);

/* Fills r's restart_level, restart_low and restart_recovery_ms from the ready-count
 * timeline of gs (agg_guests_load) when r->restart_tr is set. */
void agg_restart_fill(struct agg_run *r, const struct agg_guests *gs);

/* ---- JSON (agg_json.c, through jansson) ---- */

/* r as one JSON object (keys listed in agg_json.c); missing values are null, invalid
 * UTF-8 replaced by U+FFFD. A new reference (json_decref it), NULL when out of memory. */
json_t *agg_run_json(const struct agg_run *r);

/* Dumps j compactly on one line followed by '\n' and drops the reference (j may be
 * NULL: out of memory). Returns 0, or -1 when j is NULL or the write failed. */
int agg_json_dump(json_t *j, FILE *out);

/* s as a JSON string (invalid UTF-8 bytes become U+FFFD), null when s is empty. */
json_t *agg_json_string(const char *s);

/* v rounded to 6 decimals (an integer when whole), null when !ok or not finite. */
json_t *agg_json_number(double v, int ok);

/* agg_json_dump(agg_run_json(r), out). */
int agg_print_json(const struct agg_run *r, FILE *out);

/* ---- the run's events folded (agg_events.c): per-guest rows and what needs a guest's
 * earlier events (phases, buckets, ready per second, the ready-count timeline) ---- */

#define AGG_MARKERS_MAX 16

/* One guest (its latest generation), from its events. Times in ms relative to its own
 * spawn on its host's monotonic clock; -1 when it never got there. */
/* One guest generation's row. Kept small (a report of 20,000 guests holds them all):
 * the host is an index into struct agg_guests' host[] (agg_guest_host), the id is
 * written on demand (agg_guest_id), and the rare texts are allocated when set. */
struct agg_guest {
    char state[16], reason[16];
    char accel[16];  /* what this instance ran under (kvm, tcg, ...); "" if not told */
    char *accel_why; /* why, when auto did not get KVM for it; NULL otherwise */
    char *detail;    /* exit, failed: the launcher's words on the end; NULL if none */
    int host;        /* index into struct agg_guests' host[] */
    long long idx, gen, running;
    int64_t spawn_tr;                             /* realtime ns of the spawn; 0 if unknown */
    int64_t spawn_tm;                             /* its host's monotonic ns; -1 if unknown */
    double boot_ms;                               /* ready - spawn */
    double spawned_ms, first_output_ms, ready_ms; /* spawn->spawned, ->1st output, ->ready */
    double marker_ms[AGG_MARKERS_MAX];            /* spawn -> marker[i] of struct agg_guests */
    long long rss_kib, ram_kib, cpu_ms;   /* peak RSS, guest RAM resident, CPU; -1 unknown */
    long long pid, exit_status, spawn_ns; /* -1 unknown; spawn_ns: the backend's spawn call */
    double exit_ms;                       /* spawn -> its exit event; -1 if none */
};

/* Every value of one phase (ms), one per generation that has it, in the order applied. */
struct agg_phase_values {
    char name[AGG_ID_MAX];
    double *v;
    size_t n, cap;
};

struct agg_guests {
    size_t n, cap;
    struct agg_guest *g; /* sorted by host, then idx */
    int nmarkers;
    char marker[AGG_MARKERS_MAX][AGG_ID_MAX]; /* names without "m:", in order of appearance */
    int nhosts;                               /* hosts with guest events, in order seen */
    char host[AGG_HOSTS_MAX][AGG_ID_MAX];
    int64_t anchor_tm[AGG_HOSTS_MAX], anchor_tr[AGG_HOSTS_MAX]; /* a spawn's two clocks */
    int nphases;
    struct agg_phase_values phase[AGG_PHASES_MAX];
    int nbuckets;
    struct agg_bucket bucket[AGG_BUCKETS_MAX]; /* unordered */
    long long peak_ready_1s, respawned;
    int naccels;
    struct {
        char name[16];
        long long n;
    } accels[4];
    struct agg_upc *upc; /* ready-count changes in the order applied; host indexes host[] */
    size_t nupc, upc_cap;
};

/* g's host name, and its id "HOST:IDX" written into buf (returned). */
const char *agg_guest_host(const struct agg_guests *gs, const struct agg_guest *g);
const char *agg_guest_id(const struct agg_guests *gs, const struct agg_guest *g, char *buf,
                         size_t len);

/* Loads every guest of run (an id). Returns 0 or -1 with err; free with agg_guests_free. */
int agg_guests_load(redisContext *c, const char *run, struct agg_guests *out, char *err,
                    size_t errlen);
void agg_guests_free(struct agg_guests *gs);

/* Writes one CSV row per guest with a header line (columns: guest, host, idx, gen,
 * state, reason, running, spawn_tr_ns, ready_tr_ns, boot_ms, spawned_ms,
 * first_output_ms, ready_ms, rss_kib, ram_kib, vmm_overhead_kib (rss - ram), cpu_ms,
 * accel, accel_why, then m:NAME per marker; empty cells when unknown). */
void agg_export_csv(const struct agg_guests *gs, FILE *out);

/* The same as one JSON array of objects (null when unknown), markers in markers_ms.
 * A new reference, NULL when out of memory. */
json_t *agg_guests_json(const struct agg_guests *gs);

/* ---- charts (agg_plot.c) ---- */

/* Writes into dir (created if absent) the data files, gnuplot scripts and charts of run
 * r, each as PNG and SVG: boot_cdf, boot_vs_running, memory, ready_count, phases (the
 * last only when phases exist). gnuplot is run by argv, never through a shell. Returns
 * the number of charts written, or -1 with err (gnuplot missing or failing, I/O). */
/* Runs gnuplot on dir/script (by argv, in dir, never through a shell). Returns 0, or -1
 * with err ("is gnuplot installed?" when it cannot be started). */
int agg_gnuplot(const char *dir, const char *script, char *err, size_t errlen);

/* The scenario in one line, for titles: "64 x minkernel, accel kvm, 1 host (h1)". */
void agg_scenario_line(const struct agg_run *r, char *buf, size_t len);

int agg_plot(redisContext *c, const struct agg_run *r, const struct agg_guests *gs, const char *dir,
             char *err, size_t errlen);

#endif
