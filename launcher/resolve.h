/* The resolve step of a start command: the guest profile, its image paths, the
 * accelerator and the launch pattern, checked before anything is spawned. Uses the
 * rules guests check uses too (profile.c, accel.c). Not for running anything (run.c). */
#ifndef BS_RESOLVE_H
#define BS_RESOLVE_H

#include <limits.h>
#include <stddef.h>

#include "accel.h"
#include "event.h"
#include "guestpath.h"
#include "profile.h"
#include "sched.h"

struct launcher_cfg {
    char host[BS_ID_MAX];
    struct guest_paths paths; /* where profiles and images are found */
    char bindir[512];         /* where bootstorm's own programs are ({bindir}) */
    char libvirt_uri[256];    /* for the libvirt backend */
    struct accel_kvm kvm;     /* what the KVM probe found at start-up */
    struct accel_memo *memo;  /* profiles that fell back to TCG here (launcher's life) */
    int prio_raised;          /* the launcher runs at a raised priority (nice < 0) */
};

struct resolved {
    struct profile prof;
    char kernel[PATH_MAX], initrd[PATH_MAX], disk[PATH_MAX]; /* "" when none */
    char accel[16];                                          /* kvm | tcg | none */
    int auto_kvm;        /* kvm chosen by auto: a KVM failure of a guest falls back to TCG */
    char accel_why[224]; /* why accel is what it is, for the log ("" when asked so) */
    struct sched_cfg sched;
};

/* Fills r for start on this launcher. Returns 0 (r owns the profile: resolve_free),
 * or -1 with the reason in err and nothing to free. */
int resolve_run(const struct ev *start, const struct launcher_cfg *cfg, struct resolved *r,
                char *err, size_t errlen);

void resolve_free(struct resolved *r);

#endif
