/* The environment variables that stand for command-line options, so the address of a
 * shared Redis or collector need not be repeated on every command: BOOTSTORM_REDIS
 * (--redis), BOOTSTORM_COLLECTOR (--collector of `run`, --connect of the launcher),
 * BOOTSTORM_CURVE_SERVER_KEY (--curve-server-key), BOOTSTORM_KEEP_RUNS (the collector's
 * --keep-runs). The one place that reads them; an
 * option given on the command line always wins. Not for the Redis password
 * (bredis.c), the data dir (cli/main.c) or guest folders (guestpath.c). */
#ifndef BS_ENVOPT_H
#define BS_ENVOPT_H

enum envopt { ENVOPT_REDIS, ENVOPT_COLLECTOR, ENVOPT_CURVE_SERVER_KEY, ENVOPT_KEEP_RUNS };

/* The variable's value, or NULL when it is unset or empty. */
const char *envopt_get(enum envopt which);

/* When which's variable is set, replaces *argv by a copy with "OPTION VALUE" inserted
 * after (*argv)[0] and adds 2 to *argc; getopt then reads the explicit options after
 * it, so they win (the caller's parser must keep the last value of an option). The
 * copy lives until the process ends, or until envopt_prepend replaces it by the next
 * one (pass the *argv it gave). Returns 0, or -1 when out of memory. */
int envopt_prepend(enum envopt which, const char *option, int *argc, char ***argv);

/* Removes which's variable from the environment (children started later do not see
 * it: the CLI's embedded daemons are not the shared ones it names). */
void envopt_unset(enum envopt which);

#endif
