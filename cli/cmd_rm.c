/* `bootstorm rm RUN...`: deletes runs from Redis, all or nothing as far as the checks
 * go (every id valid, stored, and over unless --force) before the first key is
 * touched. The deletion itself is common/runstore.c's. Not for retention rules
 * (cmd_prune.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "args.h"
#include "cmd.h"
#include "runstore.h"

static const char usage[] =
    "usage: bootstorm [--redis URL] rm RUN [RUN...] [--force]\n"
    "  deletes every key of each run (its {RUN} hash tag) and its entry in the run list;\n"
    "  nothing is deleted when one RUN is invalid, not stored, or still running\n"
    "  --force  remove runs that are still running too (their launchers may still\n"
    "           write a few keys back until they end)\n";

static const struct option opts[] = {
    {"force", no_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* Every check before anything is deleted; prints each refusal. Returns ARGS_OK, or the
 * exit code (ARGS_FAIL: not stored or running; ARGS_USAGE: Redis failed). */
static int check_all(redisContext *c, char **runs, int n, int force)
{
    char err[512];
    int rc = ARGS_OK;
    for (int i = 0; i < n; i++) {
        int exists = runstore_exists(c, runs[i], err, sizeof err);
        int over = exists > 0 && !force ? runstore_over(c, runs[i], NULL, err, sizeof err) : 1;
        if (exists < 0 || over < 0) {
            fprintf(stderr, "bootstorm rm: %s\n", err);
            return ARGS_USAGE;
        }
        if (!exists)
            fprintf(stderr, "bootstorm rm: no run '%s' in Redis\n", runs[i]);
        else if (!over)
            fprintf(stderr, "bootstorm rm: run '%s' is still running (--force removes it)\n",
                    runs[i]);
        if (!exists || !over)
            rc = ARGS_FAIL;
    }
    if (rc != ARGS_OK)
        fprintf(stderr, "bootstorm rm: nothing removed\n");
    return rc;
}

/* 1 when runs[i] was given before (rm A A removes A once). */
static int seen(char **runs, int i)
{
    for (int k = 0; k < i; k++)
        if (!strcmp(runs[k], runs[i]))
            return 1;
    return 0;
}

static int remove_all(redisContext *c, char **runs, int n)
{
    char err[512];
    for (int i = 0; i < n; i++) {
        if (seen(runs, i))
            continue;
        long long keys = runstore_remove(c, runs[i], err, sizeof err);
        if (keys < 0) {
            fprintf(stderr, "bootstorm rm: run '%s': %s\n", runs[i], err);
            return ARGS_USAGE;
        }
        printf("removed %s (%lld keys)\n", runs[i], keys);
    }
    return ARGS_OK;
}

int cmd_rm(int argc, char **argv, const char *redis_url)
{
    int force = 0, c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
        if (c == 'f')
            force = 1;
        else
            return args_usage(usage, c == 'h');
    }
    if (optind >= argc)
        return args_bad("rm", usage, "which run? give at least one RUN", NULL);
    for (int i = optind; i < argc; i++)
        if (!runstore_valid_id(argv[i]))
            return args_bad("rm", usage, "nothing removed: invalid run id", argv[i]);
    redisContext *redis = cmd_connect("rm", redis_url);
    if (!redis)
        return ARGS_USAGE;
    int rc = check_all(redis, argv + optind, argc - optind, force);
    if (rc == ARGS_OK)
        rc = remove_all(redis, argv + optind, argc - optind);
    redisFree(redis);
    return rc;
}
