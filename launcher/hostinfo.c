/* /proc readers, written to be cheap: called every sample period for every guest.
 * Not for when to sample or what is published (sampler.c, run.c). */
#include "hostinfo.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* KiB per page, read once (the sampler's thread calls the readers below) */
static long page_kib(void)
{
    static long kib;
    if (!kib)
        kib = sysconf(_SC_PAGESIZE) / 1024;
    return kib;
}

/* Reads a small /proc file into buf; returns its length or -1. */
static ssize_t read_proc(const char *path, char *buf, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return n;
}

int hostinfo_mem(int64_t *total_kib, int64_t *used_kib)
{
    char buf[4096];
    if (read_proc("/proc/meminfo", buf, sizeof buf) < 0)
        return -1;
    char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
    if (!t || !a)
        return -1;
    int64_t total = strtoll(t + 9, NULL, 10), avail = strtoll(a + 13, NULL, 10);
    *total_kib = total;
    *used_kib = total - avail;
    return 0;
}

/* Resident set (KiB) and user+system CPU (ms) from a /proc/PID/stat text. */
static int parse_stat(char *buf, int64_t *rss_kib, int64_t *cpu_ms)
{
    static long ticks;
    if (!ticks)
        ticks = sysconf(_SC_CLK_TCK);
    char *p = strrchr(buf, ')'); /* comm may hold spaces: fields count from its end */
    if (!p)
        return -1;
    unsigned long long utime = 0, stime = 0;
    long long rss = 0;
    /* after ")": state(3) ... utime(14) stime(15) ... rss(24) */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d "
               "%*d %*u %*u %lld",
               &utime, &stime, &rss) != 3)
        return -1;
    *rss_kib = rss * page_kib();
    *cpu_ms = (int64_t)((utime + stime) * 1000ULL / (unsigned long long)ticks);
    return 0;
}

/* ---- /proc/PID/stat kept open (struct proc_stats) ---- */

struct stat_fd {
    pid_t pid;     /* 0: a free slot */
    int fd;        /* -1: its process was gone at the last read */
    unsigned seen; /* the sweep generation it was last read in */
};

struct proc_stats {
    struct stat_fd *slot; /* open addressing by pid, at most half full */
    size_t cap, n;
    unsigned gen;
};

struct proc_stats *proc_stats_new(void)
{
    return calloc(1, sizeof(struct proc_stats));
}

static int open_stat(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    return open(path, O_RDONLY | O_CLOEXEC);
}

static struct stat_fd *slot_of(struct proc_stats *c, pid_t pid)
{
    size_t i = ((size_t)pid * 2654435761u) & (c->cap - 1);
    while (c->slot[i].pid && c->slot[i].pid != pid)
        i = (i + 1) & (c->cap - 1);
    return &c->slot[i];
}

/* Moves the slots into a table of cap (a power of 2); with only_seen, only those read
 * in this generation, closing the others' files. Returns -1 (nothing changed) without
 * memory. */
static int refile(struct proc_stats *c, size_t cap, int only_seen)
{
    struct stat_fd *old = c->slot;
    size_t ocap = c->cap;
    if (!(c->slot = calloc(cap, sizeof *c->slot))) {
        c->slot = old;
        return -1;
    }
    c->cap = cap;
    c->n = 0;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].pid)
            continue;
        if (only_seen && old[i].seen != c->gen) {
            if (old[i].fd >= 0)
                close(old[i].fd);
            continue;
        }
        *slot_of(c, old[i].pid) = old[i];
        c->n++;
    }
    free(old);
    return 0;
}

int proc_stats_read(struct proc_stats *c, pid_t pid, int64_t *rss_kib, int64_t *cpu_ms)
{
    if ((c->n + 1) * 2 > c->cap && refile(c, c->cap ? c->cap * 2 : 64, 0) < 0)
        return -1;
    struct stat_fd *e = slot_of(c, pid);
    if (!e->pid) {
        *e = (struct stat_fd){pid, open_stat(pid), 0};
        c->n++;
    }
    e->seen = c->gen;
    char buf[1024];
    ssize_t n = e->fd >= 0 ? pread(e->fd, buf, sizeof buf - 1, 0) : -1;
    if (n <= 0) { /* gone; or the pid is a new process's now: its own file is opened */
        if (e->fd >= 0)
            close(e->fd);
        e->fd = open_stat(pid);
        n = e->fd >= 0 ? pread(e->fd, buf, sizeof buf - 1, 0) : -1;
    }
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return parse_stat(buf, rss_kib, cpu_ms);
}

void proc_stats_sweep(struct proc_stats *c)
{
    if (c->n)
        refile(c, c->cap, 1);
    c->gen++;
}

void proc_stats_free(struct proc_stats *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->cap; i++)
        if (c->slot[i].pid && c->slot[i].fd >= 0)
            close(c->slot[i].fd);
    free(c->slot);
    free(c);
}

int64_t hostinfo_pss_kib(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    if (read_proc(path, buf, sizeof buf) < 0)
        return -1;
    char *p = strstr(buf, "\nPss:");
    return p ? strtoll(p + 5, NULL, 10) : -1;
}

/* The start of pid's first mapping of exactly ram_kib, from /proc/PID/maps read only
 * as far as that mapping: maps costs no page walk, unlike smaps, whose walk of the
 * mappings before the guest's RAM (QEMU's own binary, its heap) cost 0.27 ms of the
 * launcher's CPU per guest. Returns 0 when there is none. */
static uintptr_t ram_mapping(pid_t pid, int64_t ram_kib)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    uintptr_t found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && hi > lo &&
            (int64_t)((hi - lo) / 1024) == ram_kib)
            found = lo;
        while (!strchr(line, '\n') && fgets(line, sizeof line, f)) /* a long path's rest */
            ;
    }
    fclose(f);
    return found;
}

/* Resident KiB of [addr, addr + kib) in pid: the present bit (63) of each page's
 * /proc/PID/pagemap entry, read 512 entries at a time. -1 when unreadable. */
static int64_t resident_kib(pid_t pid, uintptr_t addr, int64_t kib)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/pagemap", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint64_t ent[512];
    int64_t pages = kib / page_kib(), present = 0;
    off_t off = (off_t)(addr / ((uintptr_t)page_kib() * 1024)) * (off_t)sizeof *ent;
    while (pages > 0) {
        size_t want = (size_t)(pages < 512 ? pages : 512);
        ssize_t n = pread(fd, ent, want * sizeof *ent, off);
        if (n <= 0) {
            present = -1;
            break;
        }
        for (ssize_t i = 0; i < n / (ssize_t)sizeof *ent; i++)
            present += (int64_t)(ent[i] >> 63);
        pages -= n / (ssize_t)sizeof *ent;
        off += n;
    }
    close(fd);
    return present < 0 ? -1 : present * page_kib();
}

int hostinfo_children(pid_t pid, pid_t *out, int cap)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/task", (int)pid);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    int n = 0;
    struct dirent *e;
    while (n < cap && (e = readdir(d))) {
        char file[96], buf[4096];
        if (e->d_name[0] == '.')
            continue;
        snprintf(file, sizeof file, "/proc/%d/task/%.16s/children", (int)pid, e->d_name);
        if (read_proc(file, buf, sizeof buf) < 0)
            continue;
        char *p = buf, *end;
        for (long c; n < cap && (c = strtol(p, &end, 10)) > 0; p = end)
            out[n++] = (pid_t)c;
    }
    closedir(d);
    return n;
}

int64_t hostinfo_guest_ram_kib(pid_t pid, int64_t ram_kib)
{
    uintptr_t at = ram_mapping(pid, ram_kib);
    return at ? resident_kib(pid, at, ram_kib) : -1;
}

void hostinfo_self(int64_t *cpu_ms, int64_t *maxrss_kib)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000LL +
              (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
    *maxrss_kib = ru.ru_maxrss;
}

int hostinfo_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
