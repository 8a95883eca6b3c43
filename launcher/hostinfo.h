/* What the launcher reads about its host and processes from /proc: memory in use,
 * a process's resident set, its own CPU time. Not for guests' consoles. */
#ifndef BS_HOSTINFO_H
#define BS_HOSTINFO_H

#include <stdint.h>
#include <sys/types.h>

/* MemTotal and MemTotal - MemAvailable in KiB. Returns 0 or -1. */
int hostinfo_mem(int64_t *total_kib, int64_t *used_kib);

/* /proc/PID/stat of the processes a sampler reads every period, each kept open and
 * read again with pread: 3.5 us a read here against 7 us for open, read and close,
 * at one fd per process. A kept file belongs to its process, not to its pid: once the
 * process is gone it reads nothing, and a new process with the same pid gets its own
 * file. Not thread-safe: one reader. */
struct proc_stats;

struct proc_stats *proc_stats_new(void);

/* Resident set (KiB) and user+system CPU time (ms) of pid. Returns 0, or -1 if it is
 * gone. */
int proc_stats_read(struct proc_stats *c, pid_t pid, int64_t *rss_kib, int64_t *cpu_ms);

/* Ends a sample: closes the files of the pids not read since the previous sweep. */
void proc_stats_sweep(struct proc_stats *c);

/* Closes every file. */
void proc_stats_free(struct proc_stats *c);

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
