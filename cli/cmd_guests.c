/* `bootstorm guests list|check`: the guest profiles found, their image files, and a
 * one-guest boot printing the phase timeline, read by the launcher's own rules (console.c,
 * accel.c, probe_http.c, procspawn.c). A sanity check before a storm: no collector, no Redis. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "accel.h"
#include "clock.h"
#include "cmd.h"
#include "console.h"
#include "guestpath.h"
#include "numarg.h"
#include "paths.h"
#include "ports.h"
#include "probe_http.h"
#include "procspawn.h"
#include "profile.h"

static const char *ready_name(const struct profile *p)
{
    switch (p->ready_kind) {
    case READY_CONSOLE:
        return "console";
    case READY_DEBUGCON:
        return "debugcon";
    case READY_HTTP:
        return "http";
    case READY_EXIT:
        return "exit";
    }
    return "?";
}

/* One row of guests list: status, ready kind, image files found, backend. */
static int list_one(const struct guest_paths *gp, const char *name)
{
    static const char *const keys[] = {"kernel", "initrd", "disk"};
    struct profile p;
    char err[512], path[PATH_MAX], imgs[1024] = "";
    if (gp_load(gp, name, &p, err, sizeof err) < 0) {
        printf("%-20s %-9s %-9s %s\n", name, "INVALID", "-", err);
        return -1;
    }
    for (int k = 0; k < 3; k++) {
        char why[512];
        int readable = gp_image(gp, &p, keys[k], path, sizeof path, why, sizeof why) == 0;
        if (!profile_image(&p, keys[k])[0])
            continue;
        size_t used = strlen(imgs);
        snprintf(imgs + used, sizeof imgs - used, "%s%s=%s (%s)", used ? ", " : "", keys[k],
                 profile_image(&p, keys[k]), readable ? "present" : "missing");
    }
    printf("%-20s %-9s %-9s %s%s%s\n", p.name, p.status, ready_name(&p), imgs,
           imgs[0] && !p.argc ? " " : "",
           p.argc        ? ""
           : p.proc_argc ? "[process backend]"
                         : "[libvirt only]");
    profile_free(&p);
    return 0;
}

static int guests_list(const struct guest_paths *gp)
{
    char known[8192];
    int bad = 0;
    gp_known(gp, known, sizeof known);
    printf("%-20s %-9s %-9s %s\n", "NAME", "STATUS", "READY", "IMAGES");
    for (char *name = strtok(known, ", "); name; name = strtok(NULL, ", "))
        bad |= list_one(gp, name) < 0;
    printf("guests folders:");
    for (int i = 0; i < gp->nguests; i++)
        printf(" %s", gp->guests[i]);
    printf("\nimages folders:");
    for (int i = 0; i < gp->nimages; i++)
        printf(" %s", gp->images[i]);
    printf("\n");
    return bad ? 1 : 0;
}

/* ---- check: one guest ---- */

struct check_opts {
    struct guest_paths *gp;
    const char *accel; /* --accel, or NULL: the profile's, else auto */
    double timeout_s;
    int print_console;
    const char *name;
};

struct check {
    struct profile p;
    struct console_matcher m;
    struct console con;
    struct console_debug dbg;
    struct console_tail tail; /* qemu's stderr, last bytes */
    struct spawned sp;
    struct http_prober *hp;
    mono_ns t0, deadline, next_probe;
    int ready, print_console, exited, code;
    char img[3][PATH_MAX];  /* kernel, initrd, disk ("" when none) */
    int port;               /* READY_HTTP: the forwarded host port */
    long http_status;       /* the last status the probe saw, 0 if none */
    int auto_kvm;           /* kvm chosen by auto: a KVM failure retries under TCG */
    const char *kvm_failed; /* why KVM failed this guest (accel_kvm_failure), or NULL */
};

static void at(const struct check *c, const char *what, const char *detail)
{
    double ms = (double)mono_diff(c->t0, clock_mono()) / 1e6;
    printf("%9.1f ms  %s%s%s\n", ms, what, detail ? " " : "", detail ? detail : "");
    fflush(stdout);
}

static void became_ready(struct check *c, const char *how)
{
    if (c->ready)
        return;
    c->ready = 1;
    at(c, "ready", how);
}

static void con_first(void *ctx)
{
    at(ctx, "first_output", NULL);
}

static void con_marker(void *ctx, int m)
{
    struct check *c = ctx;
    at(c, "marker", c->p.markers[m].name);
}

static void con_ready(void *ctx)
{
    became_ready(ctx, "(console)");
}

/* A console line as printable text: a guest's CRs ("\n\r" line ends), escape
 * sequences and other control bytes would move the terminal's cursor back over the
 * timeline and leave stale bytes of it on screen; they are shown as '.'. */
static void printable(char *out, size_t outlen, const char *s, size_t len)
{
    size_t n = 0;
    while (len && *s == '\r') {
        s++;
        len--;
    }
    for (size_t i = 0; i < len && n + 1 < outlen; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[n++] = ch == '\t' || (ch >= 0x20 && ch != 0x7f) ? (char)ch : '.';
    }
    out[n] = '\0';
}

static void con_line(void *ctx, const char *s, size_t len)
{
    struct check *c = ctx;
    char line[CONSOLE_LINE_MAX];
    if (c->print_console) {
        printable(line, sizeof line, s, len);
        at(c, "|", line);
    }
}

/* --console: the line the guest had not finished when the check ended. */
static void con_rest(struct check *c)
{
    char line[CONSOLE_LINE_MAX];
    if (!c->print_console || !c->con.linelen)
        return;
    printable(line, sizeof line, c->con.line, c->con.linelen);
    at(c, "| (no newline yet)", line);
}

static const struct console_cb check_cb = {con_first, con_marker, con_ready, con_line};

/* The HTTP probe (common/probe_http.c) calls back here. */
static void http_done(void *ctx, int idx, long status)
{
    struct check *c = ctx;
    (void)idx;
    c->http_status = status;
    if (profile_http_ok(&c->p, status)) {
        char d[200];
        snprintf(d, sizeof d, "(http %ld on 127.0.0.1:%d%s)", status, c->port, c->p.http_path);
        became_ready(c, d);
    }
}

static void usage_check(FILE *f)
{
    fprintf(f, "usage: bootstorm guests check NAME [--image NAME=PATH ...] [--accel kvm|tcg|auto]\n"
               "                              [--timeout-s S] [--console] [--guests-dir DIR]\n"
               "                              [--images-dir DIR]\n");
}

/* Returns 0 to go on, 1 on a usage error, 2 after --help. */
static int parse_check(int argc, char **argv, struct check_opts *o)
{
    static const struct option opts[] = {{"image", required_argument, 0, 'i'},
                                         {"accel", required_argument, 0, 'a'},
                                         {"timeout-s", required_argument, 0, 't'},
                                         {"console", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    char err[256];
    int opt;
    optind = 0; /* GNU getopt: full re-initialisation; NAME may come before the options */
    while ((opt = getopt_long(argc, argv, "i:a:t:ch", opts, NULL)) != -1) {
        if (opt == 'i' && gp_add_image(o->gp, optarg, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm guests check: %s\n", err);
            return 1;
        }
        if (opt == 'a' && strcmp(optarg, "kvm") && strcmp(optarg, "tcg") &&
            strcmp(optarg, "auto")) {
            fprintf(stderr, "bootstorm guests check: --accel expects kvm|tcg|auto\n");
            return 1;
        }
        if (opt == 'a')
            o->accel = optarg;
        if (opt == 't' && numarg_double("--timeout-s", optarg, 0.001, 86400, &o->timeout_s, err,
                                        sizeof err) < 0) {
            fprintf(stderr, "bootstorm guests check: %s\n", err);
            return 1;
        }
        o->print_console |= opt == 'c';
        if (opt == 'h' || opt == '?') {
            usage_check(opt == 'h' ? stdout : stderr);
            return opt == 'h' ? 2 : 1;
        }
    }
    if (optind != argc - 1) {
        usage_check(stderr);
        return 1;
    }
    o->name = argv[optind];
    return 0;
}

/* The accelerator by the launcher's rule (accel.c); KVM is probed only when it may be
 * chosen, by the same minkernel boot as the launcher's. */
static int check_accel(struct check *c, const struct check_opts *o, char *out, size_t outlen)
{
    struct accel_kvm k = {0};
    char kernel[PATH_MAX + 32], err[512];
    int fell_back;
    const char *want = accel_wanted(o->accel, &c->p);
    if (strcmp(want, "tcg")) {
        gp_image_file(o->gp, "minkernel.elf", kernel, sizeof kernel);
        k.ok = accel_probe_kvm(kernel, 5000, k.why, sizeof k.why);
    }
    if (accel_choose(want, &c->p, 0, &k, out, outlen, &fell_back, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        return -1;
    }
    if (fell_back)
        printf("KVM not usable (%s): TCG\n", k.why);
    c->auto_kvm = !strcmp(want, "auto") && !strcmp(out, "kvm");
    return 0;
}

/* Image paths and the accelerator, once per check. */
static int check_prepare(struct check *c, const struct check_opts *o, char *accel, size_t accellen)
{
    static const char *const keys[] = {"kernel", "initrd", "disk"};
    char err[PATH_MAX + 256];
    for (int i = 0; i < 3; i++)
        if (gp_image(o->gp, &c->p, keys[i], c->img[i], sizeof c->img[i], err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm guests check: %s%s\n", err,
                    !strncmp(c->p.name, "linux", 5) ? " (built by guests/linux/build.sh)" : "");
            return -1;
        }
    if (!c->p.argc) { /* the process backend: a command, no accelerator to choose */
        snprintf(accel, accellen, "none");
        return 0;
    }
    return check_accel(c, o, accel, accellen);
}

/* The guest's argv under accel (qemu.argv, or process.argv), strings in buf; a free
 * port for HTTP readiness. */
static int check_render(struct check *c, const char *accel, char **argv, char *buf, size_t buflen)
{
    char bindir[PATH_MAX];
    struct profile_vars v = {.kernel = c->img[0],
                             .initrd = c->img[1][0] ? c->img[1] : NULL,
                             .disk = c->img[2][0] ? c->img[2] : NULL,
                             .accel = accel,
                             .name = "bs-check",
                             .bindir = path_in_prefix(bindir, sizeof bindir, "bin"),
                             .debugcon =
                                 c->p.ready_kind == READY_DEBUGCON ? SPAWN_DEBUG_PATH : NULL};
    if (c->p.ready_kind == READY_HTTP &&
        ((c->port = v.port = port_free_tcp()) <= 0 || (!c->hp && !(c->hp = http_prober_new())))) {
        fprintf(stderr, "bootstorm guests check: no free TCP port or no HTTP probe\n");
        return -1;
    }
    int n = c->p.argc ? profile_render_argv(&c->p, &v, argv, buf, buflen)
                      : profile_render_process(&c->p, &v, argv, buf, buflen);
    if (n < 0) {
        fprintf(stderr, "bootstorm guests check: the argv of %s does not fit\n", c->p.name);
        return -1;
    }
    return 0;
}

/* Reads what fd holds now into the console, the debug matcher or the stderr tail. */
static void check_read(struct check *c, int fd)
{
    char rb[4096];
    ssize_t n;
    while (fd >= 0 && (n = read(fd, rb, sizeof rb)) > 0) {
        if (fd == c->sp.console_fd)
            console_feed(&c->m, &c->con, rb, (size_t)n, &check_cb, c);
        else if (fd == c->sp.stderr_fd)
            console_tail_add(&c->tail, rb, (size_t)n);
        else if (console_debug_feed(&c->dbg, c->p.ready_bytes, rb, (size_t)n))
            became_ready(c, "(debugcon)");
    }
}

static void check_probe(struct check *c)
{
    if (!c->hp) /* one GET at a time; QEMU's forwarder answers before the guest listens */
        return;
    if (!http_prober_active(c->hp) && mono_diff(c->next_probe, clock_mono()) >= 0) {
        http_probe_start(c->hp, 0, c->port, c->p.http_path, HTTP_PROBE_TIMEOUT_MS);
        c->next_probe = mono_add(clock_mono(), HTTP_PROBE_RETRY_MS * NS_PER_MS);
    }
    http_prober_poll(c->hp, http_done, c);
}

/* The guest exited: read what it wrote last; an exit status may be its ready. */
static void check_exited(struct check *c, int status)
{
    c->exited = 1;
    c->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    check_read(c, c->sp.console_fd);
    check_read(c, c->sp.stderr_fd);
    if (c->p.ready_kind == READY_EXIT && WIFEXITED(status) && profile_exit_ok(&c->p, c->code)) {
        char d[32];
        snprintf(d, sizeof d, "(exit status %d)", c->code);
        became_ready(c, d);
    }
}

/* KVM failed a guest it was chosen for by auto (accel_kvm_failure), or one asked to
 * run under KVM hit a KVM internal error: stop waiting. */
static int check_kvm_failed(struct check *c)
{
    if (!c->auto_kvm)
        return c->tail.kvm_error;
    if (!c->kvm_failed && !c->ready)
        c->kvm_failed = accel_kvm_failure(
            &c->tail, c->exited,
            c->con.got_output || !accel_silence_counts(&c->p) ? 0 : mono_diff(c->t0, clock_mono()));
    return c->kvm_failed != NULL;
}

/* Until ready, exit, the deadline, or KVM failing the guest (QEMU may stay up, paused,
 * after a "KVM internal error"; a guest may also never print under a broken KVM). */
static void check_wait(struct check *c)
{
    int status;
    while (!c->ready) {
        struct pollfd pf[3] = {{.fd = c->sp.console_fd, .events = POLLIN},
                               {.fd = c->sp.stderr_fd, .events = POLLIN},
                               {.fd = c->sp.debug_fd, .events = POLLIN}};
        if (poll(pf, 3, 10) < 0 && errno != EINTR)
            return;
        for (int i = 0; i < 3 && !c->ready; i++)
            if (pf[i].revents)
                check_read(c, pf[i].fd);
        if (!c->ready)
            check_probe(c);
        if (!c->ready && waitpid(c->sp.pid, &status, WNOHANG) == c->sp.pid) {
            check_exited(c, status);
            check_kvm_failed(c);
            return;
        }
        if (mono_diff(c->deadline, clock_mono()) > 0 || check_kvm_failed(c))
            return;
    }
}

static void check_verdict(struct check *c, double timeout_s)
{
    const char *what = c->p.argc ? "qemu" : c->p.proc_argv[0];
    if (c->ready)
        return;
    if (c->kvm_failed || c->tail.kvm_error) {
        printf("not ready: %s (this host's KVM cannot run this guest; try --accel tcg)\n",
               c->kvm_failed ? c->kvm_failed : "KVM internal error");
    } else if (c->exited) {
        printf("not ready: %s exited with status %d before ready%s%s\n", what, c->code,
               c->tail.len ? "; its stderr:\n" : "", c->tail.buf);
    } else {
        printf("not ready: timeout after %.0f s%s%s%s\n", timeout_s,
               c->p.ready_kind == READY_HTTP && c->http_status ? " (last HTTP status differs)" : "",
               c->tail.len ? "; stderr of " : "", c->tail.len ? what : "");
        if (c->tail.len)
            printf("%s\n", c->tail.buf);
        if (c->con.linelen)
            printf("last console output: %s\n", console_partial(&c->con));
    }
}

/* Stops the guest (if it still runs) and closes its fds: ready for another boot. */
static void check_stop(struct check *c)
{
    if (c->sp.pid > 0 && !c->exited) { /* a guest in service mode runs forever: stop it */
        kill(c->sp.pid, SIGKILL);
        waitpid(c->sp.pid, NULL, 0);
    }
    int *fds[] = {&c->sp.console_fd, &c->sp.stderr_fd, &c->sp.debug_fd};
    for (int i = 0; i < 3; i++)
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    c->sp.pid = -1;
}

static void check_free(struct check *c)
{
    check_stop(c);
    http_prober_free(c->hp);
    console_matcher_free(&c->m);
    profile_free(&c->p);
}

/* One boot under accel, to ready, failure, or KVM failing it. Returns 0, or -1 when it
 * could not be started. */
static int check_boot(struct check *c, const struct check_opts *o, const char *accel)
{
    char *qargv[PROFILE_MAX_ARGS + 1], buf[16384], err[512];
    if (check_render(c, accel, qargv, buf, sizeof buf) < 0)
        return -1;
    console_reset(&c->con);
    memset(&c->dbg, 0, sizeof c->dbg);
    memset(&c->tail, 0, sizeof c->tail);
    c->exited = 0;
    c->t0 = c->next_probe = clock_mono();
    c->deadline = mono_add(c->t0, (int64_t)(o->timeout_s * 1e9));
    at(c, "spawn", NULL);
    if (spawn_process(qargv, c->p.ready_kind == READY_DEBUGCON, &c->sp, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        return -1;
    }
    check_wait(c);
    return 0;
}

/* Boots the guest, then runs it to ready (exit 0) or to its failure (exit 1). Under
 * auto, a guest KVM fails is booted again under TCG at once, as a launcher does. */
static int check_run(struct check *c, const struct check_opts *o)
{
    char accel[16];
    if (!c->p.argc && !c->p.proc_argc) {
        fprintf(stderr,
                "bootstorm guests check: %s runs through libvirt only; check boots "
                "qemu and process-backend guests\n",
                c->p.name);
        return 1;
    }
    if (console_matcher_init(&c->m, &c->p) < 0 || check_prepare(c, o, accel, sizeof accel) < 0)
        return 1;
    printf("guest %s (%s, ready by %s), %s %s, timeout %.0f s\n", c->p.name, c->p.status,
           ready_name(&c->p), c->p.argc ? "accel" : "process backend, accel", accel, o->timeout_s);
    if (check_boot(c, o, accel) < 0)
        return 1;
    if (c->kvm_failed) {
        printf("KVM failed this guest (%s): accel auto retries it under TCG\n", c->kvm_failed);
        check_stop(c);
        c->auto_kvm = 0;
        c->kvm_failed = NULL;
        if (check_boot(c, o, "tcg") < 0)
            return 1;
    }
    con_rest(c);
    check_verdict(c, o->timeout_s);
    return c->ready ? 0 : 1;
}

static int guests_check(int argc, char **argv, struct guest_paths *gp)
{
    struct check_opts o = {.gp = gp, .timeout_s = 60};
    char err[1400];
    int rc = parse_check(argc, argv, &o);
    if (rc)
        return rc == 2 ? 0 : 1;
    if (gp_finish(gp, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        return 1;
    }
    struct check c = {.print_console = o.print_console,
                      .sp = {.pid = -1, .console_fd = -1, .stderr_fd = -1, .debug_fd = -1}};
    if (gp_load(gp, o.name, &c.p, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        return 1;
    }
    rc = check_run(&c, &o);
    check_free(&c);
    return rc;
}

static const char guests_usage[] =
    "usage: bootstorm guests list [--guests DIR] [--images DIR]\n"
    "       bootstorm guests check NAME [--image NAME=PATH ...] [--accel kvm|tcg|auto]\n"
    "                              [--timeout-s S] [--console] [--guests DIR] [--images DIR]\n"
    "  --guests DIR, --images DIR  looked up first (also BOOTSTORM_GUESTS, BOOTSTORM_IMAGES),\n"
    "                              then the built-in folders (--guests-dir, --images-dir: same)\n";

/* --guests[-dir] DIR / --images[-dir] DIR anywhere after the subcommand, taken out
 * before the rest is parsed. Returns the new argc, or -1 (printed). */
static int take_dirs(int argc, char **argv, struct guest_paths *gp)
{
    char err[512];
    int n = 0;
    for (int i = 0; i < argc; i++) {
        int g = !strcmp(argv[i], "--guests-dir") || !strcmp(argv[i], "--guests");
        int im = !strcmp(argv[i], "--images-dir") || !strcmp(argv[i], "--images");
        if ((g || im) && i + 1 < argc) {
            if ((g ? gp_add_guests : gp_add_images)(gp, argv[++i], err, sizeof err) < 0) {
                fprintf(stderr, "bootstorm guests: %s\n", err);
                return -1;
            }
            continue;
        }
        argv[n++] = argv[i];
    }
    return n;
}

int cmd_guests(int argc, char **argv)
{
    static struct guest_paths gp;
    char err[512];
    if ((argc = take_dirs(argc, argv, &gp)) < 0)
        return 1;
    if (argc >= 2 && !strcmp(argv[1], "list")) {
        if (gp_finish(&gp, err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm guests list: %s\n", err);
            return 1;
        }
        return guests_list(&gp);
    }
    if (argc >= 2 && !strcmp(argv[1], "check"))
        return guests_check(argc - 1, argv + 1, &gp);
    int help = argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"));
    fputs(guests_usage, help ? stdout : stderr);
    return help ? 0 : 1;
}
