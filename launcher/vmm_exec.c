/* The qemu backend: the profile's qemu argv rendered and started by spawn_process()
 * (console on -serial stdio, QEMU's stderr and the debug port on pipes); and the
 * process backend, which runs the profile's argv as is: any command as a "guest". */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "spawn.h"
#include "vmm.h"

static int exec_spawn(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err,
                      size_t errlen)
{
    char *argv[PROFILE_MAX_ARGS + 1], buf[8192];
    struct profile_vars vars = a->vars;
    if (a->with_debug)
        vars.debugcon = SPAWN_DEBUG_PATH;
    if (profile_render_argv(a->prof, &vars, argv, buf, sizeof buf) < 0) {
        snprintf(err, errlen, "argv of profile %s does not fit in %zu bytes", a->prof->name,
                 sizeof buf);
        return -1;
    }
    return spawn_process(argv, a->with_debug, g, err, errlen);
}

static void exec_kill(struct vmm_guest *g)
{
    if (g->pid > 0)
        kill(g->pid, SIGKILL);
}

const struct vmm_ops vmm_qemu_ops = {.name = "qemu", .spawn = exec_spawn, .kill = exec_kill};
const struct vmm_ops vmm_process_ops = {.name = "process", .spawn = exec_spawn, .kill = exec_kill};

const struct vmm_ops *vmm_find(const char *name)
{
    if (!strcmp(name, vmm_qemu_ops.name))
        return &vmm_qemu_ops;
    if (!strcmp(name, vmm_process_ops.name))
        return &vmm_process_ops;
    return NULL;
}
