/* How late a thread wakes for a deadline on this machine, now: sleeps to absolute 5 ms
 * deadlines (clock_nanosleep, CLOCK_MONOTONIC) and prints the overshoot's p50 / p90 /
 * p99 / max. What any launcher loop can do at best under the same load and priority
 * (docs/SCALING.md, "Launch lag"); no bootstorm code.
 *   usage: bench_wakeup [nice|fifo] [SECONDS]   (default nice 10: nice -10, 10 s)
 *   fifo: SCHED_FIFO 10 (needs CAP_SYS_NICE); nice: nice -10, as the launcher's loop. */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#define PERIOD_NS 5000000LL

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
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

int main(int argc, char **argv)
{
    int fifo = argc > 1 && !strcmp(argv[1], "fifo");
    double secs = argc > 2 ? atof(argv[2]) : 10;
    if ((argc > 1 && !fifo && strcmp(argv[1], "nice")) || secs <= 0 || secs > 3600) {
        fprintf(stderr, "usage: bench_wakeup [nice|fifo] [SECONDS (0..3600]]\n");
        return 2;
    }
    if (set_priority(fifo) < 0)
        return 1;
    int n = (int)(secs * 1e9 / PERIOD_NS);
    long long *late = malloc((size_t)(n > 0 ? n : 1) * sizeof *late), due = now_ns();
    if (!late || n < 1)
        return 1;
    for (int i = 0; i < n; i++) {
        due += PERIOD_NS;
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        late[i] = now_ns() - due;
        if (late[i] > PERIOD_NS) /* missed whole periods: the next deadline from now */
            due = now_ns();
    }
    qsort(late, (size_t)n, sizeof *late, cmp_ll);
    printf("%s n=%d late p50 %.3f p90 %.3f p99 %.3f max %.3f ms\n", fifo ? "fifo10" : "nice-10",
           n, late[n / 2] / 1e6, late[n * 9 / 10] / 1e6, late[n * 99 / 100] / 1e6,
           late[n - 1] / 1e6);
    free(late);
    return 0;
}
