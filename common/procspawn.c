/* vfork + exec: as cheap as posix_spawn (no page-table copy) and lets the child set
 * PR_SET_PDEATHSIG, which posix_spawn cannot. The child only makes syscalls before
 * exec, and reports an exec failure through exec_errno in the shared memory. */
#include "procspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int devnull = -1;

/* The vfork itself, alone in its function so no caller variable lives across it.
 * Returns the child's pid (or -1); *exec_errno is set when exec failed. */
__attribute__((noinline)) static pid_t start_child(char *const argv[], int out_fd, int err_fd,
                                                   int dbg_fd, volatile int *exec_errno)
{
    pid_t parent = getpid();
    pid_t pid = vfork();
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL); /* the launcher blocks signals for signalfd */
        signal(SIGPIPE, SIG_DFL);
        setpgid(0, 0); /* a terminal's ^C reaches the launcher, which stops guests itself */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) /* the launcher died before prctl took effect */
            _exit(127);
        setpriority(PRIO_PROCESS, 0, 0); /* the launcher's raised priority is its own */
        if (dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 ||
            (dbg_fd >= 0 && dup2(dbg_fd, SPAWN_DEBUG_FD) < 0)) {
            *exec_errno = errno;
            _exit(127);
        }
        execvp(argv[0], argv);
        *exec_errno = errno;
        _exit(127);
    }
    return pid;
}

int spawn_process(char *const argv[], int with_debug, struct spawned *g, char *err, size_t errlen)
{
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, dbg[2] = {-1, -1};
    volatile int exec_errno = 0;
    int rc = -1;

    if (devnull < 0 && (devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) < 0) {
        snprintf(err, errlen, "/dev/null: %s", strerror(errno));
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        (with_debug && pipe2(dbg, O_CLOEXEC) < 0)) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    pid_t pid = start_child(argv, out[1], errp[1], with_debug ? dbg[1] : -1, &exec_errno);
    if (pid < 0) {
        snprintf(err, errlen, "vfork: %s", strerror(errno));
        goto fail;
    }
    if (exec_errno) { /* vfork returned: the child has exec'd or exited */
        waitpid(pid, NULL, 0);
        snprintf(err, errlen, "exec %s: %s", argv[0], strerror(exec_errno));
        goto fail;
    }
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    g->pid = pid;
    g->console_fd = out[0];
    g->stderr_fd = errp[0];
    g->debug_fd = -1;
    out[0] = errp[0] = -1;
    if (with_debug) {
        fcntl(dbg[0], F_SETFL, O_NONBLOCK);
        g->debug_fd = dbg[0];
        dbg[0] = -1;
    }
    rc = 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (dbg[i] >= 0)
            close(dbg[i]);
    }
    return rc;
}
