/* The collector's in-memory host registry: each launcher's routing id, liveness, clock
 * samples and the runs the collector follows. Not for sequence numbers (the Redis
 * Function checks them, redis/bootstorm.lua), the Redis copy of the registry
 * (bs:hosts, bs:host:HOST) nor for sockets. */
#ifndef BS_COLL_REGISTRY_H
#define BS_COLL_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "event.h"

#define REG_LIVE_NS (3 * NS_PER_S)  /* three heartbeat periods */
#define REG_GONE_NS (30 * NS_PER_S) /* silent this long: "gone" */
#define REG_RUN_LOST_NS (6 * NS_PER_S) /* a host running a run, silent this long: given up on */
#define REG_CLOCK_SAMPLES 8
#define REG_ROUTE_MAX 256

struct host {
    char id[BS_ID_MAX];
    unsigned char route[REG_ROUTE_MAX]; /* ZeroMQ routing id of its latest message */
    size_t route_len;
    mono_ns last_heard;
    int missing;   /* marked "missing" in Redis; cleared when heard again */
    int64_t acked; /* the last ack bs_apply reported (it owns the sequence check) */
    /* clock offset (launcher realtime - ours), NTP-style: the min-delay sample of the
     * last REG_CLOCK_SAMPLES pongs is the estimate, delay/2 its error bound */
    int64_t clk_offset[REG_CLOCK_SAMPLES], clk_delay[REG_CLOCK_SAMPLES];
    int clk_n, clk_i;
    int gone; /* marked "gone" in Redis: silent for REG_GONE_NS */
    /* per batch */
    int touched;
};

/* A run started through this collector, followed until every target ended or was
 * given up on, so a host that misses the start or vanishes is recorded, not waited
 * for forever (control.c). Lost on a collector restart (documented). */
#define REG_START_GRACE_NS (5 * NS_PER_S)     /* no run_start this long after `at`: missed */
#define REG_RUN_MAX_NS (7 * 86400 * NS_PER_S) /* followed at most this long */
enum reg_target_state { TGT_WAITING, TGT_STARTED, TGT_ENDED, TGT_LOST };
struct reg_target {
    struct host *h;
    enum reg_target_state state;
    int64_t silent_since_tr; /* collector realtime when it went missing mid-run, 0: heard */
    int prepared, go_sent;   /* start snapshot | template: its template is saved; told when */
};
struct reg_run {
    char id[BS_ID_MAX];
    int64_t at_tr; /* the agreed start, collector realtime ns */
    int prepare;   /* start snapshot | template: the storm waits for every host's template */
    int64_t go_tr; /* then the storm's agreed start once every host is prepared; 0: not yet */
    mono_ns created;
    int n;
    struct reg_target *t;
};

struct registry {
    struct host **hosts; /* pointers stay valid until reg_free */
    size_t n, cap;
    struct reg_run **runs; /* followed runs (control.c) */
    size_t nruns, runs_cap;
};

/* Returns the host named id, adding it (with nothing known) when new; NULL on ENOMEM. */
struct host *reg_get(struct registry *r, const char *id);

/* Returns the host named id or NULL. */
struct host *reg_find(const struct registry *r, const char *id);

/* Records that h sent a message from route at now. */
void reg_heard(struct host *h, const void *route, size_t route_len, mono_ns now);

/* The collector could not listen for `ns` (stopped, starved, blocked on Redis): no
 * host's silence during that time counts against it (every last_heard moves on). */
void reg_excuse_stall(struct registry *r, int64_t ns);

/* 1 when h was heard from within REG_LIVE_NS before now. */
int reg_is_live(const struct host *h, mono_ns now);

/* Adds a pong (t1 our send, t2 its receipt, t3 its send, t4 our receipt; realtime
 * ns) to h's samples; sets *offset and *err_ns to the best estimate. 0, or -1 when
 * the sample is impossible (negative delay). */
int reg_clock_sample(struct host *h, int64_t t1, int64_t t2, int64_t t3, int64_t t4,
                     int64_t *offset, int64_t *err_ns);

/* The best clock estimate of h (min-delay sample): 0 with *offset (its realtime −
 * ours) and *err_ns (delay / 2), or -1 when no sample exists yet. */
int reg_clock_best(const struct host *h, int64_t *offset, int64_t *err_ns);

/* Follows run id started at at_tr on targets t[0..n). Returns it, or NULL on ENOMEM. */
struct reg_run *reg_run_add(struct registry *r, const char *id, int64_t at_tr, struct host **t,
                            int n, mono_ns now);

/* The followed run id, or NULL. */
struct reg_run *reg_run_find(const struct registry *r, const char *id);

/* Stops following run i (index in r->runs) and frees it. */
void reg_run_drop(struct registry *r, size_t i);

/* Frees every host and followed run. */
void reg_free(struct registry *r);

#endif
