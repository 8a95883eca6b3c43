/* The prefix, read once from /proc/self/exe. Not for finding a profile or image
 * inside it (profile.c, the callers' --guests / --images options). */
#include "paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

const char *path_prefix(void)
{
    static char prefix[PATH_MAX];
    if (!prefix[0]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = '\0';
        snprintf(prefix, sizeof prefix, "%s", n > 0 ? dirname(dirname(exe)) : ".");
    }
    return prefix;
}

char *path_in_prefix(char *out, size_t len, const char *sub)
{
    snprintf(out, len, "%s/%s", path_prefix(), sub);
    return out;
}
