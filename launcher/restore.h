/* start: template (docs/SNAPSHOTS.md): clones wait in `-incoming defer` until told over
 * QMP to set the x-ignore-shared capability (QEMU 7.2 takes it on no command line) and
 * to read the state file. A few worker threads do that for the clones, in spawn order,
 * so the launcher's loop never waits for a QEMU, and then watches each clone's QMP for
 * its RESUME event (the state read, QEMU running): the loop takes those times
 * (restorer_take) for a `resumed` marker. Not for the template (snapshot.c) nor for
 * deciding a clone is ready (its console, run_guest.c). */
#ifndef BS_RESTORE_H
#define BS_RESTORE_H

#include "clock.h"

struct restorer;

/* Starts the workers; incoming is the migrate-incoming URI ("exec:cat FILE"), copied.
 * Returns NULL when the thread cannot start (out of memory, no threads). */
struct restorer *restorer_start(const char *incoming);

/* Queues clone idx whose QMP socket is sock (copied). A clone that cannot be reached
 * or refuses is logged and never resumes: its run's timeout fails it. */
void restorer_push(struct restorer *rs, const char *sock, int idx);

/* From the loop's thread: 1 with a clone that resumed and when (QEMU's RESUME stamp on
 * this host's monotonic clock), oldest first; 0 when none is waiting. NULL is fine. */
int restorer_take(struct restorer *rs, int *idx, mono_ns *at);

/* Drops what is still queued, waits for the clones in hand and joins the workers. NULL is
 * fine. */
void restorer_free(struct restorer *rs);

#endif
