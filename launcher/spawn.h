/* Starting a guest process: vfork + exec with the console, the VMM's stderr and
 * optionally the debug port on pipes, a reset signal mask and nice value, its own
 * process group, and PR_SET_PDEATHSIG so it dies with the launcher even on SIGKILL.
 * Used by the backends that run a local process (qemu, process). */
#ifndef BS_SPAWN_H
#define BS_SPAWN_H

#include <stddef.h>

#include "vmm.h"

/* The fd number the debug port's pipe gets in the child: {debugcon} is /dev/fd/3. */
#define SPAWN_DEBUG_FD 3
#define SPAWN_DEBUG_PATH "/dev/fd/3"

/* Starts argv[0] (looked up in PATH). Fills g->pid, g->console_fd, g->stderr_fd and,
 * if with_debug, g->debug_fd (all non-blocking read ends, close-on-exec). Returns 0,
 * or -1 with the reason in err (exec failures included) leaving nothing behind. */
int spawn_process(char *const argv[], int with_debug, struct vmm_guest *g, char *err,
                  size_t errlen);

#endif
