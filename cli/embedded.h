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
    char run_dir[520];           /* 0700: the collector's socket, Redis's generated config */
    int run_dir_is_tmp;          /* made in /tmp (a data dir too long for a socket path) */
    char redis_url[64];          /* no password in it: BOOTSTORM_REDIS_PASSWORD holds it */
    char collector[600];         /* the collector's ZeroMQ endpoint: ipc:// in run_dir */
    char host[64];               /* the embedded launcher's host id */
    int64_t launcher_started_tr; /* realtime ns when it was started */
    pid_t redis, collector_pid, launcher;
};

/* Starts redis-server with redis/redis.conf on a free loopback port, its data in
 * DATA_DIR/redis, its log in DATA_DIR/redis.log, and a password generated for this
 * start (in a 0600 config file of the 0700 run dir, never on a command line), which
 * this process and its children get through BOOTSTORM_REDIS_PASSWORD. Returns 0 or
 * -1 with err. */
int embedded_start_redis(struct embedded *em, const char *data_dir, char *err, size_t errlen);

/* Starts the collector (bound to an ipc:// socket in the 0700 run dir: only this user
 * reaches it) and one launcher (logs in DATA_DIR; launcher_args, NULL or
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
