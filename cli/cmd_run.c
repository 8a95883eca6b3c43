/* `bootstorm run [SCENARIO]`: one run per count of the scenario (times repeat), each
 * sent as a start command through the collector, waited for in Redis and reported.
 * Not for starting the embedded daemons (embedded.c) nor for rendering (aggregator/). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agg.h"
#include "agg_sweep.h"
#include "args.h"
#include "bredis.h"
#include "bslimits.h"
#include "bzmq.h"
#include "clock.h"
#include "cmd.h"
#include "embedded.h"
#include "log.h"
#include "guestpath.h"
#include "paths.h"
#include "progress.h"
#include "scenario.h"

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void make_run_id(const struct scenario *s, int count, char *out, size_t len)
{
    real_ns now = clock_real();
    time_t t = (time_t)(now.ns / NS_PER_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    char when[32];
    strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
    unsigned rnd = (unsigned)(now.ns ^ (getpid() * 2654435761u)) & 0xffff;
    snprintf(out, len, "%s-%.24s-%d-%04x", when, s->name, count, rnd);
}

/* Sends ev to the collector and waits for its reply (up to timeout_ms). */
static int request(void *sock, const struct ev *req, struct ev *reply, int timeout_ms)
{
    if (bzmq_send_ev(sock, NULL, 0, req) < 0)
        return -1;
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    for (;;) {
        int left = (int)(mono_diff(clock_mono(), end) / NS_PER_MS);
        if (left <= 0 || interrupted)
            return -1;
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, left) <= 0)
            continue;
        char buf[EV_MAX_BYTES], err[256];
        int n = zmq_recv(sock, buf, sizeof buf, 0);
        if (n > 0 &&
            ev_decode(buf, (size_t)(n > (int)sizeof buf ? (int)sizeof buf : n), reply, err,
                      sizeof err) == 0 &&
            reply->type == EV_REPLY && !strcmp(reply->run, req->run))
            return 0;
    }
}

/* The collector refused a start because a launcher it needs is not connected (yet):
 * "no live launcher among ...", "launcher 'H' is not connected". */
static int launcher_missing(const char *error)
{
    return strstr(error, "no live launcher") || strstr(error, "is not connected");
}

/* Starts one run: retries while no launcher is connected yet (a remote one may be
 * reconnecting), up to wait_hosts_ms; any other refusal is final. Returns the number
 * of hosts, or -1. */
static int start_run(void *sock, struct ev *start, int wait_hosts_ms)
{
    mono_ns end = mono_add(clock_mono(), (int64_t)wait_hosts_ms * NS_PER_MS);
    struct ev reply;
    for (;;) {
        start->tr = clock_real();
        start->tm = clock_mono();
        if (request(sock, start, &reply, 5000) < 0) {
            fprintf(stderr, "bootstorm run: the collector did not answer the start of run %s\n",
                    start->run);
            return -1;
        }
        if (reply.ok)
            return (int)reply.count;
        if (mono_diff(clock_mono(), end) <= 0 || interrupted || !launcher_missing(reply.error)) {
            fprintf(stderr, "bootstorm run: run %s not started: %s\n", start->run, reply.error);
            return -1;
        }
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
    }
}

static const char usage[] =
    "usage: bootstorm [--redis URL] [--data-dir DIR] run [SCENARIO.yaml] [--count N]\n"
    "                 [--collector ENDPOINT] [--hosts all|H1,H2|pool:NAME] [--json]\n"
    "                 [--guests DIR] [--images DIR] [--image NAME=PATH ...]\n"
    "                 [--curve-server-key FILE [--curve-keys FILE]] [--quiet]\n"
    "  SCENARIO defaults to the default storm, <prefix>/share/scenarios/default.yaml\n"
    "  --count  guests per host (1..100000), instead of the scenario's counts (not for\n"
    "           ramp scenarios: their trace sets the count)\n"
    "  --guests DIR, --images DIR  the embedded launcher looks for profiles / images there\n"
    "           first (also BOOTSTORM_GUESTS, BOOTSTORM_IMAGES), then in the built-in ones\n"
    "  --image NAME=PATH  image file NAME (or kernel|initrd|disk) is PATH (embedded)\n"
    "  --hosts  targets: all live launchers, host ids, pools (pool:NAME or a pool's\n"
    "           name), comma-separated; resolved by the collector\n"
    "  --json   each run's report as one JSON object on its own line\n"
    "  a sweep (several counts or repeat > 1) ends with its summary by count (with --json\n"
    "           one more object, \"summary\": true), as `bootstorm sweep` prints it\n"
    "  --sweep-plot DIR  and the boot-storm curve into DIR (sweep.png, .svg; gnuplot)\n"
    "  --quiet  no live progress on stderr (a line updated in place on a terminal,\n"
    "           else a line every 5 s and one at the end)\n"
    "  --curve-server-key FILE  the collector's public key (a collector bound beyond\n"
    "           loopback talks CURVE only); --curve-keys: our pair (default: fresh)\n";

#define LAUNCHER_ARGS_MAX 48

struct run_opts {
    const char *scenario, *collector, *hosts, *server_key, *own_keys, *sweep_plot;
    int64_t count; /* 0: the scenario's */
    int json, quiet;
    struct guest_paths *gp;             /* --guests, --images, --image: the embedded set-up's */
    char *largs[LAUNCHER_ARGS_MAX + 1]; /* the same, passed on to the embedded launcher */
    int nlargs;
};

static const struct option opts[] = {{"count", required_argument, 0, 'n'},
                                     {"collector", required_argument, 0, 'c'},
                                     {"hosts", required_argument, 0, 'H'},
                                     {"json", no_argument, 0, 'j'},
                                     {"sweep-plot", required_argument, 0, 'S'},
                                     {"quiet", no_argument, 0, 'q'},
                                     {"curve-server-key", required_argument, 0, 'K'},
                                     {"curve-keys", required_argument, 0, 'k'},
                                     {"guests", required_argument, 0, 'g'},
                                     {"images", required_argument, 0, 'i'},
                                     {"image", required_argument, 0, 'I'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

/* --guests DIR, --images DIR, --image NAME=PATH: kept for the CLI's own look-up of
 * the guest and passed on to the embedded launcher. Returns 0 or -1 (printed). */
static int guest_option(struct run_opts *o, int c, char *arg)
{
    static const char *const names[] = {"--guests", "--images", "--image"};
    const char *name = names[c == 'g' ? 0 : c == 'i' ? 1 : 2];
    char err[512];
    int rc = c == 'g'   ? gp_add_guests(o->gp, arg, err, sizeof err)
             : c == 'i' ? gp_add_images(o->gp, arg, err, sizeof err)
                        : gp_add_image(o->gp, arg, err, sizeof err);
    if (rc == 0 && o->nlargs + 2 > LAUNCHER_ARGS_MAX) {
        snprintf(err, sizeof err, "too many --guests, --images and --image");
        rc = -1;
    }
    if (rc < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return -1;
    }
    o->largs[o->nlargs++] = (char *)name;
    o->largs[o->nlargs++] = arg;
    return 0;
}

/* Fills *o from the command line; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct run_opts *o, char *dflt, size_t dlen)
{
    int c;
    optind = 0; /* 0, not 1: GNU getopt re-initialises (main parsed with "+") */
    while ((c = getopt_long(argc, argv, "n:c:H:jqhK:k:g:i:I:S:", opts, NULL)) != -1) {
        switch (c) {
        case 'g':
        case 'i':
        case 'I':
            if (guest_option(o, c, optarg) < 0)
                return ARGS_USAGE;
            break;
        case 'n':
            if (args_int("run", "--count", optarg, 1, LIM_COUNT_MAX, &o->count) < 0)
                return ARGS_USAGE;
            break;
        case 'c':
            o->collector = optarg;
            break;
        case 'H':
            if (scenario_hosts_why(optarg)) {
                char why[160];
                snprintf(why, sizeof why, "--hosts: %s, got", scenario_hosts_why(optarg));
                return args_bad("run", usage, why, optarg);
            }
            o->hosts = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'S':
            o->sweep_plot = optarg;
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'K':
            o->server_key = optarg;
            break;
        case 'k':
            o->own_keys = optarg;
            break;
        default:
            return args_usage(usage, c == 'h');
        }
    }
    if (argc - optind > 1)
        return args_bad("run", usage, "one scenario only; unexpected", argv[optind + 1]);
    o->scenario =
        optind < argc ? argv[optind] : path_in_prefix(dflt, dlen, "share/scenarios/default.yaml");
    return -1;
}

#define REDIS_TIMEOUT_MS 5000

/* The Redis connection of the run, remade when it fails (Redis restarted mid-run). */
struct rlink {
    redisContext *c;
    const char *url;
    int progress; /* show live progress of the runs on stderr (not --quiet) */
};

/* Sends an abort of run `id` to the collector after Ctrl-C. */
static void abort_run(void *sock, const char *id)
{
    struct ev ab, reply;
    ev_init(&ab, EV_ABORT);
    snprintf(ab.run, sizeof ab.run, "%s", id);
    interrupted = 0; /* let the abort's reply through, then stop after this run */
    request(sock, &ab, &reply, 3000);
    interrupted = 1;
    fprintf(stderr, "bootstorm run: interrupted: run %s aborted\n", id);
}

#define PROGRESS_PERIOD_NS (5 * NS_PER_S) /* a plain progress line this often (no tty) */

/* Reads and shows the run's progress (p NULL: --quiet); end: the last line. A Redis
 * error is left to the wait loop (it reconnects). */
static void show_progress(struct rlink *r, struct progress *p, int end)
{
    static struct progress_counts pc;
    char err[256];
    if (!p || !r->c || (progress_read(r->c, p->run, &pc, err, sizeof err) < 0 && !end))
        return;
    if (end)
        progress_end(p, &pc, clock_mono());
    else
        progress_show(p, &pc, clock_mono());
}

/* The wait of wait_run: 1 when run `id` is done, 0 when Redis did not come back, -1
 * when its budget (20 s after an abort) ran out; progress shown through p (NULL: none). */
static int wait_loop(void *sock, struct rlink *r, const char *id, int64_t budget_ms,
                     struct progress *p)
{
    char err[512];
    mono_ns end = mono_add(clock_mono(), budget_ms * NS_PER_MS);
    int aborted = 0;
    for (;;) {
        if (interrupted && !aborted) {
            progress_break(p);
            abort_run(sock, id);
            aborted = 1;
            end = mono_add(clock_mono(), 20 * NS_PER_S);
        }
        mono_ns asked = clock_mono();
        if (agg_wait_done(r->c, id, 250, err, sizeof err) == 0)
            return 1;
        if (r->c->err) {
            progress_break(p); /* "lost Redis" on its own line */
            if (cmd_reconnect("run", r->url, &r->c) < 0)
                return 0;
        }
        show_progress(r, p, 0);
        if (mono_diff(asked, clock_mono()) < 200 * NS_PER_MS) /* an error reply: do not spin */
            nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
        if (mono_diff(clock_mono(), end) <= 0)
            return -1;
    }
}

/* Waits until run `id` is done, aborting it on Ctrl-C and reconnecting to a Redis that
 * went away, showing progress on stderr; 1 when done in its budget, 0 if not (or Redis
 * did not come back). */
static int wait_run(void *sock, struct rlink *r, const char *id, int64_t budget_ms)
{
    static struct progress prog;
    struct progress *p = r->progress ? &prog : NULL;
    if (p)
        progress_init(p, id, stderr, isatty(2), PROGRESS_PERIOD_NS, clock_mono());
    int done = wait_loop(sock, r, id, budget_ms, p);
    show_progress(r, p, 1);
    if (done < 0)
        fprintf(stderr, "bootstorm run: run %s did not finish in %lld s\n", id,
                (long long)(budget_ms / 1000));
    return done > 0;
}

/* The runs reported so far, for the summary at the end of a sweep (NULL: none kept). */
static struct agg_sweep *sweep;

/* Reports run `id`; returns 1 when every instance the pattern created became ready
 * (restarts and ramps create more than the count). */
static int report_run(struct rlink *r, const char *id, int done, int json)
{
    static struct agg_run ar;
    char err[512];
    if (!r->c) /* Redis did not come back (wait_run said so) */
        return 0;
    int rc = agg_load(r->c, id, &ar, err, sizeof err);
    /* Redis may go away between the wait and the report */
    if (rc < 0 && r->c->err && cmd_reconnect("run", r->url, &r->c) == 0)
        rc = agg_load(r->c, id, &ar, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return 0;
    }
    if (sweep && agg_sweep_add(sweep, &ar) < 0)
        fprintf(stderr, "bootstorm run: run %s left out of the sweep's summary\n", id);
    if (json && agg_print_json(&ar, stdout) < 0)
        fprintf(stderr, "bootstorm run: cannot write the JSON report of %s\n", id);
    else if (!json)
        agg_print_text(&ar, stdout);
    fflush(stdout);
    if (ar.errors[0]) /* a launcher refused or broke off the run: say why where it is seen */
        fprintf(stderr, "bootstorm run: run %s: %s\n", id, ar.errors);
    return done && ar.complete && !ar.failed && !ar.errors[0] &&
           ar.ready + ar.stopped == ar.spawned && ar.spawned >= ar.total;
}

/* One run of count guests: start, wait, report. Returns 1 if all became ready, 0 if
 * not, -1 when it could not start. */
static int run_one(void *sock, struct rlink *r, const struct scenario *sc, int count,
                   int wait_hosts_ms, int json)
{
    struct ev start;
    scenario_to_start(sc, count, &start);
    make_run_id(sc, count, start.run, sizeof start.run);
    int nhosts = start_run(sock, &start, wait_hosts_ms);
    if (nhosts < 0)
        return -1;
    log_info("run %s started on %d host(s): %d x %s", start.run, nhosts, count, sc->guest);
    int64_t budget_ms =
        (int64_t)count * (sc->interval_ms) + (sc->timeout_s + sc->hold_s) * 1000LL + 30000;
    int done = wait_run(sock, r, start.run, budget_ms);
    return report_run(r, start.run, done, json);
}

/* Every count of the scenario, repeat times each. Returns 1 if all became ready. */
static int run_all(void *sock, struct rlink *r, const struct scenario *sc, int wait_hosts_ms,
                   int json)
{
    int all_ready = 1;
    for (int i = 0; i < sc->ncounts && !interrupted; i++)
        for (int rep = 0; rep < sc->repeat && !interrupted && r->c; rep++) {
            if ((i || rep) && sc->cooldown_s > 0)
                sleep((unsigned)sc->cooldown_s);
            int ok = run_one(sock, r, sc, sc->counts[i], wait_hosts_ms, json);
            if (ok < 0)
                return 0;
            all_ready &= ok;
        }
    return all_ready;
}

/* After a sweep (or with --sweep-plot), the summary of the runs reported: the same as
 * `bootstorm sweep` prints for them (aggregator/agg_sweep.c). 0, or -1 (printed). */
static int summarise(struct agg_sweep *s, const struct scenario *sc, const struct run_opts *o)
{
    char err[512];
    int rc = 0;
    agg_sweep_finish(s);
    int want = s->nruns && (sc->ncounts * sc->repeat > 1 || o->sweep_plot);
    if (want && !o->json)
        putchar('\n'); /* after the last run's report */
    if (want && agg_sweep_report(s, o->json, o->sweep_plot, stdout, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: sweep summary: %s\n", err);
        rc = -1;
    }
    agg_sweep_free(s);
    return rc;
}

/* Loads the scenario and applies the command line's overrides. Returns 0 or -1. */
static int load_scenario(const struct run_opts *o, struct scenario *sc)
{
    char err[512];
    if (scenario_load(o->scenario, sc, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return -1;
    }
    if (o->count && !strcmp(sc->pattern, "ramp")) {
        fprintf(stderr,
                "bootstorm run: --count does not apply to ramp scenario %s: its ramp "
                "trace sets how many guests run; edit the trace instead\n",
                o->scenario);
        return -1;
    }
    if (o->count) {
        sc->counts[0] = (int)o->count;
        sc->ncounts = 1;
    }
    if (o->hosts)
        snprintf(sc->hosts, sizeof sc->hosts, "%s", o->hosts);
    return 0;
}

/* The embedded set-up: the CLI sees the launcher's profiles and images, so an unknown
 * guest or a missing image is refused before anything is started or stored. */
static int check_guest(const struct run_opts *o, const struct scenario *sc)
{
    static const char *const keys[] = {"kernel", "initrd", "disk"};
    struct profile p;
    char err[1400], path[PATH_MAX];
    if (gp_finish(o->gp, err, sizeof err) < 0 ||
        gp_load(o->gp, sc->guest, &p, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: %s: %s\n", o->scenario, err);
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = gp_image(o->gp, &p, keys[i], path, sizeof path, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "bootstorm run: %s: %s (--images DIR or --image NAME=PATH)\n", o->scenario,
                err);
    profile_free(&p);
    return rc;
}

/* Brings up the embedded stack when no Redis was given, then connects to Redis and
 * the collector. Returns 0 or -1 (printed); the caller cleans up either way. */
static int connect_all(struct run_opts *o, const struct bzmq_curve *curve, const char **redis_url,
                       const char *data_dir, struct embedded *em, redisContext **c, void **sock)
{
    char err[512];
    if (!*redis_url) {
        if (embedded_start_redis(em, data_dir, err, sizeof err) < 0 ||
            embedded_start_daemons(em, o->largs, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm run: embedded set-up: %s\n", err);
            return -1;
        }
        *redis_url = em->redis_url;
        o->collector = em->collector;
        log_info("embedded Redis %s, collector %s, data in %s", em->redis_url, em->collector,
                 data_dir);
    }
    if (!(*c = bredis_connect(*redis_url, REDIS_TIMEOUT_MS, err, sizeof err))) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return -1;
    }
    if (em->launcher && embedded_wait_launcher(em, *c, 30000, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: embedded set-up: %s\n", err);
        return -1; /* its hello, not a refused start, tells it is there (KVM probe first) */
    }
    if (!(*sock = bzmq_socket_curve(ZMQ_DEALER, o->collector, 0, o->server_key ? curve : NULL, err,
                                    sizeof err))) {
        fprintf(stderr, "bootstorm run: collector: %s\n", err);
        return -1;
    }
    return 0;
}

int cmd_run(int argc, char **argv, const char *redis_url, const char *data_dir)
{
    static struct guest_paths gp;
    struct run_opts o = {.collector = "tcp://127.0.0.1:5555", .gp = &gp};
    struct bzmq_curve curve = {0};
    struct scenario sc;
    char err[512], dflt[4096];
    int rc = parse(argc, argv, &o, dflt, sizeof dflt);
    if (rc >= 0)
        return rc;
    if (bzmq_client_curve(o.server_key, o.own_keys, &curve, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return ARGS_USAGE;
    }
    if (load_scenario(&o, &sc) < 0)
        return ARGS_USAGE;
    if (redis_url && o.nlargs) {
        fprintf(stderr, "bootstorm run: --guests, --images and --image apply to the embedded "
                        "launcher; remote launchers take them on their own command line\n");
        return ARGS_USAGE;
    }
    if (!redis_url && check_guest(&o, &sc) < 0)
        return ARGS_FAIL;
    struct embedded em = {0};
    redisContext *c = NULL;
    void *sock = NULL;
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    rc = ARGS_USAGE;
    if (connect_all(&o, &curve, &redis_url, data_dir, &em, &c, &sock) == 0) {
        struct rlink r = {c, redis_url, !o.quiet};
        static struct agg_sweep sw;
        sweep = &sw;
        int all_ready = run_all(sock, &r, &sc, redis_url == em.redis_url ? 30000 : 5000, o.json);
        c = r.c;                                   /* remade if Redis went away */
        int summed = summarise(&sw, &sc, &o) == 0; /* even when some runs failed */
        rc = all_ready && summed && !interrupted ? ARGS_OK : ARGS_FAIL;
    }
    if (sock)
        zmq_close(sock);
    bzmq_term();
    if (c)
        redisFree(c);
    embedded_stop(&em);
    return rc;
}
