/* start: snapshot (docs/SNAPSHOTS.md): the template a run's guests are restored from.
 * In a thread of its own: boot one guest of the profile to ready, stop it over QMP
 * (qmp.c), save it with `migrate` to a state file in a private temporary directory
 * (start: template: its RAM stays in a /dev/shm file, x-ignore-shared),
 * time all that; then hand out the argv items a clone needs (`-incoming`), and at the
 * end remove every file. Not for the clones themselves: run.c spawns them like any
 * guest, with these extra items, and reads their consoles. */
#ifndef BS_SNAPSHOT_H
#define BS_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"
#include "profile.h"

#define SNAP_EXTRA_MAX 10 /* argv items snapshot adds to a guest's rendered argv */

struct snap_cfg {
    const struct profile *prof; /* copied (shallow): its strings and regexes must outlive
                                 * the snap (snap_free first, then profile_free) */
    struct profile_vars vars;   /* kernel, initrd, disk, accel, bindir; name is set here */
    const char *run;            /* the run id, for the template's name and the log */
    int timeout_s;              /* the template must be ready within this */
    int auto_kvm;               /* vars.accel is kvm chosen by auto: a KVM failure of the template
                                 * (accel.c's rule) boots it again under TCG, clones too */
    int shared;                 /* start: template: guest RAM in a /dev/shm file the clones
                                 * map privately, x-ignore-shared; else start: snapshot */
    const char *state_file;     /* start: snapshot with snapshot_file: no template; the clones
                                 * read this state, saved before (checked: a QEMU migration
                                 * stream); NULL or "": prepare one */
};

struct snap;

/* Starts preparing the template in a new thread (with state_file: checks that file
 * and is done at once). Returns the snap (snap_free), or NULL with the reason in err
 * (nothing left behind; e.g. "snapshot_file PATH: not a QEMU migration stream"). */
struct snap *snap_start(const struct snap_cfg *c, char *err, size_t errlen);

/* 1 once preparing has ended, well or not (then snap_result); 0 while it goes on. */
int snap_done(const struct snap *s);

/* After snap_done: 0 with how long preparing took (template spawn to state file
 * complete) and the state file's size; -1 with why in *why (owned by s). */
int snap_result(const struct snap *s, int64_t *prep_ns, int64_t *state_kib, const char **why);

/* After snap_done: the accelerator the template ran under (tcg after a fallback); the
 * clones must run under it too. */
const char *snap_accel(const struct snap *s);

/* Several hosts start together (docs/SNAPSHOTS.md): after a successful snap_result the
 * launcher sends `prepared`, and the collector answers, once every host is prepared, with
 * a `go` carrying the storm's agreed start (realtime ns on this host's clock): snap_go
 * keeps it (the loop's thread; NULL is fine). snap_go_at: 1 with *at_tr the start to
 * wait for (0: start now) once the go came, or, with *at_tr 0, when none came within
 * timeout_s + the save's timeout (logged); 0 while still waiting. */
void snap_go(struct snap *s, int64_t at_tr);
int snap_go_at(struct snap *s, int64_t *at_tr);

/* After a successful snap_result: the items to append to clone idx's rendered qemu argv
 * (owned by s or kept in buf, valid until snap_free / while buf lives); returns how many
 * (at most SNAP_EXTRA_MAX), or -1 when buf is too small. */
int snap_clone_args(const struct snap *s, int idx, const char **items, char *buf, size_t len);

/* Clone idx's QEMU was started with those items: with `shared`, queues it for the
 * worker that tells it over QMP to read the state (restore.h); else nothing. */
void snap_clone_spawned(struct snap *s, int idx);

/* start: template: 1 with a clone whose QEMU reported RESUME (its state read, running)
 * and when, on this host's monotonic clock; 0 when none is waiting (start: snapshot
 * clones have no QMP: never). For the loop's thread; NULL is fine. */
int snap_take_resumed(struct snap *s, int *idx, mono_ns *at);

/* Stops preparing if it still goes on (the thread is joined), kills the template,
 * removes the state file, the QMP sockets, the directory and the /dev/shm RAM file. NULL is fine.
 * Call it only once no clone reads the state file any more. */
void snap_free(struct snap *s);

#endif
