/* Live progress of one run, shared by `bootstorm run` (stderr) and `bootstorm watch`
 * (stdout): reading the counters (one pipelined HMGET of agg and meta per tick), the
 * ready rate over the last seconds, and the one line format. Not for deciding that a
 * run is over (runstore_over) nor for the final report (aggregator/). */
#ifndef BS_PROGRESS_H
#define BS_PROGRESS_H

#include <hiredis/hiredis.h>
#include <stdio.h>

#include "clock.h"

#define PROGRESS_RATE_WINDOW_NS (3 * NS_PER_S) /* ready/s is measured over this */
#define PROGRESS_SAMPLES 64                    /* ring of (time, ready) samples */
#define PROGRESS_LINE_MAX 320

/* The run's counters as Redis has them now; total is count_total (else count times
 * hosts_expected) plus the instances a mass restart started (meta restart_count), 0
 * when the meta is not there yet. */
struct progress_counts {
    long long spawned, ready, failed, up, total, hosts_done, hosts_expected;
};

/* A progress display. tty: redraw one line in place (\r, cleared); else print a plain
 * line at most every period_ns (changes_only: and only if the counts changed), and one
 * on progress_end. detail adds ", N up; launchers done D/E" (watch). */
struct progress {
    char run[128];
    FILE *out;
    int tty, detail, changes_only, drawn;
    int64_t period_ns;
    mono_ns t0, last_print;
    struct progress_counts last;
    int nsamples, head;
    mono_ns st[PROGRESS_SAMPLES];
    long long sready[PROGRESS_SAMPLES];
};

/* Reads the counters of run (an id) with one pipelined HMGET of bs:{RUN}:agg and
 * bs:{RUN}:meta. Returns 0, or -1 with err (c->err set when the connection failed:
 * the caller reconnects, hiredis rule). */
int progress_read(redisContext *c, const char *run, struct progress_counts *pc, char *err,
                  size_t errlen);

/* Sets p up for run, printing on out; t0 is when elapsed time starts. */
void progress_init(struct progress *p, const char *run, FILE *out, int tty, int64_t period_ns,
                   mono_ns t0);

/* Records a sample of ready at now and returns ready/s over the last
 * PROGRESS_RATE_WINDOW_NS (0 until two samples are 100 ms apart). */
double progress_rate(struct progress *p, mono_ns now, long long ready);

/* The line: "run X: S/T spawned, R ready, F failed, E s, Q ready/s" (+ detail). */
void progress_format(const struct progress *p, const struct progress_counts *pc, double elapsed_s,
                     double rate, char *line, size_t len);

/* One tick: records the sample, then prints per the rules of struct progress. */
void progress_show(struct progress *p, const struct progress_counts *pc, mono_ns now);

/* Ends a line drawn in place (a newline on a tty), so a message printed now starts on
 * its own line; the next progress_show draws a new one. p may be NULL. */
void progress_break(struct progress *p);

/* The last line (always printed when not a tty: final counts), then a newline on a tty. */
void progress_end(struct progress *p, const struct progress_counts *pc, mono_ns now);

#endif
