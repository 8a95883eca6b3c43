/* The one checked parser for numbers given on a command line (options and
 * positional arguments). Not for YAML values (yamlcfg.c) nor for numbers read back
 * from Redis, which bootstorm itself wrote. */
#ifndef BS_NUMARG_H
#define BS_NUMARG_H

#include <stddef.h>
#include <stdint.h>

/* Parses all of s as a decimal integer within [lo, hi] into *out. On failure returns
 * -1, leaves *out alone and writes "NAME: 'S' is not an integer" (or "... is out of
 * range LO..HI") to err; name is the option as the user typed it ("--count"). */
int numarg_int(const char *name, const char *s, int64_t lo, int64_t hi, int64_t *out, char *err,
               size_t errlen);

/* The same for a finite decimal number (e.g. "2.5") within [lo, hi]. */
int numarg_double(const char *name, const char *s, double lo, double hi, double *out, char *err,
                  size_t errlen);

/* A duration "N" followed by one unit: s, m, h or d (30m, 12h, 7d), N a decimal integer;
 * into *out_s in seconds, within [lo_s, hi_s]. Errors as numarg_int's, naming the
 * option ("--older-than: '7w' is not a duration (N followed by s, m, h or d)"). */
int numarg_duration(const char *name, const char *s, int64_t lo_s, int64_t hi_s, int64_t *out_s,
                    char *err, size_t errlen);

#endif
