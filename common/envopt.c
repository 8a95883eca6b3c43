/* Options from the environment (envopt.h): names and the insertion before the
 * explicit options. Not for what the options mean (each program's parser). */
#include "envopt.h"

#include <stdlib.h>
#include <string.h>

static const char *const names[] = {
    [ENVOPT_REDIS] = "BOOTSTORM_REDIS",
    [ENVOPT_COLLECTOR] = "BOOTSTORM_COLLECTOR",
    [ENVOPT_CURVE_SERVER_KEY] = "BOOTSTORM_CURVE_SERVER_KEY",
    [ENVOPT_KEEP_RUNS] = "BOOTSTORM_KEEP_RUNS",
};

const char *envopt_get(enum envopt which)
{
    const char *v = getenv(names[which]);
    return v && *v ? v : NULL;
}

/* The last copy made: freed when the next one replaces it, reachable until exit. */
static char **owned;

int envopt_prepend(enum envopt which, const char *option, int *argc, char ***argv)
{
    const char *v = envopt_get(which);
    if (!v)
        return 0;
    char **nv = calloc((size_t)*argc + 3, sizeof *nv);
    if (!nv)
        return -1;
    nv[0] = (*argv)[0];
    nv[1] = (char *)option;
    nv[2] = (char *)v;
    memcpy(nv + 3, *argv + 1, (size_t)(*argc - 1) * sizeof *nv);
    if (*argv == owned)
        free(owned);
    *argv = owned = nv; /* nv[*argc + 2] is NULL, as argv[argc] must be */
    *argc += 2;
    return 0;
}

void envopt_unset(enum envopt which)
{
    unsetenv(names[which]);
}
