/* `bootstorm redis-cli`: Debian's redis-cli on the Redis the other commands use (the
 * data dir's embedded one, BOOTSTORM_REDIS or --redis), for the queries of
 * redis/SCHEMA.md. The password goes in REDISCLI_AUTH, never on argv (ps shows argv).
 * Not for connecting ourselves (bredis.c) or for the embedded Redis's life (main.c
 * starts it for this command and stops it when redis-cli has exited). */
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "bredis.h"
#include "cmd.h"
#include "procspawn.h"

extern char **environ;

#define ARGS_MAX 256

static const char usage[] =
    "usage: bootstorm [--redis URL] [--data-dir DIR] redis-cli [ARGS...]\n"
    "  redis-cli on the Redis the other commands use: the data dir's embedded one\n"
    "  (started for this command and stopped after it), or BOOTSTORM_REDIS / --redis.\n"
    "  ARGS go to redis-cli as they are (a command, --raw, ...); the password is passed\n"
    "  in REDISCLI_AUTH. Keys and queries: redis/SCHEMA.md.\n";

/* redis-cli's options for a: where, which db, which user. Returns the count. */
static int addr_args(const struct bredis_addr *a, char *port, size_t plen, char *db, size_t dblen,
                     char **out)
{
    int n = 0;
    if (a->port) {
        snprintf(port, plen, "%d", a->port);
        out[n++] = "-h";
        out[n++] = (char *)a->host;
        out[n++] = "-p";
        out[n++] = port;
    } else {
        out[n++] = "-s";
        out[n++] = (char *)a->host;
    }
    snprintf(db, dblen, "%d", a->db);
    out[n++] = "-n";
    out[n++] = db;
    if (a->user[0]) {
        out[n++] = "--user";
        out[n++] = (char *)a->user;
    }
    return n;
}

/* Runs argv on our terminal (procspawn puts stdin on /dev/null: redis-cli needs it) and
 * waits; ^C goes to redis-cli, not to us, as system() does. Returns its exit status. */
static int run_interactive(char **argv)
{
    posix_spawnattr_t at;
    sigset_t dflt, none;
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
    sigemptyset(&none);
    sigemptyset(&dflt);
    sigaddset(&dflt, SIGINT);
    sigaddset(&dflt, SIGQUIT);
    sigaddset(&dflt, SIGPIPE);
    sigaction(SIGINT, &ign, &old_int);
    sigaction(SIGQUIT, &ign, &old_quit);
    posix_spawnattr_init(&at);
    posix_spawnattr_setsigdefault(&at, &dflt);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], NULL, &at, argv, environ);
    posix_spawnattr_destroy(&at);
    if (rc != 0) {
        fprintf(stderr, "bootstorm redis-cli: cannot start redis-cli: %s (Debian: redis-tools)\n",
                strerror(rc));
        rc = ARGS_USAGE;
    } else if ((rc = spawn_wait(pid)) < 0) {
        rc = ARGS_USAGE;
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return rc;
}

int cmd_rediscli(int argc, char **argv, const char *redis_url)
{
    if (argc == 2 && !strcmp(argv[1], "--help"))
        return args_usage(usage, 1);
    if (argc > ARGS_MAX)
        return args_bad("redis-cli", usage, "too many arguments", NULL);
    struct bredis_addr a;
    char err[512], port[16], db[16];
    if (!(redis_url = cmd_redis_url("redis-cli", redis_url)))
        return ARGS_USAGE;
    if (bredis_parse_url(redis_url, &a, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm redis-cli: %s\n", err);
        return ARGS_USAGE;
    }
    char *cli[ARGS_MAX + 12] = {"redis-cli"};
    int n = 1 + addr_args(&a, port, sizeof port, db, sizeof db, cli + 1);
    for (int i = 1; i < argc; i++)
        cli[n++] = argv[i];
    cli[n] = NULL;
    if (a.pass[0])
        setenv("REDISCLI_AUTH", a.pass, 1);
    return run_interactive(cli);
}
