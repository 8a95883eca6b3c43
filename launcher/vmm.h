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
};

struct vmm_spawn_args {
    const struct profile *prof;
    const char *kernel; /* absolute image path */
    const char *accel;  /* kvm | tcg */
    const char *name;   /* unique guest name */
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

/* The backend called name, or NULL. */
const struct vmm_ops *vmm_find(const char *name);

#endif
