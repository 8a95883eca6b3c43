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
#include "envopt.h"
#include "log.h"
#include "numarg.h"
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
            "  --curve-allow FILE    admit only the CURVE client keys listed there, one\n"
            "                        'PUBLIC-KEY ID' per line (ID: the launcher's host id, or\n"
            "                        'cli'); a key speaks only as its own id\n"
            "  --start-lead-ms MS    a start begins this long after the collector got it, on\n"
            "                        every host at once (default 1000)\n"
            "  --keep-runs N         once a run ends, remove the runs beyond the newest N\n"
            "                        (0 = keep all, the default; also BOOTSTORM_KEEP_RUNS);\n"
            "                        runs still running are kept (docs/RETENTION.md)\n"
            "  --version, --help\n");
}

struct cli {
    struct coll_opts o;
    struct bzmq_curve curve;
    const char *curve_file;
    char lua[PATH_MAX + 32];
};

/* One numeric option through numarg. Returns 0, or -1 with the message printed. */
static int num_opt(const char *name, int64_t lo, int64_t hi, int64_t *out)
{
    char err[256];
    if (numarg_int(name, optarg, lo, hi, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm-collector: %s\n", err);
    return -1;
}

/* BOOTSTORM_KEEP_RUNS, the default of --keep-runs. Returns 0, or -1 (printed). */
static int keep_runs_env(struct cli *a)
{
    const char *v = envopt_get(ENVOPT_KEEP_RUNS);
    char err[256];
    if (!v ||
        numarg_int("BOOTSTORM_KEEP_RUNS", v, 0, 1000000, &a->o.keep_runs, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm-collector: %s\n", err);
    return -1;
}

/* Parses argv into a. Returns -1 to go on, else the exit status (0 for --help/--version). */
static int parse(int argc, char **argv, struct cli *a)
{
    static const struct option longopts[] = {{"bind", required_argument, 0, 'b'},
                                             {"redis", required_argument, 0, 'r'},
                                             {"lua", required_argument, 0, 'l'},
                                             {"ready-file", required_argument, 0, 'R'},
                                             {"stats-interval", required_argument, 0, 's'},
                                             {"curve-secret", required_argument, 0, 'C'},
                                             {"curve-allow", required_argument, 0, 'A'},
                                             {"start-lead-ms", required_argument, 0, 'L'},
                                             {"keep-runs", required_argument, 0, 'K'},
                                             {"version", no_argument, 0, 'V'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    int64_t n;
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        switch (c) {
        case 'b':
            a->o.bind = optarg;
            break;
        case 'r':
            a->o.redis_url = optarg;
            break;
        case 'l':
            a->o.lua_path = optarg;
            break;
        case 'R':
            a->o.ready_file = optarg;
            break;
        case 'C':
            a->curve_file = optarg;
            break;
        case 'A':
            a->o.curve_allow = optarg;
            break;
        case 's':
            if (num_opt("--stats-interval", 0, 86400, &n) < 0)
                return 2;
            a->o.stats_interval_s = (int)n;
            break;
        case 'L':
            if (num_opt("--start-lead-ms", 0, 600000, &n) < 0)
                return 2;
            a->o.start_lead_ns = n * NS_PER_MS;
            break;
        case 'K':
            if (num_opt("--keep-runs", 0, 1000000, &a->o.keep_runs) < 0)
                return 2;
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
    return -1;
}

/* CURVE keys, the bind policy and the library path. Returns 0, or -1 with the reason
 * printed. */
static int set_up(struct cli *a)
{
    /* DESIGN: CURVE authenticates and encrypts; without it nothing may leave the host. */
    if (a->curve_file) {
        char err[512];
        if (bzmq_key_load(a->curve_file, a->curve.public_key, a->curve.secret_key, err,
                          sizeof err) < 0) {
            fprintf(stderr, "bootstorm-collector: --curve-secret: %s\n", err);
            return -1;
        }
        a->o.curve = &a->curve;
    } else if (a->o.curve_allow) {
        fprintf(stderr, "bootstorm-collector: --curve-allow needs --curve-secret\n");
        return -1;
    } else if (!bzmq_endpoint_is_loopback(a->o.bind)) {
        fprintf(stderr,
                "bootstorm-collector: refusing to bind %s without CURVE keys: only loopback "
                "(tcp://127.0.0.1:PORT, tcp://[::1]:PORT, ipc://) is allowed in the clear; give "
                "--curve-secret FILE (bootstorm keys gen DIR)\n",
                a->o.bind);
        return -1;
    }
    if (!a->o.lua_path) {
        path_in_prefix(a->lua, sizeof a->lua, "share/bootstorm.lua");
        a->o.lua_path = a->lua;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

int main(int argc, char **argv)
{
    static struct cli a = {
        .o = {.bind = "tcp://127.0.0.1:5555",
              .redis_url = "redis://127.0.0.1:6379",
              .stats_interval_s = 10,
              .start_lead_ns = NS_PER_S},
        .curve = {.server = 1},
    };
    log_init("collector", LOG_INFO);
    if (keep_runs_env(&a) < 0)
        return 2;
    int rc = parse(argc, argv, &a);
    if (rc >= 0)
        return rc;
    if (set_up(&a) < 0)
        return 2;
    return coll_run(&a.o, &stop) == 0 ? 0 : 1;
}
