/* The KVM probe: one real boot, argv built here (not from a profile) so that a
 * broken profile cannot make KVM look broken. */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"

extern char **environ;

int accel_probe_kvm(const char *kernel, int timeout_ms, char *why, size_t whylen)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "/dev/kvm: %s", strerror(errno));
        return 0;
    }
    close(fd);
    char *argv[] = {"qemu-system-x86_64",
                    "-M",
                    "microvm",
                    "-accel",
                    "kvm",
                    "-m",
                    "2",
                    "-nodefaults",
                    "-no-user-config",
                    "-display",
                    "none",
                    "-serial",
                    "stdio",
                    "-kernel",
                    (char *)kernel,
                    "-append",
                    "exit",
                    "-device",
                    "isa-debug-exit,iobase=0xf4,iosize=4",
                    NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "pipe: %s", strerror(errno));
        return 0;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    close(p[1]);
    if (e != 0) {
        close(p[0]);
        snprintf(why, whylen, "spawn %s: %s", argv[0], strerror(e));
        return 0;
    }
    char out[2048];
    size_t len = 0;
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    int ok = 0;
    for (;;) {
        int left = (int)(mono_diff(clock_mono(), end) / NS_PER_MS);
        if (left <= 0)
            break;
        struct pollfd pfd = {p[0], POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t n = read(p[0], out + len, sizeof out - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
        out[len] = '\0';
        if (strstr(out, "BOOTSTORM READY")) {
            ok = 1;
            break;
        }
        if (len == sizeof out - 1)
            break;
    }
    close(p[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (!ok) {
        out[len] = '\0';
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
        snprintf(why, whylen, "minkernel did not boot under KVM within %d ms%s%.160s", timeout_ms,
                 len ? ": " : "", out);
    }
    return ok;
}
