/* vfork + exec: as cheap as posix_spawn (no page-table copy) and lets the child set
 * PR_SET_PDEATHSIG, which posix_spawn cannot. The child only makes syscalls before
 * exec, and reports a failure through exec_errno in the memory it shares with us. */
#include "procspawn.h"

#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stamped.h"

/* The fds the child gets: -1 leaves that one as it is. */
struct child_fds {
    int in, out, err, dbg;
};

/* A real-time caller (the launcher's spawner thread) keeps its vfork child on its own
 * CPU until the exec. Measured (ftrace, docs/SCALING.md "Launch lag"): left free, the
 * new SCHED_FIFO child was queued on the other CPU behind a vCPU thread in the kernel,
 * which this non-preemptible kernel does not interrupt, and vfork kept the caller
 * waiting 10-16 ms while its own CPU ran other work. On the caller's CPU the child runs
 * the moment the caller blocks in vfork; at FIFO 1, below the caller, it is preempted
 * when the exec wakes the caller (on its return to user space, before any guest code),
 * and the caller then gives it the normal policy and the caller's CPU mask back. */
struct rt_pin {
    int rt, on; /* a real-time caller; pinned to its CPU */
    cpu_set_t was;
};

static void rt_pin_begin(struct rt_pin *p)
{
    int policy = sched_getscheduler(0);
    p->on = 0;
    p->rt = policy == SCHED_FIFO || policy == SCHED_RR;
    if (!p->rt)
        return;
    int cpu = sched_getcpu();
    cpu_set_t one;
    CPU_ZERO(&one);
    if (cpu < 0 || cpu >= CPU_SETSIZE || sched_getaffinity(0, sizeof p->was, &p->was) < 0)
        return;
    CPU_SET(cpu, &one);
    p->on = sched_setaffinity(0, sizeof one, &one) == 0;
}

/* After vfork returned (the child has exec'd or is gone): a child of a real-time
 * caller gets the normal policy (it had ours, or FIFO 1 if pinned) and our CPU mask
 * back; so do we. */
static void rt_child_normal(const struct rt_pin *p, pid_t child)
{
    struct sched_param normal = {0};
    if (p->rt && child > 0)
        sched_setscheduler(child, SCHED_OTHER, &normal);
}

static void rt_pin_end(const struct rt_pin *p, pid_t child)
{
    if (!p->on)
        return;
    sched_setaffinity(0, sizeof p->was, &p->was);
    if (child > 0)
        sched_setaffinity(child, sizeof p->was, &p->was);
}

/* In the vfork child: our handlers must not run there (they would act on our memory),
 * so every handled signal goes back to its default, as posix_spawn does. */
static void child_reset_signals(void)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL}, cur;
    for (int sig = 1; sig < NSIG; sig++)
        if (sigaction(sig, NULL, &cur) == 0 && cur.sa_handler != SIG_DFL &&
            (cur.sa_handler != SIG_IGN || sig == SIGPIPE))
            sigaction(sig, &dfl, NULL); /* SIGPIPE: the launcher ignores it, guests not */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL); /* the launcher blocks signals for signalfd */
}

/* In the vfork child, before exec. Returns 0 or -1 with errno. */
static int child_setup(const struct spawn_opts *o, const struct child_fds *f, pid_t parent,
                       int pinned)
{
    child_reset_signals();
    if (pinned) { /* below the caller, still above every guest (struct rt_pin) */
        struct sched_param low = {.sched_priority = 1};
        sched_setscheduler(0, SCHED_FIFO, &low);
    }
    if (o->own_pgrp)
        setpgid(0, 0);
    if (o->guest) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) { /* we died before prctl took effect */
            errno = ESRCH;
            return -1;
        }
        /* nice 0 comes from the parent once we have exec'd (guest_nice_back): lowered
         * here, the rest of this child would queue behind a storm of nice-0 guests
         * while vfork keeps the launcher waiting for it */
    }
    if ((f->in >= 0 && dup2(f->in, 0) < 0) || (f->out >= 0 && dup2(f->out, 1) < 0) ||
        (f->err >= 0 && dup2(f->err, 2) < 0) || (f->dbg >= 0 && dup2(f->dbg, SPAWN_DEBUG_FD) < 0))
        return -1;
    if (o->dir && chdir(o->dir) < 0)
        return -1;
    return 0;
}

/* The vfork itself, alone in its function so no caller variable lives across it.
 * Every signal is blocked around it so none is handled in the child before its
 * handlers are reset. Returns the child's pid (or -1); *exec_errno set on failure. */
__attribute__((noinline)) static pid_t start_child(char *const argv[], const struct spawn_opts *o,
                                                   const struct child_fds *f, int pinned,
                                                   volatile int *exec_errno)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t parent = getpid();
    pid_t pid = vfork();
    if (pid == 0) {
        if (child_setup(o, f, parent, pinned) == 0)
            execvp(argv[0], argv);
        *exec_errno = errno ? errno : EINVAL;
        _exit(127);
    }
    int saved = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return pid;
}

/* A guest's nice value back to 0 (the launcher's raised priority is its own), set as
 * soon as vfork returns, i.e. once the child has exec'd: its whole process group when
 * it has one, so even threads it may have started already. Measured: lowered in the
 * child before exec instead, the spawn call took 24-52 ms at p99 in a 128-256 guest
 * storm (docs/SCALING.md, "Launch lag of interval storms"). */
static void guest_nice_back(pid_t pid, int own_pgrp)
{
    if (setpriority(own_pgrp ? PRIO_PGRP : PRIO_PROCESS, (id_t)pid, 0) < 0)
        setpriority(PRIO_PROCESS, (id_t)pid, 0);
}

static void close_pair(int p[2])
{
    for (int i = 0; i < 2; i++)
        if (p[i] >= 0)
            close(p[i]);
}

/* Opens what the child's fds 0, 1, 2 (and 3) come from. Returns 0 or -1. */
static int open_fds(const struct spawn_opts *o, int in[1], int out[2], int errp[2], int dbg[2],
                    char *err, size_t errlen)
{
    if ((*in = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return -1;
    }
    if (o->out == SPAWN_OUT_LOG &&
        (out[1] = open(o->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "%s: %s", o->log, strerror(errno));
        return -1;
    }
    if (o->out == SPAWN_OUT_PIPES && o->stamped && stamped_pair(out) < 0) {
        snprintf(err, errlen, "console socket: %s", strerror(errno));
        return -1;
    }
    if (o->out == SPAWN_OUT_PIPES &&
        ((!o->stamped && pipe2(out, O_CLOEXEC) < 0) || pipe2(errp, O_CLOEXEC) < 0 ||
         (o->with_debug && pipe2(dbg, O_CLOEXEC) < 0))) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int take_nonblocking(int *fd)
{
    int r = *fd;
    if (r >= 0)
        fcntl(r, F_SETFL, O_NONBLOCK);
    *fd = -1;
    return r;
}

int spawn_start(char *const argv[], const struct spawn_opts *o, struct spawned *s, char *err,
                size_t errlen)
{
    int in = -1, out[2] = {-1, -1}, errp[2] = {-1, -1}, dbg[2] = {-1, -1};
    volatile int exec_errno = 0;
    int rc = -1;

    if (open_fds(o, &in, out, errp, dbg, err, errlen) < 0)
        goto fail;
    struct child_fds f = {in, out[1], o->out == SPAWN_OUT_LOG ? out[1] : errp[1], dbg[1]};
    struct rt_pin pin;
    rt_pin_begin(&pin);
    pid_t pid = start_child(argv, o, &f, pin.on, &exec_errno);
    int vfork_errno = errno;
    rt_child_normal(&pin, pid);
    if (o->guest && pid > 0 && !exec_errno)
        guest_nice_back(pid, o->own_pgrp);
    rt_pin_end(&pin, pid); /* last: until here a pinned child cannot run */
    if (pid < 0) {
        snprintf(err, errlen, "vfork: %s", strerror(vfork_errno));
        goto fail;
    }
    if (exec_errno) { /* vfork returned: the child has exec'd or exited */
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "exec %s: %s", argv[0], strerror(exec_errno));
        goto fail;
    }
    s->pid = pid;
    s->console_stamped = o->out == SPAWN_OUT_PIPES && o->stamped;
    s->console_fd = take_nonblocking(&out[0]);
    s->stderr_fd = take_nonblocking(&errp[0]);
    s->debug_fd = take_nonblocking(&dbg[0]);
    rc = 0;
fail:
    if (in >= 0)
        close(in);
    close_pair(out);
    close_pair(errp);
    close_pair(dbg);
    return rc;
}

int spawn_process(char *const argv[], int flags, struct spawned *s, char *err, size_t errlen)
{
    struct spawn_opts o = {.out = SPAWN_OUT_PIPES,
                           .with_debug = (flags & SPAWN_WITH_DEBUG) != 0,
                           .stamped = (flags & SPAWN_STAMPED) != 0,
                           .own_pgrp = 1,
                           .guest = 1};
    return spawn_start(argv, &o, s, err, errlen);
}

int spawn_wait(pid_t pid)
{
    int st;
    pid_t r;
    while ((r = waitpid(pid, &st, 0)) < 0 && errno == EINTR)
        ;
    if (r != pid)
        return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
