/* Writes the seed corpus of fuzz_event: one encoded message of every type, with
 * every string and integer key filled, into the directory given (tests/fuzz/corpus/
 * event). Run by hand when the protocol changes; not part of the test suite. */
#include <stdio.h>
#include <string.h>

#include "event.h"

static void fill(struct ev *e, enum ev_type t)
{
    ev_init(e, t);
    strcpy(e->host, "h1");
    strcpy(e->run, "r1");
    strcpy(e->kind, "minkernel");
    strcpy(e->backend, "qemu");
    strcpy(e->accel, "kvm");
    strcpy(e->pattern, "ramp");
    strcpy(e->ramp, "0:2,1500:8,3000:0");
    strcpy(e->split, "per_host");
    strcpy(e->name, "init");
    strcpy(e->reason, "timeout");
    strcpy(e->detail, "no ready line in 60 s");
    strcpy(e->backends, "qemu,process");
    strcpy(e->version, "0.1.0");
    strcpy(e->text, "Booting the kernel");
    e->seq = e->pid = e->cores = e->timeout_s = 1;
    e->count = 8;
    e->guest = 3;
    e->t1 = e->t2 = e->t3 = 1700000000000000000;
}

int main(int argc, char **argv)
{
    char buf[EV_MAX_BYTES], path[4096];
    struct ev e;
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    for (int t = EV_NONE + 1; t < EV_TYPE_COUNT; t++) {
        fill(&e, (enum ev_type)t);
        int n = ev_encode(&e, buf, sizeof buf);
        snprintf(path, sizeof path, "%s/%s.mp", argv[1], ev_type_name((enum ev_type)t));
        FILE *f = fopen(path, "wb");
        if (n < 0 || !f || fwrite(buf, 1, (size_t)n, f) != (size_t)n || fclose(f) != 0) {
            fprintf(stderr, "%s: cannot write\n", path);
            return 1;
        }
    }
    return 0;
}
