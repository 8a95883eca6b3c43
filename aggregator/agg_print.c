/* Renders a loaded struct agg_run as the text table of the published studies or as
 * one JSON object. Not for queries (agg.c).
 *
 * JSON keys: run, name, guest, backend, accel (used, else asked), accel_asked,
 * pattern, created_tr, count (all guests), count_per_host, hosts [..],
 * hosts_expected, hosts_done, spawned, ready, failed,
 * failed_by_reason {timeout, crash, spawn, other}, boot_ms {min, p50, p90, p99, max,
 * mean} | null, all_ready_ms, peak_mem_mib, mem_base_mib, mem_per_guest_mib,
 * lag_ms {p50, p99} | null, launcher {cpu_ms, rss_mib}, ready_per_s, peak_ready_1s,
 * restarts, restart_count, per_host [{host, spawned, ready, failed, restarts, boot_ms,
 * lag_ms (dist: {n, min, p50, p90, p99, max, mean} | null), all_ready_ms, peak_mem_mib,
 * clock_offset_ms, clock_err_ms, count, first_spawn_ms, last_ready_ms}], slowest_host,
 * split, fleet {ready_ms, err_ms, start_spread_ms, start_at_tr}, hosts_lost,
 * missing {HOST: why}, phases_ms {NAME: dist},
 * boot_by_running [{from, to, n, mean_ms, max_ms}], invalid, clock_flag, complete,
 * errors [..]. */
#include "agg.h"

#include <math.h>
#include <string.h>

#include "clock.h"

/* Memory one guest costs on the host that peaked, or -1 when unknown. */
static double mem_per_guest_mib(const struct agg_run *r)
{
    if (r->peak_mem_kib < 0 || r->mem_base_kib < 0 || r->count <= 0)
        return -1;
    return (double)(r->peak_mem_kib - r->mem_base_kib) / (double)r->count / 1024.0;
}

static const char *accel_of(const struct agg_run *r)
{
    return r->accel_used[0] ? r->accel_used : r->accel;
}

/* ---- text ---- */

#define json_str agg_json_str
#define json_num agg_json_num

#define CELL 32
static const char *cell(char *buf, const char *fmt, double v, int ok)
{
    if (!ok || v < 0)
        return "-";
    snprintf(buf, CELL, fmt, v);
    return buf;
}

static const char *or_dash(const char *s)
{
    return *s ? s : "-";
}
static int max_i(int a, int b)
{
    return a > b ? a : b;
}

void agg_print_text(const struct agg_run *r, FILE *out)
{
    char b[10][CELL], when[64] = "";
    int ok = r->boot_n > 0;
    if (r->created_tr > 0)
        snprintf(when, sizeof when, ", created %s UTC",
                 real_format((real_ns){r->created_tr}, b[0], CELL));
    fprintf(out, "run %s (%s%s)\n", r->run, or_dash(r->name), when);
    int by_cores = !strcmp(r->split, "by_cores");
    fprintf(out, "pattern %s, %lld guests %s on %lld host%s (%s), %lld/%lld launchers done%s\n\n",
            or_dash(r->pattern), by_cores ? r->total : r->count,
            by_cores ? "split by cores" : "per host", r->hosts_expected,
            r->hosts_expected == 1 ? "" : "s", or_dash(r->hosts), r->hosts_done, r->hosts_expected,
            r->complete ? "" : ": INCOMPLETE");

    int wk = max_i(5, (int)strlen(r->kind)), wb = max_i(7, (int)strlen(r->backend));
    int wa = max_i(5, (int)strlen(accel_of(r)));
    fprintf(out, "%-*s  %-*s  %-*s  %6s  %6s  %6s  %8s  %8s  %8s  %8s  %8s  %8s  %12s  %9s  %9s\n",
            wk, "guest", wb, "backend", wa, "accel", "count", "ready", "failed", "min ms", "p50 ms",
            "p90 ms", "p99 ms", "max ms", "mean ms", "all ready ms", "peak MiB", "MiB/guest");
    fprintf(out,
            "%-*s  %-*s  %-*s  %6lld  %6lld  %6lld  %8s  %8s  %8s  %8s  %8s  %8s  %12s  %9s  %9s\n",
            wk, or_dash(r->kind), wb, or_dash(r->backend), wa, or_dash(accel_of(r)), r->total,
            r->ready, r->failed, cell(b[0], "%.1f", r->boot_min_ms, ok),
            cell(b[1], "%.1f", r->boot_p50_ms, ok), cell(b[2], "%.1f", r->boot_p90_ms, ok),
            cell(b[3], "%.1f", r->boot_p99_ms, ok), cell(b[4], "%.1f", r->boot_max_ms, ok),
            cell(b[5], "%.1f", r->boot_mean_ms, ok), cell(b[6], "%.1f", r->all_ready_ms, 1),
            cell(b[7], "%.1f", (double)r->peak_mem_kib / 1024.0, r->peak_mem_kib >= 0),
            cell(b[8], "%.2f", mem_per_guest_mib(r), 1));

    if (r->nhosts > 1) {
        int wh = 4;
        for (int i = 0; i < r->nhosts; i++)
            wh = max_i(wh, (int)strlen(r->host[i].name));
        fprintf(out, "\n%-*s  %6s  %6s  %8s  %8s  %8s  %8s  %12s  %9s  %9s  %9s  %s\n", wh, "host",
                "ready", "failed", "min ms", "p50 ms", "p99 ms", "max ms", "all ready ms",
                "peak MiB", "start ms", "done ms", "clock offset ms");
        for (int i = 0; i < r->nhosts; i++) {
            const struct agg_host *h = &r->host[i];
            int hk = h->boot.n > 0;
            char off[64] = "-";
            if (h->clock_err_ms >= 0)
                snprintf(off, sizeof off, "%+.3f +-%.3f", h->clock_offset_ms, h->clock_err_ms);
            char st[CELL] = "-", dn[CELL] = "-";
            if (h->first_spawn_c) { /* may be negative: a host that started early */
                snprintf(st, sizeof st, "%.1f", h->first_spawn_ms);
                snprintf(dn, sizeof dn, "%.1f", h->last_ready_ms);
            }
            fprintf(out, "%-*s  %6lld  %6lld  %8s  %8s  %8s  %8s  %12s  %9s  %9s  %9s  %s%s\n", wh,
                    h->name, h->ready, h->failed, cell(b[0], "%.1f", h->boot.min, hk),
                    cell(b[1], "%.1f", h->boot.p50, hk), cell(b[2], "%.1f", h->boot.p99, hk),
                    cell(b[3], "%.1f", h->boot.max, hk), cell(b[4], "%.1f", h->all_ready_ms, 1),
                    cell(b[5], "%.1f", (double)h->peak_mem_kib / 1024.0, h->peak_mem_kib >= 0), st,
                    dn, off, i == r->slowest ? "  (slowest)" : "");
        }
        fprintf(out, "fleet (%lld hosts%s): whole fleet ready in %s ms", (long long)r->nhosts,
                r->split[0] && strcmp(r->split, "per_host") ? ", split by cores" : "",
                cell(b[0], "%.1f", r->fleet_ready_ms, 1));
        if (r->fleet_ready_ms >= 0)
            fprintf(out, " (+-%s ms clock error)", cell(b[1], "%.3f", r->fleet_err_ms, 1));
        fprintf(out,
                ", first spawns %s ms apart; start/done ms: after the agreed start, host "
                "clocks corrected; slowest host (boot p99) %s\n",
                cell(b[2], "%.1f", r->start_spread_ms, 1),
                r->slowest >= 0 ? r->host[r->slowest].name : "-");
    }
    int markers = 0;
    for (int i = 0; i < r->nphases; i++)
        markers |= !strncmp(r->phase[i].name, "m:", 2);
    if (markers) {
        fprintf(out, "\n%-24s  %6s  %8s  %8s  %8s  %8s\n", "phase (ms)", "n", "p50", "p90", "p99",
                "max");
        for (int i = 0; i < r->nphases; i++) {
            const struct agg_phase *p = &r->phase[i];
            char label[AGG_ID_MAX + 32];
            if (!strcmp(p->name, "spawned"))
                snprintf(label, sizeof label, "spawn -> spawned");
            else if (!strcmp(p->name, "first_output"))
                snprintf(label, sizeof label, "spawned -> 1st output");
            else if (!strcmp(p->name, "ready"))
                snprintf(label, sizeof label, "1st output -> ready");
            else
                snprintf(label, sizeof label, "spawn -> %s", p->name + 2);
            fprintf(out, "%-24.24s  %6lld  %8.1f  %8.1f  %8.1f  %8.1f\n", label, p->d.n, p->d.p50,
                    p->d.p90, p->d.p99, p->d.max);
        }
    }
    if (r->nbuckets > 1) {
        fprintf(out, "\nboot vs guests running at spawn:");
        for (int i = 0; i < r->nbuckets; i++) {
            const struct agg_bucket *k = &r->bucket[i];
            fprintf(out, "%s %lld-%lld: %.1f ms (n %lld)", i ? "," : "", k->lo,
                    k->lo ? 2 * k->lo - 1 : 0, k->mean_ms, k->n);
        }
        fputc('\n', out);
    }
    if (r->ready_per_s > 0)
        fprintf(out, "%sready per second: %.1f on average, at most %lld within one second\n",
                r->nbuckets > 1 ? "" : "\n", r->ready_per_s, r->peak_ready_1s);
    if (r->restarts)
        fprintf(out, "restarts: %lld, %lld instances restarted\n", r->restarts, r->restart_count);
    if (r->invalid[0])
        fprintf(out, "INVALID: %s\n", r->invalid);
    if (r->clock_flag[0])
        fprintf(out, "clocks: %s\n", r->clock_flag);
    if (r->failed)
        fprintf(out, "\nfailed: %lld timeout, %lld crash, %lld spawn, %lld other\n",
                r->failed_timeout, r->failed_crash, r->failed_spawn, r->failed_other);
    if (r->lag_n > 0)
        fprintf(out, "launch lag behind schedule: p50 %.2f ms, p99 %.2f ms\n", r->lag_p50_ms,
                r->lag_p99_ms);
    if (r->cpu_ms >= 0 || r->rss_kib >= 0)
        fprintf(out, "launchers: cpu %s ms, rss %s MiB\n", cell(b[0], "%.0f", (double)r->cpu_ms, 1),
                cell(b[1], "%.1f", (double)r->rss_kib / 1024.0, r->rss_kib >= 0));
    if (r->errors[0]) {
        fprintf(out, "errors:\n");
        for (const char *p = r->errors; *p;) {
            fputs("  ", out);
            for (; *p && *p != '\n'; p++) /* no terminal control bytes from a remote host */
                fputc((unsigned char)*p < 0x20 && *p != '\t' ? '?' : *p, out);
            fputc('\n', out);
            p += *p == '\n';
        }
    }
    if (r->missing[0]) {
        fprintf(out, "\nhosts missing from the run%s:\n",
                r->hosts_lost ? " (given up on: the run is incomplete)" : "");
        const char *p = r->missing;
        while (*p) {
            const char *nl = strchr(p, '\n');
            int n = nl ? (int)(nl - p) : (int)strlen(p);
            fprintf(out, "  %.*s\n", n, p);
            p += n + (nl != NULL);
        }
    }
}

/* ---- JSON ---- */

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, lo = c == 0xE0 ? 0xA0 : lo,
        hi = c == 0xED ? 0x9F : hi; /* no overlongs, surrogates */
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, lo = c == 0xF0 ? 0x90 : lo, hi = c == 0xF4 ? 0x8F : hi;
    else
        return 0;
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

static void json_strn(FILE *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    fputc('"', out);
    while (p < end) {
        size_t len = utf8_len(p, (size_t)(end - p));
        if (!len) {
            fputs("\\ufffd", out);
            p++;
        } else if (len > 1) {
            fwrite(p, 1, len, out);
            p += len;
        } else {
            switch (*p) {
            case '"':
                fputs("\\\"", out);
                break;
            case '\\':
                fputs("\\\\", out);
                break;
            case '\n':
                fputs("\\n", out);
                break;
            case '\r':
                fputs("\\r", out);
                break;
            case '\t':
                fputs("\\t", out);
                break;
            default:
                if (*p < 0x20)
                    fprintf(out, "\\u%04x", *p);
                else
                    fputc(*p, out);
            }
            p++;
        }
    }
    fputc('"', out);
}

/* A string, or null when empty. */
void agg_json_str(FILE *out, const char *s)
{
    if (*s)
        json_strn(out, s, strlen(s));
    else
        fputs("null", out);
}

/* A number with at most 6 decimals and no trailing zeros, or null. */
void agg_json_num(FILE *out, double v, int ok)
{
    char buf[64];
    if (!ok || !isfinite(v)) {
        fputs("null", out);
        return;
    }
    snprintf(buf, sizeof buf, "%.6f", v);
    char *e = buf + strlen(buf) - 1;
    while (*e == '0')
        *e-- = '\0';
    if (*e == '.')
        *e = '\0';
    fputs(strcmp(buf, "-0") ? buf : "0", out);
}

/* Elements of a sep-separated list as a JSON array of strings; empty items skipped. */
static void json_list(FILE *out, const char *s, char sep)
{
    const char seps[2] = {sep, '\0'};
    int first = 1;
    fputc('[', out);
    while (*s) {
        size_t n = strcspn(s, seps);
        if (n) {
            fputs(first ? "" : ",", out);
            json_strn(out, s, n);
            first = 0;
        }
        s += n + (s[n] == sep);
    }
    fputc(']', out);
}

#define KEY(k) fputs(",\"" k "\":", out)

static void json_dist(FILE *out, const struct agg_dist *d)
{
    if (!d->n) {
        fputs("null", out);
        return;
    }
    fprintf(out, "{\"n\":%lld,\"min\":", d->n), json_num(out, d->min, 1);
    fputs(",\"p50\":", out), json_num(out, d->p50, 1);
    fputs(",\"p90\":", out), json_num(out, d->p90, 1);
    fputs(",\"p99\":", out), json_num(out, d->p99, 1);
    fputs(",\"max\":", out), json_num(out, d->max, 1);
    fputs(",\"mean\":", out), json_num(out, d->mean, d->mean >= 0), fputc('}', out);
}

void agg_print_json(const struct agg_run *r, FILE *out)
{
    double mib = 1024.0;
    fputs("{\"run\":", out), json_strn(out, r->run, strlen(r->run));
    KEY("name"), json_str(out, r->name);
    KEY("guest"), json_str(out, r->kind);
    KEY("backend"), json_str(out, r->backend);
    KEY("accel"), json_str(out, accel_of(r));
    KEY("accel_asked"), json_str(out, r->accel);
    KEY("pattern"), json_str(out, r->pattern);
    KEY("created_tr");
    if (r->created_tr > 0)
        fprintf(out, "%lld", (long long)r->created_tr); /* ns overflow a double's exact range */
    else
        fputs("null", out);
    KEY("count"), fprintf(out, "%lld", r->total);
    KEY("count_per_host"), fprintf(out, "%lld", r->count);
    KEY("hosts"), json_list(out, r->hosts, ',');
    KEY("hosts_expected"), fprintf(out, "%lld", r->hosts_expected);
    KEY("hosts_done"), fprintf(out, "%lld", r->hosts_done);
    KEY("spawned"), fprintf(out, "%lld", r->spawned);
    KEY("ready"), fprintf(out, "%lld", r->ready);
    KEY("failed"), fprintf(out, "%lld", r->failed);
    KEY("failed_by_reason"),
        fprintf(out, "{\"timeout\":%lld,\"crash\":%lld,\"spawn\":%lld,\"other\":%lld}",
                r->failed_timeout, r->failed_crash, r->failed_spawn, r->failed_other);
    KEY("boot_ms");
    if (r->boot_n > 0) {
        fputs("{\"min\":", out), json_num(out, r->boot_min_ms, 1);
        fputs(",\"p50\":", out), json_num(out, r->boot_p50_ms, 1);
        fputs(",\"p90\":", out), json_num(out, r->boot_p90_ms, 1);
        fputs(",\"p99\":", out), json_num(out, r->boot_p99_ms, 1);
        fputs(",\"max\":", out), json_num(out, r->boot_max_ms, 1);
        fputs(",\"mean\":", out), json_num(out, r->boot_mean_ms, r->boot_mean_ms >= 0);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    KEY("all_ready_ms"), json_num(out, r->all_ready_ms, r->all_ready_ms >= 0);
    KEY("peak_mem_mib"), json_num(out, (double)r->peak_mem_kib / mib, r->peak_mem_kib >= 0);
    KEY("mem_base_mib"), json_num(out, (double)r->mem_base_kib / mib, r->mem_base_kib >= 0);
    KEY("mem_per_guest_mib"), json_num(out, mem_per_guest_mib(r), mem_per_guest_mib(r) >= 0);
    KEY("lag_ms");
    if (r->lag_n > 0) {
        fputs("{\"p50\":", out), json_num(out, r->lag_p50_ms, 1);
        fputs(",\"p99\":", out), json_num(out, r->lag_p99_ms, 1);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    KEY("launcher"), fputs("{\"cpu_ms\":", out), json_num(out, (double)r->cpu_ms, r->cpu_ms >= 0);
    fputs(",\"rss_mib\":", out), json_num(out, (double)r->rss_kib / mib, r->rss_kib >= 0),
        fputc('}', out);
    KEY("ready_per_s"), json_num(out, r->ready_per_s, r->ready_per_s >= 0);
    KEY("peak_ready_1s"), fprintf(out, "%lld", r->peak_ready_1s);
    KEY("restarts"), fprintf(out, "%lld", r->restarts);
    KEY("restart_count"), fprintf(out, "%lld", r->restart_count);
    KEY("per_host"), fputc('[', out);
    for (int i = 0; i < r->nhosts; i++) {
        const struct agg_host *h = &r->host[i];
        fputs(i ? ",{\"host\":" : "{\"host\":", out), json_str(out, h->name);
        fprintf(out, ",\"spawned\":%lld,\"ready\":%lld,\"failed\":%lld,\"restarts\":%lld",
                h->spawned, h->ready, h->failed, h->restarts);
        fputs(",\"boot_ms\":", out), json_dist(out, &h->boot);
        fputs(",\"lag_ms\":", out), json_dist(out, &h->lag);
        fputs(",\"all_ready_ms\":", out), json_num(out, h->all_ready_ms, h->all_ready_ms >= 0);
        fputs(",\"peak_mem_mib\":", out);
        json_num(out, (double)h->peak_mem_kib / mib, h->peak_mem_kib >= 0);
        fputs(",\"clock_offset_ms\":", out),
            json_num(out, h->clock_offset_ms, h->clock_err_ms >= 0);
        fputs(",\"clock_err_ms\":", out), json_num(out, h->clock_err_ms, h->clock_err_ms >= 0);
        fprintf(out, ",\"count\":%lld", h->count);
        fputs(",\"first_spawn_ms\":", out), json_num(out, h->first_spawn_ms, h->first_spawn_c != 0);
        fputs(",\"last_ready_ms\":", out), json_num(out, h->last_ready_ms, h->first_spawn_c != 0);
        fputc('}', out);
    }
    fputc(']', out);
    KEY("slowest_host");
    if (r->slowest >= 0)
        json_str(out, r->host[r->slowest].name);
    else
        fputs("null", out);
    KEY("split"), json_str(out, r->split[0] ? r->split : "per_host");
    KEY("fleet"), fputs("{\"ready_ms\":", out),
        json_num(out, r->fleet_ready_ms, r->fleet_ready_ms >= 0);
    fputs(",\"err_ms\":", out), json_num(out, r->fleet_err_ms, r->fleet_err_ms >= 0);
    fputs(",\"start_spread_ms\":", out), json_num(out, r->start_spread_ms, r->start_spread_ms >= 0);
    fputs(",\"start_at_tr\":", out);
    if (r->start_at_tr > 0)
        fprintf(out, "%lld", (long long)r->start_at_tr);
    else
        fputs("null", out);
    fputc('}', out);
    KEY("hosts_lost"), fprintf(out, "%lld", r->hosts_lost);
    KEY("missing"), fputc('{', out);
    for (const char *p = r->missing, *first = p; *p;) {
        const char *nl = strchr(p, '\n'), *colon = strstr(p, ": ");
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        if (colon && colon < p + n) {
            fputs(p == first ? "" : ",", out);
            json_strn(out, p, (size_t)(colon - p));
            fputc(':', out);
            json_strn(out, colon + 2, n - (size_t)(colon + 2 - p));
        }
        p += n + (nl != NULL);
    }
    fputc('}', out);
    KEY("phases_ms"), fputc('{', out);
    for (int i = 0; i < r->nphases; i++) {
        fputs(i ? "," : "", out), json_str(out, r->phase[i].name), fputc(':', out);
        json_dist(out, &r->phase[i].d);
    }
    fputc('}', out);
    KEY("boot_by_running"), fputc('[', out);
    for (int i = 0; i < r->nbuckets; i++) {
        const struct agg_bucket *k = &r->bucket[i];
        fprintf(out, "%s{\"from\":%lld,\"to\":%lld,\"n\":%lld,\"mean_ms\":", i ? "," : "", k->lo,
                k->lo ? 2 * k->lo - 1 : 0, k->n);
        json_num(out, k->mean_ms, k->mean_ms >= 0);
        fputs(",\"max_ms\":", out), json_num(out, k->max_ms, k->max_ms >= 0), fputc('}', out);
    }
    fputc(']', out);
    KEY("invalid"), json_str(out, r->invalid);
    KEY("clock_flag"), json_str(out, r->clock_flag);
    KEY("complete"), fputs(r->complete ? "true" : "false", out);
    KEY("errors"), json_list(out, r->errors, '\n');
    fputs("}\n", out);
}
