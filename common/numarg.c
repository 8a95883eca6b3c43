/* Checked number parsing for command-line arguments: the whole text must be the
 * number, and a range error names the option. See numarg.h. */
#include "numarg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int numarg_int(const char *name, const char *s, int64_t lo, int64_t hi, int64_t *out, char *err,
               size_t errlen)
{
    char *end = NULL;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || *end || end == s) {
        snprintf(err, errlen, "%s: '%s' is not an integer", name, s ? s : "");
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        snprintf(err, errlen, "%s: '%s' is out of range %lld..%lld", name, s, (long long)lo,
                 (long long)hi);
        return -1;
    }
    *out = v;
    return 0;
}

int numarg_double(const char *name, const char *s, double lo, double hi, double *out, char *err,
                  size_t errlen)
{
    char *end = NULL;
    errno = 0;
    double v = s ? strtod(s, &end) : 0;
    if (!s || !*s || *end || end == s || !isfinite(v)) {
        snprintf(err, errlen, "%s: '%s' is not a number", name, s ? s : "");
        return -1;
    }
    if (errno == ERANGE || v < lo || v > hi) {
        snprintf(err, errlen, "%s: '%s' is out of range %g..%g", name, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int numarg_duration(const char *name, const char *s, int64_t lo_s, int64_t hi_s, int64_t *out_s,
                    char *err, size_t errlen)
{
    static const struct {
        char unit;
        int64_t s;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}};
    size_t len = s ? strlen(s) : 0;
    char digits[32];
    for (size_t i = 0; len >= 2 && len - 1 < sizeof digits && i < sizeof units / sizeof units[0];
         i++) {
        if (s[len - 1] != units[i].unit)
            continue;
        memcpy(digits, s, len - 1);
        digits[len - 1] = '\0';
        int64_t n;
        if (digits[0] < '0' || digits[0] > '9' || /* no sign, no blank */
            numarg_int(name, digits, 0, INT64_MAX / 86400, &n, err, errlen) < 0)
            break;
        if (n * units[i].s < lo_s || n * units[i].s > hi_s) {
            snprintf(err, errlen, "%s: '%s' is out of range %llds..%llds", name, s, (long long)lo_s,
                     (long long)hi_s);
            return -1;
        }
        *out_s = n * units[i].s;
        return 0;
    }
    snprintf(err, errlen, "%s: '%s' is not a duration (N followed by s, m, h or d, e.g. 12h)", name,
             s ? s : "");
    return -1;
}
