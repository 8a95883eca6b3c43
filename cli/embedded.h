/* The embedded default: a local redis-server on its own port and data dir, a
 * collector and a launcher, started and stopped by the CLI. Not for remote
 * deployments (ansible/) or for talking to the daemons once they run. */
#ifndef BS_EMBEDDED_H
#define BS_EMBEDDED_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "bredis.h"

struct embedded {
    char data_dir[512];
    char redis_url[64];
    char collector[64];          /* the collector's ZeroMQ endpoint */
    char host[64];               /* the embedded launcher's host id */
    int64_t launcher_started_tr; /* realtime ns when it was started */
    pid_t redis, collector_pid, launcher;
};

/* Starts redis-server with redis/redis.conf on a free loopback port, its data in
 * DATA_DIR/redis, its log in DATA_DIR/redis.log. Returns 0 or -1 with err. */
int embedded_start_redis(struct embedded *em, const char *data_dir, char *err, size_t errlen);

/* Starts the collector and one launcher (logs in DATA_DIR; launcher_args, NULL or
 * NULL-terminated, appended to its command line: --guests, --images, --image) and
 * waits until the collector is ready. Requires embedded_start_redis() first. Returns
 * 0 or -1. */
int embedded_start_daemons(struct embedded *em, char *const *launcher_args, char *err,
                           size_t errlen);

/* Waits until the embedded launcher's hello reached Redis (bs:host:HOST up, seen since
 * it was started: the collector counts it live), up to timeout_ms; fails at once when
 * the launcher exits. Returns 0 or -1 with err. */
int embedded_wait_launcher(struct embedded *em, redisContext *c, int timeout_ms, char *err,
                           size_t errlen);

/* Stops what was started, launcher first (it flushes its events to the collector),
 * then collector, then Redis (which writes its data out); each by pid, SIGTERM then
 * SIGKILL after a grace period. Safe to call twice. */
void embedded_stop(struct embedded *em);

#endif
