/* libFuzzer target for the guest-profile parser (profile.h). profile_load reads a
 * path, so the input goes into a memfd named by /proc/self/fd/N: no disk, no temp
 * files left behind. Not a unit test: see tests/unit/test_profile.c. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "profile.h"

static int fd = -1;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct profile p;
    char err[512], path[64];
    if (fd < 0 && (fd = memfd_create("fuzz-profile", 0)) < 0)
        abort();
    if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    if (profile_load(path, &p, err, sizeof err) == 0)
        profile_free(&p);
    return 0;
}
