/* Which accelerator a guest runs under, the one rule for the launcher and `bootstorm
 * guests check`: the KVM probe (an openable /dev/kvm is no proof: a software KVM layer
 * may boot a trivial guest and fail a real one) and the choice kvm | tcg | none. */
#ifndef BS_ACCEL_H
#define BS_ACCEL_H

#include <stddef.h>

#include "console.h"
#include "profile.h"

/* Boots kernel (minkernel, exit mode) with -accel kvm and waits up to timeout_ms for
 * its ready line. Returns 1 if KVM works, else 0 with the reason in why. */
int accel_probe_kvm(const char *kernel, int timeout_ms, char *why, size_t whylen);

/* What the KVM probe found. */
struct accel_kvm {
    int ok;
    char why[256]; /* why KVM is not used, when it is not */
};

/* What is asked for a guest of p: the profile's pin (accel: kvm|tcg) wins over asked
 * (kvm|tcg|auto, or NULL / "" for auto). Tells a caller whether KVM must be probed. */
const char *accel_wanted(const char *asked, const struct profile *p);

/* Chooses the accelerator of a guest of p into out (kvm, tcg, or none for the process
 * backend): the profile's pin (accel: kvm|tcg) wins over asked (kvm|tcg|auto, from the
 * scenario or --accel); auto is kvm when k->ok, else tcg (*fell_back set to 1). Returns
 * 0, or -1 with the reason in err when kvm is needed and k says it is not usable. */
int accel_choose(const char *asked, const struct profile *p, int process_backend,
                 const struct accel_kvm *k, char *out, size_t outlen, int *fell_back, char *err,
                 size_t errlen);

/* ---- auto, per guest: KVM where this guest runs under it ----
 * A host's KVM may boot the probe and still fail a real guest (a software KVM layer:
 * "KVM internal error", QEMU dying in its KVM code, or a guest that never prints).
 * Under auto, the first such failure of a profile makes it TCG on this host. */

#define ACCEL_KVM_SILENT_NS (10LL * 1000000000LL) /* no console byte this long: KVM failed */

/* Why a guest running under KVM chosen by auto failed because of KVM, or NULL when
 * nothing says so. err: the VMM's stderr tail; gone: the VMM exited before ready;
 * silent_ns: how long it has run without one console byte (0 once it printed). */
const char *accel_kvm_failure(const struct console_tail *err, int gone, int64_t silent_ns);

/* True when a silent console means something for p: it is read for readiness or
 * markers (a guest ready by the debug port, HTTP or its exit may print nothing). */
int accel_silence_counts(const struct profile *p);

#define ACCEL_MEMO_MAX 64

/* What this host learnt about profiles under auto, for the life of a launcher (or one
 * guests check). Zero it before use. */
struct accel_memo {
    int n;
    struct {
        char prof[64];
        char why[192]; /* why the profile is TCG here */
    } e[ACCEL_MEMO_MAX];
};

/* Why prof fell back to TCG on this host, or NULL when it did not. */
const char *accel_memo_tcg(const struct accel_memo *m, const char *prof);

/* Remembers that prof runs under TCG here because of why (first reason kept). */
void accel_memo_set_tcg(struct accel_memo *m, const char *prof, const char *why);

#endif
