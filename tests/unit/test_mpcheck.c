/* Unit tests for mpcheck.c: hostile MessagePack frames (huge declared lengths and
 * counts, deep nesting, truncation, reserved bytes) are refused before msgpack-c
 * allocates, through mp_check and through ev_decode; real events pass. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "event.h"
#include "mpcheck.h"

#define F(s) s, sizeof(s) - 1

/* mp_check must refuse data with a message containing want, and so must ev_decode. */
static void refused(const char *data, size_t len, const char *want)
{
    char err[256] = "";
    size_t used = 0;
    struct ev e;
    assert_int_equal(mp_check(data, len, &used, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("got \"%s\", want \"%s\"", err, want);
    err[0] = '\0';
    assert_int_equal(ev_decode(data, len, &e, err, sizeof err), -1);
    assert_non_null(strstr(err, want));
}

static void test_huge_lengths(void **state)
{
    (void)state;
    /* the 5-byte frame of issue 11: a str32 of 4 GiB made msgpack-c allocate it */
    refused(F("\xdb\xff\xff\xff\xff"), "string of 4294967295 bytes declared, 0 bytes left");
    refused(F("\xd9\x05"
              "abc"),
            "string of 5 bytes declared, 3 bytes left");
    refused(F("\xda\xff\xff"
              "x"),
            "string of 65535 bytes");
    refused(F("\xbf"
              "short"),
            "string of 31 bytes");
    refused(F("\xc6\xff\xff\xff\xff"), "bin or ext of 4294967295 bytes");
    refused(F("\xc9\xff\xff\xff\xff\x01"), "bin or ext of 4294967296 bytes");
    refused(F("\xc7\x02\x01"
              "a"),
            "bin or ext of 3 bytes");
}

static void test_huge_counts(void **state)
{
    (void)state;
    refused(F("\xdd\xff\xff\xff\xff"), "array or map of 4294967295 items declared, 0 bytes left");
    refused(F("\xdf\xff\xff\xff\xff\xc0"), "array or map of 8589934590 items");
    refused(F("\xdc\x00\x03\xc0\xc0"), "array or map of 3 items declared, 2 bytes left");
    refused(F("\x81\xc0"), "array or map of 2 items declared, 1 bytes left");
    /* a map inside a map declaring more than the frame holds */
    refused(F("\x81\xa1k\xde\xff\xff\xc0"), "array or map of 131070 items");
}

static void test_depth(void **state)
{
    (void)state;
    char deep[64];
    memset(deep, 0x91, sizeof deep); /* [[[[...]]]] */
    deep[sizeof deep - 1] = (char)0xc0;
    refused(deep, sizeof deep, "nested deeper than 16 levels");
    char err[64];
    size_t used;
    /* exactly MP_MAX_DEPTH levels pass */
    assert_int_equal(
        mp_check(deep + sizeof deep - 1 - MP_MAX_DEPTH, MP_MAX_DEPTH + 1, &used, err, sizeof err),
        0);
    assert_int_equal(used, MP_MAX_DEPTH + 1);
}

static void test_truncated_and_malformed(void **state)
{
    (void)state;
    refused(F("\xcf\x00\x00"), "truncated");
    refused(F("\xda\x00"), "truncated");
    refused(F("\x92\xc0\xcd\x00"), "truncated");
    refused(F("\xc1"), "malformed MessagePack (byte 0xc1 at 0)");
    refused(F("\x91\xc1"), "malformed MessagePack (byte 0xc1 at 1)");
}

static void test_valid(void **state)
{
    (void)state;
    char err[64];
    size_t used = 0;
    /* every kind once: fixint, negative, nil, bools, floats, ints, fixext, str8, bin8, ext8,
     * empty containers, then one trailing byte that is not part of the object */
    static const char all[] = "\xdc\x00\x11\x01\xff\xc0\xc2\xc3\xca\0\0\0\0\xcb\0\0\0\0\0\0\0\0"
                              "\xd3\0\0\0\0\0\0\0\0\xd4\x01\x02\xd8\x01"
                              "0123456789abcdef"
                              "\xd9\x01x\xc4\x01y\xc7\x01\x05z\x90\x80\xdc\0\0\xa0\xc0";
    assert_int_equal(mp_check(all, sizeof all - 1, &used, err, sizeof err), 0);
    assert_int_equal(used, sizeof all - 2);

    struct ev in, out;
    char buf[EV_MAX_BYTES];
    for (int t = EV_NONE + 1; t < EV_TYPE_COUNT; t++) {
        ev_init(&in, (enum ev_type)t);
        memset(in.detail, 'd', sizeof in.detail - 1);
        int n = ev_encode(&in, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(mp_check(buf, (size_t)n, &used, err, sizeof err), 0);
        assert_int_equal(used, n);
        (void)out;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_huge_lengths), cmocka_unit_test(test_huge_counts),
        cmocka_unit_test(test_depth),        cmocka_unit_test(test_truncated_and_malformed),
        cmocka_unit_test(test_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
