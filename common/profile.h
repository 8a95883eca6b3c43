/* Guest profiles (guests/NAME.yaml, docs/GUESTS.md): how to launch one kind of
 * guest, which console lines mark its phases, and how "ready" is detected.
 * Parsing and argv rendering only; spawning is the launcher's backends' job. */
#ifndef BS_PROFILE_H
#define BS_PROFILE_H

#include <pcre2.h>
#include <stddef.h>

#include "event.h"

#define PROFILE_MAX_ARGS 64
#define PROFILE_MAX_MARKERS 16
#define PROFILE_MAX_EXIT_OK 8

struct profile_marker {
    char name[64];
    char pattern[256];
    pcre2_code *re; /* compiled pattern; owned by the profile */
};

struct profile {
    char path[256];
    char name[BS_ID_MAX];
    char description[256];
    char kernel[256];      /* image file; relative paths are looked up in the images dir */
    int mem_mib;           /* default 16 */
    int vcpus;             /* default 1 */
    char accel[16];        /* auto (default): the scenario decides; kvm | tcg pin it */
    char cmdline[512];     /* kernel command line, {cmdline} in argv */
    char *argv[PROFILE_MAX_ARGS]; /* qemu argv template with {placeholders}; owned */
    int argc;
    struct profile_marker ready;  /* console regex that means ready; required */
    struct profile_marker markers[PROFILE_MAX_MARKERS]; /* phase markers, in order */
    int nmarkers;
    int exit_ok[PROFILE_MAX_EXIT_OK]; /* exit statuses that mean success */
    int nexit_ok;
};

/* Parses the profile at path. Missing required keys (name, kernel, qemu.argv,
 * ready), unknown keys, unknown {placeholders} and regexes that do not compile are
 * errors: returns -1 with "PATH:LINE: key 'K': what is wrong" in err. On success
 * returns 0 and p owns memory released by profile_free(). */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

/* Loads DIR/NAME.yaml. */
int profile_load_named(const char *dir, const char *name, struct profile *p, char *err,
                       size_t errlen);

void profile_free(struct profile *p);

/* Values substituted into the argv template. */
struct profile_vars {
    const char *kernel;  /* {kernel}: absolute image path */
    const char *accel;   /* {accel}: kvm | tcg */
    const char *name;    /* {name}: a unique guest name, e.g. bs-RUN-7 */
    int port;            /* {port}: a host port forwarded to the guest (0 if none) */
};

/* Renders the argv template into argv (NULL-terminated, at most PROFILE_MAX_ARGS
 * entries), the strings stored in buf. Known placeholders: {kernel} {accel} {mem}
 * {vcpus} {cmdline} {name} {port}. Returns argc, or -1 if buf is too small. */
int profile_render_argv(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen);

/* True if status (a waitpid status already decoded to an exit code) means success. */
int profile_exit_ok(const struct profile *p, int code);

#endif
