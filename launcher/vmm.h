/* Guest backends behind one ops struct (qemu now; libvirt and process later).
 * A backend starts a guest with its console on a pipe the launcher reads, and
 * stops it. Not for timing or events: run.c stamps and publishes those. */
#ifndef BS_VMM_H
#define BS_VMM_H

#include <stddef.h>
#include <sys/types.h>

#include "profile.h"

struct vmm_guest {
    pid_t pid;      /* set by spawn; 0 when none */
    int console_fd; /* read end of the guest's console (non-blocking), or -1 */
    int stderr_fd;  /* read end of the VMM's own stderr (non-blocking), or -1 */
    int debug_fd;   /* read end of the debug port (isa-debugcon) when asked for, or -1 */
};

struct vmm_spawn_args {
    const struct profile *prof;
    struct profile_vars vars; /* kernel, initrd, accel, name, port; debugcon set by the backend */
    int with_debug;           /* give the guest a debug-port pipe ({debugcon}) */
};

struct vmm_ops {
    const char *name;
    /* Starts one guest; on success fills g and returns 0; on failure returns -1 with
     * the reason in err and leaves no process or fd behind. Must be cheap: it is
     * called back to back during a burst. */
    int (*spawn)(const struct vmm_spawn_args *a, struct vmm_guest *g, char *err, size_t errlen);
    /* Stops the guest now; the launcher reaps it through SIGCHLD. */
    void (*kill)(struct vmm_guest *g);
};

extern const struct vmm_ops vmm_qemu_ops;
extern const struct vmm_ops vmm_process_ops;

/* The backend called name, or NULL. */
const struct vmm_ops *vmm_find(const char *name);

#endif
