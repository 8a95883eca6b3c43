/* The limits of what a run may ask for, in one table (named bslimits.h: under -I common
 * a limits.h would shadow the system <limits.h>): the codec's field table
 * (common/event.c) is built from these, the collector refuses what the codec refuses,
 * and the scenario parser (common/scenario.c) reads the codec's range of each key
 * through ev_field_range, so a file is refused with the same limit the wire would
 * apply. Not for buffer sizes of strings (struct ev in event.h). */
#ifndef BS_BSLIMITS_H
#define BS_BSLIMITS_H

#define LIM_COUNT_MAX 100000        /* guests a run asks for: per host, or the fleet's total */
#define LIM_TALLY_MAX (1 << 30)     /* ready / failed counted over a run (restarts included) */
#define LIM_INTERVAL_MS_MAX 3600000 /* interval between spawns */
#define LIM_HOLD_S_MAX 86400        /* hold after all are ready */
#define LIM_TIMEOUT_S_MIN 1         /* per guest */
#define LIM_TIMEOUT_S_MAX 86400
#define LIM_SAMPLE_MS_MAX 3600000         /* memory sampling period */
#define LIM_PSS_GUESTS_MAX LIM_COUNT_MAX  /* guests whose PSS one memory sample reads */
#define LIM_CONCURRENCY_MAX (1 << 24)     /* boots in flight */
#define LIM_RESTART_AFTER_MS_MAX 86400000 /* mass restart this long after all are ready */
#define LIM_PERMILLE_MAX 1000             /* share of the fleet restarted */
#define LIM_GUEST_MAX (1 << 30)           /* guest index */
#define LIM_CORES_MAX (1 << 20)

#endif
