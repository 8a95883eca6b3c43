/* stderr logger; one write per line so lines of concurrent processes do not interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"

static const char *log_prog = "bootstorm";
static enum log_level log_min = LOG_INFO;

void log_init(const char *prog, enum log_level level)
{
    log_prog = prog;
    log_min = level;
    const char *env = getenv("BOOTSTORM_LOG");
    if (!env)
        return;
    if (!strcmp(env, "debug"))
        log_min = LOG_DEBUG;
    else if (!strcmp(env, "info"))
        log_min = LOG_INFO;
    else if (!strcmp(env, "warn"))
        log_min = LOG_WARN;
    else if (!strcmp(env, "error"))
        log_min = LOG_ERR;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    if (level < log_min)
        return;
    char when[32], line[2048];
    real_format(clock_real(), when, sizeof when);
    int n = snprintf(line, sizeof line, "%s %s %s: ", when + 11, log_prog, names[level]);
    va_list ap;
    va_start(ap, fmt);
    n += vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof line - 2)
        n = (int)sizeof line - 2;
    line[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, (size_t)n);
    (void)w;
}
