/* The HTML report of one run (agg_html.h): the series its charts need, read once, then
 * one self-contained document written in one pass: tables in the text report's order
 * and SVG charts drawn by hand. Every string from Redis goes through esc(). Not for
 * computing aggregates (agg.c) nor for the text or JSON renderings. */
#include "agg_html.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keys.h"

/* ---- series (Redis) ---- */

static int reply_failed(redisContext *c, redisReply *r, char *err, size_t errlen)
{
    snprintf(err, errlen, "redis: %s", r && r->type == REDIS_REPLY_ERROR ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return -1;
}

/* Every boot time, ascending (ZRANGE orders by score). */
static int load_boot(redisContext *c, const char *run, struct agg_series *s, char *err,
                     size_t errlen)
{
    char key[KEY_MAX];
    if (keys_run(key, sizeof key, run, KEY_BOOT) < 0) {
        snprintf(err, errlen, "run id too long");
        return -1;
    }
    redisReply *z = redisCommand(c, "ZRANGE %s 0 -1 WITHSCORES", key);
    if (!z || z->type != REDIS_REPLY_ARRAY)
        return reply_failed(c, z, err, errlen);
    size_t n = z->elements / 2;
    if (n && !(s->boot_ms = malloc(n * sizeof *s->boot_ms))) {
        freeReplyObject(z);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        const redisReply *v = z->element[2 * i + 1];
        char *end = NULL;
        double ms = v->type == REDIS_REPLY_STRING ? strtod(v->str, &end) : -1;
        if (end && !*end && ms >= 0 && isfinite(ms))
            s->boot_ms[s->nboot++] = ms;
    }
    freeReplyObject(z);
    return 0;
}

/* The realtime ns of the report's fleet timeline's 0 (agg.c: the agreed start, else the
 * fleet's first spawn), recovered from a host placed on it; 0 when none is. */
static int64_t timeline_zero(const struct agg_run *r)
{
    for (int i = 0; i < r->nhosts; i++)
        if (r->host[i].first_spawn_c)
            return r->host[i].first_spawn_c - llround(r->host[i].first_spawn_ms * 1e6);
    return 0;
}

static int by_time(const void *a, const void *b)
{
    double x = ((const struct agg_point *)a)->t_ms, y = ((const struct agg_point *)b)->t_ms;
    return (x > y) - (x < y);
}

/* Fills s->ready from the ready-count changes of gs (agg_events.c), host clocks corrected. */
static int ready_points(const struct agg_run *r, const struct agg_guests *gs, struct agg_series *s)
{
    if (gs->nupc && !(s->ready = malloc(gs->nupc * sizeof *s->ready)))
        return -1;
    int64_t zero = timeline_zero(r);
    for (size_t i = 0; i < gs->nupc; i++) {
        const struct agg_upc *u = &gs->upc[i];
        int64_t tr = u->tr - agg_host_offset_ns(r, gs->host[u->host]);
        if (!zero)
            zero = tr; /* no host on the timeline: from the first change */
        s->ready[s->nready++] = (struct agg_point){(double)(tr - zero) / 1e6, u->all};
    }
    /* several hosts' changes are applied as they arrive: put them in time order (their
     * counts were the run's as applied, so a step may be off by the few in flight) */
    qsort(s->ready, s->nready, sizeof *s->ready, by_time);
    return 0;
}

int agg_series_load(redisContext *c, const struct agg_run *r, const struct agg_guests *gs,
                    struct agg_series *s, char *err, size_t errlen)
{
    if (load_boot(c, r->run, s, err, errlen) < 0)
        return -1;
    if (ready_points(r, gs, s) < 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void agg_series_free(struct agg_series *s)
{
    free(s->boot_ms);
    free(s->ready);
    memset(s, 0, sizeof *s);
}

/* ---- HTML ---- */

/* s escaped for HTML text and attribute values; control bytes (text from a remote
 * host) shown as '?'. */
static void esc(FILE *out, const char *s)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '&')
            fputs("&amp;", out);
        else if (ch == '<')
            fputs("&lt;", out);
        else if (ch == '>')
            fputs("&gt;", out);
        else if (ch == '"')
            fputs("&quot;", out);
        else if (ch == '\'')
            fputs("&#39;", out);
        else
            fputc((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f ? '?' : ch, out);
    }
}

#define CELL 48
/* v in fmt, or "-" when !ok or v < 0 (unknown), as the text report shows it. */
static const char *num(char *buf, const char *fmt, double v, int ok)
{
    if (!ok || v < 0 || !isfinite(v))
        return "-";
    snprintf(buf, CELL, fmt, v);
    return buf;
}

static const char *or_dash(const char *s)
{
    return *s ? s : "-";
}

/* One table row of n cells (th when head), each escaped. */
static void row(FILE *out, int head, int n, const char *const *cells)
{
    fputs("<tr>", out);
    for (int i = 0; i < n; i++) {
        fputs(head ? "<th>" : "<td>", out);
        esc(out, cells[i]);
        fputs(head ? "</th>" : "</td>", out);
    }
    fputs("</tr>\n", out);
}
#define ROW(out, head, ...)                                                                        \
    row(out, head, (int)(sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *)),            \
        (const char *const[]){__VA_ARGS__})

/* The scenario in one line: "4 x sim, accel kvm, hosts a,b" (titles of the page and of
 * every chart). */
static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222;background:#fff}"
    "table{border-collapse:collapse;margin:8px 0 16px}"
    "th,td{border:1px solid #bbb;padding:3px 8px;text-align:right}"
    "td{white-space:nowrap}th{background:#e8eef6}td:first-child,th:first-child{text-align:left}"
    "h1{font-size:22px}h2{font-size:18px;margin-top:28px;border-bottom:1px solid #ccc}"
    ".bad{color:#b00;font-weight:bold}svg{display:block;margin:8px 0}";

static void head(const struct agg_run *r, FILE *out)
{
    char sc[1400], when[64] = "";
    agg_scenario_line(r, sc, sizeof sc);
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>", out);
    fputs("bootstorm run ", out);
    esc(out, r->run);
    fputs(": ", out);
    esc(out, sc);
    fprintf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>bootstorm run ", style);
    esc(out, r->run);
    fputs("</h1>\n<p>", out);
    esc(out, sc);
    fputs("<br>name ", out);
    esc(out, or_dash(r->name));
    fputs(", backend ", out);
    esc(out, or_dash(r->backend));
    fputs(", pattern ", out);
    esc(out, or_dash(r->pattern));
    fprintf(out, ", %lld/%lld launchers done", r->hosts_done, r->hosts_expected);
    if (!r->complete)
        fputs(" <span class=\"bad\">INCOMPLETE</span>", out);
    if (r->created_tr > 0) {
        fputs(", created ", out);
        esc(out, real_format((real_ns){r->created_tr}, when, sizeof when));
        fputs(" UTC", out);
    }
    fputs("</p>\n", out);
}

/* The studies' one-row table, as the text report's header has it. */
static void summary(const struct agg_run *r, FILE *out)
{
    char b[12][CELL];
    int ok = r->boot_n > 0;
    fputs("<h2>Summary</h2>\n<table>\n", out);
    ROW(out, 1, "guest", "backend", "accel", "count", "ready", "failed", "min ms", "p50 ms",
        "p90 ms", "p99 ms", "max ms", "mean ms", "all ready ms", "host MiB", "host MiB/guest");
    snprintf(b[9], CELL, "%lld", r->total);
    snprintf(b[10], CELL, "%lld", r->ready);
    snprintf(b[11], CELL, "%lld", r->failed);
    ROW(out, 0, or_dash(r->kind), or_dash(r->backend), or_dash(agg_accel_shown(r)), b[9], b[10],
        b[11], num(b[0], "%.1f", r->boot_min_ms, ok), num(b[1], "%.1f", r->boot_p50_ms, ok),
        num(b[2], "%.1f", r->boot_p90_ms, ok), num(b[3], "%.1f", r->boot_p99_ms, ok),
        num(b[4], "%.1f", r->boot_max_ms, ok), num(b[5], "%.1f", r->boot_mean_ms, ok),
        num(b[6], "%.1f", r->all_ready_ms, 1),
        num(b[7], "%.1f", (double)r->peak_mem_kib / 1024.0, r->peak_mem_kib >= 0),
        num(b[8], "%.2f", agg_mem_per_guest_mib(r), 1));
    fputs("</table>\n", out);
    if (r->pss_per_guest_mib >= 0) /* the headline figure; host-wide is the table's */
        fprintf(out,
                "<p><b>memory per guest: %.2f MiB PSS</b> of its own processes (read for %lld "
                "of %lld running, %.0f ms after the first spawn%s); host MiB are everything "
                "in use on the host</p>\n",
                r->pss_per_guest_mib, r->pss_sampled, r->pss_running, r->pss_at_ms,
                r->pss_booting ? ", while guests were still booting: an underestimate" : "");
    if (!r->start[0] || !strcmp(r->start, "cold"))
        return;
    fputs("<p>start: ", out); /* snapshot / template: each host's template (agg_print.c) */
    esc(out, r->start);
    for (int i = 0, n = 0; i < r->nhosts; i++) {
        if (r->host[i].prep_ms <= 0)
            continue;
        fputs(n++ ? ", " : "; ", out);
        if (r->nhosts > 1) {
            esc(out, r->host[i].name);
            fputs(": ", out);
        }
        fprintf(out, "template prepared in %.0f ms, state file %lld KiB", r->host[i].prep_ms,
                r->host[i].state_kib);
    }
    fputs("</p>\n", out);
}

static void host_row(const struct agg_run *r, int i, FILE *out)
{
    const struct agg_host *h = &r->host[i];
    char b[12][CELL], off[64] = "-";
    int hk = h->boot.n > 0, when = h->first_spawn_c != 0;
    if (h->clock_err_ms >= 0)
        snprintf(off, sizeof off, "%+.3f +-%.3f", h->clock_offset_ms, h->clock_err_ms);
    snprintf(b[8], CELL, "%lld", h->ready);
    snprintf(b[9], CELL, "%lld", h->failed);
    if (when) { /* may be negative: a host that started early */
        snprintf(b[10], CELL, "%.1f", h->first_spawn_ms);
        snprintf(b[11], CELL, "%.1f", h->last_ready_ms);
    }
    ROW(out, 0, h->name, b[8], b[9], num(b[0], "%.1f", h->boot.min, hk),
        num(b[1], "%.1f", h->boot.p50, hk), num(b[2], "%.1f", h->boot.p99, hk),
        num(b[3], "%.1f", h->boot.max, hk), num(b[4], "%.1f", h->all_ready_ms, 1),
        num(b[5], "%.1f", (double)h->peak_mem_kib / 1024.0, h->peak_mem_kib >= 0),
        when ? b[10] : "-", when ? b[11] : "-", off,
        i == r->slowest && r->nhosts > 1 ? "slowest" : "");
}

/* One row per host (every run), then the fleet line when there was more than one. */
static void hosts(const struct agg_run *r, FILE *out)
{
    char b[3][CELL];
    if (!r->nhosts)
        return;
    fputs("<h2>Hosts</h2>\n<table>\n", out);
    ROW(out, 1, "host", "ready", "failed", "min ms", "p50 ms", "p99 ms", "max ms", "all ready ms",
        "peak MiB", "start ms", "done ms", "clock offset ms", "");
    for (int i = 0; i < r->nhosts; i++)
        host_row(r, i, out);
    fputs("</table>\n", out);
    if (r->nhosts <= 1)
        return;
    fprintf(out, "<p>fleet (%d hosts%s): whole fleet ready in %s ms", r->nhosts,
            r->split[0] && strcmp(r->split, "per_host") ? ", split by cores" : "",
            num(b[0], "%.1f", r->fleet_ready_ms, 1));
    if (r->fleet_ready_ms >= 0)
        fprintf(out, " (+-%s ms clock error)", num(b[1], "%.3f", r->fleet_err_ms, 1));
    fprintf(out,
            ", first spawns %s ms apart; start/done ms: after the agreed start, host "
            "clocks corrected; slowest host (boot p99) ",
            num(b[2], "%.1f", r->start_spread_ms, 1));
    esc(out, r->slowest >= 0 ? r->host[r->slowest].name : "-");
    fputs("</p>\n", out);
}

/* Every phase the guests reported, in boot order (agg.c orders them). */
static void phases(const struct agg_run *r, FILE *out)
{
    if (!r->nphases)
        return;
    fputs("<h2>Phases (ms), in boot order</h2>\n<table>\n", out);
    ROW(out, 1, "phase", "n", "p50", "p90", "p99", "max");
    for (int i = 0; i < r->nphases; i++) {
        const struct agg_phase *p = &r->phase[i];
        char label[AGG_ID_MAX + 32], b[5][CELL];
        agg_phase_label(p->name, label, sizeof label);
        snprintf(b[4], CELL, "%lld", p->d.n);
        ROW(out, 0, label, b[4], num(b[0], "%.1f", p->d.p50, 1), num(b[1], "%.1f", p->d.p90, 1),
            num(b[2], "%.1f", p->d.p99, 1), num(b[3], "%.1f", p->d.max, 1));
    }
    fputs("</table>\n", out);
}

/* Boot time by guests already running at spawn, the ready rate, restarts (the text
 * report's print_rates says what the busiest second counts). */
static void rates(const struct agg_run *r, FILE *out)
{
    char b[4][CELL];
    fputs("<h2>Rates</h2>\n", out);
    if (r->nbuckets > 1) {
        fputs("<table>\n", out);
        ROW(out, 1, "guests running at spawn", "n", "mean boot ms", "max boot ms");
        for (int i = 0; i < r->nbuckets; i++) {
            const struct agg_bucket *k = &r->bucket[i];
            snprintf(b[0], CELL, "%lld-%lld", k->lo, k->lo ? 2 * k->lo - 1 : 0);
            snprintf(b[1], CELL, "%lld", k->n);
            ROW(out, 0, b[0], b[1], num(b[2], "%.1f", k->mean_ms, 1),
                num(b[3], "%.1f", k->max_ms, 1));
        }
        fputs("</table>\n", out);
    }
    if (r->ready_per_s > 0) {
        fprintf(out, "<p>ready rate: %lld ready in %.2f s, %.1f per second", r->ready,
                r->all_ready_ms / 1000.0, r->ready_per_s);
        if (r->peak_ready_1s > 0)
            fprintf(out, "; busiest whole second counted from the first spawn: %lld ready",
                    r->peak_ready_1s);
        fputs("</p>\n", out);
    }
    if (r->restarts)
        fprintf(out, "<p>restarts: %lld, %lld instances restarted</p>\n", r->restarts,
                r->restart_count);
    if (r->restart_recovery_ms >= 0)
        fprintf(out,
                "<p>restart recovery: fleet whole again (%lld ready) %.1f ms after the "
                "restart</p>\n",
                r->restart_level, r->restart_recovery_ms);
}

#define FAILED_ROWS_MAX 100

/* The guests that did not end ready, with their state and reason (at most 100 rows). */
static void failed_guests(const struct agg_guests *gs, FILE *out)
{
    size_t shown = 0, more = 0;
    for (size_t i = 0; gs && i < gs->n; i++) {
        const struct agg_guest *g = &gs->g[i];
        char gen[CELL];
        if (!strcmp(g->state, "ready"))
            continue;
        if (shown == FAILED_ROWS_MAX) {
            more++;
            continue;
        }
        if (!shown++) {
            fputs("<table>\n", out);
            ROW(out, 1, "guest", "host", "generation", "state", "reason");
        }
        snprintf(gen, CELL, "%lld", g->gen);
        char id[2 * AGG_ID_MAX];
        ROW(out, 0, agg_guest_id(gs, g, id, sizeof id), or_dash(agg_guest_host(gs, g)), gen,
            or_dash(g->state), or_dash(g->reason));
    }
    if (shown)
        fputs("</table>\n", out);
    if (more)
        fprintf(out, "<p>... and %zu more guests not ready (bootstorm export lists all)</p>\n",
                more);
}

/* Lines of a '\n'-separated text as list items, escaped. */
static void lines(const char *p, FILE *out)
{
    fputs("<ul>\n", out);
    while (*p) {
        size_t n = strcspn(p, "\n");
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(n < sizeof line ? n : sizeof line - 1), p);
        fputs("<li>", out);
        esc(out, line);
        fputs("</li>\n", out);
        p += n + (p[n] == '\n');
    }
    fputs("</ul>\n", out);
}

/* Failed guests by reason and one by one, launchers' errors, hosts the run missed. */
static void failures(const struct agg_run *r, const struct agg_guests *gs, FILE *out)
{
    char b[7][CELL];
    fputs("<h2>Failures</h2>\n", out);
    if (!r->failed && !r->errors[0] && !r->nmissing) {
        fputs("<p>none: every guest asked for became ready</p>\n", out);
        return;
    }
    long long v[] = {
        r->failed,       r->failed_timeout,     r->failed_crash,        r->failed_spawn,
        r->failed_other, r->failed_not_started, r->failed_launcher_lost};
    for (int i = 0; i < 7; i++)
        snprintf(b[i], CELL, "%lld", v[i]);
    fputs("<table>\n", out);
    ROW(out, 1, "failed", "timeout", "crash", "spawn", "other", "not started", "launcher lost");
    ROW(out, 0, b[0], b[1], b[2], b[3], b[4], b[5], b[6]);
    fputs("</table>\n", out);
    failed_guests(gs, out);
    if (r->errors[0]) {
        fputs("<p>launchers' errors:</p>\n", out);
        lines(r->errors, out);
    }
    if (r->nmissing) {
        fprintf(out, "<p>hosts missing from the run%s:</p>\n<table>\n",
                r->hosts_lost ? " (given up on: the run is incomplete)" : "");
        ROW(out, 1, "host", "why");
        for (int i = 0; i < r->nmissing; i++)
            ROW(out, 0, r->missing[i].host, r->missing[i].why);
        fputs("</table>\n", out);
    }
}

/* Verdicts, lost events, lag and the launchers' own cost. */
static void notes(const struct agg_run *r, FILE *out)
{
    char b[2][CELL];
    fputs("<h2>Notes</h2>\n<ul>\n", out);
    if (r->invalid[0]) {
        fputs("<li class=\"bad\">INVALID: ", out);
        esc(out, r->invalid);
        fputs("</li>\n", out);
    }
    if (r->clock_flag[0]) {
        fputs("<li class=\"bad\">clocks: ", out);
        esc(out, r->clock_flag);
        fputs("</li>\n", out);
    }
    fprintf(out, "<li>lost events: %lld%s</li>\n", r->lost_events,
            r->lost_events ? " (launcher outbox overflow)" : "");
    if (r->lag_n > 0)
        fprintf(out, "<li>launch lag behind schedule: p50 %.2f ms, p99 %.2f ms</li>\n",
                r->lag_p50_ms, r->lag_p99_ms);
    if (r->cpu_ms >= 0 || r->rss_kib >= 0)
        fprintf(out, "<li>launchers: cpu %s ms, rss %s MiB</li>\n",
                num(b[0], "%.0f", (double)r->cpu_ms, 1),
                num(b[1], "%.1f", (double)r->rss_kib / 1024.0, r->rss_kib >= 0));
    fputs("</ul>\n", out);
}

/* ---- SVG charts ---- */

#define SVG_W 900
#define SVG_H 360
#define M_LEFT 70 /* room for the y tick labels and axis label */
#define M_RIGHT 30
#define M_TOP 40 /* the chart's title */
#define M_BOTTOM 50

/* A chart's data ranges and where they land; x0 <= 0 < x1, 0 = y0 < y1. */
struct chart {
    FILE *out;
    double x0, x1, xstep, y1, ystep;
    double xscale; /* data units per axis unit (1000: ms shown as s) */
};

/* A tick step of 1, 2 or 5 times a power of ten giving about six ticks over span. */
static double nice_step(double span)
{
    if (!(span > 0) || !isfinite(span))
        return 1;
    double raw = span / 6, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return mag * (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10);
}

static double px(const struct chart *c, double x)
{
    return M_LEFT + (x - c->x0) / (c->x1 - c->x0) * (SVG_W - M_LEFT - M_RIGHT);
}

static double py(const struct chart *c, double y)
{
    return SVG_H - M_BOTTOM - y / c->y1 * (SVG_H - M_TOP - M_BOTTOM);
}

/* Ranges rounded out to whole ticks. */
static void chart_range(struct chart *c, double x0, double x1, double y1)
{
    c->xstep = nice_step(x1 - x0);
    c->x0 = floor(x0 / c->xstep + 1e-9) * c->xstep;
    c->x1 = ceil(x1 / c->xstep - 1e-9) * c->xstep;
    if (c->x1 <= c->x0)
        c->x1 = c->x0 + c->xstep;
    c->ystep = nice_step(y1);
    c->y1 = ceil(y1 / c->ystep - 1e-9) * c->ystep;
    if (c->y1 <= 0)
        c->y1 = c->ystep;
}

/* Grid, ticks and their labels. */
static void chart_grid(const struct chart *c)
{
    for (long k = lround(c->x0 / c->xstep); k * c->xstep <= c->x1 + c->xstep / 2; k++) {
        double x = px(c, (double)k * c->xstep);
        fprintf(c->out,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>"
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
                x, M_TOP, x, SVG_H - M_BOTTOM, x, SVG_H - M_BOTTOM + 16,
                (double)k * c->xstep / c->xscale);
    }
    for (long k = 0; k * c->ystep <= c->y1 + c->ystep / 2; k++) {
        double y = py(c, (double)k * c->ystep);
        fprintf(c->out,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                M_LEFT, y, SVG_W - M_RIGHT, y, M_LEFT - 6, y + 4, (double)k * c->ystep);
    }
}

/* Opens the <svg> with its title (the scenario in it), axes and labels. */
static void chart_open(struct chart *c, const struct agg_run *r, const char *what,
                       const char *xlabel, const char *ylabel)
{
    char sc[1400];
    agg_scenario_line(r, sc, sizeof sc);
    fprintf(c->out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n<title>",
            SVG_W, SVG_H, SVG_W, SVG_H, SVG_W, SVG_H);
    esc(c->out, what);
    fprintf(c->out, "</title>\n<text x=\"%d\" y=\"22\" font-size=\"15\" text-anchor=\"middle\">",
            SVG_W / 2);
    esc(c->out, what);
    fputs(": ", c->out);
    esc(c->out, sc);
    fputs("</text>\n", c->out);
    chart_grid(c);
    fprintf(c->out,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n"
            "<text transform=\"translate(18 %d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
            M_LEFT, M_TOP, SVG_W - M_LEFT - M_RIGHT, SVG_H - M_TOP - M_BOTTOM,
            (M_LEFT + SVG_W - M_RIGHT) / 2, SVG_H - 12, xlabel, (M_TOP + SVG_H - M_BOTTOM) / 2,
            ylabel);
}

/* A vertical dashed mark at x labelled "NAME V ms", its label left or right of it. */
static void chart_vmark(const struct chart *c, double x, const char *name, const char *color,
                        int right)
{
    double X = px(c, x);
    fprintf(c->out,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.5\" "
            "stroke-dasharray=\"6 4\"/>\n<text x=\"%.1f\" y=\"%d\" fill=\"%s\" "
            "text-anchor=\"%s\">%s %.1f ms</text>\n",
            X, M_TOP, X, SVG_H - M_BOTTOM, color, X + (right ? 5 : -5), M_TOP + 16, color,
            right ? "start" : "end", name, x);
}

#define POINTS_MAX 2000 /* vertices per line: enough for the eye, bounded for the file */

/* The boot-time CDF as steps, with the run's p50 and p99 (agg.c's nearest rank). */
static void cdf_chart(const struct agg_run *r, const struct agg_series *s, FILE *out)
{
    size_t n = s->nboot, stride = n > POINTS_MAX / 2 ? n / (POINTS_MAX / 2) : 1;
    struct chart c = {.out = out, .xscale = 1};
    chart_range(&c, 0, s->boot_ms[n - 1], 1);
    chart_open(&c, r, "boot time CDF", "boot time (ms): ready - spawn", "fraction of guests ready");
    fprintf(out, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"%.1f,%.1f",
            px(&c, s->boot_ms[0]), py(&c, 0));
    for (size_t i = 0; i < n; i += stride) {
        size_t last = i + stride < n ? i : n - 1; /* the last step is always drawn */
        double x = px(&c, s->boot_ms[last]);
        fprintf(out, " %.1f,%.1f %.1f,%.1f", x, py(&c, (double)i / (double)n), x,
                py(&c, (double)(last + 1) / (double)n));
    }
    fputs("\"/>\n", out);
    if (r->boot_n > 0) {
        chart_vmark(&c, r->boot_p50_ms, "p50", "#2ca02c", 0);
        chart_vmark(&c, r->boot_p99_ms, "p99", "#d62728", 1);
    }
    fputs("</svg>\n", out);
}

/* The latest time on the fleet timeline a host had its last guest ready; -1 unknown. */
static double fleet_done_ms(const struct agg_run *r)
{
    double t = -1;
    for (int i = 0; i < r->nhosts; i++)
        if (r->host[i].first_spawn_c && r->host[i].last_ready_ms > t)
            t = r->host[i].last_ready_ms;
    return t;
}

/* Guests ready and alive over time, as steps, with the count asked for. */
static void ready_chart(const struct agg_run *r, const struct agg_series *s, FILE *out)
{
    size_t n = s->nready, stride = n > POINTS_MAX / 2 ? n / (POINTS_MAX / 2) : 1;
    double t0 = s->ready[0].t_ms < 0 ? s->ready[0].t_ms : 0, t1 = s->ready[n - 1].t_ms;
    long long top = r->total;
    for (size_t i = 0; i < n; i++)
        top = s->ready[i].ready > top ? s->ready[i].ready : top;
    struct chart c = {.out = out, .xscale = t1 - t0 > 10000 ? 1000 : 1};
    chart_range(&c, t0, t1 > t0 ? t1 : t0 + 1, (double)top * 1.05);
    chart_open(&c, r, "guests ready over time",
               c.xscale > 1 ? "time on the fleet timeline (s, host clocks corrected)"
                            : "time on the fleet timeline (ms, host clocks corrected)",
               "guests ready and alive");
    double y = py(&c, (double)r->total);
    fprintf(
        out,
        "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#888\" "
        "stroke-dasharray=\"4 4\"/>\n<text x=\"%d\" y=\"%.1f\" fill=\"#555\">%lld asked</text>\n",
        M_LEFT, y, SVG_W - M_RIGHT, y, M_LEFT + 6, y - 5, r->total);
    long long prev = 0;
    fprintf(out, "<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"2\" points=\"%.1f,%.1f",
            px(&c, t0), py(&c, 0));
    for (size_t i = 0; i < n; i += stride) {
        const struct agg_point *p = &s->ready[i + stride < n ? i : n - 1];
        fprintf(out, " %.1f,%.1f %.1f,%.1f", px(&c, p->t_ms), py(&c, (double)prev), px(&c, p->t_ms),
                py(&c, (double)p->ready));
        prev = p->ready;
    }
    fputs("\"/>\n", out);
    double done = fleet_done_ms(r);
    if (done >= 0 && done <= c.x1)
        chart_vmark(&c, done, "all ready", "#d62728", 0);
    int64_t zero = timeline_zero(r);
    double restart = zero && r->restart_tr ? (double)(r->restart_tr - zero) / 1e6 : -1;
    if (restart >= c.x0 && restart <= c.x1) /* the hosts' realtime, uncorrected */
        chart_vmark(&c, restart, "restart", "#ff7f0e", 1);
    fputs("</svg>\n", out);
}

static void charts(const struct agg_run *r, const struct agg_series *s, FILE *out)
{
    fputs("<h2>Charts</h2>\n", out);
    if (s && s->nboot)
        cdf_chart(r, s, out);
    else
        fputs("<p>no boot-time chart: no guest became ready</p>\n", out);
    if (s && s->nready)
        ready_chart(r, s, out);
    else
        fputs("<p>no ready-count chart: no change of the ready count was stored</p>\n", out);
}

int agg_html_write(const struct agg_run *r, const struct agg_guests *gs, const struct agg_series *s,
                   FILE *out)
{
    head(r, out);
    summary(r, out);
    charts(r, s, out);
    phases(r, out);
    hosts(r, out);
    rates(r, out);
    failures(r, gs, out);
    notes(r, out);
    fputs("<p><small>written by bootstorm report --html</small></p>\n</body>\n</html>\n", out);
    return ferror(out) ? -1 : 0;
}
