/* The launch-pattern scheduler: which instances exist, when each is due, and what
 * phase it is in (pending, booting, ready, failed; alive; retired) for burst, interval,
 * ramp, concurrency_limit, mass restart and hold_s. Pure: time comes in as arguments,
 * actions go out through sched_ops. Not for processes, consoles or events (run.c). */
#ifndef BS_SCHED_H
#define BS_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define SCHED_MAX_RAMP 256
/* The furthest after t0 the scheduler plans anything (about 73 years): every due time
 * t0 + offset then stays far from INT64_MAX, so no sum or product can overflow. */
#define SCHED_MAX_SPAN_NS (INT64_MAX / 4)

enum sched_state { SCHED_PENDING, SCHED_BOOTING, SCHED_READY, SCHED_FAILED };

struct sched_inst {
    mono_ns due;
    unsigned char state; /* enum sched_state */
    unsigned char alive; /* spawned and not gone */
    unsigned char
        retired; /* stopped on purpose (ramp down, restart, end): its exit is no failure */
};

struct sched_ramp_point {
    int64_t at_ns; /* after t0 */
    int count;     /* instances wanted from then on */
};

struct sched_cfg {
    int64_t count;            /* burst / interval: instances */
    int64_t interval_ns;      /* interval: instance i due at t0 + i * interval_ns; 0 for a burst */
    int concurrency;          /* at most this many booting at once; 0 = no limit */
    int64_t hold_ns;          /* once settled, keep the fleet this long */
    int restart_permille;     /* mass restart: share of the fleet stopped and replaced */
    int64_t restart_after_ns; /* ... this long after every instance settled */
    struct sched_ramp_point ramp[SCHED_MAX_RAMP]; /* ramp: the trace; nramp 0 otherwise */
    int nramp;
};

/* What the scheduler asks of its owner; ctx is the owner's. */
struct sched_ops {
    int (*create)(void *ctx, int idx); /* instance idx now exists (pending): 0, or -1 */
    void (*stop)(void *ctx, int idx);  /* stop idx's guest (alive, now retired) */
    void (*fail)(void *ctx, int idx);  /* idx is aborted before ready: report it */
    void (*restart)(void *ctx, int stopped, mono_ns now); /* a mass restart happened */
    /* The fleet is whole for the first time (sched_whole): returns until when the
     * owner wants it kept so (neither ended nor mass-restarted; a ramp's trace still
     * runs), unless sched_release comes first; {0}: no need. NULL: never kept. */
    mono_ns (*whole)(void *ctx, mono_ns now);
};

struct sched {
    struct sched_cfg cfg;
    const struct sched_ops *ops;
    void *ctx;
    struct sched_inst *in;
    int n, cap;     /* instances created so far (a ramp may drop unspawned ones) */
    int initial;    /* instances of the burst / interval phase */
    int next_spawn; /* first instance not spawned yet; every later one is pending */
    int alive, booting, nready, nfailed;
    mono_ns t0, all_done_at; /* all_done_at: when it last became settled, 0 if not */
    int ramp_next, live_target, restart_done, ending;
    /* Set by the owner after sched_init when it takes spawns early (sched_take_due with
     * now + take_ahead_ns: the launcher's spawner thread sleeps to each due time): a
     * ramp's rises are created that early, due at their own times, and
     * sched_next_due wakes the owner that early for a spawn, never for anything else. */
    int64_t take_ahead_ns;
    mono_ns ramp_ahead_at; /* when the next rises are to be created */
    int64_t *dues;         /* ramp_ahead's: the live instances' due times, sorted */
    int dues_cap;
    int ahead_failed;   /* nfailed when ramp_ahead last ran: a failure since may change it */
    int ramp_peak;      /* ramp: the last point of its first step at its largest count */
    int whole_seen;     /* ops->whole was called */
    mono_ns keep_until; /* the owner keeps the fleet whole until then; 0: not kept */
};

/* "T_MS:COUNT,..." (times rising, at most SCHED_MAX_RAMP points) into c->ramp.
 * Returns 0, or -1 with the reason in err. */
int sched_parse_ramp(struct sched_cfg *c, const char *s, char *err, size_t errlen);

/* Checks that every time in c (the last interval instance, hold, restart wait, ramp
 * points) is in [0, SCHED_MAX_SPAN_NS] and count in [0, INT_MAX], before any
 * arithmetic. Returns 0, or -1 with the reason in err. */
int sched_check_cfg(const struct sched_cfg *c, char *err, size_t errlen);

/* Sets s up and creates the burst / interval instances (none for a ramp), due from t0.
 * s keeps cfg (copied), ops and ctx. Returns 0, or -1 when out of memory or when
 * sched_check_cfg refuses cfg. */
int sched_init(struct sched *s, const struct sched_cfg *cfg, mono_ns t0,
               const struct sched_ops *ops, void *ctx);
void sched_free(struct sched *s);

/* Follows the ramp, tells the owner when the fleet is whole (ops->whole), runs the
 * mass restart and ends the hold (each waiting while the fleet is kept), as now
 * says; call it before taking what is due. */
void sched_tick(struct sched *s, mono_ns now);

/* The next instance due by now that the concurrency limit lets start: it becomes
 * booting and its index is returned; -1 when there is none (or the run is ending). */
int sched_take_due(struct sched *s, mono_ns now);

/* Reports from the owner. Each returns 1 if it changed the instance, else 0. */
int sched_spawned(struct sched *s, int idx); /* its process or domain exists */
int sched_ready(struct sched *s, int idx);   /* booting -> ready */
int sched_failed(struct sched *s, int idx);  /* pending / booting -> failed */
int sched_gone(struct sched *s, int idx);    /* its process is gone */

/* Stops idx (retired; ops->stop when alive). */
void sched_stop(struct sched *s, int idx);

/* Ends the run now: every pending or booting instance fails (ops->fail), every live
 * one is stopped; a keep (ops->whole) is dropped: an abort waits for nothing. */
void sched_abort(struct sched *s);

/* The fleet is whole: every instance of the schedule so far spawned (the burst's,
 * the interval's last one, those the concurrency limit held back), none booting any
 * more, at least one instance; for a ramp, from its peak point on (the first point
 * with the trace's largest count: the fleet is whole at its peak when the instances
 * that point asked for have all booted). */
int sched_whole(const struct sched *s);

/* The owner no longer needs the fleet kept (ops->whole): the end or mass restart
 * that waited goes on at the next tick. */
void sched_release(struct sched *s);

/* True while the fleet is kept for the owner (ops->whole's time not passed, no
 * sched_release, no abort). */
int sched_kept(const struct sched *s, mono_ns now);

/* True once the run is ending and no instance is alive or being created. */
int sched_finished(const struct sched *s);

/* The earliest time sched_tick or sched_take_due has something to do: a spawn due
 * (take_ahead_ns before its due time), a ramp point or the creation of its rise ahead,
 * the end of the restart wait or of the hold, or of the owner's keep when later (at
 * their own times); INT64_MAX ns when nothing is planned. */
mono_ns sched_next_due(const struct sched *s);

#endif
