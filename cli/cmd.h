/* Subcommands of the `bootstorm` command. Each takes its own argv (argv[0] is the
 * subcommand's name), parses its own options with getopt_long (--help: usage on
 * stdout, exit 0) and returns the process exit code (cli/args.h): 0 ok, 1 a verdict
 * against the run (not ready, limit broken, run not found), 2 bad usage (the bad
 * option or number named on stderr) or Redis unreachable. Not for global options
 * (--redis) or dispatch: cli/main.c. */
#ifndef BS_CMD_H
#define BS_CMD_H

/* report [RUN|last] [--json | --html FILE]: one run's aggregates as a text table, one
 * JSON object on stdout, or one self-contained HTML page in FILE. RUN defaults to
 * "last", the newest run. */
int cmd_report(int argc, char **argv, const char *redis_url);

/* runs [--limit N] [--json]: the newest N runs (default 20) as a table or one JSON
 * array on stdout. */
int cmd_runs(int argc, char **argv, const char *redis_url);

/* run [SCENARIO] [--count N] [--collector EP] [--hosts LIST] [--json]: one run per count
 * (times repeat), each reported when done (--json: one object per line); no SCENARIO:
 * <prefix>/share/scenarios/default.yaml. redis_url NULL: start the embedded Redis,
 * collector and launcher with their data in data_dir, and stop them at the end.
 * Returns 0 only if every guest of every run became ready, 1 if not, 2 on bad input. */
int cmd_run(int argc, char **argv, const char *redis_url, const char *data_dir);

/* compare RUN... [--json]: runs side by side, one column each, plus the mean over the
 * valid ones (not marked invalid by `check`) when more than one. */
int cmd_compare(int argc, char **argv, const char *redis_url);

/* sweep RUN... | --last N [--json] [--plot DIR]: the runs grouped by count, per count
 * mean ± sample stddev of boot p50, p99 and all ready (aggregator/agg_sweep.h), and the
 * boot-storm curve into DIR. 1 when a run cannot be loaded or the chart fails. */
int cmd_sweep(int argc, char **argv, const char *redis_url);

/* export RUN (--csv|--json) [--out FILE]: one row per guest (agg_export_csv). */
int cmd_export(int argc, char **argv, const char *redis_url);

/* plot RUN --out DIR: PNG and SVG charts (agg_plot) into DIR. */
int cmd_plot(int argc, char **argv, const char *redis_url);

/* watch [RUN|last] [--interval-ms N] [--timeout-s S]: spawned/ready/failed counts refreshed
 * until the run is over (runstore_over), reconnecting to a Redis that restarted; 0 when
 * over, 1 on timeout, 2 when Redis fails for good. */
int cmd_watch(int argc, char **argv, const char *redis_url);

/* check RUN [--p99-max MS] [--max-failed-pct P] [--baseline RUN2 --max-regress PCT]:
 * exit 1 when the boot p99 exceeds MS, the failed share exceeds P percent (the run is
 * then marked invalid in its meta), p50, p99 or all-ready is more than PCT percent
 * worse than RUN2's, or the run is incomplete; prints one line per verdict. Neither a
 * limit nor a baseline given: exit 2. */
int cmd_check(int argc, char **argv, const char *redis_url);

/* Connects to redis_url for subcommand sub; redis_url NULL: the embedded Redis of the
 * data dir, started now and stopped by main when the command returns (cli/main.c).
 * NULL after printing why on stderr. */
struct redisContext *cmd_connect(const char *sub, const char *redis_url);

/* Remakes *c after a transport failure (c->err set: Redis restarted, say), saying
 * once on stderr "bootstorm SUB: lost Redis URL (why); reconnecting"; retries for up to
 * CMD_REDIS_RETRY_MS (bredis_reconnect). redis_url NULL: the embedded Redis of the
 * query (cmd_connect). Returns 0 with *c the new context, or -1 with *c NULL (printed). */
#define CMD_REDIS_RETRY_MS 60000
int cmd_reconnect(const char *sub, const char *redis_url, struct redisContext **c);

/* redis_url, or the embedded Redis of the data dir (started now, as cmd_connect does);
 * NULL after printing why on stderr. */
const char *cmd_redis_url(const char *sub, const char *redis_url);

/* redis-cli [ARGS...]: redis-cli on that Redis, the password in REDISCLI_AUTH (never on
 * its argv); returns redis-cli's exit status, 2 when it cannot be started. */
int cmd_rediscli(int argc, char **argv, const char *redis_url);

/* guests list | guests check NAME [--image KEY=PATH] [--accel A] [--timeout-s S]: the
 * profiles in <bin>/../guests and their images; one guest booted with its phase
 * timeline on stdout. check returns 0 if the guest became ready, 1 if not. */
int cmd_guests(int argc, char **argv);

/* hosts [--json]: the registry (bs:hosts): state, cores, memory, KVM, clock offset, pools. */
int cmd_hosts(int argc, char **argv, const char *redis_url);

/* pool add NAME HOST... | rm NAME [HOST...] | list [NAME]: named host groups
 * (bs:pool:NAME, names in bs:pools) that `run --hosts pool:NAME` targets. */
int cmd_pool(int argc, char **argv, const char *redis_url);

/* rm RUN... [--force]: deletes every key of each run and its bs:runs entry
 * (common/runstore.c); nothing when one id is invalid (2), not stored or still running
 * without --force (1). */
int cmd_rm(int argc, char **argv, const char *redis_url);

/* prune [--keep N] [--older-than D] [--dry-run] [--force]: removes the runs beyond the
 * newest N and/or created before now - D, keeping those still running unless --force;
 * one line per run chosen, then the count. */
int cmd_prune(int argc, char **argv, const char *redis_url);

/* keys gen DIR: a CURVE pair for the collector (server.key, server.pub) and one for
 * clients (client.key). No Redis. */
int cmd_keys(int argc, char **argv);

#endif
