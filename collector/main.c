/* bootstorm-collector: options and signals; the work is in coll.c. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "coll.h"
#include "log.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: bootstorm-collector [options]\n"
            "  --bind ENDPOINT       ZeroMQ endpoint for launchers and the CLI "
            "(default tcp://127.0.0.1:5555)\n"
            "  --redis URL           redis://HOST:PORT[/DB] or unix:///PATH "
            "(default redis://127.0.0.1:6379)\n"
            "  --lua PATH            the Redis Function library "
            "(default <bindir>/../share/bootstorm.lua)\n"
            "  --ready-file PATH     write \"ok\\n\" there once bound and the library is loaded\n"
            "  --stats-interval S    seconds between stats lines, 0 = none (default 10)\n"
            "  --version, --help\n");
}

/* <directory of this executable>/../share/bootstorm.lua */
static void default_lua(char *out, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) {
        snprintf(out, cap, "share/bootstorm.lua");
        return;
    }
    exe[n] = '\0';
    snprintf(out, cap, "%s/../share/bootstorm.lua", dirname(exe));
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"bind", required_argument, 0, 'b'},
                                             {"redis", required_argument, 0, 'r'},
                                             {"lua", required_argument, 0, 'l'},
                                             {"ready-file", required_argument, 0, 'R'},
                                             {"stats-interval", required_argument, 0, 's'},
                                             {"version", no_argument, 0, 'V'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    char lua[PATH_MAX + 32];
    struct coll_opts o = {"tcp://127.0.0.1:5555", "redis://127.0.0.1:6379", NULL, NULL, 10};
    log_init("collector", LOG_INFO);
    for (int c; (c = getopt_long(argc, argv, "", longopts, NULL)) != -1;) {
        char *end;
        switch (c) {
        case 'b': o.bind = optarg; break;
        case 'r': o.redis_url = optarg; break;
        case 'l': o.lua_path = optarg; break;
        case 'R': o.ready_file = optarg; break;
        case 's':
            o.stats_interval_s = (int)strtol(optarg, &end, 10);
            if (*end || end == optarg || o.stats_interval_s < 0 || o.stats_interval_s > 86400) {
                fprintf(stderr, "bootstorm-collector: --stats-interval: 0..86400 seconds\n");
                return 2;
            }
            break;
        case 'V': printf("bootstorm-collector %s\n", BS_VERSION); return 0;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 2;
    }
    if (!o.lua_path) {
        default_lua(lua, sizeof lua);
        o.lua_path = lua;
    }
    struct sigaction sa = {0};
    sa.sa_handler = on_signal; /* no SA_RESTART: zmq_poll returns at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return coll_run(&o, &stop) == 0 ? 0 : 1;
}
