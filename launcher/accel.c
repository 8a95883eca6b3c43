/* The KVM probe: one real boot, argv built here (not from a profile) so that a
 * broken profile cannot make KVM look broken; started like every guest (procspawn.c). */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "procspawn.h"

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
    struct spawned sp;
    char err[256];
    if (spawn_process(argv, 0, &sp, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err);
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
        struct pollfd pfd = {sp.console_fd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t n = read(sp.console_fd, out + len, sizeof out - 1 - len);
        if (n < 0 && errno == EAGAIN)
            continue;
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
    kill(sp.pid, SIGKILL);
    waitpid(sp.pid, NULL, 0);
    if (!ok) { /* QEMU's own words explain more than the console */
        ssize_t n = read(sp.stderr_fd, out + len, sizeof out - 1 - len);
        if (n > 0)
            len += (size_t)n;
    }
    close(sp.console_fd);
    close(sp.stderr_fd);
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
