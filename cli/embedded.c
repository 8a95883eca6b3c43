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
#include <sys/file.h>
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

/* DATA_DIR/run, 0700, always (lock, discovery file, config); the collector's socket
 * goes in a /tmp dir instead when a path in DATA_DIR/run would be too long (108 bytes). */
static int make_run_dir(struct embedded *em, char *err, size_t errlen)
{
    snprintf(em->run_dir, sizeof em->run_dir, "%s/run", em->data_dir);
    if ((mkdir(em->run_dir, 0700) < 0 && errno != EEXIST) || chmod(em->run_dir, 0700) < 0)
        return snprintf(err, errlen, "data dir %s: %s", em->run_dir, strerror(errno)), -1;
    snprintf(em->sock_dir, sizeof em->sock_dir, "%s", em->run_dir);
    return 0;
}

/* The collector's socket dir: run_dir, or a fresh 0700 dir in /tmp (owner only). */
static int make_sock_dir(struct embedded *em, char *err, size_t errlen)
{
    em->sock_dir_is_tmp = strlen(em->run_dir) + sizeof "/collector.sock" > 100;
    if (!em->sock_dir_is_tmp)
        return 0;
    snprintf(em->sock_dir, sizeof em->sock_dir, "/tmp/bootstorm-run-XXXXXX");
    if (!mkdtemp(em->sock_dir)) {
        em->sock_dir_is_tmp = 0;
        return snprintf(err, errlen, "mkdtemp %s: %s", em->sock_dir, strerror(errno)), -1;
    }
    return 0;
}

/* A fresh password and the config that sets it (0600), including the shipped one. */
static int write_redis_conf(struct embedded *em, char *conf, size_t cap, char *err, size_t errlen)
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

/* Starts our own redis-server (we hold the lock) and waits until it answers PING. */
static int start_own_redis(struct embedded *em, char *err, size_t errlen)
{
    char rdir[600], log[600], conf[PATH_MAX], port[16];
    const char *data_dir = em->data_dir;
    snprintf(rdir, sizeof rdir, "%s/redis", data_dir);
    if (write_redis_conf(em, conf, sizeof conf, err, errlen) < 0)
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

/* What DATA/run/redis.addr says (the format: embedded.h). */
struct disco {
    pid_t pid, redis_pid, collector_pid, launcher_pid;
    char url[64], password[72], collector[600];
};

static void disco_path(const struct embedded *em, char *path, size_t cap)
{
    snprintf(path, cap, "%s/redis.addr", em->run_dir);
}

/* A value that does not fit is left out (the file is then refused), never cut. */
static void copy_field(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n < cap)
        memcpy(dst, v, n + 1);
}

/* Reads the discovery file; unknown keys are skipped. Returns 0 when it names an
 * owner, a URL and a password, else -1 (missing, being replaced, or not ours). */
static int disco_read(const struct embedded *em, struct disco *d)
{
    char path[PATH_MAX], line[700], key[16], val[640];
    disco_path(em, path, sizeof path);
    memset(d, 0, sizeof *d);
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "%15s %639s", key, val) == 2) {
            if (!strcmp(key, "pid"))
                d->pid = (pid_t)strtol(val, NULL, 10);
            else if (!strcmp(key, "redis_pid"))
                d->redis_pid = (pid_t)strtol(val, NULL, 10);
            else if (!strcmp(key, "collector_pid"))
                d->collector_pid = (pid_t)strtol(val, NULL, 10);
            else if (!strcmp(key, "launcher_pid"))
                d->launcher_pid = (pid_t)strtol(val, NULL, 10);
            else if (!strcmp(key, "url"))
                copy_field(d->url, sizeof d->url, val);
            else if (!strcmp(key, "password"))
                copy_field(d->password, sizeof d->password, val);
            else if (!strcmp(key, "collector"))
                copy_field(d->collector, sizeof d->collector, val);
        }
    fclose(f);
    return d->pid > 0 && !strncmp(d->url, "redis://", 8) && d->password[0] ? 0 : -1;
}

/* Writes the discovery file for our Redis (and collector, once it runs): 0600, whole,
 * renamed into place so a reader never sees half of it. Returns 0 or -1 with err. */
static int disco_write(const struct embedded *em, char *err, size_t errlen)
{
    char path[PATH_MAX], tmp[PATH_MAX + 8];
    const char *pw = getenv("BOOTSTORM_REDIS_PASSWORD");
    disco_path(em, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        if (fd >= 0)
            close(fd);
        return snprintf(err, errlen, "%s: %s", tmp, strerror(errno)), -1;
    }
    fprintf(f, "pid %d\nredis_pid %d\nurl %s\npassword %s\n", (int)getpid(), (int)em->redis,
            em->redis_url, pw ? pw : "");
    if (em->collector_pid > 0)
        fprintf(f, "collector %s\ncollector_pid %d\nlauncher_pid %d\n", em->collector,
                (int)em->collector_pid, (int)em->launcher);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    }
    return 0;
}

/* 1 when url's Redis answers PING (not LOADING) with the password in the environment. */
static int redis_ping(const char *url)
{
    char e[128];
    redisContext *c = bredis_connect(url, 500, e, sizeof e);
    if (!c)
        return 0;
    redisReply *r = redisCommand(c, "PING");
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r)
        freeReplyObject(r);
    redisFree(c);
    return ok;
}

/* Takes DATA/run/redis.lock. Returns 1 (em->lock_fd holds it), 0 when another
 * process holds it, -1 with err. */
static int lock_take(struct embedded *em, char *err, size_t errlen)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/redis.lock", em->run_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
        em->lock_fd = fd;
        return 1;
    }
    int e = errno;
    close(fd);
    if (e == EWOULDBLOCK)
        return 0;
    return snprintf(err, errlen, "flock %s: %s", path, strerror(e)), -1;
}

/* 1 while pid runs (a zombie does not count: its parent may be gone, init slow). */
static int pid_alive(pid_t pid)
{
    char path[64], line[128];
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
        return 0;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    int alive = f != NULL;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "State:", 6)) {
            alive = !strchr(line, 'Z');
            break;
        }
    if (f)
        fclose(f);
    return alive;
}

/* 1 when path (relative to dir unless absolute) is in the directory want. */
static int path_in(const char *dir, const char *path, const char *want)
{
    char full[2 * PATH_MAX + 2], real[PATH_MAX];
    snprintf(full, sizeof full, "%s%s%s", path[0] == '/' ? "" : dir, path[0] == '/' ? "" : "/",
             path);
    char *slash = strrchr(full, '/');
    if (!slash)
        return 0;
    *slash = '\0';
    return realpath(full[0] ? full : "/", real) && !strcmp(real, want);
}

/* 1 when pid is a daemon of the data dir whose real path is want: a redis-server working
 * in want/redis (its --dir), or a collector or launcher whose --ready-file or --spool is
 * in want. Decides whether a pid from a stale discovery file is still ours to stop. */
static int daemon_of(pid_t pid, const char *want)
{
    char link[64], cwd[PATH_MAX], rdir[PATH_MAX + 8], args[4096];
    snprintf(link, sizeof link, "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(link, cwd, sizeof cwd - 1);
    if (n < 0)
        return 0;
    cwd[n] = '\0';
    snprintf(rdir, sizeof rdir, "%s/redis", want);
    if (!strcmp(cwd, rdir))
        return 1;
    snprintf(link, sizeof link, "/proc/%d/cmdline", (int)pid);
    int fd = open(link, O_RDONLY | O_CLOEXEC);
    n = fd >= 0 ? read(fd, args, sizeof args - 1) : -1;
    if (fd >= 0)
        close(fd);
    if (n <= 0)
        return 0;
    args[n] = '\0';
    for (char *a = args; a < args + n; a += strlen(a) + 1) {
        char *next = a + strlen(a) + 1;
        if ((!strcmp(a, "--spool") || !strcmp(a, "--ready-file")) && next < args + n)
            return path_in(cwd, next, want);
    }
    return 0;
}

/* A stale owner's daemons may have outlived it (SIGKILL: they run in their own process
 * groups): each still running in this data dir is stopped, so it never has two. */
static void stop_stale(const struct embedded *em, pid_t pid, const char *what)
{
    char want[PATH_MAX];
    if (pid <= 0 || !pid_alive(pid) || !realpath(em->data_dir, want) || !daemon_of(pid, want))
        return;
    log_warn("stopping %s pid %d of %s, left by an owner that died", what, (int)pid, em->data_dir);
    kill(pid, SIGTERM);
    for (int i = 0; i < 500 && pid_alive(pid); i++)
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
    if (pid_alive(pid))
        kill(pid, SIGKILL);
}

/* We hold the lock: whatever a previous owner left is stale. Start ours, publish it. */
static int become_owner(struct embedded *em, char *err, size_t errlen)
{
    struct disco old;
    char path[PATH_MAX];
    em->owner = 1;
    disco_read(em, &old); /* even a partial one names its daemons; stopped in order */
    stop_stale(em, old.launcher_pid, "launcher");
    stop_stale(em, old.collector_pid, "collector");
    stop_stale(em, old.redis_pid, "redis-server");
    disco_path(em, path, sizeof path);
    unlink(path);
    if (start_own_redis(em, err, errlen) < 0 || disco_write(em, err, errlen) < 0) {
        embedded_stop(em);
        return -1;
    }
    return 0;
}

/* Attaches to d's Redis when its owner runs and it answers our PING with d's password.
 * Returns 0 or -1 (try again: starting, stopping, or stale). */
static int try_attach(struct embedded *em, const struct disco *d)
{
    if (!pid_alive(d->pid))
        return -1;
    setenv("BOOTSTORM_REDIS_PASSWORD", d->password, 1); /* for our connections and children */
    if (!redis_ping(d->url))
        return -1;
    snprintf(em->redis_url, sizeof em->redis_url, "%s", d->url);
    em->attached_to = d->pid;
    em->owner_runs = d->collector[0] != '\0';
    return 0;
}

int embedded_owner_gone(const struct embedded *em)
{
    struct disco d;
    if (em->attached_to <= 0)
        return 0;
    return !pid_alive(em->attached_to) || disco_read(em, &d) < 0 || d.pid != em->attached_to;
}

int embedded_start_redis(struct embedded *em, const char *data_dir, char *err, size_t errlen)
{
    char rdir[600];
    snprintf(em->data_dir, sizeof em->data_dir, "%s", data_dir);
    snprintf(rdir, sizeof rdir, "%s/redis", data_dir);
    if (mkdir_p(rdir) < 0) {
        snprintf(err, errlen, "data dir %s: %s", rdir, strerror(errno));
        return -1;
    }
    if (make_run_dir(em, err, errlen) < 0)
        return -1;
    struct disco d = {0};
    mono_ns end = mono_add(clock_mono(), 30 * NS_PER_S);
    do {
        int got = lock_take(em, err, errlen);
        if (got != 0)
            return got < 0 ? -1 : become_owner(em, err, errlen);
        if (disco_read(em, &d) == 0 && try_attach(em, &d) == 0) {
            log_info("attached to the Redis of %s (owner pid %d)", data_dir, (int)d.pid);
            return 0;
        }
        nanosleep(&(struct timespec){0, 50 * 1000000L}, NULL); /* its owner starts or stops */
    } while (mono_diff(clock_mono(), end) > 0);
    snprintf(err, errlen,
             "the Redis of %s is held (%s/redis.lock) by pid %d but does not answer after 30 s",
             data_dir, em->run_dir, (int)d.pid);
    return -1;
}

static int start_launcher(struct embedded *em, const char *host, char *const *extra, char *err,
                          size_t errlen);

int embedded_start_daemons(struct embedded *em, char *const *launcher_args, char *err,
                           size_t errlen)
{
    char bin[PATH_MAX + 64], log[600], ready[600], bind[sizeof em->collector], host[64];
    if (!em->owner) {
        if (em->owner_runs)
            snprintf(err, errlen, "a run is going on in %s (pid %d); use --data-dir or wait",
                     em->data_dir, (int)em->attached_to);
        else
            snprintf(err, errlen,
                     "bootstorm pid %d is using the Redis of %s; wait for it to end or use "
                     "--data-dir",
                     (int)em->attached_to, em->data_dir);
        return -1;
    }
    if (make_sock_dir(em, err, errlen) < 0)
        return -1;
    snprintf(em->collector, sizeof em->collector, "ipc://%s/collector.sock", em->sock_dir);
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
    if (start_launcher(em, host, launcher_args, err, errlen) < 0)
        return -1;
    return disco_write(em, err, errlen); /* a second `run` now knows one is going on */
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
    if (!em->owner) { /* attached, or nothing opened: the Redis is not ours to stop */
        em->attached_to = 0;
        em->owner_runs = 0;
        em->redis_url[0] = '\0';
        return;
    }
    char path[PATH_MAX];
    disco_path(em, path, sizeof path); /* first: no one attaches to what stops */
    unlink(path);
    stop_pid(&em->launcher, "launcher", 15000);
    stop_pid(&em->collector_pid, "collector", 5000);
    stop_pid(&em->redis, "redis-server", 10000);
    if (em->sock_dir_is_tmp) { /* ours alone: its socket goes with it */
        snprintf(path, sizeof path, "%s/collector.sock", em->sock_dir);
        unlink(path);
        rmdir(em->sock_dir);
        em->sock_dir_is_tmp = 0;
    }
    close(em->lock_fd); /* last: the next command may start its own now */
    em->owner = 0;
    em->redis_url[0] = '\0';
}

/* stop_pid() with async-signal-safe calls only. */
static void stop_pid_signal(pid_t *pid, int grace_ms)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGTERM);
    pid_t r = 0;
    for (int waited = 0; r == 0 && waited < grace_ms; waited += 20) {
        nanosleep(&(struct timespec){0, 20 * 1000000L}, NULL);
        r = waitpid(*pid, NULL, WNOHANG);
    }
    if (r == 0) { /* still ours, unreaped: the pid cannot have been reused */
        kill(*pid, SIGKILL);
        waitpid(*pid, NULL, 0);
    }
    *pid = 0;
}

void embedded_stop_signal(struct embedded *em)
{
    if (!em->owner)
        return;
    char path[sizeof em->run_dir + 16];
    size_t n = strlen(em->run_dir);
    memcpy(path, em->run_dir, n);
    memcpy(path + n, "/redis.addr", sizeof "/redis.addr");
    unlink(path);
    stop_pid_signal(&em->launcher, 15000);
    stop_pid_signal(&em->collector_pid, 5000);
    stop_pid_signal(&em->redis, 10000);
    close(em->lock_fd);
    em->owner = 0;
}
