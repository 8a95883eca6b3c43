/* Guest profiles (guests/NAME.yaml, docs/GUESTS.md): how to launch one kind of
 * guest, which console lines mark its phases, and how "ready" is detected.
 * Parsing, argv rendering, image paths and the exit/HTTP status rules; not spawning
 * (procspawn.c) nor console matching (console.c). */
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
    int after;      /* index into markers[] that must have matched first, or -1 */
};

/* How "ready" is detected (key `ready`, docs/GUESTS.md). */
enum ready_kind {
    READY_CONSOLE,  /* ready: REGEX, or ready: {regex: R, after: MARKER} */
    READY_DEBUGCON, /* ready: {debugcon: BYTES}: BYTES on the isa-debugcon port's chardev */
    READY_HTTP,     /* ready: {http: {port: 80, path: /, guest_addr: 10.0.2.15, status: 200}} */
    READY_EXIT,     /* ready: {exit: true}: the guest exits with a status in exit_ok */
};

struct profile {
    char path[256];
    char name[BS_ID_MAX];
    char description[256];
    char status[16];   /* tested (default) | untested: "untested here", image brought by users */
    char kernel[256];  /* image file; relative paths are looked up in the images dir */
    char initrd[256];  /* optional image file, {initrd} */
    char disk[256];    /* optional image file, {disk} */
    int mem_mib;       /* default 16 */
    int vcpus;         /* default 1 */
    char accel[16];    /* auto (default): the scenario decides; kvm | tcg pin it */
    char cmdline[512]; /* kernel command line, {cmdline} in argv */
    char binary[64];   /* qemu.binary: default argv[0] of qemu.argv */
    char *argv[PROFILE_MAX_ARGS]; /* qemu argv template with {placeholders}; owned */
    int argc;
    char *proc_argv[PROFILE_MAX_ARGS]; /* process.argv: the process backend's command; owned */
    int proc_argc;
    char *proc_stop[PROFILE_MAX_ARGS]; /* process.stop: run once the guest is stopped; owned */
    int proc_stop_argc;
    char *proc_clean[PROFILE_MAX_ARGS]; /* process.clean: removes stale guests; owned */
    int proc_clean_argc;
    char
        *libvirt_xml; /* libvirt.xml: domain XML template with {placeholders}; owned, may be NULL */
    enum ready_kind ready_kind;
    struct profile_marker ready; /* READY_CONSOLE: the regex (and its `after`) */
    char ready_bytes[64];        /* READY_DEBUGCON */
    int http_port;               /* READY_HTTP: guest port, default 80 */
    char http_path[128];         /* default "/" */
    char http_addr[64];          /* guest address for the forward, default 10.0.2.15 */
    int http_status;             /* expected status, 0 (default) = any 2xx or 3xx */
    struct profile_marker markers[PROFILE_MAX_MARKERS]; /* phase markers, in order */
    int nmarkers;
    int exit_ok[PROFILE_MAX_EXIT_OK]; /* exit statuses that mean success */
    int nexit_ok;
    /* restore_ready: REGEX, a console line a clone restored from a snapshot prints once it
     * runs (docs/SNAPSHOTS.md); re NULL when absent, and then start snapshot | template is
     * refused */
    struct profile_marker restore_ready;
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

/* Values substituted into the argv template (and the libvirt XML template). */
struct profile_vars {
    const char *kernel;   /* {kernel}: absolute image path */
    const char *initrd;   /* {initrd}: absolute path, or NULL */
    const char *disk;     /* {disk}: absolute path, or NULL */
    const char *accel;    /* {accel}: kvm | tcg */
    const char *name;     /* {name}: a unique guest name, e.g. bs-RUN-7 */
    const char *debugcon; /* {debugcon}: chardev path of the debug port, e.g. /dev/fd/3 */
    const char *console;  /* {console}: console path for backends without stdio (libvirt) */
    int port;             /* {port}: a host port forwarded to the guest (0 if none) */
    const char *bindir;   /* {bindir}: the directory of bootstorm's own programs */
    const char *id;       /* {id}: {name} with its instance number fixed-width, e.g.
                             bs-RUN-000007: container ids never prefixes of each other */
    int pid;              /* {pid}: the guest process's pid (process.stop), else 0 */
};

/* Renders the argv template into argv (NULL-terminated, at most PROFILE_MAX_ARGS
 * entries), the strings stored in buf. Known placeholders: {kernel} {initrd} {disk}
 * {accel} {mem} {vcpus} {cmdline} {name} {port} {debugcon} {console} {guest_addr}
 * {guest_port} {bindir} {domain_type} (libvirt's domain type: kvm, or qemu for TCG) {id} {pid}.
 * Returns argc, or -1 if buf is too small. */
int profile_render_argv(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen);

/* The same for the process backend's argv template (process.argv). */
int profile_render_process(const struct profile *p, const struct profile_vars *v, char **argv,
                           char *buf, size_t buflen);

/* The same for process.stop and process.clean; 0 (argv[0] NULL) when the profile has none. */
int profile_render_stop(const struct profile *p, const struct profile_vars *v, char **argv,
                        char *buf, size_t buflen);
int profile_render_clean(const struct profile *p, const struct profile_vars *v, char **argv,
                         char *buf, size_t buflen);

/* Renders the libvirt XML template (same placeholders, values XML-escaped) into a
 * malloc'ed string the caller frees; NULL if the profile has none or on ENOMEM. */
char *profile_render_xml(const struct profile *p, const struct profile_vars *v);

/* True if status (a waitpid status already decoded to an exit code) means success. */
int profile_exit_ok(const struct profile *p, int code);

/* True if an HTTP status means ready: http.status when set, else any 2xx or 3xx. */
int profile_http_ok(const struct profile *p, long status);

/* The image file of p for key (kernel | initrd | disk); "" when it has none. */
const char *profile_image(const struct profile *p, const char *key);

/* The path of image key into out: override when not NULL (--image KEY=PATH), else the
 * profile's file, relative ones in images_dir; "" when there is none. Returns 0, or -1
 * with "KEY image PATH of profile NAME: why" in err when the file is not readable. */
int profile_image_path(const struct profile *p, const char *key, const char *images_dir,
                       const char *override, char *out, size_t len, char *err, size_t errlen);

#endif
