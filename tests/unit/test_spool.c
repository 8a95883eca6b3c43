/* The launcher's on-disk spool: what is written comes back in order after a reopen,
 * forget marks are replayed, a torn tail is cut off, a second process is locked out,
 * and a rewrite keeps exactly the live events. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spool.h"

struct seen {
    int n;
    int64_t seq[64];
    int forget[64];
    char data[64][32];
};

static void load(void *arg, int64_t seq, const void *data, size_t len)
{
    struct seen *s = arg;
    if (s->n == 64)
        return;
    s->seq[s->n] = seq;
    s->forget[s->n] = data == NULL;
    if (data)
        snprintf(s->data[s->n], sizeof s->data[0], "%.*s", (int)len, (const char *)data);
    s->n++;
}

static char dir[] = "/tmp/bs-spool-test-XXXXXX";

static struct spool *reopen(struct seen *s)
{
    char err[256] = "";
    memset(s, 0, sizeof *s);
    struct spool *sp = spool_open(dir, "h1", load, s, err, sizeof err);
    if (!sp)
        fail_msg("spool_open: %s", err);
    return sp;
}

static void test_round_trip_and_forget(void **state)
{
    (void)state;
    struct seen s;
    struct spool *sp = reopen(&s);
    assert_int_equal(s.n, 0);
    assert_int_equal(spool_append(sp, 1, "hello", 5), 0);
    assert_int_equal(spool_append(sp, 2, "spawn", 5), 0);
    assert_int_equal(spool_append(sp, 1, NULL, 0), 0); /* everything <= 1 forgotten */
    assert_int_equal(spool_append(sp, 3, "ready", 5), 0);
    spool_close(sp);

    sp = reopen(&s);
    assert_int_equal(s.n, 4);
    assert_int_equal(s.seq[0], 1);
    assert_string_equal(s.data[0], "hello");
    assert_int_equal(s.seq[1], 2);
    assert_true(s.forget[2]);
    assert_int_equal(s.seq[2], 1);
    assert_string_equal(s.data[3], "ready");

    /* a second process (here: a second open) is locked out while the first holds it */
    char err[256] = "";
    struct seen other;
    memset(&other, 0, sizeof other);
    assert_null(spool_open(dir, "h1", load, &other, err, sizeof err));
    assert_true(err[0] != '\0');
    spool_close(sp);
}

static void test_torn_tail_cut(void **state)
{
    (void)state;
    char path[256];
    snprintf(path, sizeof path, "%s/h1.spool", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\x45\0\0\0\x40\0\0\0garbage", 15), 15); /* a torn record */
    close(fd);
    struct seen s;
    struct spool *sp = reopen(&s);
    assert_int_equal(s.n, 4); /* the 4 whole records, nothing of the torn one */
    assert_int_equal(spool_append(sp, 4, "exit", 4), 0);
    spool_close(sp);
    sp = reopen(&s);
    assert_int_equal(s.n, 5);
    assert_string_equal(s.data[4], "exit");
    spool_close(sp);
}

static void test_rewrite_keeps_live(void **state)
{
    (void)state;
    struct seen s;
    struct spool *sp = reopen(&s);
    uint64_t before = spool_bytes(sp);
    assert_int_equal(spool_rewrite_begin(sp, 3), 0);
    assert_int_equal(spool_rewrite_add(sp, 4, "exit", 4), 0);
    assert_int_equal(spool_rewrite_commit(sp), 0);
    assert_true(spool_bytes(sp) < before);
    spool_close(sp);
    sp = reopen(&s);
    assert_int_equal(s.n, 2); /* the forget mark, then the one live event */
    assert_true(s.forget[0]);
    assert_int_equal(s.seq[0], 3);
    assert_int_equal(s.seq[1], 4);
    assert_string_equal(s.data[1], "exit");
    spool_close(sp);
}

/* Reproduction (issue "Trust", 11): a symlink in the spool directory was followed and
 * its target overwritten. A new spool dir is 0700 and no spool file is followed. */
static void test_no_symlink_followed(void **state)
{
    (void)state;
    char d2[] = "/tmp/bs-spool-sym-XXXXXX", sub[64], target[64], link[128], err[256] = "";
    assert_non_null(mkdtemp(d2));
    snprintf(sub, sizeof sub, "%s/spool", d2);
    snprintf(target, sizeof target, "%s/precious", d2);
    struct seen s;
    struct spool *sp = spool_open(sub, "h1", load, &s, err, sizeof err);
    assert_non_null(sp);
    spool_close(sp);
    struct stat st;
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    FILE *f = fopen(target, "w");
    fputs("keep me\n", f);
    fclose(f);
    snprintf(link, sizeof link, "%s/h2.spool", sub);
    assert_int_equal(symlink(target, link), 0);
    assert_null(spool_open(sub, "h2", load, &s, err, sizeof err));
    assert_non_null(strstr(err, "h2.spool"));
    char buf[32] = "";
    f = fopen(target, "r");
    assert_non_null(fgets(buf, sizeof buf, f));
    fclose(f);
    assert_string_equal(buf, "keep me\n");
    unlink(link);
    snprintf(link, sizeof link, "%s/h1.spool", sub);
    unlink(link);
    snprintf(link, sizeof link, "%s/h1.lock", sub);
    unlink(link);
    snprintf(link, sizeof link, "%s/h2.lock", sub);
    unlink(link);
    rmdir(sub);
    unlink(target);
    assert_int_equal(rmdir(d2), 0);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_and_forget),
        cmocka_unit_test(test_torn_tail_cut),
        cmocka_unit_test(test_rewrite_keeps_live),
        cmocka_unit_test(test_no_symlink_followed),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        rc = rc ? rc : 1;
    return rc;
}
