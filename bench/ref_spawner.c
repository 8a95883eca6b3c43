/* The reference a boot-storm benchmark compares bootstorm with: the plainest C
 * spawner that can measure the same thing. N minkernels started back to back with
 * posix_spawnp, consoles read with poll(), boot = first sight of the ready line -
 * just before spawn. No events, no Redis, no sampling.
 * usage: ref_spawner KERNEL N kvm|tcg  -> prints "ref n=N ready=R p50_ms=.. max_ms=.. all_ms=.." */
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

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: ref_spawner KERNEL N kvm|tcg\n");
        return 2;
    }
    int n = atoi(argv[2]);
    struct pollfd *pfd = calloc((size_t)n, sizeof *pfd);
    pid_t *pid = calloc((size_t)n, sizeof *pid);
    double *t0 = calloc((size_t)n, sizeof *t0), *boot = calloc((size_t)n, sizeof *boot);
    char(*buf)[256] = calloc((size_t)n, sizeof *buf);
    size_t *len = calloc((size_t)n, sizeof *len);
    char *qargv[] = {"qemu-system-x86_64",
                     "-M",
                     "microvm",
                     "-accel",
                     argv[3],
                     "-m",
                     "2",
                     "-nodefaults",
                     "-no-user-config",
                     "-display",
                     "none",
                     "-serial",
                     "stdio",
                     "-kernel",
                     argv[1],
                     "-append",
                     "",
                     NULL};
    double start = now_ms();
    for (int i = 0; i < n; i++) {
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return 1;
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
        t0[i] = now_ms();
        if (posix_spawnp(&pid[i], qargv[0], &fa, NULL, qargv, environ) != 0)
            return 1;
        posix_spawn_file_actions_destroy(&fa);
        close(p[1]);
        pfd[i] = (struct pollfd){p[0], POLLIN, 0};
        boot[i] = -1;
    }
    double spawned_all = now_ms() - start;
    int ready = 0;
    double deadline = start + 120000;
    while (ready < n && now_ms() < deadline) {
        if (poll(pfd, (nfds_t)n, 100) <= 0)
            continue;
        double t = now_ms();
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP)))
                continue;
            ssize_t r = read(pfd[i].fd, buf[i] + len[i], sizeof buf[i] - 1 - len[i]);
            if (r <= 0) {
                pfd[i].fd = -1;
                continue;
            }
            len[i] += (size_t)r;
            buf[i][len[i]] = '\0';
            if (boot[i] < 0 && strstr(buf[i], "BOOTSTORM READY")) {
                boot[i] = t - t0[i];
                ready++;
                pfd[i].fd = -1; /* seen: stop reading it */
            }
            if (len[i] >= sizeof buf[i] - 1)
                len[i] = 0;
        }
    }
    double all = now_ms() - start;
    for (int i = 0; i < n; i++)
        kill(pid[i], SIGKILL);
    for (int i = 0; i < n; i++)
        waitpid(pid[i], NULL, 0);
    double *ok = calloc((size_t)n, sizeof *ok);
    int m = 0;
    for (int i = 0; i < n; i++)
        if (boot[i] >= 0)
            ok[m++] = boot[i];
    qsort(ok, (size_t)m, sizeof *ok, cmp);
    printf("ref n=%d ready=%d p50_ms=%.1f max_ms=%.1f all_ms=%.1f spawn_all_ms=%.1f\n", n, m,
           m ? ok[(m + 1) / 2 - 1] : -1.0, m ? ok[m - 1] : -1.0, all, spawned_all);
    return m == n ? 0 : 1;
}
