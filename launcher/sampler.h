/* Memory and CPU sampling off the launcher's loop: reading /proc for hundreds of QEMU
 * processes (smaps_rollup and smaps take each one's mmap lock, which a booting QEMU
 * holds often) would stall the loop and delay the console reads it must stamp. One
 * worker thread, at a lower priority, reads; the loop hands it a list of pids and
 * gets the numbers back through an eventfd. Not for the events: run.c publishes. */
#ifndef BS_SAMPLER_H
#define BS_SAMPLER_H

#include <stdint.h>
#include <sys/types.h>

#include "clock.h"

struct sample_req {
    int idx; /* the caller's key for the guest */
    pid_t pid;
    int64_t ram_kib; /* > 0: also find the resident part of the guest-RAM block of this size */
    int pss;         /* also its PSS, summed over the process and its descendants (a
                        container runtime's container) */
};

struct sample_res {
    int idx;
    pid_t pid;
    int64_t rss_kib, cpu_ms; /* -1 when the process is gone */
    int64_t pss_kib;         /* of the process and its descendants; -1 when not asked for or
                                unreadable */
    int64_t ram_kib;         /* -1 when not asked for or not found */
};

struct sampler;

/* Starts the worker. Returns NULL on failure. */
struct sampler *sampler_new(void);

/* Stops and joins the worker, frees everything. */
void sampler_free(struct sampler *s);

/* Readable while a finished sample waits for sampler_take(). */
int sampler_fd(const struct sampler *s);

/* Asks for one sample of n processes (the list is copied) taken now. Returns 0, or -1
 * when the previous sample is not taken yet (skip one). */
int sampler_request(struct sampler *s, const struct sample_req *req, int n);

/* The worker thread's CPU time so far, ms (the run's end logs it). */
int64_t sampler_cpu_ms(const struct sampler *s);

/* True from a request until its sample is taken (asked, being read, or finished and
 * not taken yet). */
int sampler_busy(struct sampler *s);

/* The finished sample: its results (valid until the next request), the host's
 * MemTotal - MemAvailable (the most seen by the worker or by any request since the
 * previous take, skipped ones included: a starved worker must not hide the peak) and
 * the moment it was asked for. Returns the number of
 * results, or -1 when none is finished. */
int sampler_take(struct sampler *s, const struct sample_res **res, int64_t *mem_used_kib,
                 mono_ns *asked);

#endif
