/* `bootstorm plot RUN --out DIR`: the run's charts as PNG and SVG (gnuplot). */
#include <stdio.h>
#include <string.h>

#include "agg.h"
#include "cmd.h"

int cmd_plot(int argc, char **argv, const char *redis_url)
{
    const char *run = NULL, *dir = NULL;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc)
            dir = argv[++i];
        else if (argv[i][0] != '-' && !run)
            run = argv[i];
        else
            bad = 1;
    }
    if (!run || !dir || bad) {
        fprintf(stderr, "usage: bootstorm plot RUN|last --out DIR\n");
        return 1;
    }
    redisContext *c = cmd_connect("plot", redis_url);
    if (!c)
        return 2;
    static struct agg_run r;
    struct agg_guests gs = {0};
    char err[512];
    int rc = 0, n;
    if (agg_load(c, run, &r, err, sizeof err) < 0 ||
        agg_guests_load(c, r.run, &gs, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm plot: %s\n", err);
        rc = c->err ? 2 : 1;
    } else if ((n = agg_plot(c, &r, &gs, dir, err, sizeof err)) < 0) {
        fprintf(stderr, "bootstorm plot: %s\n", err);
        rc = 1;
    } else {
        printf("%d charts of run %s written to %s (PNG and SVG)\n", n, r.run, dir);
    }
    agg_guests_free(&gs);
    redisFree(c);
    return rc;
}
