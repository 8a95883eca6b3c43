/* Runs as a whole in Redis: the "is it over" rule, removal by SCAN MATCH + UNLINK and
 * the retention rules of prune. See runstore.h. */
#include "runstore.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bredis.h"
#include "event.h"
#include "keys.h"

#define UNLINK_BATCH 512

int runstore_valid_id(const char *run)
{
    if (!*run || strlen(run) >= BS_ID_MAX)
        return 0;
    for (const unsigned char *p = (const unsigned char *)run; *p; p++)
        if (*p <= ' ' || *p == 0x7f || *p == '{' || *p == '}')
            return 0;
    return 1;
}

int runstore_exists(redisContext *c, const char *run, char *err, size_t errlen)
{
    char meta[KEY_MAX];
    if (keys_run(meta, sizeof meta, run, KEY_META) < 0)
        return snprintf(err, errlen, "run id '%s' too long", run), -1;
    redisReply *z = redisCommand(c, "ZSCORE %s %s", KEY_RUNS, run);
    if (!z || z->type == REDIS_REPLY_ERROR) {
        snprintf(err, errlen, "redis: %s", z ? z->str : c->errstr);
        if (z)
            freeReplyObject(z);
        return -1;
    }
    int listed = z->type == REDIS_REPLY_STRING; /* nil: not a member */
    freeReplyObject(z);
    if (listed)
        return 1;
    redisReply *e = bredis_query(c, REDIS_REPLY_INTEGER, err, errlen, "EXISTS %s", meta);
    if (!e)
        return -1; /* a run not listed may still have keys: its meta tells */
    int n = e->integer > 0;
    freeReplyObject(e);
    return n;
}

/* A meta counter: an integer, or a number a Lua writer rendered as a float; def if not. */
static long long meta_num(const redisReply *v, long long def)
{
    if (v->type != REDIS_REPLY_STRING)
        return def;
    char *end;
    double d = strtod(v->str, &end);
    return end != v->str && !*end && isfinite(d) && fabs(d) < 9.2e18 ? (long long)d : def;
}

/* Value of field in an HGETALL reply, NULL if absent. */
static const char *hfield(const redisReply *h, const char *field)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2)
        if (h->element[i]->type == REDIS_REPLY_STRING && !strcmp(h->element[i]->str, field))
            return h->element[i + 1]->type == REDIS_REPLY_STRING ? h->element[i + 1]->str : NULL;
    return NULL;
}

/* 1 when every host of the meta's `hosts` has end_tr:HOST or lost_tr:HOST, 0 if not,
 * -1 on a Redis error. */
static int all_ended_or_lost(redisContext *c, const char *meta_key, char *err, size_t errlen)
{
    redisReply *m = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "HGETALL %s", meta_key);
    if (!m)
        return -1;
    const char *hosts = hfield(m, "hosts");
    char list[1024], key[BS_ID_MAX + 16], *save = NULL;
    int all = hosts && *hosts;
    snprintf(list, sizeof list, "%s", hosts ? hosts : "");
    for (char *h = strtok_r(list, ",", &save); h && all; h = strtok_r(NULL, ",", &save)) {
        snprintf(key, sizeof key, "end_tr:%s", h);
        int ended = hfield(m, key) != NULL;
        snprintf(key, sizeof key, "lost_tr:%s", h);
        all = ended || hfield(m, key) != NULL;
    }
    freeReplyObject(m);
    return all;
}

int runstore_over(redisContext *c, const char *run, struct runstore_state *st, char *err,
                  size_t errlen)
{
    struct runstore_state s = {0, -1, 0};
    char meta[KEY_MAX];
    if (keys_run(meta, sizeof meta, run, KEY_META) < 0)
        return snprintf(err, errlen, "run id '%s' too long", run), -1;
    redisReply *r = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen,
                                 "HMGET %s hosts_done hosts_expected hosts_lost", meta);
    if (!r)
        return -1;
    if (r->elements == 3) {
        s.done = meta_num(r->element[0], 0);
        s.expected = meta_num(r->element[1], -1);
        s.lost = meta_num(r->element[2], 0);
    }
    freeReplyObject(r);
    if (st)
        *st = s;
    if (s.expected <= 0 || s.done >= s.expected)
        return 1;
    return s.lost > 0 ? all_ended_or_lost(c, meta, err, errlen) : 0;
}

/* run with the glob characters of SCAN MATCH (* ? [ ] \) escaped; -1 if it does not fit. */
static int glob_escape(const char *run, char *out, size_t cap)
{
    size_t n = 0;
    for (; *run; run++) {
        if (n + 3 > cap)
            return -1;
        if (strchr("*?[]\\", *run))
            out[n++] = '\\';
        out[n++] = *run;
    }
    out[n] = '\0';
    return 0;
}

/* UNLINKs the keys of one SCAN reply page (an array of key names); returns how many
 * Redis deleted, or -1. */
static long long unlink_page(redisContext *c, const redisReply *keys, char *err, size_t errlen)
{
    const char *argv[UNLINK_BATCH + 1];
    size_t lens[UNLINK_BATCH + 1];
    long long total = 0;
    for (size_t i = 0; i < keys->elements;) {
        int n = 1;
        argv[0] = "UNLINK";
        lens[0] = 6;
        for (; i < keys->elements && n <= UNLINK_BATCH; i++, n++) {
            argv[n] = keys->element[i]->str;
            lens[n] = keys->element[i]->len;
        }
        redisReply *r = redisCommandArgv(c, n, argv, lens);
        if (!r || r->type != REDIS_REPLY_INTEGER) {
            snprintf(err, errlen, "redis: UNLINK: %s",
                     !r                             ? c->errstr
                     : r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "not an integer");
            if (r)
                freeReplyObject(r);
            return -1;
        }
        total += r->integer;
        freeReplyObject(r);
    }
    return total;
}

long long runstore_remove(redisContext *c, const char *run, char *err, size_t errlen)
{
    char esc[2 * BS_ID_MAX + 1], pattern[KEY_MAX], cursor[32] = "0";
    if (glob_escape(run, esc, sizeof esc) < 0 ||
        keys_run_named(pattern, sizeof pattern, esc, "*") < 0)
        return snprintf(err, errlen, "run id '%s' too long", run), -1;
    long long total = 0;
    do {
        redisReply *r = bredis_query(c, REDIS_REPLY_ARRAY, err, errlen,
                                     "SCAN %s MATCH %s COUNT 1000", cursor, pattern);
        if (!r)
            return -1;
        long long n = -1;
        if (r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
            r->element[1]->type == REDIS_REPLY_ARRAY) {
            snprintf(cursor, sizeof cursor, "%s", r->element[0]->str);
            n = unlink_page(c, r->element[1], err, errlen);
        } else {
            snprintf(err, errlen, "redis: SCAN: unexpected reply");
        }
        freeReplyObject(r);
        if (n < 0)
            return -1;
        total += n;
    } while (strcmp(cursor, "0"));
    redisReply *z = bredis_query(c, REDIS_REPLY_INTEGER, err, errlen, "ZREM %s %s", KEY_RUNS, run);
    if (!z)
        return -1;
    freeReplyObject(z);
    return total;
}

/* 1 when rule chooses the i-th oldest of n runs, created at score_ms. */
static int chosen(const struct runstore_rule *rule, size_t i, size_t n, const char *score_ms)
{
    if (rule->keep >= 0 && (int64_t)i < (int64_t)n - rule->keep)
        return 1;
    return rule->before_ms > 0 && strtod(score_ms, NULL) < (double)rule->before_ms;
}

/* Removes run (or says it would) unless it is still running; returns 1 when it went
 * (or would), 0 when kept, -1 on a Redis error. */
static int prune_one(redisContext *c, const struct runstore_rule *rule, const char *run,
                     runstore_each_fn each, void *arg, char *err, size_t errlen)
{
    int over = rule->force ? 1 : runstore_over(c, run, NULL, err, errlen);
    if (over < 0)
        return -1;
    long long nkeys = 0;
    enum runstore_fate fate = !over           ? RUNSTORE_KEPT_RUNNING
                              : rule->dry_run ? RUNSTORE_WOULD_REMOVE
                                              : RUNSTORE_REMOVED;
    if (fate == RUNSTORE_REMOVED && (nkeys = runstore_remove(c, run, err, errlen)) < 0)
        return -1;
    if (each)
        each(arg, run, fate, nkeys);
    return fate != RUNSTORE_KEPT_RUNNING;
}

int runstore_prune(redisContext *c, const struct runstore_rule *rule, runstore_each_fn each,
                   void *arg, char *err, size_t errlen)
{
    redisReply *z =
        bredis_query(c, REDIS_REPLY_ARRAY, err, errlen, "ZRANGE %s 0 -1 WITHSCORES", KEY_RUNS);
    if (!z)
        return -1;
    size_t n = z->elements / 2;
    int gone = 0;
    for (size_t i = 0; i < n; i++) {
        const redisReply *id = z->element[2 * i], *score = z->element[2 * i + 1];
        if (id->type != REDIS_REPLY_STRING || score->type != REDIS_REPLY_STRING ||
            !chosen(rule, i, n, score->str) || !runstore_valid_id(id->str))
            continue;
        int r = prune_one(c, rule, id->str, each, arg, err, errlen);
        if (r < 0) {
            gone = -1;
            break;
        }
        gone += r;
    }
    freeReplyObject(z);
    return gone;
}
