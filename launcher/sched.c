/* The launch-pattern scheduler (sched.h): instance bookkeeping and the pattern rules,
 * O(1) per spawn and per report; the ramp counts live instances once per tick. */
#include "sched.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int sched_parse_ramp(struct sched_cfg *c, const char *s, char *err, size_t errlen)
{
    const char *p = s;
    c->nramp = 0;
    while (*p) {
        char *end;
        long long t = strtoll(p, &end, 10);
        if (end == p || *end != ':')
            goto bad;
        long long n = strtoll(end + 1, &end, 10);
        if (n < 0 || n > 1 << 20 || t < 0 || t > SCHED_MAX_SPAN_NS / NS_PER_MS ||
            c->nramp == SCHED_MAX_RAMP || (c->nramp && t * NS_PER_MS < c->ramp[c->nramp - 1].at_ns))
            goto bad;
        c->ramp[c->nramp++] = (struct sched_ramp_point){t * NS_PER_MS, (int)n};
        if (*end == ',')
            end++;
        else if (*end)
            goto bad;
        p = end;
    }
    if (c->nramp)
        return 0;
bad:
    c->nramp = 0;
    snprintf(err, errlen,
             "bad ramp trace '%.60s' (want T_MS:COUNT,... with T rising, at most %d points)", s,
             SCHED_MAX_RAMP);
    return -1;
}

int sched_check_cfg(const struct sched_cfg *c, char *err, size_t errlen)
{
    const int64_t span = SCHED_MAX_SPAN_NS;
    if (c->count < 0 || c->count > INT_MAX || c->nramp < 0 || c->nramp > SCHED_MAX_RAMP) {
        snprintf(err, errlen, "count %lld or ramp points %d out of range", (long long)c->count,
                 c->nramp);
        return -1;
    }
    /* instance i is due at i * interval_ns: the last one must stay within the span */
    if (c->interval_ns < 0 || (c->count > 1 && c->interval_ns > span / (c->count - 1))) {
        snprintf(err, errlen, "interval of %lld ns times %lld instances is beyond %lld s",
                 (long long)c->interval_ns, (long long)c->count, (long long)(span / NS_PER_S));
        return -1;
    }
    if (c->hold_ns < 0 || c->hold_ns > span || c->restart_after_ns < 0 ||
        c->restart_after_ns > span) {
        snprintf(err, errlen, "hold or restart wait out of range [0, %lld s]",
                 (long long)(span / NS_PER_S));
        return -1;
    }
    for (int i = 0; i < c->nramp; i++)
        if (c->ramp[i].at_ns < 0 || c->ramp[i].at_ns > span) {
            snprintf(err, errlen, "ramp point %d out of range [0, %lld s]", i + 1,
                     (long long)(span / NS_PER_S));
            return -1;
        }
    return 0;
}

/* Creates instance s->n, due at due. Returns its index or -1. */
static int new_instance(struct sched *s, mono_ns due)
{
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 64;
        struct sched_inst *in = realloc(s->in, (size_t)ncap * sizeof *in);
        if (!in)
            return -1;
        s->in = in;
        s->cap = ncap;
    }
    if (s->ops->create && s->ops->create(s->ctx, s->n) < 0)
        return -1;
    s->in[s->n] = (struct sched_inst){.due = due, .state = SCHED_PENDING};
    return s->n++;
}

/* The last of the points at point k's time: points at one time are one step, whose
 * count is the last one's (a trace written to the millisecond from a burst has
 * several); applied one by one, each would be measured against the instances created
 * ahead for all of them, and stop some that the next one creates again. */
static int step_last(const struct sched *s, int k)
{
    while (k + 1 < s->cfg.nramp && s->cfg.ramp[k + 1].at_ns == s->cfg.ramp[k].at_ns)
        k++;
    return k;
}

int sched_init(struct sched *s, const struct sched_cfg *cfg, mono_ns t0,
               const struct sched_ops *ops, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->cfg = *cfg;
    s->ops = ops;
    s->ctx = ctx;
    s->t0 = t0;
    s->ramp_ahead_at.ns = 0; /* a ramp's first rises are created at the first tick */
    char err[128];
    if (sched_check_cfg(cfg, err, sizeof err) < 0) /* the caller checked: no overflow here */
        return -1;
    s->initial = cfg->nramp ? 0 : (int)cfg->count;
    s->ramp_peak = cfg->nramp ? step_last(s, 0) : 0;
    for (int i = s->ramp_peak + 1; i < cfg->nramp; i = step_last(s, i) + 1)
        if (cfg->ramp[step_last(s, i)].count > cfg->ramp[s->ramp_peak].count)
            s->ramp_peak = step_last(s, i);
    for (int i = 0; i < s->initial; i++)
        if (new_instance(s, mono_add(t0, cfg->interval_ns * i)) < 0)
            return -1;
    return 0;
}

void sched_free(struct sched *s)
{
    free(s->in);
    s->in = NULL;
    s->n = s->cap = 0;
    free(s->dues);
    s->dues = NULL;
    s->dues_cap = 0;
}

void sched_stop(struct sched *s, int idx)
{
    struct sched_inst *in = &s->in[idx];
    in->retired = 1;
    if (in->alive && s->ops->stop)
        s->ops->stop(s->ctx, idx);
}

static void stop_all(struct sched *s)
{
    for (int i = 0; i < s->n; i++)
        if (s->in[i].alive && !s->in[i].retired) /* retired ones were stopped already */
            sched_stop(s, i);
}

static mono_ns ramp_at(const struct sched *s, int k)
{
    return mono_add(s->t0, s->cfg.ramp[k].at_ns);
}

/* Whether an instance counts toward the fleet as of `by`: not retired, not failed, due
 * by then (a rise created ahead is not counted before its time). */
static int counts_by(const struct sched_inst *in, mono_ns by)
{
    return !in->retired && in->state != SCHED_FAILED && mono_diff(in->due, by) >= 0;
}

static int live_by(const struct sched *s, mono_ns by)
{
    int live = 0;
    for (int i = 0; i < s->n; i++)
        live += counts_by(&s->in[i], by);
    return live;
}

/* The fleet brought to target as of `at`: new instances due at `at`, or the newest
 * ones dropped (not spawned yet) or stopped. */
static void ramp_to(struct sched *s, int target, mono_ns at)
{
    int live = live_by(s, at);
    for (; live < target; live++)
        if (new_instance(s, at) < 0)
            break;
    for (int i = s->n - 1; i >= 0 && live > target; i--) {
        if (s->in[i].retired || s->in[i].state == SCHED_FAILED)
            continue;
        if (i >= s->next_spawn) /* not spawned yet, and the newest: just drop it */
            s->n--;
        else
            sched_stop(s, i);
        live--;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The due times of the instances that count toward the fleet by `by`, sorted into
 * s->dues. Returns how many, or -1 without memory. */
static int live_dues(struct sched *s, mono_ns by)
{
    if (s->dues_cap < s->n) {
        int64_t *d = realloc(s->dues, (size_t)s->n * 2 * sizeof *d);
        if (!d)
            return -1;
        s->dues = d;
        s->dues_cap = s->n * 2;
    }
    int m = 0;
    for (int i = 0; i < s->n; i++)
        if (counts_by(&s->in[i], by))
            s->dues[m++] = s->in[i].due.ns;
    qsort(s->dues, (size_t)m, sizeof *s->dues, cmp_i64);
    return m;
}

/* The rises of the ramp steps due by horizon, created now, each due at its step's
 * time, so an owner that takes spawns take_ahead_ns early starts them on time; up to
 * the first fall, which waits for its own time. Each step is measured against the
 * instances due by its own time, not by the horizon: counted by the horizon, one that
 * failed ahead of an early step hid behind those of a later one, the early step was
 * short, replaced it at its time, and the later step stopped one. Sets when to look
 * again. */
static void ramp_ahead(struct sched *s, mono_ns horizon)
{
    int m = live_dues(s, horizon), j = 0, have = 0, target = s->live_target, k = s->ramp_next;
    for (; m >= 0 && k < s->cfg.nramp && mono_diff(ramp_at(s, k), horizon) >= 0;
         k = step_last(s, k) + 1) {
        if (s->cfg.ramp[step_last(s, k)].count < target)
            break;
        target = s->cfg.ramp[step_last(s, k)].count;
        for (; j < m && s->dues[j] <= ramp_at(s, k).ns; j++)
            have++;
        for (; have < target; have++)
            if (new_instance(s, ramp_at(s, k)) < 0)
                break;
    }
    s->ramp_ahead_at.ns = INT64_MAX;
    if (k < s->cfg.nramp && s->cfg.ramp[step_last(s, k)].count >= target)
        s->ramp_ahead_at = mono_add(ramp_at(s, k), -s->take_ahead_ns);
}

/* Ramp: follows the trace's instance count, a step at a time. Each step's new
 * instances are due at its time, however late this tick comes (the launch lag then
 * shows it); failed instances are replaced, due now. */
static void follow_ramp(struct sched *s, mono_ns now)
{
    int stepped = 0;
    while (s->ramp_next < s->cfg.nramp && mono_diff(ramp_at(s, s->ramp_next), now) >= 0) {
        int k = step_last(s, s->ramp_next);
        s->ramp_next = k + 1;
        s->live_target = s->cfg.ramp[k].count;
        ramp_to(s, s->live_target, ramp_at(s, k));
        stepped = 1;
    }
    ramp_to(s, s->live_target, now);
    /* only when it can create something: a step passed, a failure, or the next rise
     * within reach (it sorts the instances: not on every loop turn) */
    mono_ns horizon = mono_add(now, s->take_ahead_ns);
    if (stepped || s->nfailed != s->ahead_failed || mono_diff(s->ramp_ahead_at, now) >= 0) {
        s->ahead_failed = s->nfailed;
        ramp_ahead(s, horizon);
    }
}

/* Mass restart: stop a share of the first fleet and start as many new instances. */
static void mass_restart(struct sched *s, mono_ns now)
{
    int k = (int)((int64_t)s->initial * s->cfg.restart_permille / 1000);
    int stopped = 0;
    for (int i = 0; i < s->initial && stopped < k; i++)
        if (s->in[i].alive && !s->in[i].retired) {
            sched_stop(s, i);
            stopped++;
        }
    if (s->ops->restart)
        s->ops->restart(s->ctx, stopped, now);
    for (int i = 0; i < stopped; i++)
        new_instance(s, now);
    s->restart_done = 1;
    s->all_done_at.ns = 0;
}

static int restart_pending(const struct sched *s)
{
    return s->cfg.restart_permille && !s->restart_done && !s->cfg.nramp;
}

static int settled(const struct sched *s)
{
    return s->next_spawn == s->n && s->booting == 0 && s->ramp_next == s->cfg.nramp;
}

int sched_whole(const struct sched *s)
{
    if (s->cfg.nramp && s->ramp_next <= s->ramp_peak)
        return 0; /* the ramp has not asked for its peak yet */
    return s->n > 0 && s->next_spawn == s->n && s->booting == 0;
}

void sched_release(struct sched *s)
{
    s->keep_until.ns = 0;
}

int sched_kept(const struct sched *s, mono_ns now)
{
    return s->keep_until.ns && mono_diff(now, s->keep_until) > 0;
}

void sched_tick(struct sched *s, mono_ns now)
{
    if (s->ending)
        return;
    if (s->cfg.nramp)
        follow_ramp(s, now);
    if (!s->whole_seen && sched_whole(s)) {
        s->whole_seen = 1;
        if (s->ops->whole)
            s->keep_until = s->ops->whole(s->ctx, now);
    }
    if (!settled(s)) {
        s->all_done_at.ns = 0;
        return;
    }
    if (!s->all_done_at.ns)
        s->all_done_at = now;
    if (sched_kept(s, now)) /* the owner's look at the whole fleet first */
        return;
    int64_t since = mono_diff(s->all_done_at, now);
    if (restart_pending(s)) {
        if (since >= s->cfg.restart_after_ns)
            mass_restart(s, now);
    } else if (since >= s->cfg.hold_ns) {
        s->ending = 1;
        stop_all(s);
    }
}

static int can_spawn(const struct sched *s)
{
    return !s->cfg.concurrency || s->booting < s->cfg.concurrency;
}

int sched_take_due(struct sched *s, mono_ns now)
{
    if (s->ending || s->next_spawn >= s->n || !can_spawn(s) ||
        mono_diff(s->in[s->next_spawn].due, now) < 0)
        return -1;
    int idx = s->next_spawn++;
    s->in[idx].state = SCHED_BOOTING;
    s->booting++;
    return idx;
}

int sched_spawned(struct sched *s, int idx)
{
    if (s->in[idx].alive)
        return 0;
    s->in[idx].alive = 1;
    s->alive++;
    return 1;
}

int sched_ready(struct sched *s, int idx)
{
    if (s->in[idx].state != SCHED_BOOTING)
        return 0;
    s->in[idx].state = SCHED_READY;
    s->booting--;
    s->nready++;
    return 1;
}

int sched_failed(struct sched *s, int idx)
{
    struct sched_inst *in = &s->in[idx];
    if (in->state == SCHED_READY || in->state == SCHED_FAILED)
        return 0;
    if (in->state == SCHED_BOOTING)
        s->booting--;
    in->state = SCHED_FAILED;
    s->nfailed++;
    return 1;
}

int sched_gone(struct sched *s, int idx)
{
    if (!s->in[idx].alive)
        return 0;
    s->in[idx].alive = 0;
    s->alive--;
    return 1;
}

void sched_abort(struct sched *s)
{
    s->ending = 1;
    s->keep_until.ns = 0;
    for (int i = 0; i < s->n; i++)
        if (s->in[i].state == SCHED_PENDING || s->in[i].state == SCHED_BOOTING) {
            if (s->ops->fail)
                s->ops->fail(s->ctx, i);
            sched_failed(s, i); /* in case ops->fail did not report it */
        }
    s->next_spawn = s->n;
    stop_all(s);
}

int sched_finished(const struct sched *s)
{
    if (!s->ending || s->alive)
        return 0;
    for (int i = 0; i < s->next_spawn; i++) /* asynchronous backends: still being created */
        if (s->in[i].state == SCHED_BOOTING && !s->in[i].alive)
            return 0;
    return 1;
}

mono_ns sched_next_due(const struct sched *s)
{
    mono_ns next = {INT64_MAX};
    if (s->ending)
        return next;
    if (s->next_spawn < s->n && can_spawn(s))
        mono_earlier(&next, mono_add(s->in[s->next_spawn].due, -s->take_ahead_ns));
    if (s->ramp_next < s->cfg.nramp) {
        mono_earlier(&next, ramp_at(s, s->ramp_next));
        mono_earlier(&next, s->ramp_ahead_at);
    }
    if (s->all_done_at.ns) {
        mono_ns end =
            mono_add(s->all_done_at, restart_pending(s) ? s->cfg.restart_after_ns : s->cfg.hold_ns);
        if (s->keep_until.ns > end.ns) /* kept longer for the owner (ops->whole) */
            end = s->keep_until;
        mono_earlier(&next, end);
    }
    return next;
}
