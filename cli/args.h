/* What every subcommand's option parsing shares: checked numbers that name the
 * option (common/numarg), usage on --help, and one set of exit codes. Not for the
 * options themselves: each cmd_*.c parses its own with getopt_long. */
#ifndef BS_ARGS_H
#define BS_ARGS_H

#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand: ok; a verdict against the run (not ready, limit
 * broken, run not found); bad usage (unknown option, bad number, missing argument)
 * or Redis unreachable. */
enum { ARGS_OK = 0, ARGS_FAIL = 1, ARGS_USAGE = 2 };

/* Parses s as option opt of command cmd (an integer within [lo, hi]) into *out.
 * On failure prints "bootstorm CMD: OPT: 'S' is not an integer" (or out of range)
 * on stderr and returns -1 (the caller exits ARGS_USAGE). */
int args_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out);

/* The same for a decimal number. */
int args_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out);

/* Prints usage: on stdout when asked for (--help: returns ARGS_OK), else on stderr
 * (returns ARGS_USAGE). */
int args_usage(const char *usage, int asked);

/* Complains about a bad command line ("bootstorm CMD: WHY") and prints the usage on
 * stderr; returns ARGS_USAGE. */
int args_bad(const char *cmd, const char *usage, const char *why, const char *arg);

/* Checks a run id given on the command line by the one rule (ycfg_id_why) before any
 * key is built from it. On failure prints "bootstorm CMD: bad run id 'ID': why" on
 * stderr and returns -1 (the caller exits ARGS_USAGE); 0 for a valid id or "last". */
int args_run_id(const char *cmd, const char *run);

#endif
