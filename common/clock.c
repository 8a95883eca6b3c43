/* Clock reads and realtime formatting. */
#include "clock.h"

#include <stdio.h>
#include <time.h>

static int64_t read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return timespec_ns(ts);
}

mono_ns clock_mono(void)
{
    return (mono_ns){read_clock(CLOCK_MONOTONIC)};
}
real_ns clock_real(void)
{
    return (real_ns){read_clock(CLOCK_REALTIME)};
}

real_ns clock_real_of(mono_ns t)
{
    mono_ns now = clock_mono();
    return (real_ns){clock_real().ns - mono_diff(t, now)};
}

mono_ns clock_mono_of(real_ns t)
{
    real_ns now = clock_real();
    return mono_add(clock_mono(), t.ns - now.ns);
}

char *real_format(real_ns t, char *buf, int len)
{
    time_t s = (time_t)(t.ns / NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    char day[32];
    strftime(day, sizeof day, "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf, (size_t)len, "%s.%03d", day, (int)((t.ns % NS_PER_S) / NS_PER_MS));
    return buf;
}
