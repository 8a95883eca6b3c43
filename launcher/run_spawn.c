/* A run's spawns off the loop's thread (synchronous backends: qemu, process). The loop
 * takes from the scheduler what is due within RUN_SPAWN_AHEAD_NS, builds each spawn's
 * arguments and hands it to the spawner thread (spawner.c), which sleeps until the
 * instance's due time and makes the call there: the loop's own lateness (console reads,
 * a slow turn) and the vfork's wait for the child's exec no longer move when the next
 * call starts. The loop takes the results back (RUN_TAG_VMM: the eventfd) and publishes
 * spawn (lag = call start - due) and spawned. Not for the call itself (vmm_exec.c).
 *
 * The spawner thread runs at SCHED_FIFO (RUN_SPAWNER_RT_PRIO) when permitted: at nice
 * -10 it still woke up to 70 ms late under the storm here (docs/SCALING.md). Its vfork
 * child inherits SCHED_FIFO until it has exec'd (so the call is not stuck behind the
 * guests), then procspawn.c sets the guest to SCHED_OTHER nice 0 at once.
 *
 * Guests are children of the spawner thread: PR_SET_PDEATHSIG fires when that *thread*
 * ends, so it lives until the run is freed, when every guest is reaped. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "log.h"
#include "run_int.h"

#define RUN_SPAWNER_RT_PRIO 10
#define RUN_FDS_BASE 128 /* ours before any guest: sockets, epoll, eventfds, files */
#define RUN_FDS_PER_GUEST                                                                          \
    5 /* console, stderr and debug pipes, a QMP or HTTP socket, and                                \
       * the sampler's /proc/PID/stat (hostinfo.h) */

struct spawn_job {
    struct spawner_job base; /* first: the spawner hands this back */
    int idx;
    struct spawn_buf b;
    struct vmm_guest vm;
    const struct vmm_ops *vmm;
    mono_ns call_start, call_end;
    int rc;
    int wake;    /* the loop is woken for it even when its fds are watched (publish_spawn) */
    int watched; /* publish_spawn watched its fds: the loop does not add them again */
    char err[256];
};

/* In the spawner thread, at the job's due time: the call, timed. */
static void call_spawn(struct spawner_job *base, void *ctx)
{
    (void)ctx;
    struct spawn_job *j = (struct spawn_job *)base;
    j->call_start = clock_mono();
    j->rc = j->vmm->spawn(&j->b.a, &j->vm, j->err, sizeof j->err);
    j->call_end = clock_mono();
}

/* In the spawner thread, under its lock, as the job joins the done list (spawner.h): a
 * spawned guest's fds go into the loop's epoll set here (guest_watch), so its
 * first console bytes wake the loop (and are stamped) even before the loop has taken
 * the job back; it takes it back first (run_on_fd), and the lock makes sure the job is
 * there by then. The loop is then not woken for the job itself: one context switch
 * less per guest. Returns 1 (wake the loop) when nothing of the guest is watched, or
 * for the run's first job (j->wake). */
static int publish_spawn(struct spawner_job *base, void *ctx)
{
    struct run *r = ctx;
    struct spawn_job *j = (struct spawn_job *)base;
    if (j->rc < 0 || j->wake)
        return 1;
    j->watched = guest_watch(r, j->idx, &j->vm) > 0;
    return !j->watched; /* on an error the loop watches again */
}

/* The most guests the schedule may have at once: the burst or interval count, or the
 * ramp's highest point, and those a mass restart starts before the old ones are gone. */
static long most_guests(const struct sched_cfg *c)
{
    long n = c->count;
    for (int i = 0; i < c->nramp; i++)
        if (c->ramp[i].count > n)
            n = c->ramp[i].count;
    return n + n * c->restart_permille / 1000;
}

/* Our fd table grown once, before the storm, to what the run's guests will hold. Grown
 * during the storm, while the process's threads share it, the kernel waits for an RCU
 * grace period (expand_fdtable): measured with ftrace, the pipe that crossed 512 and
 * then 1024 fds made its guest's spawn call take 10.6 ms, and the next launch was that
 * late (docs/SCALING.md, "Launch lag"). F_DUPFD takes the lowest free fd from `want`
 * up, so no fd in use is touched; open_fd is any fd of ours. */
static void reserve_fds(long guests, int open_fd)
{
    struct rlimit rl;
    long want = RUN_FDS_BASE + guests * RUN_FDS_PER_GUEST;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return;
    if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)want >= rl.rlim_cur)
        want = (long)rl.rlim_cur - 1;
    int fd = fcntl(open_fd, F_DUPFD_CLOEXEC, (int)want);
    if (fd >= 0)
        close(fd);
}

int run_spawner_start(struct run *r, char *err, size_t errlen)
{
    reserve_fds(most_guests(&r->res.sched), r->epfd);
    if (r->vmm->event_fd) /* asynchronous: the backend's own workers make the calls */
        return 0;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = RUN_TAG_VMM};
    if (!(r->sp = spawner_new(call_spawn, r, RUN_SPAWNER_RT_PRIO)) ||
        epoll_ctl(r->epfd, EPOLL_CTL_ADD, spawner_fd(r->sp), &ev) < 0) {
        snprintf(err, errlen, "cannot start the spawner thread: %s", strerror(errno));
        return -1;
    }
    spawner_set_publish(r->sp, publish_spawn);
    if (!spawner_rt(r->sp))
        log_warn("run %s: the spawner thread cannot run at SCHED_FIFO (not permitted): "
                 "launches may lag under load",
                 r->start.run);
    return 0;
}

/* What is due within RUN_SPAWN_AHEAD_NS + RUN_FEED_BATCH_NS goes to the spawner thread
 * at once, so the loop wakes to feed it about once per RUN_FEED_BATCH_NS and not once
 * per instance (run.c wakes it when the next one is RUN_SPAWN_AHEAD_NS from due): at
 * one launch every 5 ms that was 200 timer wake-ups a second, each a context switch of
 * 30-40 us here (docs/SCALING.md, "Launcher CPU"). The call still starts at the
 * instance's due time. */
#define RUN_FEED_BATCH_NS NS_PER_S

void run_spawner_feed(struct run *r, mono_ns now)
{
    int idx;
    char err[256];
    mono_ns horizon = mono_add(now, RUN_SPAWN_AHEAD_NS + RUN_FEED_BATCH_NS);
    while ((idx = sched_take_due(&r->s, horizon)) >= 0) {
        struct guest *g = &r->g[idx];
        snprintf(g->accel, sizeof g->accel, "%s", r->res.accel);
        g->spawn_at = r->s.in[idx].due; /* until the call starts (timeouts count from it) */
        struct spawn_job *j = calloc(1, sizeof *j);
        if (!j)
            snprintf(err, sizeof err, "out of memory");
        if (!j || guest_spawn_args(r, idx, &j->b, err, sizeof err) < 0) {
            mono_ns t = clock_mono();
            guest_spawn_done(r, idx, -1, err, t, t, 0);
            free(j);
            continue;
        }
        j->idx = idx;
        j->vmm = r->vmm;
        /* the run's first: run_tick's first sample waits for a spawn back, and keeps
         * the loop turning until then (run.c) */
        j->wake = !r->spawn_back && !spawner_pending(r->sp);
        spawner_push(r->sp, &j->base, r->s.in[idx].due);
    }
}

/* pid was reaped before its spawn came back: remembered for job_done. */
static int take_early_exit(struct run *r, pid_t pid, int *status)
{
    for (int i = 0; i < r->nearly; i++)
        if (r->early[i].pid == pid) {
            *status = r->early[i].status;
            r->early[i] = r->early[--r->nearly];
            return 1;
        }
    return 0;
}

static void job_done(struct run *r, struct spawn_job *j)
{
    const struct sched_inst *in = &r->s.in[j->idx];
    r->spawn_back = 1;
    if (j->base.cancelled) { /* the run was aborted before its due time */
        guest_fail(r, j->idx, "aborted", r->error, clock_mono());
        return;
    }
    if (j->rc == 0)
        r->g[j->idx].vm = j->vm;
    guest_spawn_done(r, j->idx, j->rc, j->err, j->call_start, j->call_end, j->watched);
    if (j->rc < 0)
        return;
    int status;
    if (take_early_exit(r, j->vm.pid, &status))
        guest_reaped(r, j->vm.pid, status);
    else if (in->retired || r->s.ending) /* stopped or aborted while in the spawner */
        r->vmm->kill(&r->g[j->idx].vm);
}

void run_spawner_drain(struct run *r)
{
    struct spawner_job *base;
    while ((base = spawner_take(r->sp))) {
        job_done(r, (struct spawn_job *)base);
        free(base);
    }
}

int run_on_child(struct run *r, pid_t pid, int status)
{
    if (guest_reaped(r, pid, status))
        return 1;
    if (!r->sp || !spawner_pending(r->sp))
        return 0;
    run_spawner_drain(r); /* its spawn may be back already */
    if (guest_reaped(r, pid, status))
        return 1;
    if (!spawner_pending(r->sp) || r->nearly == RUN_EARLY_EXITS)
        return 0;
    r->early[r->nearly].pid = pid; /* or a helper's (process.stop): never claimed, harmless */
    r->early[r->nearly++].status = status;
    return 1;
}

/* A job the run never took back (run_free in the middle of a spawn): its guest, if
 * any, is killed (reaped as an unknown child) and its fds closed. */
static void drop_job(struct spawner_job *base)
{
    struct spawn_job *j = (struct spawn_job *)base;
    if (!base->cancelled && j->rc == 0) {
        j->vmm->kill(&j->vm);
        int fds[] = {j->vm.console_fd, j->vm.stderr_fd, j->vm.debug_fd};
        for (int i = 0; i < 3; i++)
            if (fds[i] >= 0)
                close(fds[i]);
    }
    free(j);
}

void run_spawner_stop(struct run *r)
{
    if (!r->sp)
        return;
    epoll_ctl(r->epfd, EPOLL_CTL_DEL, spawner_fd(r->sp), NULL);
    spawner_free(r->sp, drop_job);
    r->sp = NULL;
}
