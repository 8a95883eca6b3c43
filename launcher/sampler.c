/* The sampling worker: one eventfd wakes it for a request, another tells the loop a
 * result is ready, and an atomic state says whose the buffers are. No lock: the worker
 * runs at nice 10 and a storm starves it for hundreds of ms; with a mutex, the loop
 * woken by the worker's "done" preempted it while it still held the mutex, then waited
 * for it (the launcher's ready stamps 0.5-0.9 s late in 1 of 5 fidelity runs at 256).
 * Double buffers are not needed: a request is refused until the previous result is
 * taken. PSS is summed over each guest's process tree: a container's processes are its
 * runtime's descendants. */
#include "sampler.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "hostinfo.h"

enum state { IDLE, ASKED, DONE };

struct sampler {
    pthread_t thread;
    int efd;     /* written by the worker: a result is ready */
    int wake_fd; /* written by the loop: a request (or stop) is there */
    atomic_int stop;
    _Atomic enum state state; /* IDLE, ASKED: the loop's buffers; ASKED->DONE the worker's */
    struct sample_req *req;
    struct sample_res *res;
    int n, cap;
    struct proc_stats *stats; /* the worker's: each guest's /proc/PID/stat, kept open */
    int64_t mem_used_kib;
    int64_t mem_peak_kib; /* the most in use at any request since the last take; -1 none */
    mono_ns asked;
};

/* PSS of root plus every descendant (a container's runtime and its processes; a
 * QEMU alone), found through /proc/PID/task/TID/children: a few reads per guest, where
 * reading every process's parent cost 7 ms per sample at 256 guests, and grew with the
 * host's processes. -1 when root's own is unreadable. */
static int64_t tree_pss_kib(pid_t root)
{
    int64_t sum = hostinfo_pss_kib(root);
    if (sum < 0)
        return -1;
    pid_t stack[256];
    int top = hostinfo_children(root, stack, (int)(sizeof stack / sizeof *stack));
    while (top > 0) {
        pid_t p = stack[--top];
        int64_t k = hostinfo_pss_kib(p);
        if (k > 0)
            sum += k;
        top += hostinfo_children(p, stack + top, (int)(sizeof stack / sizeof *stack) - top);
    }
    return sum;
}

static void kick(int fd)
{
    uint64_t one = 1;
    ssize_t w = write(fd, &one, sizeof one);
    (void)w;
}

static void *worker(void *arg)
{
    struct sampler *s = arg;
    pthread_setname_np(pthread_self(), "bs-sampler"); /* ps, top and perf tell threads apart */
    /* below the launcher's loop and the guests: sampling may lag, stamping may not */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    for (;;) {
        uint64_t v;
        if (read(s->wake_fd, &v, sizeof v) < 0 && errno != EINTR)
            break;
        if (atomic_load(&s->stop))
            break;
        if (atomic_load(&s->state) != ASKED)
            continue;
        int64_t total; /* the lists are ours until DONE */
        if (hostinfo_mem(&total, &s->mem_used_kib) < 0)
            s->mem_used_kib = -1;
        for (int i = 0; i < s->n; i++) {
            const struct sample_req *q = &s->req[i];
            struct sample_res *r = &s->res[i];
            r->idx = q->idx;
            r->pid = q->pid;
            r->pss_kib = r->ram_kib = -1;
            if (proc_stats_read(s->stats, q->pid, &r->rss_kib, &r->cpu_ms) < 0) {
                r->rss_kib = r->cpu_ms = -1;
                continue;
            }
            if (q->pss)
                r->pss_kib = tree_pss_kib(q->pid);
            if (q->ram_kib > 0)
                r->ram_kib = hostinfo_guest_ram_kib(q->pid, q->ram_kib);
        }
        proc_stats_sweep(s->stats);    /* the files of guests gone since are closed */
        atomic_store(&s->state, DONE); /* release: the results are the loop's */
        kick(s->efd);
    }
    return NULL;
}

struct sampler *sampler_new(void)
{
    struct sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->mem_peak_kib = -1;
    s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    s->wake_fd = eventfd(0, EFD_CLOEXEC); /* the worker blocks on it */
    s->stats = proc_stats_new();
    if (s->efd >= 0 && s->wake_fd >= 0 && s->stats &&
        pthread_create(&s->thread, NULL, worker, s) == 0)
        return s;
    proc_stats_free(s->stats);
    if (s->efd >= 0)
        close(s->efd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    free(s);
    return NULL;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    atomic_store(&s->stop, 1);
    kick(s->wake_fd);
    pthread_join(s->thread, NULL);
    proc_stats_free(s->stats);
    close(s->efd);
    close(s->wake_fd);
    free(s->req);
    free(s->res);
    free(s);
}

int sampler_fd(const struct sampler *s)
{
    return s->efd;
}

int sampler_request(struct sampler *s, const struct sample_req *req, int n)
{
    /* Host memory is read here, on the caller's thread, busy or not: the worker runs at
     * nice 10 and a storm that saturates the cores starves it for seconds (1024 guests:
     * no sample finished between the first spawns and the end, and the run's peak read
     * 5.8 GiB of 15). One /proc/meminfo read per request. */
    int64_t total, used;
    if (hostinfo_mem(&total, &used) == 0 && used > s->mem_peak_kib)
        s->mem_peak_kib = used; /* the loop's alone, like everything while IDLE */
    int busy = sampler_busy(s);
    if (!busy && n > s->cap) {
        int ncap = n * 2;
        struct sample_req *q = realloc(s->req, (size_t)ncap * sizeof *q);
        if (q)
            s->req = q;
        struct sample_res *r = realloc(s->res, (size_t)ncap * sizeof *r);
        if (r)
            s->res = r;
        if (!q || !r)
            busy = 1;
        else
            s->cap = ncap;
    }
    if (!busy) {
        if (n)
            memcpy(s->req, req, (size_t)n * sizeof *req);
        s->n = n;
        s->asked = clock_mono();
        atomic_store(&s->state, ASKED); /* release: the lists are the worker's */
        kick(s->wake_fd);
    }
    return busy ? -1 : 0;
}

int64_t sampler_cpu_ms(const struct sampler *s)
{
    clockid_t cid;
    struct timespec ts;
    if (pthread_getcpuclockid(s->thread, &cid) != 0 || clock_gettime(cid, &ts) < 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sampler_busy(struct sampler *s)
{
    return atomic_load(&s->state) != IDLE;
}

int sampler_take(struct sampler *s, const struct sample_res **res, int64_t *mem_used_kib,
                 mono_ns *asked)
{
    uint64_t v;
    ssize_t r = read(s->efd, &v, sizeof v);
    (void)r;
    int n = -1;
    if (atomic_load(&s->state) == DONE) { /* acquire: the worker's writes are seen */
        n = s->n;
        *res = s->res;
        *mem_used_kib = s->mem_peak_kib > s->mem_used_kib ? s->mem_peak_kib : s->mem_used_kib;
        s->mem_peak_kib = -1;
        *asked = s->asked;
        atomic_store(&s->state, IDLE); /* the results stay valid until the next request */
    }
    return n;
}
