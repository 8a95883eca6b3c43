/* agg_json: numbers (6 decimals, integers when whole, null when unknown), strings made
 * valid UTF-8, and a report object that jansson can read back whatever the strings
 * from Redis held (keys too: missing hosts, phase names). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg.h"

static void numbers(void **state)
{
    (void)state;
    json_t *j = agg_json_number(2044.0, 1);
    assert_true(json_is_integer(j) && json_integer_value(j) == 2044);
    json_decref(j);
    j = agg_json_number(123.4567891234, 1);
    assert_true(json_is_real(j) && fabs(json_real_value(j) - 123.456789) < 1e-12);
    json_decref(j);
    j = agg_json_number(-0.0000001, 1); /* rounds to 0, never "-0" */
    assert_true(json_is_integer(j) && json_integer_value(j) == 0);
    json_decref(j);
    assert_true(json_is_null(agg_json_number(NAN, 1)));
    assert_true(json_is_null(agg_json_number(5, 0)));
}

static void strings(void **state)
{
    (void)state;
    assert_true(json_is_null(agg_json_string("")));
    json_t *j = agg_json_string("caf\xc3\xa9 \"q\"\t");
    assert_string_equal(json_string_value(j), "caf\xc3\xa9 \"q\"\t");
    json_decref(j);
    j = agg_json_string("a\xff\x01z\xe2\x82"); /* a stray byte, a control, a cut sequence */
    assert_string_equal(json_string_value(j), "a\xef\xbf\xbd\x01z\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
    j = agg_json_string("\xed\xa0\x80"); /* a surrogate is not UTF-8 */
    assert_string_equal(json_string_value(j), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(j);
}

/* A report whose strings from Redis hold newlines and invalid UTF-8, even in keys,
 * dumps to text that parses back with every key in place. */
static void report_roundtrip(void **state)
{
    (void)state;
    struct agg_run *r = calloc(1, sizeof *r);
    assert_non_null(r);
    snprintf(r->run, sizeof r->run, "run-1");
    snprintf(r->hosts, sizeof r->hosts, "h1,,h2");
    snprintf(r->errors, sizeof r->errors, "h1: bad\xff\nh2: worse");
    r->boot_min_ms = r->all_ready_ms = r->ready_per_s = r->fleet_ready_ms = -1;
    r->peak_mem_kib = r->mem_base_kib = r->cpu_ms = r->rss_kib = -1;
    r->slowest = -1;
    r->lost_events = 3;
    r->nmissing = 2;
    snprintf(r->missing[0].host, AGG_ID_MAX, "a\nb");
    snprintf(r->missing[0].why, 256, "left out");
    snprintf(r->missing[1].host, AGG_ID_MAX, "h\xff");
    snprintf(r->missing[1].why, 256, "gone");
    r->nphases = 1;
    snprintf(r->phase[0].name, AGG_ID_MAX, "m:\xc3");
    r->phase[0].d =
        (struct agg_dist){.n = 1, .min = 1, .p50 = 1, .p90 = 1, .p99 = 1, .max = 1, .mean = -1};
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(agg_print_json(r, f), 0);
    fclose(f);
    json_error_t e;
    json_t *d = json_loads(buf, 0, &e);
    assert_non_null(d);
    assert_int_equal(json_integer_value(json_object_get(d, "lost_events")), 3);
    assert_int_equal(json_array_size(json_object_get(d, "hosts")), 2);
    assert_int_equal(json_array_size(json_object_get(d, "errors")), 2);
    json_t *m = json_object_get(d, "missing");
    assert_string_equal(json_string_value(json_object_get(m, "a\nb")), "left out");
    assert_string_equal(json_string_value(json_object_get(m, "h\xef\xbf\xbd")), "gone");
    json_t *ph = json_object_get(json_object_get(d, "phases_ms"), "m:\xef\xbf\xbd");
    assert_int_equal(json_integer_value(json_object_get(ph, "n")), 1);
    assert_true(json_is_null(json_object_get(d, "boot_ms")));
    assert_true(json_is_null(json_object_get(d, "all_ready_ms")));
    assert_int_equal(buf[len - 1], '\n');
    assert_null(memchr(buf, '\n', len - 1)); /* one line */
    json_decref(d);
    free(buf);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(numbers),
        cmocka_unit_test(strings),
        cmocka_unit_test(report_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
