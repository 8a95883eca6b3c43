/* How late a thread wakes for a deadline on this machine, now: sleeps to absolute 5 ms
 * deadlines (clock_nanosleep, CLOCK_MONOTONIC) and prints the overshoot's p50 / p90 /
 * p99 / max. What any launcher loop can do at best under the same load and priority
 * (docs/SCALING.md, "Launch lag"); no bootstorm code.
 *   usage: bench_wakeup [nice|fifo] [SECONDS] [SAMPLES]   (default nice 10: nice -10, 10 s)
 *   fifo: SCHED_FIFO 10 (needs CAP_SYS_NICE); nice: nice -10, as the launcher's loop.
 *   SAMPLES: also writes each wake-up there, "REALTIME_NS LATE_NS" a line, so a caller
 *   can take the window it wants (bench/lag.sh: a storm's first spawn to last ready).
 *   SIGTERM or SIGINT ends it early, with the summary and SAMPLES of what it saw. */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PERIOD_NS 5000000LL

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

/* The priority asked for; 0, or -1 with the reason on stderr. */
static int set_priority(int fifo)
{
    struct sched_param p = {.sched_priority = 10};
    if (fifo ? sched_setscheduler(0, SCHED_FIFO, &p) : setpriority(PRIO_PROCESS, 0, -10)) {
        perror(fifo ? "bench_wakeup: SCHED_FIFO 10" : "bench_wakeup: nice -10");
        return -1;
    }
    return 0;
}

/* Up to n wake-ups, each one's lateness into late[] and its realtime into at[]; returns
 * how many before a stop signal. */
static int probe(long long *late, long long *at, int n)
{
    long long due = now_ns(CLOCK_MONOTONIC);
    int i;
    for (i = 0; i < n && !stop; i++) {
        due += PERIOD_NS;
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        if (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR && stop)
            break;
        late[i] = now_ns(CLOCK_MONOTONIC) - due;
        at[i] = now_ns(CLOCK_REALTIME);
        if (late[i] > PERIOD_NS) /* missed whole periods: the next deadline from now */
            due = now_ns(CLOCK_MONOTONIC);
    }
    return i;
}

static int write_samples(const char *path, const long long *late, const long long *at, int n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_wakeup: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++)
        fprintf(f, "%lld %lld\n", at[i], late[i]);
    return fclose(f);
}

int main(int argc, char **argv)
{
    int fifo = argc > 1 && !strcmp(argv[1], "fifo");
    double secs = argc > 2 ? atof(argv[2]) : 10;
    if ((argc > 1 && !fifo && strcmp(argv[1], "nice")) || secs <= 0 || secs > 3600 || argc > 4) {
        fprintf(stderr, "usage: bench_wakeup [nice|fifo] [SECONDS (0..3600]] [SAMPLES]\n");
        return 2;
    }
    if (set_priority(fifo) < 0)
        return 1;
    struct sigaction sa = {.sa_handler = on_stop}; /* no SA_RESTART: the sleep ends */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int max = (int)(secs * 1e9 / PERIOD_NS);
    long long *late = malloc((size_t)(max > 0 ? max : 1) * sizeof *late);
    long long *at = malloc((size_t)(max > 0 ? max : 1) * sizeof *at);
    if (!late || !at || max < 1)
        return 1;
    int n = probe(late, at, max);
    if (argc > 3 && write_samples(argv[3], late, at, n) < 0)
        return 1;
    if (n < 1) {
        fprintf(stderr, "bench_wakeup: stopped before the first wake-up\n");
        return 1;
    }
    qsort(late, (size_t)n, sizeof *late, cmp_ll);
    printf("%s n=%d late p50 %.3f p90 %.3f p99 %.3f max %.3f ms\n", fifo ? "fifo10" : "nice-10", n,
           late[n / 2] / 1e6, late[n * 9 / 10] / 1e6, late[n * 99 / 100] / 1e6, late[n - 1] / 1e6);
    free(late);
    free(at);
    return 0;
}
