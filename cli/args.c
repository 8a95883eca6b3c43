/* Shared option-parsing helpers of the subcommands (args.h): checked numbers, usage
 * and exit codes. Not for parsing any one command's options. */
#include "args.h"

#include "numarg.h"
#include "yamlcfg.h"

int args_int(const char *cmd, const char *opt, const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char err[256];
    if (numarg_int(opt, s, lo, hi, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm %s: %s\n", cmd, err);
    return -1;
}

int args_double(const char *cmd, const char *opt, const char *s, double lo, double hi, double *out)
{
    char err[256];
    if (numarg_double(opt, s, lo, hi, out, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm %s: %s\n", cmd, err);
    return -1;
}

int args_usage(const char *usage, int asked)
{
    fputs(usage, asked ? stdout : stderr);
    return asked ? ARGS_OK : ARGS_USAGE;
}

int args_bad(const char *cmd, const char *usage, const char *why, const char *arg)
{
    if (arg)
        fprintf(stderr, "bootstorm %s: %s '%s'\n", cmd, why, arg);
    else
        fprintf(stderr, "bootstorm %s: %s\n", cmd, why);
    return args_usage(usage, 0);
}

int args_run_id(const char *cmd, const char *run)
{
    char err[256];
    if (ycfg_id_check("run id", run, err, sizeof err) == 0)
        return 0;
    fprintf(stderr, "bootstorm %s: %s\n", cmd, err);
    return -1;
}
