/* The template of a `start: snapshot` or `template` run (snapshot.h): one guest booted to
 * ready in a thread, stopped and saved over QMP into a private temporary directory (and,
 * for `template`, its RAM kept in a /dev/shm file), the argv items of its clones, every
 * file removed at the end. Not for the clones' life (run.c, run_guest.c, restore.c) nor
 * for QMP's wire (qmp.c). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "accel.h"
#include "clock.h"
#include "console.h"
#include "log.h"
#include "procspawn.h"
#include "qmp.h"
#include "restore.h"
#include "snapshot.h"

#define SNAP_POLL_MS 20 /* the longest a wait goes without looking at `stop` */
#define SNAP_QMP_TIMEOUT_MS 10000
#define SNAP_SAVE_TIMEOUT_S 120 /* migrate to the state file, under a loaded host */

struct snap {
    struct profile prof; /* shallow copy: the caller's profile owns its parts */
    struct profile_vars vars;
    char run[BS_ID_MAX], name[BS_ID_MAX + 16];
    int timeout_s;
    char dir[200], sock[216], state[216], part[216]; /* under TMPDIR: short */
    char qmp_arg[280], incoming[240];
    int shared;     /* start: template */
    int auto_kvm;   /* kvm chosen by auto: a KVM failure falls back to TCG */
    char accel[16]; /* what the template runs under: the clones' too */
    char shm[96], mem_tpl[256], mem_clone[256]; /* its RAM file, -object for each side */
    struct restorer *rs;                        /* start: template: finishes clones over QMP */
    pthread_t thread;
    int threaded; /* the thread was started (not with a state file) */
    atomic_int stop, done;
    struct spawned tpl; /* the template QEMU; pid 0 once gone */
    struct console_tail err;
    int ok;
    int64_t prep_ns, state_kib, shm_kib;
    char why[256];
    _Atomic int64_t go_tr; /* the collector's start for the storm (realtime), 0: none yet */
    mono_ns go_wait_since; /* the loop's thread: when it began to wait for it, 0: not yet */
};

static void remove_files(struct snap *s);

/* ---- booting the template ---- */

static int render(struct snap *s, char **argv, char *buf, size_t len)
{
    int n = profile_render_argv(&s->prof, &s->vars, argv, buf, len);
    const char *extra[] = {"-qmp",    s->qmp_arg, "-global",  "migration.store-global-state=off",
                           "-object", s->mem_tpl, "-machine", "memory-backend=bsmem"};
    int nextra = s->shared ? 8 : 4;
    if (n < 0 || n + nextra > PROFILE_MAX_ARGS) {
        snprintf(s->why, sizeof s->why, "template: qemu.argv does not fit");
        return -1;
    }
    for (int i = 0; i < nextra; i++)
        argv[n++] = (char *)extra[i];
    argv[n] = NULL;
    return 0;
}

static void on_tpl_ready(void *ctx)
{
    *(int *)ctx = 1;
}

/* Reads fd into the matcher (console) or the stderr tail; -1 at EOF. */
static int read_into(struct snap *s, int fd, const struct console_matcher *m, struct console *c,
                     int *ready)
{
    static const struct console_cb cb = {.ready = on_tpl_ready};
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0)
            return -1;
        if (m)
            console_feed(m, c, buf, (size_t)n, &cb, ready);
        else
            console_tail_add(&s->err, buf, (size_t)n);
    }
}

/* Under auto, KVM failing the template (the launcher's rule, accel.c): 1 with why. */
static int kvm_failed(struct snap *s, const struct console *c, mono_ns t0, int gone)
{
    if (!s->auto_kvm || strcmp(s->accel, "kvm"))
        return 0;
    int silent = !c->got_output && accel_silence_counts(&s->prof);
    const char *why = accel_kvm_failure(&s->err, gone, silent ? mono_diff(t0, clock_mono()) : 0);
    if (why)
        snprintf(s->why, sizeof s->why, "template: %s", why);
    return why != NULL;
}

/* Until the profile's ready line, the deadline, `stop`, QEMU's end or KVM's failure (-2). */
static int wait_ready(struct snap *s, const struct console_matcher *m)
{
    struct console c;
    int ready = 0;
    console_reset(&c);
    mono_ns t0 = clock_mono(), end = mono_add(t0, (int64_t)s->timeout_s * NS_PER_S);
    while (!ready && !atomic_load(&s->stop)) {
        struct pollfd p[2] = {{.fd = s->tpl.console_fd, .events = POLLIN},
                              {.fd = s->tpl.stderr_fd, .events = POLLIN}};
        if (mono_diff(clock_mono(), end) <= 0) {
            snprintf(s->why, sizeof s->why, "template: not ready after %d s", s->timeout_s);
            return -1;
        }
        int n = poll(p, 2, SNAP_POLL_MS);
        if (kvm_failed(s, &c, t0, 0))
            return -2;
        if (n <= 0)
            continue;
        if ((p[1].revents && read_into(s, s->tpl.stderr_fd, NULL, NULL, NULL) < 0) ||
            (p[0].revents && read_into(s, s->tpl.console_fd, m, &c, &ready) < 0 && !ready)) {
            snprintf(s->why, sizeof s->why, "template: QEMU ended before ready: %.200s",
                     console_tail_oneline(&s->err));
            return kvm_failed(s, &c, t0, 1) ? -2 : -1;
        }
    }
    if (!ready)
        snprintf(s->why, sizeof s->why, "template: stopped");
    return ready ? 0 : -1;
}

static int boot_template(struct snap *s)
{
    char *argv[PROFILE_MAX_ARGS + 1], buf[8192];
    struct console_matcher m;
    s->vars.accel = s->accel;
    if (render(s, argv, buf, sizeof buf) < 0)
        return -1;
    if (spawn_process(argv, 0, &s->tpl, s->why, sizeof s->why) < 0) {
        s->tpl.pid = 0;
        return -1;
    }
    if (console_matcher_init(&m, &s->prof) < 0) {
        snprintf(s->why, sizeof s->why, "template: out of memory");
        return -1;
    }
    int rc = wait_ready(s, &m);
    console_matcher_free(&m);
    return rc;
}

/* ---- saving it ---- */

/* query-migrate until completed; failed, cancelled, a timeout or `stop` end it. */
static int wait_migrated(struct snap *s, struct qmp *q)
{
    mono_ns end = mono_add(clock_mono(), SNAP_SAVE_TIMEOUT_S * NS_PER_S);
    while (!atomic_load(&s->stop) && mono_diff(clock_mono(), end) > 0) {
        json_t *r;
        if (qmp_call(q, "query-migrate", NULL, &r, SNAP_QMP_TIMEOUT_MS, s->why, sizeof s->why) < 0)
            return -1;
        const char *st = json_string_value(json_object_get(r, "status"));
        const char *e = json_string_value(json_object_get(r, "error-desc"));
        int completed = st && !strcmp(st, "completed");
        int over = st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"));
        if (over)
            snprintf(s->why, sizeof s->why, "template: migrate %s: %s", st, e ? e : "?");
        json_decref(r);
        if (completed || over)
            return completed ? 0 : -1;
        nanosleep(&(struct timespec){0, 5 * NS_PER_MS}, NULL);
    }
    snprintf(s->why, sizeof s->why, "template: saving %s", s->stop ? "stopped" : "timed out");
    return -1;
}

/* The state file appears (renamed) once `cat` has written all of it. */
static int wait_file(struct snap *s)
{
    struct stat st;
    mono_ns end = mono_add(clock_mono(), SNAP_QMP_TIMEOUT_MS * NS_PER_MS);
    while (stat(s->state, &st) < 0) {
        if (atomic_load(&s->stop) || mono_diff(clock_mono(), end) <= 0) {
            snprintf(s->why, sizeof s->why, "template: no state file %.200s", s->state);
            return -1;
        }
        nanosleep(&(struct timespec){0, 2 * NS_PER_MS}, NULL);
    }
    s->state_kib = (int64_t)st.st_size / 1024;
    if (s->shared && stat(s->shm, &st) == 0) /* what the clones map: resident in tmpfs */
        s->shm_kib = (int64_t)st.st_blocks / 2;
    return 0;
}

static int save_template(struct snap *s)
{
    char uri[1024];
    struct qmp *q = qmp_open(s->sock, SNAP_QMP_TIMEOUT_MS, s->why, sizeof s->why);
    if (!q)
        return -1;
    /* QEMU 7.2 has no file: URI; exec: runs through /bin/sh. */
    snprintf(uri, sizeof uri, "exec:cat > '%s' && mv '%s' '%s'", s->part, s->part, s->state);
    int rc = qmp_call(q, "stop", NULL, NULL, SNAP_QMP_TIMEOUT_MS, s->why, sizeof s->why);
    if (rc == 0 && s->shared) /* RAM stays in the /dev/shm file: the state file skips it */
        rc = qmp_call(q, "migrate-set-capabilities",
                      json_pack("{s:[{s:s,s:b}]}", "capabilities", "capability", "x-ignore-shared",
                                "state", 1),
                      NULL, SNAP_QMP_TIMEOUT_MS, s->why, sizeof s->why);
    if (rc == 0)
        rc = qmp_call(q, "migrate", json_pack("{s:s}", "uri", uri), NULL, SNAP_QMP_TIMEOUT_MS,
                      s->why, sizeof s->why);
    if (rc == 0)
        rc = wait_migrated(s, q);
    qmp_close(q);
    return rc == 0 ? wait_file(s) : -1;
}

/* ---- the thread and the life cycle ---- */

static void kill_template(struct snap *s)
{
    if (s->tpl.pid > 0)
        kill(s->tpl.pid, SIGKILL); /* reaped by the launcher's SIGCHLD handling */
    s->tpl.pid = 0;
    if (s->tpl.console_fd >= 0)
        close(s->tpl.console_fd);
    if (s->tpl.stderr_fd >= 0)
        close(s->tpl.stderr_fd);
    s->tpl.console_fd = s->tpl.stderr_fd = -1;
}

static void *prepare(void *arg)
{
    struct snap *s = arg;
    mono_ns t0 = clock_mono();
    int rc = boot_template(s);
    if (rc == -2 && !atomic_load(&s->stop)) { /* as a guest would be: again under TCG */
        log_warn("run %s: %s: the template and its clones fall back to TCG", s->run, s->why);
        kill_template(s);
        memset(&s->err, 0, sizeof s->err);
        snprintf(s->accel, sizeof s->accel, "tcg");
        rc = boot_template(s);
    }
    s->ok = rc == 0;
    mono_ns booted = clock_mono();
    s->ok = s->ok && save_template(s) == 0;
    s->prep_ns = mono_diff(t0, clock_mono());
    /* The guest's PR_SET_PDEATHSIG follows this thread: it must be gone before we are. */
    kill_template(s);
    if (s->ok)
        log_info("run %s: template of %s ready in %.1f ms (boot %.1f ms, save %.1f ms), "
                 "state file %lld KiB%s%.0lld%s",
                 s->run, s->prof.name, s->prep_ns / 1e6, mono_diff(t0, booted) / 1e6,
                 mono_diff(booted, clock_mono()) / 1e6, (long long)s->state_kib,
                 s->shared ? ", RAM file " : "", (long long)s->shm_kib, s->shared ? " KiB" : "");
    atomic_store(&s->done, 1);
    return NULL;
}

/* start: template: the guest RAM file, ours alone (O_EXCL, 0600), sized by QEMU. */
static int make_shm(struct snap *s, char *err, size_t errlen)
{
    snprintf(s->shm, sizeof s->shm, "/dev/shm/%s", strrchr(s->dir, '/') + 1);
    int fd = open(s->shm, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "template RAM file %s: %s", s->shm, strerror(errno));
        s->shm[0] = '\0';
        return -1;
    }
    close(fd);
    const char *fmt = "memory-backend-file,id=bsmem,size=%dM,mem-path=%s,share=%s";
    snprintf(s->mem_tpl, sizeof s->mem_tpl, fmt, s->prof.mem_mib, s->shm, "on");
    snprintf(s->mem_clone, sizeof s->mem_clone, fmt, s->prof.mem_mib, s->shm, "off");
    return 0;
}

static int make_paths(struct snap *s, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strlen(tmp) > 60 || strchr(tmp, '\''))
        tmp = "/tmp"; /* the QMP sockets' paths must fit in sun_path (108); ' quotes in exec: */
    snprintf(s->dir, sizeof s->dir, "%s/bootstorm-snap-XXXXXX", tmp);
    if (!mkdtemp(s->dir)) {
        snprintf(err, errlen, "template directory %s: %s", s->dir, strerror(errno));
        s->dir[0] = '\0';
        return -1;
    }
    snprintf(s->sock, sizeof s->sock, "%s/qmp.sock", s->dir);
    snprintf(s->state, sizeof s->state, "%s/state", s->dir);
    snprintf(s->part, sizeof s->part, "%s/state.part", s->dir);
    snprintf(s->qmp_arg, sizeof s->qmp_arg, "unix:%s,server=on,wait=off", s->sock);
    snprintf(s->incoming, sizeof s->incoming, "exec:cat '%s'", s->state);
    return s->shared ? make_shm(s, err, errlen) : 0;
}

/* snapshot_file: a state saved before (docs/SNAPSHOTS.md) that every clone reads, so it
 * must be a QEMU migration stream: "QEVM" and version 3 (QEMU_VM_FILE_MAGIC, _VERSION). */
static int use_state_file(struct snap *s, const char *path, char *err, size_t errlen)
{
    unsigned char head[8];
    struct stat st;
    mono_ns t0 = clock_mono();
    if (path[0] != '/' || strchr(path, '\'') || strlen(path) + 12 > sizeof s->incoming) {
        snprintf(err, errlen, "snapshot_file %.200s: not an absolute path without '", path);
        return -1;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "snapshot_file %.200s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, head, sizeof head) : -1;
    close(fd);
    if (n != (ssize_t)sizeof head || memcmp(head, "QEVM\0\0\0\3", sizeof head)) {
        snprintf(err, errlen,
                 "snapshot_file %.200s: not a QEMU migration stream (no QEVM header, version 3)",
                 path);
        return -1;
    }
    snprintf(s->incoming, sizeof s->incoming, "exec:cat '%s'", path);
    s->state_kib = (int64_t)st.st_size / 1024;
    s->prep_ns = mono_diff(t0, clock_mono());
    s->ok = 1;
    atomic_store(&s->done, 1);
    log_info("run %s: clones of %s restore %s (%lld KiB), no template", s->run, s->prof.name, path,
             (long long)s->state_kib);
    return 0;
}

struct snap *snap_start(const struct snap_cfg *c, char *err, size_t errlen)
{
    struct snap *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->prof = *c->prof;
    s->vars = c->vars;
    s->tpl.console_fd = s->tpl.stderr_fd = s->tpl.debug_fd = -1;
    snprintf(s->run, sizeof s->run, "%s", c->run);
    snprintf(s->name, sizeof s->name, "bs-%s-template", c->run);
    s->vars.name = s->name;
    s->timeout_s = c->timeout_s;
    s->shared = c->shared;
    s->auto_kvm = c->auto_kvm;
    snprintf(s->accel, sizeof s->accel, "%s", c->vars.accel ? c->vars.accel : "tcg");
    if (c->state_file && c->state_file[0]) {
        if (s->shared)
            snprintf(err, errlen, "snapshot_file goes with start: snapshot, not template");
        else if (use_state_file(s, c->state_file, err, errlen) == 0)
            return s;
        free(s);
        return NULL;
    }
    if (make_paths(s, err, errlen) < 0)
        goto fail;
    if (s->shared && !(s->rs = restorer_start(s->incoming))) {
        snprintf(err, errlen, "template: cannot start the restoring thread");
        goto fail;
    }
    int e = pthread_create(&s->thread, NULL, prepare, s);
    if (e) {
        snprintf(err, errlen, "template thread: %s", strerror(e));
        goto fail;
    }
    s->threaded = 1;
    return s;
fail:
    restorer_free(s->rs);
    remove_files(s);
    free(s);
    return NULL;
}

const char *snap_accel(const struct snap *s)
{
    return s->accel;
}

int snap_done(const struct snap *s)
{
    return atomic_load(&((struct snap *)s)->done);
}

int snap_result(const struct snap *s, int64_t *prep_ns, int64_t *state_kib, const char **why)
{
    *prep_ns = s->prep_ns;
    *state_kib = s->state_kib;
    *why = s->why;
    return s->ok ? 0 : -1;
}

void snap_go(struct snap *s, int64_t at_tr)
{
    if (s)
        atomic_store(&s->go_tr, at_tr > 0 ? at_tr : 1); /* 1: at once */
}

/* The collector answers a `prepared` within a round trip once every host is prepared;
 * another host may need its whole timeout to boot its template and the save's: so
 * long, then the storm starts alone (a collector that sends no go, or none any more). */
int snap_go_at(struct snap *s, int64_t *at_tr)
{
    mono_ns now = clock_mono();
    int64_t wait_max = ((int64_t)s->timeout_s + SNAP_SAVE_TIMEOUT_S) * NS_PER_S;
    *at_tr = atomic_load(&s->go_tr);
    if (*at_tr)
        return 1;
    if (!s->go_wait_since.ns)
        s->go_wait_since = now;
    if (mono_diff(s->go_wait_since, now) < wait_max)
        return 0;
    log_warn("run %s: no start from the collector %lld s after the template was saved: "
             "the storm starts now, not together with the other hosts",
             s->run, (long long)(wait_max / NS_PER_S));
    return 1;
}

static void clone_sock(const struct snap *s, int idx, char *out, size_t len)
{
    snprintf(out, len, "%s/c-%d.sock", s->dir, idx);
}

int snap_clone_args(const struct snap *s, int idx, const char **items, char *buf, size_t len)
{
    int n = 0;
    items[n++] = "-global";
    items[n++] = "migration.store-global-state=off";
    items[n++] = "-incoming";
    if (!s->shared) {
        items[n++] = s->incoming;
        return n;
    }
    char sock[256];
    clone_sock(s, idx, sock, sizeof sock);
    if ((size_t)snprintf(buf, len, "unix:%s,server=on,wait=off", sock) >= len)
        return -1;
    const char *more[] = {
        "defer", "-qmp", buf, "-object", s->mem_clone, "-machine", "memory-backend=bsmem"};
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        items[n++] = more[i];
    return n;
}

void snap_clone_spawned(struct snap *s, int idx)
{
    char sock[256];
    if (!s->shared)
        return;
    clone_sock(s, idx, sock, sizeof sock);
    restorer_push(s->rs, sock, idx);
}

int snap_take_resumed(struct snap *s, int *idx, mono_ns *at)
{
    return s ? restorer_take(s->rs, idx, at) : 0;
}

/* Every file of ours: the directory (state, sockets) and the RAM file. */
static void remove_files(struct snap *s)
{
    DIR *d = s->dir[0] ? opendir(s->dir) : NULL;
    struct dirent *de;
    char path[512];
    while (d && (de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", s->dir, de->d_name);
            unlink(path);
        }
    if (d)
        closedir(d);
    if (s->dir[0] && rmdir(s->dir) < 0)
        log_warn("template directory %s not removed: %s", s->dir, strerror(errno));
    if (s->shm[0] && unlink(s->shm) < 0)
        log_warn("template RAM file %s not removed: %s", s->shm, strerror(errno));
}

void snap_free(struct snap *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    if (s->threaded)
        pthread_join(s->thread, NULL);
    restorer_free(s->rs);
    kill_template(s);
    remove_files(s);
    free(s);
}
