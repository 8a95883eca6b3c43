/* One self-contained HTML report of a run (`bootstorm report RUN --html FILE`): the
 * text report's tables and two charts drawn here as inline SVG (the boot-time CDF with
 * its p50/p99 marks, guests ready over time); no external file, no script. Every
 * string from Redis is escaped. Not for computing the numbers (agg.c, struct agg_run
 * holds them) nor for the gnuplot charts (agg_plot.c). */
#ifndef BS_AGG_HTML_H
#define BS_AGG_HTML_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdio.h>

#include "agg.h"

/* One change of the number of guests ready and alive (bs:{RUN}:upc): when, in ms on the
 * report's fleet timeline (struct agg_host first_spawn_ms: host clocks corrected), and
 * the run's count after it. */
struct agg_point {
    double t_ms;
    long long ready;
};

/* The series the charts draw, read from Redis once. */
struct agg_series {
    size_t nboot, nready;
    double *boot_ms;         /* every boot time of bs:{RUN}:boot (restarts included), ascending */
    struct agg_point *ready; /* ascending in time */
};

/* Loads the series of r (loaded by agg_load) and gs (agg_guests_load: its ready-count
 * timeline) into *s, which must be zeroed or freed. Returns 0, or -1 with err (a Redis
 * error: the caller frees c, hiredis rule; out of memory). Free with agg_series_free,
 * also after a failure. */
int agg_series_load(redisContext *c, const struct agg_run *r, const struct agg_guests *gs,
                    struct agg_series *s, char *err, size_t errlen);
void agg_series_free(struct agg_series *s);

/* Writes the whole HTML document of r to out. gs (its guests, for the list of failed
 * ones) and s may be NULL: those parts are then left out. Returns 0, or -1 when a
 * write failed (ferror on out). */
int agg_html_write(const struct agg_run *r, const struct agg_guests *gs, const struct agg_series *s,
                   FILE *out);

#endif
