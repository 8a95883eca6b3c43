/* The KVM probe (one real boot, argv built here, not from a profile, so that a broken
 * profile cannot make KVM look broken; started like every guest, procspawn.c) and the
 * accelerator choice. Not for rendering a guest's argv (profile.c). */
#include "accel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "procspawn.h"

#define PROBE_READY "BOOTSTORM READY"

/* Reads the probe's console into out until its ready line, EOF or the deadline.
 * Returns 1 when the ready line came; *len is what out holds. */
static int await_ready(int fd, mono_ns end, char *out, size_t outlen, size_t *len)
{
    for (;;) {
        int left = (int)(mono_diff(clock_mono(), end) / NS_PER_MS);
        if (left <= 0)
            return 0;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, left) <= 0)
            continue;
        ssize_t n = read(fd, out + *len, outlen - 1 - *len);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0)
            return 0;
        *len += (size_t)n;
        out[*len] = '\0';
        if (strstr(out, PROBE_READY))
            return 1;
        if (*len == outlen - 1)
            return 0;
    }
}

int accel_probe_kvm(const char *kernel, int timeout_ms, char *why, size_t whylen)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, whylen, "/dev/kvm: %s", strerror(errno));
        return 0;
    }
    close(fd);
    char *argv[] = {"qemu-system-x86_64",
                    "-M",
                    "microvm",
                    "-accel",
                    "kvm",
                    "-m",
                    "2",
                    "-nodefaults",
                    "-no-user-config",
                    "-display",
                    "none",
                    "-serial",
                    "stdio",
                    "-kernel",
                    (char *)kernel,
                    "-append",
                    "exit",
                    "-device",
                    "isa-debug-exit,iobase=0xf4,iosize=4",
                    NULL};
    struct spawned sp;
    char err[256], out[2048] = "";
    if (spawn_process(argv, 0, &sp, err, sizeof err) < 0) {
        snprintf(why, whylen, "%s", err);
        return 0;
    }
    size_t len = 0;
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    int ok = await_ready(sp.console_fd, end, out, sizeof out, &len);
    kill(sp.pid, SIGKILL);
    waitpid(sp.pid, NULL, 0);
    if (!ok) { /* QEMU's own words explain more than the console */
        ssize_t n = read(sp.stderr_fd, out + len, sizeof out - 1 - len);
        if (n > 0)
            len += (size_t)n;
        out[len] = '\0';
        for (char *c = out; *c; c++)
            if (*c == '\n')
                *c = ' ';
        snprintf(why, whylen, "minkernel did not boot under KVM within %d ms%s%.160s", timeout_ms,
                 len ? ": " : "", out);
    }
    close(sp.console_fd);
    close(sp.stderr_fd);
    return ok;
}

const char *accel_wanted(const char *asked, const struct profile *p)
{
    if (p->accel[0] && strcmp(p->accel, "auto") != 0)
        return p->accel; /* the profile pins it: this guest only boots under it */
    return asked && asked[0] ? asked : "auto";
}

int accel_choose(const char *asked, const struct profile *p, int process_backend,
                 const struct accel_kvm *k, char *out, size_t outlen, int *fell_back, char *err,
                 size_t errlen)
{
    const char *want = accel_wanted(asked, p);
    *fell_back = 0;
    if (process_backend) {
        snprintf(out, outlen, "none");
        return 0;
    }
    if (!strcmp(want, "kvm") && !k->ok) {
        snprintf(err, errlen, "accel kvm asked but KVM is not usable: %s", k->why);
        return -1;
    }
    if (!strcmp(want, "auto")) {
        want = k->ok ? "kvm" : "tcg";
        *fell_back = !k->ok;
    }
    snprintf(out, outlen, "%s", want);
    return 0;
}

/* QEMU's own KVM code names itself in what it prints when it dies there
 * ("kvm_buf_set_msrs: Assertion ...", "kvm_run failed", "KVM: entry failed"). */
static int names_kvm(const char *s)
{
    for (; *s; s++)
        if ((s[0] == 'k' || s[0] == 'K') && (s[1] == 'v' || s[1] == 'V') &&
            (s[2] == 'm' || s[2] == 'M'))
            return 1;
    return 0;
}

const char *accel_kvm_failure(const struct console_tail *err, int gone, int64_t silent_ns)
{
    if (err->kvm_error)
        return "KVM internal error";
    if (gone && names_kvm(err->buf))
        return "QEMU died in its KVM code";
    if (silent_ns >= ACCEL_KVM_SILENT_NS)
        return "no console output within 10 s under KVM";
    return NULL;
}

int accel_silence_counts(const struct profile *p)
{
    return p->ready_kind == READY_CONSOLE || p->nmarkers > 0;
}

const char *accel_memo_tcg(const struct accel_memo *m, const char *prof)
{
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->e[i].prof, prof))
            return m->e[i].why;
    return NULL;
}

void accel_memo_set_tcg(struct accel_memo *m, const char *prof, const char *why)
{
    if (accel_memo_tcg(m, prof) || m->n == ACCEL_MEMO_MAX)
        return;
    snprintf(m->e[m->n].prof, sizeof m->e[m->n].prof, "%s", prof);
    snprintf(m->e[m->n].why, sizeof m->e[m->n].why, "%s", why);
    m->n++;
}
