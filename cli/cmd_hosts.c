/* `bootstorm hosts`, `pool` and `keys`: the registry as the collector keeps it
 * (bs:hosts, bs:host:HOST), named pools a run can target (bs:pool:NAME), CURVE keys.
 * Not for runs (cmd_run) nor for the collector's own registry code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zmq.h>

#include "agg.h"
#include "args.h"
#include "bzmq.h"
#include "clock.h"
#include "cmd.h"
#include "keys.h"
#include "yamlcfg.h"

#include <hiredis/hiredis.h>

static const char *field(const redisReply *r, size_t i)
{
    return i < r->elements && r->element[i]->type == REDIS_REPLY_STRING ? r->element[i]->str : NULL;
}

/* The pools host belongs to, comma-separated, into out. */
static void pools_of(redisContext *c, const redisReply *pools, const char *host, char *out,
                     size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; pools && i < pools->elements; i++) {
        const char *p = field(pools, i);
        char key[KEY_MAX];
        redisReply *m = p && keys_pool(key, sizeof key, p) >= 0
                            ? redisCommand(c, "SISMEMBER %s %s", key, host)
                            : NULL;
        if (m && m->type == REDIS_REPLY_INTEGER && m->integer == 1) {
            size_t n = strlen(out);
            snprintf(out + n, cap - n, "%s%s", n ? "," : "", p);
        }
        if (m)
            freeReplyObject(m);
    }
}

static const char hosts_usage[] =
    "usage: bootstorm hosts [--json]\n"
    "  launchers in the registry: state, cores, memory, KVM, clock offset, pools;\n"
    "  --json: one JSON array\n";

/* One host's registry fields (HMGET order) with the pools it belongs to. */
enum { HF_STATE, HF_CORES, HF_MEM, HF_KVM, HF_OFF, HF_ERR, HF_SEEN, HF_N };

static redisReply *host_fields(redisContext *c, const char *h)
{
    char key[KEY_MAX];
    if (keys_host(key, sizeof key, h) < 0)
        return NULL;
    redisReply *r = redisCommand(c,
                                 "HMGET %s state cores mem_total_kib kvm offset_ns "
                                 "offset_err_ns last_seen_tr",
                                 key);
    if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != HF_N)) {
        freeReplyObject(r);
        r = NULL;
    }
    return r;
}

static void print_host(const char *h, const redisReply *r, const char *in)
{
    char off[48] = "-", seen[32] = "-";
    if (field(r, HF_OFF) && field(r, HF_ERR))
        snprintf(off, sizeof off, "%+.3f +-%.3f", atof(field(r, HF_OFF)) / 1e6,
                 atof(field(r, HF_ERR)) / 1e6);
    if (field(r, HF_SEEN))
        real_format((real_ns){atoll(field(r, HF_SEEN))}, seen, sizeof seen);
    printf("%-20s  %-7s  %5s  %9lld  %3s  %-18s  %-14s  %s\n", h,
           field(r, HF_STATE) ? field(r, HF_STATE) : "-",
           field(r, HF_CORES) ? field(r, HF_CORES) : "-",
           field(r, HF_MEM) ? atoll(field(r, HF_MEM)) / 1024 : 0,
           field(r, HF_KVM) ? field(r, HF_KVM) : "-", off, strlen(seen) > 11 ? seen + 11 : seen,
           in[0] ? in : "-");
}

/* A registry string as JSON (null when absent), or a number when it reads as one. */
static json_t *jfield(const redisReply *r, size_t i, double scale)
{
    const char *v = field(r, i);
    char *end;
    if (!v)
        return json_null();
    if (scale == 0)
        return agg_json_string(v);
    double d = strtod(v, &end);
    return end != v && !*end ? agg_json_number(d / scale, 1) : json_null();
}

static json_t *host_json(const char *h, const redisReply *r, const char *in)
{
    return json_pack("{so,so,so,so,so,so,so,so,so}", "host", agg_json_string(h), "state",
                     jfield(r, HF_STATE, 0), "cores", jfield(r, HF_CORES, 1), "mem_mib",
                     jfield(r, HF_MEM, 1024), "kvm", jfield(r, HF_KVM, 1), "clock_offset_ms",
                     jfield(r, HF_OFF, 1e6), "clock_err_ms", jfield(r, HF_ERR, 1e6), "last_seen_tr",
                     jfield(r, HF_SEEN, 1), "pools", agg_json_string(in));
}

/* Lists every host of bs:hosts as a table or, when all is non-NULL, into that JSON
 * array. Returns an exit code. */
static int list_hosts(redisContext *c, const redisReply *hs, const redisReply *pools, json_t *all)
{
    if (!all)
        printf("%-20s  %-7s  %5s  %9s  %3s  %-18s  %-14s  %s\n", "host", "state", "cores",
               "mem MiB", "kvm", "clock offset ms", "last seen", "pools");
    for (size_t i = 0; i < hs->elements; i++) {
        const char *h = field(hs, i);
        char in[256];
        if (!h)
            continue;
        redisReply *r = host_fields(c, h);
        if (!r)
            return ARGS_USAGE;
        pools_of(c, pools, h, in, sizeof in);
        int bad = 0;
        if (!all)
            print_host(h, r, in);
        else
            bad = json_array_append_new(all, host_json(h, r, in)) < 0;
        freeReplyObject(r);
        if (bad)
            return ARGS_FAIL;
    }
    return ARGS_OK;
}

static const struct option hosts_opts[] = {
    {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

int cmd_hosts(int argc, char **argv, const char *redis_url)
{
    int json = 0, ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "jh", hosts_opts, NULL)) != -1) {
        if (ch == 'j')
            json = 1;
        else
            return args_usage(hosts_usage, ch == 'h');
    }
    if (optind < argc)
        return args_bad("hosts", hosts_usage, "unexpected argument", argv[optind]);
    redisContext *c = cmd_connect("hosts", redis_url);
    if (!c)
        return ARGS_USAGE;
    redisReply *hs = redisCommand(c, "SORT %s ALPHA", KEY_HOSTS);
    redisReply *pools = redisCommand(c, "SORT %s ALPHA", KEY_POOLS);
    json_t *all = json ? json_array() : NULL;
    int rc = ARGS_USAGE;
    if (!hs || hs->type != REDIS_REPLY_ARRAY)
        fprintf(stderr, "bootstorm hosts: redis: %s\n", hs ? hs->str : c->errstr);
    else
        rc = list_hosts(c, hs, pools && pools->type == REDIS_REPLY_ARRAY ? pools : NULL, all);
    if (json && rc == ARGS_OK && agg_json_dump(json_incref(all), stdout) < 0)
        rc = ARGS_FAIL;
    json_decref(all);
    if (hs)
        freeReplyObject(hs);
    if (pools)
        freeReplyObject(pools);
    redisFree(c);
    return rc;
}

static int pool_usage(FILE *f)
{
    fputs("usage: bootstorm pool add NAME HOST...   add hosts to pool NAME "
          "(created if new)\n"
          "       bootstorm pool rm NAME [HOST...]  remove hosts from it, or the "
          "whole pool\n"
          "       bootstorm pool list [NAME]        pools and their hosts\n"
          "A run targets a pool with --hosts pool:NAME (or NAME when no host has "
          "that name).\n",
          f);
    return f == stdout ? ARGS_OK : ARGS_USAGE;
}

/* Runs a command whose reply should not be an error; 0 or -1 after printing
 * why. */
static int ok_cmd(redisContext *c, redisReply *r)
{
    int ok = r && r->type != REDIS_REPLY_ERROR;
    if (!ok)
        fprintf(stderr, "bootstorm pool: redis: %s\n", r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return ok ? 0 : -1;
}

static int pool_list(redisContext *c, const char *only)
{
    redisReply *ps = only ? NULL : redisCommand(c, "SORT %s ALPHA", KEY_POOLS);
    if (!only && (!ps || ps->type != REDIS_REPLY_ARRAY))
        return ok_cmd(c, ps) < 0 ? 2 : 2;
    size_t n = only ? 1 : ps->elements;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        const char *p = only ? only : field(ps, i);
        char key[KEY_MAX];
        redisReply *m =
            p && keys_pool(key, sizeof key, p) >= 0 ? redisCommand(c, "SORT %s ALPHA", key) : NULL;
        if (!m || m->type != REDIS_REPLY_ARRAY) {
            rc = 2;
        } else if (only && m->elements == 0) {
            fprintf(stderr, "bootstorm pool: no pool '%s'\n", only);
            rc = 1;
        } else {
            printf("%s:", p);
            for (size_t j = 0; j < m->elements; j++)
                printf("%s%s", j ? "," : " ", field(m, j) ? field(m, j) : "?");
            printf("\n");
        }
        if (m)
            freeReplyObject(m);
    }
    if (ps)
        freeReplyObject(ps);
    return rc;
}

/* pool add NAME HOST...: the hosts need not have said hello yet (noted). */
static int pool_add(redisContext *c, const char *name, char **hosts, int n)
{
    int rc = ARGS_OK;
    char key[KEY_MAX];
    keys_pool(key, sizeof key, name); /* fits: cmd_pool checked the name */
    for (int i = 0; i < n && !rc; i++) {
        redisReply *k = redisCommand(c, "SISMEMBER %s %s", KEY_HOSTS, hosts[i]);
        if (k && k->type == REDIS_REPLY_INTEGER && k->integer == 0)
            fprintf(stderr, "bootstorm pool: note: host '%s' has not said hello yet\n", hosts[i]);
        if (k)
            freeReplyObject(k);
        rc = ok_cmd(c, redisCommand(c, "SADD %s %s", key, hosts[i])) < 0 ? ARGS_USAGE : 0;
    }
    if (!rc)
        rc = ok_cmd(c, redisCommand(c, "SADD %s %s", KEY_POOLS, name)) < 0 ? ARGS_USAGE : 0;
    return rc;
}

/* pool rm NAME [HOST...]: the whole pool, or some hosts (an emptied pool goes too). */
static int pool_rm(redisContext *c, const char *name, char **hosts, int n)
{
    int rc = ARGS_OK;
    char key[KEY_MAX];
    keys_pool(key, sizeof key, name); /* fits: cmd_pool checked the name */
    if (!n)
        return ok_cmd(c, redisCommand(c, "DEL %s", key)) < 0 ||
                       ok_cmd(c, redisCommand(c, "SREM %s %s", KEY_POOLS, name)) < 0
                   ? ARGS_USAGE
                   : ARGS_OK;
    for (int i = 0; i < n && !rc; i++)
        rc = ok_cmd(c, redisCommand(c, "SREM %s %s", key, hosts[i])) < 0 ? ARGS_USAGE : 0;
    redisReply *k = redisCommand(c, "SCARD %s", key); /* empty: gone with its set */
    if (k && k->type == REDIS_REPLY_INTEGER && k->integer == 0)
        ok_cmd(c, redisCommand(c, "SREM %s %s", KEY_POOLS, name));
    if (k)
        freeReplyObject(k);
    return rc;
}

static const struct option help_opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};

/* Only --help among the options of pool and keys; returns -1 to go on (operands from
 * argv[optind]), else the exit code. */
static int help_only(int argc, char **argv, int (*usage)(FILE *))
{
    optind = 0;
    int c = getopt_long(argc, argv, "h", help_opts, NULL);
    return c == -1 ? -1 : usage(c == 'h' ? stdout : stderr);
}

int cmd_pool(int argc, char **argv, const char *redis_url)
{
    int rc = help_only(argc, argv, pool_usage);
    if (rc >= 0)
        return rc;
    argc -= optind - 1, argv += optind - 1; /* argv[1] is the operation */
    if (argc < 2)
        return pool_usage(stderr);
    const char *op = argv[1], *name = argc > 2 ? argv[2] : NULL;
    int add = !strcmp(op, "add"), rm = !strcmp(op, "rm"), list = !strcmp(op, "list");
    if (!(add || rm || list) || ((add || rm) && !name) || (add && argc < 4) || (list && argc > 3))
        return pool_usage(stderr);
    char err[256];
    for (int i = 2; i < argc; i++)
        if (ycfg_id_check(i == 2 ? "pool name" : "host id", argv[i], err, sizeof err) < 0) {
            fprintf(stderr, "bootstorm pool: %s\n", err);
            return ARGS_USAGE;
        }
    if (name && !strcmp(name, "all")) {
        fprintf(stderr, "bootstorm pool: 'all' means every host; pick another pool name\n");
        return ARGS_USAGE;
    }
    redisContext *c = cmd_connect("pool", redis_url);
    if (!c)
        return ARGS_USAGE;
    if (list)
        rc = pool_list(c, name);
    else if (add)
        rc = pool_add(c, name, argv + 3, argc - 3);
    else
        rc = pool_rm(c, name, argv + 3, argc - 3);
    redisFree(c);
    return rc;
}

static int keys_usage(FILE *f)
{
    fputs("usage: bootstorm keys gen DIR\n"
          "  writes DIR/server.key (the collector's pair, mode 600: --curve-secret),\n"
          "  DIR/server.pub (its public key: --curve-server-key for launchers and the CLI)\n"
          "  and DIR/client.key (a pair for launchers and the CLI: --curve-keys)\n",
          f);
    return f == stdout ? ARGS_OK : ARGS_USAGE;
}

int cmd_keys(int argc, char **argv)
{
    int rc = help_only(argc, argv, keys_usage);
    if (rc >= 0)
        return rc;
    argc -= optind - 1, argv += optind - 1;
    if (argc != 3 || strcmp(argv[1], "gen"))
        return keys_usage(stderr);
    if (!bzmq_has_curve()) {
        fprintf(stderr, "bootstorm keys: this libzmq has no CURVE support\n");
        return 2;
    }
    const char *dir = argv[2];
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "bootstorm keys: %s: %s\n", dir, strerror(errno));
        return 2;
    }
    char spub[BZMQ_KEY_LEN], ssec[BZMQ_KEY_LEN], cpub[BZMQ_KEY_LEN], csec[BZMQ_KEY_LEN];
    char path[3][4096], err[512];
    snprintf(path[0], sizeof path[0], "%s/server.key", dir);
    snprintf(path[1], sizeof path[1], "%s/server.pub", dir);
    snprintf(path[2], sizeof path[2], "%s/client.key", dir);
    if (zmq_curve_keypair(spub, ssec) < 0 || zmq_curve_keypair(cpub, csec) < 0) {
        fprintf(stderr, "bootstorm keys: zmq_curve_keypair: %s\n", zmq_strerror(errno));
        return 2;
    }
    if (bzmq_key_write(path[0], spub, ssec, err, sizeof err) < 0 ||
        bzmq_key_write(path[1], spub, NULL, err, sizeof err) < 0 ||
        bzmq_key_write(path[2], cpub, csec, err, sizeof err) < 0) {
        fprintf(stderr, "bootstorm keys: %s\n", err);
        return 2;
    }
    printf("%s\n%s\n%s\n", path[0], path[1], path[2]);
    return 0;
}
