/* An independent witness for the fidelity benchmark (bench/fidelity.sh): runs a guest
 * command with its stdout on a pipe, passes every byte on to its own stdout (the
 * launcher's console pipe) and stamps the moment it reads the line holding NEEDLE,
 * with CLOCK_MONOTONIC, the clock the launcher stamps with. Shares no code with
 * bootstorm on purpose. Not a general console logger.
 * usage: fidelity_tap OUTPREFIX NEEDLE CMD [ARG...]
 * OUTPREFIX.PID gets one line "PID TM_NS" (PID = this process, which the launcher knows
 * as the guest's pid). One file per tap: hundreds of taps appending to one shared file
 * would queue on its inode lock, and a tap preempted while holding it would hold back
 * the others' bytes, i.e. delay the launcher's view of their ready lines (a bench
 * artefact, against bootstorm). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static pid_t child = -1;

static void forward(int sig)
{
    if (child > 0)
        kill(child, sig);
}

static long long mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* the reader is gone: keep draining the guest regardless */
        p += w;
        n -= (size_t)w;
    }
}

static void stamp(int out_fd, long long tm)
{
    char line[64];
    int n = snprintf(line, sizeof line, "%ld %lld\n", (long)getpid(), tm);
    write_all(out_fd, line, (size_t)n);
}

static pid_t start(char **argv, int *rfd)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* the guest never outlives its tap */
        dup2(p[1], 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    *rfd = p[0];
    return pid;
}

/* Appends buf to the current line (its first sizeof line - 1 bytes) and says whether
 * needle is in it now. The needle counts as soon as its bytes are in, newline or not:
 * QEMU's serial console can hand a line over in pieces. */
static int line_has(char *line, size_t cap, size_t *ll, const char *buf, size_t n,
                    const char *needle)
{
    int hit = 0;
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n') {
            line[*ll] = 0;
            hit |= strstr(line, needle) != NULL;
            *ll = 0;
        } else if (*ll < cap - 1) {
            line[(*ll)++] = buf[i];
        }
    }
    line[*ll] = 0;
    return hit || strstr(line, needle) != NULL;
}

/* Reads the guest until EOF; stamps the read that brought in the needle's last byte.
 * The stamp is written before the bytes are passed on: once the launcher has them it
 * may end the run and kill this tap. That delays the launcher's view by one small
 * write (a few microseconds), against bootstorm, never for it. */
static void pump(int rfd, const char *needle, int out_fd)
{
    char buf[65536], line[4096];
    size_t ll = 0;
    int seen = 0;
    for (;;) {
        ssize_t n = read(rfd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        long long tm = mono_now();
        if (!seen && line_has(line, sizeof line, &ll, buf, (size_t)n, needle)) {
            stamp(out_fd, tm);
            seen = 1;
        }
        write_all(1, buf, (size_t)n);
    }
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: fidelity_tap OUTPREFIX NEEDLE CMD [ARG...]\n");
        return 2;
    }
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* as the launcher does for its guests */
    signal(SIGTERM, forward);
    signal(SIGINT, forward);
    signal(SIGPIPE, SIG_IGN);
    char path[4096];
    snprintf(path, sizeof path, "%s.%ld", argv[1], (long)getpid());
    int out_fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out_fd < 0) {
        perror(path);
        return 127;
    }
    int rfd;
    child = start(argv + 3, &rfd);
    if (child < 0) {
        perror("fidelity_tap: start");
        return 127;
    }
    pump(rfd, argv[2], out_fd);
    int st;
    while (waitpid(child, &st, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
