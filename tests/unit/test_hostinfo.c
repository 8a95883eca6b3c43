/* hostinfo's guest-RAM reader: the resident part of the mapping of exactly the asked
 * size, found in /proc/PID/maps and counted in /proc/PID/pagemap, here on a mapping of
 * this test's own with a known number of pages touched; no such mapping gives -1. Its
 * children reader (the PSS of a guest's process tree): this test's own children. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
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
    char *m = mmap(NULL, BLOCK_KIB * 1024, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(children),
        cmocka_unit_test(ram_block_resident),
        cmocka_unit_test(no_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
