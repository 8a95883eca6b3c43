/* The qemu backend: posix_spawnp of the profile's qemu argv, console (-serial stdio)
 * and QEMU's stderr on two pipes, its own process group so a terminal's ^C reaches
 * only the launcher, which then stops every guest itself. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "vmm.h"

extern char **environ;

static int qemu_spawn(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err,
                      size_t errlen)
{
    char *argv[PROFILE_MAX_ARGS + 1], buf[8192];
    struct profile_vars vars = {.kernel = a->kernel, .accel = a->accel, .name = a->name};
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, rc = -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int fa_ok = 0, attr_ok = 0;

    err[0] = '\0';

    if (profile_render_argv(a->prof, &vars, argv, buf, sizeof buf) < 0) {
        snprintf(err, errlen, "argv of profile %s does not fit", a->prof->name);
        return -1;
    }
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "pipe: %s", strerror(errno));
        goto fail;
    }
    fcntl(out[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    if (posix_spawn_file_actions_init(&fa) != 0)
        goto fail;
    fa_ok = 1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
    if (posix_spawnattr_init(&attr) != 0)
        goto fail;
    attr_ok = 1;
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none); /* the launcher blocks signals for signalfd */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP |
                                        POSIX_SPAWN_USEVFORK);
    int e = posix_spawnp(&g->pid, argv[0], &fa, &attr, argv, environ);
    if (e != 0) {
        snprintf(err, errlen, "spawn %s: %s", argv[0], strerror(e));
        g->pid = 0;
        goto fail;
    }
    g->console_fd = out[0];
    g->stderr_fd = errp[0];
    out[0] = errp[0] = -1;
    rc = 0;
fail:
    if (rc < 0 && !err[0])
        snprintf(err, errlen, "spawn setup: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    return rc;
}

static void qemu_kill(struct vmm_guest *g)
{
    if (g->pid > 0)
        kill(g->pid, SIGKILL);
}

const struct vmm_ops vmm_qemu_ops = {.name = "qemu", .spawn = qemu_spawn, .kill = qemu_kill};

const struct vmm_ops *vmm_find(const char *name)
{
    if (!strcmp(name, vmm_qemu_ops.name))
        return &vmm_qemu_ops;
    return NULL;
}
