/* What the launcher reads about its host and processes from /proc: memory in use,
 * a process's resident set, its own CPU time. Not for guests' consoles. */
#ifndef BS_HOSTINFO_H
#define BS_HOSTINFO_H

#include <stdint.h>
#include <sys/types.h>

/* MemTotal and MemTotal - MemAvailable in KiB. Returns 0 or -1. */
int hostinfo_mem(int64_t *total_kib, int64_t *used_kib);

/* Resident set (KiB) and user+system CPU time (ms) of pid from one read of
 * /proc/PID/stat. Returns 0, or -1 if it is gone. */
int hostinfo_proc(pid_t pid, int64_t *rss_kib, int64_t *cpu_ms);

/* Proportional set size of pid in KiB from /proc/PID/smaps_rollup (costly: the
 * kernel walks the page tables), or -1. */
int64_t hostinfo_pss_kib(pid_t pid);

/* pid's children (of every one of its threads: /proc/PID/task/TID/children) into
 * out, at most cap. Returns how many; 0 when none or unreadable. */
int hostinfo_children(pid_t pid, pid_t *out, int cap);

/* Resident KiB of pid's guest RAM: the mapping of exactly ram_kib (QEMU allocates the
 * guest's memory as one block of -m size), so RSS minus it is the VMM's own overhead.
 * Finds it in /proc/PID/maps and counts its present pages in /proc/PID/pagemap; call
 * once per guest. -1 if no such mapping. */
int64_t hostinfo_guest_ram_kib(pid_t pid, int64_t ram_kib);

/* This process's user+system CPU time in ms, and its peak resident set in KiB. */
void hostinfo_self(int64_t *cpu_ms, int64_t *maxrss_kib);

/* Online CPUs. */
int hostinfo_cores(void);

#endif
