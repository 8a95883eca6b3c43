/* The reference a boot-storm benchmark compares bootstorm with: the plainest C
 * spawner that can measure the same thing. N minkernels started back to back (or one
 * every INTERVAL_MS, the same schedule bootstorm's interval pattern follows) with
 * posix_spawnp, consoles read with poll() between two spawns, boot = first sight of
 * the ready line - just before spawn. No events, no Redis, no sampling. Shares no code with
 * bootstorm.
 * usage: ref_spawner [-M MACHINE] [-o OFFSETS] [-b BOOTS] KERNEL N kvm|tcg [INTERVAL_MS]
 *   -M  QEMU's -M value (default microvm): the same machine as the profile compared
 *   -o  writes each guest's spawn time after the first spawn, ms, one a line: the
 *       reference's burst shape, which bench/storm.sh can make bootstorm follow
 *   -b  writes each guest's spawn time (as -o) and its boot time, ms (-1: never ready),
 *       one guest a line, in spawn order: the boots by spawn order, which bench/storm.sh
 *       compares quarter by quarter
 *   -> prints "ref n=N ready=R p50_ms=.. p99_ms=.. max_ms=.. all_ms=.. spawn_all_ms=..
 *      mem_base_mib=.. mem_peak_mib=.. pss_mib=.. cpu_ms=.." (host memory in use: MemTotal -
 *      MemAvailable, before the first spawn and its peak, sampled every 100 ms; pss_mib:
 *      the guests' PSS summed once all are ready; cpu_ms: this spawner's own CPU, not its
 *      guests'). */
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct guest {
    pid_t pid;
    double t0, boot; /* boot < 0 until the ready line is seen */
    char buf[256];
    size_t len;
};

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Host memory in use (MemTotal - MemAvailable), MiB; -1 if /proc/meminfo says nothing. */
static double mem_used_mib(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    char line[128];
    long long total = -1, avail = -1, v;
    while (f && fgets(line, sizeof line, f)) {
        if (sscanf(line, "MemTotal: %lld kB", &v) == 1)
            total = v;
        else if (sscanf(line, "MemAvailable: %lld kB", &v) == 1)
            avail = v;
    }
    if (f)
        fclose(f);
    return total < 0 || avail < 0 ? -1 : (double)(total - avail) / 1024.0;
}

/* PSS of the guests' processes summed (smaps_rollup), MiB; the same figure bootstorm's
 * launcher samples. -1 if none could be read. */
static double guests_pss_mib(const struct guest *g, int spawned)
{
    long long sum = 0, v;
    int seen = 0;
    for (int i = 0; i < spawned; i++) {
        char path[64], line[128];
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)g[i].pid);
        FILE *f = fopen(path, "re");
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "Pss: %lld kB", &v) == 1) {
                sum += v;
                seen++;
            }
        if (f)
            fclose(f);
    }
    return seen ? (double)sum / 1024.0 : -1;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Starts one minkernel with its console on a pipe; returns the pipe's read end. */
static int spawn_guest(struct guest *g, const char *machine, const char *kernel, const char *accel)
{
    char *qargv[] = {"qemu-system-x86_64",
                     "-M",
                     (char *)machine,
                     "-accel",
                     (char *)accel,
                     "-m",
                     "2",
                     "-nodefaults",
                     "-no-user-config",
                     "-display",
                     "none",
                     "-serial",
                     "stdio",
                     "-kernel",
                     (char *)kernel,
                     "-append",
                     "",
                     NULL};
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    g->t0 = now_ms();
    g->boot = -1;
    int rc = posix_spawnp(&g->pid, qargv[0], &fa, NULL, qargv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    return p[0];
}

/* Reads what guest i has; 1 when this read brought its ready line. */
static int read_console(struct guest *g, struct pollfd *pfd, double t)
{
    ssize_t r = read(pfd->fd, g->buf + g->len, sizeof g->buf - 1 - g->len);
    if (r <= 0) {
        pfd->fd = -1;
        return 0;
    }
    g->len += (size_t)r;
    g->buf[g->len] = '\0';
    if (strstr(g->buf, "BOOTSTORM READY")) {
        g->boot = t - g->t0;
        pfd->fd = -1; /* seen: stop reading it */
        return 1;
    }
    if (g->len >= sizeof g->buf - 1)
        g->len = 0;
    return 0;
}

/* What one storm measured, beside each guest's own times. */
struct totals {
    double all, spawned_all, mem_base, mem_peak, pss, cpu;
};

/* This process's CPU so far (user + system), ms. */
static double self_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
           ru.ru_stime.tv_usec / 1e3;
}

static void report(struct guest *g, int n, const struct totals *t)
{
    double *ok = calloc((size_t)n, sizeof *ok);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (g[i].boot >= 0)
            ok[m++] = g[i].boot;
    qsort(ok, (size_t)m, sizeof *ok, cmp);
    printf("ref n=%d ready=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f all_ms=%.1f spawn_all_ms=%.1f "
           "mem_base_mib=%.1f mem_peak_mib=%.1f pss_mib=%.1f cpu_ms=%.0f\n",
           n, m, m ? ok[(m + 1) / 2 - 1] : -1.0, m ? ok[(m * 99 + 99) / 100 - 1] : -1.0,
           m ? ok[m - 1] : -1.0, t->all, t->spawned_all, t->mem_base, t->mem_peak, t->pss, t->cpu);
    free(ok);
}

/* Each guest's spawn time after the first's, ms, one a line, into path; with its boot
 * time (ms, -1 if never ready) after it when with_boot. */
static int write_offsets(const char *path, const struct guest *g, int spawned, int with_boot)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "ref_spawner: cannot write %s\n", path);
        return -1;
    }
    for (int i = 0; i < spawned; i++)
        if (with_boot)
            fprintf(f, "%.3f %.3f\n", g[i].t0 - g[0].t0, g[i].boot);
        else
            fprintf(f, "%.3f\n", g[i].t0 - g[0].t0);
    return fclose(f);
}

/* Spawns n guests (one every interval ms, all at once if 0) and reads their consoles
 * until all are ready or 300 s have passed. Returns how many were spawned. */
static int storm(struct guest *g, struct pollfd *pfd, int n, double interval, char **qa,
                 struct totals *t)
{
    double start = now_ms(), deadline = start + 300000, sampled = 0;
    int spawned = 0, ready = 0;
    t->mem_base = t->mem_peak = mem_used_mib();
    while (ready < n && now_ms() < deadline) {
        /* one spawn per turn when due (every turn without an interval), then the
         * consoles: a burst spawned in one go would leave the first guests' ready lines
         * unread until the last spawn, and stamp them that late (1280 guests: 41 s) */
        if (spawned < n && now_ms() >= start + spawned * interval) {
            pfd[spawned] =
                (struct pollfd){spawn_guest(&g[spawned], qa[0], qa[1], qa[2]), POLLIN, 0};
            if (pfd[spawned].fd < 0) { /* not counted: nothing of it to kill */
                fprintf(stderr, "ref_spawner: spawn %d failed\n", spawned);
                t->all = now_ms() - start;
                return spawned;
            }
            if (++spawned == n)
                t->spawned_all = now_ms() - start;
        }
        if (now_ms() - sampled >= 100) {
            double m = mem_used_mib();
            t->mem_peak = m > t->mem_peak ? m : t->mem_peak;
            sampled = now_ms();
        }
        int wait = spawned < n ? (int)(start + spawned * interval - now_ms()) : 100;
        if (poll(pfd, (nfds_t)spawned, wait < 0 ? 0 : wait > 100 ? 100 : wait) <= 0)
            continue;
        double now = now_ms();
        for (int i = 0; i < spawned; i++)
            if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP)))
                ready += read_console(&g[i], &pfd[i], now);
    }
    double m = mem_used_mib(); /* all ready: every guest is still up */
    t->mem_peak = m > t->mem_peak ? m : t->mem_peak;
    t->all = now_ms() - start;
    t->cpu = self_cpu_ms(); /* before the PSS reading, which is the benchmark's, not spawning */
    t->pss = guests_pss_mib(g, spawned);
    return spawned;
}

static int usage(void)
{
    fprintf(
        stderr,
        "usage: ref_spawner [-M MACHINE] [-o OFFSETS] [-b BOOTS] KERNEL N kvm|tcg [INTERVAL_MS]\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *machine = "microvm", *offsets = NULL, *boots = NULL;
    for (int c; (c = getopt(argc, argv, "M:o:b:")) != -1;) {
        if (c == 'M')
            machine = optarg;
        else if (c == 'o')
            offsets = optarg;
        else if (c == 'b')
            boots = optarg;
        else
            return usage();
    }
    argc -= optind;
    argv += optind;
    if (argc != 3 && argc != 4)
        return usage();
    int n = atoi(argv[1]);
    double interval = argc == 4 ? atof(argv[3]) : 0;
    if (n <= 0 || interval < 0) {
        fprintf(stderr, "ref_spawner: N must be > 0 and INTERVAL_MS >= 0 (got '%s', '%s')\n",
                argv[1], argc == 4 ? argv[3] : "0");
        return 2;
    }
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    struct guest *g = calloc((size_t)n, sizeof *g);
    char *qa[] = {(char *)machine, argv[0], argv[2]};
    struct totals t = {0};
    int spawned = storm(g, pfd, n, interval, qa, &t);
    for (int i = 0; i < spawned; i++)
        kill(g[i].pid, SIGKILL);
    for (int i = 0; i < spawned; i++)
        waitpid(g[i].pid, NULL, 0);
    report(g, n, &t);
    if ((offsets && write_offsets(offsets, g, spawned, 0) < 0) ||
        (boots && write_offsets(boots, g, spawned, 1) < 0))
        return 1;
    int ready = 0;
    for (int i = 0; i < n; i++)
        ready += g[i].boot >= 0;
    return ready == n ? 0 : 1;
}
