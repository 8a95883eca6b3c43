/* bootstorm-oci: runs an OCI runtime (crun, runc, runsc) for the container guests,
 * from argv only (no shell): `run` execs the runtime, `stop` kills and deletes one
 * container once its runtime process is gone, `clean` stops every container whose id
 * starts with a prefix (stale ones of a launcher that crashed). --umount PATH first
 * unmounts PATH in a private mount namespace (crun refuses the host's hybrid cgroups
 * while the cgroup2 mount at /sys/fs/cgroup/unified is there; the host keeps it).
 * Not for choosing ids or when to stop: the profile and vmm_exec.c decide that. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ARGS 64
#define WAIT_PID_MS 5000

static const char *usage =
    "usage: bootstorm-oci [--umount PATH] run -- RUNTIME [ARGS...]\n"
    "       bootstorm-oci [--umount PATH] stop [--wait-pid PID] ID -- RUNTIME [GLOBAL-ARGS...]\n"
    "       bootstorm-oci [--umount PATH] clean PREFIX -- RUNTIME [GLOBAL-ARGS...]\n";

/* A private mount namespace without path mounted; not mounted there is fine. */
static int private_umount(const char *path)
{
    if (unshare(CLONE_NEWNS) < 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        fprintf(stderr, "bootstorm-oci: private mount namespace: %s\n", strerror(errno));
        return -1;
    }
    if (umount2(path, MNT_DETACH) < 0 && errno != EINVAL && errno != ENOENT) {
        fprintf(stderr, "bootstorm-oci: umount %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Runs argv with stdout on out_fd (-1: ours), stderr on /dev/null when quiet, and
 * waits. Returns its exit status, or -1. */
static int run_wait(char *const argv[], int out_fd, int quiet)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (out_fd >= 0 && dup2(out_fd, STDOUT_FILENO) < 0)
            _exit(127);
        int null = quiet ? open("/dev/null", O_WRONLY) : -1;
        if (null >= 0)
            dup2(null, STDERR_FILENO);
        execvp(argv[0], argv);
        fprintf(stderr, "bootstorm-oci: %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* rt (NULL-terminated, at most MAX_ARGS - 5) followed by the words w (NULL-terminated). */
static void build(char **out, char *const rt[], const char *const w[])
{
    int n = 0;
    for (int i = 0; rt[i]; i++)
        out[n++] = rt[i];
    for (int i = 0; w[i]; i++)
        out[n++] = (char *)w[i];
    out[n] = NULL;
}

/* Waits (up to WAIT_PID_MS) until pid is gone or a zombie: the runtime that was
 * creating the container has stopped, so nothing creates it after we delete it. */
static void wait_pid_gone(long pid)
{
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    for (int ms = 0; ms < WAIT_PID_MS; ms += 2) {
        FILE *f = fopen(path, "r");
        if (!f)
            return;
        size_t n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *paren = strrchr(buf, ')');
        if (!paren || paren[1] == '\0' || paren[2] == 'Z' || paren[2] == 'X')
            return;
        nanosleep(&(struct timespec){0, 2000000}, NULL);
    }
}

/* kill ID KILL, then delete --force ID: runsc's delete -f of a running container takes
 * seconds where kill is immediate. Returns 0 when the delete succeeded. */
static int stop_one(char *const rt[], const char *id)
{
    char *argv[MAX_ARGS];
    build(argv, rt, (const char *[]){"kill", id, "KILL", NULL});
    run_wait(argv, -1, 1); /* fails (and says so) when it already stopped: delete decides */
    build(argv, rt, (const char *[]){"delete", "--force", id, NULL});
    return run_wait(argv, -1, 0) == 0 ? 0 : -1;
}

/* Stops every container `RUNTIME list --quiet` names with the prefix. Returns how many
 * failed to go (0 on success). */
static int clean(char *const rt[], const char *prefix)
{
    char *argv[MAX_ARGS], line[256];
    int failed = 0, cleaned = 0;
    build(argv, rt, (const char *[]){"list", "--quiet", NULL});
    FILE *tmp = tmpfile();
    if (!tmp)
        return 1;
    if (run_wait(argv, fileno(tmp), 0) != 0) {
        fprintf(stderr, "bootstorm-oci: %s list failed\n", rt[0]);
        fclose(tmp);
        return 1;
    }
    rewind(tmp);
    while (fgets(line, sizeof line, tmp)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strncmp(line, prefix, strlen(prefix)))
            continue;
        if (stop_one(rt, line) < 0)
            failed++;
        else
            cleaned++;
    }
    fclose(tmp);
    if (cleaned)
        fprintf(stderr, "bootstorm-oci: removed %d stale %s* container(s) of %s\n", cleaned, prefix,
                rt[0]);
    return failed;
}

int main(int argc, char **argv)
{
    int i = 1;
    const char *umount_path = NULL, *id = NULL;
    long wait_pid = 0;
    if (i + 1 < argc && !strcmp(argv[i], "--umount")) {
        umount_path = argv[i + 1];
        i += 2;
    }
    const char *cmd = i < argc ? argv[i++] : "";
    int is_run = !strcmp(cmd, "run"), is_stop = !strcmp(cmd, "stop");
    if (is_stop && i + 1 < argc && !strcmp(argv[i], "--wait-pid")) {
        wait_pid = strtol(argv[i + 1], NULL, 10);
        i += 2;
    }
    if (!is_run && !strcmp(cmd, "clean") + is_stop != 1)
        goto bad;
    if (!is_run && i < argc)
        id = argv[i++];
    if (i >= argc || strcmp(argv[i], "--") || i + 1 >= argc || argc - i > MAX_ARGS - 5 ||
        (!is_run && !id))
        goto bad;
    char **rt = argv + i + 1;
    if (umount_path && private_umount(umount_path) < 0)
        return 125;
    if (is_run) {
        execvp(rt[0], rt);
        fprintf(stderr, "bootstorm-oci: %s: %s\n", rt[0], strerror(errno));
        return 127;
    }
    if (wait_pid > 0)
        wait_pid_gone(wait_pid);
    return (is_stop ? stop_one(rt, id) : clean(rt, id)) ? 1 : 0;
bad:
    fputs(usage, stderr);
    return 2;
}
