/* agg_html_write without Redis: every string a remote host or a user could have put in
 * a run comes out escaped (no element, no attribute broken out of), a run with no
 * ready guest still gives a whole document, and a large series is drawn with a bounded
 * number of vertices. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "agg_html.h"

#define EVIL "<script>x('\"&amp;')</script>\x01"

static struct agg_run run;

/* The document agg_html_write makes of run with guests gs and series s (free it). */
static char *render(const struct agg_guests *gs, const struct agg_series *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(agg_html_write(&run, gs, s, f), 0);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

static void setup_run(void)
{
    memset(&run, 0, sizeof run);
    snprintf(run.run, sizeof run.run, "r1");
    snprintf(run.name, sizeof run.name, "%s", EVIL);
    snprintf(run.kind, sizeof run.kind, "%s", EVIL);
    snprintf(run.hosts, sizeof run.hosts, "a,%s", EVIL);
    snprintf(run.errors, sizeof run.errors, "a: %s\nb: second", EVIL);
    snprintf(run.invalid, sizeof run.invalid, "%s", EVIL);
    run.nmissing = 1;
    snprintf(run.missing[0].host, sizeof run.missing[0].host, "%s", EVIL);
    snprintf(run.missing[0].why, sizeof run.missing[0].why, "%s", EVIL);
    run.nhosts = 1;
    snprintf(run.host[0].name, sizeof run.host[0].name, "%s", EVIL);
    run.host[0].clock_err_ms = -1;
    run.nphases = 1;
    snprintf(run.phase[0].name, sizeof run.phase[0].name, "m:%s", EVIL);
    run.total = run.count = 4;
    run.failed = run.failed_crash = 4;
    run.all_ready_ms = run.peak_mem_kib = run.mem_base_kib = run.cpu_ms = run.rss_kib = -1;
    run.ready_per_s = run.fleet_ready_ms = -1;
    run.slowest = -1;
}

static void test_escaped(void **state)
{
    (void)state;
    setup_run();
    struct agg_guest g = {.state = "failed", .reason = "crash", .gen = 0, .host = 0};
    struct agg_guests gs = {.n = 1, .g = &g, .nhosts = 1};
    snprintf(gs.host[0], sizeof gs.host[0], "%s", EVIL);
    char *doc = render(&gs, NULL);
    assert_null(strstr(doc, "<script"));
    assert_null(strstr(doc, "\x01"));
    assert_null(strstr(doc, "x('"));
    assert_non_null(strstr(doc, "&lt;script&gt;x(&#39;&quot;&amp;amp;&#39;)&lt;/script&gt;?"));
    /* name, kind (title x2, h1 line), hosts, errors, invalid, missing x2, host, phase, guest */
    assert_true(count(doc, "&lt;script&gt;") >= 10);
    assert_non_null(strstr(doc, "no boot-time chart"));
    assert_int_equal(count(doc, "<svg"), 0);
    assert_non_null(strstr(doc, "</body>\n</html>\n"));
    free(doc);
}

static void test_large_series(void **state)
{
    (void)state;
    setup_run();
    enum { N = 50000 };
    struct agg_series s = {.nboot = N, .nready = N};
    s.boot_ms = malloc(N * sizeof *s.boot_ms);
    s.ready = malloc(N * sizeof *s.ready);
    assert_non_null(s.boot_ms);
    assert_non_null(s.ready);
    for (size_t i = 0; i < N; i++) {
        s.boot_ms[i] = 100.0 + (double)i / 100.0;
        s.ready[i] = (struct agg_point){(double)i, (long long)i + 1};
    }
    run.boot_n = N;
    run.boot_p50_ms = 350;
    run.boot_p99_ms = 595;
    run.total = N;
    char *doc = render(NULL, &s);
    assert_int_equal(count(doc, "<svg"), 2);
    assert_int_equal(count(doc, "</svg>"), 2);
    assert_non_null(strstr(doc, ">p50 350.0 ms<"));
    assert_non_null(strstr(doc, ">p99 595.0 ms<"));
    assert_non_null(strstr(doc, "(s, host clocks corrected)")); /* 50 s: seconds */
    assert_true(strlen(doc) < 200000);                          /* vertices bounded */
    free(doc);
    free(s.boot_ms);
    free(s.ready);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaped),
        cmocka_unit_test(test_large_series),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
