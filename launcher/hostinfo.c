/* /proc readers, written to be cheap: called every sample period for every guest. */
#include "hostinfo.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static long page_kib;

int hostinfo_mem(int64_t *total_kib, int64_t *used_kib)
{
    char buf[4096];
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
    if (!t || !a)
        return -1;
    int64_t total = strtoll(t + 9, NULL, 10), avail = strtoll(a + 13, NULL, 10);
    *total_kib = total;
    *used_kib = total - avail;
    return 0;
}

int64_t hostinfo_rss_kib(pid_t pid)
{
    if (!page_kib)
        page_kib = sysconf(_SC_PAGESIZE) / 1024;
    char path[64], buf[128];
    snprintf(path, sizeof path, "/proc/%d/statm", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *sp = strchr(buf, ' ');
    return sp ? strtoll(sp + 1, NULL, 10) * page_kib : -1;
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
