/* The qemu backend: the profile's qemu argv rendered and started by spawn_process()
 * (console on -serial stdio, on a kernel-stamped socket; QEMU's stderr and the debug
 * port on pipes); the process backend, which runs the profile's process argv: any
 * command as a "guest", and its process.stop / process.clean commands (containers
 * outlive their runtime's process); and the table of every backend built in. Not for
 * what a container is: the profiles. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "procspawn.h"
#include "vmm.h"

#define CLEANED_MAX 32

/* A process guest with a process.stop: what to run once it is stopped. Owned by
 * g->priv from spawn to kill. */
struct stop_cmd {
    char *argv[PROFILE_MAX_ARGS + 1];
    char buf[4096];
};

/* Renders the profile's qemu.argv (or process.argv) and starts it. */
/* {id}: name ("bs-RUN-7") with its instance number six digits wide ("bs-RUN-000007"),
 * so no id is a prefix of another in a run (runsc looks ids up by prefix). */
static void fixed_width_id(const char *name, char *out, size_t len)
{
    const char *dash = strrchr(name, '-');
    char *end;
    long n = dash ? strtol(dash + 1, &end, 10) : -1;
    if (!dash || dash[1] < '0' || dash[1] > '9' || *end || n < 0)
        snprintf(out, len, "%s", name);
    else
        snprintf(out, len, "%.*s-%06ld", (int)(dash - name), name, n);
}

/* Renders process.stop for a guest just started as pid; NULL when the profile has none
 * or it does not fit (said in the log: the container would be left behind). */
static struct stop_cmd *render_stop(const struct vmm_spawn_args *a, const struct profile_vars *v,
                                    pid_t pid)
{
    if (!a->prof->proc_stop_argc)
        return NULL;
    struct stop_cmd *c = malloc(sizeof *c);
    struct profile_vars sv = *v;
    sv.pid = (int)pid;
    if (c && profile_render_stop(a->prof, &sv, c->argv, c->buf, sizeof c->buf) > 0)
        return c;
    log_warn("process.stop of profile %s for %s: %s", a->prof->name, v->name,
             c ? "does not fit" : "out of memory");
    free(c);
    return NULL;
}

static int render_and_start(const struct vmm_spawn_args *a, int process, struct vmm_guest *g,
                            char *err, size_t errlen)
{
    const char *key = process ? "process.argv" : "qemu.argv";
    char *argv[PROFILE_MAX_ARGS + 1], buf[8192], id[BS_ID_MAX + 16];
    struct profile_vars vars = a->vars;
    fixed_width_id(vars.name ? vars.name : a->prof->name, id, sizeof id);
    vars.id = id;
    if (a->with_debug)
        vars.debugcon = SPAWN_DEBUG_PATH;
    if (process ? !a->prof->proc_argc : !a->prof->argc) {
        snprintf(err, errlen, "profile %s has no %s", a->prof->name, key);
        return -1;
    }
    int n = process ? profile_render_process(a->prof, &vars, argv, buf, sizeof buf)
                    : profile_render_argv(a->prof, &vars, argv, buf, sizeof buf);
    if (n < 0 || n + a->nextra > PROFILE_MAX_ARGS) {
        snprintf(err, errlen, "%s of profile %s does not fit in %zu bytes", key, a->prof->name,
                 sizeof buf);
        return -1;
    }
    for (int i = 0; i < a->nextra; i++)
        argv[n++] = (char *)a->extra[i];
    argv[n] = NULL;
    struct spawned sp;
    /* QEMU's console stamped by the kernel at each write; a process guest's on a pipe
     * (one write of any size, as programs expect of stdout) */
    int flags = (a->with_debug ? SPAWN_WITH_DEBUG : 0) | (process ? 0 : SPAWN_STAMPED);
    if (spawn_process(argv, flags, &sp, err, errlen) < 0)
        return -1;
    g->pid = sp.pid;
    g->console_fd = sp.console_fd;
    g->console_stamped = sp.console_stamped;
    g->stderr_fd = sp.stderr_fd;
    g->debug_fd = sp.debug_fd;
    g->priv = process ? render_stop(a, &vars, sp.pid) : NULL;
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

/* Starts argv without waiting (the launcher's SIGCHLD handling reaps it): not a guest,
 * so it outlives us and finishes removing a container if we die meanwhile. */
static void start_helper(char *const argv[], const char *what)
{
    struct spawn_opts o = {.out = SPAWN_OUT_INHERIT, .own_pgrp = 1};
    struct spawned sp;
    char err[256];
    if (spawn_start(argv, &o, &sp, err, sizeof err) < 0)
        log_warn("%s: %s", what, err);
}

/* SIGKILL; then process.stop, which waits for the process to be gone ({pid}) and removes
 * the container its runtime leaves running. */
static void exec_kill(struct vmm_guest *g)
{
    if (g->pid > 0)
        kill(g->pid, SIGKILL);
    struct stop_cmd *c = g->priv;
    if (c) {
        start_helper(c->argv, "process.stop");
        free(c);
        g->priv = NULL;
    }
}

/* Runs the profile's process.clean (stale containers of an earlier launcher) and waits,
 * once per launcher and rendered command: later runs would remove our own live ones. */
static void process_prepare(const struct profile *prof, const char *bindir)
{
    static char done[CLEANED_MAX][512];
    static int ndone;
    char *argv[PROFILE_MAX_ARGS + 1], buf[4096], key[512] = "";
    struct profile_vars v = {.bindir = bindir};
    if (!prof->proc_clean_argc || profile_render_clean(prof, &v, argv, buf, sizeof buf) <= 0)
        return;
    for (int i = 0, used = 0; argv[i] && used < (int)sizeof key; i++)
        used += snprintf(key + used, sizeof key - (size_t)used, "%s ", argv[i]);
    for (int i = 0; i < ndone; i++)
        if (!strcmp(done[i], key))
            return;
    if (ndone < CLEANED_MAX)
        snprintf(done[ndone++], sizeof done[0], "%s", key);
    struct spawn_opts o = {.out = SPAWN_OUT_INHERIT};
    struct spawned sp;
    char err[256];
    if (spawn_start(argv, &o, &sp, err, sizeof err) < 0) {
        log_warn("process.clean of profile %s: %s", prof->name, err);
        return;
    }
    int rc = spawn_wait(sp.pid);
    if (rc != 0)
        log_warn("process.clean of profile %s exited %d: stale containers may remain", prof->name,
                 rc);
}

const struct vmm_ops vmm_qemu_ops = {.name = "qemu", .spawn = qemu_spawn, .kill = exec_kill};
const struct vmm_ops vmm_process_ops = {
    .name = "process", .spawn = process_spawn, .kill = exec_kill, .prepare = process_prepare};

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
