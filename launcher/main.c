/* bootstorm-launcher: the per-host worker. Connects to the collector, says hello,
 * sends heartbeats, runs the start commands it gets (one run at a time) and stops
 * every guest it started on abort, SIGINT and SIGTERM. main() is parse, set up, loop;
 * one epoll loop (the run's memory sampling has its own thread, sampler.c). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "accel.h"
#include "bzmq.h"
#include "envopt.h"
#include "hostinfo.h"
#include "log.h"
#include "numarg.h"
#include "outbox.h"
#include "paths.h"
#include "run.h"
#include "vmm.h"
#include "yamlcfg.h"

#define TAG_SIGNAL 1
#define TAG_TIMER 2
#define TAG_ZMQ 3
#define RESEND_MS 2000
/* Events go to libzmq together, on the first loop turn once the oldest waiting is
 * SEND_DELAY_NS old, or by a timer at SEND_DELAY_MAX_NS: sent one by one, each woke
 * libzmq's I/O thread, and each batch the collector stored came back as an ack that
 * woke the loop (outbox.h, docs/SCALING.md, "Launcher CPU"). Their stamps are taken at
 * push. */
#define SEND_DELAY_NS (10 * NS_PER_MS)
#define SEND_DELAY_MAX_NS (50 * NS_PER_MS)
#define MAX_UNACKED 4000000

/* Why the loop woke during a run, logged at its end, so a question about the loop's
 * CPU starts from counts (docs/SCALING.md, "Launcher CPU per guest, third pass": the
 * wake-ups turned out not to be most of it). One epoll_wait return may carry several. */
enum wake_src {
    WAKE_GUEST,
    WAKE_TIMER,
    WAKE_SOCKET,
    WAKE_STDERR,
    WAKE_SIGNAL,
    WAKE_SAMPLER,
    WAKE_BACKEND,
    WAKE_NSRC
};

struct wakes {
    long returns, idle; /* epoll_wait returns; of which with nothing ready (its 50 ms) */
    long by[WAKE_NSRC];
};

/* What the command line says beyond the run configuration. */
struct options {
    const char *endpoint, *spool_dir, *server_key, *own_keys;
    int probe; /* run the KVM probe (not --no-kvm) */
    int heartbeat_ms, flush_s;
};

struct launcher {
    struct launcher_cfg cfg;
    struct accel_memo memo; /* per profile: KVM failed it here, TCG from then on */
    struct options opt;
    void *sock;
    struct outbox *ob;
    struct run *run;
    int epfd, sigfd, timerfd;
    mono_ns armed; /* the timerfd's expiry as set, 0 once it has fired */
    int stopping;
    int refused; /* the collector refused this launcher: leave */
    mono_ns next_heartbeat;
    /* The socket is drained only when its fd woke the loop or the outbox has sent since
     * the last drain (a send may take the fd's wake-up for a message that arrived):
     * each look costs libzmq two system calls, and the loop wakes for every console
     * read. */
    int zmq_woke;
    uint64_t sends_drained;
    struct wakes wakes; /* since the current run began: logged at its end */
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bootstorm-launcher [--connect ENDPOINT] [--host ID] [--guests DIR]\n"
               "                          [--images DIR] [--image NAME=PATH] [--no-kvm]\n"
               "                          [--heartbeat-ms MS]\n"
               "                          [--flush-timeout-s S] [--spool DIR] [--libvirt-uri URI]\n"
               "                          [--curve-server-key FILE [--curve-keys FILE]]\n"
               "                          [--help] [--version]\n"
               "  --curve-server-key FILE  the collector's public key: talk CURVE (encrypted)\n"
               "  --curve-keys FILE        this launcher's key pair (default: a fresh one)\n"
               "  --guests DIR, --images DIR  profiles / images looked up there first (also\n"
               "           BOOTSTORM_GUESTS, BOOTSTORM_IMAGES), then in the built-in folders\n"
               "  --image NAME=PATH        image file NAME (or kernel|initrd|disk) is PATH\n"
               "  BOOTSTORM_COLLECTOR, BOOTSTORM_CURVE_SERVER_KEY: defaults of --connect and\n"
               "           --curve-server-key (an option given wins)\n");
}

static void send_simple(struct launcher *l, enum ev_type type)
{
    struct ev e;
    ev_init(&e, type);
    if (type == EV_HELLO) {
        int64_t used;
        e.cores = hostinfo_cores();
        hostinfo_mem(&e.mem_total_kib, &used);
        e.kvm = l->cfg.kvm.ok;
        snprintf(e.backends, sizeof e.backends, "%s", vmm_names());
        snprintf(e.version, sizeof e.version, "%s", BS_VERSION);
    }
    outbox_push(l->ob, &e);
    if (type == EV_HELLO) /* at once, not with the next batch: a run may follow right away */
        outbox_flush(l->ob, clock_mono(), 1);
}

/* A run that could not start still ends, so the CLI waiting on it learns why. */
static void refuse_run(struct launcher *l, const struct ev *start, const char *why)
{
    log_err("run %s refused: %s", start->run, why);
    struct ev e;
    ev_init(&e, EV_RUN_END);
    snprintf(e.run, sizeof e.run, "%s", start->run);
    e.failed = start->count;
    /* no host prefix: the report names the host of each error (error:HOST) */
    snprintf(e.error, sizeof e.error, "%s", why);
    outbox_push(l->ob, &e);
    outbox_flush(l->ob, clock_mono(), 1);
}

/* ---- the collector's commands, one handler each ---- */

static void on_ack(struct launcher *l, const struct ev *e)
{
    if (outbox_ack(l->ob, e->ack))
        send_simple(l, EV_HELLO);
}

static void on_start(struct launcher *l, const struct ev *e)
{
    char err[256];
    if (l->stopping) {
        refuse_run(l, e, "launcher is stopping");
    } else if (l->run) {
        snprintf(err, sizeof err, "busy with run %s", run_id(l->run));
        refuse_run(l, e, err);
    } else if (!(l->run = run_start(e, &l->cfg, l->epfd, l->ob, err, sizeof err))) {
        refuse_run(l, e, err);
    } else {
        l->wakes = (struct wakes){0};
    }
}

/* Clock offset probe: answered at once, not seq-numbered. */
static void on_ping(struct launcher *l, const struct ev *e)
{
    struct ev p;
    ev_init(&p, EV_PONG);
    p.t2 = clock_real().ns;
    snprintf(p.host, sizeof p.host, "%s", l->cfg.host);
    p.t1 = e->t1;
    p.t3 = clock_real().ns;
    bzmq_send_ev(l->sock, NULL, 0, &p);
}

/* The collector refused us (a version it does not speak). */
static void on_reply(struct launcher *l, const struct ev *e)
{
    if (!e->ok) {
        log_err("collector: %s", e->error);
        l->refused = 1;
    }
}

static void on_abort(struct launcher *l, const struct ev *e)
{
    if (l->run && !strcmp(run_id(l->run), e->run))
        run_abort(l->run, "aborted by command");
}

static void on_go(struct launcher *l, const struct ev *e)
{
    if (l->run && !strcmp(run_id(l->run), e->run))
        run_go(l->run, e->at);
}

static const struct {
    enum ev_type type;
    void (*handle)(struct launcher *l, const struct ev *e);
} commands[] = {
    {EV_ACK, on_ack},     {EV_START, on_start}, {EV_PING, on_ping},
    {EV_REPLY, on_reply}, {EV_ABORT, on_abort}, {EV_GO, on_go},
};

static void on_command(struct launcher *l, const struct ev *e)
{
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (commands[i].type == e->type) {
            commands[i].handle(l, e);
            return;
        }
    log_warn("ignoring %s message from the collector", ev_type_name(e->type));
}

static void drain_socket(struct launcher *l)
{
    for (;;) {
        int events = 0;
        size_t sz = sizeof events;
        if (zmq_getsockopt(l->sock, ZMQ_EVENTS, &events, &sz) < 0 || !(events & ZMQ_POLLIN))
            return;
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, l->sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return;
        }
        struct ev e;
        char err[256];
        if (ev_decode(zmq_msg_data(&msg), zmq_msg_size(&msg), &e, err, sizeof err) < 0)
            log_warn("bad message from the collector: %s", err);
        else
            on_command(l, &e);
        zmq_msg_close(&msg);
    }
}

static void reap_children(struct launcher *l)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
        if (!l->run || !run_on_child(l->run, pid, status))
            log_debug("reaped unknown child %d", (int)pid);
}

static void on_signal(struct launcher *l)
{
    struct signalfd_siginfo si;
    while (read(l->sigfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGCHLD) {
            reap_children(l);
        } else if (!l->stopping) {
            log_info("signal %d: stopping every guest and leaving", (int)si.ssi_signo);
            l->stopping = 1;
            if (l->run)
                run_abort(l->run, "launcher stopped by signal");
        }
    }
}

/* Sets the timerfd only when the expiry changes: timerfd_settime was 53% of the loop's
 * CPU here when called every turn (perf: the hrtimer reprogrammed, under nested
 * virtualization; docs/SCALING.md, "Launcher CPU"), and most turns want the same
 * expiry. */
static void arm_timer(struct launcher *l, mono_ns at)
{
    struct itimerspec its = {0};
    if (at.ns <= 0)
        at.ns = 1;
    if (at.ns == l->armed.ns)
        return;
    l->armed = at;
    its.it_value.tv_sec = at.ns / NS_PER_S;
    its.it_value.tv_nsec = at.ns % NS_PER_S;
    timerfd_settime(l->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static int add_fd(int epfd, int fd, uint64_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag};
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void raise_nofile(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max; /* two pipes per guest: 1280 guests need > 2560 fds */
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- parse ---- */

static void set_defaults(struct launcher *l)
{
    *l = (struct launcher){.epfd = -1, .sigfd = -1, .timerfd = -1, .zmq_woke = 1};
    l->cfg.memo = &l->memo;
    l->opt = (struct options){
        .endpoint = "tcp://127.0.0.1:5555", .probe = 1, .heartbeat_ms = 1000, .flush_s = 5};
    if (gethostname(l->cfg.host, sizeof l->cfg.host) < 0 || ycfg_id_why(l->cfg.host))
        snprintf(l->cfg.host, sizeof l->cfg.host, "localhost"); /* not a valid id: --host */
    path_in_prefix(l->cfg.bindir, sizeof l->cfg.bindir, "bin");
    snprintf(l->cfg.libvirt_uri, sizeof l->cfg.libvirt_uri, "qemu:///system");
}

static const struct option long_opts[] = {{"connect", required_argument, 0, 'c'},
                                          {"host", required_argument, 0, 'H'},
                                          {"libvirt-uri", required_argument, 0, 'L'},
                                          {"guests", required_argument, 0, 'g'},
                                          {"images", required_argument, 0, 'i'},
                                          {"image", required_argument, 0, 'I'},
                                          {"no-kvm", no_argument, 0, 'n'},
                                          {"heartbeat-ms", required_argument, 0, 'b'},
                                          {"flush-timeout-s", required_argument, 0, 'f'},
                                          {"help", no_argument, 0, 'h'},
                                          {"version", no_argument, 0, 'V'},
                                          {"spool", required_argument, 0, 'S'},
                                          {"curve-server-key", required_argument, 0, 'K'},
                                          {"curve-keys", required_argument, 0, 'k'},
                                          {0, 0, 0, 0}};

/* One option. Returns 0, or -1 with the reason in err. */
static int set_option(struct launcher *l, int c, const char *arg, char *err, size_t errlen)
{
    struct launcher_cfg *cfg = &l->cfg;
    int64_t v = 0;
    switch (c) {
    case 'c':
        l->opt.endpoint = arg;
        return 0;
    case 'H':
        if (ycfg_id_check("--host", arg, err, errlen) < 0)
            return -1;
        snprintf(cfg->host, sizeof cfg->host, "%s", arg);
        return 0;
    case 'g':
        return gp_add_guests(&cfg->paths, arg, err, errlen);
    case 'i':
        return gp_add_images(&cfg->paths, arg, err, errlen);
    case 'I':
        return gp_add_image(&cfg->paths, arg, err, errlen);
    case 'L':
        snprintf(cfg->libvirt_uri, sizeof cfg->libvirt_uri, "%s", arg);
        return 0;
    case 'S':
        l->opt.spool_dir = arg;
        return 0;
    case 'K':
        l->opt.server_key = arg;
        return 0;
    case 'k':
        l->opt.own_keys = arg;
        return 0;
    case 'n':
        l->opt.probe = 0;
        return 0;
    case 'b':
        if (numarg_int("--heartbeat-ms", arg, 10, 3600000, &v, err, errlen) < 0)
            return -1;
        l->opt.heartbeat_ms = (int)v;
        return 0;
    case 'f':
        if (numarg_int("--flush-timeout-s", arg, 0, 86400, &v, err, errlen) < 0)
            return -1;
        l->opt.flush_s = (int)v;
        return 0;
    }
    snprintf(err, errlen, "unknown option");
    return -1;
}

/* Returns -1 to go on, else the exit status (0 after --help or --version). */
static int parse_args(struct launcher *l, int argc, char **argv)
{
    char err[256];
    int c;
    while ((c = getopt_long(argc, argv, "c:H:g:i:I:nb:f:hS:L:K:k:", long_opts, NULL)) != -1) {
        if (c == 'h' || c == 'V' || c == '?') {
            if (c == 'V')
                printf("bootstorm-launcher %s\n", BS_VERSION);
            else
                usage(c == 'h' ? stdout : stderr);
            return c == '?' ? 2 : 0;
        }
        if (set_option(l, c, optarg, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm-launcher: %s\n", err);
            return 2;
        }
    }
    if (gp_finish(&l->cfg.paths, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm-launcher: %s\n", err);
        return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "bootstorm-launcher: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (!ycfg_valid_id(l->cfg.host, NULL)) {
        fprintf(stderr, "bootstorm-launcher: --host '%s': only letters, digits, '-', '_' and '.'\n",
                l->cfg.host);
        return 2;
    }
    return -1;
}

/* ---- set up ---- */

/* Before any thread exists (libzmq's I/O thread inherits it): the loop must keep its
 * schedule while the guests it starts saturate every core. Guests get nice 0 back in
 * procspawn.c. Then the KVM probe, whose answer every run's accel choice uses. */
static void set_up_host(struct launcher *l)
{
    raise_nofile();
    l->cfg.prio_raised = setpriority(PRIO_PROCESS, 0, -10) == 0;
    if (!l->cfg.prio_raised)
        log_warn("cannot raise the launcher's priority (%s): launches may lag under load",
                 strerror(errno));
    if (!l->opt.probe) {
        snprintf(l->cfg.kvm.why, sizeof l->cfg.kvm.why, "disabled by --no-kvm");
        return;
    }
    char kernel[PATH_MAX + 32];
    gp_image_file(&l->cfg.paths, "minkernel.elf", kernel, sizeof kernel);
    mono_ns t = clock_mono();
    l->cfg.kvm.ok = accel_probe_kvm(kernel, 5000, l->cfg.kvm.why, sizeof l->cfg.kvm.why);
    log_info("KVM probe (%lld ms): %s%s", (long long)(mono_diff(t, clock_mono()) / NS_PER_MS),
             l->cfg.kvm.ok ? "usable" : "not usable: ", l->cfg.kvm.why);
}

/* signalfd (SIGCHLD, SIGINT, SIGTERM), timerfd and the socket's fd in one epoll set,
 * then the outbox. Returns 0, or -1 (logged). */
static int set_up_loop(struct launcher *l, const struct bzmq_curve *curve)
{
    char err[256];
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    signal(SIGPIPE, SIG_IGN);
    l->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    l->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (!(l->sock = bzmq_socket_curve(ZMQ_DEALER, l->opt.endpoint, 0,
                                      l->opt.server_key ? curve : NULL, err, sizeof err))) {
        log_err("%s", err);
        return -1;
    }
    int zfd;
    size_t zlen = sizeof zfd;
    zmq_getsockopt(l->sock, ZMQ_FD, &zfd, &zlen);
    if (l->sigfd < 0 || l->timerfd < 0 || l->epfd < 0 ||
        add_fd(l->epfd, l->sigfd, TAG_SIGNAL) < 0 || add_fd(l->epfd, l->timerfd, TAG_TIMER) < 0 ||
        add_fd(l->epfd, zfd, TAG_ZMQ) < 0) {
        log_err("event loop set-up: %s", strerror(errno));
        return -1;
    }
    if (!(l->ob =
              outbox_open(l->sock, l->cfg.host, l->opt.spool_dir, MAX_UNACKED, err, sizeof err))) {
        log_err("%s", err);
        return -1;
    }
    outbox_set_delay(l->ob, SEND_DELAY_NS, SEND_DELAY_MAX_NS);
    return 0;
}

/* ---- loop ---- */

static enum wake_src wake_src_of(uint64_t tag)
{
    switch (tag) {
    case TAG_SIGNAL:
        return WAKE_SIGNAL;
    case TAG_TIMER:
        return WAKE_TIMER;
    case TAG_ZMQ:
        return WAKE_SOCKET;
    case RUN_TAG_SLOW:
        return WAKE_STDERR;
    case RUN_TAG_SAMPLER:
        return WAKE_SAMPLER;
    case RUN_TAG_VMM:
        return WAKE_BACKEND;
    default:
        return WAKE_GUEST;
    }
}

static void log_wakes(const struct run *r, const struct wakes *w)
{
    log_info("run %s: the loop woke %ld times (%ld with nothing ready); for guest pipes %ld, "
             "the timer %ld, the collector's socket %ld, stderr sweeps %ld, signals %ld, the "
             "sampler %ld, the backend %ld",
             run_id(r), w->returns, w->idle, w->by[WAKE_GUEST], w->by[WAKE_TIMER],
             w->by[WAKE_SOCKET], w->by[WAKE_STDERR], w->by[WAKE_SIGNAL], w->by[WAKE_SAMPLER],
             w->by[WAKE_BACKEND]);
}

static void on_epoll(struct launcher *l, uint64_t tag)
{
    l->wakes.by[wake_src_of(tag)]++;
    if (tag == TAG_SIGNAL) {
        on_signal(l);
    } else if (tag == TAG_ZMQ) {
        l->zmq_woke = 1;
    } else if (tag == TAG_TIMER) {
        uint64_t x;
        if (read(l->timerfd, &x, sizeof x) == sizeof x)
            l->armed.ns = 0; /* fired: disarmed */
    } else if (!l->run) {
        return;
    } else if (tag == RUN_TAG_SLOW) {
        run_on_slow(l->run);
    } else if (tag == RUN_TAG_SAMPLER) {
        run_on_sampler(l->run);
    } else if (tag == RUN_TAG_VMM) {
        run_on_vmm(l->run);
    } else if (tag & RUN_TAG_GUEST) {
        run_on_fd(l->run, tag);
    }
}

/* The run's tick and the heartbeat; returns when the loop next wants to wake. */
static mono_ns tick(struct launcher *l, mono_ns now)
{
    mono_ns next = l->next_heartbeat;
    if (l->run) {
        mono_ns due = run_tick(l->run);
        if (run_finished(l->run)) {
            log_wakes(l->run, &l->wakes);
            run_free(l->run);
            l->run = NULL;
        } else if (due.ns < next.ns) {
            next = due;
        }
    }
    if (mono_diff(l->next_heartbeat, now) >= 0) {
        send_simple(l, EV_HEARTBEAT);
        l->next_heartbeat = mono_add(now, (int64_t)l->opt.heartbeat_ms * NS_PER_MS);
    }
    return next;
}

/* Until the collector refuses us, or a stop once the outbox is flushed (or the flush
 * timeout passed). */
static void loop(struct launcher *l)
{
    mono_ns flush_deadline = {0};
    for (;;) {
        mono_ns now = clock_mono(), next = tick(l, now);
        outbox_tick(l->ob, RESEND_MS);
        if (l->zmq_woke || outbox_sends(l->ob) != l->sends_drained) {
            drain_socket(l); /* the handlers' own sends are looked past by its last check */
            l->zmq_woke = 0;
            l->sends_drained = outbox_sends(l->ob);
        }
        if (l->refused)
            return;
        if (l->stopping && !l->run) {
            if (!flush_deadline.ns)
                flush_deadline = mono_add(now, (int64_t)l->opt.flush_s * NS_PER_S);
            if (outbox_pending(l->ob) == 0 || mono_diff(flush_deadline, now) >= 0)
                return;
        }
        mono_ns flush = outbox_flush(l->ob, now, l->stopping);
        arm_timer(l, flush.ns < next.ns ? flush : next);
        struct epoll_event evs[256];
        int n = epoll_wait(l->epfd, evs, 256, 50);
        l->wakes.returns++;
        l->wakes.idle += n == 0;
        for (int i = 0; i < n; i++)
            on_epoll(l, evs[i].data.u64);
    }
}

int main(int argc, char **argv)
{
    struct launcher l;
    struct bzmq_curve curve = {0};
    char err[256];
    log_init("launcher", LOG_INFO);
    set_defaults(&l);
    if (envopt_prepend(ENVOPT_COLLECTOR, "--connect", &argc, &argv) < 0 ||
        envopt_prepend(ENVOPT_CURVE_SERVER_KEY, "--curve-server-key", &argc, &argv) < 0)
        return 2;
    int rc = parse_args(&l, argc, argv);
    if (rc >= 0)
        return rc;
    if (bzmq_client_curve(l.opt.server_key, l.opt.own_keys, &curve, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm-launcher: %s\n", err);
        return 2;
    }
    set_up_host(&l);
    if (set_up_loop(&l, &curve) < 0)
        return 1;
    send_simple(&l, EV_HELLO);
    l.next_heartbeat = mono_add(clock_mono(), (int64_t)l.opt.heartbeat_ms * NS_PER_MS);
    log_info("host %s connected to %s%s", l.cfg.host, l.opt.endpoint,
             l.opt.server_key ? " (CURVE)" : "");
    loop(&l);
    outbox_flush(l.ob, clock_mono(), 1);
    size_t left = outbox_pending(l.ob);
    if (left)
        log_err("leaving with %zu events the collector has not acknowledged", left);
    log_info("bye: %lld events sent", (long long)outbox_last_seq(l.ob));
    outbox_free(l.ob);
    zmq_close(l.sock);
    bzmq_term();
    return l.refused ? 2 : left ? 1 : 0;
}
