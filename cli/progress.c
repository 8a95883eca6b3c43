/* Live progress of one run (progress.h): the counters read from Redis, the recent ready
 * rate and the one line `run` and `watch` both print. Not for when a run is over. */
#include "progress.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"

static long long field(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? atoll(r->element[i]->str)
                                                                        : 0;
}

int progress_read(redisContext *c, const char *run, struct progress_counts *pc, char *err,
                  size_t errlen)
{
    char agg[KEY_MAX], meta[KEY_MAX];
    if (keys_run(agg, sizeof agg, run, KEY_AGG) < 0 ||
        keys_run(meta, sizeof meta, run, KEY_META) < 0) {
        snprintf(err, errlen, "run id '%.64s' too long for a key", run);
        return -1;
    }
    redisAppendCommand(c, "HMGET %s spawned ready failed up", agg);
    redisAppendCommand(c, "HMGET %s count_total count hosts_expected hosts_done restart_count",
                       meta);
    redisReply *a = NULL, *m = NULL;
    int rc = -1;
    if (redisGetReply(c, (void **)&a) != REDIS_OK || redisGetReply(c, (void **)&m) != REDIS_OK) {
        snprintf(err, errlen, "redis: %s", c->errstr[0] ? c->errstr : "no reply");
    } else if (a->type != REDIS_REPLY_ARRAY || m->type != REDIS_REPLY_ARRAY) {
        snprintf(err, errlen, "redis: %s",
                 a->type == REDIS_REPLY_ERROR   ? a->str
                 : m->type == REDIS_REPLY_ERROR ? m->str
                                                : "unexpected reply");
    } else {
        *pc = (struct progress_counts){field(a, 0), field(a, 1), field(a, 2), field(a, 3),
                                       field(m, 0), field(m, 3), field(m, 2)};
        if (!pc->total) /* runs stored before count_total: count on every host */
            pc->total = field(m, 1) * pc->hosts_expected;
        pc->total += field(m, 4); /* a mass restart starts as many new instances */
        rc = 0;
    }
    if (a)
        freeReplyObject(a);
    if (m)
        freeReplyObject(m);
    return rc;
}

void progress_init(struct progress *p, const char *run, FILE *out, int tty, int64_t period_ns,
                   mono_ns t0)
{
    memset(p, 0, sizeof *p);
    snprintf(p->run, sizeof p->run, "%s", run);
    p->out = out;
    p->tty = tty;
    p->period_ns = period_ns;
    p->t0 = t0;
    p->last = (struct progress_counts){-1, -1, -1, -1, -1, -1, -1};
}

double progress_rate(struct progress *p, mono_ns now, long long ready)
{
    p->head = (p->head + 1) % PROGRESS_SAMPLES;
    p->st[p->head] = now;
    p->sready[p->head] = ready;
    if (p->nsamples < PROGRESS_SAMPLES)
        p->nsamples++;
    /* the oldest sample still inside the window */
    int oldest = p->head;
    for (int k = 1; k < p->nsamples; k++) {
        int i = (p->head - k + PROGRESS_SAMPLES) % PROGRESS_SAMPLES;
        if (mono_diff(p->st[i], now) > PROGRESS_RATE_WINDOW_NS)
            break;
        oldest = i;
    }
    int64_t span = mono_diff(p->st[oldest], now);
    if (span < 100 * NS_PER_MS)
        return 0;
    return (double)(ready - p->sready[oldest]) * 1e9 / (double)span;
}

void progress_format(const struct progress *p, const struct progress_counts *pc, double elapsed_s,
                     double rate, char *line, size_t len)
{
    int n = snprintf(line, len,
                     "run %s: %lld/%lld spawned, %lld ready, %lld failed, %.1f s, %.1f ready/s",
                     p->run, pc->spawned, pc->total, pc->ready, pc->failed, elapsed_s, rate);
    if (p->detail && n > 0 && (size_t)n < len)
        snprintf(line + n, len - (size_t)n, ", %lld up; launchers done %lld/%lld", pc->up,
                 pc->hosts_done, pc->hosts_expected);
}

static void print(struct progress *p, const struct progress_counts *pc, mono_ns now, double rate)
{
    char line[PROGRESS_LINE_MAX];
    progress_format(p, pc, (double)mono_diff(p->t0, now) / 1e9, rate, line, sizeof line);
    fprintf(p->out, p->tty ? "\r\033[K%s" : "%s\n", line);
    fflush(p->out);
    p->drawn = 1;
    p->last_print = now;
    p->last = *pc;
}

void progress_show(struct progress *p, const struct progress_counts *pc, mono_ns now)
{
    double rate = progress_rate(p, now, pc->ready);
    if (p->tty) {
        print(p, pc, now, rate);
        return;
    }
    if (p->drawn && mono_diff(p->last_print, now) < p->period_ns)
        return;
    if (p->changes_only && !memcmp(pc, &p->last, sizeof *pc))
        return;
    print(p, pc, now, rate);
}

void progress_break(struct progress *p)
{
    if (p && p->tty && p->drawn) {
        fputc('\n', p->out);
        fflush(p->out);
        p->drawn = 0;
    }
}

void progress_end(struct progress *p, const struct progress_counts *pc, mono_ns now)
{
    print(p, pc, now, progress_rate(p, now, pc->ready));
    if (p->tty)
        fputc('\n', p->out);
    fflush(p->out);
}
