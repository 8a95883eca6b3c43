/* A run: guests scheduled at t0 + i * interval (burst: interval 0), spawned a few
 * per loop turn so console reads interleave with a burst, consoles matched line by
 * line (and on partial lines) against the profile's markers and ready regex. */
#include "run.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostinfo.h"
#include "log.h"
#include "outbox.h"
#include "profile.h"
#include "vmm.h"

#define SPAWNS_PER_TURN 8 /* spawns between two looks at the consoles during a burst */
#define LINE_MAX_BYTES 512
#define ERR_TAIL 160
#define TIMEOUT_CHECK_NS (50 * NS_PER_MS)

enum guest_state { G_PENDING, G_RUNNING, G_READY, G_FAILED };

struct guest {
    struct vmm_guest vm;
    enum guest_state state;
    int alive; /* spawned and not reaped */
    mono_ns spawn_at;
    int got_output;
    uint32_t markers_seen;
    int64_t rss_max_kib;
    size_t linelen, errlen;
    char line[LINE_MAX_BYTES];
    char errtail[ERR_TAIL];
};

struct pidslot {
    pid_t pid;
    int idx;
};

struct run {
    struct ev start;
    struct profile prof;
    const struct vmm_ops *vmm;
    struct outbox *ob;
    int epfd;
    char kernel[PATH_MAX];
    char accel[16];
    struct guest *g;
    int n, next_spawn, alive, nready, nfailed;
    mono_ns t0, all_done_at, next_sample, next_timeout_check;
    int64_t interval_ns, sample_ns;
    struct pidslot *pids; /* open addressing, pid -> guest index */
    size_t pidcap;
    int ending, ended;
    char error[256];
    int64_t cpu_ms_at_start;
    pcre2_match_data *md;
};

/* ---- pid map: O(1) lookups at any scale ---- */

static size_t pid_hash(pid_t pid, size_t cap) { return ((size_t)pid * 2654435761u) & (cap - 1); }

static void pid_put(struct run *r, pid_t pid, int idx)
{
    size_t i = pid_hash(pid, r->pidcap);
    while (r->pids[i].pid > 0 && r->pids[i].pid != pid)
        i = (i + 1) & (r->pidcap - 1);
    r->pids[i] = (struct pidslot){pid, idx};
}

static int pid_get(const struct run *r, pid_t pid)
{
    for (size_t i = pid_hash(pid, r->pidcap);; i = (i + 1) & (r->pidcap - 1)) {
        if (r->pids[i].pid == 0)
            return -1;
        if (r->pids[i].pid == pid)
            return r->pids[i].idx;
    }
}

/* ---- events ---- */

static void emit(struct run *r, struct ev *e, int idx, mono_ns tm)
{
    snprintf(e->run, sizeof e->run, "%s", r->start.run);
    e->guest = idx;
    e->tm = tm;
    e->tr = clock_real();
    outbox_push(r->ob, e);
}

static void fail_guest(struct run *r, int idx, const char *reason, const char *detail, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (g->state == G_READY || g->state == G_FAILED)
        return;
    g->state = G_FAILED;
    r->nfailed++;
    struct ev e;
    ev_init(&e, EV_FAILED);
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    e.rss_kib = g->rss_max_kib;
    emit(r, &e, idx, now);
    log_debug("run %s guest %d failed: %s (%s)", r->start.run, idx, reason, detail);
}

/* ---- set-up ---- */

static int pick_accel(struct run *r, const struct launcher_cfg *cfg, char *err, size_t errlen)
{
    const char *want = r->start.accel;
    if (strcmp(r->prof.accel, "auto") != 0 && r->prof.accel[0])
        want = r->prof.accel; /* the profile pins it: this guest only boots under it */
    if (!strcmp(want, "kvm") && !cfg->kvm_ok) {
        snprintf(err, errlen, "accel kvm asked but KVM is not usable on %s: %s", cfg->host,
                 cfg->kvm_why);
        return -1;
    }
    if (!strcmp(want, "auto")) {
        want = cfg->kvm_ok ? "kvm" : "tcg";
        if (!cfg->kvm_ok)
            log_warn("run %s: KVM not usable (%s): falling back to TCG", r->start.run, cfg->kvm_why);
    }
    snprintf(r->accel, sizeof r->accel, "%s", want);
    return 0;
}

struct run *run_start(const struct ev *start, const struct launcher_cfg *cfg, int epfd,
                      struct outbox *ob, char *err, size_t errlen)
{
    struct run *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->start = *start;
    r->ob = ob;
    r->epfd = epfd;
    r->n = (int)start->count;
    if (!(r->vmm = vmm_find(start->backend))) {
        snprintf(err, errlen, "backend '%s' is not available in this launcher", start->backend);
        goto fail;
    }
    if (profile_load_named(cfg->guests_dir, start->kind, &r->prof, err, errlen) < 0)
        goto fail;
    if (r->prof.kernel[0] == '/')
        snprintf(r->kernel, sizeof r->kernel, "%s", r->prof.kernel);
    else
        snprintf(r->kernel, sizeof r->kernel, "%s/%s", cfg->images_dir, r->prof.kernel);
    if (access(r->kernel, R_OK) < 0) {
        snprintf(err, errlen, "guest image %s of profile %s: %s", r->kernel, r->prof.name,
                 strerror(errno));
        goto fail;
    }
    if (pick_accel(r, cfg, err, errlen) < 0)
        goto fail;
    r->g = calloc((size_t)(r->n ? r->n : 1), sizeof *r->g);
    for (r->pidcap = 16; r->pidcap < (size_t)r->n * 2; r->pidcap *= 2)
        ;
    r->pids = calloc(r->pidcap, sizeof *r->pids);
    r->md = pcre2_match_data_create(8, NULL);
    if (!r->g || !r->pids || !r->md) {
        snprintf(err, errlen, "out of memory for %d guests", r->n);
        goto fail;
    }
    for (int i = 0; i < r->n; i++)
        r->g[i].vm.console_fd = r->g[i].vm.stderr_fd = -1;

    mono_ns now = clock_mono();
    r->t0 = now;
    if (start->at > 0) { /* an agreed realtime start, mapped onto our monotonic clock */
        int64_t wait = start->at - clock_real().ns;
        if (wait > 0)
            r->t0 = mono_add(now, wait);
    }
    r->interval_ns = !strcmp(start->pattern, "interval") ? start->interval_ms * NS_PER_MS : 0;
    r->sample_ns = (start->sample_ms > 0 ? start->sample_ms : 100) * NS_PER_MS;
    r->next_sample = r->t0;
    r->next_timeout_check = r->t0;
    int64_t self_rss;
    hostinfo_self(&r->cpu_ms_at_start, &self_rss);

    struct ev e;
    ev_init(&e, EV_RUN_START);
    snprintf(e.kind, sizeof e.kind, "%s", start->kind);
    snprintf(e.backend, sizeof e.backend, "%s", start->backend);
    snprintf(e.accel, sizeof e.accel, "%s", r->accel);
    snprintf(e.pattern, sizeof e.pattern, "%s", start->pattern);
    e.count = r->n;
    e.interval_ms = start->interval_ms;
    e.hold_s = start->hold_s;
    e.timeout_s = start->timeout_s;
    e.sample_ms = start->sample_ms;
    e.kvm = cfg->kvm_ok;
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) < 0)
        e.mem_used_kib = 0;
    emit(r, &e, -1, now);
    log_info("run %s: %d x %s on %s/%s, %s", r->start.run, r->n, r->prof.name, start->backend,
             r->accel, start->pattern);
    return r;
fail:
    run_free(r);
    return NULL;
}

/* ---- consoles ---- */

static int re_match(struct run *r, pcre2_code *re, const char *s, size_t len)
{
    return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, r->md, NULL) >= 0;
}

/* Matches the markers not seen yet and the ready regex against one (maybe partial) line. */
static void match_line(struct run *r, int idx, const char *s, size_t len, mono_ns now)
{
    struct guest *g = &r->g[idx];
    for (int m = 0; m < r->prof.nmarkers; m++) {
        if ((g->markers_seen & (1u << m)) || !re_match(r, r->prof.markers[m].re, s, len))
            continue;
        g->markers_seen |= 1u << m;
        struct ev e;
        ev_init(&e, EV_MARKER);
        snprintf(e.name, sizeof e.name, "%s", r->prof.markers[m].name);
        emit(r, &e, idx, now);
    }
    if (g->state == G_RUNNING && re_match(r, r->prof.ready.re, s, len)) {
        g->state = G_READY;
        r->nready++;
        struct ev e;
        ev_init(&e, EV_READY);
        e.boot_ns = mono_diff(g->spawn_at, now);
        emit(r, &e, idx, now);
    }
}

static void console_bytes(struct run *r, int idx, const char *p, size_t n, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (!g->got_output) {
        g->got_output = 1;
        struct ev e;
        ev_init(&e, EV_FIRST_OUTPUT);
        emit(r, &e, idx, now);
    }
    while (n > 0) {
        size_t take = 0;
        while (take < n && p[take] != '\n')
            take++;
        int newline = take < n;
        size_t room = sizeof g->line - 1 - g->linelen;
        size_t copy = take < room ? take : room;
        memcpy(g->line + g->linelen, p, copy);
        g->linelen += copy;
        size_t len = g->linelen;
        while (len && g->line[len - 1] == '\r')
            len--;
        match_line(r, idx, g->line, len, now); /* partial lines too: prompts end without \n */
        if (newline || g->linelen == sizeof g->line - 1)
            g->linelen = 0;
        p += take + newline;
        n -= take + newline;
    }
}

static void stderr_bytes(struct guest *g, const char *p, size_t n)
{
    /* Keep the tail: QEMU's last words explain a crash. */
    if (n >= ERR_TAIL - 1) {
        p += n - (ERR_TAIL - 1);
        n = ERR_TAIL - 1;
    }
    if (g->errlen + n > ERR_TAIL - 1) {
        size_t drop = g->errlen + n - (ERR_TAIL - 1);
        memmove(g->errtail, g->errtail + drop, g->errlen - drop);
        g->errlen -= drop;
    }
    memcpy(g->errtail + g->errlen, p, n);
    g->errlen += n;
    g->errtail[g->errlen] = '\0';
}

static void close_fd(struct run *r, int *fd)
{
    if (*fd < 0)
        return;
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, *fd, NULL);
    close(*fd);
    *fd = -1;
}

/* Reads what fd holds now; closes it at EOF. */
static void drain(struct run *r, int idx, int is_stderr)
{
    struct guest *g = &r->g[idx];
    int *fd = is_stderr ? &g->vm.stderr_fd : &g->vm.console_fd;
    char buf[4096];
    while (*fd >= 0) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            mono_ns now = clock_mono();
            if (is_stderr)
                stderr_bytes(g, buf, (size_t)n);
            else
                console_bytes(r, idx, buf, (size_t)n, now);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        close_fd(r, fd);
    }
}

void run_on_fd(struct run *r, uint64_t tag)
{
    int idx = (int)((tag & ~RUN_TAG_GUEST) >> 1);
    if (idx >= 0 && idx < r->n)
        drain(r, idx, (int)(tag & 1));
}

/* ---- processes ---- */

static int watch(struct run *r, int fd, int idx, int is_stderr)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RUN_TAG_GUEST | (uint64_t)idx << 1 | (uint64_t)is_stderr};
    return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void spawn_one(struct run *r, int idx)
{
    struct guest *g = &r->g[idx];
    char name[BS_ID_MAX + 16], err[256];
    snprintf(name, sizeof name, "bs-%s-%d", r->start.run, idx);
    struct vmm_spawn_args a = {.prof = &r->prof, .kernel = r->kernel, .accel = r->accel, .name = name};
    mono_ns sched = mono_add(r->t0, r->interval_ns * idx);

    struct ev e;
    ev_init(&e, EV_SPAWN);
    e.running = r->alive;
    g->spawn_at = clock_mono();
    e.lag_ns = mono_diff(sched, g->spawn_at);
    if (e.lag_ns < 0)
        e.lag_ns = 0;
    int rc = r->vmm->spawn(&a, &g->vm, err, sizeof err);
    emit(r, &e, idx, g->spawn_at);
    if (rc < 0) {
        fail_guest(r, idx, "spawn", err, clock_mono());
        return;
    }
    g->state = G_RUNNING;
    g->alive = 1;
    r->alive++;
    pid_put(r, g->vm.pid, idx);
    if (watch(r, g->vm.console_fd, idx, 0) < 0 || watch(r, g->vm.stderr_fd, idx, 1) < 0)
        log_err("epoll_ctl for guest %d: %s", idx, strerror(errno));
    ev_init(&e, EV_SPAWNED);
    e.pid = g->vm.pid;
    emit(r, &e, idx, clock_mono());
}

int run_on_child(struct run *r, pid_t pid, int status)
{
    int idx = pid_get(r, pid);
    if (idx < 0)
        return 0;
    struct guest *g = &r->g[idx];
    if (!g->alive)
        return 1;
    g->alive = 0;
    r->alive--;
    drain(r, idx, 0); /* the ready line may still sit in the pipe */
    drain(r, idx, 1);
    close_fd(r, &g->vm.console_fd);
    close_fd(r, &g->vm.stderr_fd);
    mono_ns now = clock_mono();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
    if (g->state == G_RUNNING) {
        char detail[256];
        /* QEMU's stderr tail, one line: why it died ("KVM internal error", ...). */
        for (char *c = g->errtail; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        snprintf(detail, sizeof detail, "%s %d before ready%s%s",
                 WIFEXITED(status) ? "exited with status" : "killed by signal",
                 WIFEXITED(status) ? code : -code, g->errlen ? ": " : "", g->errtail);
        fail_guest(r, idx, "crash", detail, now);
    }
    struct ev e;
    ev_init(&e, EV_EXIT);
    e.status = code;
    e.rss_kib = g->rss_max_kib;
    emit(r, &e, idx, now);
    return 1;
}

/* ---- the clock-driven part ---- */

static void sample(struct run *r, mono_ns now)
{
    struct ev e;
    ev_init(&e, EV_MEM);
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) < 0)
        return;
    for (int i = 0; i < r->n; i++) {
        struct guest *g = &r->g[i];
        if (!g->alive)
            continue;
        int64_t rss = hostinfo_rss_kib(g->vm.pid);
        if (rss < 0)
            continue;
        e.rss_kib += rss;
        if (rss > g->rss_max_kib)
            g->rss_max_kib = rss;
    }
    e.running = r->alive;
    emit(r, &e, -1, now);
}

static void check_timeouts(struct run *r, mono_ns now)
{
    int64_t limit = r->start.timeout_s * NS_PER_S;
    for (int i = 0; i < r->n; i++) {
        struct guest *g = &r->g[i];
        if (g->state != G_RUNNING || mono_diff(g->spawn_at, now) < limit)
            continue;
        char detail[96];
        snprintf(detail, sizeof detail, "not ready after %lld s", (long long)r->start.timeout_s);
        fail_guest(r, i, "timeout", detail, now);
        r->vmm->kill(&g->vm);
    }
}

static void kill_all(struct run *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->g[i].alive)
            r->vmm->kill(&r->g[i].vm);
}

static void publish_end(struct run *r)
{
    struct ev e;
    ev_init(&e, EV_RUN_END);
    e.ready = r->nready;
    e.failed = r->nfailed;
    int64_t cpu;
    hostinfo_self(&cpu, &e.rss_kib);
    e.cpu_ms = cpu - r->cpu_ms_at_start;
    snprintf(e.error, sizeof e.error, "%s", r->error);
    emit(r, &e, -1, clock_mono());
    r->ended = 1;
    log_info("run %s ended: %d ready, %d failed of %d; launcher cpu %lld ms (%.2f ms/guest), rss %lld KiB%s%s",
             r->start.run, r->nready, r->nfailed, r->n, (long long)e.cpu_ms,
             r->n ? (double)e.cpu_ms / r->n : 0.0, (long long)e.rss_kib, r->error[0] ? ": " : "",
             r->error);
}

mono_ns run_tick(struct run *r)
{
    mono_ns now = clock_mono();
    if (r->ended)
        return mono_add(now, NS_PER_S);
    if (!r->ending) {
        for (int k = 0; k < SPAWNS_PER_TURN && r->next_spawn < r->n; k++) {
            mono_ns due = mono_add(r->t0, r->interval_ns * r->next_spawn);
            if (mono_diff(due, now) < 0)
                break;
            spawn_one(r, r->next_spawn++);
            now = clock_mono();
        }
        if (mono_diff(r->next_timeout_check, now) >= 0) {
            check_timeouts(r, now);
            r->next_timeout_check = mono_add(now, TIMEOUT_CHECK_NS);
        }
    }
    if (mono_diff(r->next_sample, now) >= 0 && mono_diff(r->t0, now) >= 0) {
        sample(r, now);
        r->next_sample = mono_add(r->next_sample, r->sample_ns);
        if (mono_diff(r->next_sample, now) > 0)
            r->next_sample = mono_add(now, r->sample_ns);
    }
    int done = r->nready + r->nfailed;
    if (!r->ending && done == r->n) {
        if (!r->all_done_at.ns)
            r->all_done_at = now;
        if (mono_diff(r->all_done_at, now) >= r->start.hold_s * NS_PER_S) {
            r->ending = 1;
            kill_all(r);
        }
    }
    if (r->ending && r->alive == 0) {
        sample(r, now);
        publish_end(r);
        return mono_add(now, NS_PER_S);
    }
    /* The next thing due: a spawn, a sample, a timeout check, the end of hold. */
    mono_ns next = r->next_sample;
    if (!r->ending && r->next_spawn < r->n) {
        mono_ns due = mono_add(r->t0, r->interval_ns * r->next_spawn);
        if (due.ns < next.ns)
            next = due;
    }
    if (!r->ending && r->next_timeout_check.ns < next.ns)
        next = r->next_timeout_check;
    if (r->all_done_at.ns && !r->ending) {
        mono_ns hold_end = mono_add(r->all_done_at, r->start.hold_s * NS_PER_S);
        if (hold_end.ns < next.ns)
            next = hold_end;
    }
    if (r->ending)
        next = mono_add(now, 20 * NS_PER_MS); /* waiting for SIGCHLD of the last guests */
    return next;
}

void run_abort(struct run *r, const char *why)
{
    if (r->ended)
        return;
    if (!r->error[0])
        snprintf(r->error, sizeof r->error, "%s", why);
    r->ending = 1;
    mono_ns now = clock_mono();
    for (int i = r->next_spawn; i < r->n; i++) /* never spawned: say so, count them */
        fail_guest(r, i, "aborted", why, now);
    r->next_spawn = r->n;
    for (int i = 0; i < r->n; i++)
        if (r->g[i].state == G_RUNNING)
            fail_guest(r, i, "aborted", why, now);
    kill_all(r);
}

int run_finished(const struct run *r) { return r->ended; }
const char *run_id(const struct run *r) { return r->start.run; }

void run_free(struct run *r)
{
    if (!r)
        return;
    for (int i = 0; r->g && i < r->n; i++) {
        close_fd(r, &r->g[i].vm.console_fd);
        close_fd(r, &r->g[i].vm.stderr_fd);
    }
    free(r->g);
    free(r->pids);
    if (r->md)
        pcre2_match_data_free(r->md);
    profile_free(&r->prof);
    free(r);
}
