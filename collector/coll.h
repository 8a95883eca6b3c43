/* The collector: receives launcher events on a ROUTER socket, stores them in Redis
 * idempotently (pipelined per batch), acknowledges what Redis confirmed, keeps the
 * host registry and relays CLI commands. Not for option parsing (main.c). */
#ifndef BS_COLL_H
#define BS_COLL_H

#include <signal.h>
#include <stdint.h>

struct bzmq_curve;

struct coll_opts {
    const char *bind;               /* ZeroMQ endpoint to bind */
    const char *redis_url;          /* see bredis_parse_url */
    const char *lua_path;           /* the bootstorm Function library */
    const char *ready_file;         /* NULL, or where "ok\n" goes once bound and loaded */
    int stats_interval_s;           /* 0: no periodic stats line */
    const struct bzmq_curve *curve; /* NULL: plain TCP (main.c allows loopback only) */
    const char *curve_allow;        /* NULL, or the allow-list of client keys (zap.h) */
    int64_t start_lead_ns;          /* a start's agreed realtime is now + this (control.c) */
    int64_t keep_runs;              /* > 0: keep the newest N runs once one ends (retain.c) */
};

/* Runs until *stop becomes nonzero (set from a signal handler), then finishes the
 * batch in hand, logs the final stats and frees everything. A Redis that is down or
 * fails only delays acks (reconnect with backoff). Returns 0, or -1 when it could
 * not start (Lua file unreadable, bind failed). */
int coll_run(const struct coll_opts *o, volatile sig_atomic_t *stop);

#endif
