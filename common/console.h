/* What a guest writes, read the one way the launcher and `bootstorm guests check` both
 * use: console lines (partial ones matched too), markers once each in `after:` order,
 * the ready regex; ready bytes on the debug port; QEMU's stderr tail.
 * Not for reading fds or timestamps (callers) nor for what a match means
 * (run_guest.c, cmd_guests.c). */
#ifndef BS_CONSOLE_H
#define BS_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "profile.h"

#define CONSOLE_LINE_MAX 512 /* longer lines are cut into pieces of this size minus one */
#define CONSOLE_DEBUG_KEEP 64
#define CONSOLE_TAIL_MAX 600

/* What the matcher found; every callback may be NULL. ctx is the caller's. */
struct console_cb {
    void (*first_output)(void *ctx);
    void (*marker)(void *ctx, int m); /* profile marker m matched (once per console) */
    void (*ready)(void *ctx);         /* READY_CONSOLE's regex matched (once) */
    /* A whole line (newline and trailing CRs removed, NULs made spaces), or a piece
     * of CONSOLE_LINE_MAX - 1 bytes of a longer one. */
    void (*line)(void *ctx, const char *s, size_t len);
};

/* One guest's console: zero it (console_reset) before its first bytes. */
struct console {
    uint32_t seen; /* markers matched, bit m for marker m */
    int ready, got_output;
    size_t linelen;
    char line[CONSOLE_LINE_MAX];
};

/* Match data shared by every console of one profile; p must outlive it. */
struct console_matcher {
    const struct profile *p;
    pcre2_match_data *md;
};

/* Returns 0, or -1 when out of memory. */
int console_matcher_init(struct console_matcher *m, const struct profile *p);
void console_matcher_free(struct console_matcher *m);

void console_reset(struct console *c);

/* Feeds n bytes read from the console. Each line, and the partial line at the end of
 * the bytes (a prompt never ends in a newline), is matched against the markers not
 * seen yet whose `after` marker has matched, then against the ready regex (after its
 * own `after`). Callbacks run in that order, synchronously. */
void console_feed(const struct console_matcher *m, struct console *c, const char *p, size_t n,
                  const struct console_cb *cb, void *ctx);

/* The bytes of an unfinished line so far ("" when none), NUL-terminated. */
const char *console_partial(struct console *c);

/* The debug port: the newest CONSOLE_DEBUG_KEEP bytes. */
struct console_debug {
    size_t len;
    char buf[CONSOLE_DEBUG_KEEP];
};

/* Feeds debug-port bytes; returns 1 once the bytes want (at most CONSOLE_DEBUG_KEEP)
 * have arrived, split across any number of reads, else 0. */
int console_debug_feed(struct console_debug *d, const char *want, const char *p, size_t n);

/* The last bytes of a stream (QEMU's stderr: its last words explain a crash). */
struct console_tail {
    size_t len;
    int kvm_error; /* "KVM internal error" was seen, even if it has left buf since (QEMU
                      follows it with a register dump longer than the tail) */
    char buf[CONSOLE_TAIL_MAX];
};

/* Appends, keeping the newest CONSOLE_TAIL_MAX - 1 bytes, NUL-terminated; sets
 * kvm_error once the phrase appears, also when split across two calls. */
void console_tail_add(struct console_tail *t, const char *p, size_t n);

/* The tail on one line (newlines and CRs made spaces), for an error detail. */
const char *console_tail_oneline(struct console_tail *t);

#endif
