/* `bootstorm export RUN --csv|--json`: every guest's raw numbers, one row each. */
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "cmd.h"

int cmd_export(int argc, char **argv, const char *redis_url)
{
    const char *run = NULL, *path = NULL;
    int fmt = 0; /* 1 csv, 2 json */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--csv") || !strcmp(argv[i], "--json"))
            fmt = argv[i][3] == 's' ? 1 : 2;
        else if (!strcmp(argv[i], "--out") && i + 1 < argc)
            path = argv[++i];
        else if (argv[i][0] != '-' && !run)
            run = argv[i];
        else
            fmt = -1;
    }
    if (!run || fmt <= 0) {
        fprintf(stderr, "usage: bootstorm export RUN|last (--csv|--json) [--out FILE]\n");
        return 1;
    }
    redisContext *c = cmd_connect("export", redis_url);
    if (!c)
        return 2;
    static struct agg_run r;
    struct agg_guests gs = {0};
    char err[512];
    int rc = 0;
    FILE *out = stdout;
    if (agg_load(c, run, &r, err, sizeof err) < 0 ||
        agg_guests_load(c, r.run, &gs, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm export: %s\n", err);
        rc = c->err ? 2 : 1;
    } else if (path && !(out = fopen(path, "w"))) {
        perror(path);
        rc = 1;
    } else {
        (fmt == 1 ? agg_export_csv : agg_export_json)(&gs, out);
        if (out != stdout && fclose(out)) {
            perror(path);
            rc = 1;
        }
    }
    agg_guests_free(&gs);
    redisFree(c);
    return rc;
}
