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
#include "keys.h"
#include "runstore.h"

static const char usage[] =
    "usage: bootstorm watch RUN|last [--interval-ms N] [--timeout-s S]\n"
    "  spawned/ready/failed counts refreshed every N ms (default 500) until the run is\n"
    "  done (exit 0) or S seconds passed (default 3600, exit 1)\n";

static long long field(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? atoll(r->element[i]->str)
                                                                        : 0;
}

/* Reads the run's counters into line; 1 when the run is over (runstore_over: every
 * launcher done, or those not done given up on by the collector), 0 if not, -1 on a
 * Redis error (printed unless the connection failed: the caller reconnects). */
static int progress(redisContext *c, const struct agg_run *r, char *line, size_t len)
{
    char agg[KEY_MAX], meta[KEY_MAX];
    keys_run(agg, sizeof agg, r->run, KEY_AGG); /* fit: agg_load checked the id */
    keys_run(meta, sizeof meta, r->run, KEY_META);
    redisAppendCommand(c, "HMGET %s spawned ready failed up", agg);
    redisAppendCommand(c, "HMGET %s hosts_done hosts_expected", meta);
    redisReply *a = NULL, *m = NULL;
    char err[512] = "bad reply";
    struct runstore_state st;
    int rc = -1;
    if (redisGetReply(c, (void **)&a) == REDIS_OK && redisGetReply(c, (void **)&m) == REDIS_OK &&
        a->type == REDIS_REPLY_ARRAY && m->type == REDIS_REPLY_ARRAY &&
        (rc = runstore_over(c, r->run, &st, err, sizeof err)) >= 0) {
        snprintf(line, len,
                 "%s: %lld/%lld spawned, %lld ready, %lld failed, %lld up; launchers done "
                 "%lld/%lld",
                 r->run, field(a, 0), r->total, field(a, 1), field(a, 2), field(a, 3), field(m, 0),
                 field(m, 1));
        rc = rc && st.expected > 0;
    } else if (!c->err) {
        fprintf(stderr, "bootstorm watch: redis: %s\n", err);
    }
    if (a)
        freeReplyObject(a);
    if (m)
        freeReplyObject(m);
    return rc;
}

/* Shows progress until done (0), timeout (1) or a Redis error (2); a Redis that went
 * away is reconnected to (redis_url NULL: the embedded one). */
static int follow(redisContext **c, const char *redis_url, const struct agg_run *r,
                  int64_t interval_ms, int64_t timeout_s)
{
    int tty = isatty(1), rc = ARGS_FAIL;
    mono_ns end = mono_add(clock_mono(), timeout_s * NS_PER_S), t0 = clock_mono();
    char last[256] = "", line[256];
    while (mono_diff(clock_mono(), end) > 0) {
        int done = progress(*c, r, line, sizeof line);
        if (done < 0 && (*c)->err && cmd_reconnect("watch", redis_url, c) == 0)
            continue;
        if (done < 0) {
            rc = ARGS_USAGE;
            break;
        }
        if (strcmp(line, last)) {
            printf(tty ? "\r\033[K[%6.1f s] %s" : "[%6.1f s] %s\n",
                   (double)mono_diff(t0, clock_mono()) / 1e9, line);
            fflush(stdout);
            snprintf(last, sizeof last, "%s", line);
        }
        if (done) {
            rc = ARGS_OK;
            break;
        }
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (tty)
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
