/* The pid map (pidmap.h). Deleting leaves a tombstone so later entries of the same
 * probe chain stay reachable; growing rehashes live entries and drops tombstones. */
#include "pidmap.h"

#include <stdlib.h>

#define TOMB ((pid_t)-1)

static size_t slot_of(pid_t pid, size_t cap)
{
    return ((size_t)pid * 2654435761u) & (cap - 1);
}

/* Index of pid's slot, or of the slot where it would go (the first tombstone or empty
 * one on its chain). cap must be > 0 and the table never full. */
static size_t find(const struct pidmap *m, pid_t pid, int *found)
{
    size_t tomb = (size_t)-1;
    for (size_t i = slot_of(pid, m->cap);; i = (i + 1) & (m->cap - 1)) {
        pid_t p = m->slots[i].pid;
        if (p == pid) {
            *found = 1;
            return i;
        }
        if (p == TOMB && tomb == (size_t)-1)
            tomb = i;
        if (p == 0) {
            *found = 0;
            return tomb != (size_t)-1 ? tomb : i;
        }
    }
}

/* Rehashes into a table sized for the live entries (bigger, the same, or smaller
 * when tombstones made it half full). */
static int rehash(struct pidmap *m)
{
    size_t ncap = 64; /* live entries fill at most a quarter after a rehash; tombstones go */
    while (ncap < (m->count + 1) * 4)
        ncap *= 2;
    struct pidmap_slot *n = calloc(ncap, sizeof *n), *old = m->slots;
    if (!n)
        return -1;
    size_t ocap = m->cap;
    m->slots = n;
    m->cap = ncap;
    m->used = m->count = 0;
    for (size_t i = 0; i < ocap; i++)
        if (old[i].pid > 0)
            pidmap_put(m, old[i].pid, old[i].idx);
    free(old);
    return 0;
}

int pidmap_put(struct pidmap *m, pid_t pid, int idx)
{
    if ((m->used + 1) * 2 > m->cap && rehash(m) < 0)
        return -1;
    int found;
    size_t i = find(m, pid, &found);
    if (!found) {
        if (m->slots[i].pid == 0)
            m->used++;
        m->count++;
    }
    m->slots[i] = (struct pidmap_slot){pid, idx};
    return 0;
}

int pidmap_get(const struct pidmap *m, pid_t pid)
{
    int found;
    if (!m->cap || pid <= 0)
        return -1;
    size_t i = find(m, pid, &found);
    return found ? m->slots[i].idx : -1;
}

int pidmap_del(struct pidmap *m, pid_t pid)
{
    int found;
    if (!m->cap || pid <= 0)
        return -1;
    size_t i = find(m, pid, &found);
    if (!found)
        return -1;
    int idx = m->slots[i].idx;
    m->slots[i].pid = TOMB;
    m->count--;
    return idx;
}

void pidmap_free(struct pidmap *m)
{
    free(m->slots);
    *m = (struct pidmap){0};
}
