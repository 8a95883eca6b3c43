/* `bootstorm prune`: retention by rule, keep the newest N runs and/or remove those
 * created before now - D; --dry-run lists what would go. The rules and the deletion
 * are common/runstore.c's (the collector's --keep-runs applies the same). Not for
 * removing named runs (cmd_rm.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "clock.h"
#include "cmd.h"
#include "numarg.h"
#include "runstore.h"

#define MAX_AGE_S (100LL * 366 * 86400)

static const char usage[] =
    "usage: bootstorm [--redis URL] prune [--keep N] [--older-than D] [--dry-run] [--force]\n"
    "  removes runs by rule (at least one rule; with both, a run either rule picks goes):\n"
    "  --keep N        keep the newest N runs (0..1000000), remove the older ones\n"
    "  --older-than D  remove runs created more than D ago: N followed by s, m, h or d\n"
    "                  (30m, 12h, 7d)\n"
    "  --dry-run       list the runs that would be removed; remove nothing\n"
    "  --force         remove runs that are still running too (else they are kept)\n";

static const struct option opts[] = {
    {"keep", required_argument, 0, 'k'}, {"older-than", required_argument, 0, 'o'},
    {"dry-run", no_argument, 0, 'n'},    {"force", no_argument, 0, 'f'},
    {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};

/* Fills *rule from the command line; returns -1 to go on, else the exit code. */
static int parse(int argc, char **argv, struct runstore_rule *rule)
{
    char err[256];
    int64_t age_s = 0;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "k:o:nfh", opts, NULL)) != -1) {
        if (c == 'k' && args_int("prune", "--keep", optarg, 0, 1000000, &rule->keep) < 0)
            return ARGS_USAGE;
        if (c == 'o' &&
            numarg_duration("--older-than", optarg, 1, MAX_AGE_S, &age_s, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm prune: %s\n", err);
            return ARGS_USAGE;
        }
        rule->dry_run |= c == 'n';
        rule->force |= c == 'f';
        if (!strchr("konf", c))
            return args_usage(usage, c == 'h');
    }
    if (optind < argc)
        return args_bad("prune", usage, "unexpected argument", argv[optind]);
    if (rule->keep < 0 && !age_s)
        return args_bad("prune", usage, "give --keep N or --older-than D (or both)", NULL);
    if (age_s)
        rule->before_ms = clock_real().ns / NS_PER_MS - age_s * 1000;
    return -1;
}

static void say(void *arg, const char *run, enum runstore_fate fate, long long nkeys)
{
    (void)arg;
    if (fate == RUNSTORE_REMOVED)
        printf("removed %s (%lld keys)\n", run, nkeys);
    else if (fate == RUNSTORE_WOULD_REMOVE)
        printf("would remove %s\n", run);
    else
        printf("kept %s: still running (--force removes it)\n", run);
}

int cmd_prune(int argc, char **argv, const char *redis_url)
{
    struct runstore_rule rule = {.keep = -1};
    int rc = parse(argc, argv, &rule);
    if (rc >= 0)
        return rc;
    redisContext *redis = cmd_connect("prune", redis_url);
    if (!redis)
        return ARGS_USAGE;
    char err[512];
    int n = runstore_prune(redis, &rule, say, NULL, err, sizeof err);
    if (n < 0)
        fprintf(stderr, "bootstorm prune: %s\n", err);
    else
        printf("%s %d run(s)\n", rule.dry_run ? "would remove" : "removed", n);
    redisFree(redis);
    return n < 0 ? ARGS_USAGE : ARGS_OK;
}
