/* bootstorm-collector: options and signals; the work is in coll.c. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bzmq.h"
#include "coll.h"
#include "log.h"
#include "paths.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bootstorm-collector [options]\n"
            "  --bind ENDPOINT       ZeroMQ endpoint for launchers and the CLI "
            "(default tcp://127.0.0.1:5555)\n"
            "  --redis URL           redis://HOST:PORT[/DB] or unix:///PATH "
            "(default redis://127.0.0.1:6379)\n"
            "  --lua PATH            the Redis Function library "
            "(default <bindir>/../share/bootstorm.lua)\n"
            "  --ready-file PATH     write \"ok\\n\" there once bound and the library is loaded\n"
            "  --stats-interval S    seconds between stats lines, 0 = none (default 10)\n"
            "  --curve-secret FILE   CURVE key pair of the collector (bootstorm keys gen);\n"
            "                        required to bind anything but loopback\n"
            "  --start-lead-ms MS    a start begins this long after the collector got it, on\n"
            "                        every host at once (default 1000)\n"
            "  --version, --help\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"bind", required_argument, 0, 'b'},
                                             {"redis", required_argument, 0, 'r'},
                                             {"lua", required_argument, 0, 'l'},
                                             {"ready-file", required_argument, 0, 'R'},
                                             {"stats-interval", required_argument, 0, 's'},
                                             {"curve-secret", required_argument, 0, 'C'},
                                             {"start-lead-ms", required_argument, 0, 'L'},
                                             {"version", no_argument, 0, 'V'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    char lua[PATH_MAX + 32];
    struct coll_opts o = {
        "tcp://127.0.0.1:5555", "redis://127.0.0.1:6379", NULL, NULL, 10, NULL, NS_PER_S};
    struct bzmq_curve curve = {.server = 1};
    const char *curve_file = NULL;
    long lead_ms;
    log_init("collector", LOG_INFO);
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        char *end;
        switch (c) {
        case 'b':
            o.bind = optarg;
            break;
        case 'r':
            o.redis_url = optarg;
            break;
        case 'l':
            o.lua_path = optarg;
            break;
        case 'R':
            o.ready_file = optarg;
            break;
        case 's':
            o.stats_interval_s = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || o.stats_interval_s < 0 || o.stats_interval_s > 86400) {
                fprintf(stderr, "bootstorm-collector: --stats-interval: 0..86400 seconds\n");
                return 2;
            }
            break;
        case 'C':
            curve_file = optarg;
            break;
        case 'L':
            lead_ms = strtol(optarg, &end, 10);
            if (*end || end == optarg || lead_ms < 0 || lead_ms > 600000) {
                fprintf(stderr, "bootstorm-collector: --start-lead-ms: 0..600000\n");
                return 2;
            }
            o.start_lead_ns = lead_ms * NS_PER_MS;
            break;
        case 'V':
            printf("bootstorm-collector %s\n", BS_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    /* DESIGN: CURVE authenticates and encrypts; without it nothing may leave the host. */
    if (curve_file) {
        char err[512];
        if (bzmq_key_load(curve_file, curve.public_key, curve.secret_key, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm-collector: --curve-secret: %s\n", err);
            return 2;
        }
        o.curve = &curve;
    } else if (!bzmq_endpoint_is_loopback(o.bind)) {
        fprintf(stderr,
                "bootstorm-collector: refusing to bind %s without CURVE keys: only loopback "
                "(tcp://127.0.0.1:PORT, tcp://[::1]:PORT, ipc://) is allowed in the clear; give "
                "--curve-secret FILE (bootstorm keys gen DIR)\n",
                o.bind);
        return 2;
    }
    if (!o.lua_path) {
        path_in_prefix(lua, sizeof lua, "share/bootstorm.lua");
        o.lua_path = lua;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return coll_run(&o, &stop) == 0 ? 0 : 1;
}
