/* `bootstorm run SCENARIO`: one run per count of the scenario (times repeat), each
 * sent as a start command through the collector, waited for in Redis and reported.
 * Without --redis it brings up the embedded Redis, collector and launcher itself. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "agg.h"
#include "bredis.h"
#include "bzmq.h"
#include "clock.h"
#include "cmd.h"
#include "embedded.h"
#include "log.h"
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

/* Starts one run: retries while no launcher is connected yet (the embedded one is
 * still probing KVM), up to wait_hosts_ms. Returns the number of hosts, or -1. */
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
        if (mono_diff(clock_mono(), end) <= 0 || interrupted) {
            fprintf(stderr, "bootstorm run: run %s not started: %s\n", start->run, reply.error);
            return -1;
        }
        nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
    }
}

static void usage(FILE *f)
{
    fprintf(f, "usage: bootstorm [--redis URL] [--data-dir DIR] run SCENARIO.yaml [--count N]\n"
               "                 [--collector ENDPOINT] [--hosts all|H1,H2|pool:NAME] [--json]\n"
               "                 [--curve-server-key FILE [--curve-keys FILE]]\n"
               "  --hosts  targets: all live launchers, host ids, pools (pool:NAME or a pool's\n"
               "           name), comma-separated; resolved by the collector\n"
               "  --curve-server-key FILE  the collector's public key (a collector bound beyond\n"
               "           loopback talks CURVE only); --curve-keys: our pair (default: fresh)\n");
}

int cmd_run(int argc, char **argv, const char *redis_url, const char *data_dir)
{
    const char *collector = "tcp://127.0.0.1:5555", *hosts = NULL, *server_key = NULL,
               *own_keys = NULL;
    struct bzmq_curve curve = {0};
    int count_override = 0, json = 0, rc = 2;
    static const struct option opts[] = {{"count", required_argument, 0, 'n'},
                                         {"collector", required_argument, 0, 'c'},
                                         {"hosts", required_argument, 0, 'H'},
                                         {"json", no_argument, 0, 'j'},
                                         {"curve-server-key", required_argument, 0, 'K'},
                                         {"curve-keys", required_argument, 0, 'k'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 0; /* 0, not 1: GNU getopt re-initialises (main parsed with "+") */
    while ((c = getopt_long(argc, argv, "n:c:H:jhK:k:", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            count_override = atoi(optarg);
            if (count_override < 1 || count_override > 100000) {
                fprintf(stderr, "bootstorm run: --count '%s': expected 1..100000\n", optarg);
                return 2;
            }
            break;
        case 'c':
            collector = optarg;
            break;
        case 'H':
            hosts = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'K':
            server_key = optarg;
            break;
        case 'k':
            own_keys = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return 2;
    }
    struct scenario sc;
    char err[512];
    if (bzmq_client_curve(server_key, own_keys, &curve, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return 2;
    }
    if (scenario_load(argv[optind], &sc, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        return 2;
    }
    if (count_override) {
        sc.counts[0] = count_override;
        sc.ncounts = 1;
    }
    if (hosts)
        snprintf(sc.hosts, sizeof sc.hosts, "%s", hosts);

    struct embedded em = {0};
    redisContext *rc_redis = NULL;
    void *sock = NULL;
    struct sigaction sa = {.sa_handler = on_interrupt};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (!redis_url) {
        if (embedded_start_redis(&em, data_dir, err, sizeof err) < 0 ||
            embedded_start_daemons(&em, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm run: embedded set-up: %s\n", err);
            goto out;
        }
        redis_url = em.redis_url;
        collector = em.collector;
        log_info("embedded Redis %s, collector %s, data in %s", em.redis_url, em.collector,
                 data_dir);
    }
    if (!(rc_redis = bredis_connect(redis_url, 5000, err, sizeof err))) {
        fprintf(stderr, "bootstorm run: %s\n", err);
        goto out;
    }
    char id[32];
    snprintf(id, sizeof id, "cli-%d", (int)getpid());
    if (!(sock = bzmq_socket_curve(ZMQ_DEALER, collector, 0, id, server_key ? &curve : NULL, err,
                                   sizeof err))) {
        fprintf(stderr, "bootstorm run: collector: %s\n", err);
        goto out;
    }

    int all_ready = 1;
    for (int i = 0; i < sc.ncounts && !interrupted; i++) {
        for (int rep = 0; rep < sc.repeat && !interrupted; rep++) {
            if ((i || rep) && sc.cooldown_s > 0)
                sleep((unsigned)sc.cooldown_s);
            struct ev start;
            scenario_to_start(&sc, sc.counts[i], &start);
            make_run_id(&sc, sc.counts[i], start.run, sizeof start.run);
            int nhosts = start_run(sock, &start, redis_url == em.redis_url ? 30000 : 5000);
            if (nhosts < 0) {
                all_ready = 0;
                goto report_done;
            }
            log_info("run %s started on %d host(s): %d x %s", start.run, nhosts, sc.counts[i],
                     sc.guest);
            int64_t budget_ms = (int64_t)sc.counts[i] * (sc.interval_ms) +
                                (sc.timeout_s + sc.hold_s) * 1000LL + 30000;
            mono_ns end = mono_add(clock_mono(), budget_ms * NS_PER_MS);
            int done = 0, aborted = 0;
            while (!done) {
                if (interrupted && !aborted) {
                    struct ev ab, reply;
                    ev_init(&ab, EV_ABORT);
                    snprintf(ab.run, sizeof ab.run, "%s", start.run);
                    interrupted = 0; /* let the abort's reply through, then stop after this run */
                    request(sock, &ab, &reply, 3000);
                    interrupted = 1;
                    aborted = 1;
                    fprintf(stderr, "bootstorm run: interrupted: run %s aborted\n", start.run);
                    end = mono_add(clock_mono(), 20 * NS_PER_S);
                }
                done = agg_wait_done(rc_redis, start.run, 250, err, sizeof err) == 0;
                if (!done && mono_diff(clock_mono(), end) <= 0) {
                    fprintf(stderr, "bootstorm run: run %s did not finish in %lld s\n", start.run,
                            (long long)(budget_ms / 1000));
                    break;
                }
            }
            struct agg_run ar;
            if (agg_load(rc_redis, start.run, &ar, err, sizeof err) < 0) {
                fprintf(stderr, "bootstorm run: %s\n", err);
                all_ready = 0;
                continue;
            }
            if (json)
                agg_print_json(&ar, stdout);
            else
                agg_print_text(&ar, stdout);
            fflush(stdout);
            /* every instance the pattern created became ready: restarts and ramps create more */
            if (!done || !ar.complete || ar.failed || ar.ready != ar.spawned ||
                ar.spawned < ar.total)
                all_ready = 0;
        }
    }
report_done:
    rc = all_ready && !interrupted ? 0 : 1;
out:
    if (sock)
        zmq_close(sock);
    bzmq_term();
    if (rc_redis)
        redisFree(rc_redis);
    embedded_stop(&em);
    return rc;
}
