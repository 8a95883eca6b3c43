/* bootstorm-simguest: a simulated guest for control-plane scale tests without VMs
 * (the `process` backend, guests/sim.yaml). Prints "sim: start", sleeps a boot
 * time drawn from a normal distribution, prints the ready line, then stays alive
 * (service mode) or exits 0 (--exit). --fail-pct makes some exit 1 before ready.
 * Not a guest of any real kind: no console rules of its own beyond those two lines. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "numarg.h"

struct sim {
    double boot_ms, jitter_ms, fail_pct;
    int exit_mode;
};

static void usage(FILE *f)
{
    fprintf(f, "usage: bootstorm-simguest [--boot-ms M] [--jitter-ms SD] [--fail-pct P] [--exit]\n"
               "                          [--help] [--version]\n");
}

/* Returns -1 to go on, else the exit status. */
static int parse_args(int argc, char **argv, struct sim *s)
{
    static const struct option opts[] = {{"boot-ms", required_argument, 0, 'b'},
                                         {"jitter-ms", required_argument, 0, 'j'},
                                         {"fail-pct", required_argument, 0, 'f'},
                                         {"exit", no_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {"version", no_argument, 0, 'V'},
                                         {0, 0, 0, 0}};
    char err[160];
    int c, rc = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'V') {
            printf("bootstorm-simguest %s\n", BS_VERSION);
            return 0;
        }
        if (c == 'h' || c == '?') {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 2;
        }
        if (c == 'b')
            rc = numarg_double("--boot-ms", optarg, 0, 3.6e6, &s->boot_ms, err, sizeof err);
        else if (c == 'j')
            rc = numarg_double("--jitter-ms", optarg, 0, 3.6e6, &s->jitter_ms, err, sizeof err);
        else if (c == 'f')
            rc = numarg_double("--fail-pct", optarg, 0, 100, &s->fail_pct, err, sizeof err);
        else
            s->exit_mode = 1; /* --exit */
        if (rc < 0) {
            fprintf(stderr, "bootstorm-simguest: %s\n", err);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "bootstorm-simguest: unknown argument '%s'\n", argv[optind]);
        return 2;
    }
    return -1;
}

/* A boot time drawn from N(boot_ms, jitter_ms), never negative. */
static double draw_boot_ms(const struct sim *s)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    srand48((long)now.tv_nsec ^ (long)getpid() << 16);
    double u1 = drand48(), u2 = drand48(); /* Box-Muller */
    double ms =
        s->boot_ms + s->jitter_ms * sqrt(-2 * log(u1 > 0 ? u1 : 1e-12)) * cos(2 * M_PI * u2);
    return ms < 0 ? 0 : ms;
}

int main(int argc, char **argv)
{
    struct sim s = {.boot_ms = 100};
    int rc = parse_args(argc, argv, &s);
    if (rc >= 0)
        return rc;
    double ms = draw_boot_ms(&s);
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sim: start\n");
    struct timespec d = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
    nanosleep(&d, NULL);
    if (drand48() * 100 < s.fail_pct) {
        fprintf(stderr, "simulated crash\n");
        return 1;
    }
    printf("BOOTSTORM READY sim\n");
    if (s.exit_mode)
        return 0;
    for (;;)
        pause();
}
