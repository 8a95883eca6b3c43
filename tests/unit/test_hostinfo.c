/* hostinfo's guest-RAM reader: the resident part of the mapping of exactly the asked
 * size, found in /proc/PID/maps and counted in /proc/PID/pagemap, here on a mapping of
 * this test's own with a known number of pages touched; no such mapping gives -1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ram_block_resident),
        cmocka_unit_test(no_process),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
