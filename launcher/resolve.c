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
        if (gp_image(&cfg->paths, &r->prof, keys[i], out[i], PATH_MAX, err, errlen) < 0)
            return -1;
    return 0;
}

/* Under auto: the probe's verdict, then what this host learnt about the profile. */
static int resolve_accel(const struct ev *start, const struct launcher_cfg *cfg, struct resolved *r,
                         char *err, size_t errlen)
{
    int fell_back;
    const char *want = accel_wanted(start->accel, &r->prof), *tcg_why;
    if (accel_choose(start->accel, &r->prof, !strcmp(start->backend, "process"), &cfg->kvm,
                     r->accel, sizeof r->accel, &fell_back, err, errlen) < 0)
        return -1; /* no host prefix: whoever shows the reason names the host */
    if (fell_back) {
        snprintf(r->accel_why, sizeof r->accel_why, "auto: KVM not usable (%.180s)", cfg->kvm.why);
        log_warn("run %s: %s: falling back to TCG", start->run, r->accel_why);
    } else if (!strcmp(want, "auto") && !strcmp(r->accel, "kvm") && cfg->memo &&
               (tcg_why = accel_memo_tcg(cfg->memo, r->prof.name))) {
        snprintf(r->accel, sizeof r->accel, "tcg");
        snprintf(r->accel_why, sizeof r->accel_why, "auto: %.40s fell back to TCG here (%.120s)",
                 r->prof.name, tcg_why);
        log_info("run %s: %s", start->run, r->accel_why);
    } else if (!strcmp(want, "auto") && !strcmp(r->accel, "kvm")) {
        r->auto_kvm = 1;
        snprintf(r->accel_why, sizeof r->accel_why, "auto: KVM probe booted");
    }
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

/* The profile has what the run's backend starts, or the run is refused here, once, with
 * the reason, instead of every guest failing at its spawn with it. */
static int resolve_backend(const struct ev *start, const struct profile *p, char *err,
                           size_t errlen)
{
    const char *b = start->backend, *need = NULL;
    if (!strcmp(b, "process") && !p->proc_argc)
        need = "process.argv";
    else if (!strcmp(b, "libvirt") && !p->libvirt_xml)
        need = "libvirt.xml";
    else if (!strcmp(b, "qemu") && !p->argc)
        need = "qemu.argv";
    if (!need)
        return 0;
    snprintf(err, errlen, "guest %s has no %s: the %s backend cannot start it%s", p->name, need, b,
             p->proc_argc ? " (it has process.argv: backend: process)" : "");
    return -1;
}

int resolve_run(const struct ev *start, const struct launcher_cfg *cfg, struct resolved *r,
                char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (gp_load(&cfg->paths, start->kind, &r->prof, err, errlen) < 0)
        return -1;
    if (resolve_backend(start, &r->prof, err, errlen) < 0 ||
        resolve_images(cfg, r, err, errlen) < 0 || resolve_accel(start, cfg, r, err, errlen) < 0 ||
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
