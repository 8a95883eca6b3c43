/* Starting a guest process: vfork + exec with the console, the VMM's stderr and
 * optionally the debug port on pipes, a reset signal mask and nice value, its own
 * process group, and PR_SET_PDEATHSIG so it dies with its parent even on SIGKILL.
 * Used by the launcher's qemu and process backends, its KVM probe, and
 * `bootstorm guests check`. */
#ifndef BS_PROCSPAWN_H
#define BS_PROCSPAWN_H

#include <stddef.h>

#include <sys/types.h>

/* The fd number the debug port's pipe gets in the child: {debugcon} is /dev/fd/3. */
#define SPAWN_DEBUG_FD 3
#define SPAWN_DEBUG_PATH "/dev/fd/3"

struct spawned {
    pid_t pid;
    int console_fd; /* its stdout */
    int stderr_fd;
    int debug_fd; /* fd SPAWN_DEBUG_FD's other end when asked for, else -1 */
};

/* Starts argv[0] (looked up in PATH). Fills s (all fds non-blocking read ends,
 * close-on-exec). Returns 0, or -1 with the reason in err (exec failures included)
 * leaving nothing behind. */
int spawn_process(char *const argv[], int with_debug, struct spawned *s, char *err, size_t errlen);

#endif
