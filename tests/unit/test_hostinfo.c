/* hostinfo's guest-RAM reader: the resident part of the mapping of exactly the asked
 * size, found in /proc/PID/maps and counted in /proc/PID/pagemap, here on a mapping of
 * this test's own with a known number of pages touched; no such mapping gives -1. Its
 * children reader (the PSS of a guest's process tree): this test's own children. The
 * sampler's kept /proc/PID/stat files: fresh numbers from a kept file, a process gone
 * reads as gone, files closed at the sweep after their process is no longer read. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "hostinfo.h"

/* a size no library or heap of this process maps: 3 MiB and 12 pages */
#define BLOCK_KIB (3 * 1024 + 12 * 4)

static void ram_block_resident(void **state)
{
    (void)state;
    long page = sysconf(_SC_PAGESIZE);
    assert_int_equal(page, 4096);
    char *m =
        mmap(NULL, BLOCK_KIB * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(m != MAP_FAILED);
    madvise(m, BLOCK_KIB * 1024, MADV_NOHUGEPAGE); /* one touch must fault one page */
    assert_int_equal(hostinfo_guest_ram_kib(getpid(), BLOCK_KIB), 0);
    for (int i = 0; i < 5; i++)
        m[(size_t)i * 97 * (size_t)page] = 1; /* 5 pages, spread over the block */
    assert_int_equal(hostinfo_guest_ram_kib(getpid(), BLOCK_KIB), 5 * 4);
    for (size_t off = 0; off < BLOCK_KIB * 1024; off += (size_t)page)
        m[off] = 1;
    assert_int_equal(hostinfo_guest_ram_kib(getpid(), BLOCK_KIB), BLOCK_KIB);
    munmap(m, BLOCK_KIB * 1024);
    assert_int_equal(hostinfo_guest_ram_kib(getpid(), BLOCK_KIB), -1);
}

static void no_process(void **state)
{
    (void)state;
    assert_int_equal(hostinfo_guest_ram_kib(0x7ffffff0, BLOCK_KIB), -1);
}

static int has(const pid_t *a, int n, pid_t p)
{
    for (int i = 0; i < n; i++)
        if (a[i] == p)
            return 1;
    return 0;
}

static void children(void **state)
{
    (void)state;
    pid_t kid[2], got[8];
    for (int i = 0; i < 2; i++) {
        kid[i] = fork();
        assert_true(kid[i] >= 0);
        if (kid[i] == 0) {
            pause();
            _exit(0);
        }
    }
    int n = hostinfo_children(getpid(), got, 8);
    assert_int_equal(n, 2);
    assert_true(has(got, n, kid[0]) && has(got, n, kid[1]));
    assert_int_equal(hostinfo_children(getpid(), got, 1), 1); /* cap kept */
    assert_int_equal(hostinfo_children(kid[0], got, 8), 0);
    for (int i = 0; i < 2; i++) {
        kill(kid[i], SIGKILL);
        waitpid(kid[i], NULL, 0);
    }
    assert_int_equal(hostinfo_children(getpid(), got, 8), 0);
}

/* This process's open fds. */
static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own */
}

static double own_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static pid_t pausing_child(void)
{
    pid_t p = fork();
    assert_true(p >= 0);
    if (p == 0) {
        pause();
        _exit(0);
    }
    return p;
}

static void stat_files_kept(void **state)
{
    (void)state;
    int base = open_fds();
    struct proc_stats *c = proc_stats_new();
    int64_t rss, cpu0, cpu1;
    assert_int_equal(proc_stats_read(c, getpid(), &rss, &cpu0), 0);
    assert_true(rss > 0 && cpu0 >= 0);
    assert_int_equal(open_fds(), base + 1);
    for (double t = own_cpu_ms(); own_cpu_ms() < t + 60;) /* 60 ms of CPU: 6 ticks at 100 Hz */
        ;
    assert_int_equal(proc_stats_read(c, getpid(), &rss, &cpu1), 0);
    assert_true(cpu1 >= cpu0 + 40); /* read afresh from the kept file, not its first text */
    assert_int_equal(open_fds(), base + 1);

    pid_t kid[40]; /* more than the first table holds: it grows, files kept */
    for (int i = 0; i < 40; i++)
        kid[i] = pausing_child();
    for (int i = 0; i < 40; i++)
        assert_int_equal(proc_stats_read(c, kid[i], &rss, &cpu0), 0);
    assert_int_equal(open_fds(), base + 41);
    for (int i = 0; i < 40; i++) {
        kill(kid[i], SIGKILL);
        waitpid(kid[i], NULL, 0);
    }
    assert_int_equal(proc_stats_read(c, kid[0], &rss, &cpu0), -1); /* gone */
    proc_stats_sweep(c); /* every one was read in this sample: kept */
    assert_true(open_fds() >= base + 40);
    assert_int_equal(proc_stats_read(c, getpid(), &rss, &cpu0), 0);
    proc_stats_sweep(c); /* the children were not read in this one: closed */
    assert_int_equal(open_fds(), base + 1);
    proc_stats_free(c);
    assert_int_equal(open_fds(), base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(children),
        cmocka_unit_test(ram_block_resident),
        cmocka_unit_test(no_process),
        cmocka_unit_test(stat_files_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
