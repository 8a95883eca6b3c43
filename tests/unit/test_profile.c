/* Unit tests for profile.c: the shipped guest profiles load and their regexes match,
 * argv templates render, and bad profiles are refused with "FILE:LINE: key 'K': ...". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "profile.h"

static char tmp_path[64];

/* A valid profile; the bad cases replace one line of it. */
#define GOOD_HEAD "name: tiny\nkernel: tiny.elf\n"
#define GOOD_ARGV "qemu:\n  argv: [qemu-system-x86_64, -m, '{mem}', -kernel, '{kernel}']\n"
#define GOOD_READY "ready: 'READY'\n"

static const char *source_dir(void)
{
    const char *d = getenv("BS_SOURCE");
    return d ? d : ".";
}

static int load_text(const char *text, struct profile *p, char *err, size_t errlen)
{
    strcpy(tmp_path, "/tmp/bs-profile-XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    int rc = profile_load(tmp_path, p, err, errlen);
    unlink(tmp_path);
    return rc;
}

/* The file must fail with err == "TMP:LINE: " + rest (rest may be a prefix), and
 * leave the profile empty (nothing to free, nothing dangling). */
static void expect_error(const char *text, int line, const char *rest)
{
    struct profile p;
    char err[512] = "", want[512];
    assert_int_equal(load_text(text, &p, err, sizeof err), -1);
    snprintf(want, sizeof want, "%s:%d: %s", tmp_path, line, rest);
    if (strncmp(err, want, strlen(want)) != 0)
        fail_msg("got  \"%s\"\nwant \"%s...\"", err, want);
    assert_int_equal(p.argc, 0);
    assert_null(p.argv[0]);
    assert_null(p.ready.re);
    profile_free(&p);
}

static int matches(const pcre2_code *re, const char *line)
{
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)line, strlen(line), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

static void test_all_shipped_load(void **state)
{
    (void)state;
    char path[512], err[512];
    int n = 0;
    snprintf(path, sizeof path, "%s/guests", source_dir());
    DIR *d = opendir(path);
    assert_non_null(d);
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        struct profile p;
        char name[256];
        if (len < 5 || strcmp(e->d_name + len - 5, ".yaml"))
            continue;
        snprintf(name, sizeof name, "%.*s", (int)(len - 5), e->d_name);
        err[0] = '\0';
        if (profile_load_named(path, name, &p, err, sizeof err) != 0)
            fail_msg("%s: %s", e->d_name, err);
        if (p.ready_kind == READY_CONSOLE)
            assert_non_null(p.ready.re);
        assert_true(!strcmp(p.status, "tested") || !strcmp(p.status, "untested"));
        assert_true(p.argc > 0 || p.libvirt_xml || p.proc_argc > 0);
        char buf[8192], *argv[PROFILE_MAX_ARGS];
        struct profile_vars v = {
            .kernel = "/k", .accel = "tcg", .name = "g", .port = 1, .bindir = "/b"};
        if (p.argc > 0) /* every shipped argv renders with no placeholder left */
            assert_int_equal(profile_render_argv(&p, &v, argv, buf, sizeof buf), p.argc);
        if (p.proc_argc > 0) {
            assert_int_equal(profile_render_process(&p, &v, argv, buf, sizeof buf), p.proc_argc);
            assert_null(strchr(argv[0], '{'));
        }
        profile_free(&p);
        n++;
    }
    closedir(d);
    assert_true(n >= 1);
}

static void test_process_profile(void **state)
{
    (void)state;
    struct profile p;
    char err[512], path[512];
    snprintf(path, sizeof path, "%s/guests", source_dir());
    assert_int_equal(profile_load_named(path, "sim", &p, err, sizeof err), 0);
    char buf[4096], *argv[PROFILE_MAX_ARGS];
    struct profile_vars v = {.bindir = "/opt/bs/bin"};
    assert_int_equal(profile_render_process(&p, &v, argv, buf, sizeof buf), p.proc_argc);
    assert_string_equal(argv[0], "/opt/bs/bin/bootstorm-simguest");
    assert_int_equal(p.kernel[0], '\0'); /* a process guest needs no kernel */
    profile_free(&p);
}

/* A container profile: process.argv, .stop and .clean render with {id}, {pid}, {disk};
 * {id} falls back to {name}; an unknown key under process is an error. */
static void test_container_profile(void **state)
{
    (void)state;
    struct profile p;
    char err[512], path[512], buf[4096], *argv[PROFILE_MAX_ARGS];
    snprintf(path, sizeof path, "%s/guests", source_dir());
    assert_int_equal(profile_load_named(path, "container-runc", &p, err, sizeof err), 0);
    struct profile_vars v = {
        .bindir = "/b", .disk = "/img/bundle", .name = "bs-R-7", .id = "bs-R-000007", .pid = 42};
    int n = profile_render_process(&p, &v, argv, buf, sizeof buf);
    assert_int_equal(n, p.proc_argc);
    assert_string_equal(argv[n - 1], "bs-R-000007");
    assert_string_equal(argv[n - 2], "/img/bundle");
    n = profile_render_stop(&p, &v, argv, buf, sizeof buf);
    assert_int_equal(n, p.proc_stop_argc);
    assert_string_equal(argv[0], "/b/bootstorm-oci");
    assert_string_equal(argv[3], "42");
    assert_string_equal(argv[4], "bs-R-000007");
    assert_true(profile_render_clean(&p, &v, argv, buf, sizeof buf) > 0);
    v.id = NULL; /* {id} is {name} when the backend gives none */
    n = profile_render_process(&p, &v, argv, buf, sizeof buf);
    assert_string_equal(argv[n - 1], "bs-R-7");
    profile_free(&p);
    expect_error("name: c\nprocess:\n  argv: [x]\n  kill: [y]\nready: R\n", 4,
                 "key 'process': unknown key 'kill' (known: argv, stop, clean)");
    expect_error("name: c\nprocess:\n  argv: [x]\n  stop: [y, '{ids}']\nready: R\n", 4,
                 "key 'process.stop': unknown placeholder {ids}");
}

/* Loads the shipped profile NAME and renders its argv; returns argc. */
static int load_shipped(const char *name, struct profile *p, char **argv, char *buf, size_t len)
{
    char dir[512], err[512] = "";
    snprintf(dir, sizeof dir, "%s/guests", source_dir());
    if (profile_load_named(dir, name, p, err, sizeof err) != 0)
        fail_msg("%s: %s", name, err);
    struct profile_vars v = {
        .kernel = "/k", .initrd = "/i", .disk = "/d", .accel = "tcg", .name = "g", .port = 8080};
    return p->argc > 0 ? profile_render_argv(p, &v, argv, buf, len) : 0;
}

/* The argument after the first argv[i] equal to opt, or NULL. */
static const char *arg_after(char **argv, int argc, const char *opt)
{
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], opt))
            return argv[i + 1];
    return NULL;
}

/* The index of marker name; the test fails if the profile has none. */
static int marker(const struct profile *p, const char *name)
{
    for (int i = 0; i < p->nmarkers; i++)
        if (!strcmp(p->markers[i].name, name))
            return i;
    fail_msg("%s: no marker '%s'", p->name, name);
    return -1;
}

/* The untested profiles, checked against lines and devices taken from each system's own
 * sources (docs/GUESTS.md says where): a wrong NIC, machine or prompt would break these. */
static void test_untested_profiles(void **state)
{
    (void)state;
    struct profile p;
    char buf[8192], *argv[PROFILE_MAX_ARGS];
    int argc = load_shipped("embox", &p, argv, buf, sizeof buf);
    assert_string_equal(argv[0], "qemu-system-i386");
    /* x86/qemu's mods.conf has only the virtio NIC driver: e1000 never comes up */
    assert_non_null(strstr(arg_after(argv, argc, "-device"), "virtio-net-pci,netdev=n0"));
    for (int i = 0; i < argc; i++)
        assert_null(strstr(argv[i], "e1000"));
    assert_int_equal(p.ready_kind, READY_HTTP);
    assert_string_equal(p.http_addr, "10.0.2.16");
    assert_true(matches(p.markers[marker(&p, "start")].re, "Embox kernel start"));
    assert_true(matches(p.markers[marker(&p, "prompt")].re, "root@embox:/#"));
    assert_false(matches(p.markers[marker(&p, "prompt")].re, "embox>"));
    profile_free(&p);

    argc = load_shipped("osv", &p, argv, buf, sizeof buf);
    assert_string_equal(arg_after(argv, argc, "-M"), "microvm");
    assert_string_equal(arg_after(argv, argc, "-append"), "--nopci /hello");
    assert_true(matches(p.markers[marker(&p, "osv")].re, "OSv v0.57.0-6-gb442a218"));
    assert_true(matches(p.markers[marker(&p, "net")].re, "eth0: 192.168.122.15"));
    assert_true(matches(p.ready.re, "Cmdline: /hello"));
    assert_int_equal(p.ready.after, marker(&p, "osv"));
    profile_free(&p);

    /* a 64-bit service boots through IncludeOS's 32-bit chainloader, the service as module */
    argc = load_shipped("includeos", &p, argv, buf, sizeof buf);
    assert_string_equal(p.kernel, "chainloader");
    assert_string_equal(arg_after(argv, argc, "-initrd"), "/i");
    assert_true(
        matches(p.markers[marker(&p, "banner")].re, " IncludeOS v0.15.1 (x86_64 / 64-bit)"));
    assert_true(matches(p.ready.re, " +--> Running [ Hello world - OS included ]"));
    assert_false(matches(p.ready.re, " +--> WARNING: No good random source found"));
    profile_free(&p);

    /* rumprun's console is serial only when the BIOS data area names COM1: SeaBIOS */
    argc = load_shipped("rumprun", &p, argv, buf, sizeof buf);
    assert_null(arg_after(argv, argc, "-bios"));
    assert_true(matches(p.markers[marker(&p, "bootstrap")].re, "rump kernel bare metal bootstrap"));
    assert_true(
        matches(p.markers[marker(&p, "netbsd")].re, "[   1.0000000] NetBSD 8.99.25 (RUMP-ROAST)"));
    assert_true(matches(p.ready.re, "=== calling \"hello\" main() ==="));
    assert_false(matches(p.ready.re, "=== main() of \"hello\" returned 0 ==="));
    profile_free(&p);

    assert_int_equal(load_shipped("mini-os", &p, argv, buf, sizeof buf), 0);
    assert_non_null(strstr(p.libvirt_xml, "<domain type='xen'>"));
    assert_true(matches(p.markers[marker(&p, "banner")].re, "Xen Minimal OS!"));
    assert_true(matches(p.markers[marker(&p, "start-info")].re, "start_info:   0x1234"));
    assert_true(matches(p.ready.re, "Test main: start_info=0x1234"));
    profile_free(&p);
}

static void test_minkernel(void **state)
{
    (void)state;
    struct profile p;
    char dir[512], err[512];
    snprintf(dir, sizeof dir, "%s/guests", source_dir());
    assert_int_equal(profile_load_named(dir, "minkernel", &p, err, sizeof err), 0);
    assert_string_equal(p.name, "minkernel");
    assert_string_equal(p.kernel, "minkernel.elf");
    assert_int_equal(p.mem_mib, 2);
    assert_int_equal(p.vcpus, 1);
    assert_string_equal(p.accel, "auto");
    assert_string_equal(p.cmdline, "");
    assert_string_equal(p.argv[0], "qemu-system-x86_64");
    assert_null(p.argv[p.argc]);
    assert_true(matches(p.ready.re, "BOOTSTORM READY minkernel"));
    assert_false(matches(p.ready.re, "BOOTSTORM READY linux"));
    assert_int_equal(p.nmarkers, 1);
    assert_int_equal(p.ready_kind, READY_CONSOLE);
    assert_int_equal(p.ready.after, -1);
    assert_int_equal(p.markers[0].after, -1);
    assert_string_equal(p.status, "tested");
    assert_string_equal(p.binary, "qemu-system-x86_64");
    assert_string_equal(p.initrd, "");
    assert_null(p.libvirt_xml);
    assert_string_equal(p.markers[0].name, "entry");
    assert_true(matches(p.markers[0].re, "minkernel: entry"));
    assert_int_equal(p.nexit_ok, 2);
    assert_true(profile_exit_ok(&p, 0));
    assert_true(profile_exit_ok(&p, 1));
    assert_false(profile_exit_ok(&p, 2));
    profile_free(&p);
    profile_free(&p); /* freeing twice is harmless: the first one zeroes */
}

static void test_render_argv(void **state)
{
    (void)state;
    struct profile p;
    char err[512], buf[1024], *argv[PROFILE_MAX_ARGS];
    struct profile_vars v = {
        .kernel = "/img/minkernel.elf", .accel = "kvm", .name = "bs-r1-7", .port = 8080};
    char dir[512];
    snprintf(dir, sizeof dir, "%s/guests", source_dir());
    assert_int_equal(profile_load_named(dir, "minkernel", &p, err, sizeof err), 0);

    int argc = profile_render_argv(&p, &v, argv, buf, sizeof buf);
    assert_int_equal(argc, p.argc);
    assert_null(argv[argc]);
    for (int i = 0; i + 1 < argc; i++) {
        if (!strcmp(argv[i], "-accel"))
            assert_string_equal(argv[i + 1], "kvm");
        if (!strcmp(argv[i], "-m"))
            assert_string_equal(argv[i + 1], "2");
        if (!strcmp(argv[i], "-smp"))
            assert_string_equal(argv[i + 1], "1");
        if (!strcmp(argv[i], "-kernel"))
            assert_string_equal(argv[i + 1], "/img/minkernel.elf");
        if (!strcmp(argv[i], "-append"))
            assert_string_equal(argv[i + 1], "");
    }
    for (int i = 0; i < argc; i++)
        assert_null(strchr(argv[i], '{'));
    /* the template is left untouched for the next guest */
    assert_string_equal(p.argv[4], "{accel}");

    /* too small a buffer fails rather than truncating an argument */
    assert_int_equal(profile_render_argv(&p, &v, argv, buf, 20), -1);
    profile_free(&p);

    /* placeholders inside words, several per word; JSON-style braces stay literal */
    static const char text[] =
        "name: web\nkernel: k.img\nvcpus: 2\ncmdline: console=ttyS0 quiet\n"
        "qemu:\n  argv: [q, -netdev, 'user,id=n0,hostfwd=tcp::{port}-:80', -name, '{name}',\n"
        "    -smp, '{vcpus}', -append, '{cmdline}', '{\"driver\":\"file\"}', '{kernel}-{accel}']\n"
        "ready: {regex: 'httpd up'}\n";
    assert_int_equal(load_text(text, &p, err, sizeof err), 0);
    v.kernel = NULL; /* unset vars fall back to the profile */
    v.accel = "tcg";
    argc = profile_render_argv(&p, &v, argv, buf, sizeof buf);
    assert_int_equal(argc, 11);
    assert_string_equal(argv[2], "user,id=n0,hostfwd=tcp::8080-:80");
    assert_string_equal(argv[4], "bs-r1-7");
    assert_string_equal(argv[6], "2");
    assert_string_equal(argv[8], "console=ttyS0 quiet");
    assert_string_equal(argv[9], "{\"driver\":\"file\"}");
    assert_string_equal(argv[10], "k.img-tcg");
    assert_true(matches(p.ready.re, "[ 0.1] httpd up"));
    assert_true(profile_exit_ok(&p, 0)); /* no exit_ok list: only 0 */
    assert_false(profile_exit_ok(&p, 1));
    profile_free(&p);
}

/* restore_ready: the console line of a guest restored from a snapshot (start: snapshot). */
static void test_restore_ready(void **state)
{
    (void)state;
    struct profile p;
    char err[512];
    assert_int_equal(load_text(GOOD_HEAD GOOD_ARGV GOOD_READY, &p, err, sizeof err), 0);
    assert_null(p.restore_ready.re);
    profile_free(&p);
    assert_int_equal(
        load_text(GOOD_HEAD GOOD_ARGV GOOD_READY "restore_ready: 'BS-BEAT'\n", &p, err, sizeof err),
        0);
    assert_non_null(p.restore_ready.re);
    assert_string_equal(p.restore_ready.pattern, "BS-BEAT");
    assert_int_equal(p.restore_ready.after, -1);
    profile_free(&p);
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "restore_ready: 'x('\n", 6,
                 "key 'restore_ready': bad regex 'x('");
}

static void test_unknown_key(void **state)
{
    (void)state;
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "memory: 4\n", 6,
                 "key 'memory': unknown key (known: ");
    expect_error(GOOD_HEAD "qemu:\n  argv: [q]\n  args: [x]\n" GOOD_READY, 5,
                 "key 'qemu': unknown key 'args'");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers:\n  - {name: a, regx: b}\n", 7,
                 "key 'markers[0].regx': unknown key");
}

static void test_bad_regex(void **state)
{
    (void)state;
    expect_error(GOOD_HEAD GOOD_ARGV "ready: 'READY ('\n", 5,
                 "key 'ready': bad regex 'READY (': missing closing parenthesis");
    expect_error(GOOD_HEAD GOOD_ARGV "ready:\n  regex: '[a-'\n", 6,
                 "key 'ready.regex': bad regex '[a-': missing terminating ]");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers:\n  - {name: a, regex: x}\n"
                                                "  - name: b\n    regex: '*x'\n",
                 9, "key 'markers[1].regex': bad regex '*x': quantifier does not follow");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: ''\n", 5, "key 'ready': the regex is empty");
}

static void test_bad_placeholder(void **state)
{
    (void)state;
    expect_error(GOOD_HEAD
                 "qemu:\n  argv:\n    - qemu\n    - -kernel\n    - '{kernal}'\n" GOOD_READY,
                 7, "key 'qemu.argv': unknown placeholder {kernal} in '{kernal}'");
    expect_error(GOOD_HEAD "qemu:\n  argv: [q, 'a={mem},b={memory}']\n" GOOD_READY, 4,
                 "key 'qemu.argv': unknown placeholder {memory}");
    expect_error(GOOD_HEAD "qemu:\n  argv: [q, {a: b}]\n" GOOD_READY, 4,
                 "key 'qemu.argv': expected a string, got a mapping");
}

static void test_missing_required(void **state)
{
    (void)state;
    expect_error("kernel: k\n" GOOD_ARGV GOOD_READY, 1, "key 'name': required");
    expect_error("name: tiny\n" GOOD_ARGV GOOD_READY, 1, "key 'kernel': required");
    expect_error(GOOD_HEAD GOOD_READY, 1, "key 'qemu.argv': required");
    expect_error(GOOD_HEAD "qemu: {}\n" GOOD_READY, 3, "key 'qemu.argv': required");
    expect_error(GOOD_HEAD "qemu:\n  argv: []\n" GOOD_READY, 4,
                 "key 'qemu.argv': the list is empty");
    expect_error(GOOD_HEAD GOOD_ARGV, 1, "key 'ready': required");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers:\n  - {name: a}\n", 7,
                 "key 'markers[0].regex': required");
}

static void test_bad_values(void **state)
{
    (void)state;
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "mem_mib: lots\n", 6,
                 "key 'mem_mib': expected an integer in 1..1048576, got 'lots'");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "vcpus: 0\n", 6,
                 "key 'vcpus': expected an integer in 1..1024, got '0'");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "accel: hvf\n", 6,
                 "key 'accel': expected one of auto|kvm|tcg, got 'hvf'");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "exit_ok: [0, 300]\n", 6,
                 "key 'exit_ok': expected an integer in 0..255, got '300'");
    expect_error("name: 'a b'\nkernel: k\n" GOOD_ARGV GOOD_READY, 1,
                 "key 'name': expected letters");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers: x\n", 6,
                 "key 'markers': expected a list of {name, regex}, got a scalar");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: [a]\n", 5,
                 "key 'ready': expected a string, got a list");
    expect_error(GOOD_HEAD "qemu: [a]\n", 3,
                 "key 'qemu': expected a mapping with argv, got a list");
}

static void test_load_named_and_free(void **state)
{
    (void)state;
    struct profile p;
    char err[512];
    assert_int_equal(profile_load_named("guests", "../scenarios/default", &p, err, sizeof err), -1);
    assert_non_null(strstr(err, "'../scenarios/default'"));
    assert_int_equal(profile_load_named("/nonexistent", "x", &p, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.yaml: No such file or directory");

    struct profile zero;
    memset(&zero, 0, sizeof zero);
    profile_free(&zero); /* safe on a zeroed profile */
    assert_false(profile_exit_ok(&zero, 3));
    assert_true(profile_exit_ok(&zero, 0));
}

static void test_ready_forms(void **state)
{
    (void)state;
    struct profile p;
    char err[512];

    assert_int_equal(
        load_text(GOOD_HEAD GOOD_ARGV "ready: {debugcon: BSRDY}\n", &p, err, sizeof err), 0);
    assert_int_equal(p.ready_kind, READY_DEBUGCON);
    assert_string_equal(p.ready_bytes, "BSRDY");
    assert_null(p.ready.re);
    profile_free(&p);

    assert_int_equal(
        load_text(GOOD_HEAD GOOD_ARGV "ready: {exit: true}\nexit_ok: [1]\n", &p, err, sizeof err),
        0);
    assert_int_equal(p.ready_kind, READY_EXIT);
    assert_true(profile_exit_ok(&p, 1));
    assert_false(profile_exit_ok(&p, 0));
    profile_free(&p);

    assert_int_equal(load_text(GOOD_HEAD GOOD_ARGV "ready:\n  http: {}\n", &p, err, sizeof err), 0);
    assert_int_equal(p.ready_kind, READY_HTTP);
    assert_int_equal(p.http_port, 80);
    assert_string_equal(p.http_path, "/");
    assert_string_equal(p.http_addr, "10.0.2.15");
    assert_int_equal(p.http_status, 0);
    profile_free(&p);

    assert_int_equal(load_text(GOOD_HEAD "qemu:\n  argv: [q, 'hostfwd=tcp:127.0.0.1:{port}-"
                                         "{guest_addr}:{guest_port}']\n"
                                         "ready:\n  http: {port: 8080, path: /health, guest_addr: "
                                         "10.0.2.16, status: 204}\n",
                               &p, err, sizeof err),
                     0);
    assert_int_equal(p.http_port, 8080);
    assert_string_equal(p.http_path, "/health");
    assert_string_equal(p.http_addr, "10.0.2.16");
    assert_int_equal(p.http_status, 204);
    char buf[512], *argv[PROFILE_MAX_ARGS];
    struct profile_vars v = {.port = 40000};
    assert_int_equal(profile_render_argv(&p, &v, argv, buf, sizeof buf), 2);
    assert_string_equal(argv[1], "hostfwd=tcp:127.0.0.1:40000-10.0.2.16:8080");
    profile_free(&p);

    /* ready after a marker, markers after earlier ones; -1 where not given */
    assert_int_equal(load_text(GOOD_HEAD GOOD_ARGV
                               "ready: {regex: 'READY', after: b}\n"
                               "markers:\n  - {name: a, regex: A}\n  - {name: b, regex: B, "
                               "after: a}\n  - {name: c, regex: C}\n",
                               &p, err, sizeof err),
                     0);
    assert_int_equal(p.ready_kind, READY_CONSOLE);
    assert_int_equal(p.ready.after, 1);
    assert_int_equal(p.markers[0].after, -1);
    assert_int_equal(p.markers[1].after, 0);
    assert_int_equal(p.markers[2].after, -1);
    profile_free(&p);
}

static void test_ready_errors(void **state)
{
    (void)state;
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {debugcon: X, exit: true}\n", 5,
                 "key 'ready.exit': only one of regex, debugcon, http, exit");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {exit: yes}\n", 5, "key 'ready.exit': expected true");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {debugcon: ''}\n", 5,
                 "key 'ready.debugcon': the byte sequence is empty");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {probe: x}\n", 5, "key 'ready': unknown key 'probe'");
    expect_error(GOOD_HEAD GOOD_ARGV "ready:\n  http: {port: 70000}\n", 6,
                 "key 'ready.http.port': expected an integer in 1..65535");
    expect_error(GOOD_HEAD GOOD_ARGV "ready:\n  http: {path: x}\n", 6,
                 "key 'ready.http.path': expected an absolute path");
    expect_error(GOOD_HEAD GOOD_ARGV "ready:\n  http: {verb: GET}\n", 6,
                 "key 'ready.http.verb': unknown key");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {after: a}\n", 5,
                 "key 'ready': expected one of regex, debugcon, http, exit");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {regex: R, after: nope}\n", 5,
                 "key 'ready.after': no marker named 'nope'");
    expect_error(GOOD_HEAD GOOD_ARGV "ready: {exit: true, after: a}\n"
                                     "markers:\n  - {name: a, regex: A}\n",
                 5, "key 'ready.after': only with");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers:\n  - {name: a, regex: A, after: b}\n"
                                                "  - {name: b, regex: B}\n",
                 7, "key 'markers[0].after': 'b' is not an earlier marker");
    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "markers:\n  - {name: a, regex: A, after: a}\n", 7,
                 "key 'markers[0].after': 'a' is not an earlier marker");
}

static void test_new_keys(void **state)
{
    (void)state;
    struct profile p;
    char err[512], buf[1024], *argv[PROFILE_MAX_ARGS];

    static const char text[] =
        "name: lx\nstatus: untested\nkernel: vmlinux\ninitrd: initrd.gz\ndisk: d.img\n"
        "qemu:\n  binary: /opt/qemu/bin/qemu-system-x86_64\n"
        "  argv: [qemu, -initrd, '{initrd}', -drive, 'file={disk}', -chardev, "
        "'file,id=d,path={debugcon}', -serial, '{console}']\n"
        "ready: R\n";
    assert_int_equal(load_text(text, &p, err, sizeof err), 0);
    assert_string_equal(p.status, "untested");
    assert_string_equal(p.initrd, "initrd.gz");
    assert_string_equal(p.disk, "d.img");
    assert_string_equal(p.binary, "/opt/qemu/bin/qemu-system-x86_64");
    struct profile_vars v = {.debugcon = "/dev/fd/3", .console = "/tmp/c"};
    assert_int_equal(profile_render_argv(&p, &v, argv, buf, sizeof buf), 9);
    assert_string_equal(argv[0], "/opt/qemu/bin/qemu-system-x86_64"); /* binary wins */
    assert_string_equal(argv[2], "initrd.gz"); /* unset var: the profile's own value */
    assert_string_equal(argv[4], "file=d.img");
    assert_string_equal(argv[6], "file,id=d,path=/dev/fd/3");
    assert_string_equal(argv[8], "/tmp/c");
    v.initrd = "/img/initrd.gz";
    v.disk = "/img/d.img";
    assert_int_equal(profile_render_argv(&p, &v, argv, buf, sizeof buf), 9);
    assert_string_equal(argv[2], "/img/initrd.gz");
    assert_string_equal(argv[4], "file=/img/d.img");
    assert_null(profile_render_xml(&p, &v)); /* no libvirt template */
    profile_free(&p);

    expect_error(GOOD_HEAD GOOD_ARGV GOOD_READY "status: maybe\n", 6,
                 "key 'status': expected tested or untested, got 'maybe'");
    expect_error(GOOD_HEAD "qemu:\n  argv: [q, -initrd, '{initrd}']\n" GOOD_READY, 4,
                 "key 'initrd': required by {initrd} in qemu.argv");
    expect_error(GOOD_HEAD "qemu:\n  argv: [q, 'file={disk}']\n" GOOD_READY, 4,
                 "key 'disk': required by {disk} in qemu.argv");
    expect_error(GOOD_HEAD "qemu:\n  binary: ''\n  argv: [q]\n" GOOD_READY, 4,
                 "key 'qemu.binary': the program name is empty");
}

static void test_libvirt_xml(void **state)
{
    (void)state;
    struct profile p;
    char err[512];

    static const char text[] =
        "name: mini\nkernel: mini-os.gz\nmem_mib: 32\ncmdline: 'a<b & \"c\"'\n"
        "libvirt:\n  xml: |\n    <domain type='xen'><name>{name}</name>"
        "<memory unit='MiB'>{mem}</memory>\n    <os><kernel>{kernel}</kernel>"
        "<cmdline>{cmdline}</cmdline></os></domain>\n"
        "ready: 'Mini-OS'\n";
    assert_int_equal(load_text(text, &p, err, sizeof err), 0);
    assert_int_equal(p.argc, 0); /* libvirt only: no qemu argv needed */
    struct profile_vars v = {.kernel = "/img/mini-os.gz", .name = "bs-r-1"};
    char *x = profile_render_xml(&p, &v);
    assert_non_null(x);
    assert_string_equal(x, "<domain type='xen'><name>bs-r-1</name><memory unit='MiB'>32</memory>\n"
                           "<os><kernel>/img/mini-os.gz</kernel><cmdline>a&lt;b &amp; "
                           "&quot;c&quot;</cmdline></os></domain>\n");
    free(x);
    profile_free(&p);

    expect_error("name: m\nkernel: k\nlibvirt:\n  xml: '<domain>{kernal}</domain>'\nready: R\n", 4,
                 "key 'libvirt.xml': unknown placeholder {kernal}");
    expect_error("name: m\nkernel: k\nlibvirt:\n  xml: '<d>{initrd}</d>'\nready: R\n", 4,
                 "key 'initrd': required by {initrd} in libvirt.xml");
    expect_error("name: m\nkernel: k\nlibvirt:\n  uri: x\nready: R\n", 4,
                 "key 'libvirt': unknown key 'uri'");
}

/* Billion laughs through a guest profile (issue 11): refused at the first alias, in
 * microseconds and without expanding anything. */
static void test_alias_bomb(void **state)
{
    (void)state;
    expect_error("a: &a [x,x,x,x,x,x,x,x,x]\n"
                 "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                 "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                 "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                 "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
                 "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
                 "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
                 "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
                 "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
                 "name: bomb\nargs: *i\n",
                 2, "YAML aliases (*name) are not allowed in config files");
}

/* Found by fuzz_profile: the 2-byte "%\xaa" hung libfyaml 0.7.12 (a directive with
 * invalid UTF-8); refused before parsing now. */
static void test_not_utf8(void **state)
{
    (void)state;
    expect_error("%\xaa", 1, "not valid UTF-8 (a config file must be UTF-8 text)");
    /* found by fuzz_profile: a tab in a complex key crashed libfyaml 0.7.12 (SIGSEGV) */
    expect_error("#e\nlibvirt:\n ? ml: \t", 3, "a tab character");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alias_bomb),          cmocka_unit_test(test_not_utf8),
        cmocka_unit_test(test_all_shipped_load),    cmocka_unit_test(test_minkernel),
        cmocka_unit_test(test_process_profile),     cmocka_unit_test(test_render_argv),
        cmocka_unit_test(test_restore_ready),       cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_bad_regex),           cmocka_unit_test(test_bad_placeholder),
        cmocka_unit_test(test_missing_required),    cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_load_named_and_free), cmocka_unit_test(test_ready_forms),
        cmocka_unit_test(test_ready_errors),        cmocka_unit_test(test_new_keys),
        cmocka_unit_test(test_libvirt_xml),         cmocka_unit_test(test_container_profile),
        cmocka_unit_test(test_untested_profiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
