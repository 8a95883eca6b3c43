/* Key names: common/keys.h (C) and the KEY table of the Redis Function
 * (redis/bootstorm.lua) must build the same names. The Lua table is read from the
 * source, each builder's `return 'lit' .. arg .. 'lit'` evaluated with sample
 * arguments and compared with the C builder of the same name; the per-run names the
 * Function uses must be names keys.h knows, and no 'bs: literal may sit outside KEY.
 * In C too, no string literal with "bs: may sit outside common/keys.c and keys.h
 * (issue #10): the production sources are scanned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keys.h"

static char *lua;

static char *read_lua(void)
{
    const char *src = getenv("BS_SOURCE");
    char path[512];
    snprintf(path, sizeof path, "%s/redis/bootstorm.lua", src ? src : ".");
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    static char buf[1 << 17];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* The value of an argument name in the sample call. */
static const char *arg(const char *name, size_t n)
{
    static const char *const names[][2] = {
        {"run", "R-1"}, {"host", "h1"}, {"idx", "7"}, {"name", "NM"}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i][0]) == n && !strncmp(names[i][0], name, n))
            return names[i][1];
    fail_msg("unknown argument '%.*s' in a KEY builder", (int)n, name);
    return "";
}

/* Evaluates the builder `entry` of the KEY table: "'lit' .. arg .. 'lit'". */
static void lua_key(const char *entry, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\n    %s = function(", entry);
    const char *p = strstr(lua, pat);
    if (!p)
        fail_msg("KEY.%s missing in bootstorm.lua", entry);
    p = strstr(p, "return ");
    const char *end = strstr(p, " end");
    assert_non_null(end);
    p += 7;
    out[0] = '\0';
    while (p < end) {
        while (*p == ' ' || *p == '.')
            p++;
        if (*p == '\'') {
            const char *q = strchr(p + 1, '\'');
            strncat(out, p + 1,
                    (size_t)(q - p - 1) < cap - strlen(out) - 1 ? (size_t)(q - p - 1) : 0);
            p = q + 1;
        } else {
            const char *q = p;
            while (q < end && *q != ' ')
                q++;
            strncat(out, arg(p, (size_t)(q - p)), cap - strlen(out) - 1);
            p = q;
        }
    }
}

static void same(const char *entry, const char *c)
{
    char l[KEY_MAX];
    lua_key(entry, l, sizeof l);
    if (strcmp(l, c))
        fail_msg("KEY.%s: Lua builds '%s', keys.h '%s'", entry, l, c);
}

static void test_builders_agree(void **state)
{
    (void)state;
    char c[KEY_MAX];
    same("runs", KEY_RUNS);
    same("hosts", KEY_HOSTS);
    same("pools", KEY_POOLS);
    same("collector", KEY_COLLECTOR);
    keys_host(c, sizeof c, "h1"), same("host", c);
    keys_pool(c, sizeof c, "NM"), same("pool", c);
    keys_run_named(c, sizeof c, "R-1", "NM"), same("run", c);
    keys_run(c, sizeof c, "R-1", KEY_META), same("meta", c);
    keys_run(c, sizeof c, "R-1", KEY_SEQ), same("seq", c);
    keys_run(c, sizeof c, "R-1", KEY_EV), same("ev", c);
    keys_run(c, sizeof c, "R-1", KEY_AGG), same("agg", c);
    keys_hagg(c, sizeof c, "R-1", "h1"), same("hagg", c);
}

/* Every 'NAME' the Function passes to KEY.run or zadd_boot is a per-run name of keys.h
 * (or the prefix of one with a part after it: mem:HOST). */
static void test_run_names_known(void **state)
{
    (void)state;
    static const char *const calls[] = {"KEY.run(k.run, '", "KEY.run(run, '", "zadd_boot(k, '"};
    int seen = 0;
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        for (const char *p = lua; (p = strstr(p, calls[i])); seen++) {
            p += strlen(calls[i]);
            const char *q = strchr(p, '\'');
            char name[64], c[KEY_MAX], want[KEY_MAX];
            snprintf(name, sizeof name, "%.*s", (int)(q - p), p);
            int ok = 0;
            for (int k = 0; k < KEY_RUN_COUNT; k++)
                ok |= !strcmp(name, keys_run_name((enum key_run)k));
            if (!strcmp(name, "mem:")) {
                keys_mem(c, sizeof c, "R", "x");
                snprintf(want, sizeof want, "bs:{R}:%sx", name);
                ok = !strcmp(c, want);
            }
            if (!ok)
                fail_msg("the Function uses run key '%s', unknown to keys.h", name);
        }
    assert_true(seen >= 4);
}

static void test_no_literal_outside_key_table(void **state)
{
    (void)state;
    const char *table_end = strstr(lua, "\n}\n");
    assert_non_null(table_end);
    const char *p = strstr(table_end, "'bs:");
    if (p)
        fail_msg("a key literal outside KEY: %.40s", p);
}

/* Lines of file path with a string literal holding bs: (a key name built by hand);
 * each is printed. Quotes are counted per line, so a key in a comment is no hit. */
static int literals_in(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    int hits = 0, no = 0;
    while (f && fgets(line, sizeof line, f)) {
        int in = 0;
        no++;
        for (const char *p = line; *p; p++) {
            if (*p == '\\' && in && p[1]) {
                p++;
                continue;
            }
            if (*p == '"')
                in = !in;
            else if (*p == '\'' && !in && p[1] && p[2]) { /* a char literal: '"', '\"' */
                const char *q = p[1] == '\\' ? p + 3 : p + 2;
                if (*q == '\'')
                    p = q;
            } else if (in && !strncmp(p, "bs:", 3)) {
                fprintf(stderr, "%s:%d: key literal: %s", path, no, line);
                hits++;
                break;
            }
        }
    }
    if (f)
        fclose(f);
    return hits;
}

/* No C file but keys.c/keys.h spells a key: every name comes from the builders. */
static void test_no_key_literal_in_c(void **state)
{
    (void)state;
    static const char *const dirs[] = {"aggregator", "cli", "common", "collector", "launcher"};
    static const char *const allowed[] = {"common/keys.c", "common/keys.h"};
    const char *src = getenv("BS_SOURCE");
    int hits = 0, files = 0;
    for (size_t d = 0; d < sizeof dirs / sizeof dirs[0]; d++) {
        char dir[512];
        snprintf(dir, sizeof dir, "%s/%s", src ? src : ".", dirs[d]);
        DIR *dp = opendir(dir);
        assert_non_null(dp);
        for (struct dirent *e; (e = readdir(dp));) {
            size_t n = strlen(e->d_name), skip = 0;
            if (n < 3 || (strcmp(e->d_name + n - 2, ".c") && strcmp(e->d_name + n - 2, ".h")))
                continue;
            char rel[300], path[900];
            snprintf(rel, sizeof rel, "%s/%s", dirs[d], e->d_name);
            for (size_t a = 0; a < sizeof allowed / sizeof allowed[0]; a++)
                skip |= !strcmp(rel, allowed[a]);
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            hits += skip ? 0 : literals_in(path);
            files++;
        }
        closedir(dp);
    }
    assert_true(files > 20);
    if (hits)
        fail_msg("%d key literal(s) outside common/keys.c (listed above)", hits);
}

int main(void)
{
    lua = read_lua();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builders_agree),
        cmocka_unit_test(test_run_names_known),
        cmocka_unit_test(test_no_literal_outside_key_table),
        cmocka_unit_test(test_no_key_literal_in_c),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
