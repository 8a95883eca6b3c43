/* bootstorm-simguest: a simulated guest for control-plane scale tests without VMs
 * (the `process` backend, guests/sim.yaml). Prints "sim: start", sleeps a boot
 * time drawn from a normal distribution, prints the ready line, then stays alive
 * (service mode) or exits 0 (--exit). --fail-pct makes some exit 1 before ready.
 * usage: bootstorm-simguest [--boot-ms M] [--jitter-ms SD] [--fail-pct P] [--exit] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    double boot_ms = 100, jitter_ms = 0, fail_pct = 0;
    int exit_mode = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--exit")) {
            exit_mode = 1;
        } else if (i + 1 < argc && !strcmp(argv[i], "--boot-ms")) {
            boot_ms = atof(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--jitter-ms")) {
            jitter_ms = atof(argv[++i]);
        } else if (i + 1 < argc && !strcmp(argv[i], "--fail-pct")) {
            fail_pct = atof(argv[++i]);
        } else {
            fprintf(stderr, "bootstorm-simguest: unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    srand48((long)now.tv_nsec ^ (long)getpid() << 16);
    double u1 = drand48(), u2 = drand48(); /* Box-Muller */
    double ms = boot_ms + jitter_ms * sqrt(-2 * log(u1 > 0 ? u1 : 1e-12)) * cos(2 * M_PI * u2);
    if (ms < 0)
        ms = 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("sim: start\n");
    struct timespec d = {(time_t)(ms / 1000), (long)(fmod(ms, 1000) * 1e6)};
    nanosleep(&d, NULL);
    if (drand48() * 100 < fail_pct) {
        fprintf(stderr, "simulated crash\n");
        return 1;
    }
    printf("BOOTSTORM READY sim\n");
    if (exit_mode)
        return 0;
    for (;;)
        pause();
}
