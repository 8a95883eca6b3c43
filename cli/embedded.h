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
    char run_dir[520];           /* DATA/run, 0700: the lock, the discovery file, Redis's config */
    char sock_dir[520];          /* the collector's socket: run_dir, or a 0700 dir in /tmp */
    int sock_dir_is_tmp;         /* made in /tmp (a data dir too long for a socket path) */
    char redis_url[64];          /* no password in it: BOOTSTORM_REDIS_PASSWORD holds it */
    char collector[600];         /* the collector's ZeroMQ endpoint: ipc:// in sock_dir */
    char host[64];               /* the embedded launcher's host id */
    int64_t launcher_started_tr; /* realtime ns when it was started */
    pid_t redis, collector_pid, launcher;
    int lock_fd;       /* DATA/run/redis.lock, flock()ed: valid while owner */
    int owner;         /* 1: we hold the lock and started this Redis */
    pid_t attached_to; /* > 0: another command's Redis (that pid owns it) */
    int owner_runs;    /* attached: the owner has a collector too (a `run`) */
};

/* One data directory has at most one embedded Redis. Its owner holds an exclusive
 * flock() on DATA/run/redis.lock (O_CLOEXEC: no child inherits it) for as long as it
 * runs, and writes DATA/run/redis.addr (0600, written whole and renamed into place):
 *     pid OWNER_PID\nredis_pid PID\nurl redis://127.0.0.1:PORT\npassword HEX\n
 *     [collector ipc://...\ncollector_pid PID\nlauncher_pid PID\n]
 *     (the last three added by embedded_start_daemons: a run is going on)
 * Any other command finds it there and attaches: the lock held, the owner alive and a
 * PING with the password answered. The owner waits for no one when it ends; a
 * command attached then reopens the data dir (cmd_reconnect): it attaches to a new
 * owner, or becomes one. A discovery file whose lock is free is stale (its owner died):
 * its daemons still running in this data dir (a redis-server working in DATA/redis, a
 * collector or launcher with files there) are stopped, and the file replaced. */

/* Opens the embedded Redis of DATA_DIR: attaches to the one another command owns
 * (em->attached_to set; nothing is started, and embedded_stop() stops nothing), or
 * starts redis-server with redis/redis.conf on a free loopback port, its data in
 * DATA_DIR/redis, its log in DATA_DIR/redis.log, and a password generated for this
 * start (in a 0600 config file of the 0700 run dir, never on a command line), and
 * owns it (em->owner). Either way this process and its children get the password
 * through BOOTSTORM_REDIS_PASSWORD. Waits up to 30 s for an owner that is starting or
 * stopping. em must be zeroed, or embedded_stop()ped. Returns 0 or -1 with err. */
int embedded_start_redis(struct embedded *em, const char *data_dir, char *err, size_t errlen);

/* 1 when em is attached and its owner has ended or is ending (dead, or the discovery
 * file no longer names it): reopen with embedded_stop() + embedded_start_redis(). */
int embedded_owner_gone(const struct embedded *em);

/* Starts the collector (bound to an ipc:// socket in the 0700 run dir: only this user
 * reaches it) and one launcher (logs in DATA_DIR; launcher_args, NULL or
 * NULL-terminated, appended to its command line: --guests, --images, --image) and
 * waits until the collector is ready. Requires embedded_start_redis() first, which
 * must have made us the owner: attached, it starts nothing and fails ("a run is going
 * on in DATA (pid N)"). Returns 0 or -1 with err. */
int embedded_start_daemons(struct embedded *em, char *const *launcher_args, char *err,
                           size_t errlen);

/* Waits until the embedded launcher's hello reached Redis (bs:host:HOST up, seen since
 * it was started: the collector counts it live), up to timeout_ms; fails at once when
 * the launcher exits. Returns 0 or -1 with err. */
int embedded_wait_launcher(struct embedded *em, redisContext *c, int timeout_ms, char *err,
                           size_t errlen);

/* Stops what was started, launcher first (it flushes its events to the collector),
 * then collector, then Redis (which writes its data out); each by pid, SIGTERM then
 * SIGKILL after a grace period. The discovery file goes first (no one attaches to a
 * Redis that stops), the lock last. Attached: forgets the other's Redis, stops
 * nothing. Safe to call twice. */
void embedded_stop(struct embedded *em);

/* embedded_stop() for a signal handler: only async-signal-safe calls (kill, waitpid,
 * nanosleep, unlink, close), no logging. The caller _exit()s afterwards. */
void embedded_stop_signal(struct embedded *em);

#endif
