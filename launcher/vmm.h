/* Guest backends behind one ops struct: qemu and process (a child process each,
 * vmm_exec.c) and libvirt (domains created by worker threads, vmm_libvirt.c).
 * A backend starts a guest with its console on an fd the launcher reads, and stops
 * it. Not for timing or events: run_guest.c stamps and publishes those. */
#ifndef BS_VMM_H
#define BS_VMM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "profile.h"

struct vmm_guest {
    pid_t pid;           /* the VMM's pid when known (child or not); 0 when none */
    int console_fd;      /* read end of the guest's console (non-blocking), or -1 */
    int console_stamped; /* console_fd is a kernel-stamped socket (stamped.h) */
    int stderr_fd;       /* read end of the VMM's own stderr (non-blocking), or -1 */
    int debug_fd;        /* read end of the debug port (isa-debugcon) when asked for, or -1 */
    void *priv;          /* the backend's own per-guest state */
};

struct vmm_spawn_args {
    int idx; /* the instance's index in its run: async completions name it */
    const struct profile *prof;
    struct profile_vars vars; /* kernel, initrd, accel, name, port; debugcon set by the backend */
    int with_debug;           /* give the guest a debug-port pipe ({debugcon}) */
    const char *const *extra; /* qemu: items appended to the rendered argv (start: snapshot's
                               * -incoming, snapshot.h), or NULL */
    int nextra;
};

/* A completion of an asynchronous backend, drained by the launcher's loop. */
enum vmm_event_kind { VMM_SPAWNED, VMM_SPAWN_FAILED, VMM_EXITED };
struct vmm_event {
    enum vmm_event_kind kind;
    int idx;
    mono_ns call_start, call_end; /* VMM_SPAWNED/_FAILED: the create call, timed by the worker */
    struct vmm_guest g;           /* VMM_SPAWNED: pid (if known) and fds, now the run's */
    int status;                   /* VMM_EXITED: exit code, or -signal, or 0 if unknown */
    char err[256];                /* VMM_SPAWN_FAILED: why */
};

struct vmm_ops {
    const char *name;
    /* Optional, once per run before any spawn: connects to uri (libvirt). Returns 0 or
     * -1 with the reason in err. */
    int (*open)(const char *uri, char *err, size_t errlen);
    /* Optional, once per run after open and before any spawn: readies the backend for
     * prof (the process backend removes stale containers once per launcher). */
    void (*prepare)(const struct profile *prof, const char *bindir);
    /* Starts one guest. Synchronous backends fill g and return 0, or -1 with the reason
     * in err leaving nothing behind; they must be cheap (called back to back in a
     * burst) and their guests are children reaped through SIGCHLD. Asynchronous ones
     * (event_fd != NULL) queue the work, return 0, and report VMM_SPAWNED or
     * VMM_SPAWN_FAILED, then VMM_EXITED, through next_event(). */
    int (*spawn)(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err, size_t errlen);
    /* Stops the guest now (asynchronous backends report VMM_EXITED when it is gone). */
    void (*kill)(struct vmm_guest *g);
    /* Asynchronous backends: an fd that is readable while events are queued. */
    int (*event_fd)(void);
    /* Dequeues one event into ev; returns 1, or 0 when none is left. */
    int (*next_event)(struct vmm_event *ev);
    /* Optional, at the end of a run: waits for queued work and disconnects. */
    void (*close)(void);
};

extern const struct vmm_ops vmm_qemu_ops;
extern const struct vmm_ops vmm_process_ops;
extern const struct vmm_ops vmm_libvirt_ops; /* present when built with libvirt */

/* The backend called name, or NULL. */
const struct vmm_ops *vmm_find(const char *name);

/* Comma-separated names of the backends built in, for hello. */
const char *vmm_names(void);

#endif
