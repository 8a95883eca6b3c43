/* The sampling worker: a mutex and a condition variable hand it requests, an eventfd
 * tells the loop a result is ready. Double buffers are not needed: a request is
 * refused until the previous result is taken. */
#include "sampler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hostinfo.h"

enum state { IDLE, ASKED, DONE };

struct sampler {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int efd, stop;
    enum state state;
    struct sample_req *req;
    struct sample_res *res;
    int n, cap, with_pss;
    int64_t mem_used_kib;
    mono_ns asked;
};

static void *worker(void *arg)
{
    struct sampler *s = arg;
    /* below the launcher's loop and the guests: sampling may lag, stamping may not */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->state != ASKED && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu); /* the lists are ours until DONE */
        int64_t total;
        if (hostinfo_mem(&total, &s->mem_used_kib) < 0)
            s->mem_used_kib = -1;
        for (int i = 0; i < s->n; i++) {
            const struct sample_req *q = &s->req[i];
            struct sample_res *r = &s->res[i];
            r->idx = q->idx;
            r->pid = q->pid;
            r->pss_kib = r->ram_kib = -1;
            if (hostinfo_proc(q->pid, &r->rss_kib, &r->cpu_ms) < 0) {
                r->rss_kib = r->cpu_ms = -1;
                continue;
            }
            if (s->with_pss)
                r->pss_kib = hostinfo_pss_kib(q->pid);
            if (q->ram_kib > 0)
                r->ram_kib = hostinfo_guest_ram_kib(q->pid, q->ram_kib);
        }
        pthread_mutex_lock(&s->mu);
        s->state = DONE;
        uint64_t one = 1;
        ssize_t w = write(s->efd, &one, sizeof one);
        (void)w;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

struct sampler *sampler_new(void)
{
    struct sampler *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if ((s->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        goto fail;
    if (pthread_create(&s->thread, NULL, worker, s) != 0)
        goto fail;
    return s;
fail:
    if (s->efd >= 0)
        close(s->efd);
    free(s);
    return NULL;
}

void sampler_free(struct sampler *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    close(s->efd);
    free(s->req);
    free(s->res);
    free(s);
}

int sampler_fd(const struct sampler *s)
{
    return s->efd;
}

int sampler_request(struct sampler *s, const struct sample_req *req, int n, int with_pss)
{
    pthread_mutex_lock(&s->mu);
    int busy = s->state != IDLE;
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
        s->with_pss = with_pss;
        s->asked = clock_mono();
        s->state = ASKED;
        pthread_cond_signal(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    return busy ? -1 : 0;
}

int sampler_take(struct sampler *s, const struct sample_res **res, int64_t *mem_used_kib,
                 mono_ns *asked)
{
    uint64_t v;
    ssize_t r = read(s->efd, &v, sizeof v);
    (void)r;
    pthread_mutex_lock(&s->mu);
    int n = -1;
    if (s->state == DONE) {
        n = s->n;
        *res = s->res;
        *mem_used_kib = s->mem_used_kib;
        *asked = s->asked;
        s->state = IDLE;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
