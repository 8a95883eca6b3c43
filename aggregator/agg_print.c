/* Renders a loaded struct agg_run as the text table of the published studies, one
 * section per function. Not for queries (agg.c) nor for JSON (agg_json.c). */
#include "agg.h"

#include <math.h>
#include <string.h>

#include "clock.h"

double agg_mem_per_guest_mib(const struct agg_run *r)
{
    if (r->peak_mem_kib < 0 || r->mem_base_kib < 0 || r->count <= 0)
        return -1;
    return (double)(r->peak_mem_kib - r->mem_base_kib) / (double)r->count / 1024.0;
}

const char *agg_accel_shown(const struct agg_run *r)
{
    if (r->naccels == 1) /* what the instances ran under, when they say */
        return r->accels[0].name;
    if (r->naccels > 1)
        return "mixed"; /* "instances by accel" says how */
    return r->accel_used[0] ? r->accel_used : r->accel;
}

void agg_phase_label(const char *name, char *buf, size_t len)
{
    if (!strcmp(name, "spawned"))
        snprintf(buf, len, "spawn -> spawned");
    else if (!strcmp(name, "first_output"))
        snprintf(buf, len, "spawned -> 1st output");
    else if (!strcmp(name, "ready"))
        snprintf(buf, len, "1st output -> ready");
    else
        snprintf(buf, len, "spawn -> %s", strncmp(name, "m:", 2) ? name : name + 2);
}

int agg_delta(double v, double base, double *delta, double *pct)
{
    if (v < 0 || base < 0)
        return -1;
    *delta = v - base;
    *pct = base > 0 ? 100.0 * *delta / base : *delta == 0 ? 0 : INFINITY;
    return 0;
}

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

void agg_scenario_line(const struct agg_run *r, char *buf, size_t len)
{
    snprintf(buf, len, "%lld x %s, accel %s, %lld host%s (%s)", r->total, or_dash(r->kind),
             or_dash(agg_accel_shown(r)), r->hosts_expected, r->hosts_expected == 1 ? "" : "s",
             or_dash(r->hosts));
}
static int max_i(int a, int b)
{
    return a > b ? a : b;
}

/* s[0..n) with terminal control bytes (text from a remote host) shown as '?'. */
static void put_clean(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n && s[i]; i++)
        fputc((unsigned char)s[i] < 0x20 && s[i] != '\t' ? '?' : s[i], out);
}

/* Run id, scenario, hosts, and the studies' one-row table. */
/* The headline memory figure (the guests' own PSS), the host-wide one labelled as such,
 * and the instances by accel. */
static void print_memory(const struct agg_run *r, FILE *out)
{
    if (r->pss_per_guest_mib >= 0)
        fprintf(out,
                "memory per guest: %.2f MiB PSS of its own processes (read for %lld of %lld "
                "running, %.0f ms after the first spawn%s); host-wide %.2f MiB per guest (all "
                "memory in use on the host)\n",
                r->pss_per_guest_mib, r->pss_sampled, r->pss_running, r->pss_at_ms,
                r->pss_booting ? ", while guests were still booting: an underestimate" : "",
                agg_mem_per_guest_mib(r));
    for (int i = 0; i < r->naccels; i++)
        fprintf(out, "%s%s %lld%s", i ? ", " : "instances by accel: ", r->accels[i].name,
                r->accels[i].n, i + 1 == r->naccels ? "\n" : "");
}

/* start snapshot / template: how long each host took to prepare its template and its
 * state file's size (nothing for a cold start, so cold reports read as before). */
static void print_start(const struct agg_run *r, FILE *out)
{
    if (!r->start[0] || !strcmp(r->start, "cold"))
        return;
    fprintf(out, "start: %s", r->start);
    int n = 0;
    for (int i = 0; i < r->nhosts; i++) {
        const struct agg_host *h = &r->host[i];
        if (h->prep_ms <= 0)
            continue;
        fprintf(out, "%s%s%stemplate prepared in %.0f ms, state file %lld KiB", n ? ", " : "; ",
                r->nhosts > 1 ? h->name : "", r->nhosts > 1 ? ": " : "", h->prep_ms, h->state_kib);
        n++;
    }
    fprintf(out, "%s\n", n ? "" : " (no template reported)");
}

static void print_header(const struct agg_run *r, FILE *out)
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
    int wa = max_i(5, (int)strlen(agg_accel_shown(r)));
    fprintf(out, "%-*s  %-*s  %-*s  %6s  %6s  %6s  %8s  %8s  %8s  %8s  %8s  %8s  %12s  %9s  %14s\n",
            wk, "guest", wb, "backend", wa, "accel", "count", "ready", "failed", "min ms", "p50 ms",
            "p90 ms", "p99 ms", "max ms", "mean ms", "all ready ms", "host MiB", "host MiB/guest");
    fprintf(
        out,
        "%-*s  %-*s  %-*s  %6lld  %6lld  %6lld  %8s  %8s  %8s  %8s  %8s  %8s  %12s  %9s  %14s\n",
        wk, or_dash(r->kind), wb, or_dash(r->backend), wa, or_dash(agg_accel_shown(r)), r->total,
        r->ready, r->failed, cell(b[0], "%.1f", r->boot_min_ms, ok),
        cell(b[1], "%.1f", r->boot_p50_ms, ok), cell(b[2], "%.1f", r->boot_p90_ms, ok),
        cell(b[3], "%.1f", r->boot_p99_ms, ok), cell(b[4], "%.1f", r->boot_max_ms, ok),
        cell(b[5], "%.1f", r->boot_mean_ms, ok), cell(b[6], "%.1f", r->all_ready_ms, 1),
        cell(b[7], "%.1f", (double)r->peak_mem_kib / 1024.0, r->peak_mem_kib >= 0),
        cell(b[8], "%.2f", agg_mem_per_guest_mib(r), 1));
    print_memory(r, out);
    print_start(r, out);
}

static void print_host_row(const struct agg_run *r, int i, int wh, FILE *out)
{
    const struct agg_host *h = &r->host[i];
    char b[6][CELL], off[64] = "-", st[CELL] = "-", dn[CELL] = "-";
    int hk = h->boot.n > 0;
    if (h->clock_err_ms >= 0)
        snprintf(off, sizeof off, "%+.3f +-%.3f", h->clock_offset_ms, h->clock_err_ms);
    if (h->first_spawn_c) { /* may be negative: a host that started early */
        snprintf(st, sizeof st, "%.1f", h->first_spawn_ms);
        snprintf(dn, sizeof dn, "%.1f", h->last_ready_ms);
    }
    fprintf(out, "%-*s  %6lld  %6lld  %8s  %8s  %8s  %8s  %12s  %9s  %9s  %9s  %s%s\n", wh, h->name,
            h->ready, h->failed, cell(b[0], "%.1f", h->boot.min, hk),
            cell(b[1], "%.1f", h->boot.p50, hk), cell(b[2], "%.1f", h->boot.p99, hk),
            cell(b[3], "%.1f", h->boot.max, hk), cell(b[4], "%.1f", h->all_ready_ms, 1),
            cell(b[5], "%.1f", (double)h->peak_mem_kib / 1024.0, h->peak_mem_kib >= 0), st, dn, off,
            i == r->slowest ? "  (slowest)" : "");
}

/* One row per host and the fleet line, when the run had more than one host. */
static void print_hosts(const struct agg_run *r, FILE *out)
{
    char b[3][CELL];
    int wh = 4;
    if (r->nhosts <= 1)
        return;
    for (int i = 0; i < r->nhosts; i++)
        wh = max_i(wh, (int)strlen(r->host[i].name));
    fprintf(out, "\n%-*s  %6s  %6s  %8s  %8s  %8s  %8s  %12s  %9s  %9s  %9s  %s\n", wh, "host",
            "ready", "failed", "min ms", "p50 ms", "p99 ms", "max ms", "all ready ms", "peak MiB",
            "start ms", "done ms", "clock offset ms");
    for (int i = 0; i < r->nhosts; i++)
        print_host_row(r, i, wh, out);
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

/* The phase table, when the guests reported markers. */
static void print_phases(const struct agg_run *r, FILE *out)
{
    int markers = 0;
    for (int i = 0; i < r->nphases; i++)
        markers |= !strncmp(r->phase[i].name, "m:", 2);
    if (!markers)
        return;
    fprintf(out, "\n%-24s  %6s  %8s  %8s  %8s  %8s\n", "phase (ms)", "n", "p50", "p90", "p99",
            "max");
    for (int i = 0; i < r->nphases; i++) {
        const struct agg_phase *p = &r->phase[i];
        char label[AGG_ID_MAX + 32];
        agg_phase_label(p->name, label, sizeof label);
        fprintf(out, "%-24.24s  %6lld  %8.1f  %8.1f  %8.1f  %8.1f\n", label, p->d.n, p->d.p50,
                p->d.p90, p->d.p99, p->d.max);
    }
}

/* How long the fleet took to be whole again after a mass restart (agg_restart.c). */
static void print_recovery(const struct agg_run *r, FILE *out)
{
    if (!r->restart_tr)
        return;
    if (r->restart_recovery_ms >= 0)
        fprintf(out, "restart recovery: fleet whole again (%lld ready) %.1f ms after the restart\n",
                r->restart_level, r->restart_recovery_ms);
    else if (r->restart_level > 0 && r->restart_low >= 0 && r->restart_low < r->restart_level)
        fprintf(out,
                "restart recovery: NOT whole again: %lld ready before the restart, %lld after\n",
                r->restart_level, r->restart_low);
    else
        fprintf(out, "restart recovery: - (no ready guest was restarted)\n");
}

/* Boot time by guests already running, and the ready rate. The rate is over the time
 * until all were ready; the busiest second counts ready events in whole seconds since
 * the first spawn (bs:{RUN}:rps), so a run shorter than a second or ending just after
 * a second's boundary may average more per second than any one second held. */
static void print_rates(const struct agg_run *r, FILE *out)
{
    if (r->nbuckets > 1) {
        fprintf(out, "\nboot vs guests running at spawn:");
        for (int i = 0; i < r->nbuckets; i++) {
            const struct agg_bucket *k = &r->bucket[i];
            char b[CELL];
            fprintf(out, "%s %lld-%lld: %s ms (n %lld)", i ? "," : "", k->lo,
                    k->lo ? 2 * k->lo - 1 : 0, cell(b, "%.1f", k->mean_ms, 1), k->n);
        }
        fputc('\n', out);
    }
    if (r->ready_per_s > 0) {
        fprintf(out, "%sready rate: %lld ready in %.2f s, %.1f per second",
                r->nbuckets > 1 ? "" : "\n", r->ready, r->all_ready_ms / 1000.0, r->ready_per_s);
        if (r->peak_ready_1s > 0)
            fprintf(out, "; busiest whole second counted from the first spawn: %lld ready",
                    r->peak_ready_1s);
        fputc('\n', out);
    }
    if (r->restarts)
        fprintf(out, "restarts: %lld, %lld instances restarted\n", r->restarts, r->restart_count);
    print_recovery(r, out);
}

/* Verdicts, failures, lost events, lag and the launchers' own cost. */
static void print_notes(const struct agg_run *r, FILE *out)
{
    char b[2][CELL];
    if (r->invalid[0])
        fprintf(out, "INVALID: %s\n", r->invalid);
    if (r->clock_flag[0])
        fprintf(out, "clocks: %s\n", r->clock_flag);
    if (r->failed)
        fprintf(out,
                "\nfailed: %lld timeout, %lld crash, %lld spawn, %lld other, %lld not started, "
                "%lld launcher lost\n",
                r->failed_timeout, r->failed_crash, r->failed_spawn, r->failed_other,
                r->failed_not_started, r->failed_launcher_lost);
    if (r->stopped)
        fprintf(out, "stopped before ready by the ramp: %lld (asked for: no failure)\n",
                r->stopped);
    if (r->lost_events)
        fprintf(out, "lost events: %lld (launcher outbox overflow)\n", r->lost_events);
    if (r->lag_n > 0)
        fprintf(out, "launch lag behind schedule: p50 %.2f ms, p99 %.2f ms\n", r->lag_p50_ms,
                r->lag_p99_ms);
    if (r->cpu_ms >= 0 || r->rss_kib >= 0)
        fprintf(out, "launchers: cpu %s ms, rss %s MiB\n", cell(b[0], "%.0f", (double)r->cpu_ms, 1),
                cell(b[1], "%.1f", (double)r->rss_kib / 1024.0, r->rss_kib >= 0));
}

/* Launchers' errors and the hosts the run missed, as remote hosts reported them. */
static void print_errors(const struct agg_run *r, FILE *out)
{
    if (r->errors[0])
        fprintf(out, "errors:\n");
    for (const char *p = r->errors; *p;) {
        size_t n = strcspn(p, "\n");
        fputs("  ", out);
        put_clean(out, p, n);
        fputc('\n', out);
        p += n + (p[n] == '\n');
    }
    if (r->nmissing)
        fprintf(out, "\nhosts missing from the run%s:\n",
                r->hosts_lost ? " (given up on: the run is incomplete)" : "");
    for (int i = 0; i < r->nmissing; i++) {
        fputs("  ", out);
        put_clean(out, r->missing[i].host, sizeof r->missing[i].host);
        fputs(": ", out);
        put_clean(out, r->missing[i].why, sizeof r->missing[i].why);
        fputc('\n', out);
    }
}

void agg_print_text(const struct agg_run *r, FILE *out)
{
    print_header(r, out);
    print_hosts(r, out);
    print_phases(r, out);
    print_rates(r, out);
    print_notes(r, out);
    print_errors(r, out);
}
