/* Inside a run: the state run.c (the run's life and clock) and run_guest.c (one
 * guest's spawn, fds, console and exit) share. Only those two files include this. */
#ifndef BS_RUN_INT_H
#define BS_RUN_INT_H

#include "console.h"
#include "pidmap.h"
#include "probe_http.h"
#include "resolve.h"
#include "run.h"
#include "sampler.h"
#include "sched.h"
#include "snapshot.h"
#include "spawner.h"
#include "vmm.h"

#define RUN_ERR_DETAIL 160 /* the stderr tail's share of a crash's detail */
#define RUN_EARLY_EXITS 16 /* children reaped before their spawn came back from the spawner */

/* What a backend's spawn call reads, in buffers of its own (the spawner thread reads
 * them while the loop goes on). */
struct spawn_buf {
    struct vmm_spawn_args a;
    char name[BS_ID_MAX + 16];
    char accel[16];
    const char *extra[SNAP_EXTRA_MAX];
    char extra_buf[320];
};

/* One instance; its phase (pending, booting, ready, failed, alive, retired) is the
 * scheduler's: r->s.in[idx]. */
struct guest {
    struct vmm_guest vm;
    mono_ns spawn_at, next_probe;
    int port;             /* host port forwarded to the guest's HTTP port */
    int running_at_spawn; /* asynchronous backends: live guests when the create was queued */
    int64_t rss_max_kib, cpu_ms;
    int64_t ram_kib; /* guest RAM resident (measured once, after ready), -1 unknown */
    struct console con;
    struct console_debug dbg;
    struct console_tail err; /* the VMM's stderr */
    char accel[16];          /* what this guest runs under: kvm | tcg | none */
    int retry;               /* KVM failed it under auto: respawn under TCG once it is gone */
    int retried;             /* it runs under TCG because KVM failed it (said in a failure) */
};

struct run {
    struct ev start;
    struct resolved res;
    const struct vmm_ops *vmm;
    struct outbox *ob;
    int epfd;
    /* The guests' stderr pipes, in an epoll set of their own nested in epfd one-shot:
     * QEMU writes a warning in many small pieces, each one woke the loop (30-40 us a
     * wake-up here), and nothing is stamped from stderr. Re-armed slow_rearm on. */
    int slowfd;
    mono_ns slow_rearm; /* 0: armed */
    /* Reads the QEMU consoles, each write with the kernel's stamp of when it was made
     * (stamped.h), so a line's stamp does not wait for the loop to run */
    struct stamped_reader *stamped;
    long console_cut; /* console writes longer than STAMPED_MSG_MAX, cut */
    struct sched s;
    struct guest *g; /* indexed like s.in */
    int gcap;
    struct pidmap pids;
    struct console_matcher cm;
    struct http_prober *http;
    char bindir[512];
    int vmm_opened;
    int nomap;        /* the process backend: no guest RAM mapping to look for */
    int64_t last_seq; /* seq of the run's latest event */
    int64_t sample_ns, cpu_ms_at_start;
    mono_ns next_sample, next_timeout_check;
    mono_ns next_pss; /* the next periodic PSS read (run.c pss_due) */
    struct sampler *sampler;
    struct sample_req *req;
    int reqcap;
    /* The whole fleet's PSS sample (run.c fleet_pss_tick): not wanted yet, wanted (the
     * sampler was busy), asked, not back within SAMPLE_WAIT_NS (the run went on), back */
    enum {
        FLEET_PSS_NONE,
        FLEET_PSS_WANTED,
        FLEET_PSS_ASKED,
        FLEET_PSS_LATE,
        FLEET_PSS_DONE
    } fleet_pss;
    mono_ns whole_at; /* the fleet became whole (sched_whole): its PSS sample is wanted */
    int pss_got;      /* a sample has brought a guest's PSS */
    mono_ns end_wait; /* every guest gone: the end waits until then for the sample in flight */
    int aborted;      /* run_abort: the end waits for no sample */
    int ended;
    struct accel_memo *memo; /* the launcher's: profiles that fell back to TCG here */
    int nretried;            /* guests respawned under TCG after KVM failed them */
    int nstopped;            /* guests a ramp stopped before they were ready: a `failed` of reason
                              * `stopped`, which no counter takes for a failure */
    struct snap *snap;       /* start: snapshot: the template clones are restored from */
    struct spawner *sp;      /* synchronous backends: the thread that makes the spawn calls */
    int spawn_back;          /* a spawn has come back from it */
    struct {
        pid_t pid;
        int status;
    } early[RUN_EARLY_EXITS]; /* reaped before the spawner's report of their spawn */
    int nearly;
    int storm_begun;            /* the scheduler runs (at once, or once the template is saved) */
    int64_t prep_ns, state_kib; /* start: snapshot: preparing the template, its state file */
    int prepared_sent;          /* start: snapshot: `prepared` published, the go awaited */
    char error[256];
};

/* run.c: publishes e as a run event of guest idx (-1: the run's) stamped tm. */
void run_emit(struct run *r, struct ev *e, int idx, mono_ns tm);

/* run_guest.c */
void guest_ready(struct run *r, int idx, mono_ns now);
void guest_fail(struct run *r, int idx, const char *reason, const char *detail, mono_ns now);
void guest_spawn(struct run *r, int idx); /* starts instance idx (taken from the scheduler) */
/* Fills b for guest idx (g->accel chosen, g->port taken). Returns 0, or -1 with err. */
int guest_spawn_args(struct run *r, int idx, struct spawn_buf *b, char *err, size_t errlen);
/* Puts vm's pipes into the loop's epoll set, tagged for guest idx and the stream. Returns
 * how many are watched (one already there counts: a watch by the spawner thread,
 * run_spawn.c, that failed half-way), or -1 with errno. Safe from the spawner thread (epoll_ctl
 * only). */
int guest_watch(struct run *r, int idx, const struct vmm_guest *vm);
/* The stderr set (run.slowfd): opened and nested in epfd, closed; the tick re-arms it
 * when due and returns when it next wants to (INT64_MAX: nothing to do). */
int guest_slow_open(struct run *r, char *err, size_t errlen);
void guest_slow_close(struct run *r);
mono_ns guest_slow_tick(struct run *r, mono_ns now);
/* Guest idx's process exists (or the call failed, rc < 0): spawn and spawned events,
 * its fds watched (unless the spawner thread did: watched); call_start is when the
 * spawn call began. */
void guest_spawn_done(struct run *r, int idx, int rc, const char *err, mono_ns call_start,
                      mono_ns call_end, int watched);
/* run_on_child's part: pid is gone. Returns 1 if it was one of the run's guests. */
int guest_reaped(struct run *r, pid_t pid, int status);

/* run_spawn.c: the spawner thread (synchronous backends) */
int run_spawner_start(struct run *r, char *err, size_t errlen);
/* Hands what is due by now + RUN_SPAWN_AHEAD_NS to the spawner thread. */
void run_spawner_feed(struct run *r, mono_ns now);
/* Takes back what the spawner did: events published, fds watched. */
void run_spawner_drain(struct run *r);
void run_spawner_stop(struct run *r);
/* How far ahead of its due time an instance goes to the spawner thread: the loop may
 * be that late (stalls of 87 ms measured, near 1 s inferred, under a 128-guest storm) and the call
 * still starts on time. Only interval instances are due in the future. */
#define RUN_SPAWN_AHEAD_NS NS_PER_S
void guest_close_fds(struct run *r, struct guest *g);
/* Under auto, KVM failing guest idx (stderr, death, silence: accel_kvm_failure) makes
 * its profile TCG on this host and the guest be respawned under TCG when it is gone
 * (killed here unless gone). Returns 1 when idx is (being) retried. */
int guest_kvm_failed(struct run *r, int idx, int gone, mono_ns now);

#endif
