/* The reference a boot-storm benchmark compares bootstorm with: the plainest C
 * spawner that can measure the same thing. N minkernels started back to back (or one
 * every INTERVAL_MS, the same schedule bootstorm's interval pattern follows) with
 * posix_spawnp, consoles read with poll(), boot = first sight of the ready line -
 * just before spawn. No events, no Redis, no sampling. Shares no code with bootstorm.
 * usage: ref_spawner KERNEL N kvm|tcg [INTERVAL_MS]
 *   -> prints "ref n=N ready=R p50_ms=.. max_ms=.. all_ms=.. spawn_all_ms=.." */
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Starts one minkernel with its console on a pipe; returns the pipe's read end. */
static int spawn_guest(struct guest *g, const char *kernel, const char *accel)
{
    char *qargv[] = {"qemu-system-x86_64", "-M", "microvm", "-accel", (char *)accel, "-m", "2",
                     "-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio",
                     "-kernel", (char *)kernel, "-append", "", NULL};
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

static void report(struct guest *g, int n, double all, double spawned_all)
{
    double *ok = calloc((size_t)n, sizeof *ok);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (g[i].boot >= 0)
            ok[m++] = g[i].boot;
    qsort(ok, (size_t)m, sizeof *ok, cmp);
    printf("ref n=%d ready=%d p50_ms=%.1f max_ms=%.1f all_ms=%.1f spawn_all_ms=%.1f\n", n, m,
           m ? ok[(m + 1) / 2 - 1] : -1.0, m ? ok[m - 1] : -1.0, all, spawned_all);
    free(ok);
}

int main(int argc, char **argv)
{
    if (argc != 4 && argc != 5) {
        fprintf(stderr, "usage: ref_spawner KERNEL N kvm|tcg [INTERVAL_MS]\n");
        return 2;
    }
    int n = atoi(argv[2]);
    double interval = argc == 5 ? atof(argv[4]) : 0;
    if (n <= 0 || interval < 0) {
        fprintf(stderr, "ref_spawner: N must be > 0 and INTERVAL_MS >= 0\n");
        return 2;
    }
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    struct guest *g = calloc((size_t)n, sizeof *g);
    double start = now_ms(), spawned_all = 0, deadline = start + 120000;
    int spawned = 0, ready = 0;
    while (ready < n && now_ms() < deadline) {
        /* spawn whatever is due (all at once without an interval) */
        while (spawned < n && now_ms() >= start + spawned * interval) {
            pfd[spawned] = (struct pollfd){spawn_guest(&g[spawned], argv[1], argv[3]), POLLIN, 0};
            if (pfd[spawned].fd < 0)
                return 1;
            if (++spawned == n)
                spawned_all = now_ms() - start;
        }
        int wait = spawned < n ? (int)(start + spawned * interval - now_ms()) : 100;
        if (poll(pfd, (nfds_t)spawned, wait < 0 ? 0 : wait) <= 0)
            continue;
        double t = now_ms();
        for (int i = 0; i < spawned; i++)
            if (pfd[i].fd >= 0 && (pfd[i].revents & (POLLIN | POLLHUP)))
                ready += read_console(&g[i], &pfd[i], t);
    }
    double all = now_ms() - start;
    for (int i = 0; i < spawned; i++)
        kill(g[i].pid, SIGKILL);
    for (int i = 0; i < spawned; i++)
        waitpid(g[i].pid, NULL, 0);
    report(g, n, all, spawned_all);
    return ready == n ? 0 : 1;
}
