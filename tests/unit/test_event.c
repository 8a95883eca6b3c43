/* The event codec: round trip of every type, and every kind of bad input rejected
 * with a reason (run under ASan/UBSan by scripts/test.sh). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "event.h"

static void fill(struct ev *e, enum ev_type t)
{
    ev_init(e, t);
    snprintf(e->host, sizeof e->host, "host-a");
    e->seq = 42;
    e->tm.ns = 123456789;
    e->tr.ns = 1700000000123456789LL;
    snprintf(e->run, sizeof e->run, "20261122-000000-x-8-abcd");
    e->guest = 7;
    e->pid = 4242;
    e->status = -9;
    e->running = 3;
    e->lag_ns = 1500;
    e->boot_ns = 75000000;
    e->mem_used_kib = 1 << 20;
    e->rss_kib = 14000;
    e->cpu_ms = 12;
    e->cores = 2;
    e->mem_total_kib = 24 << 20;
    e->kvm = 1;
    e->prio = 1;
    e->count = 64;
    e->interval_ms = 5;
    e->hold_s = 2;
    e->timeout_s = 60;
    e->sample_ms = 100;
    e->at = 1700000001000000000LL;
    e->ready = 60;
    e->failed = 4;
    e->ack = 41;
    e->ok = 1;
    e->from = 40; /* lost: seq 40..42 */
    e->lost = 2;
    snprintf(e->name, sizeof e->name, "entry");
    snprintf(e->reason, sizeof e->reason, "timeout");
    snprintf(e->detail, sizeof e->detail, "not ready after 60 s");
    snprintf(e->kind, sizeof e->kind, "minkernel");
    snprintf(e->backend, sizeof e->backend, "qemu");
    snprintf(e->accel, sizeof e->accel, "kvm");
    snprintf(e->pattern, sizeof e->pattern, "burst");
    snprintf(e->backends, sizeof e->backends, "qemu");
    snprintf(e->version, sizeof e->version, "0.1.0");
    snprintf(e->hosts, sizeof e->hosts, "a,b");
    snprintf(e->error, sizeof e->error, "none");
}

static void test_round_trip_every_type(void **state)
{
    (void)state;
    for (int t = EV_NONE + 1; t < EV_TYPE_COUNT; t++) {
        struct ev in, out;
        char buf[EV_MAX_BYTES], err[256];
        fill(&in, (enum ev_type)t);
        int n = ev_encode(&in, buf, sizeof buf);
        assert_true(n > 0);
        assert_int_equal(ev_decode(buf, (size_t)n, &out, err, sizeof err), 0);
        assert_int_equal(out.type, t);
        /* Re-encoding what was decoded gives the same bytes: every key of the type
         * survived with its value, and no other key was invented. */
        char buf2[EV_MAX_BYTES];
        int n2 = ev_encode(&out, buf2, sizeof buf2);
        assert_int_equal(n, n2);
        assert_memory_equal(buf, buf2, (size_t)n);
    }
}

static void test_round_trip_values(void **state)
{
    (void)state;
    struct ev in, out;
    char buf[EV_MAX_BYTES], err[256];
    fill(&in, EV_READY);
    int n = ev_encode(&in, buf, sizeof buf);
    assert_int_equal(ev_decode(buf, (size_t)n, &out, err, sizeof err), 0);
    assert_string_equal(out.host, "host-a");
    assert_int_equal(out.seq, 42);
    assert_int_equal(out.tm.ns, 123456789);
    assert_int_equal(out.tr.ns, 1700000000123456789LL);
    assert_string_equal(out.run, in.run);
    assert_int_equal(out.guest, 7);
    assert_int_equal(out.boot_ns, 75000000);
    assert_int_equal(out.pid, 0); /* not a key of ready */
}

static void test_truncated_every_length(void **state)
{
    (void)state;
    struct ev in, out;
    char buf[EV_MAX_BYTES], err[256];
    fill(&in, EV_FAILED);
    int n = ev_encode(&in, buf, sizeof buf);
    for (int len = 0; len < n; len++) {
        err[0] = '\0';
        assert_int_equal(ev_decode(buf, (size_t)len, &out, err, sizeof err), -1);
        assert_true(err[0] != '\0');
    }
}

static void test_oversized(void **state)
{
    (void)state;
    static char big[EV_MAX_BYTES + 1];
    struct ev out;
    char err[256];
    memset(big, 0x80, sizeof big);
    assert_int_equal(ev_decode(big, sizeof big, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "bytes"));
}

static void test_encode_too_small_buffer(void **state)
{
    (void)state;
    struct ev in;
    char buf[16];
    fill(&in, EV_HELLO);
    assert_int_equal(ev_encode(&in, buf, sizeof buf), -1);
}

/* Builds {"v":1,"type":TYPE, KEY: <packed by fn>} plus the keys a spawn needs. */
static size_t pack_spawn_with(char *out, size_t cap, const char *key, int as_string)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const char *keys[] = {"host", "seq", "tm", "tr", "run", "guest", "running"};
    msgpack_pack_map(&pk, 2 + 7);
    msgpack_pack_str_with_body(&pk, "v", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "type", 4);
    msgpack_pack_str_with_body(&pk, "spawn", 5);
    for (int i = 0; i < 7; i++) {
        msgpack_pack_str_with_body(&pk, keys[i], strlen(keys[i]));
        int is_str = !strcmp(keys[i], "host") || !strcmp(keys[i], "run");
        if (!strcmp(keys[i], key))
            is_str = as_string;
        if (is_str)
            msgpack_pack_str_with_body(&pk, "x", 1);
        else
            msgpack_pack_int(&pk, 1);
    }
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static void test_wrong_types(void **state)
{
    (void)state;
    char buf[512], err[256];
    struct ev out;
    size_t n = pack_spawn_with(buf, sizeof buf, "none", 0);
    assert_int_equal(ev_decode(buf, n, &out, err, sizeof err), 0); /* the control case */
    n = pack_spawn_with(buf, sizeof buf, "seq", 1);
    assert_int_equal(ev_decode(buf, n, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "'seq'"));
    n = pack_spawn_with(buf, sizeof buf, "host", 0);
    assert_int_equal(ev_decode(buf, n, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "'host'"));
}

static size_t pack_raw(char *out, size_t cap, void (*body)(msgpack_packer *))
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    body(&pk);
    size_t n = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, n);
    msgpack_sbuffer_destroy(&sb);
    return n;
}

static void body_unknown_type(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "reboot", 6);
}

static void body_not_a_map(msgpack_packer *pk)
{
    msgpack_pack_array(pk, 0);
}

static void body_bad_version(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 2);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 99);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "ack", 3);
}

static void body_missing_key(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "abort", 5);
    msgpack_pack_str_with_body(pk, "extra", 5); /* unknown keys are ignored... */
    msgpack_pack_int(pk, 5);                    /* ...but 'run' is still missing */
}

static void body_ack_ok(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 4);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "ack", 3);
    msgpack_pack_str_with_body(pk, "zzz", 3); /* unknown key: ignored */
    msgpack_pack_nil(pk);
    msgpack_pack_str_with_body(pk, "ack", 3);
    msgpack_pack_int(pk, 17);
}

static void body_out_of_range(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "ack", 3);
    msgpack_pack_str_with_body(pk, "ack", 3);
    msgpack_pack_int(pk, -5);
}

static void body_long_string(msgpack_packer *pk)
{
    char s[300];
    memset(s, 'a', sizeof s);
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "abort", 5);
    msgpack_pack_str_with_body(pk, "run", 3);
    msgpack_pack_str_with_body(pk, s, sizeof s);
}

static void body_nul_in_string(msgpack_packer *pk)
{
    msgpack_pack_map(pk, 3);
    msgpack_pack_str_with_body(pk, "v", 1);
    msgpack_pack_int(pk, 1);
    msgpack_pack_str_with_body(pk, "type", 4);
    msgpack_pack_str_with_body(pk, "abort", 5);
    msgpack_pack_str_with_body(pk, "run", 3);
    msgpack_pack_str_with_body(pk, "a\0b", 3);
}

static void expect(void (*body)(msgpack_packer *), int rc, const char *needle)
{
    char buf[1024], err[256] = "";
    struct ev out;
    size_t n = pack_raw(buf, sizeof buf, body);
    assert_int_equal(ev_decode(buf, n, &out, err, sizeof err), rc);
    if (needle)
        assert_non_null(strstr(err, needle));
}

static void test_bad_messages(void **state)
{
    (void)state;
    expect(body_unknown_type, -1, "unknown message type 'reboot'");
    expect(body_not_a_map, -1, "not a map");
    expect(body_bad_version, -1, "protocol version 99");
    expect(body_missing_key, -1, "'run' missing");
    expect(body_out_of_range, -1, "out of range");
    expect(body_long_string, -1, "'run' longer");
    expect(body_nul_in_string, -1, "NUL");
    expect(body_ack_ok, 0, NULL);
}

static void test_trailing_and_garbage(void **state)
{
    (void)state;
    char buf[EV_MAX_BYTES], err[256];
    struct ev in, out;
    fill(&in, EV_ACK);
    int n = ev_encode(&in, buf, sizeof buf);
    buf[n] = (char)0xc0; /* a nil after the map */
    assert_int_equal(ev_decode(buf, (size_t)n + 1, &out, err, sizeof err), -1);
    assert_non_null(strstr(err, "trailing"));
    const char garbage[] = "\xc1\xc1\xc1 not msgpack";
    assert_int_equal(ev_decode(garbage, sizeof garbage, &out, err, sizeof err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_every_type),
        cmocka_unit_test(test_round_trip_values),
        cmocka_unit_test(test_truncated_every_length),
        cmocka_unit_test(test_oversized),
        cmocka_unit_test(test_encode_too_small_buffer),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_bad_messages),
        cmocka_unit_test(test_trailing_and_garbage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
