/* `bootstorm watch RUN`: live progress of a storm, read from Redis until every
 * launcher of the run is done. Not for the final report (cmd_report). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "args.h"
#include "clock.h"
#include "cmd.h"
#include "progress.h"
#include "runstore.h"

static const char usage[] =
    "usage: bootstorm watch RUN|last [--interval-ms N] [--timeout-s S]\n"
    "  spawned/ready/failed counts refreshed every N ms (default 500) until the run is\n"
    "  done (exit 0) or S seconds passed (default 3600, exit 1)\n";

/* Reads the run's counters into *pc; 1 when the run is over (runstore_over: every
 * launcher done, or those not done given up on by the collector), 0 if not, -1 on a
 * Redis error (printed unless the connection failed: the caller reconnects). */
static int poll_run(redisContext *c, const char *run, struct progress_counts *pc)
{
    char err[512];
    struct runstore_state st;
    int rc = progress_read(c, run, pc, err, sizeof err);
    if (rc == 0 && (rc = runstore_over(c, run, &st, err, sizeof err)) >= 0)
        return rc && st.expected > 0;
    if (!c->err)
        fprintf(stderr, "bootstorm watch: %s\n", err);
    return -1;
}

/* Shows progress until done (0), timeout (1) or a Redis error (2); a Redis that went
 * away is reconnected to (redis_url NULL: the embedded one). */
static int follow(redisContext **c, const char *redis_url, const struct agg_run *r,
                  int64_t interval_ms, int64_t timeout_s)
{
    int rc = ARGS_FAIL;
    mono_ns end = mono_add(clock_mono(), timeout_s * NS_PER_S);
    static struct progress p;
    struct progress_counts pc = {0};
    progress_init(&p, r->run, stdout, isatty(1), interval_ms * NS_PER_MS, clock_mono());
    p.detail = 1;       /* watch shows who is still running */
    p.changes_only = 1; /* a log gets a line per change, not per poll */
    while (mono_diff(clock_mono(), end) > 0) {
        int done = poll_run(*c, r->run, &pc);
        if (done < 0 && (*c)->err) {
            progress_break(&p); /* "lost Redis" on its own line */
            if (cmd_reconnect("watch", redis_url, c) == 0)
                continue;
        }
        if (done < 0) {
            rc = ARGS_USAGE;
            break;
        }
        if (done) {
            rc = ARGS_OK;
            break;
        }
        progress_show(&p, &pc, clock_mono());
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (rc != ARGS_USAGE)
        progress_end(&p, &pc, clock_mono());
    else if (p.tty && p.drawn)
        putchar('\n');
    if (rc == ARGS_FAIL)
        fprintf(stderr, "bootstorm watch: run %s not done after %lld s\n", r->run,
                (long long)timeout_s);
    return rc;
}

static const struct option opts[] = {{"interval-ms", required_argument, 0, 'i'},
                                     {"timeout-s", required_argument, 0, 't'},
                                     {"help", no_argument, 0, 'h'},
                                     {0, 0, 0, 0}};

int cmd_watch(int argc, char **argv, const char *redis_url)
{
    int64_t interval_ms = 500, timeout_s = 3600;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "i:t:h", opts, NULL)) != -1) {
        if (c == 'i') {
            if (args_int("watch", "--interval-ms", optarg, 10, 3600000, &interval_ms) < 0)
                return ARGS_USAGE;
        } else if (c == 't') {
            if (args_int("watch", "--timeout-s", optarg, 1, 30 * 86400, &timeout_s) < 0)
                return ARGS_USAGE;
        } else {
            return args_usage(usage, c == 'h');
        }
    }
    if (argc - optind > 1)
        return args_bad("watch", usage, "unexpected argument", argv[optind + 1]);
    const char *run = optind < argc ? argv[optind] : "last";
    if (args_run_id("watch", run) < 0)
        return ARGS_USAGE;
    redisContext *rc_redis = cmd_connect("watch", redis_url);
    if (!rc_redis)
        return ARGS_USAGE;
    static struct agg_run r;
    char err[512];
    int rc;
    if (agg_load(rc_redis, run, &r, err, sizeof err) < 0) { /* resolves "last" */
        fprintf(stderr, "bootstorm watch: %s\n", err);
        rc = ARGS_FAIL;
    } else {
        rc = follow(&rc_redis, redis_url, &r, interval_ms, timeout_s);
    }
    if (rc_redis)
        redisFree(rc_redis);
    return rc;
}
