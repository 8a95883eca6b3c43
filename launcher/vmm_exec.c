/* The qemu backend: the profile's qemu argv rendered and started by spawn_process()
 * (console on -serial stdio, QEMU's stderr and the debug port on pipes); the process
 * backend, which runs the profile's process argv: any command as a "guest"; and the
 * table of every backend built in. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "procspawn.h"
#include "vmm.h"

/* Renders the profile's qemu.argv (or process.argv) and starts it. */
static int render_and_start(const struct vmm_spawn_args *a, int process, struct vmm_guest *g,
                            char *err, size_t errlen)
{
    const char *key = process ? "process.argv" : "qemu.argv";
    char *argv[PROFILE_MAX_ARGS + 1], buf[8192];
    struct profile_vars vars = a->vars;
    if (a->with_debug)
        vars.debugcon = SPAWN_DEBUG_PATH;
    if (process ? !a->prof->proc_argc : !a->prof->argc) {
        snprintf(err, errlen, "profile %s has no %s", a->prof->name, key);
        return -1;
    }
    int n = process ? profile_render_process(a->prof, &vars, argv, buf, sizeof buf)
                    : profile_render_argv(a->prof, &vars, argv, buf, sizeof buf);
    if (n < 0) {
        snprintf(err, errlen, "%s of profile %s does not fit in %zu bytes", key, a->prof->name,
                 sizeof buf);
        return -1;
    }
    struct spawned sp;
    if (spawn_process(argv, a->with_debug, &sp, err, errlen) < 0)
        return -1;
    g->pid = sp.pid;
    g->console_fd = sp.console_fd;
    g->stderr_fd = sp.stderr_fd;
    g->debug_fd = sp.debug_fd;
    return 0;
}

static int qemu_spawn(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err, size_t errlen)
{
    return render_and_start(a, 0, g, err, errlen);
}

static int process_spawn(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err,
                         size_t errlen)
{
    return render_and_start(a, 1, g, err, errlen);
}

static void exec_kill(struct vmm_guest *g)
{
    if (g->pid > 0)
        kill(g->pid, SIGKILL);
}

const struct vmm_ops vmm_qemu_ops = {.name = "qemu", .spawn = qemu_spawn, .kill = exec_kill};
const struct vmm_ops vmm_process_ops = {
    .name = "process", .spawn = process_spawn, .kill = exec_kill};

static const struct vmm_ops *const backends[] = {
    &vmm_qemu_ops,
    &vmm_process_ops,
#ifdef BS_HAVE_LIBVIRT
    &vmm_libvirt_ops,
#endif
};

const struct vmm_ops *vmm_find(const char *name)
{
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (!strcmp(name, backends[i]->name))
            return backends[i];
    return NULL;
}

const char *vmm_names(void)
{
    static char names[64];
    if (!names[0])
        for (size_t i = 0, used = 0; i < sizeof backends / sizeof *backends; i++)
            used += (size_t)snprintf(names + used, sizeof names - used, "%s%s", i ? "," : "",
                                     backends[i]->name);
    return names;
}
