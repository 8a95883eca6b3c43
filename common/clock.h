/* Clocks: monotonic time (durations, one host) and realtime (cross-host timelines)
 * as distinct types so they cannot be mixed by accident. Not for timers or sleeps. */
#ifndef BS_CLOCK_H
#define BS_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef struct mono_ns {
    int64_t ns;
} mono_ns; /* CLOCK_MONOTONIC */
typedef struct real_ns {
    int64_t ns;
} real_ns; /* CLOCK_REALTIME */

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

mono_ns clock_mono(void);
real_ns clock_real(void);

/* b - a in nanoseconds; both from the same host's monotonic clock. */
static inline int64_t mono_diff(mono_ns a, mono_ns b)
{
    return b.ns - a.ns;
}
static inline int64_t timespec_ns(struct timespec ts)
{
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}
static inline mono_ns mono_add(mono_ns a, int64_t ns)
{
    return (mono_ns){a.ns + ns};
}
/* *next = at when at is sooner: the next thing due, over several. */
static inline void mono_earlier(mono_ns *next, mono_ns at)
{
    if (at.ns < next->ns)
        *next = at;
}

/* A moment of this host's monotonic clock on its realtime clock, and back: the two
 * clocks' offset is read now (a step of the realtime clock since then moves it). */
real_ns clock_real_of(mono_ns t);
mono_ns clock_mono_of(real_ns t);

/* Formats t as "YYYY-mm-dd HH:MM:SS.mmm" UTC into buf (>= 24 bytes); returns buf. */
char *real_format(real_ns t, char *buf, int len);

#endif
