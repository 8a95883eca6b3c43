/* Subcommands of the `bootstorm` command. Each takes its own argv (argv[0] is the
 * subcommand's name), parses its own options and returns the process exit code:
 * 0 ok, 1 bad usage or run not found (the bad argument named on stderr), 2 Redis
 * unreachable. Not for global options (--redis) or dispatch: cli/main.c. */
#ifndef BS_CMD_H
#define BS_CMD_H

/* report [RUN|last] [--json]: one run's aggregates as a text table or one JSON object
 * on stdout. RUN defaults to "last", the newest run. */
int cmd_report(int argc, char **argv, const char *redis_url);

/* runs [--limit N]: the newest N runs (default 20) as a table on stdout. */
int cmd_runs(int argc, char **argv, const char *redis_url);

/* run SCENARIO [--count N] [--collector EP] [--hosts LIST] [--json]: one run per count
 * (times repeat), each reported when done. redis_url NULL: start the embedded Redis,
 * collector and launcher with their data in data_dir, and stop them at the end.
 * Returns 0 only if every guest of every run became ready, 1 if not, 2 on bad input. */
int cmd_run(int argc, char **argv, const char *redis_url, const char *data_dir);

#endif
