/* `bootstorm watch RUN`: live progress of a storm, read from Redis until every
 * launcher of the run is done. Not for the final report (cmd_report). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agg.h"
#include "clock.h"
#include "cmd.h"

static long long field(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? atoll(r->element[i]->str)
                                                                        : 0;
}

int cmd_watch(int argc, char **argv, const char *redis_url)
{
    const char *run = NULL;
    long interval_ms = 500, timeout_s = 3600;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc)
            interval_ms = atol(argv[++i]);
        else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc)
            timeout_s = atol(argv[++i]);
        else if (argv[i][0] != '-' && !run)
            run = argv[i];
        else
            run = NULL, i = argc;
    }
    if (!run || interval_ms < 10 || timeout_s < 1) {
        fprintf(stderr, "usage: bootstorm watch RUN|last [--interval-ms N] [--timeout-s S]\n");
        return 1;
    }
    redisContext *c = cmd_connect("watch", redis_url);
    if (!c)
        return 2;
    static struct agg_run r;
    char err[512];
    if (agg_load(c, run, &r, err, sizeof err) < 0) { /* resolves "last", checks the id */
        fprintf(stderr, "bootstorm watch: %s\n", err);
        redisFree(c);
        return 1;
    }
    int tty = isatty(1), rc = 1;
    mono_ns end = mono_add(clock_mono(), timeout_s * NS_PER_S), t0 = clock_mono();
    char last[256] = "";
    while (mono_diff(clock_mono(), end) > 0) {
        redisAppendCommand(c, "HMGET bs:{%s}:agg spawned ready failed up", r.run);
        redisAppendCommand(c, "HMGET bs:{%s}:meta hosts_done hosts_expected", r.run);
        redisReply *a = NULL, *m = NULL;
        if (redisGetReply(c, (void **)&a) != REDIS_OK ||
            redisGetReply(c, (void **)&m) != REDIS_OK || a->type != REDIS_REPLY_ARRAY ||
            m->type != REDIS_REPLY_ARRAY) {
            fprintf(stderr, "bootstorm watch: redis: %s\n", c->err ? c->errstr : "bad reply");
            rc = 2;
            if (a)
                freeReplyObject(a);
            break;
        }
        char line[256];
        long long done = field(m, 0), expected = field(m, 1);
        snprintf(
            line, sizeof line,
            "%s: %lld/%lld spawned, %lld ready, %lld failed, %lld up; launchers done %lld/%lld",
            r.run, field(a, 0), r.total, field(a, 1), field(a, 2), field(a, 3), done, expected);
        freeReplyObject(a);
        freeReplyObject(m);
        if (strcmp(line, last)) {
            printf(tty ? "\r\033[K[%6.1f s] %s" : "[%6.1f s] %s\n",
                   (double)mono_diff(t0, clock_mono()) / 1e9, line);
            fflush(stdout);
            snprintf(last, sizeof last, "%s", line);
        }
        if (expected > 0 && done >= expected) {
            rc = 0;
            break;
        }
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
    if (tty)
        putchar('\n');
    if (rc == 1)
        fprintf(stderr, "bootstorm watch: run %s not done after %ld s\n", r.run, timeout_s);
    redisFree(c);
    return rc;
}
