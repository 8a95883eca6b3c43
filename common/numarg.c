/* Checked number parsing for command-line arguments: the whole text must be the
 * number, and a range error names the option. See numarg.h. */
#include "numarg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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
