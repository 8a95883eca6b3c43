/* Key builders of keys.h: plain snprintf, truncation reported. */
#include "keys.h"

#include <stdio.h>

static const char *const run_names[KEY_RUN_COUNT] = {
    [KEY_META] = "meta", [KEY_SEQ] = "seq", [KEY_EV] = "ev",       [KEY_BOOT] = "boot",
    [KEY_LAG] = "lag",   [KEY_AGG] = "agg", [KEY_LINES] = "lines",
};

static int fit(int n, size_t cap)
{
    return n < 0 || (size_t)n >= cap ? -1 : n;
}

const char *keys_run_name(enum key_run which)
{
    return (int)which >= 0 && which < KEY_RUN_COUNT ? run_names[which] : NULL;
}

int keys_run_named(char *buf, size_t cap, const char *run, const char *name)
{
    return fit(snprintf(buf, cap, "bs:{%s}:%s", run, name), cap);
}

int keys_run(char *buf, size_t cap, const char *run, enum key_run which)
{
    const char *name = keys_run_name(which);
    return name ? keys_run_named(buf, cap, run, name) : -1;
}

int keys_hagg(char *buf, size_t cap, const char *run, const char *host)
{
    return fit(snprintf(buf, cap, "bs:{%s}:hagg:%s", run, host), cap);
}

int keys_mem(char *buf, size_t cap, const char *run, const char *host)
{
    return fit(snprintf(buf, cap, "bs:{%s}:mem:%s", run, host), cap);
}

int keys_host(char *buf, size_t cap, const char *host)
{
    return fit(snprintf(buf, cap, "bs:host:%s", host), cap);
}

int keys_pool(char *buf, size_t cap, const char *pool)
{
    return fit(snprintf(buf, cap, "bs:pool:%s", pool), cap);
}
