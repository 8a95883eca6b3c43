/* bootstorm: the command users type. Global options, then one subcommand; queries
 * against a local data dir open its embedded Redis (cmd_connect: started for the query,
 * or attached to when another command runs one) after they have parsed their options.
 * Not for any subcommand's work (cmd_*.c). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bredis.h"
#include "cmd.h"
#include "embedded.h"
#include "envopt.h"
#include "log.h"

#define REDIS_TIMEOUT_MS 5000

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: bootstorm [--redis URL] [--data-dir DIR] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  run [SCENARIO.yaml] [--count N] [--json]  run a scenario (default: the default\n"
        "                                          storm), print its report; exit 0 only\n"
        "                                          if every guest became ready\n"
        "  report [RUN|last] [--json]              the report of one run\n"
        "  runs [--limit N] [--json]               the runs stored, newest first\n"
        "  guests list | check NAME [...]          guest profiles; boot one, print its phases\n"
        "  compare RUN... [--json]                 runs side by side\n"
        "  sweep RUN...|--last N [--json] [--plot DIR]  a sweep's summary by count, its curve\n"
        "  export RUN (--csv|--json) [--out FILE]  every guest's raw numbers\n"
        "  plot RUN --out DIR                      charts (PNG and SVG, gnuplot)\n"
        "  watch [RUN|last]                        live progress until the run is done\n"
        "  check RUN [--p99-max MS] [--max-failed-pct P]  exit 1 when a limit is broken\n"
        "  hosts [--json]                          launchers in the registry: state, cores, ...\n"
        "  pool add|rm|list NAME [HOST...]         named groups of hosts (run --hosts pool:NAME)\n"
        "  rm RUN [RUN...] [--force]               delete runs (every key of each)\n"
        "  prune [--keep N] [--older-than D] [--dry-run]  delete old runs (docs/RETENTION.md)\n"
        "  keys gen DIR                            CURVE keys for the collector and clients\n"
        "  redis-cli [ARGS...]                     redis-cli on the Redis in use (password\n"
        "                                          in REDISCLI_AUTH, never on its argv)\n"
        "  version                                 the version (also --version)\n"
        "\n"
        "COMMAND --help prints its own usage. Exit codes: 0 ok, 1 a verdict against the\n"
        "run (not ready, limit broken, run not found), 2 bad usage or Redis unreachable.\n"
        "Without --redis, bootstorm uses the embedded Redis whose data lives in DIR\n"
        "(default ./bootstorm-data), starting it (and for `run` a collector and a\n"
        "launcher) itself and stopping them when done. Your own guests: run and guests\n"
        "take --guests DIR, --images DIR, --image NAME=PATH (also BOOTSTORM_GUESTS,\n"
        "BOOTSTORM_IMAGES); see docs/GUESTS.md. Shared daemons: BOOTSTORM_REDIS (--redis),\n"
        "BOOTSTORM_COLLECTOR (run --collector), BOOTSTORM_CURVE_SERVER_KEY (run\n"
        "--curve-server-key); an option given wins (man bootstorm).\n");
}

/* The embedded Redis of a query command (cmd_connect): started and stopped by it, or
 * another command's, attached to (embedded.h: one Redis per data dir). */
static struct embedded query_em;
static const char *query_data_dir;

/* ^C or SIGTERM during a query: what it started stops with it, by pid. */
static void on_query_signal(int sig)
{
    embedded_stop_signal(&query_em);
    _exit(128 + sig);
}

const char *cmd_redis_url(const char *sub, const char *redis_url)
{
    if (redis_url || query_em.redis_url[0])
        return redis_url ? redis_url : query_em.redis_url;
    redisContext *c = cmd_connect(sub, NULL); /* starts it, and tells it answers */
    if (!c)
        return NULL;
    redisFree(c);
    return query_em.redis_url;
}

redisContext *cmd_connect(const char *sub, const char *redis_url)
{
    char err[512];
    if (!redis_url && !query_em.redis_url[0]) {
        char probe[600];
        snprintf(probe, sizeof probe, "%s/redis", query_data_dir);
        if (access(probe, F_OK) < 0) {
            fprintf(stderr,
                    "bootstorm %s: no local data in %s: run a scenario first or give --redis URL\n",
                    sub, query_data_dir);
            return NULL;
        }
        if (embedded_start_redis(&query_em, query_data_dir, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm %s: %s\n", sub, err);
            return NULL;
        }
    }
    if (!redis_url)
        redis_url = query_em.redis_url;
    redisContext *c = bredis_connect(redis_url, REDIS_TIMEOUT_MS, err, sizeof err);
    if (!c)
        fprintf(stderr, "bootstorm %s: %s\n", sub, err);
    return c;
}

/* Attached to another command's Redis and it went away (its owner ended: it waits
 * for no one): reopens the data dir, attaching to a new owner or starting our own on
 * the data the old one wrote out. Returns 0 with *c connected, or -1 (printed). */
static int reopen_embedded(const char *sub, redisContext **c)
{
    char err[512];
    pid_t owner = query_em.attached_to;
    if (*c)
        redisFree(*c);
    *c = NULL;
    embedded_stop(&query_em); /* forgets it; stops nothing */
    fprintf(stderr, "bootstorm %s: the Redis of %s (owned by pid %d) stopped; reopening it\n", sub,
            query_data_dir, (int)owner);
    if (embedded_start_redis(&query_em, query_data_dir, err, sizeof err) < 0 ||
        !(*c = bredis_connect(query_em.redis_url, REDIS_TIMEOUT_MS, err, sizeof err))) {
        fprintf(stderr, "bootstorm %s: the run's Redis stopped and cannot be reopened: %s\n", sub,
                err);
        return -1;
    }
    return 0;
}

int cmd_reconnect(const char *sub, const char *redis_url, redisContext **c)
{
    char err[512], shown[512];
    if (!redis_url && embedded_owner_gone(&query_em))
        return reopen_embedded(sub, c);
    if (!redis_url)
        redis_url = query_em.redis_url;
    bredis_redact(redis_url, shown, sizeof shown);
    fprintf(stderr, "bootstorm %s: lost Redis %s (%s); reconnecting for up to %d s\n", sub, shown,
            *c && (*c)->err ? (*c)->errstr : "no connection", CMD_REDIS_RETRY_MS / 1000);
    if (bredis_reconnect(c, redis_url, REDIS_TIMEOUT_MS, CMD_REDIS_RETRY_MS, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm %s: Redis did not come back: %s\n", sub, err);
        return -1;
    }
    log_info("reconnected to Redis %s", shown);
    return 0;
}

/* Global options into *redis_url and *data_dir; returns -1 to go on with the command
 * at argv[optind], else the exit code (--help, --version, bad usage). */
static int parse_global(int argc, char **argv, const char **redis_url, const char **data_dir)
{
    static const struct option opts[] = {{"redis", required_argument, 0, 'r'},
                                         {"data-dir", required_argument, 0, 'd'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "+r:d:hV", opts, NULL)) != -1) {
        if (c == 'r') {
            *redis_url = optarg;
        } else if (c == 'd') {
            *data_dir = optarg;
        } else if (c == 'V') {
            printf("bootstorm %s\n", BS_VERSION);
            return 0;
        } else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    return -1;
}

/* BOOTSTORM_COLLECTOR and BOOTSTORM_CURVE_SERVER_KEY name the shared collector: `run`
 * takes them as its first options when it talks to a shared Redis; the embedded set-up
 * has its own collector, and its launcher must not see them. */
static int run_env(const char *redis_url, int *argc, char ***argv)
{
    if (!redis_url) {
        envopt_unset(ENVOPT_COLLECTOR);
        envopt_unset(ENVOPT_CURVE_SERVER_KEY);
        return 0;
    }
    return envopt_prepend(ENVOPT_COLLECTOR, "--collector", argc, argv) |
           envopt_prepend(ENVOPT_CURVE_SERVER_KEY, "--curve-server-key", argc, argv);
}

typedef int (*query_fn)(int, char **, const char *);

/* The commands that only read or change Redis, so may use the embedded one. */
static query_fn find_query(const char *cmd)
{
    static const struct {
        const char *name;
        query_fn fn;
    } queries[] = {{"report", cmd_report}, {"runs", cmd_runs},   {"compare", cmd_compare},
                   {"export", cmd_export}, {"plot", cmd_plot},   {"watch", cmd_watch},
                   {"check", cmd_check},   {"hosts", cmd_hosts}, {"pool", cmd_pool},
                   {"rm", cmd_rm},         {"prune", cmd_prune}, {"sweep", cmd_sweep}};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        if (!strcmp(cmd, queries[i].name))
            return queries[i].fn;
    return NULL;
}

int main(int argc, char **argv)
{
    const char *redis_url = envopt_get(ENVOPT_REDIS), *data_dir = getenv("BOOTSTORM_DATA");
    if (!data_dir)
        data_dir = "bootstorm-data";
    log_init("bootstorm", LOG_WARN);
    int rc = parse_global(argc, argv, &redis_url, &data_dir);
    if (rc >= 0)
        return rc;
    const char *cmd = argv[optind];
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    if (!strcmp(cmd, "run")) {
        log_init("bootstorm", LOG_INFO);
        if (run_env(redis_url, &sub_argc, &sub_argv) < 0)
            return 2;
        return cmd_run(sub_argc, sub_argv, redis_url, data_dir);
    }
    if (!strcmp(cmd, "guests"))
        return cmd_guests(sub_argc, sub_argv);
    if (!strcmp(cmd, "keys"))
        return cmd_keys(sub_argc, sub_argv);
    if (!strcmp(cmd, "version")) {
        printf("bootstorm %s\n", BS_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    query_fn fn = !strcmp(cmd, "redis-cli") ? cmd_rediscli : find_query(cmd);
    if (!fn) {
        fprintf(stderr, "bootstorm: unknown command '%s'\n", cmd);
        usage(stderr);
        return 2;
    }
    query_data_dir = data_dir; /* cmd_connect starts the embedded Redis if needed */
    struct sigaction sa = {.sa_handler = on_query_signal};
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    rc = fn(sub_argc, sub_argv, redis_url);
    sigset_t stopping; /* the handler must not stop, by pid, what we are reaping now */
    sigemptyset(&stopping);
    sigaddset(&stopping, SIGINT);
    sigaddset(&stopping, SIGTERM);
    sigaddset(&stopping, SIGHUP);
    sigprocmask(SIG_BLOCK, &stopping, NULL);
    embedded_stop(&query_em);
    return rc;
}
