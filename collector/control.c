/* start/abort handling: target selection, the run's meta, fan-out, reply. */
#include "control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bzmq.h"
#include "cmd.h"
#include "keys.h"
#include "log.h"
#include "runmeta.h"
#include "yamlcfg.h"

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

/* Adds h to t[0..*n) unless it is there already. */
static void add_target(struct host **t, int *n, struct host *h)
{
    for (int i = 0; i < *n; i++)
        if (t[i] == h)
            return;
    t[(*n)++] = h;
}

/* Adds the members of pool name: the live ones to t, the others (known hosts that are
 * not connected, or names this collector never heard of) to the comma list absent.
 * Returns the number of members, 0 when the pool does not exist, -1 on a Redis error. */
static int add_pool(redisContext *redis, struct registry *reg, mono_ns now, const char *name,
                    struct host **t, int *n, size_t tcap, char *absent, size_t acap)
{
    char key[KEY_MAX];
    if (keys_pool(key, sizeof key, name) < 0)
        return 0;
    redisReply *r = redisCommand(redis, "SMEMBERS %s", key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        if (r)
            freeReplyObject(r);
        return -1;
    }
    int members = (int)r->elements;
    for (size_t i = 0; i < r->elements; i++) {
        const char *m = r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : "";
        struct host *h = *m ? reg_find(reg, m) : NULL;
        if (h && reg_is_live(h, now) && (size_t)*n < tcap) {
            add_target(t, n, h);
        } else if (*m && strlen(absent) + strlen(m) + 2 < acap && !strstr(absent, m)) {
            size_t len = strlen(absent);
            snprintf(absent + len, acap - len, "%s%s", len ? "," : "", m);
        }
    }
    freeReplyObject(r);
    return members;
}

/* Fills t with the live targets of spec ("all"/empty, or a comma list of host ids,
 * pool:NAME and bare pool names); pool members not connected go to absent. Returns
 * the number of targets, or -1 with err set. A named host that is not connected is
 * an error; a pool is satisfied by the members that are. */
static int pick_targets(redisContext *redis, struct registry *reg, mono_ns now, const char *spec,
                        struct host **t, char *absent, size_t acap, char *err, size_t errlen)
{
    int n = 0;
    size_t tcap = reg->n;
    absent[0] = '\0';
    char list[sizeof((struct ev *)0)->hosts], *save = NULL;
    snprintf(list, sizeof list, "%s", spec[0] ? spec : "all");
    for (char *name = strtok_r(list, ", ", &save); name; name = strtok_r(NULL, ", ", &save)) {
        struct host *h = NULL;
        if (!strcmp(name, "all")) {
            for (size_t i = 0; i < reg->n; i++)
                if (reg_is_live(reg->hosts[i], now))
                    add_target(t, &n, reg->hosts[i]);
            continue;
        }
        int is_pool = !strncmp(name, "pool:", 5);
        const char *pool = is_pool ? name + 5 : name;
        if (!is_pool && (h = reg_find(reg, name))) {
            if (!reg_is_live(h, now)) {
                snprintf(err, errlen, "launcher '%s' is not connected", name);
                return -1;
            }
            add_target(t, &n, h);
            continue;
        }
        if (ycfg_id_check(is_pool ? "pool name" : "host or pool name", pool, err, errlen) < 0)
            return -1;
        int m = add_pool(redis, reg, now, pool, t, &n, tcap, absent, acap);
        if (m < 0) {
            snprintf(err, errlen, "redis: %s", redis->err ? redis->errstr : "SMEMBERS failed");
            return -1;
        }
        if (m == 0) {
            snprintf(err, errlen,
                     is_pool ? "no pool '%s' (bootstorm pool add)"
                             : "launcher '%s' is not connected and no pool has that name",
                     pool);
            return -1;
        }
    }
    if (!n)
        snprintf(err, errlen, "no live launcher among '%.60s'%s%.150s", spec[0] ? spec : "all",
                 absent[0] ? "; not connected: " : "", absent);
    return n ? n : -1;
}

/* Each target's share: count on every host (per_host), or count split by the hosts'
 * cores from bs:host:HOST (by_cores: floor of the proportional share, the remaining
 * guests one each to the largest remainders). Targets with a share of 0 are dropped.
 * Returns the new number of targets, or -1 with err. */
static int split_counts(redisContext *redis, const struct ev *e, struct host **t, int n,
                        int64_t *share, char *err, size_t errlen)
{
    if (!e->split[0] || !strcmp(e->split, "per_host")) {
        for (int i = 0; i < n; i++)
            share[i] = e->count;
        return n;
    }
    if (strcmp(e->split, "by_cores")) {
        snprintf(err, errlen, "unknown split '%s' (per_host | by_cores)", e->split);
        return -1;
    }
    int64_t cores[n ? n : 1], sum = 0, given = 0;
    for (int i = 0; i < n; i++) {
        char key[KEY_MAX];
        keys_host(key, sizeof key, t[i]->id); /* ids fit: BS_ID_MAX < KEY_MAX */
        redisReply *r = redisCommand(redis, "HGET %s cores", key);
        cores[i] = r && r->type == REDIS_REPLY_STRING ? atoll(r->str) : 0;
        if (r)
            freeReplyObject(r);
        else {
            snprintf(err, errlen, "redis: %s", redis->errstr);
            return -1;
        }
        cores[i] = cores[i] > 0 ? cores[i] : 1; /* unknown: counts as one core */
        sum += cores[i];
    }
    for (int i = 0; i < n; i++) {
        share[i] = e->count * cores[i] / sum;
        given += share[i];
    }
    while (given < e->count) { /* largest remainder first, ties to the first host */
        int best = 0;
        int64_t best_rem = -1;
        for (int i = 0; i < n; i++) {
            int64_t rem = (e->count * cores[i]) % sum;
            if (rem > best_rem) {
                best_rem = rem;
                best = i;
            }
        }
        share[best]++;
        given++;
        cores[best] = 0; /* its remainder is used; sum stays, so later picks go elsewhere */
    }
    int k = 0;
    for (int i = 0; i < n; i++)
        if (share[i] > 0) {
            t[k] = t[i];
            share[k++] = share[i];
        }
    return k;
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

/* Creates the run: its meta and its bs:runs entry, through FCALL bs_run_create (the
 * Function is the one writer of meta), refused when the run exists. Returns 0 or -1
 * with err set. */
static int write_meta(redisContext *redis, const struct ev *e, const char *hosts, int n,
                      int64_t at_tr, int64_t total, char *err, size_t errlen)
{
    char meta[KEY_MAX], name[BS_ID_MAX];
    keys_run(meta, sizeof meta, e->run, KEY_META);
    run_name(e->run, name, sizeof name);
    real_ns created = clock_real();
    struct cmd c;
    cmd_init(&c);
    const char *fixed[] = {"FCALL", "bs_run_create", "2", meta, KEY_RUNS, e->run};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        cmd_str(&c, fixed[i]);
    cmd_int(&c, created.ns / NS_PER_MS);
    const char *sv[][2] = {{"name", name},
                           {"kind", e->kind},
                           {"backend", e->backend},
                           {"accel", e->accel},
                           {"pattern", e->pattern},
                           {"hosts", hosts},
                           {"split", e->split[0] ? e->split : "per_host"},
                           {"start", e->start[0] ? e->start : "cold"}};
    for (size_t i = 0; i < sizeof sv / sizeof sv[0]; i++) {
        cmd_str(&c, sv[i][0]);
        cmd_str(&c, sv[i][1]);
    }
    const struct {
        const char *k;
        int64_t v;
    } iv[] = {{"count", e->count},         {"interval_ms", e->interval_ms}, {"hold_s", e->hold_s},
              {"timeout_s", e->timeout_s}, {"created_tr", created.ns},      {"hosts_expected", n},
              {"start_at_tr", at_tr},      {"count_total", total}};
    for (size_t i = 0; i < sizeof iv / sizeof iv[0]; i++) {
        cmd_str(&c, iv[i].k);
        cmd_int(&c, iv[i].v);
    }
    redisReply *r = cmd_run(redis, &c);
    int rc = r && r->type == REDIS_REPLY_INTEGER ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s%s",
                 r ? "" : "redis: ", r && r->type == REDIS_REPLY_ERROR ? r->str : redis->errstr);
    if (r)
        freeReplyObject(r);
    return rc;
}

/* One note on the run's meta (runmeta.h), best effort: a failure is logged. */
static void meta_call(redisContext *redis, enum runmeta_op op, const char *run, const char *field,
                      const char *value)
{
    char err[256];
    if (redis && runmeta_note(redis, run, op, field, value, err, sizeof err) < 0)
        log_warn("run %s: could not note %s: %s", run, field, err);
}

void control_meta_note(redisContext *redis, const char *run, const char *field, const char *value)
{
    meta_call(redis, RUNMETA_SET, run, field, value);
}

static void start(void *sock, redisContext *redis, struct registry *reg, mono_ns now,
                  int64_t lead_ns, const void *route, size_t route_len, const struct ev *e)
{
    char err[256], absent[sizeof e->hosts] = "";
    struct host **t = calloc(reg->n + 1, sizeof *t);
    char *hosts = calloc(reg->n + 1, BS_ID_MAX);
    int64_t *share = calloc(reg->n + 1, sizeof *share), total = 0;
    int n = -1;
    if (!t || !hosts || !share)
        snprintf(err, sizeof err, "out of memory");
    else if (ycfg_id_check("run id", e->run, err, sizeof err) < 0)
        n = -1; /* err says why */
    else if (!redis)
        snprintf(err, sizeof err, "redis is not reachable");
    else if ((n = pick_targets(redis, reg, now, e->hosts, t, absent, sizeof absent, err,
                               sizeof err)) > 0)
        n = split_counts(redis, e, t, n, share, err, sizeof err);
    if (n == 0) {
        snprintf(err, sizeof err, "a total of %lld guests leaves no host a share",
                 (long long)e->count);
        n = -1;
    }
    /* One agreed start for the fleet, on our clock; each host gets it on its own. */
    int64_t at = e->at > 0 ? e->at : clock_real().ns + lead_ns;
    for (int i = 0; i < n; i++) {
        strcat(strcat(hosts, i ? "," : ""), t[i]->id);
        total += share[i];
    }
    if (n > 0 && write_meta(redis, e, hosts, n, at, total, err, sizeof err) < 0)
        n = -1;
    char field[BS_ID_MAX + 16], val[64], *save = NULL;
    for (int i = 0; i < n && strcmp(e->split, "by_cores") == 0; i++) {
        snprintf(field, sizeof field, "count:%s", t[i]->id);
        snprintf(val, sizeof val, "%lld", (long long)share[i]);
        control_meta_note(redis, e->run, field, val);
    }
    for (char *a = n > 0 ? strtok_r(absent, ",", &save) : NULL; a; a = strtok_r(NULL, ",", &save)) {
        snprintf(field, sizeof field, "missing:%s", a);
        control_meta_note(redis, e->run, field, "pool member not connected at the start: left out");
    }
    for (int i = 0; i < n; i++) {
        struct ev f = *e;
        int64_t off, off_err;
        snprintf(f.host, sizeof f.host, "%s", t[i]->id);
        f.count = share[i];
        /* offset = its clock - ours: it reads at + offset when we read at */
        f.at = at + (reg_clock_best(t[i], &off, &off_err) == 0 ? off : 0);
        f.tm = clock_mono();
        f.tr = clock_real();
        if (bzmq_send_ev(sock, t[i]->route, t[i]->route_len, &f) < 0)
            log_warn("start %s: could not queue it for %s", e->run, t[i]->id);
    }
    if (n > 0) {
        struct reg_run *run = reg_run_add(reg, e->run, at, t, n, now);
        if (!run)
            log_err("start %s: out of memory: missing hosts will not be noticed", e->run);
        else
            run->prepare = e->start[0] && strcmp(e->start, "cold");
        log_info("start %s: %s x%lld (%s) on %s in %.3f s%s%s", e->run, e->kind, (long long)total,
                 e->split[0] ? e->split : "per_host", hosts, (double)(at - clock_real().ns) / 1e9,
                 absent[0] ? "; left out: " : "", absent);
    }
    reply(sock, route, route_len, e, n > 0 ? n : 0, hosts, n > 0 ? NULL : err);
    free(t);
    free(hosts);
    free(share);
}

/* Gives up on target g of run: the CLI stops waiting for it (lost_tr), the report
 * says why (missing:HOST). */
static void lose(redisContext *redis, struct reg_run *run, struct reg_target *g, const char *why)
{
    char field[BS_ID_MAX + 16], val[32];
    g->state = TGT_LOST;
    log_warn("run %s: host %s: %s", run->id, g->h->id, why);
    snprintf(field, sizeof field, "missing:%s", g->h->id);
    control_meta_note(redis, run->id, field, why);
    snprintf(field, sizeof field, "lost_tr:%s", g->h->id);
    snprintf(val, sizeof val, "%lld", (long long)clock_real().ns);
    control_meta_note(redis, run->id, field, val);
    meta_call(redis, RUNMETA_INCR, run->id, "hosts_lost", "1");
}

/* A lost target came back after all: it is waited for again. */
static void unlose(redisContext *redis, struct reg_run *run, struct reg_target *g)
{
    char field[BS_ID_MAX + 16];
    snprintf(field, sizeof field, "lost_tr:%s", g->h->id);
    meta_call(redis, RUNMETA_DEL, run->id, field, NULL);
    meta_call(redis, RUNMETA_INCR, run->id, "hosts_lost", "-1");
}

void control_on_event(redisContext *redis, struct registry *reg, const struct ev *e)
{
    struct reg_run *run = reg_run_find(reg, e->run);
    for (int i = 0; run && i < run->n; i++) {
        struct reg_target *g = &run->t[i];
        if (strcmp(g->h->id, e->host))
            continue;
        char field[BS_ID_MAX + 16], why[160];
        if (e->type == EV_RUN_START && g->state == TGT_LOST) {
            snprintf(field, sizeof field, "missing:%s", g->h->id);
            snprintf(why, sizeof why, "started late: its run_start came %.1f s after the start",
                     (double)(clock_real().ns - run->at_tr) / 1e9);
            control_meta_note(redis, run->id, field, why);
            unlose(redis, run, g);
            g->state = TGT_STARTED;
        } else if (e->type == EV_RUN_START && g->state == TGT_WAITING) {
            g->state = TGT_STARTED;
        } else if (e->type == EV_PREPARED) {
            if (g->state == TGT_LOST) /* it speaks again: waited for, and told the start */
                unlose(redis, run, g);
            g->state = g->state == TGT_ENDED ? TGT_ENDED : TGT_STARTED;
            g->prepared = 1;
        } else if (e->type == EV_RUN_END) {
            if (g->state == TGT_LOST)
                unlose(redis, run, g);
            g->state = TGT_ENDED;
        }
    }
}

void control_tick(redisContext *redis, struct registry *reg, mono_ns now)
{
    int64_t now_tr = clock_real().ns;
    for (size_t k = 0; k < reg->nruns; k++) {
        struct reg_run *run = reg->runs[k];
        int open = 0;
        for (int i = 0; i < run->n; i++) {
            struct reg_target *g = &run->t[i];
            struct host *h = g->h;
            char why[200], when[32], field[BS_ID_MAX + 16];
            if (g->state == TGT_WAITING && now_tr - run->at_tr > REG_START_GRACE_NS) {
                snprintf(why, sizeof why, "missed the start: no run_start within %lld s of it%s",
                         (long long)(REG_START_GRACE_NS / NS_PER_S),
                         reg_is_live(h, now) ? "" : " (not connected)");
                lose(redis, run, g, why);
            } else if (g->state == TGT_STARTED &&
                       (h->gone || mono_diff(h->last_heard, now) > REG_RUN_LOST_NS)) {
                /* its launcher died (its guests with it) or cannot reach us: the run
                 * goes on without it; a host that comes back is waited for again */
                real_format((real_ns){now_tr - mono_diff(h->last_heard, now)}, when, sizeof when);
                snprintf(why, sizeof why, "launcher lost: silent since %s UTC (over %lld s)", when,
                         (long long)(REG_RUN_LOST_NS / NS_PER_S));
                lose(redis, run, g, why);
            } else if (g->state == TGT_STARTED && h->missing && !g->silent_since_tr) {
                g->silent_since_tr = now_tr - mono_diff(h->last_heard, now);
                real_format((real_ns){g->silent_since_tr}, when, sizeof when);
                snprintf(why, sizeof why, "missing: silent since %s UTC", when);
                snprintf(field, sizeof field, "missing:%s", h->id);
                control_meta_note(redis, run->id, field, why);
                log_warn("run %s: host %s %s", run->id, h->id, why);
            } else if (g->state == TGT_STARTED && !h->missing && g->silent_since_tr) {
                real_format((real_ns){g->silent_since_tr}, when, sizeof when);
                snprintf(why, sizeof why, "was silent from %s UTC for %.1f s, then came back", when,
                         (double)(now_tr - mono_diff(h->last_heard, now) - g->silent_since_tr) /
                             1e9);
                snprintf(field, sizeof field, "missing:%s", h->id);
                control_meta_note(redis, run->id, field, why);
                g->silent_since_tr = 0;
            }
            open |= g->state != TGT_ENDED;
        }
        if (!open || mono_diff(run->created, now) > REG_RUN_MAX_NS) {
            reg_run_drop(reg, k);
            k--;
        }
    }
}

/* ---- start snapshot | template: one start once every host is prepared ---- */

/* 1 when no target is still preparing (each is prepared, ended or given up on) and at
 * least one is prepared. */
static int all_prepared(const struct reg_run *run)
{
    int any = 0;
    for (int i = 0; i < run->n; i++) {
        const struct reg_target *g = &run->t[i];
        if (!g->prepared && g->state != TGT_ENDED && g->state != TGT_LOST)
            return 0;
        any |= g->prepared;
    }
    return any;
}

/* The storm's start: the first agreed one while it is still lead_ns / 4 ahead (the go
 * only travels: the hosts are set up), else that long from now (one host alone: now, it
 * has no one to wait for); then the run's agreed start (meta start_at_tr) is this one,
 * which the report measures first spawns from. */
static void pick_go(redisContext *redis, struct reg_run *run, int64_t lead_ns)
{
    int64_t soonest = clock_real().ns + (run->n > 1 ? lead_ns / 4 : 0);
    run->go_tr = run->at_tr > soonest ? run->at_tr : soonest;
    if (run->go_tr != run->at_tr) {
        char val[32];
        snprintf(val, sizeof val, "%lld", (long long)run->go_tr);
        control_meta_note(redis, run->id, "start_at_tr", val);
    }
    log_info("run %s: every host prepared; the storm starts in %.3f s%s", run->id,
             (double)(run->go_tr - clock_real().ns) / 1e9,
             run->go_tr != run->at_tr ? " (later than agreed: preparing took longer)" : "");
}

static void send_go(void *sock, const struct reg_run *run, struct reg_target *g)
{
    struct ev f;
    int64_t off, off_err;
    ev_init(&f, EV_GO);
    snprintf(f.run, sizeof f.run, "%s", run->id);
    f.at = run->go_tr + (reg_clock_best(g->h, &off, &off_err) == 0 ? off : 0);
    f.tm = clock_mono();
    f.tr = clock_real();
    if (bzmq_send_ev(sock, g->h->route, g->h->route_len, &f) < 0)
        log_warn("run %s: could not send the go to %s", run->id, g->h->id);
    g->go_sent = 1;
}

void control_go(void *sock, redisContext *redis, struct registry *reg, int64_t lead_ns)
{
    for (size_t k = 0; k < reg->nruns; k++) {
        struct reg_run *run = reg->runs[k];
        if (!run->prepare || (!run->go_tr && !all_prepared(run)))
            continue;
        if (!run->go_tr)
            pick_go(redis, run, lead_ns);
        for (int i = 0; i < run->n; i++) {
            struct reg_target *g = &run->t[i];
            if (g->prepared && !g->go_sent && g->state == TGT_STARTED)
                send_go(sock, run, g);
        }
    }
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

void control_handle(void *sock, redisContext *redis, struct registry *reg, mono_ns now,
                    int64_t lead_ns, const void *route, size_t route_len, const struct ev *e)
{
    if (e->type == EV_START)
        start(sock, redis, reg, now, lead_ns, route, route_len, e);
    else if (e->type == EV_ABORT)
        abort_run(sock, reg, now, route, route_len, e);
}
