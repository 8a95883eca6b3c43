/* Charts of one run: data files and gnuplot scripts written into a directory, then
 * gnuplot run on each script in that directory (common/procspawn.c: argv, no shell). Each
 * script draws its chart as PNG (pngcairo) and SVG; scripts stay for users to tweak.
 * Not for numbers in tables (agg_print.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agg.h"
#include "keys.h"
#include "procspawn.h"

struct plot {
    redisContext *c;
    const struct agg_run *r;
    const char *dir;
    char *err;
    size_t errlen;
    int64_t t0; /* realtime ns origin: the run's first spawn */
};

static FILE *open_in(struct plot *p, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", p->dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        snprintf(p->err, p->errlen, "%s: %s", path, strerror(errno));
    return f;
}

static int close_ok(struct plot *p, FILE *f, const char *name)
{
    if (ferror(f) | fclose(f)) {
        snprintf(p->err, p->errlen, "%s/%s: write failed", p->dir, name);
        return -1;
    }
    return 0;
}

/* Runs `gnuplot NAME.gp` in the directory; 0 when it exited 0. */
int agg_gnuplot(const char *dir, const char *script, char *err, size_t errlen)
{
    char *argv[] = {"gnuplot", (char *)script, NULL};
    struct spawn_opts o = {.out = SPAWN_OUT_INHERIT, .dir = dir};
    struct spawned s;
    char why[256] = "";
    int st = spawn_start(argv, &o, &s, why, sizeof why) < 0 ? 127 : spawn_wait(s.pid);
    if (st != 0) {
        snprintf(err, errlen, "gnuplot %s/%s failed (status %d%s%s)", dir, script, st,
                 st == 127 ? ": is gnuplot installed? " : "", why);
        return -1;
    }
    return 0;
}

/* Writes NAME.gp (the plot body drawn once as PNG, once as SVG) and runs it. Every
 * chart function below returns like this: 1 drawn, 0 nothing to draw, -1 error. */
static int script(struct plot *p, const char *name, const char *title, const char *body)
{
    char file[256];
    snprintf(file, sizeof file, "%s.gp", name);
    FILE *f = open_in(p, file);
    if (!f)
        return -1;
    char sc[600];
    agg_scenario_line(p->r, sc, sizeof sc); /* ids and names: no quote can be in it */
    fprintf(f,
            "# bootstorm chart of run %s\nset title \"%s: %s\\n%s\" noenhanced\nset grid\n"
            "set terminal pngcairo size 1000,640\nset output '%s.png'\n%s\n"
            "set terminal svg size 1000,640\nset output '%s.svg'\nreplot\n",
            p->r->run, title, p->r->run, sc, name, body, name);
    return close_ok(p, f, file) < 0 || agg_gnuplot(p->dir, file, p->err, p->errlen) < 0 ? -1 : 1;
}

/* Runs the command fmt (its one %s: key) and wants an array reply; NULL with err. */
static redisReply *cmd(struct plot *p, const char *fmt, const char *key)
{
    redisReply *r = redisCommand(p->c, fmt, key);
    if (!r || r->type != REDIS_REPLY_ARRAY) {
        snprintf(p->err, p->errlen, "redis: %s",
                 r && r->type == REDIS_REPLY_ERROR ? r->str : p->c->errstr);
        if (r)
            freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* Value of field f in a stream entry's field list. */
static int boot_cdf(struct plot *p)
{
    char key[KEY_MAX];
    keys_run(key, sizeof key, p->r->run, KEY_BOOT); /* fits: agg_load checked the id */
    redisReply *z = cmd(p, "ZRANGE %s 0 -1 WITHSCORES", key);
    if (!z)
        return -1;
    FILE *f = open_in(p, "boot_cdf.dat");
    size_t n = z->elements / 2;
    for (size_t i = 0; f && i < n; i++)
        fprintf(f, "%s %.6f\n", z->element[2 * i + 1]->str, (double)(i + 1) / (double)n);
    freeReplyObject(z);
    if (!f || close_ok(p, f, "boot_cdf.dat") < 0)
        return -1;
    char body[1024];
    int at = snprintf(body, sizeof body,
                      "set xlabel 'boot time (ms)'\nset ylabel 'fraction of "
                      "guests ready'\nset yrange [0:1]\nset key bottom right\n");
    const double mark[2] = {p->r->boot_p50_ms, p->r->boot_p99_ms};
    for (int i = 0; i < 2 && n; i++) /* dashed p50 and p99 lines, labelled with their value */
        at += snprintf(body + at, sizeof body - at,
                       "set arrow from %.6f, graph 0 to %.6f, graph 1 nohead dt 2 lc rgb '%s'\n"
                       "set label 'p%d %.1f ms' at %.6f, graph %.2f offset 0.5,0 tc rgb '%s'\n",
                       mark[i], mark[i], i ? "#c00000" : "#008000", i ? 99 : 50, mark[i], mark[i],
                       i ? 0.95 : 0.88, i ? "#c00000" : "#008000");
    snprintf(body + at, sizeof body - at,
             "plot 'boot_cdf.dat' using 1:2 with steps lw 2 title 'ready - spawn'");
    return script(p, "boot_cdf", "boot time CDF", body);
}

static int boot_vs_running(struct plot *p, const struct agg_guests *gs)
{
    FILE *f = open_in(p, "boot_vs_running.dat");
    for (size_t i = 0; f && i < gs->n; i++)
        if (gs->g[i].boot_ms >= 0 && gs->g[i].running >= 0)
            fprintf(f, "%lld %.6f\n", gs->g[i].running, gs->g[i].boot_ms);
    if (!f || close_ok(p, f, "boot_vs_running.dat") < 0)
        return -1;
    return script(p, "boot_vs_running", "boot time vs guests running at spawn",
                  "set xlabel 'guests already running at spawn'\nset ylabel 'boot time (ms)'\n"
                  "plot 'boot_vs_running.dat' using 1:2 with points pt 7 ps 0.6 title 'guest'");
}

/* One data block per host (gnuplot `index`), time since the run's first spawn. */
static int memory(struct plot *p)
{
    FILE *f = open_in(p, "memory.dat");
    char plot[8192] =
        "set xlabel 'time since first spawn (s)'\nset ylabel 'host memory used (MiB)'\n"
        "set key top left\nplot ";
    int blocks = 0;
    for (int h = 0; f && h < p->r->nhosts; h++) {
        const char *name = p->r->host[h].name;
        char key[KEY_MAX];
        keys_mem(key, sizeof key, p->r->run, name); /* fits: ids < AGG_ID_MAX */
        redisReply *x = cmd(p, "XRANGE %s - +", key);
        if (!x) {
            fclose(f);
            return -1;
        }
        double off = (double)agg_host_offset_ns(p->r, name);
        if (x->elements) {
            fprintf(f, "%s# %s\n", blocks ? "\n\n" : "", name);
            for (size_t i = 0; i < x->elements; i++) {
                const char *tr = agg_xfield(x->element[i], "tr"),
                           *u = agg_xfield(x->element[i], "used_kib");
                if (tr && u)
                    fprintf(f, "%.3f %.3f\n", ((double)(atoll(tr) - p->t0) - off) / 1e9,
                            atof(u) / 1024.0);
            }
            size_t len = strlen(plot);
            snprintf(plot + len, sizeof plot - len,
                     "%s'memory.dat' index %d using 1:2 with lines lw 2 "
                     "title '%s'",
                     blocks ? ", " : "", blocks, name);
            blocks++;
        }
        freeReplyObject(x);
    }
    if (!f || close_ok(p, f, "memory.dat") < 0)
        return -1;
    if (!blocks)
        return 0;
    return script(p, "memory", "host memory over time", plot);
}

/* One change of the ready count (agg_events.c) as a line of ready_count.dat. */
static void upc_line(FILE *f, const struct plot *p, const struct agg_guests *gs,
                     const struct agg_upc *u)
{
    int64_t off = agg_host_offset_ns(p->r, gs->host[u->host]);
    fprintf(f, "%.6f %lld\n", (double)(u->tr - p->t0 - off) / 1e9, u->all);
}

/* gnuplot commands marking a mass restart on the ready-count chart (dashed, labelled)
 * and, when it came back, when the fleet was whole again (agg_restart.c); the restart
 * time is the hosts' realtime, uncorrected. Writes into buf, returns the length. */
static size_t restart_marks(const struct plot *p, char *buf, size_t len)
{
    const struct agg_run *r = p->r;
    if (!r->restart_tr || !p->t0)
        return 0;
    double x = (double)(r->restart_tr - p->t0) / 1e9;
    int k = snprintf(buf, len,
                     "set arrow from %.6f, graph 0 to %.6f, graph 1 nohead dt 2 lc rgb '#ff7f0e'\n"
                     "set label 'restart' at %.6f, graph 0.95 offset 0.5,0 tc rgb '#ff7f0e'\n",
                     x, x, x);
    if (k > 0 && (size_t)k < len && r->restart_recovery_ms >= 0) {
        double w = x + r->restart_recovery_ms / 1000.0;
        int m = snprintf(buf + k, len - (size_t)k,
                         "set arrow from %.6f, graph 0 to %.6f, graph 1 nohead dt 3 lc rgb "
                         "'#2ca02c'\nset label 'whole again +%.0f ms' at %.6f, graph 0.88 offset "
                         "0.5,0 tc rgb '#2ca02c'\n",
                         w, w, r->restart_recovery_ms, w);
        k = m > 0 ? k + m : k;
    }
    return k > 0 && (size_t)k < len ? (size_t)k : 0;
}

static int ready_count(struct plot *p, const struct agg_guests *gs)
{
    FILE *f = open_in(p, "ready_count.dat");
    for (size_t i = 0; f && i < gs->nupc; i++)
        upc_line(f, p, gs, &gs->upc[i]);
    size_t n = gs->nupc;
    if (!f || close_ok(p, f, "ready_count.dat") < 0)
        return -1;
    if (!n)
        return 0;
    char plot[1024];
    size_t k = (size_t)snprintf(plot, sizeof plot,
                                "set xlabel 'time since first spawn (s, host clocks corrected)'\n"
                                "set ylabel 'guests ready and alive'\nset key bottom right\n");
    k += restart_marks(p, plot + k, sizeof plot - k);
    snprintf(plot + k, sizeof plot - k,
             "plot 'ready_count.dat' using 1:2 with steps lw 2 title 'ready'");
    return script(p, "ready_count", "guests ready over time", plot);
}

/* Phases in boot order as a timeline: the chain spawn -> spawned -> 1st output ->
 * ready as consecutive bars of their p50 (and p99 beside them), each marker as a tick
 * at its p50 from spawn. */
static int phases(struct plot *p)
{
    if (!p->r->nphases)
        return 0;
    FILE *f = open_in(p, "phases.dat");
    double at50 = 0, at99 = 0;
    for (int i = 0; f && i < p->r->nphases; i++) {
        const struct agg_phase *ph = &p->r->phase[i];
        char label[96];
        agg_phase_label(ph->name, label, sizeof label);
        int marker = !strncmp(ph->name, "m:", 2); /* from spawn, not from the phase before */
        double s50 = marker ? 0 : at50, s99 = marker ? 0 : at99;
        fprintf(f, "%d \"%s\" %.6f %.6f %.6f %.6f\n", i, label, s50, s50 + ph->d.p50, s99,
                s99 + ph->d.p99);
        if (!marker) {
            at50 += ph->d.p50;
            at99 += ph->d.p99;
        }
    }
    if (!f || close_ok(p, f, "phases.dat") < 0)
        return -1;
    return script(
        p, "phases", "boot phases in boot order (p50, and p99 below)",
        "set style fill solid 0.8 border -1\nset xlabel 'time since spawn (ms)'\n"
        "set yrange [-0.7:*] reverse\nset ytics noenhanced\nset key outside top center horizontal\n"
        "set xrange [0:*]\n"
        "plot 'phases.dat' using (($3+$4)/2):1:3:4:($1-0.35):($1):ytic(2) "
        "with boxxyerror title 'p50', \\\n"
        "     '' using (($5+$6)/2):1:5:6:($1):($1+0.35) with boxxyerror title 'p99'");
}

int agg_plot(redisContext *c, const struct agg_run *r, const struct agg_guests *gs, const char *dir,
             char *err, size_t errlen)
{
    struct plot p = {c, r, dir, err, errlen, 0};
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    p.t0 = r->first_spawn_tr; /* the charts' time zero */
    int n = 0, k = 0;
    if (r->boot_n > 0 && ((k = boot_cdf(&p)) < 0 || (n += k, k = boot_vs_running(&p, gs)) < 0))
        return -1;
    n += k;
    int (*const charts[])(struct plot *) = {memory, phases};
    for (size_t i = 0; i < sizeof charts / sizeof charts[0]; i++) {
        if ((k = charts[i](&p)) < 0)
            return -1;
        n += k;
    }
    if ((k = ready_count(&p, gs)) < 0)
        return -1;
    return n + k;
}
