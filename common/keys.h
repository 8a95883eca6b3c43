/* Every Redis key name bootstorm uses (redis/SCHEMA.md), built in one place. The Redis
 * Function has the same builders in its KEY table (redis/bootstorm.lua);
 * tests/unit/test_keys.c compares the two. Not for what the keys hold (SCHEMA.md). */
#ifndef BS_KEYS_H
#define BS_KEYS_H

#include <stddef.h>

#define KEY_MAX 256 /* room for any key: ids are < BS_ID_MAX */

#define KEY_RUNS "bs:runs"           /* zset of runs */
#define KEY_HOSTS "bs:hosts"         /* set of host ids */
#define KEY_POOLS "bs:pools"         /* set of pool names */
#define KEY_COLLECTOR "bs:collector" /* the collector's own counters */

/* The per-run keys without a host or guest part: bs:{RUN}:NAME. */
enum key_run {
    KEY_META,
    KEY_SEQ,
    KEY_EV,
    KEY_BOOT,
    KEY_LAG,
    KEY_AGG,
    KEY_LINES,
    KEY_RUN_COUNT
};

/* The NAME of a per-run key ("meta" for KEY_META); NULL when out of range. */
const char *keys_run_name(enum key_run which);

/* Each builder writes the key into buf (cap bytes, NUL included) and returns its
 * length, or -1 when it did not fit (buf then holds a truncated name: do not use it). */
int keys_run(char *buf, size_t cap, const char *run, enum key_run which);     /* bs:{RUN}:NAME */
int keys_run_named(char *buf, size_t cap, const char *run, const char *name); /* bs:{RUN}:NAME */
int keys_hagg(char *buf, size_t cap, const char *run, const char *host);   /* :hagg:HOST */
int keys_mem(char *buf, size_t cap, const char *run, const char *host);    /* :mem:HOST */
int keys_host(char *buf, size_t cap, const char *host); /* bs:host:HOST */
int keys_pool(char *buf, size_t cap, const char *pool); /* bs:pool:NAME */

#endif
