/* The resolve step (resolve.h): profile, images, accelerator, pattern. Everything a
 * start command can get wrong is found here, before a guest or a thread exists. */
#include "resolve.h"

#include <stdio.h>
#include <string.h>

#include "log.h"

static int resolve_images(const struct launcher_cfg *cfg, struct resolved *r, char *err,
                          size_t errlen)
{
    char *out[] = {r->kernel, r->initrd, r->disk};
    static const char *const keys[] = {"kernel", "initrd", "disk"};
    for (int i = 0; i < 3; i++)
        if (profile_image_path(&r->prof, keys[i], cfg->images_dir, NULL, out[i], PATH_MAX, err,
                               errlen) < 0)
            return -1;
    return 0;
}

static int resolve_accel(const struct ev *start, const struct launcher_cfg *cfg, struct resolved *r,
                         char *err, size_t errlen)
{
    int fell_back;
    char why[384];
    if (accel_choose(start->accel, &r->prof, !strcmp(start->backend, "process"), &cfg->kvm,
                     r->accel, sizeof r->accel, &fell_back, why, sizeof why) < 0) {
        snprintf(err, errlen, "%s (on %s)", why, cfg->host);
        return -1;
    }
    if (fell_back)
        log_warn("run %s: KVM not usable (%s): falling back to TCG", start->run, cfg->kvm.why);
    return 0;
}

/* v * unit into *ns, refusing a product that does not fit (issue 11: decoded integers
 * are range-checked before arithmetic, whatever the decoder's table allows). */
static int to_ns(int64_t v, int64_t unit, const char *key, int64_t *ns, char *err, size_t errlen)
{
    if (v < 0 || __builtin_mul_overflow(v, unit, ns)) {
        snprintf(err, errlen, "start: %s = %lld is out of range", key, (long long)v);
        return -1;
    }
    return 0;
}

/* The pattern's numbers in the scheduler's units. */
static int resolve_pattern(const struct ev *start, struct sched_cfg *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->count = start->count;
    c->concurrency = (int)start->concurrency;
    c->restart_permille = (int)start->restart_permille;
    if ((!strcmp(start->pattern, "interval") &&
         to_ns(start->interval_ms, NS_PER_MS, "interval_ms", &c->interval_ns, err, errlen) < 0) ||
        to_ns(start->hold_s, NS_PER_S, "hold_s", &c->hold_ns, err, errlen) < 0 ||
        to_ns(start->restart_after_ms, NS_PER_MS, "restart_after_ms", &c->restart_after_ns, err,
              errlen) < 0)
        return -1;
    if (!strcmp(start->pattern, "ramp") && sched_parse_ramp(c, start->ramp, err, errlen) < 0)
        return -1;
    return sched_check_cfg(c, err, errlen);
}

int resolve_run(const struct ev *start, const struct launcher_cfg *cfg, struct resolved *r,
                char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (profile_load_named(cfg->guests_dir, start->kind, &r->prof, err, errlen) < 0)
        return -1;
    if (resolve_images(cfg, r, err, errlen) < 0 || resolve_accel(start, cfg, r, err, errlen) < 0 ||
        resolve_pattern(start, &r->sched, err, errlen) < 0) {
        profile_free(&r->prof);
        return -1;
    }
    return 0;
}

void resolve_free(struct resolved *r)
{
    profile_free(&r->prof);
}
