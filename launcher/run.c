/* A run's life on this launcher: set up from a start command (resolve.c), then driven
 * by the loop through run_tick: spawns the scheduler says are due (sched.c), timeouts,
 * HTTP probes, memory samples, the end. Not for one guest's fds and exit (run_guest.c). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>

#include "hostinfo.h"
#include "log.h"
#include "outbox.h"
#include "run_int.h"
#include "stamped.h"

#define SPAWNS_PER_TURN 8 /* spawns between two looks at the consoles during a burst */
/* Booting guests are looked at for a timeout at their deadline, and for a KVM that
 * stays silent (10 s, accel.c) at least this often: each look walks every guest and
 * each wake-up costs the loop 30-40 us here; every 50 ms was a fifth of its timer
 * wake-ups in an interval storm (docs/SCALING.md, "Launcher CPU per guest"). */
#define TIMEOUT_CHECK_NS (250 * NS_PER_MS)
#define HTTP_POLL_NS (5 * NS_PER_MS)
#define ENDING_POLL_NS (20 * NS_PER_MS) /* waiting for SIGCHLD of the last guests */
#define SNAP_WAIT_NS (10 * NS_PER_MS)   /* how often a run looks whether its template is saved */
/* PSS walks page tables (about 1 ms per QEMU here): besides the whole fleet's, a
 * sample reads it this often, so a fleet that is never whole (guests that leave) has
 * one too */
#define PSS_PERIOD_NS (10 * NS_PER_S)
/* The longest a run waits for a memory sample: the whole fleet's PSS before the fleet
 * is stopped, and the one in flight once every guest is gone. The worker runs at nice
 * 10 and a storm can starve it; a starved worker must not hold a run for ever. */
#define SAMPLE_WAIT_NS (30 * NS_PER_S)

static void publish_end(struct run *r);

/* Publishes a run event. `prev` (the seq of this host's previous event of the run) is
 * informational: the order check is the host's sequence, judged in the Redis
 * Function (docs/PROTOCOL.md). */
void run_emit(struct run *r, struct ev *e, int idx, mono_ns tm)
{
    snprintf(e->run, sizeof e->run, "%s", r->start.run);
    e->guest = idx;
    e->tm = tm;
    /* tm's moment on the realtime clock, not the moment of sending: a spawn stamped at
     * its call's start comes back from the spawner thread later, in a burst up to half a
     * second later (a fleet's first spawns read 0.5-0.9 s after the agreed start that
     * ftrace showed them at) */
    e->tr = clock_real_of(tm);
    e->prev = r->last_seq;
    r->last_seq = outbox_push(r->ob, e);
}

/* ---- what the scheduler asks of the run ---- */

static int on_create(void *ctx, int idx)
{
    struct run *r = ctx;
    if (idx >= r->gcap) {
        int ncap = r->gcap ? r->gcap * 2 : 64;
        struct guest *g = realloc(r->g, (size_t)ncap * sizeof *g);
        if (!g)
            return -1;
        r->g = g;
        r->gcap = ncap;
    }
    struct guest *g = &r->g[idx];
    memset(g, 0, sizeof *g);
    g->vm.console_fd = g->vm.stderr_fd = g->vm.debug_fd = -1;
    g->ram_kib = -1;
    return 0;
}

static void on_stop(void *ctx, int idx)
{
    struct run *r = ctx;
    r->vmm->kill(&r->g[idx].vm);
}

static void on_abort(void *ctx, int idx)
{
    struct run *r = ctx;
    guest_fail(r, idx, "aborted", r->error, clock_mono());
}

static void on_restart(void *ctx, int stopped, mono_ns now)
{
    struct run *r = ctx;
    struct ev e;
    ev_init(&e, EV_RESTART);
    e.count = stopped;
    run_emit(r, &e, -1, now);
    log_info("run %s: mass restart of %d instances", r->start.run, stopped);
}

/* The fleet is whole (sched_whole): its PSS is wanted (fleet_pss_tick), and the
 * scheduler keeps it (no end, no mass restart) until the sample is back. */
static mono_ns on_whole(void *ctx, mono_ns now)
{
    struct run *r = ctx;
    if (!r->s.nready) /* every guest failed: no fleet to look at */
        return (mono_ns){0};
    r->fleet_pss = FLEET_PSS_WANTED;
    r->whole_at = now;
    return mono_add(now, SAMPLE_WAIT_NS);
}

static const struct sched_ops run_sched_ops = {on_create, on_stop, on_abort, on_restart, on_whole};

/* ---- set-up ---- */

static int watch_tag(struct run *r, int fd, uint64_t tag, const char *what, char *err,
                     size_t errlen)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
        return 0;
    snprintf(err, errlen, "epoll_ctl for %s: %s", what, strerror(errno));
    return -1;
}

/* The backend, the HTTP prober, the sampling thread and the console matcher. */
static int open_parts(struct run *r, const struct launcher_cfg *cfg, char *err, size_t errlen)
{
    if (!(r->vmm = vmm_find(r->start.backend))) {
        snprintf(err, errlen, "backend '%s' is not available in this launcher", r->start.backend);
        return -1;
    }
    if (r->vmm->open && r->vmm->open(cfg->libvirt_uri, err, errlen) < 0)
        return -1;
    r->vmm_opened = 1;
    if (r->vmm->prepare)
        r->vmm->prepare(&r->res.prof, r->bindir);
    if (r->vmm->event_fd &&
        watch_tag(r, r->vmm->event_fd(), RUN_TAG_VMM, r->vmm->name, err, errlen) < 0)
        return -1;
    if (r->res.prof.ready_kind == READY_HTTP && !(r->http = http_prober_new())) {
        snprintf(err, errlen, "cannot set up the HTTP probe");
        return -1;
    }
    if (!(r->sampler = sampler_new())) {
        snprintf(err, errlen, "cannot start the sampling thread");
        return -1;
    }
    if (watch_tag(r, sampler_fd(r->sampler), RUN_TAG_SAMPLER, "the sampler", err, errlen) < 0)
        return -1;
    if (console_matcher_init(&r->cm, &r->res.prof) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (guest_slow_open(r, err, errlen) < 0)
        return -1;
    if (!(r->stamped = stamped_reader_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return run_spawner_start(r, err, errlen);
}

/* t0: now, or an agreed realtime start mapped onto our monotonic clock. */
static mono_ns start_time(const struct ev *start, mono_ns now)
{
    if (start->at > 0) {
        int64_t wait = start->at - clock_real().ns;
        if (wait > 0)
            return mono_add(now, wait);
    }
    return now;
}

static void publish_start(struct run *r, const struct launcher_cfg *cfg, mono_ns now)
{
    const struct ev *s = &r->start;
    struct ev e;
    ev_init(&e, EV_RUN_START);
    snprintf(e.kind, sizeof e.kind, "%s", s->kind);
    snprintf(e.backend, sizeof e.backend, "%s", s->backend);
    snprintf(e.accel, sizeof e.accel, "%s", r->res.accel);
    snprintf(e.pattern, sizeof e.pattern, "%s", s->pattern);
    snprintf(e.start, sizeof e.start, "%s", s->start[0] ? s->start : "cold");
    e.count = s->count;
    e.interval_ms = s->interval_ms;
    e.hold_s = s->hold_s;
    e.timeout_s = s->timeout_s;
    e.sample_ms = s->sample_ms;
    e.pss_guests = s->pss_guests;
    e.concurrency = s->concurrency;
    e.restart_after_ms = s->restart_after_ms;
    e.restart_permille = s->restart_permille;
    e.trace = s->trace;
    e.kvm = cfg->kvm.ok;
    e.prio = cfg->prio_raised;
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) < 0)
        e.mem_used_kib = 0;
    run_emit(r, &e, -1, now);
    log_info("run %s: %lld x %s on %s/%s%s%s%s, %s%s", s->run, (long long)s->count,
             r->res.prof.name, s->backend, r->res.accel, r->res.accel_why[0] ? " (" : "",
             r->res.accel_why, r->res.accel_why[0] ? ")" : "", s->pattern,
             cfg->prio_raised ? "" : " (launcher priority not raised: not permitted)");
}

/* The scheduler starts: at t0 (the agreed start, or now when that has passed). */
static int begin_storm(struct run *r, mono_ns now, char *err, size_t errlen)
{
    mono_ns t0 = start_time(&r->start, now);
    r->next_sample = r->next_timeout_check = t0;
    if (sched_init(&r->s, &r->res.sched, t0, &run_sched_ops, r) < 0) {
        snprintf(err, errlen, "out of memory for %lld guests", (long long)r->start.count);
        return -1;
    }
    if (r->sp) /* run_spawner_feed hands spawns over this early */
        r->s.take_ahead_ns = RUN_SPAWN_AHEAD_NS;
    r->storm_begun = 1;
    return 0;
}

/* start: snapshot | template: the template is prepared first (snapshot.c), in a thread; the storm
 * begins once it is saved (snap_tick). Clones are ready on the profile's restore_ready
 * line: their boot's markers and ready line never show again. */
static int snap_begin(struct run *r, char *err, size_t errlen)
{
    struct profile *p = &r->res.prof;
    const char *lack = strcmp(r->start.backend, "qemu") ? "runs on qemu only"
                       : p->ready_kind != READY_CONSOLE ? "needs a console ready line"
                       : !p->restore_ready.re           ? "needs restore_ready"
                                                        : NULL;
    if (lack) {
        snprintf(err, errlen,
                 "start: %s %s (a console line a restored guest prints, "
                 "docs/SNAPSHOTS.md): profile %s on backend %s",
                 r->start.start, lack, p->name, r->start.backend);
        return -1;
    }
    const struct resolved *res = &r->res;
    struct snap_cfg c = {.prof = p,
                         .vars = {.kernel = res->kernel,
                                  .initrd = res->initrd[0] ? res->initrd : NULL,
                                  .disk = res->disk[0] ? res->disk : NULL,
                                  .accel = res->accel,
                                  .bindir = r->bindir},
                         .run = r->start.run,
                         .timeout_s = (int)r->start.timeout_s,
                         .auto_kvm = res->auto_kvm,
                         .shared = !strcmp(r->start.start, "template"),
                         .state_file = r->start.snapshot_file};
    if (!(r->snap = snap_start(&c, err, errlen)))
        return -1;
    struct profile_marker t = p->ready; /* both stay owned by p (profile_free) */
    p->ready = p->restore_ready;
    p->restore_ready = t;
    p->ready.after = -1;
    log_info("run %s: preparing the template of %s (start: %s)", r->start.run, p->name,
             r->start.start);
    return 0;
}

/* The template is saved: the collector answers with the storm's start once every host
 * is (run_go). */
static void publish_prepared(struct run *r, mono_ns now)
{
    struct ev e;
    ev_init(&e, EV_PREPARED);
    e.prep_ns = r->prep_ns;
    e.state_kib = r->state_kib;
    run_emit(r, &e, -1, now);
    r->prepared_sent = 1;
}

/* While the template is prepared, then until the collector's go: nothing else runs;
 * then the storm at the go's start, or its failure. */
static mono_ns snap_tick(struct run *r, mono_ns now)
{
    const char *why;
    char err[256];
    int64_t go = 0;
    if (!snap_done(r->snap))
        return mono_add(now, SNAP_WAIT_NS);
    int ok = snap_result(r->snap, &r->prep_ns, &r->state_kib, &why) == 0;
    if (ok && !r->prepared_sent)
        publish_prepared(r, now);
    if (ok && !snap_go_at(r->snap, &go))
        return mono_add(now, SNAP_WAIT_NS);
    if (go)
        r->start.at = go;
    if (!ok)
        log_err("run %s: %s", r->start.run, why);
    if (strcmp(snap_accel(r->snap), r->res.accel)) { /* KVM failed the template under auto */
        snprintf(r->res.accel, sizeof r->res.accel, "%s", snap_accel(r->snap));
        if (!accel_memo_tcg(r->memo, r->res.prof.name))
            accel_memo_set_tcg(r->memo, r->res.prof.name, "KVM failed its snapshot template");
    }
    if (begin_storm(r, now, err, sizeof err) < 0) {
        snprintf(r->error, sizeof r->error, "%s", err);
        publish_end(r);
        return mono_add(now, NS_PER_S);
    }
    if (!ok)
        run_abort(r, why);
    return now;
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
    r->slowfd = -1;
    if (resolve_run(start, cfg, &r->res, err, errlen) < 0) {
        free(r);
        return NULL;
    }
    snprintf(r->bindir, sizeof r->bindir, "%s", cfg->bindir);
    r->memo = cfg->memo;
    r->nomap = !strcmp(start->backend, "process");
    if (open_parts(r, cfg, err, errlen) < 0)
        goto fail;
    mono_ns now = clock_mono();
    r->sample_ns = (start->sample_ms > 0 ? start->sample_ms : 100) * NS_PER_MS;
    if (start->start[0] && strcmp(start->start, "cold") ? snap_begin(r, err, errlen) < 0
                                                        : begin_storm(r, now, err, errlen) < 0)
        goto fail;
    int64_t self_rss;
    hostinfo_self(&r->cpu_ms_at_start, &self_rss);
    publish_start(r, cfg, now);
    return r;
fail:
    run_free(r);
    return NULL;
}

/* ---- the clock-driven part ---- */

/* Whether this sample reads PSS: the whole fleet's (with_pss); every sample until one
 * has brought a guest's PSS (the first ones may find no guest yet, or one still in its
 * exec: the spawner thread starts them); then every PSS_PERIOD_NS. */
static int pss_due(struct run *r, int with_pss, mono_ns now)
{
    if (!with_pss && r->pss_got && mono_diff(r->next_pss, now) < 0)
        return 0;
    r->next_pss = mono_add(now, PSS_PERIOD_NS);
    return 1;
}

/* Marks k of the n requests for PSS, evenly spread over them (every one when k is 0
 * or at least n): start.pss_guests, PSS_GUESTS_DEFAULT (common/scenario.h) says why. */
static void mark_pss(struct sample_req *q, int n, int64_t k)
{
    for (int j = 0; j < n; j++)
        q[j].pss = k <= 0 || k >= n || j == 0 || (int64_t)j * k / n != (int64_t)(j - 1) * k / n;
}

/* Asks the sampler for the host's memory and every live guest's RSS and CPU, the PSS
 * of some of them when pss_due, and the guest-RAM block once per guest after it is
 * ready. The numbers come back through run_on_sampler(); a sample still in progress
 * makes this one be skipped, never the loop wait. Returns 0 when asked. */
static int sample(struct run *r, int with_pss)
{
    if (r->reqcap < r->s.alive) {
        struct sample_req *q = realloc(r->req, (size_t)r->s.alive * 2 * sizeof *q);
        if (!q)
            return -1;
        r->req = q;
        r->reqcap = r->s.alive * 2;
    }
    int n = 0;
    for (int i = 0; i < r->s.n && n < r->reqcap; i++) {
        struct guest *g = &r->g[i];
        const struct sched_inst *in = &r->s.in[i];
        if (!in->alive || g->vm.pid <= 0)
            continue;
        int want_ram = in->state == SCHED_READY && g->ram_kib < 0 && !r->nomap;
        r->req[n++] = (struct sample_req){i, g->vm.pid,
                                          want_ram ? (int64_t)r->res.prof.mem_mib * 1024 : 0, 0};
    }
    /* busy stays busy until this thread takes the sample: no PSS is due in a skip */
    if (!sampler_busy(r->sampler) && pss_due(r, with_pss, clock_mono()))
        mark_pss(r->req, n, r->start.pss_guests);
    if (sampler_request(r->sampler, r->req, n) == 0) /* reads host memory, busy or not */
        return 0;
    log_debug("run %s: previous memory sample not done yet, skipping one", r->start.run);
    return -1;
}

/* The sample of the whole fleet is back (published): the scheduler may end the run. */
static void fleet_pss_back(struct run *r, const struct ev *e)
{
    if (r->fleet_pss != FLEET_PSS_ASKED && r->fleet_pss != FLEET_PSS_LATE)
        return;
    log_info("run %s: PSS of the whole fleet: read for %lld of %d guests alive, %lld ms after "
             "it was whole",
             r->start.run, (long long)e->pss_n, r->s.alive,
             (long long)(mono_diff(r->whole_at, clock_mono()) / NS_PER_MS));
    r->fleet_pss = FLEET_PSS_DONE;
    sched_release(&r->s);
}

void run_on_sampler(struct run *r)
{
    const struct sample_res *res;
    struct ev e;
    mono_ns asked;
    ev_init(&e, EV_MEM);
    int n = sampler_take(r->sampler, &res, &e.mem_used_kib, &asked);
    if (n < 0 || r->ended)
        return;
    for (int i = 0; i < n; i++) {
        if (res[i].idx >= r->s.n || res[i].rss_kib < 0)
            continue;
        struct guest *g = &r->g[res[i].idx];
        if (g->vm.pid != res[i].pid)
            continue;
        e.rss_kib += res[i].rss_kib;
        e.guest_cpu_ms += res[i].cpu_ms;
        if (res[i].pss_kib > 0) {
            e.pss_kib += res[i].pss_kib;
            e.pss_n++; /* not r->s.alive: some may not be sampled yet, or gone */
            r->pss_got = 1;
        }
        g->cpu_ms = res[i].cpu_ms;
        if (res[i].rss_kib > g->rss_max_kib)
            g->rss_max_kib = res[i].rss_kib;
        if (res[i].ram_kib >= 0)
            g->ram_kib = res[i].ram_kib;
    }
    e.running = r->s.alive;
    if (e.mem_used_kib >= 0)
        run_emit(r, &e, -1, asked);
    fleet_pss_back(r, &e);
}

/* The last sample, when every guest is gone: the host alone, read right here. */
static void sample_host(struct run *r, mono_ns now)
{
    struct ev e;
    ev_init(&e, EV_MEM);
    int64_t total;
    if (hostinfo_mem(&total, &e.mem_used_kib) == 0)
        run_emit(r, &e, -1, now);
}

/* Fails the booting guests past the run's timeout; returns when to look again: the
 * next guest's deadline, TIMEOUT_CHECK_NS from now at the latest. */
static mono_ns check_timeouts(struct run *r, mono_ns now)
{
    int64_t limit = r->start.timeout_s * NS_PER_S;
    mono_ns next = mono_add(now, TIMEOUT_CHECK_NS);
    for (int i = 0; i < r->s.next_spawn; i++) {
        struct guest *g = &r->g[i];
        if (r->s.in[i].state != SCHED_BOOTING || guest_kvm_failed(r, i, 0, now))
            continue;
        mono_ns deadline = mono_add(g->spawn_at, limit);
        if (mono_diff(now, deadline) > 0) {
            mono_earlier(&next, deadline);
            continue;
        }
        char detail[96];
        snprintf(detail, sizeof detail, "not ready after %lld s", (long long)r->start.timeout_s);
        guest_fail(r, i, "timeout", detail, now);
        r->vmm->kill(&g->vm);
    }
    return next;
}

static void http_done(void *ctx, int idx, long status)
{
    struct run *r = ctx;
    if (idx < 0 || idx >= r->s.n)
        return;
    if (profile_http_ok(&r->res.prof, status))
        guest_ready(r, idx, clock_mono());
    else
        r->g[idx].next_probe = mono_add(clock_mono(), HTTP_PROBE_RETRY_MS * NS_PER_MS);
}

static void probe_http(struct run *r, mono_ns now)
{
    for (int i = 0; i < r->s.next_spawn; i++) {
        struct guest *g = &r->g[i];
        const struct sched_inst *in = &r->s.in[i];
        if (in->state == SCHED_BOOTING && in->alive && g->port &&
            mono_diff(g->next_probe, now) >= 0) {
            g->next_probe = mono_add(now, HTTP_PROBE_TIMEOUT_MS * NS_PER_MS); /* until it answers */
            http_probe_start(r->http, i, g->port, r->res.prof.http_path, HTTP_PROBE_TIMEOUT_MS);
        }
    }
    http_prober_poll(r->http, http_done, r);
}

static void publish_end(struct run *r)
{
    struct ev e;
    ev_init(&e, EV_RUN_END);
    e.ready = r->s.nready;
    e.failed = r->s.nfailed - r->nstopped;
    int64_t cpu;
    hostinfo_self(&cpu, &e.rss_kib);
    e.cpu_ms = cpu - r->cpu_ms_at_start;
    e.prep_ns = r->prep_ns;
    e.state_kib = r->state_kib;
    run_emit(r, &e, -1, clock_mono());
    r->ended = 1;
    struct rusage loop;
    getrusage(RUSAGE_THREAD, &loop); /* run_tick runs in the loop's thread */
    log_info("run %s ended: %d ready, %d failed of %d (%d retried under TCG after KVM failed "
             "them; %d stopped by the ramp before ready); launcher cpu %lld ms (%.2f ms/guest; "
             "since start, loop thread %lld ms, spawner thread %lld ms, sampler thread %lld ms), "
             "rss %lld KiB%s%s",
             r->start.run, r->s.nready, r->s.nfailed - r->nstopped, r->s.n, r->nretried,
             r->nstopped, (long long)e.cpu_ms, r->s.n ? (double)e.cpu_ms / r->s.n : 0.0,
             (long long)(loop.ru_utime.tv_sec + loop.ru_stime.tv_sec) * 1000 +
                 (loop.ru_utime.tv_usec + loop.ru_stime.tv_usec) / 1000,
             (long long)(r->sp ? spawner_cpu_ms(r->sp) : 0),
             (long long)(r->sampler ? sampler_cpu_ms(r->sampler) : 0), (long long)e.rss_kib,
             r->error[0] ? ": " : "", r->error);
}

/* Hands what is due soon to the spawner thread; an asynchronous backend's calls are
 * made here, a few per turn, so console reads interleave with a burst. */
static mono_ns spawn_due(struct run *r, mono_ns now)
{
    if (r->sp) {
        run_spawner_feed(r, now);
        return now;
    }
    int idx;
    for (int k = 0; k < SPAWNS_PER_TURN && (idx = sched_take_due(&r->s, now)) >= 0; k++) {
        guest_spawn(r, idx);
        now = clock_mono();
    }
    return now;
}

/* The first spawn is not back from the spawner thread yet: the first sample waits for
 * it (sample_tick), so that it (and its PSS) sees the guests started at t0. */
static int first_spawn_out(const struct run *r)
{
    return r->sp && !r->spawn_back && spawner_pending(r->sp);
}

/* The next thing due: a spawn, a sample, a timeout check, a probe, a phase end. Not a
 * sample that waits for the first spawn: its return (the spawner's eventfd) wakes us. */
static mono_ns next_wake(const struct run *r, mono_ns now)
{
    if (r->s.ending)
        return mono_add(now, ENDING_POLL_NS);
    mono_ns next = {first_spawn_out(r) ? INT64_MAX : r->next_sample.ns};
    mono_earlier(&next, sched_next_due(&r->s)); /* spawns: take_ahead_ns early (begin_storm) */
    mono_earlier(&next, r->next_timeout_check);
    if (r->http && r->s.booting)
        mono_earlier(&next, mono_add(now, HTTP_POLL_NS));
    return next;
}

/* The whole fleet's PSS (the report's PSS per guest, agg_mem.c), asked as soon as the
 * sampler is free once the fleet is whole (on_whole); the scheduler keeps the fleet
 * until it is back (fleet_pss_back) or SAMPLE_WAIT_NS have passed. */
static void fleet_pss_tick(struct run *r, mono_ns now)
{
    if (r->fleet_pss == FLEET_PSS_WANTED && !r->s.ending && sample(r, 1) == 0)
        r->fleet_pss = FLEET_PSS_ASKED;
    if ((r->fleet_pss != FLEET_PSS_WANTED && r->fleet_pss != FLEET_PSS_ASKED) || r->aborted ||
        sched_kept(&r->s, now))
        return;
    log_warn("run %s: no PSS sample of the whole fleet %lld s after it was whole (%s): "
             "going on without it",
             r->start.run, (long long)(SAMPLE_WAIT_NS / NS_PER_S),
             r->fleet_pss == FLEET_PSS_ASKED ? "the sampler has not finished it"
                                             : "the sampler never took it");
    r->fleet_pss = FLEET_PSS_LATE;
}

/* Every sample_ms; the first once the first spawn is back (first_spawn_out). */
static void sample_tick(struct run *r, mono_ns now)
{
    if (first_spawn_out(r) || mono_diff(r->next_sample, now) < 0 || mono_diff(r->s.t0, now) < 0)
        return;
    sample(r, 0);
    r->next_sample = mono_add(r->next_sample, r->sample_ns);
    if (mono_diff(r->next_sample, now) > 0) /* fell behind: no burst of samples */
        r->next_sample = mono_add(now, r->sample_ns);
}

/* Every guest is gone: the run ends once the sample in flight is back and published
 * (run_on_sampler; the loop wakes on the sampler's fd), waited for SAMPLE_WAIT_NS at
 * most. An abort, or a fleet sample already waited for that long, waits for nothing.
 * Returns 1 when the run may end now. */
static int end_sampled(struct run *r, mono_ns now)
{
    if (r->aborted || r->fleet_pss == FLEET_PSS_LATE || !sampler_busy(r->sampler))
        return 1;
    if (!r->end_wait.ns)
        r->end_wait = mono_add(now, SAMPLE_WAIT_NS);
    if (mono_diff(now, r->end_wait) > 0)
        return 0;
    log_warn("run %s: the memory sample in flight is not back %lld s after the last guest "
             "was gone: ending without it",
             r->start.run, (long long)(SAMPLE_WAIT_NS / NS_PER_S));
    return 1;
}

mono_ns run_tick(struct run *r)
{
    mono_ns now = clock_mono();
    if (r->ended)
        return mono_add(now, NS_PER_S);
    if (!r->storm_begun)
        return snap_tick(r, now);
    sched_tick(&r->s, now);
    if (!r->s.ending) {
        now = spawn_due(r, now);
        if (mono_diff(r->next_timeout_check, now) >= 0)
            r->next_timeout_check = check_timeouts(r, now);
        if (r->http)
            probe_http(r, now);
    }
    fleet_pss_tick(r, now);
    if (sched_finished(&r->s) && !(r->sp && spawner_pending(r->sp))) {
        if (!end_sampled(r, now))
            return mono_add(now, ENDING_POLL_NS);
        sample_host(r, now);
        publish_end(r);
        return mono_add(now, NS_PER_S);
    }
    sample_tick(r, now);
    mono_ns next = next_wake(r, now);
    mono_earlier(&next, guest_slow_tick(r, now));
    return next;
}

void run_abort(struct run *r, const char *why)
{
    if (r->ended)
        return;
    r->aborted = 1; /* the end waits for no sample (end_sampled), the scheduler keeps nothing */
    if (!r->error[0])
        snprintf(r->error, sizeof r->error, "%s", why);
    if (!r->storm_begun) { /* the template is being prepared: stop that, abort every guest */
        char err[256];
        snap_free(r->snap);
        r->snap = NULL;
        if (begin_storm(r, clock_mono(), err, sizeof err) < 0) {
            publish_end(r);
            return;
        }
    }
    sched_abort(&r->s); /* never spawned or booting: failed with r->error, the rest stopped */
    if (r->sp)
        spawner_cancel(r->sp); /* not started yet: they come back cancelled (failed above) */
}

void run_go(struct run *r, int64_t at_tr)
{
    if (!r->storm_begun)
        snap_go(r->snap, at_tr);
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
    run_spawner_stop(r); /* first: a guest's parent thread outlives the guest */
    for (int i = 0; r->g && i < r->s.n; i++)
        guest_close_fds(r, &r->g[i]);
    guest_slow_close(r);
    stamped_reader_free(r->stamped);
    if (r->vmm && r->vmm->event_fd && r->vmm_opened)
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, r->vmm->event_fd(), NULL);
    if (r->vmm && r->vmm->close && r->vmm_opened)
        r->vmm->close();
    if (r->sampler) {
        epoll_ctl(r->epfd, EPOLL_CTL_DEL, sampler_fd(r->sampler), NULL);
        sampler_free(r->sampler);
    }
    snap_free(r->snap); /* every clone is gone: the state file can go */
    free(r->req);
    free(r->g);
    sched_free(&r->s);
    pidmap_free(&r->pids);
    http_prober_free(r->http);
    console_matcher_free(&r->cm);
    resolve_free(&r->res);
    free(r);
}
