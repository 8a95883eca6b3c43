/* `bootstorm guests list|check`: the guest profiles found, their image files, and a
 * one-guest boot (started like a launcher's guest, common/procspawn.c; HTTP by common/probe_http.c)
 * printing the phase timeline. A sanity check before a storm: no collector, no Redis, one guest. */
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

#include "clock.h"
#include "cmd.h"
#include "profile.h"
#include "paths.h"
#include "ports.h"
#include "probe_http.h"
#include "procspawn.h"

#define LINE_BYTES 1024
#define TAIL_BYTES 600
#define MAX_IMAGES 8

extern char **environ;

struct images {
    const char *key[MAX_IMAGES], *path[MAX_IMAGES];
    int n;
};

/* The path of image KEY (kernel|initrd|disk) of p: --image KEY=PATH, else the
 * profile's file, relative ones in images_dir. "" when the profile has none. */
static void image_path(const struct profile *p, const struct images *im, const char *images_dir,
                       const char *key, char *out, size_t len)
{
    const char *file = !strcmp(key, "kernel")   ? p->kernel
                       : !strcmp(key, "initrd") ? p->initrd
                                                : p->disk;
    for (int i = 0; i < im->n; i++)
        if (!strcmp(im->key[i], key)) {
            snprintf(out, len, "%s", im->path[i]);
            return;
        }
    if (!file[0])
        out[0] = '\0';
    else if (file[0] == '/')
        snprintf(out, len, "%s", file);
    else
        snprintf(out, len, "%s/%s", images_dir, file);
}

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

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int guests_list(const char *guests_dir, const char *images_dir)
{
    DIR *d = opendir(guests_dir);
    char *names[512];
    int n = 0, bad = 0;
    static const char *const keys[] = {"kernel", "initrd", "disk"};

    if (!d) {
        fprintf(stderr, "bootstorm guests list: %s: %s\n", guests_dir, strerror(errno));
        return 1;
    }
    for (struct dirent *e; (e = readdir(d)) && n < 512;) {
        size_t len = strlen(e->d_name);
        if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
            names[n++] = strndup(e->d_name, len - 5);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_str);
    printf("%-20s %-9s %-9s %s\n", "NAME", "STATUS", "READY",
           "IMAGES (in "
           "images dir)");
    for (int i = 0; i < n; i++) {
        struct profile p;
        char err[512], path[PATH_MAX], imgs[1024] = "";
        struct images none = {.n = 0};
        if (!names[i] || profile_load_named(guests_dir, names[i], &p, err, sizeof err) < 0) {
            printf("%-20s %-9s %-9s %s\n", names[i] ? names[i] : "?", "INVALID", "-", err);
            bad++;
            free(names[i]);
            continue;
        }
        for (int k = 0; k < 3; k++) {
            image_path(&p, &none, images_dir, keys[k], path, sizeof path);
            if (!path[0])
                continue;
            size_t used = strlen(imgs);
            snprintf(imgs + used, sizeof imgs - used, "%s%s=%s (%s)", used ? ", " : "", keys[k],
                     !strcmp(keys[k], "kernel")   ? p.kernel
                     : !strcmp(keys[k], "initrd") ? p.initrd
                                                  : p.disk,
                     access(path, R_OK) == 0 ? "present" : "missing");
        }
        printf("%-20s %-9s %-9s %s%s\n", p.name, p.status, ready_name(&p), imgs,
               p.argc ? "" : " [libvirt only]");
        profile_free(&p);
        free(names[i]);
    }
    printf("guests dir %s, images dir %s\n", guests_dir, images_dir);
    return bad ? 1 : 0;
}

/* ---- check: one guest ---- */

struct check {
    const struct profile *p;
    mono_ns t0;
    pcre2_match_data *md;
    uint32_t seen; /* markers matched */
    int first_output, ready, print_console;
    size_t linelen, taillen;
    char line[LINE_BYTES];
    char tail[TAIL_BYTES]; /* qemu's stderr, last bytes */
    int port;              /* READY_HTTP: the forwarded host port */
    long http_status;      /* the last status the probe saw, 0 if none */
};

static void at(const struct check *c, const char *what, const char *detail)
{
    double ms = (double)mono_diff(c->t0, clock_mono()) / 1e6;
    printf("%9.1f ms  %s%s%s\n", ms, what, detail ? " " : "", detail ? detail : "");
    fflush(stdout);
}

static int match(struct check *c, const struct profile_marker *m, const char *s, size_t n)
{
    if (m->after >= 0 && !(c->seen & (1u << m->after)))
        return 0;
    return pcre2_match(m->re, (PCRE2_SPTR)s, n, 0, 0, c->md, NULL) >= 0;
}

/* A console line (or the partial line so far): markers once each, then ready. */
static void on_line(struct check *c, const char *s, size_t n)
{
    for (int i = 0; i < c->p->nmarkers; i++)
        if (!(c->seen & (1u << i)) && match(c, &c->p->markers[i], s, n)) {
            c->seen |= 1u << i;
            at(c, "marker", c->p->markers[i].name);
        }
    if (!c->ready && c->p->ready_kind == READY_CONSOLE && match(c, &c->p->ready, s, n)) {
        c->ready = 1;
        at(c, "ready", "(console)");
    }
}

static void on_console(struct check *c, const char *buf, size_t n)
{
    if (n && !c->first_output) {
        c->first_output = 1;
        at(c, "first_output", NULL);
    }
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || c->linelen == sizeof c->line - 1) {
            c->line[c->linelen] = '\0';
            if (c->linelen && c->line[c->linelen - 1] == '\r')
                c->line[--c->linelen] = '\0';
            if (c->print_console)
                at(c, "|", c->line);
            on_line(c, c->line, c->linelen);
            c->linelen = 0;
            if (buf[i] == '\n')
                continue;
        }
        c->line[c->linelen++] = buf[i];
    }
    if (c->linelen) /* a ready line may come without its newline */
        on_line(c, c->line, c->linelen);
}

static void on_stderr(struct check *c, const char *buf, size_t n)
{
    if (n >= sizeof c->tail) {
        buf += n - (sizeof c->tail - 1);
        n = sizeof c->tail - 1;
    }
    if (c->taillen + n >= sizeof c->tail) {
        size_t drop = c->taillen + n - (sizeof c->tail - 1);
        memmove(c->tail, c->tail + drop, c->taillen - drop);
        c->taillen -= drop;
    }
    memcpy(c->tail + c->taillen, buf, n);
    c->taillen += n;
    c->tail[c->taillen] = '\0';
}

/* The HTTP probe (common/probe_http.c) calls back here: the status that means ready. */
static void http_done(void *ctx, int idx, long status)
{
    struct check *c = ctx;
    const struct profile *p = c->p;
    (void)idx;
    c->http_status = status;
    if (p->http_status ? status == p->http_status : status >= 200 && status < 400) {
        char d[200];
        snprintf(d, sizeof d, "(http %ld on 127.0.0.1:%d%s)", status, c->port, p->http_path);
        c->ready = 1;
        at(c, "ready", d);
    }
}

static void usage_check(FILE *f)
{
    fprintf(f, "usage: bootstorm guests check NAME [--image KEY=PATH ...] [--accel kvm|tcg|auto]\n"
               "                              [--timeout-s S] [--console] [--guests-dir DIR]\n"
               "                              [--images-dir DIR]\n");
}

static int guests_check(int argc, char **argv, const char *guests_dir, const char *images_dir)
{
    struct images im = {.n = 0};
    const char *accel = NULL;
    double timeout_s = 60;
    int print_console = 0;
    static const struct option opts[] = {{"image", required_argument, 0, 'i'},
                                         {"accel", required_argument, 0, 'a'},
                                         {"timeout-s", required_argument, 0, 't'},
                                         {"console", no_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int o;
    optind = 0; /* GNU getopt: full re-initialisation; NAME may come before the options */
    while ((o = getopt_long(argc, argv, "i:a:t:ch", opts, NULL)) != -1) {
        switch (o) {
        case 'i': {
            char *eq = strchr(optarg, '=');
            if (!eq || im.n == MAX_IMAGES ||
                (strncmp(optarg, "kernel=", 7) && strncmp(optarg, "initrd=", 7) &&
                 strncmp(optarg, "disk=", 5))) {
                fprintf(stderr,
                        "bootstorm guests check: --image expects kernel|initrd|disk=PATH, "
                        "got '%s'\n",
                        optarg);
                return 1;
            }
            *eq = '\0';
            im.key[im.n] = optarg;
            im.path[im.n++] = eq + 1;
            break;
        }
        case 'a':
            if (strcmp(optarg, "kvm") && strcmp(optarg, "tcg") && strcmp(optarg, "auto")) {
                fprintf(stderr, "bootstorm guests check: --accel expects kvm|tcg|auto\n");
                return 1;
            }
            accel = optarg;
            break;
        case 't':
            timeout_s = atof(optarg);
            if (timeout_s <= 0) {
                fprintf(stderr, "bootstorm guests check: --timeout-s expects seconds > 0\n");
                return 1;
            }
            break;
        case 'c':
            print_console = 1;
            break;
        case 'h':
            usage_check(stdout);
            return 0;
        default:
            usage_check(stderr);
            return 1;
        }
    }
    if (optind != argc - 1) {
        usage_check(stderr);
        return 1;
    }

    struct profile p;
    char err[512], kernel[PATH_MAX], initrd[PATH_MAX], disk[PATH_MAX];
    if (profile_load_named(guests_dir, argv[optind], &p, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        return 1;
    }
    int rc = 1, exited = 0;
    struct spawned sp = {.pid = -1, .console_fd = -1, .stderr_fd = -1, .debug_fd = -1};
    struct check c = {.p = &p, .print_console = print_console};
    struct http_prober *hp = NULL;
    c.md = pcre2_match_data_create(8, NULL);

    if (!p.argc) {
        fprintf(stderr,
                "bootstorm guests check: %s runs through libvirt only; check boots "
                "qemu guests\n",
                p.name);
        goto done;
    }
    image_path(&p, &im, images_dir, "kernel", kernel, sizeof kernel);
    image_path(&p, &im, images_dir, "initrd", initrd, sizeof initrd);
    image_path(&p, &im, images_dir, "disk", disk, sizeof disk);
    const char *need[] = {kernel, initrd, disk};
    for (int i = 0; i < 3; i++)
        if (need[i][0] && access(need[i], R_OK) < 0) {
            fprintf(stderr, "bootstorm guests check: image %s of %s: %s%s\n", need[i], p.name,
                    strerror(errno),
                    !strncmp(p.name, "linux", 5) ? " (built by guests/linux/build.sh)" : "");
            goto done;
        }
    if (!accel)
        accel = strcmp(p.accel, "auto") ? p.accel : "auto";
    if (!strcmp(accel, "auto")) {
        int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        accel = fd >= 0 ? "kvm" : "tcg";
        if (fd >= 0)
            close(fd);
    }
    struct profile_vars v = {.kernel = kernel,
                             .initrd = initrd[0] ? initrd : NULL,
                             .disk = disk[0] ? disk : NULL,
                             .accel = accel,
                             .name = "bs-check"};
    if (p.ready_kind == READY_HTTP &&
        ((c.port = v.port = port_free_tcp()) <= 0 || !(hp = http_prober_new()))) {
        fprintf(stderr, "bootstorm guests check: no free TCP port or no HTTP probe\n");
        goto done;
    }
    if (p.ready_kind == READY_DEBUGCON)
        v.debugcon = SPAWN_DEBUG_PATH;
    char *qargv[PROFILE_MAX_ARGS + 1], buf[16384];
    if (profile_render_argv(&p, &v, qargv, buf, sizeof buf) < 0) {
        fprintf(stderr, "bootstorm guests check: the argv of %s does not fit\n", p.name);
        goto done;
    }
    printf("guest %s (%s, ready by %s), accel %s, timeout %.0f s\n", p.name, p.status,
           ready_name(&p), accel, timeout_s);
    c.t0 = clock_mono();
    at(&c, "spawn", NULL);
    if (spawn_process(qargv, p.ready_kind == READY_DEBUGCON, &sp, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm guests check: %s\n", err);
        goto done;
    }

    mono_ns deadline = mono_add(c.t0, (int64_t)(timeout_s * 1e9));
    mono_ns next_probe = c.t0;
    int status = 0, code = -1;
    size_t dbgoff = 0;
    char dbgbuf[256];
    while (!c.ready) {
        struct pollfd pf[3] = {{.fd = sp.console_fd, .events = POLLIN},
                               {.fd = sp.stderr_fd, .events = POLLIN},
                               {.fd = sp.debug_fd, .events = POLLIN}};
        if (poll(pf, 3, 10) < 0 && errno != EINTR)
            break;
        char rb[4096];
        ssize_t n;
        if (pf[0].revents && (n = read(sp.console_fd, rb, sizeof rb)) > 0)
            on_console(&c, rb, (size_t)n);
        if (pf[1].revents && (n = read(sp.stderr_fd, rb, sizeof rb)) > 0)
            on_stderr(&c, rb, (size_t)n);
        if (c.ready)
            break;
        if (hp) { /* one GET at a time; QEMU's forwarder answers before the guest listens */
            if (!http_prober_active(hp) && mono_diff(next_probe, clock_mono()) >= 0) {
                http_probe_start(hp, 0, c.port, p.http_path, 300);
                next_probe = mono_add(clock_mono(), 20 * NS_PER_MS);
            }
            http_prober_poll(hp, http_done, &c);
        }
        if (pf[2].revents && dbgoff < sizeof dbgbuf - 1 &&
            (n = read(sp.debug_fd, dbgbuf + dbgoff, sizeof dbgbuf - 1 - dbgoff)) > 0) {
            dbgoff += (size_t)n;
            dbgbuf[dbgoff] = '\0';
            if (strstr(dbgbuf, p.ready_bytes)) {
                c.ready = 1;
                at(&c, "ready", "(debugcon)");
            }
        }
        if (!exited && waitpid(sp.pid, &status, WNOHANG) == sp.pid) {
            exited = 1;
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            /* drain what the guest wrote last */
            while ((n = read(sp.console_fd, rb, sizeof rb)) > 0)
                on_console(&c, rb, (size_t)n);
            while ((n = read(sp.stderr_fd, rb, sizeof rb)) > 0)
                on_stderr(&c, rb, (size_t)n);
            if (!c.ready && p.ready_kind == READY_EXIT && WIFEXITED(status) &&
                profile_exit_ok(&p, code)) {
                char d[32];
                snprintf(d, sizeof d, "(exit status %d)", code);
                c.ready = 1;
                at(&c, "ready", d);
            }
            break;
        }
        if (mono_diff(deadline, clock_mono()) > 0)
            break;
        if (strstr(c.tail, "KVM internal error")) /* QEMU stays up, paused: stop here */
            break;
    }
    if (c.ready) {
        rc = 0;
    } else if (strstr(c.tail, "KVM internal error")) {
        printf("not ready: KVM internal error (this host's KVM cannot run this guest; "
               "try --accel tcg)\n");
    } else if (exited) {
        printf("not ready: qemu exited with status %d before ready%s%s\n", code,
               c.taillen ? "; its stderr:\n" : "", c.tail);
        if (strstr(c.tail, "KVM internal error"))
            printf("hint: this host's KVM cannot run this guest; try --accel tcg\n");
    } else {
        printf("not ready: timeout after %.0f s%s%s\n", timeout_s,
               p.ready_kind == READY_HTTP && c.http_status ? " (last HTTP status differs)" : "",
               c.taillen ? "; qemu's stderr:\n" : "");
        if (c.taillen)
            printf("%s\n", c.tail);
        if (c.linelen)
            printf("last console output: %s\n", c.line);
    }
done:
    if (sp.pid > 0 && !exited) { /* a guest in service mode runs forever: stop it */
        kill(sp.pid, SIGKILL);
        waitpid(sp.pid, NULL, 0);
    }
    http_prober_free(hp);
    int fds[] = {sp.console_fd, sp.stderr_fd, sp.debug_fd};
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    pcre2_match_data_free(c.md);
    profile_free(&p);
    return rc;
}

int cmd_guests(int argc, char **argv)
{
    char guests_dir[PATH_MAX], images_dir[PATH_MAX];
    path_in_prefix(guests_dir, sizeof guests_dir, "guests");
    path_in_prefix(images_dir, sizeof images_dir, "images");
    /* --guests-dir / --images-dir anywhere after the subcommand, removed before the rest. */
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if ((!strcmp(argv[i], "--guests-dir") || !strcmp(argv[i], "--images-dir")) &&
            i + 1 < argc) {
            snprintf(argv[i][2] == 'g' ? guests_dir : images_dir, PATH_MAX, "%s", argv[i + 1]);
            i++;
            continue;
        }
        argv[n++] = argv[i];
    }
    argc = n;
    if (argc >= 2 && !strcmp(argv[1], "list"))
        return guests_list(guests_dir, images_dir);
    if (argc >= 2 && !strcmp(argv[1], "check"))
        return guests_check(argc - 1, argv + 1, guests_dir, images_dir);
    fprintf(stderr, "usage: bootstorm guests list [--guests-dir DIR] [--images-dir DIR]\n"
                    "       bootstorm guests check NAME [--image KEY=PATH ...] "
                    "[--accel kvm|tcg|auto] [--timeout-s S] [--console]\n");
    return 1;
}
