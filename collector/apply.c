/* Launcher event -> Redis commands. Run events go to the bs_apply Function with the
 * type's own fields as K V pairs; the field list comes from the codec itself (the
 * event is re-encoded and the map walked), so there is one table of fields: event.c's. */
#include "apply.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"

/* Keys the Function gets positionally (HOST SEQ TYPE) or through KEYS[1] (run). */
static int is_positional(const msgpack_object *k)
{
    static const char *const skip[] = {"v", "type", "host", "seq", "run"};
    for (size_t i = 0; i < sizeof skip / sizeof skip[0]; i++)
        if (k->via.str.size == strlen(skip[i]) && !memcmp(k->via.str.ptr, skip[i], k->via.str.size))
            return 1;
    return 0;
}

static int append_fcall(redisContext *r, const struct ev *e)
{
    char buf[4096];
    int n = ev_encode(e, buf, sizeof buf);
    if (n < 0)
        return -1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = -1;
    if (msgpack_unpack_next(&u, buf, (size_t)n, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP)
        goto out;

    struct cmd c;
    cmd_init(&c);
    cmd_str(&c, "FCALL");
    cmd_str(&c, "bs_apply");
    cmd_str(&c, "1");
    cmd_fmt(&c, "bs:{%s}:meta", e->run);
    cmd_str(&c, e->host);
    cmd_int(&c, e->seq);
    cmd_str(&c, ev_type_name(e->type));
    const msgpack_object_map *m = &u.data.via.map;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR || is_positional(k))
            continue;
        cmd_ref(&c, k->via.str.ptr, k->via.str.size);
        if (v->type == MSGPACK_OBJECT_STR)
            cmd_ref(&c, v->via.str.ptr, v->via.str.size);
        else if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
            cmd_fmt(&c, "%llu", (unsigned long long)v->via.u64);
        else if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
            cmd_fmt(&c, "%lld", (long long)v->via.i64);
        else
            goto out; /* ev_encode writes nothing else */
    }
    rc = cmd_append(r, &c) < 0 ? -1 : 1;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

static int append_hello(redisContext *r, const struct ev *e, int64_t now_tr)
{
    char key[BS_ID_MAX + 16];
    snprintf(key, sizeof key, "bs:host:%s", e->host);
    struct cmd c;
    cmd_init(&c);
    cmd_str(&c, "HSET");
    cmd_str(&c, key);
    cmd_str(&c, "cores");
    cmd_int(&c, e->cores);
    cmd_str(&c, "mem_total_kib");
    cmd_int(&c, e->mem_total_kib);
    cmd_str(&c, "kvm");
    cmd_int(&c, e->kvm);
    cmd_str(&c, "backends");
    cmd_str(&c, e->backends);
    cmd_str(&c, "version");
    cmd_str(&c, e->version);
    cmd_str(&c, "last_seen_tr");
    cmd_int(&c, now_tr);
    cmd_str(&c, "state");
    cmd_str(&c, "up");
    if (cmd_append(r, &c) < 0)
        return -1;
    cmd_init(&c);
    cmd_str(&c, "HSETNX");
    cmd_str(&c, key);
    cmd_str(&c, "first_seen_tr");
    cmd_int(&c, now_tr);
    if (cmd_append(r, &c) < 0)
        return -1;
    cmd_init(&c);
    cmd_str(&c, "SADD");
    cmd_str(&c, "bs:hosts");
    cmd_str(&c, e->host);
    return cmd_append(r, &c) < 0 ? -1 : 3;
}

static int append_heartbeat(redisContext *r, const struct ev *e, int64_t now_tr)
{
    struct cmd c;
    cmd_init(&c);
    cmd_str(&c, "HSET");
    cmd_fmt(&c, "bs:host:%s", e->host);
    cmd_str(&c, "last_seen_tr");
    cmd_int(&c, now_tr);
    cmd_str(&c, "state");
    cmd_str(&c, "up");
    return cmd_append(r, &c) < 0 ? -1 : 1;
}

int apply_append(redisContext *r, const struct ev *e, int64_t now_tr)
{
    if (e->type == EV_HELLO)
        return append_hello(r, e, now_tr);
    if (e->type == EV_HEARTBEAT)
        return append_heartbeat(r, e, now_tr);
    return append_fcall(r, e);
}

int apply_fcall_result(const redisReply *r)
{
    if (!r || r->type != REDIS_REPLY_INTEGER)
        return -1;
    return r->integer == 1;
}
