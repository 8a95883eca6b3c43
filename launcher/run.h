/* One run on this launcher: schedules the spawns of a start command, reads every
 * guest console, decides ready / failed, samples memory and publishes events.
 * All of it driven by the launcher's single epoll loop (main.c); no threads. */
#ifndef BS_RUN_H
#define BS_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "event.h"

struct outbox;
struct run;

struct launcher_cfg {
    char host[BS_ID_MAX];
    char guests_dir[512];
    char images_dir[512];
    char bindir[512];      /* where bootstorm's own programs are ({bindir}) */
    char libvirt_uri[256]; /* for the libvirt backend */
    int kvm_ok;            /* the probe booted minkernel under KVM */
    char kvm_why[256];     /* why KVM is not used, when it is not */
    int prio_raised;       /* the launcher runs at a raised priority (nice < 0) */
};

/* epoll tag of an asynchronous backend's event fd (libvirt). */
#define RUN_TAG_VMM (1ULL << 61)
/* epoll tag of the sampling thread's eventfd. */
#define RUN_TAG_SAMPLER (1ULL << 60)

/* epoll tags for guest fds: TAG_GUEST | idx << 2 | stream (console, stderr, debug). */
#define RUN_TAG_GUEST (1ULL << 62)

/* Starts run start->run: loads the profile, picks the accelerator, publishes
 * run_start; guests are spawned from run_tick(). Console fds are added to epfd.
 * Returns NULL with the reason in err (the caller reports it in a run_end). */
struct run *run_start(const struct ev *start, const struct launcher_cfg *cfg, int epfd,
                      struct outbox *ob, char *err, size_t errlen);

/* A console or stderr fd of the run is readable (tag from epoll). */
void run_on_fd(struct run *r, uint64_t tag);

/* The sampler's eventfd is readable: publishes the finished memory sample. */
void run_on_sampler(struct run *r);

/* The backend's event fd is readable: handles its completions. */
void run_on_vmm(struct run *r);

/* A child was reaped; returns 1 if it was one of the run's guests. */
int run_on_child(struct run *r, pid_t pid, int status);

/* Spawns what is due, enforces timeouts, samples memory, ends the run after
 * hold_s. Returns the next monotonic time it wants to be called at. */
mono_ns run_tick(struct run *r);

/* Stops every guest now; the run ends once they are reaped, with error why. */
void run_abort(struct run *r, const char *why);

/* True once every guest is reaped and run_end is published. */
int run_finished(const struct run *r);

const char *run_id(const struct run *r);

void run_free(struct run *r);

#endif
