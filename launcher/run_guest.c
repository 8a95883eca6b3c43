/* One guest of a run: spawn through the backend, its fds in the loop's epoll set, its
 * console read through the shared matcher (console.c) and stamped when written (QEMU's:
 * the kernel's stamp, stamped.h) or on read (a pipe's), ready or failed, and its exit.
 * Not for when it is due or stopped (sched.c) nor sampling (run.c). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "ports.h"
#include "run_int.h"
#include "stamped.h"

enum stream { S_CONSOLE, S_STDERR, S_DEBUG };

/* The probe of a guest that is settled has nothing left to find. */
static void cancel_probe(struct run *r, int idx)
{
    if (r->http && r->g[idx].port)
        http_probe_cancel(r->http, idx);
}

void guest_fail(struct run *r, int idx, const char *reason, const char *detail, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (!sched_failed(&r->s, idx))
        return;
    cancel_probe(r, idx);
    struct ev e;
    ev_init(&e, EV_FAILED);
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    snprintf(e.detail, sizeof e.detail, "%s%s", detail,
             g->retried ? " (retried under TCG after KVM failed it)" : "");
    e.rss_kib = g->rss_max_kib;
    e.cpu_ms = g->cpu_ms;
    run_emit(r, &e, idx, now);
    log_debug("run %s guest %d failed: %s (%s)", r->start.run, idx, reason, detail);
}

void guest_ready(struct run *r, int idx, mono_ns now)
{
    if (!sched_ready(&r->s, idx))
        return;
    cancel_probe(r, idx);
    struct ev e;
    ev_init(&e, EV_READY);
    e.boot_ns = mono_diff(r->g[idx].spawn_at, now);
    run_emit(r, &e, idx, now);
}

/* ---- console: what the matcher found becomes events ---- */

struct con_ctx {
    struct run *r;
    int idx;
    mono_ns now; /* when the bytes were read */
};

static void on_first_output(void *ctx)
{
    struct con_ctx *c = ctx;
    struct ev e;
    ev_init(&e, EV_FIRST_OUTPUT);
    run_emit(c->r, &e, c->idx, c->now);
}

static void on_marker(void *ctx, int m)
{
    struct con_ctx *c = ctx;
    struct ev e;
    ev_init(&e, EV_MARKER);
    snprintf(e.name, sizeof e.name, "%s", c->r->res.prof.markers[m].name);
    run_emit(c->r, &e, c->idx, c->now);
}

static void on_ready(void *ctx)
{
    struct con_ctx *c = ctx;
    guest_ready(c->r, c->idx, c->now);
}

/* trace: true publishes every console line. */
static void on_line(void *ctx, const char *s, size_t len)
{
    struct con_ctx *c = ctx;
    if (!c->r->start.trace)
        return;
    struct ev e;
    ev_init(&e, EV_LINE);
    if (len >= sizeof e.text)
        len = sizeof e.text - 1;
    memcpy(e.text, s, len); /* the matcher made NULs spaces: the wire string stays whole */
    e.text[len] = '\0';
    run_emit(c->r, &e, c->idx, c->now);
}

static const struct console_cb console_events = {on_first_output, on_marker, on_ready, on_line};

/* start: template: a `resumed` marker for each clone whose QEMU reported RESUME, at
 * that time; taken before console bytes are matched, so it comes before the ready its
 * heartbeat brings whenever the worker has read it by then. */
static void emit_resumed(struct run *r)
{
    int idx;
    mono_ns at;
    while (snap_take_resumed(r->snap, &idx, &at)) {
        struct ev e;
        ev_init(&e, EV_MARKER);
        snprintf(e.name, sizeof e.name, "resumed");
        run_emit(r, &e, idx, at);
    }
}

static void got_bytes(struct run *r, int idx, enum stream which, const char *p, size_t n,
                      mono_ns now)
{
    struct guest *g = &r->g[idx];
    struct con_ctx c = {r, idx, now};
    if (r->snap)
        emit_resumed(r);
    if (which == S_CONSOLE)
        console_feed(&r->cm, &g->con, p, n, &console_events, &c);
    else if (which == S_STDERR && (console_tail_add(&g->err, p, n), 1))
        guest_kvm_failed(r, idx, 0, now);
    else if (r->res.prof.ready_kind == READY_DEBUGCON && r->s.in[idx].state == SCHED_BOOTING &&
             console_debug_feed(&g->dbg, r->res.prof.ready_bytes, p, n))
        guest_ready(r, idx, now);
}

static int *stream_fd(struct guest *g, enum stream which)
{
    return which == S_CONSOLE  ? &g->vm.console_fd
           : which == S_STDERR ? &g->vm.stderr_fd
                               : &g->vm.debug_fd;
}

/* The epoll set a stream is watched in: stderr in the slow one (run.slowfd). */
static int stream_set(const struct run *r, enum stream which)
{
    return which == S_STDERR ? r->slowfd : r->epfd;
}

static void close_fd(struct run *r, struct guest *g, enum stream which)
{
    int *fd = stream_fd(g, which);
    if (*fd < 0)
        return;
    epoll_ctl(stream_set(r, which), EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
    *fd = -1;
}

void guest_close_fds(struct run *r, struct guest *g)
{
    for (enum stream k = S_CONSOLE; k <= S_DEBUG; k++)
        close_fd(r, g, k);
}

/* A kernel-stamped console (stamped.h): each write fed with the moment it was made,
 * on this host's monotonic clock, never after now (a realtime step since). */
static void drain_stamped(struct run *r, int idx)
{
    int *fd = &r->g[idx].vm.console_fd;
    struct stamped_msg m[STAMPED_BATCH];
    while (*fd >= 0) {
        int n = stamped_read(r->stamped, *fd, m);
        if (n < 0 && errno == EAGAIN)
            return;
        if (n <= 0) {
            close_fd(r, &r->g[idx], S_CONSOLE);
            return;
        }
        mono_ns now = clock_mono();
        for (int i = 0; i < n; i++) {
            mono_ns at = m[i].at.ns ? clock_mono_of(m[i].at) : now;
            if (m[i].cut && !r->console_cut++)
                log_warn("run %s: guest %d wrote more than %d bytes to its console at once: "
                         "the rest of such a write is not read",
                         r->start.run, idx, STAMPED_MSG_MAX);
            got_bytes(r, idx, S_CONSOLE, m[i].p, m[i].len, at.ns < now.ns ? at : now);
        }
        if (n < STAMPED_BATCH) /* took all there was: the next write wakes the loop */
            return;
    }
}

/* Reads what fd holds now, stamping each read; closes it at EOF. A short read took
 * all the pipe held: the next bytes or the EOF wake the loop again (level-triggered),
 * so no read is spent on EAGAIN (4-5 per guest otherwise). */
static void drain(struct run *r, int idx, enum stream which)
{
    if (which == S_CONSOLE && r->g[idx].vm.console_stamped) {
        drain_stamped(r, idx);
        return;
    }
    int *fd = stream_fd(&r->g[idx], which);
    char buf[4096];
    while (*fd >= 0) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            got_bytes(r, idx, which, buf, (size_t)n, clock_mono());
            if ((size_t)n < sizeof buf)
                return;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close_fd(r, &r->g[idx], which);
    }
}

void run_on_fd(struct run *r, uint64_t tag)
{
    int idx = (int)((tag & ~RUN_TAG_GUEST) >> 2);
    if (idx < 0 || idx >= r->s.n)
        return;
    enum stream which = (enum stream)(tag & 3);
    int *fd = stream_fd(&r->g[idx], which);
    if (*fd < 0 && r->sp) /* the spawner thread watched it: its spawn is back, take it */
        run_spawner_drain(r);
    int was_open = *fd >= 0;
    drain(r, idx, which);
    /* its EOF: the guest's process is most likely exiting, its other pipes at EOF as
     * well; read them now, not one wake-up (a context switch of 30-40 us here) each */
    if (was_open && *fd < 0)
        for (enum stream k = S_CONSOLE; k <= S_DEBUG; k++)
            drain(r, idx, k);
}

/* ---- the stderr set ---- */

#define SLOW_PERIOD_NS (20 * NS_PER_MS) /* stderr read at most this late (KVM failures) */

/* One-shot: the set wakes the loop once, then not until armed again. */
static int slow_arm(struct run *r, int op)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLONESHOT, .data.u64 = RUN_TAG_SLOW};
    return epoll_ctl(r->epfd, op, r->slowfd, &ev);
}

int guest_slow_open(struct run *r, char *err, size_t errlen)
{
    if ((r->slowfd = epoll_create1(EPOLL_CLOEXEC)) >= 0 && slow_arm(r, EPOLL_CTL_ADD) == 0)
        return 0;
    snprintf(err, errlen, "epoll set for the guests' stderr: %s", strerror(errno));
    return -1;
}

void guest_slow_close(struct run *r)
{
    if (r->slowfd < 0)
        return;
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->slowfd, NULL);
    close(r->slowfd);
    r->slowfd = -1;
}

/* Reads every stderr pipe that has something now. */
static void slow_read(struct run *r)
{
    struct epoll_event evs[64];
    int n;
    do {
        n = epoll_wait(r->slowfd, evs, 64, 0);
        for (int i = 0; i < n; i++)
            run_on_fd(r, evs[i].data.u64);
    } while (n == 64);
}

void run_on_slow(struct run *r)
{
    slow_read(r);
    r->slow_rearm = mono_add(clock_mono(), SLOW_PERIOD_NS);
}

mono_ns guest_slow_tick(struct run *r, mono_ns now)
{
    if (!r->slow_rearm.ns)
        return (mono_ns){INT64_MAX};
    if (mono_diff(r->slow_rearm, now) < 0)
        return r->slow_rearm;
    slow_read(r); /* what came meanwhile; what comes after wakes the loop again */
    r->slow_rearm.ns = 0;
    if (slow_arm(r, EPOLL_CTL_MOD) < 0)
        log_err("run %s: epoll for the guests' stderr: %s", r->start.run, strerror(errno));
    return (mono_ns){INT64_MAX};
}

/* ---- processes ---- */

static int watch(struct run *r, int fd, int idx, enum stream which)
{
    if (fd < 0)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = RUN_TAG_GUEST | (uint64_t)idx << 2 | (uint64_t)which};
    if (epoll_ctl(stream_set(r, which), EPOLL_CTL_ADD, fd, &ev) == 0 || errno == EEXIST)
        return 0; /* EEXIST: a watch by the spawner thread that failed half-way */
    return -1;
}

int guest_watch(struct run *r, int idx, const struct vmm_guest *vm)
{
    int fds[] = {vm->console_fd, vm->stderr_fd, vm->debug_fd}, n = 0;
    for (enum stream k = S_CONSOLE; k <= S_DEBUG; k++) {
        if (fds[k] < 0)
            continue;
        if (watch(r, fds[k], idx, k) < 0)
            return -1;
        n++;
    }
    return n;
}

/* Publishes spawned for guest idx: its pid, how long the spawn call took, the accel it
 * runs under and, when auto did not get KVM for it, why. Again after a retry under TCG
 * (a new process). */
static void publish_spawned(struct run *r, int idx, mono_ns call_start, mono_ns call_end)
{
    struct guest *g = &r->g[idx];
    struct ev e;
    ev_init(&e, EV_SPAWNED);
    e.pid = g->vm.pid > 0 ? g->vm.pid : 1; /* 1: a domain whose VMM pid is not known */
    e.spawn_ns = mono_diff(call_start, call_end);
    snprintf(e.accel, sizeof e.accel, "%s", g->accel);
    const char *why = accel_memo_tcg(r->memo, r->res.prof.name);
    if (why && g->retried)
        snprintf(e.detail, sizeof e.detail, "KVM failed it (%.200s): retried under TCG", why);
    else if (!strcmp(g->accel, "tcg") && !strcmp(r->res.accel, "tcg"))
        snprintf(e.detail, sizeof e.detail, "%s", r->res.accel_why); /* "": asked so */
    run_emit(r, &e, idx, call_end);
}

/* Guest idx's new process (a spawn, or its TCG respawn): found by its pid on SIGCHLD,
 * its pipes watched (unless the spawner thread did), spawned published. */
static void guest_track(struct run *r, int idx, mono_ns call_start, mono_ns call_end, int watched)
{
    struct guest *g = &r->g[idx];
    if (g->vm.pid > 0 && pidmap_put(&r->pids, g->vm.pid, idx) < 0)
        log_err("out of memory in the pid map");
    if (!watched && guest_watch(r, idx, &g->vm) < 0)
        log_err("epoll_ctl for guest %d: %s", idx, strerror(errno));
    publish_spawned(r, idx, call_start, call_end);
}

/* The guest's process (or domain) exists: watch its fds (unless already watched),
 * publish spawned. */
static void guest_spawned(struct run *r, int idx, mono_ns call_end, int watched)
{
    sched_spawned(&r->s, idx);
    r->g[idx].next_probe = call_end;
    guest_track(r, idx, r->g[idx].spawn_at, call_end, watched);
}

static void publish_spawn(struct run *r, int idx, int running)
{
    struct guest *g = &r->g[idx];
    struct ev e;
    ev_init(&e, EV_SPAWN);
    e.running = running;
    e.lag_ns = mono_diff(r->s.in[idx].due, g->spawn_at); /* behind the pattern's schedule */
    if (e.lag_ns < 0)
        e.lag_ns = 0;
    run_emit(r, &e, idx, g->spawn_at);
}

int guest_spawn_args(struct run *r, int idx, struct spawn_buf *b, char *err, size_t errlen)
{
    struct guest *g = &r->g[idx];
    const struct resolved *res = &r->res;
    snprintf(b->name, sizeof b->name, "bs-%s-%d", r->start.run, idx);
    snprintf(b->accel, sizeof b->accel, "%s", g->accel);
    if (res->prof.ready_kind == READY_HTTP && (g->port = port_free_tcp()) < 0)
        g->port = 0;
    b->a = (struct vmm_spawn_args){
        .idx = idx,
        .prof = &res->prof,
        .vars = {.kernel = res->kernel,
                 .initrd = res->initrd[0] ? res->initrd : NULL,
                 .disk = res->disk[0] ? res->disk : NULL,
                 .accel = b->accel,
                 .name = b->name,
                 .port = g->port,
                 .bindir = r->bindir},
        .with_debug = res->prof.ready_kind == READY_DEBUGCON,
    };
    if (r->snap) { /* a clone: restored from the template's state */
        b->a.nextra = snap_clone_args(r->snap, idx, b->extra, b->extra_buf, sizeof b->extra_buf);
        if (b->a.nextra < 0) {
            snprintf(err, errlen, "the clone's QMP socket path does not fit");
            return -1;
        }
        b->a.extra = b->extra;
    }
    return 0;
}

/* Starts guest idx's process (or queues its domain) under g->accel, in this thread. */
static int spawn_vm(struct run *r, int idx, char *err, size_t errlen)
{
    struct spawn_buf b;
    if (guest_spawn_args(r, idx, &b, err, errlen) < 0)
        return -1;
    int rc = r->vmm->spawn(&b.a, &r->g[idx].vm, err, errlen);
    if (rc == 0 && r->snap)
        snap_clone_spawned(r->snap, idx);
    return rc;
}

void guest_spawn_done(struct run *r, int idx, int rc, const char *err, mono_ns call_start,
                      mono_ns call_end, int watched)
{
    r->g[idx].spawn_at = call_start;
    publish_spawn(r, idx, r->s.alive);
    if (rc < 0) {
        guest_fail(r, idx, "spawn", err, call_end);
        return;
    }
    if (r->snap)
        snap_clone_spawned(r->snap, idx);
    guest_spawned(r, idx, call_end, watched);
}

/* The asynchronous backends' (libvirt) path: the call queues the create. */
void guest_spawn(struct run *r, int idx)
{
    struct guest *g = &r->g[idx];
    char err[256];
    snprintf(g->accel, sizeof g->accel, "%s", r->res.accel);
    mono_ns start = clock_mono();
    int rc = spawn_vm(r, idx, err, sizeof err);
    mono_ns after = clock_mono();
    if (r->vmm->event_fd && rc == 0) { /* created by a worker: see run_on_vmm() */
        g->spawn_at = start;
        g->running_at_spawn = r->s.alive;
        return;
    }
    guest_spawn_done(r, idx, rc, err, start, after, 0);
}

int guest_kvm_failed(struct run *r, int idx, int gone, mono_ns now)
{
    struct guest *g = &r->g[idx];
    const struct sched_inst *in = &r->s.in[idx];
    if (!r->res.auto_kvm || r->vmm->event_fd || strcmp(g->accel, "kvm") ||
        in->state != SCHED_BOOTING || in->retired)
        return 0;
    if (g->retry)
        return 1;
    int silent = !g->con.got_output && accel_silence_counts(&r->res.prof);
    const char *why = accel_kvm_failure(&g->err, gone, silent ? mono_diff(g->spawn_at, now) : 0);
    if (!why)
        return 0;
    g->retry = 1;
    if (!accel_memo_tcg(r->memo, r->res.prof.name)) {
        accel_memo_set_tcg(r->memo, r->res.prof.name, why);
        log_warn("run %s: %s (guest %d): %s falls back to TCG on this host for the "
                 "launcher's life",
                 r->start.run, why, idx, r->res.prof.name);
    }
    snprintf(r->res.accel, sizeof r->res.accel, "tcg"); /* later spawns of this run too */
    snprintf(r->res.accel_why, sizeof r->res.accel_why,
             "auto: %.40s fell back to TCG here (%.120s)", r->res.prof.name, why);
    if (!gone)
        r->vmm->kill(&g->vm);
    return 1;
}

/* The KVM attempt of guest idx is gone: the same instance again under TCG, its boot
 * still counted from the first spawn (what the fallback cost is part of its boot). */
static void guest_retry(struct run *r, int idx)
{
    struct guest *g = &r->g[idx];
    char err[256];
    if (g->vm.pid > 0)
        pidmap_del(&r->pids, g->vm.pid);
    guest_close_fds(r, g);
    g->retry = 0;
    console_reset(&g->con);
    memset(&g->dbg, 0, sizeof g->dbg);
    memset(&g->err, 0, sizeof g->err);
    snprintf(g->accel, sizeof g->accel, "tcg");
    g->retried = 1;
    r->nretried++;
    mono_ns retry_at = clock_mono();
    if (spawn_vm(r, idx, err, sizeof err) < 0) {
        guest_fail(r, idx, "spawn", err, clock_mono());
        sched_gone(&r->s, idx);
        return;
    }
    guest_track(r, idx, retry_at, clock_mono(), 0);
    log_info("run %s guest %d: respawned under TCG (pid %d)", r->start.run, idx, (int)g->vm.pid);
}

/* Why a guest that was booting died: how, and QEMU's last words on one line. */
static void crash_detail(struct guest *g, int exited, int code, char *out, size_t len)
{
    const char *tail = console_tail_oneline(&g->err);
    if (g->err.len > RUN_ERR_DETAIL)
        tail += g->err.len - RUN_ERR_DETAIL;
    snprintf(out, len, "%s %d before ready%s%s", exited ? "exited with status" : "killed by signal",
             exited ? code : -code, g->err.len ? ": " : "", tail);
}

/* The guest's process is gone: read what it left, decide, publish exit. code is the
 * exit status, or -signal when killed (exited = 0). */
static void guest_gone(struct run *r, int idx, int exited, int code)
{
    struct guest *g = &r->g[idx];
    drain(r, idx, S_CONSOLE); /* the ready line may still sit in the pipe */
    drain(r, idx, S_STDERR);
    drain(r, idx, S_DEBUG);
    if (guest_kvm_failed(r, idx, 1, clock_mono())) {
        guest_retry(r, idx);
        return;
    }
    if (!sched_gone(&r->s, idx))
        return;
    if (g->vm.pid > 0)
        pidmap_del(&r->pids, g->vm.pid);
    guest_close_fds(r, g);
    mono_ns now = clock_mono();
    const struct sched_inst *in = &r->s.in[idx];
    if (in->state == SCHED_BOOTING && r->res.prof.ready_kind == READY_EXIT && exited &&
        profile_exit_ok(&r->res.prof, code))
        guest_ready(r, idx, now);
    if (in->state == SCHED_BOOTING && !in->retired) {
        char detail[256];
        crash_detail(g, exited, code, detail, sizeof detail);
        guest_fail(r, idx, "crash", detail, now);
    } else if (in->state == SCHED_BOOTING) { /* a ramp's fall (sched.c: nothing else stops
                                              * a guest still booting) */
        r->nstopped++;
        guest_fail(r, idx, "stopped", "stopped by its ramp before it was ready", now);
    }
    struct ev e;
    ev_init(&e, EV_EXIT);
    e.status = code;
    e.rss_kib = g->rss_max_kib;
    e.cpu_ms = g->cpu_ms; /* as of the last sample: a reaped process has no /proc entry */
    if (g->ram_kib >= 0)
        e.ram_kib = g->ram_kib;
    run_emit(r, &e, idx, now);
}

int guest_reaped(struct run *r, pid_t pid, int status)
{
    int idx = pidmap_get(&r->pids, pid);
    if (idx < 0 || r->vmm->event_fd) /* an asynchronous backend's pids are not our children */
        return 0;
    guest_gone(r, idx, WIFEXITED(status),
               WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    return 1;
}

static void on_vmm_event(struct run *r, const struct vmm_event *ev)
{
    struct guest *g = &r->g[ev->idx];
    const struct sched_inst *in = &r->s.in[ev->idx];
    if (ev->kind == VMM_EXITED) {
        if (in->alive || in->state != SCHED_BOOTING) /* else: never reported spawned */
            guest_gone(r, ev->idx, ev->status >= 0, ev->status);
        return;
    }
    g->spawn_at = ev->call_start; /* boot time counts from the create call */
    publish_spawn(r, ev->idx, g->running_at_spawn);
    if (ev->kind == VMM_SPAWN_FAILED) {
        guest_fail(r, ev->idx, "spawn", ev->err, ev->call_end);
        return;
    }
    g->vm = ev->g;
    guest_spawned(r, ev->idx, ev->call_end, 0);
    if (in->retired) /* stopped while it was being created */
        r->vmm->kill(&g->vm);
}

void run_on_vmm(struct run *r)
{
    if (r->sp) { /* a synchronous backend: the tag is the spawner thread's eventfd */
        run_spawner_drain(r);
        return;
    }
    struct vmm_event ev;
    while (r->vmm->next_event && r->vmm->next_event(&ev))
        if (ev.idx >= 0 && ev.idx < r->s.n)
            on_vmm_event(r, &ev);
}
