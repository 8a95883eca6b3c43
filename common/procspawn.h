/* Starting a child process, the one way bootstorm does it: vfork + exec with stdin on
 * /dev/null, output on pipes, a log file or inherited, signal handlers and mask reset.
 * Used for guests (launcher backends, KVM probe, guests check), the CLI's embedded
 * daemons and gnuplot. Not for what the child's output means (console.c, the callers). */
#ifndef BS_PROCSPAWN_H
#define BS_PROCSPAWN_H

#include <stddef.h>

#include <sys/types.h>

/* The fd number the debug port's pipe gets in the child: {debugcon} is /dev/fd/3. */
#define SPAWN_DEBUG_FD 3
#define SPAWN_DEBUG_PATH "/dev/fd/3"

enum spawn_out {
    SPAWN_OUT_PIPES,   /* stdout and stderr each on a new pipe (console_fd, stderr_fd) */
    SPAWN_OUT_LOG,     /* stdout and stderr appended to opts.log (created 0644) */
    SPAWN_OUT_INHERIT, /* the caller's stdout and stderr */
};

struct spawn_opts {
    enum spawn_out out;
    const char *log; /* SPAWN_OUT_LOG: the file */
    const char *dir; /* chdir there before exec, or NULL */
    int with_debug;  /* SPAWN_OUT_PIPES: a third pipe on SPAWN_DEBUG_FD */
    int stamped;     /* SPAWN_OUT_PIPES: stdout on a kernel-stamped socket (stamped.h) */
    int own_pgrp;    /* its own process group: a terminal's ^C reaches only us */
    int guest;       /* PR_SET_PDEATHSIG(SIGKILL) and nice 0: a guest dies with us */
};

struct spawned {
    pid_t pid;
    int console_fd;      /* its stdout (SPAWN_OUT_PIPES), else -1 */
    int console_stamped; /* console_fd is a stamped socket (stamped.h), not a pipe */
    int stderr_fd;
    int debug_fd; /* fd SPAWN_DEBUG_FD's other end when asked for, else -1 */
};

/* Starts argv[0] (looked up in PATH) as o says. In the child every signal with a
 * handler goes back to SIG_DFL, SIGPIPE too, and the mask is emptied (as posix_spawn's
 * SETSIGDEF and SETSIGMASK). Fills s (pipe ends non-blocking, close-on-exec). Returns
 * 0, or -1 with the reason in err (exec failures included) leaving nothing behind. */
int spawn_start(char *const argv[], const struct spawn_opts *o, struct spawned *s, char *err,
                size_t errlen);

/* spawn_process flags. SPAWN_STAMPED: the console on a kernel-stamped socket
 * (stamped.h), for a VMM, which writes small pieces; a program that writes more than
 * STAMPED_SNDBUF at once would fail where a pipe takes it. */
#define SPAWN_WITH_DEBUG 1 /* a debug-port pipe on SPAWN_DEBUG_FD */
#define SPAWN_STAMPED 2

/* A guest: pipes (flags above), own process group, dies with us. */
int spawn_process(char *const argv[], int flags, struct spawned *s, char *err, size_t errlen);

/* Waits for pid (retrying EINTR). Returns its exit status, 128 + signal when killed,
 * or -1 when it cannot be waited for. */
int spawn_wait(pid_t pid);

#endif
