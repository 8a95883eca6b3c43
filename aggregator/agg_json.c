/* A loaded run and its guests as JSON values, built with jansson and dumped once, so no
 * comma or escape is ever written by hand. Not for queries (agg.c, agg_guests.c) nor
 * for the text table (agg_print.c).
 *
 * Report keys (stable: tests and users read them): run, name, guest, backend, accel
 * (used, else asked), accel_asked, pattern, start (cold | snapshot | template), created_tr, count
 * (all guests), count_per_host, hosts [..], hosts_expected, hosts_done, spawned, ready, failed,
 * stopped, failed_by_reason {timeout, crash, spawn, other}, lost_events, boot_ms {min, p50, p90,
 * p99, max, mean} | null, all_ready_ms, peak_mem_mib, mem_base_mib, mem_per_guest_mib,
 * lag_ms {p50, p99} | null, launcher {cpu_ms, rss_mib}, ready_per_s, peak_ready_1s,
 * restarts, restart_count, restart {tr, level, recovery_ms} | null, per_host [{host, spawned,
 * ready, failed, restarts, boot_ms, lag_ms (dist: {n, min, p50, p90, p99, max, mean} | null),
 * all_ready_ms, peak_mem_mib, clock_offset_ms, clock_err_ms, count, first_spawn_ms,
 * last_ready_ms, prep_ms, state_kib (start snapshot / template, else null)}], slowest_host, split,
 * fleet {ready_ms, err_ms, start_spread_ms, start_at_tr}, hosts_lost, missing {HOST: why},
 * phases_ms {NAME: dist}, boot_by_running [{from, to, n, mean_ms, max_ms}], invalid, clock_flag,
 * complete, errors [..]. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) { /* no overlongs, no surrogates */
        len = 3;
        lo = c == 0xE0 ? 0xA0 : lo;
        hi = c == 0xED ? 0x9F : hi;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        lo = c == 0xF0 ? 0x90 : lo;
        hi = c == 0xF4 ? 0x8F : hi;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

/* s[0..n) as a JSON string, each invalid UTF-8 byte replaced by U+FFFD (jansson
 * refuses invalid UTF-8; a remote host's error text may hold any bytes). */
static json_t *str_n(const char *s, size_t n)
{
    char *buf = malloc(3 * n + 1), *d = buf;
    if (!buf)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s, *end = p + n; p < end;) {
        size_t len = utf8_len(p, (size_t)(end - p));
        if (!len) {
            memcpy(d, "\xef\xbf\xbd", 3);
            d += 3;
            p++;
        } else {
            memcpy(d, p, len);
            d += len;
            p += len;
        }
    }
    json_t *j = json_stringn(buf, (size_t)(d - buf));
    free(buf);
    return j;
}

json_t *agg_json_string(const char *s)
{
    return *s ? str_n(s, strlen(s)) : json_null();
}

json_t *agg_json_number(double v, int ok)
{
    if (!ok || !isfinite(v))
        return json_null();
    if (fabs(v) < 1e12) /* at most 6 decimals, as the durations are measured */
        v = round(v * 1e6) / 1e6;
    if (v == trunc(v) && fabs(v) < 9e15)
        return json_integer((json_int_t)v);
    return json_real(v);
}

#define STR agg_json_string
#define NUM agg_json_number
#define INT(v) json_integer((json_int_t)(v))

/* Sets key to v in o; v NULL (out of memory) is remembered in *bad. */
static void put(json_t *o, const char *key, json_t *v, int *bad)
{
    if (!v || json_object_set_new(o, key, v) < 0)
        *bad = 1;
}

/* put() under a key read from Redis: made valid UTF-8 first, as jansson requires. */
static void put_key(json_t *o, const char *key, json_t *v, int *bad)
{
    json_t *k = str_n(key, strlen(key));
    if (k) {
        put(o, json_string_value(k), v, bad);
        json_decref(k);
    } else {
        json_decref(v);
        *bad = 1;
    }
}

static void push(json_t *a, json_t *v, int *bad)
{
    if (!v || json_array_append_new(a, v) < 0)
        *bad = 1;
}

/* The elements of a sep-separated list, empty items skipped. */
static json_t *list(const char *s, char sep, int *bad)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    while (*s) {
        const char *e = strchr(s, sep);
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (n)
            push(a, str_n(s, n), bad);
        s += n + (e != NULL);
    }
    return a;
}

static json_t *dist(const struct agg_dist *d, int *bad)
{
    if (!d->n)
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "n", INT(d->n), bad);
    put(o, "min", NUM(d->min, 1), bad);
    put(o, "p50", NUM(d->p50, 1), bad);
    put(o, "p90", NUM(d->p90, 1), bad);
    put(o, "p99", NUM(d->p99, 1), bad);
    put(o, "max", NUM(d->max, 1), bad);
    put(o, "mean", NUM(d->mean, d->mean >= 0), bad);
    return o;
}

static json_t *mib(long long kib)
{
    return NUM((double)kib / 1024.0, kib >= 0);
}

static json_t *boot(const struct agg_run *r, int *bad)
{
    if (r->boot_n <= 0)
        return json_null();
    json_t *o = json_object();
    if (!o)
        return NULL;
    put(o, "min", NUM(r->boot_min_ms, 1), bad);
    put(o, "p50", NUM(r->boot_p50_ms, 1), bad);
    put(o, "p90", NUM(r->boot_p90_ms, 1), bad);
    put(o, "p99", NUM(r->boot_p99_ms, 1), bad);
    put(o, "max", NUM(r->boot_max_ms, 1), bad);
    put(o, "mean", NUM(r->boot_mean_ms, r->boot_mean_ms >= 0), bad);
    return o;
}

static json_t *host(const struct agg_host *h, int *bad)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int when = h->first_spawn_c != 0, clk = h->clock_err_ms >= 0;
    put(o, "host", STR(h->name), bad);
    put(o, "spawned", INT(h->spawned), bad);
    put(o, "ready", INT(h->ready), bad);
    put(o, "failed", INT(h->failed), bad);
    put(o, "restarts", INT(h->restarts), bad);
    put(o, "boot_ms", dist(&h->boot, bad), bad);
    put(o, "lag_ms", dist(&h->lag, bad), bad);
    put(o, "all_ready_ms", NUM(h->all_ready_ms, h->all_ready_ms >= 0), bad);
    put(o, "peak_mem_mib", mib(h->peak_mem_kib), bad);
    put(o, "clock_offset_ms", NUM(h->clock_offset_ms, clk), bad);
    put(o, "clock_err_ms", NUM(h->clock_err_ms, clk), bad);
    put(o, "count", INT(h->count), bad);
    put(o, "first_spawn_ms", NUM(h->first_spawn_ms, when), bad);
    put(o, "last_ready_ms", NUM(h->last_ready_ms, when), bad);
    put(o, "prep_ms", NUM(h->prep_ms, h->prep_ms > 0), bad);
    put(o, "state_kib", h->state_kib > 0 ? INT(h->state_kib) : json_null(), bad);
    return o;
}

/* Identity, scenario and counters. */
static void put_summary(json_t *o, const struct agg_run *r, int *bad)
{
    put(o, "run", STR(r->run), bad);
    put(o, "name", STR(r->name), bad);
    put(o, "guest", STR(r->kind), bad);
    put(o, "backend", STR(r->backend), bad);
    put(o, "accel", STR(r->accel_used[0] ? r->accel_used : r->accel), bad);
    put(o, "accel_asked", STR(r->accel), bad);
    put(o, "pattern", STR(r->pattern), bad);
    put(o, "start", STR(r->start[0] ? r->start : "cold"), bad);
    put(o, "created_tr", r->created_tr > 0 ? INT(r->created_tr) : json_null(), bad);
    put(o, "count", INT(r->total), bad);
    put(o, "count_per_host", INT(r->count), bad);
    put(o, "hosts", list(r->hosts, ',', bad), bad);
    put(o, "hosts_expected", INT(r->hosts_expected), bad);
    put(o, "hosts_done", INT(r->hosts_done), bad);
    put(o, "spawned", INT(r->spawned), bad);
    put(o, "ready", INT(r->ready), bad);
    put(o, "failed", INT(r->failed), bad);
    put(o, "stopped", INT(r->stopped), bad);
    put(o, "failed_by_reason",
        json_pack("{sI,sI,sI,sI,sI,sI}", "timeout", (json_int_t)r->failed_timeout, "crash",
                  (json_int_t)r->failed_crash, "spawn", (json_int_t)r->failed_spawn, "other",
                  (json_int_t)r->failed_other, "not_started", (json_int_t)r->failed_not_started,
                  "launcher_lost", (json_int_t)r->failed_launcher_lost),
        bad);
    put(o, "lost_events", INT(r->lost_events), bad);
}

/* Boot, memory, lag, launcher cost and rates. */
static void put_measures(json_t *o, const struct agg_run *r, int *bad)
{
    double per_guest = agg_mem_per_guest_mib(r);
    put(o, "boot_ms", boot(r, bad), bad);
    put(o, "all_ready_ms", NUM(r->all_ready_ms, r->all_ready_ms >= 0), bad);
    put(o, "peak_mem_mib", mib(r->peak_mem_kib), bad);
    put(o, "mem_base_mib", mib(r->mem_base_kib), bad);
    int pss = r->pss_per_guest_mib >= 0;
    put(o, "pss_per_guest_mib", NUM(r->pss_per_guest_mib, pss), bad);
    put(o, "pss_sample",
        pss ? json_pack("{s:I, s:I, s:f, s:b}", "running", (json_int_t)r->pss_running, "sampled",
                        (json_int_t)r->pss_sampled, "at_ms", r->pss_at_ms, "while_booting",
                        r->pss_booting)
            : json_null(),
        bad);
    json_t *ac = json_object();
    for (int i = 0; ac && i < r->naccels; i++)
        put_key(ac, r->accels[i].name, INT(r->accels[i].n), bad);
    put(o, "instances_by_accel", ac, bad);
    put(o, "mem_per_guest_mib", NUM(per_guest, per_guest >= 0), bad);
    put(o, "lag_ms",
        r->lag_n > 0
            ? json_pack("{so,so}", "p50", NUM(r->lag_p50_ms, 1), "p99", NUM(r->lag_p99_ms, 1))
            : json_null(),
        bad);
    put(o, "launcher",
        json_pack("{so,so}", "cpu_ms", NUM((double)r->cpu_ms, r->cpu_ms >= 0), "rss_mib",
                  mib(r->rss_kib)),
        bad);
    put(o, "ready_per_s", NUM(r->ready_per_s, r->ready_per_s >= 0), bad);
    put(o, "peak_ready_1s", INT(r->peak_ready_1s), bad);
    put(o, "restarts", INT(r->restarts), bad);
    put(o, "restart_count", INT(r->restart_count), bad);
    put(o, "restart",
        r->restart_tr
            ? json_pack("{sI,so,so}", "tr", (json_int_t)r->restart_tr, "level",
                        r->restart_level >= 0 ? INT(r->restart_level) : json_null(), "recovery_ms",
                        NUM(r->restart_recovery_ms, r->restart_recovery_ms >= 0))
            : json_null(),
        bad);
}

/* Per host, the fleet timeline, and the hosts the run missed. */
static void put_fleet(json_t *o, const struct agg_run *r, int *bad)
{
    json_t *hosts = json_array(), *missing = json_object();
    for (int i = 0; hosts && i < r->nhosts; i++)
        push(hosts, host(&r->host[i], bad), bad);
    put(o, "per_host", hosts, bad);
    put(o, "slowest_host", r->slowest >= 0 ? STR(r->host[r->slowest].name) : json_null(), bad);
    put(o, "split", STR(r->split[0] ? r->split : "per_host"), bad);
    put(o, "fleet",
        json_pack("{so,so,so,so}", "ready_ms", NUM(r->fleet_ready_ms, r->fleet_ready_ms >= 0),
                  "err_ms", NUM(r->fleet_err_ms, r->fleet_err_ms >= 0), "start_spread_ms",
                  NUM(r->start_spread_ms, r->start_spread_ms >= 0), "start_at_tr",
                  r->start_at_tr > 0 ? INT(r->start_at_tr) : json_null()),
        bad);
    put(o, "hosts_lost", INT(r->hosts_lost), bad);
    for (int i = 0; missing && i < r->nmissing; i++)
        put_key(missing, r->missing[i].host, STR(r->missing[i].why), bad);
    put(o, "missing", missing, bad);
}

/* Phases, boot by guests running, verdicts, errors. */
static void put_detail(json_t *o, const struct agg_run *r, int *bad)
{
    json_t *phases = json_object(), *buckets = json_array();
    for (int i = 0; phases && i < r->nphases; i++)
        put_key(phases, r->phase[i].name, dist(&r->phase[i].d, bad), bad);
    put(o, "phases_ms", phases, bad);
    for (int i = 0; buckets && i < r->nbuckets; i++) {
        const struct agg_bucket *k = &r->bucket[i];
        push(buckets,
             json_pack("{sI,sI,sI,so,so}", "from", (json_int_t)k->lo, "to",
                       (json_int_t)(k->lo ? 2 * k->lo - 1 : 0), "n", (json_int_t)k->n, "mean_ms",
                       NUM(k->mean_ms, k->mean_ms >= 0), "max_ms", NUM(k->max_ms, k->max_ms >= 0)),
             bad);
    }
    put(o, "boot_by_running", buckets, bad);
    put(o, "invalid", STR(r->invalid), bad);
    put(o, "clock_flag", STR(r->clock_flag), bad);
    put(o, "complete", json_boolean(r->complete), bad);
    put(o, "errors", list(r->errors, '\n', bad), bad);
}

json_t *agg_run_json(const struct agg_run *r)
{
    json_t *o = json_object();
    int bad = !o;
    if (o) {
        put_summary(o, r, &bad);
        put_measures(o, r, &bad);
        put_fleet(o, r, &bad);
        put_detail(o, r, &bad);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int agg_json_dump(json_t *j, FILE *out)
{
    if (!j)
        return -1;
    int rc = json_dumpf(j, out, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (rc < 0 || fputc('\n', out) == EOF)
        return -1;
    return 0;
}

int agg_print_json(const struct agg_run *r, FILE *out)
{
    return agg_json_dump(agg_run_json(r), out);
}

static json_t *guest(const struct agg_guests *gs, const struct agg_guest *g, int *bad)
{
    json_t *o = json_object(), *m = json_object();
    if (!o || !m) {
        json_decref(o);
        json_decref(m);
        return NULL;
    }
    int mem = g->rss_kib >= 0 && g->ram_kib >= 0;
    char id[2 * AGG_ID_MAX];
    put(o, "guest", STR(agg_guest_id(gs, g, id, sizeof id)), bad);
    put(o, "host", STR(agg_guest_host(gs, g)), bad);
    put(o, "idx", INT(g->idx), bad);
    put(o, "gen", INT(g->gen), bad);
    put(o, "state", STR(g->state), bad);
    put(o, "reason", STR(g->reason), bad);
    put(o, "running", INT(g->running), bad);
    put(o, "spawn_tr_ns", g->spawn_tr ? INT(g->spawn_tr) : json_null(), bad);
    put(o, "spawn_tm_ns", g->spawn_tm >= 0 ? INT(g->spawn_tm) : json_null(), bad);
    put(o, "boot_ms", NUM(g->boot_ms, g->boot_ms >= 0), bad);
    put(o, "spawned_ms", NUM(g->spawned_ms, g->spawned_ms >= 0), bad);
    put(o, "first_output_ms", NUM(g->first_output_ms, g->first_output_ms >= 0), bad);
    put(o, "ready_ms", NUM(g->ready_ms, g->ready_ms >= 0), bad);
    put(o, "rss_kib", NUM((double)g->rss_kib, g->rss_kib >= 0), bad);
    put(o, "ram_kib", NUM((double)g->ram_kib, g->ram_kib >= 0), bad);
    put(o, "vmm_overhead_kib", NUM((double)(g->rss_kib - g->ram_kib), mem), bad);
    put(o, "cpu_ms", NUM((double)g->cpu_ms, g->cpu_ms >= 0), bad);
    put(o, "accel", g->accel[0] ? STR(g->accel) : json_null(), bad);
    put(o, "accel_why", g->accel_why ? STR(g->accel_why) : json_null(), bad);
    put(o, "pid", NUM((double)g->pid, g->pid >= 0), bad);
    put(o, "exit_status", NUM((double)g->exit_status, g->exit_status >= 0), bad);
    put(o, "exit_ms", NUM(g->exit_ms, g->exit_ms >= 0), bad);
    put(o, "spawn_call_ms", NUM((double)g->spawn_ns / 1e6, g->spawn_ns >= 0), bad);
    put(o, "detail", g->detail ? STR(g->detail) : json_null(), bad);
    for (int i = 0; i < gs->nmarkers; i++)
        if (g->marker_ms[i] >= 0)
            put_key(m, gs->marker[i], NUM(g->marker_ms[i], 1), bad);
    put(o, "markers_ms", m, bad);
    return o;
}

json_t *agg_guests_json(const struct agg_guests *gs)
{
    json_t *a = json_array();
    int bad = !a;
    for (size_t i = 0; a && i < gs->n; i++)
        push(a, guest(gs, &gs->g[i], &bad), &bad);
    if (bad) {
        json_decref(a);
        return NULL;
    }
    return a;
}
