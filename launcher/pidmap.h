/* pid -> instance index, O(1) at any scale: the launcher finds a reaped guest by its
 * pid on every SIGCHLD. Open addressing with linear probing, kept at most half full.
 * Not for anything about the guest itself (run.c, sched.c). */
#ifndef BS_PIDMAP_H
#define BS_PIDMAP_H

#include <stddef.h>
#include <sys/types.h>

struct pidmap_slot {
    pid_t pid; /* 0 empty, -1 removed (a tombstone lookups step over) */
    int idx;
};

struct pidmap {
    struct pidmap_slot *slots;
    size_t cap, used; /* used counts tombstones too: they lengthen probes */
    size_t count;     /* live entries */
};

/* Zero a map (struct pidmap m = {0}) before its first use. */

/* Maps pid (> 0) to idx, replacing an earlier mapping. Returns 0, or -1 when out of
 * memory (the map is unchanged). */
int pidmap_put(struct pidmap *m, pid_t pid, int idx);

/* The index of pid, or -1 if it is not in the map. */
int pidmap_get(const struct pidmap *m, pid_t pid);

/* Removes pid; returns its index, or -1 if it was not there. */
int pidmap_del(struct pidmap *m, pid_t pid);

void pidmap_free(struct pidmap *m);

#endif
