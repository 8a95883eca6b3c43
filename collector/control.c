/* start/abort handling: target selection, the run's meta, fan-out, reply. */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzmq.h"
#include "cmd.h"
#include "log.h"

static void reply(void *sock, const void *route, size_t route_len, const struct ev *req, int n,
                  const char *hosts, const char *error)
{
    struct ev r;
    ev_init(&r, EV_REPLY);
    r.tm = clock_mono();
    r.tr = clock_real();
    snprintf(r.run, sizeof r.run, "%s", req->run);
    r.ok = error == NULL;
    r.count = n;
    if (hosts && strlen(hosts) < sizeof r.hosts) /* else the count says how many */
        snprintf(r.hosts, sizeof r.hosts, "%s", hosts);
    if (error) {
        snprintf(r.error, sizeof r.error, "%s", error);
        log_warn("%s %s refused: %s", ev_type_name(req->type), req->run, error);
    }
    if (bzmq_send_ev(sock, route, route_len, &r) < 0)
        log_warn("could not reply to %s %s", ev_type_name(req->type), req->run);
}

/* Fills t with the live targets of spec; returns their number or -1 with err set. */
static int pick_targets(const struct registry *reg, mono_ns now, const char *spec, struct host **t,
                        char *err, size_t errlen)
{
    int n = 0;
    if (!spec[0] || !strcmp(spec, "all")) {
        for (size_t i = 0; i < reg->n; i++)
            if (reg_is_live(reg->hosts[i], now))
                t[n++] = reg->hosts[i];
        if (!n)
            snprintf(err, errlen, "no live launcher");
        return n ? n : -1;
    }
    char list[sizeof((struct ev *)0)->hosts], *save = NULL;
    snprintf(list, sizeof list, "%s", spec);
    for (char *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        struct host *h = reg_find(reg, name);
        if (!h || !reg_is_live(h, now)) {
            snprintf(err, errlen, "launcher '%s' is not connected", name);
            return -1;
        }
        int dup = 0;
        for (int i = 0; i < n; i++)
            dup |= t[i] == h;
        if (!dup)
            t[n++] = h;
    }
    if (!n)
        snprintf(err, errlen, "empty host list");
    return n ? n : -1;
}

/* The scenario name inside a run id YYYYmmdd-HHMMSS-NAME-COUNT-XXXX, else the id. */
static void run_name(const char *run, char *out, size_t cap)
{
    const char *p = run;
    for (int i = 0; i < 2 && p; i++)
        p = strchr(p, '-') ? strchr(p, '-') + 1 : NULL;
    const char *end = strrchr(run, '-');
    if (p && end && end > p)
        for (const char *q = end - 1; q > p; q--)
            if (*q == '-') {
                snprintf(out, cap, "%.*s", (int)(q - p), p);
                return;
            }
    snprintf(out, cap, "%s", run);
}

/* Writes the run's meta and its bs:runs entry; returns 0 or -1 with err set. */
static int write_meta(redisContext *redis, const struct ev *e, const char *hosts, int n, char *err,
                      size_t errlen)
{
    char meta[BS_ID_MAX + 16], name[BS_ID_MAX];
    snprintf(meta, sizeof meta, "bs:{%s}:meta", e->run);
    run_name(e->run, name, sizeof name);
    real_ns created = clock_real();
    struct cmd c;
    cmd_init(&c);
    cmd_str(&c, "EXISTS");
    cmd_str(&c, meta);
    redisReply *r = cmd_run(redis, &c);
    int exists = r && r->type == REDIS_REPLY_INTEGER && r->integer > 0;
    int ok = r && r->type == REDIS_REPLY_INTEGER;
    if (r)
        freeReplyObject(r);
    if (exists)
        snprintf(err, errlen, "run %s exists already", e->run);
    else if (!ok)
        snprintf(err, errlen, "redis: %s", redis->err ? redis->errstr : "EXISTS failed");
    if (!ok || exists)
        return -1;
    cmd_init(&c);
    cmd_str(&c, "HSET");
    cmd_str(&c, meta);
    const char *sv[][2] = {{"run", e->run},         {"name", name},      {"kind", e->kind},
                           {"backend", e->backend}, {"accel", e->accel}, {"pattern", e->pattern},
                           {"hosts", hosts}};
    for (size_t i = 0; i < sizeof sv / sizeof sv[0]; i++) {
        cmd_str(&c, sv[i][0]);
        cmd_str(&c, sv[i][1]);
    }
    const struct {
        const char *k;
        int64_t v;
    } iv[] = {{"count", e->count},         {"interval_ms", e->interval_ms}, {"hold_s", e->hold_s},
              {"timeout_s", e->timeout_s}, {"created_tr", created.ns},      {"hosts_expected", n}};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        cmd_str(&c, iv[i].k);
        cmd_int(&c, iv[i].v);
    }
    int sent = cmd_append(redis, &c) == 0;
    cmd_init(&c);
    cmd_str(&c, "ZADD");
    cmd_str(&c, "bs:runs");
    cmd_int(&c, created.ns / NS_PER_MS);
    cmd_str(&c, e->run);
    sent += sent && cmd_append(redis, &c) == 0;
    int rc = sent == 2 ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "redis: could not send the meta");
    for (int i = 0; i < sent; i++) { /* read every reply to keep the pipeline in step */
        redisReply *p = NULL;
        if (redisGetReply(redis, (void **)&p) != REDIS_OK) {
            snprintf(err, errlen, "redis: %s", redis->errstr);
            return -1;
        }
        if (p->type == REDIS_REPLY_ERROR && rc == 0) {
            snprintf(err, errlen, "redis: %s", p->str);
            rc = -1;
        }
        freeReplyObject(p);
    }
    return rc;
}

static void start(void *sock, redisContext *redis, const struct registry *reg, mono_ns now,
                  const void *route, size_t route_len, const struct ev *e)
{
    char err[256];
    struct host **t = calloc(reg->n + 1, sizeof *t);
    char *hosts = calloc(reg->n + 1, BS_ID_MAX);
    int n = t && hosts ? pick_targets(reg, now, e->hosts, t, err, sizeof err) : -1;
    if (!t || !hosts)
        snprintf(err, sizeof err, "out of memory");
    if (n > 0 && (!e->run[0] || strpbrk(e->run, "{}"))) {
        snprintf(err, sizeof err, "bad run id '%s'", e->run);
        n = -1;
    }
    if (n > 0 && !redis) {
        snprintf(err, sizeof err, "redis is not reachable");
        n = -1;
    }
    for (int i = 0; i < n; i++)
        strcat(strcat(hosts, i ? "," : ""), t[i]->id);
    if (n > 0 && write_meta(redis, e, hosts, n, err, sizeof err) < 0)
        n = -1;
    for (int i = 0; i < n; i++) {
        struct ev f = *e;
        snprintf(f.host, sizeof f.host, "%s", t[i]->id);
        f.tm = clock_mono();
        f.tr = clock_real();
        if (bzmq_send_ev(sock, t[i]->route, t[i]->route_len, &f) < 0)
            log_warn("start %s: could not queue it for %s", e->run, t[i]->id);
    }
    if (n > 0)
        log_info("start %s: %s x%lld on %s", e->run, e->kind, (long long)e->count, hosts);
    reply(sock, route, route_len, e, n > 0 ? n : 0, hosts, n > 0 ? NULL : err);
    free(t);
    free(hosts);
}

static void abort_run(void *sock, const struct registry *reg, mono_ns now, const void *route,
                      size_t route_len, const struct ev *e)
{
    int n = 0;
    struct ev f = *e;
    f.tm = clock_mono();
    f.tr = clock_real();
    for (size_t i = 0; i < reg->n; i++) {
        struct host *h = reg->hosts[i];
        if (reg_is_live(h, now) && bzmq_send_ev(sock, h->route, h->route_len, &f) == 0)
            n++;
    }
    log_info("abort %s: sent to %d launcher(s)", e->run, n);
    reply(sock, route, route_len, e, n, NULL, NULL);
}

void control_handle(void *sock, redisContext *redis, const struct registry *reg, mono_ns now,
                    const void *route, size_t route_len, const struct ev *e)
{
    if (e->type == EV_START)
        start(sock, redis, reg, now, route, route_len, e);
    else if (e->type == EV_ABORT)
        abort_run(sock, reg, now, route, route_len, e);
}
