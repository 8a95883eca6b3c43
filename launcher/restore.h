/* start: template (docs/SNAPSHOTS.md): clones wait in `-incoming defer` until told over
 * QMP to set the x-ignore-shared capability (QEMU 7.2 takes it on no command line) and
 * to read the state file. One worker thread does that for every clone, in spawn order,
 * so the launcher's loop never waits for a QEMU. Not for the template (snapshot.c) nor
 * for deciding a clone is ready (its console, run_guest.c). */
#ifndef BS_RESTORE_H
#define BS_RESTORE_H

struct restorer;

/* Starts the worker; incoming is the migrate-incoming URI ("exec:cat FILE"), copied.
 * Returns NULL when the thread cannot start (out of memory, no threads). */
struct restorer *restorer_start(const char *incoming);

/* Queues the clone whose QMP socket is sock (copied). A clone that cannot be reached
 * or refuses is logged and never resumes: its run's timeout fails it. */
void restorer_push(struct restorer *rs, const char *sock);

/* Drops what is still queued, waits for the clone in hand and joins the worker. NULL is
 * fine. */
void restorer_free(struct restorer *rs);

#endif
