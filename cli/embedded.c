/* Start and stop of the embedded Redis, collector and launcher, by pid, with their
 * data and logs in one data directory. Not for remote deployments (ansible/) nor for
 * what the CLI asks of them once they run (cmd_run.c, cmd_connect in main.c). */
#include "embedded.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bredis.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "paths.h"
#include "ports.h"
#include "procspawn.h"
#include "yamlcfg.h"

/* Spawns argv in its own process group (a terminal's ^C goes to the CLI, which
 * stops the daemons in order), output appended to log. Returns the pid or -1. */
static pid_t spawn_daemon(char *const argv[], const char *log, char *err, size_t errlen)
{
    struct spawn_opts o = {.out = SPAWN_OUT_LOG, .log = log, .own_pgrp = 1};
    struct spawned s;
    char why[256];
    if (spawn_start(argv, &o, &s, why, sizeof why) < 0) {
        snprintf(err, errlen, "cannot start %s: %s", argv[0], why);
        return -1;
    }
    return s.pid;
}

/* Waits until pid exits (returns 0) or timeout_ms passes (returns -1). */
static int wait_exit(pid_t pid, int timeout_ms)
{
    for (int waited = 0;; waited += 20) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD))
            return 0;
        if (waited >= timeout_ms)
            return -1;
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
}

static void stop_pid(pid_t *pid, const char *what, int grace_ms)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    if (wait_exit(*pid, grace_ms) < 0) {
        log_warn("%s (pid %d) did not stop within %d ms: killing it", what, (int)*pid, grace_ms);
        kill(*pid, SIGKILL);
        wait_exit(*pid, 5000);
    }
    *pid = 0;
}

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

/* DATA_DIR/run, 0700; in /tmp when a socket path there would be too long (108 bytes). */
static int make_run_dir(struct embedded *em, char *err, size_t errlen)
{
    snprintf(em->run_dir, sizeof em->run_dir, "%s/run", em->data_dir);
    em->run_dir_is_tmp = strlen(em->run_dir) + sizeof "/collector.sock" > 100;
    if (em->run_dir_is_tmp) {
        snprintf(em->run_dir, sizeof em->run_dir, "/tmp/bootstorm-run-XXXXXX");
        if (!mkdtemp(em->run_dir))
            return snprintf(err, errlen, "mkdtemp %s: %s", em->run_dir, strerror(errno)), -1;
        return 0;
    }
    if ((mkdir(em->run_dir, 0700) < 0 && errno != EEXIST) || chmod(em->run_dir, 0700) < 0)
        return snprintf(err, errlen, "data dir %s: %s", em->run_dir, strerror(errno)), -1;
    return 0;
}

/* A fresh password and the config that sets it (0600), including the shipped one. */
static int write_redis_conf(struct embedded *em, char *conf, size_t cap, char *err,
                            size_t errlen)
{
    unsigned char rnd[16];
    char pw[33];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return snprintf(err, errlen, "getrandom: %s", strerror(errno)), -1;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(pw + 2 * i, 3, "%02x", rnd[i]);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/redis.conf", em->run_dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    }
    fprintf(f, "include %s/share/redis.conf\nbind 127.0.0.1\nrequirepass %s\n", path_prefix(), pw);
    if (fclose(f) != 0)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    snprintf(conf, cap, "%s", path);
    setenv("BOOTSTORM_REDIS_PASSWORD", pw, 1); /* for our connections and our children */
    return 0;
}

int embedded_start_redis(struct embedded *em, const char *data_dir, char *err, size_t errlen)
{
    char rdir[600], log[600], conf[PATH_MAX], port[16];
    snprintf(em->data_dir, sizeof em->data_dir, "%s", data_dir);
    snprintf(rdir, sizeof rdir, "%s/redis", data_dir);
    if (mkdir_p(rdir) < 0) {
        snprintf(err, errlen, "data dir %s: %s", rdir, strerror(errno));
        return -1;
    }
    if (make_run_dir(em, err, errlen) < 0 || write_redis_conf(em, conf, sizeof conf, err, errlen) < 0)
        return -1;
    snprintf(log, sizeof log, "%s/redis.log", data_dir);
    int p = port_free_tcp();
    snprintf(port, sizeof port, "%d", p);
    char *argv[] = {"redis-server", conf, "--port", port, "--dir", rdir, NULL};
    if ((em->redis = spawn_daemon(argv, log, err, errlen)) < 0) {
        em->redis = 0;
        return -1;
    }
    snprintf(em->redis_url, sizeof em->redis_url, "redis://127.0.0.1:%d", p);
    mono_ns end = mono_add(clock_mono(), 10 * NS_PER_S);
    while (mono_diff(clock_mono(), end) > 0) {
        char e2[128];
        redisContext *c = bredis_connect(em->redis_url, 500, e2, sizeof e2);
        if (c) {
            redisReply *r = redisCommand(c, "PING");
            int ok = r && r->type == REDIS_REPLY_STATUS; /* not LOADING: the data is read */
            if (r)
                freeReplyObject(r);
            redisFree(c);
            if (ok)
                return 0;
        }
        if (waitpid(em->redis, NULL, WNOHANG) == em->redis) {
            em->redis = 0;
            snprintf(err, errlen, "redis-server exited at start; see %s", log);
            return -1;
        }
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    snprintf(err, errlen, "redis-server not answering on port %d after 10 s; see %s", p, log);
    stop_pid(&em->redis, "redis-server", 2000);
    return -1;
}

static int start_launcher(struct embedded *em, const char *host, char *const *extra, char *err,
                          size_t errlen);

int embedded_start_daemons(struct embedded *em, char *const *launcher_args, char *err,
                           size_t errlen)
{
    char bin[PATH_MAX + 64], log[600], ready[600], bind[sizeof em->collector], host[64];
    snprintf(em->collector, sizeof em->collector, "ipc://%s/collector.sock", em->run_dir);
    snprintf(ready, sizeof ready, "%s/collector.ready", em->data_dir);
    unlink(ready);
    snprintf(bind, sizeof bind, "%s", em->collector);
    snprintf(bin, sizeof bin, "%s/bin/bootstorm-collector", path_prefix());
    snprintf(log, sizeof log, "%s/collector.log", em->data_dir);
    char *cargv[] = {bin, "--bind", bind, "--redis", em->redis_url, "--ready-file", ready, NULL};
    if ((em->collector_pid = spawn_daemon(cargv, log, err, errlen)) < 0) {
        em->collector_pid = 0;
        return -1;
    }
    mono_ns end = mono_add(clock_mono(), 10 * NS_PER_S);
    while (access(ready, F_OK) < 0) {
        if (mono_diff(clock_mono(), end) <= 0 || waitpid(em->collector_pid, NULL, WNOHANG) > 0) {
            snprintf(err, errlen, "the collector did not come up; see %s", log);
            return -1;
        }
        nanosleep(&(struct timespec){0, 10 * 1000000L}, NULL);
    }
    /* the host id by the one rule: a host name the launcher would refuse is not used */
    if (gethostname(host, sizeof host) < 0 || ycfg_id_why(host))
        snprintf(host, sizeof host, "localhost");
    return start_launcher(em, host, launcher_args, err, errlen);
}

/* The launcher connected to the embedded collector, spooling in the data dir. */
static int start_launcher(struct embedded *em, const char *host, char *const *extra, char *err,
                          size_t errlen)
{
    char bin[PATH_MAX + 64], log[600], spool[600];
    char *largv[64] = {bin, "--connect", em->collector, "--host", (char *)host, "--spool", spool};
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 63; i++)
        largv[n++] = extra[i];
    largv[n] = NULL;
    snprintf(em->host, sizeof em->host, "%s", host);
    snprintf(bin, sizeof bin, "%s/bin/bootstorm-launcher", path_prefix());
    snprintf(log, sizeof log, "%s/launcher.log", em->data_dir);
    snprintf(spool, sizeof spool, "%s/spool", em->data_dir); /* unacked events survive a crash */
    em->launcher_started_tr = clock_real().ns;
    if ((em->launcher = spawn_daemon(largv, log, err, errlen)) < 0) {
        em->launcher = 0;
        return -1;
    }
    return 0;
}

/* 1 when bs:host:HOST says up and was seen after the launcher started. */
static int launcher_up(struct embedded *em, redisContext *c)
{
    char key[KEY_MAX];
    keys_host(key, sizeof key, em->host); /* fits: a valid id (embedded_start_daemons) */
    redisReply *r = redisCommand(c, "HMGET %s state last_seen_tr", key);
    int up = r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
             r->element[0]->type == REDIS_REPLY_STRING && !strcmp(r->element[0]->str, "up") &&
             r->element[1]->type == REDIS_REPLY_STRING &&
             strtoll(r->element[1]->str, NULL, 10) >= em->launcher_started_tr;
    if (r)
        freeReplyObject(r);
    return up;
}

int embedded_wait_launcher(struct embedded *em, redisContext *c, int timeout_ms, char *err,
                           size_t errlen)
{
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    while (!launcher_up(em, c)) {
        if (waitpid(em->launcher, NULL, WNOHANG) == em->launcher) {
            em->launcher = 0;
            snprintf(err, errlen, "the launcher exited at start; see %s/launcher.log",
                     em->data_dir);
            return -1;
        }
        if (mono_diff(clock_mono(), end) <= 0) {
            snprintf(err, errlen, "the launcher did not say hello within %d s; see %s/launcher.log",
                     timeout_ms / 1000, em->data_dir);
            return -1;
        }
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    }
    return 0;
}

void embedded_stop(struct embedded *em)
{
    stop_pid(&em->launcher, "launcher", 15000);
    stop_pid(&em->collector_pid, "collector", 5000);
    stop_pid(&em->redis, "redis-server", 10000);
    if (em->run_dir_is_tmp) { /* ours alone: its socket and config go with it */
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/collector.sock", em->run_dir);
        unlink(path);
        snprintf(path, sizeof path, "%s/redis.conf", em->run_dir);
        unlink(path);
        rmdir(em->run_dir);
        em->run_dir_is_tmp = 0;
    }
}
