/* Per-guest rows of a run (agg_events.c folds them from the run's events) as CSV and
 * JSON for `bootstorm export`. Not for loading them (agg_events.c) nor aggregates. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"
#include "keys.h"
#include "yamlcfg.h"

#define COPY(dst, v) snprintf(dst, sizeof dst, "%s", v)

static void csv_num(FILE *out, double v)
{
    v >= 0 ? fprintf(out, ",%.6f", v) : fputs(",", out);
}

/* CSV cell of a string: quoted when it holds a separator, quote or newline. */
static void csv_str(FILE *out, const char *s, int first)
{
    if (!first)
        fputc(',', out);
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[2]){*s, 0}, out);
    fputc('"', out);
}

void agg_export_csv(const struct agg_guests *gs, FILE *out)
{
    fputs("guest,host,idx,gen,state,reason,running,spawn_tr_ns,ready_tr_ns,boot_ms,spawned_ms,"
          "first_output_ms,ready_ms,rss_kib,ram_kib,vmm_overhead_kib,cpu_ms,accel,accel_why",
          out);
    for (int i = 0; i < gs->nmarkers; i++)
        fputs(",m:", out), csv_str(out, gs->marker[i], 1);
    fputc('\n', out);
    for (size_t i = 0; i < gs->n; i++) {
        const struct agg_guest *g = &gs->g[i];
        char id[2 * AGG_ID_MAX];
        csv_str(out, agg_guest_id(gs, g, id, sizeof id), 1);
        csv_str(out, agg_guest_host(gs, g), 0);
        fprintf(out, ",%lld,%lld", g->idx, g->gen);
        csv_str(out, g->state, 0);
        csv_str(out, g->reason, 0);
        fprintf(out, ",%lld,", g->running);
        if (g->spawn_tr)
            fprintf(out, "%lld", (long long)g->spawn_tr);
        fputc(',', out);
        if (g->spawn_tr && g->ready_ms >= 0)
            fprintf(out, "%lld", (long long)g->spawn_tr + (long long)(g->ready_ms * 1e6 + 0.5));
        csv_num(out, g->boot_ms);
        csv_num(out, g->spawned_ms);
        csv_num(out, g->first_output_ms);
        csv_num(out, g->ready_ms);
        long long kib[4] = {g->rss_kib, g->ram_kib,
                            g->rss_kib >= 0 && g->ram_kib >= 0 ? g->rss_kib - g->ram_kib : -1,
                            g->cpu_ms};
        for (int k = 0; k < 4; k++)
            kib[k] >= 0 ? fprintf(out, ",%lld", kib[k]) : fputs(",", out);
        csv_str(out, g->accel, 0);
        csv_str(out, g->accel_why ? g->accel_why : "", 0);
        for (int m = 0; m < gs->nmarkers; m++)
            csv_num(out, g->marker_ms[m]);
        fputc('\n', out);
    }
}
