/* A run: instances created by the pattern (burst, interval, ramp, mass restart),
 * spawned a few per loop turn so console reads interleave with a burst, consoles
 * matched line by line (and on partial lines) against the profile's markers and
 * ready rule, memory and CPU sampled every sample_ms. */
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
#include "ports.h"
#include "probe_http.h"
#include "sampler.h"
#include "profile.h"
#include "vmm.h"

#define SPAWNS_PER_TURN 8 /* spawns between two looks at the consoles during a burst */
#define LINE_MAX_BYTES 512
#define ERR_TAIL 160
#define TIMEOUT_CHECK_NS (50 * NS_PER_MS)
#define HTTP_RETRY_NS (20 * NS_PER_MS)
#define HTTP_POLL_NS (5 * NS_PER_MS)
/* QEMU's port forward accepts at once and retries its SYN to a guest that does not
 * listen yet with TCP backoff (1 s, 3 s): a fresh GET after 300 ms is faster. */
#define HTTP_TIMEOUT_MS 300
#define PSS_EVERY 10 /* PSS walks page tables: once every 10 samples */
#define MAX_RAMP_POINTS 256

enum guest_state { G_PENDING, G_BOOTING, G_READY, G_FAILED };

struct guest {
    struct vmm_guest vm;
    enum guest_state state;
    int alive;   /* spawned and not reaped */
    int retired; /* stopped on purpose (ramp down, restart, end): its exit is no failure */
    mono_ns sched, spawn_at, next_probe;
    int port;             /* host port forwarded to the guest's HTTP port */
    int running_at_spawn; /* asynchronous backends: `running` when the create was queued */
    int got_output;
    uint32_t markers_seen;
    int64_t rss_max_kib, cpu_ms;
    int64_t ram_kib; /* guest RAM resident (measured once, after ready), -1 unknown */
    size_t linelen, errlen, dbglen;
    char line[LINE_MAX_BYTES];
    char errtail[ERR_TAIL];
    char dbg[64];
};

struct pidslot {
    pid_t pid;
    int idx;
};

struct ramp_point {
    int64_t at_ns;
    int count;
};

struct run {
    struct ev start;
    struct profile prof;
    const struct vmm_ops *vmm;
    struct outbox *ob;
    int epfd;
    char kernel[PATH_MAX], initrd[PATH_MAX], disk[PATH_MAX];
    char accel[16];
    struct guest *g;
    int n; /* instances created so far */
    int cap;
    int initial;    /* instances of the burst/interval phase */
    int next_spawn; /* first instance not spawned yet */
    int alive, booting, nready, nfailed, nsamples;
    mono_ns t0, all_done_at, next_sample, next_timeout_check;
    int64_t interval_ns, sample_ns;
    struct ramp_point ramp[MAX_RAMP_POINTS];
    int nramp, ramp_next;
    int live_target; /* ramp: instances wanted now */
    int restart_done;
    struct pidslot *pids; /* open addressing, pid -> instance index */
    size_t pidcap, pidused;
    struct http_prober *http;
    char bindir[512];
    int vmm_opened;
    int64_t last_seq; /* seq of the run's latest event */
    int nomap;        /* the process backend: no guest RAM mapping to look for */
    struct sampler *sampler;
    struct sample_req *req;
    int reqcap;
    int ending, ended;
    char error[256];
    int64_t cpu_ms_at_start;
    pcre2_match_data *md;
};

/* ---- pid map: O(1) lookups at any scale ---- */

static size_t pid_hash(pid_t pid, size_t cap)
{
    return ((size_t)pid * 2654435761u) & (cap - 1);
}

static int pid_put(struct run *r, pid_t pid, int idx)
{
    if ((r->pidused + 1) * 2 > r->pidcap) { /* keep it at most half full */
        size_t ncap = r->pidcap ? r->pidcap * 2 : 64;
        struct pidslot *old = r->pids, *n = calloc(ncap, sizeof *n);
        if (!n)
            return -1;
        size_t ocap = r->pidcap;
        r->pids = n;
        r->pidcap = ncap;
        r->pidused = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].pid > 0)
                pid_put(r, old[i].pid, old[i].idx);
        free(old);
    }
    size_t i = pid_hash(pid, r->pidcap);
    while (r->pids[i].pid > 0 && r->pids[i].pid != pid)
        i = (i + 1) & (r->pidcap - 1);
    if (r->pids[i].pid == 0)
        r->pidused++;
    r->pids[i] = (struct pidslot){pid, idx};
    return 0;
}

static int pid_get(const struct run *r, pid_t pid)
{
    if (!r->pidcap)
        return -1;
    for (size_t i = pid_hash(pid, r->pidcap);; i = (i + 1) & (r->pidcap - 1)) {
        if (r->pids[i].pid == 0)
            return -1;
        if (r->pids[i].pid == pid)
            return r->pids[i].idx;
    }
}

/* ---- events ---- */

/* Publishes a run event. `prev` chains the run's events of this host, so Redis can
 * refuse one that arrives before its predecessor was stored (docs/PROTOCOL.md). */
static void emit(struct run *r, struct ev *e, int idx, mono_ns tm)
{
    snprintf(e->run, sizeof e->run, "%s", r->start.run);
    e->guest = idx;
    e->tm = tm;
    e->tr = clock_real();
    e->prev = r->last_seq;
    r->last_seq = outbox_push(r->ob, e);
}

static void settle(struct run *r, struct guest *g)
{
    if (g->state == G_BOOTING)
        r->booting--;
    if (r->http && g->port)
        http_probe_cancel(r->http, (int)(g - r->g));
}

static void fail_guest(struct run *r, int idx, const char *reason, const char *detail, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (g->state == G_READY || g->state == G_FAILED)
        return;
    settle(r, g);
    g->state = G_FAILED;
    r->nfailed++;
    struct ev e;
    ev_init(&e, EV_FAILED);
    snprintf(e.reason, sizeof e.reason, "%s", reason);
    snprintf(e.detail, sizeof e.detail, "%s", detail);
    e.rss_kib = g->rss_max_kib;
    e.cpu_ms = g->cpu_ms;
    emit(r, &e, idx, now);
    log_debug("run %s guest %d failed: %s (%s)", r->start.run, idx, reason, detail);
}

static void ready_guest(struct run *r, int idx, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (g->state != G_BOOTING)
        return;
    settle(r, g);
    g->state = G_READY;
    r->nready++;
    struct ev e;
    ev_init(&e, EV_READY);
    e.boot_ns = mono_diff(g->spawn_at, now);
    emit(r, &e, idx, now);
}

/* ---- set-up ---- */

static int pick_accel(struct run *r, const struct launcher_cfg *cfg, char *err, size_t errlen)
{
    const char *want = r->start.accel;
    if (strcmp(r->prof.accel, "auto") != 0 && r->prof.accel[0])
        want = r->prof.accel; /* the profile pins it: this guest only boots under it */
    if (!strcmp(r->start.backend, "process")) {
        snprintf(r->accel, sizeof r->accel, "none");
        return 0;
    }
    if (!strcmp(want, "kvm") && !cfg->kvm_ok) {
        snprintf(err, errlen, "accel kvm asked but KVM is not usable on %s: %s", cfg->host,
                 cfg->kvm_why);
        return -1;
    }
    if (!strcmp(want, "auto")) {
        want = cfg->kvm_ok ? "kvm" : "tcg";
        if (!cfg->kvm_ok)
            log_warn("run %s: KVM not usable (%s): falling back to TCG", r->start.run,
                     cfg->kvm_why);
    }
    snprintf(r->accel, sizeof r->accel, "%s", want);
    return 0;
}

/* Image file of the profile: absolute, or in the images dir; "" stays "". */
static int image_path(const struct launcher_cfg *cfg, const struct profile *p, const char *file,
                      const char *key, char *out, size_t len, char *err, size_t errlen)
{
    out[0] = '\0';
    if (!file[0])
        return 0;
    if (file[0] == '/')
        snprintf(out, len, "%s", file);
    else
        snprintf(out, len, "%s/%s", cfg->images_dir, file);
    if (access(out, R_OK) == 0)
        return 0;
    snprintf(err, errlen, "%s image %s of profile %s: %s", key, out, p->name, strerror(errno));
    return -1;
}

/* "T_MS:COUNT,..." into r->ramp; times must not go backwards. */
static int parse_ramp(struct run *r, const char *s, char *err, size_t errlen)
{
    const char *p = s;
    while (*p) {
        char *end;
        long long t = strtoll(p, &end, 10);
        if (end == p || *end != ':')
            goto bad;
        long long c = strtoll(end + 1, &end, 10);
        if (c < 0 || c > 1 << 20 || t < 0 || r->nramp == MAX_RAMP_POINTS ||
            (r->nramp && t * NS_PER_MS < r->ramp[r->nramp - 1].at_ns))
            goto bad;
        r->ramp[r->nramp++] = (struct ramp_point){t * NS_PER_MS, (int)c};
        if (*end == ',')
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    if (r->nramp)
        return 0;
bad:
    snprintf(err, errlen,
             "bad ramp trace '%.60s' (want T_MS:COUNT,... with T rising, at most %d points)", s,
             MAX_RAMP_POINTS);
    return -1;
}

static int grow_guests(struct run *r, int want)
{
    if (want <= r->cap)
        return 0;
    int ncap = r->cap ? r->cap : 64;
    while (ncap < want)
        ncap *= 2;
    struct guest *n = realloc(r->g, (size_t)ncap * sizeof *n);
    if (!n)
        return -1;
    memset(n + r->cap, 0, (size_t)(ncap - r->cap) * sizeof *n);
    r->g = n;
    r->cap = ncap;
    return 0;
}

/* Creates instance r->n, due at sched. Returns its index or -1. */
static int new_instance(struct run *r, mono_ns sched)
{
    if (grow_guests(r, r->n + 1) < 0)
        return -1;
    struct guest *g = &r->g[r->n];
    memset(g, 0, sizeof *g);
    g->vm.console_fd = g->vm.stderr_fd = g->vm.debug_fd = -1;
    g->sched = sched;
    g->ram_kib = -1;
    return r->n++;
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
    if (!(r->vmm = vmm_find(start->backend))) {
        snprintf(err, errlen, "backend '%s' is not available in this launcher", start->backend);
        goto fail;
    }
    if (profile_load_named(cfg->guests_dir, start->kind, &r->prof, err, errlen) < 0)
        goto fail;
    if (image_path(cfg, &r->prof, r->prof.kernel, "kernel", r->kernel, sizeof r->kernel, err,
                   errlen) < 0 ||
        image_path(cfg, &r->prof, r->prof.initrd, "initrd", r->initrd, sizeof r->initrd, err,
                   errlen) < 0 ||
        image_path(cfg, &r->prof, r->prof.disk, "disk", r->disk, sizeof r->disk, err, errlen) < 0)
        goto fail;
    if (pick_accel(r, cfg, err, errlen) < 0)
        goto fail;
    if (r->vmm->open && r->vmm->open(cfg->libvirt_uri, err, errlen) < 0)
        goto fail;
    r->vmm_opened = 1;
    if (r->vmm->event_fd) {
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RUN_TAG_VMM};
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, r->vmm->event_fd(), &ev) < 0) {
            snprintf(err, errlen, "epoll_ctl for backend %s: %s", r->vmm->name, strerror(errno));
            goto fail;
        }
    }
    snprintf(r->bindir, sizeof r->bindir, "%s", cfg->bindir);
    r->nomap = !strcmp(start->backend, "process");
    if (!strcmp(start->pattern, "ramp") && parse_ramp(r, start->ramp, err, errlen) < 0)
        goto fail;
    if (r->prof.ready_kind == READY_HTTP && !(r->http = http_prober_new())) {
        snprintf(err, errlen, "cannot set up the HTTP probe");
        goto fail;
    }
    if (!(r->sampler = sampler_new())) {
        snprintf(err, errlen, "cannot start the sampling thread");
        goto fail;
    }
    struct epoll_event sev = {.events = EPOLLIN, .data.u64 = RUN_TAG_SAMPLER};
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, sampler_fd(r->sampler), &sev) < 0) {
        snprintf(err, errlen, "epoll_ctl for the sampler: %s", strerror(errno));
        goto fail;
    }
    if (!(r->md = pcre2_match_data_create(8, NULL))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

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
    r->initial = r->nramp ? 0 : (int)start->count;
    for (int i = 0; i < r->initial; i++)
        if (new_instance(r, mono_add(r->t0, r->interval_ns * i)) < 0) {
            snprintf(err, errlen, "out of memory for %d guests", r->initial);
            goto fail;
        }
    int64_t self_rss;
    hostinfo_self(&r->cpu_ms_at_start, &self_rss);

    struct ev e;
    ev_init(&e, EV_RUN_START);
    snprintf(e.kind, sizeof e.kind, "%s", start->kind);
    snprintf(e.backend, sizeof e.backend, "%s", start->backend);
    snprintf(e.accel, sizeof e.accel, "%s", r->accel);
    snprintf(e.pattern, sizeof e.pattern, "%s", start->pattern);
    e.count = start->count;
    e.interval_ms = start->interval_ms;
    e.hold_s = start->hold_s;
    e.timeout_s = start->timeout_s;
    e.sample_ms = start->sample_ms;
    e.concurrency = start->concurrency;
    e.restart_after_ms = start->restart_after_ms;
    e.restart_permille = start->restart_permille;
    e.trace = start->trace;
    e.kvm = cfg->kvm_ok;
    e.prio = cfg->prio_raised;
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) < 0)
        e.mem_used_kib = 0;
    emit(r, &e, -1, now);
    log_info("run %s: %lld x %s on %s/%s, %s%s", r->start.run, (long long)start->count,
             r->prof.name, start->backend, r->accel, start->pattern,
             cfg->prio_raised ? "" : " (launcher priority not raised: not permitted)");
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

/* True if the marker `after` (an index below limit, or -1 for none) has matched. */
static int after_ok(const struct guest *g, int after, int limit)
{
    return after < 0 || after >= limit || (g->markers_seen & (1u << after));
}

/* Matches the markers not seen yet and the ready regex against one (maybe partial)
 * line. A marker whose `after` marker has not matched yet waits for a later line. */
static void match_line(struct run *r, int idx, const char *s, size_t len, mono_ns now)
{
    struct guest *g = &r->g[idx];
    for (int m = 0; m < r->prof.nmarkers; m++) {
        const struct profile_marker *mk = &r->prof.markers[m];
        if ((g->markers_seen & (1u << m)) || !after_ok(g, mk->after, m) ||
            !re_match(r, mk->re, s, len))
            continue;
        g->markers_seen |= 1u << m;
        struct ev e;
        ev_init(&e, EV_MARKER);
        snprintf(e.name, sizeof e.name, "%s", mk->name);
        emit(r, &e, idx, now);
    }
    if (r->prof.ready_kind == READY_CONSOLE && g->state == G_BOOTING &&
        after_ok(g, r->prof.ready.after, r->prof.nmarkers) && re_match(r, r->prof.ready.re, s, len))
        ready_guest(r, idx, now);
}

static void trace_line(struct run *r, int idx, const char *s, size_t len, mono_ns now)
{
    struct ev e;
    ev_init(&e, EV_LINE);
    if (len >= sizeof e.text)
        len = sizeof e.text - 1;
    memcpy(e.text, s, len);
    e.text[len] = '\0';
    for (char *c = e.text; *c; c++) /* a NUL from a guest must not cut the wire string */
        if (*c == '\0')
            *c = ' ';
    emit(r, &e, idx, now);
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
        for (size_t i = g->linelen; i < g->linelen + copy; i++)
            if (g->line[i] == '\0')
                g->line[i] = ' ';
        g->linelen += copy;
        size_t len = g->linelen;
        while (len && g->line[len - 1] == '\r')
            len--;
        match_line(r, idx, g->line, len, now); /* partial lines too: prompts end without \n */
        int full = g->linelen == sizeof g->line - 1;
        if (newline || full) {
            if (r->start.trace)
                trace_line(r, idx, g->line, len, now);
            g->linelen = 0;
        }
        p += take + newline;
        n -= take + newline;
    }
}

static void debug_bytes(struct run *r, int idx, const char *p, size_t n, mono_ns now)
{
    struct guest *g = &r->g[idx];
    if (r->prof.ready_kind != READY_DEBUGCON || g->state != G_BOOTING)
        return;
    size_t want = strlen(r->prof.ready_bytes);
    for (size_t i = 0; i < n; i++) {
        if (g->dbglen == sizeof g->dbg) { /* keep the newest bytes */
            memmove(g->dbg, g->dbg + 1, sizeof g->dbg - 1);
            g->dbglen--;
        }
        g->dbg[g->dbglen++] = p[i];
        if (g->dbglen >= want && !memcmp(g->dbg + g->dbglen - want, r->prof.ready_bytes, want)) {
            ready_guest(r, idx, now);
            return;
        }
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

enum stream { S_CONSOLE, S_STDERR, S_DEBUG };

/* Reads what fd holds now; closes it at EOF. */
static void drain(struct run *r, int idx, enum stream which)
{
    struct guest *g = &r->g[idx];
    int *fd = which == S_CONSOLE  ? &g->vm.console_fd
              : which == S_STDERR ? &g->vm.stderr_fd
                                  : &g->vm.debug_fd;
    char buf[4096];
    while (*fd >= 0) {
        ssize_t n = read(*fd, buf, sizeof buf);
        if (n > 0) {
            mono_ns now = clock_mono(); /* stamped on read */
            if (which == S_STDERR)
                stderr_bytes(g, buf, (size_t)n);
            else if (which == S_DEBUG)
                debug_bytes(r, idx, buf, (size_t)n, now);
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
    int idx = (int)((tag & ~RUN_TAG_GUEST) >> 2);
    if (idx >= 0 && idx < r->n)
        drain(r, idx, (enum stream)(tag & 3));
}

/* ---- processes ---- */

static int watch(struct run *r, int fd, int idx, enum stream which)
{
    if (fd < 0)
        return 0;
    struct epoll_event ev = {.events = EPOLLIN,
                             .data.u64 = RUN_TAG_GUEST | (uint64_t)idx << 2 | (uint64_t)which};
    return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* The guest's process (or domain) exists: watch its fds, publish spawned. */
static void guest_spawned(struct run *r, int idx, mono_ns call_end)
{
    struct guest *g = &r->g[idx];
    g->alive = 1;
    r->alive++;
    g->next_probe = call_end;
    if (g->vm.pid > 0 && pid_put(r, g->vm.pid, idx) < 0)
        log_err("out of memory in the pid map");
    if (watch(r, g->vm.console_fd, idx, S_CONSOLE) < 0 ||
        watch(r, g->vm.stderr_fd, idx, S_STDERR) < 0 || watch(r, g->vm.debug_fd, idx, S_DEBUG) < 0)
        log_err("epoll_ctl for guest %d: %s", idx, strerror(errno));
    struct ev e;
    ev_init(&e, EV_SPAWNED);
    e.pid = g->vm.pid > 0 ? g->vm.pid : 1; /* 1: a domain whose VMM pid is not known */
    e.spawn_ns = mono_diff(g->spawn_at, call_end);
    emit(r, &e, idx, call_end);
}

static void publish_spawn(struct run *r, int idx, int running)
{
    struct guest *g = &r->g[idx];
    struct ev e;
    ev_init(&e, EV_SPAWN);
    e.running = running;
    e.lag_ns = mono_diff(g->sched, g->spawn_at);
    if (e.lag_ns < 0)
        e.lag_ns = 0;
    emit(r, &e, idx, g->spawn_at);
}

static void spawn_one(struct run *r, int idx)
{
    struct guest *g = &r->g[idx];
    char name[BS_ID_MAX + 16], err[256];
    snprintf(name, sizeof name, "bs-%s-%d", r->start.run, idx);
    if (r->prof.ready_kind == READY_HTTP && (g->port = port_free_tcp()) < 0)
        g->port = 0;
    struct vmm_spawn_args a = {
        .idx = idx,
        .prof = &r->prof,
        .vars = {.kernel = r->kernel,
                 .initrd = r->initrd[0] ? r->initrd : NULL,
                 .disk = r->disk[0] ? r->disk : NULL,
                 .accel = r->accel,
                 .name = name,
                 .port = g->port,
                 .bindir = r->bindir},
        .with_debug = r->prof.ready_kind == READY_DEBUGCON,
    };
    g->state = G_BOOTING;
    r->booting++;
    g->spawn_at = clock_mono();
    int rc = r->vmm->spawn(&a, &g->vm, err, sizeof err);
    mono_ns after = clock_mono();
    if (r->vmm->event_fd && rc == 0) { /* created by a worker: see run_on_vmm() */
        g->running_at_spawn = r->alive;
        return;
    }
    publish_spawn(r, idx, r->alive);
    if (rc < 0)
        fail_guest(r, idx, "spawn", err, after);
    else
        guest_spawned(r, idx, after);
}

/* The guest's process is gone: read what it left, decide, publish exit. code is the
 * exit status, or -signal when killed (exited = 0). */
static void guest_gone(struct run *r, int idx, int exited, int code)
{
    struct guest *g = &r->g[idx];
    if (!g->alive)
        return;
    g->alive = 0;
    r->alive--;
    drain(r, idx, S_CONSOLE); /* the ready line may still sit in the pipe */
    drain(r, idx, S_STDERR);
    drain(r, idx, S_DEBUG);
    close_fd(r, &g->vm.console_fd);
    close_fd(r, &g->vm.stderr_fd);
    close_fd(r, &g->vm.debug_fd);
    mono_ns now = clock_mono();
    if (g->state == G_BOOTING && r->prof.ready_kind == READY_EXIT && exited &&
        profile_exit_ok(&r->prof, code))
        ready_guest(r, idx, now);
    if (g->state == G_BOOTING && !g->retired) {
        char detail[256];
        /* QEMU's stderr tail, one line: why it died ("KVM internal error", ...). */
        for (char *c = g->errtail; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
        snprintf(detail, sizeof detail, "%s %d before ready%s%s",
                 exited ? "exited with status" : "killed by signal", exited ? code : -code,
                 g->errlen ? ": " : "", g->errtail);
        fail_guest(r, idx, "crash", detail, now);
    } else if (g->state == G_BOOTING) {
        fail_guest(r, idx, "aborted", "stopped before ready", now);
    }
    struct ev e;
    ev_init(&e, EV_EXIT);
    e.status = code;
    e.rss_kib = g->rss_max_kib;
    e.cpu_ms = g->cpu_ms; /* as of the last sample: a reaped process has no /proc entry */
    if (g->ram_kib >= 0)
        e.ram_kib = g->ram_kib;
    emit(r, &e, idx, now);
}

int run_on_child(struct run *r, pid_t pid, int status)
{
    int idx = pid_get(r, pid);
    if (idx < 0 || r->vmm->event_fd) /* an asynchronous backend's pids are not our children */
        return 0;
    guest_gone(r, idx, WIFEXITED(status),
               WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
    return 1;
}

void run_on_vmm(struct run *r)
{
    struct vmm_event ev;
    while (r->vmm->next_event && r->vmm->next_event(&ev)) {
        if (ev.idx < 0 || ev.idx >= r->n)
            continue;
        struct guest *g = &r->g[ev.idx];
        switch (ev.kind) {
        case VMM_SPAWNED:
        case VMM_SPAWN_FAILED:
            g->spawn_at = ev.call_start; /* boot time counts from the create call */
            publish_spawn(r, ev.idx, g->running_at_spawn);
            if (ev.kind == VMM_SPAWN_FAILED) {
                fail_guest(r, ev.idx, "spawn", ev.err, ev.call_end);
                break;
            }
            g->vm = ev.g;
            guest_spawned(r, ev.idx, ev.call_end);
            if (g->retired) /* stopped while it was being created */
                r->vmm->kill(&g->vm);
            break;
        case VMM_EXITED:
            if (!g->alive && g->state == G_BOOTING) /* never reported spawned */
                break;
            guest_gone(r, ev.idx, ev.status >= 0, ev.status);
            break;
        }
    }
}

/* ---- the clock-driven part ---- */

/* Asks the sampler for the host's memory and every live guest's RSS and CPU (PSS every
 * PSS_EVERY samples; the guest-RAM block once per guest after it is ready). The
 * numbers come back through run_on_sampler(); a sample still in progress makes this
 * one be skipped, never the loop wait. */
static void sample(struct run *r)
{
    if (!r->sampler)
        return;
    if (r->reqcap < r->alive) {
        struct sample_req *q = realloc(r->req, (size_t)r->alive * 2 * sizeof *q);
        if (!q)
            return;
        r->req = q;
        r->reqcap = r->alive * 2;
    }
    int n = 0;
    for (int i = 0; i < r->n && n < r->reqcap; i++) {
        struct guest *g = &r->g[i];
        if (!g->alive || g->vm.pid <= 0)
            continue;
        int want_ram = g->state == G_READY && g->ram_kib < 0 && !r->nomap;
        r->req[n++] =
            (struct sample_req){i, g->vm.pid, want_ram ? (int64_t)r->prof.mem_mib * 1024 : 0};
    }
    if (sampler_request(r->sampler, r->req, n, r->nsamples % PSS_EVERY == 0) == 0)
        r->nsamples++;
    else
        log_debug("run %s: previous memory sample not done yet, skipping one", r->start.run);
}

void run_on_sampler(struct run *r)
{
    const struct sample_res *res;
    struct ev e;
    mono_ns asked;
    ev_init(&e, EV_MEM);
    int n = sampler_take(r->sampler, &res, &e.mem_used_kib, &asked);
    if (n < 0 || r->ended || e.mem_used_kib < 0)
        return;
    for (int i = 0; i < n; i++) {
        if (res[i].idx >= r->n || res[i].rss_kib < 0)
            continue;
        struct guest *g = &r->g[res[i].idx];
        if (g->vm.pid != res[i].pid)
            continue;
        e.rss_kib += res[i].rss_kib;
        e.guest_cpu_ms += res[i].cpu_ms;
        if (res[i].pss_kib > 0)
            e.pss_kib += res[i].pss_kib;
        g->cpu_ms = res[i].cpu_ms;
        if (res[i].rss_kib > g->rss_max_kib)
            g->rss_max_kib = res[i].rss_kib;
        if (res[i].ram_kib >= 0)
            g->ram_kib = res[i].ram_kib;
    }
    e.running = r->alive;
    emit(r, &e, -1, asked);
}

/* The last sample, when every guest is gone: the host alone, read right here. */
static void sample_host(struct run *r, mono_ns now)
{
    struct ev e;
    ev_init(&e, EV_MEM);
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) == 0)
        emit(r, &e, -1, now);
}

static void check_timeouts(struct run *r, mono_ns now)
{
    int64_t limit = r->start.timeout_s * NS_PER_S;
    for (int i = 0; i < r->next_spawn; i++) {
        struct guest *g = &r->g[i];
        if (g->state != G_BOOTING || mono_diff(g->spawn_at, now) < limit)
            continue;
        char detail[96];
        snprintf(detail, sizeof detail, "not ready after %lld s", (long long)r->start.timeout_s);
        fail_guest(r, i, "timeout", detail, now);
        r->vmm->kill(&g->vm);
    }
}

static void http_done(void *ctx, int idx, long status)
{
    struct run *r = ctx;
    if (idx < 0 || idx >= r->n)
        return;
    struct guest *g = &r->g[idx];
    int want = r->prof.http_status;
    int ok = want ? status == want : status >= 200 && status < 400;
    if (ok)
        ready_guest(r, idx, clock_mono());
    else
        g->next_probe = mono_add(clock_mono(), HTTP_RETRY_NS);
}

static void probe_http(struct run *r, mono_ns now)
{
    for (int i = 0; i < r->next_spawn; i++) {
        struct guest *g = &r->g[i];
        if (g->state == G_BOOTING && g->alive && g->port && mono_diff(g->next_probe, now) >= 0) {
            g->next_probe = mono_add(now, HTTP_TIMEOUT_MS * NS_PER_MS); /* until it answers */
            http_probe_start(r->http, i, g->port, r->prof.http_path, HTTP_TIMEOUT_MS);
        }
    }
    http_prober_poll(r->http, http_done, r);
}

static void stop_instance(struct run *r, int idx)
{
    struct guest *g = &r->g[idx];
    g->retired = 1;
    if (g->alive)
        r->vmm->kill(&g->vm);
}

static void kill_all(struct run *r)
{
    for (int i = 0; i < r->n; i++)
        if (r->g[i].alive)
            stop_instance(r, i);
}

/* Asynchronous backends: instances whose create call has not completed yet. */
static int creating(const struct run *r)
{
    if (!r->vmm->event_fd)
        return 0;
    int n = 0;
    for (int i = 0; i < r->next_spawn; i++)
        n += r->g[i].state == G_BOOTING && !r->g[i].alive;
    return n;
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
    log_info("run %s ended: %d ready, %d failed of %d; launcher cpu %lld ms (%.2f ms/guest), rss "
             "%lld KiB%s%s",
             r->start.run, r->nready, r->nfailed, r->n, (long long)e.cpu_ms,
             r->n ? (double)e.cpu_ms / r->n : 0.0, (long long)e.rss_kib, r->error[0] ? ": " : "",
             r->error);
}

/* Ramp: follows the trace's instance count, adding instances (spawned now) or
 * stopping the newest ones. */
static void follow_ramp(struct run *r, mono_ns now)
{
    while (r->ramp_next < r->nramp &&
           mono_diff(mono_add(r->t0, r->ramp[r->ramp_next].at_ns), now) >= 0)
        r->live_target = r->ramp[r->ramp_next++].count;
    int live = 0;
    for (int i = 0; i < r->n; i++)
        live += !r->g[i].retired && r->g[i].state != G_FAILED;
    for (; live < r->live_target; live++)
        if (new_instance(r, now) < 0)
            break;
    for (int i = r->n - 1; i >= 0 && live > r->live_target; i--) {
        struct guest *g = &r->g[i];
        if (g->retired || g->state == G_FAILED)
            continue;
        if (i >= r->next_spawn) { /* not spawned yet: just drop it */
            r->n--;
        } else {
            stop_instance(r, i);
        }
        live--;
    }
}

/* Mass restart: stop a share of the fleet and start as many new instances at once. */
static void mass_restart(struct run *r, mono_ns now)
{
    int k = (int)((int64_t)r->initial * r->start.restart_permille / 1000);
    int killed = 0;
    for (int i = 0; i < r->initial && killed < k; i++)
        if (r->g[i].alive && !r->g[i].retired) {
            stop_instance(r, i);
            killed++;
        }
    struct ev e;
    ev_init(&e, EV_RESTART);
    e.count = killed;
    emit(r, &e, -1, now);
    for (int i = 0; i < killed; i++)
        new_instance(r, now);
    r->restart_done = 1;
    r->all_done_at.ns = 0;
    log_info("run %s: mass restart of %d instances", r->start.run, killed);
}

static int can_spawn(const struct run *r)
{
    return !r->start.concurrency || r->booting < r->start.concurrency;
}

mono_ns run_tick(struct run *r)
{
    mono_ns now = clock_mono();
    if (r->ended)
        return mono_add(now, NS_PER_S);
    if (!r->ending) {
        if (r->nramp && mono_diff(r->t0, now) >= 0)
            follow_ramp(r, now);
        for (int k = 0; k < SPAWNS_PER_TURN && r->next_spawn < r->n && can_spawn(r); k++) {
            if (mono_diff(r->g[r->next_spawn].sched, now) < 0)
                break;
            spawn_one(r, r->next_spawn++);
            now = clock_mono();
        }
        if (mono_diff(r->next_timeout_check, now) >= 0) {
            check_timeouts(r, now);
            r->next_timeout_check = mono_add(now, TIMEOUT_CHECK_NS);
        }
        if (r->http)
            probe_http(r, now);
    }
    if (mono_diff(r->next_sample, now) >= 0 && mono_diff(r->t0, now) >= 0) {
        sample(r);
        r->next_sample = mono_add(r->next_sample, r->sample_ns);
        if (mono_diff(r->next_sample, now) > 0)
            r->next_sample = mono_add(now, r->sample_ns);
    }
    int settled = r->next_spawn == r->n && r->booting == 0 && r->ramp_next == r->nramp;
    if (!r->ending && settled) {
        if (!r->all_done_at.ns)
            r->all_done_at = now;
        int64_t since = mono_diff(r->all_done_at, now);
        if (r->start.restart_permille && !r->restart_done && !r->nramp) {
            if (since >= r->start.restart_after_ms * NS_PER_MS)
                mass_restart(r, now);
        } else if (since >= r->start.hold_s * NS_PER_S) {
            r->ending = 1;
            kill_all(r);
        }
    } else if (!settled) {
        r->all_done_at.ns = 0;
    }
    if (r->ending && r->alive == 0 && !creating(r)) {
        sample_host(r, now);
        publish_end(r);
        return mono_add(now, NS_PER_S);
    }
    /* The next thing due: a spawn, a sample, a timeout check, a probe, a phase end. */
    mono_ns next = r->next_sample;
    if (r->ending)
        return mono_add(now, 20 * NS_PER_MS); /* waiting for SIGCHLD of the last guests */
    if (r->next_spawn < r->n && can_spawn(r) && r->g[r->next_spawn].sched.ns < next.ns)
        next = r->g[r->next_spawn].sched;
    if (r->next_timeout_check.ns < next.ns)
        next = r->next_timeout_check;
    if (r->ramp_next < r->nramp) {
        mono_ns at = mono_add(r->t0, r->ramp[r->ramp_next].at_ns);
        if (at.ns < next.ns)
            next = at;
    }
    if (r->http && r->booting) {
        mono_ns at = mono_add(now, HTTP_POLL_NS);
        if (at.ns < next.ns)
            next = at;
    }
    if (r->all_done_at.ns) {
        int64_t wait = r->start.restart_permille && !r->restart_done && !r->nramp
                           ? r->start.restart_after_ms * NS_PER_MS
                           : r->start.hold_s * NS_PER_S;
        mono_ns at = mono_add(r->all_done_at, wait);
        if (at.ns < next.ns)
            next = at;
    }
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
        if (r->g[i].state == G_BOOTING)
            fail_guest(r, i, "aborted", why, now);
    kill_all(r);
}

int run_finished(const struct run *r)
{
    return r->ended;
}
const char *run_id(const struct run *r)
{
    return r->start.run;
}

void run_free(struct run *r)
{
    if (!r)
        return;
    for (int i = 0; r->g && i < r->n; i++) {
        close_fd(r, &r->g[i].vm.console_fd);
        close_fd(r, &r->g[i].vm.stderr_fd);
        close_fd(r, &r->g[i].vm.debug_fd);
    }
    if (r->vmm && r->vmm->event_fd && r->vmm_opened)
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->vmm->event_fd(), NULL);
    if (r->vmm && r->vmm->close && r->vmm_opened)
        r->vmm->close();
    if (r->sampler) {
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, sampler_fd(r->sampler), NULL);
        sampler_free(r->sampler);
    }
    free(r->req);
    free(r->g);
    free(r->pids);
    http_prober_free(r->http);
    if (r->md)
        pcre2_match_data_free(r->md);
    profile_free(&r->prof);
    free(r);
}
