/* Is KVM usable here? An openable /dev/kvm is no proof (a software KVM layer may
 * boot a trivial guest and fail a real one), so this boots minkernel under KVM once. */
#ifndef BS_ACCEL_H
#define BS_ACCEL_H

#include <stddef.h>

/* Boots kernel (minkernel, exit mode) with -accel kvm and waits up to timeout_ms for
 * its ready line and exit. Returns 1 if KVM works, else 0 with the reason in why. */
int accel_probe_kvm(const char *kernel, int timeout_ms, char *why, size_t whylen);

#endif
