/* One run on this launcher, as the loop (main.c) sees it: start it from a start
 * command, hand it its fds' readiness, reaped children and clock ticks, abort it.
 * Driven from the loop's thread only (the sampler's worker talks to it by an eventfd). */
#ifndef BS_RUN_H
#define BS_RUN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clock.h"
#include "event.h"
#include "resolve.h"

struct outbox;
struct run;

/* epoll tag of an asynchronous backend's event fd (libvirt). */
#define RUN_TAG_VMM (1ULL << 61)
/* epoll tag of the sampling thread's eventfd. */
#define RUN_TAG_SAMPLER (1ULL << 60)
/* epoll tag of the guests' stderr set, nested one-shot (run_guest.c, guest_slow_open). */
#define RUN_TAG_SLOW (1ULL << 59)

/* epoll tags for guest fds: TAG_GUEST | idx << 2 | stream (console, stderr, debug). */
#define RUN_TAG_GUEST (1ULL << 62)

/* Starts run start->run: loads the profile, picks the accelerator, publishes
 * run_start; guests are spawned from run_tick(). Console fds are added to epfd.
 * Returns NULL with the reason in err (the caller reports it in a run_end). */
struct run *run_start(const struct ev *start, const struct launcher_cfg *cfg, int epfd,
                      struct outbox *ob, char *err, size_t errlen);

/* A console or stderr fd of the run is readable (tag from epoll). */
void run_on_fd(struct run *r, uint64_t tag);

/* The guests' stderr set woke the loop: reads those pipes; the set wakes it again no
 * sooner than RUN_SLOW_PERIOD_NS from now. */
void run_on_slow(struct run *r);

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

/* start snapshot | template: the collector's go, every host's template is saved; the
 * storm starts at at_tr (realtime, this host's clock). */
void run_go(struct run *r, int64_t at_tr);

/* True once every guest is reaped and run_end is published. */
int run_finished(const struct run *r);

const char *run_id(const struct run *r);

void run_free(struct run *r);

#endif
