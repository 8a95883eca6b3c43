/* MessagePack codec for struct ev, driven by one table of fields: key, C type,
 * offset, range, and which message types require or allow the key. */
#include "event.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

#include "bslimits.h"
#include "mpcheck.h"

#define B(t) (1u << (t))
#define ALL_TYPES (B(EV_TYPE_COUNT) - 2u) /* every type but EV_NONE */
#define LAUNCHER_EVENTS                                                                            \
    (B(EV_HELLO) | B(EV_HEARTBEAT) | B(EV_RUN_START) | B(EV_SPAWN) | B(EV_SPAWNED) |               \
     B(EV_FIRST_OUTPUT) | B(EV_MARKER) | B(EV_READY) | B(EV_EXIT) | B(EV_FAILED) | B(EV_MEM) |     \
     B(EV_RUN_END) | B(EV_LINE) | B(EV_RESTART) | B(EV_LOST) | B(EV_PREPARED))
#define RUN_EVENTS (LAUNCHER_EVENTS & ~(B(EV_HELLO) | B(EV_HEARTBEAT) | B(EV_LOST)))
#define GUEST_EVENTS                                                                               \
    (B(EV_SPAWN) | B(EV_SPAWNED) | B(EV_FIRST_OUTPUT) | B(EV_MARKER) | B(EV_READY) | B(EV_EXIT) |  \
     B(EV_FAILED) | B(EV_LINE))
#define SCENARIO_FIELDS (B(EV_START) | B(EV_RUN_START))

static const char *type_names[EV_TYPE_COUNT] = {
    [EV_NONE] = "?",
    [EV_HELLO] = "hello",
    [EV_HEARTBEAT] = "heartbeat",
    [EV_RUN_START] = "run_start",
    [EV_SPAWN] = "spawn",
    [EV_SPAWNED] = "spawned",
    [EV_FIRST_OUTPUT] = "first_output",
    [EV_MARKER] = "marker",
    [EV_READY] = "ready",
    [EV_EXIT] = "exit",
    [EV_FAILED] = "failed",
    [EV_MEM] = "mem",
    [EV_RUN_END] = "run_end",
    [EV_LINE] = "line",
    [EV_RESTART] = "restart",
    [EV_LOST] = "lost",
    [EV_ACK] = "ack",
    [EV_START] = "start",
    [EV_ABORT] = "abort",
    [EV_REPLY] = "reply",
    [EV_PING] = "ping",
    [EV_PONG] = "pong",
    [EV_PREPARED] = "prepared",
    [EV_GO] = "go",
};

enum field_kind { F_INT, F_STR };

struct field {
    const char *key;
    enum field_kind kind;
    size_t off;
    size_t cap; /* F_STR: buffer size including the NUL */
    int64_t min, max;
    uint32_t req; /* types that must carry the key */
    uint32_t opt; /* types that may carry it (encoded always, defaulted on decode) */
};

#define I(k, m, lo, hi, r, o)                                                                      \
    {                                                                                              \
#k, F_INT, offsetof(struct ev, m), 0, lo, hi, r, o                                         \
    }
#define S(k, r, o)                                                                                 \
    {                                                                                              \
#k, F_STR, offsetof(struct ev, k), sizeof(((struct ev *)0)->k), 0, 0, r, o                 \
    }

/* "v" and "type" are handled before the table; their order is fixed on the wire. */
static const struct field fields[] = {
    S(host, LAUNCHER_EVENTS | B(EV_PONG), B(EV_START) | B(EV_ACK)),
    I(seq, seq, 1, INT64_MAX, LAUNCHER_EVENTS, 0),
    I(tm, tm.ns, 0, INT64_MAX, LAUNCHER_EVENTS,
      B(EV_START) | B(EV_ABORT) | B(EV_REPLY) | B(EV_ACK) | B(EV_GO)),
    I(tr, tr.ns, 0, INT64_MAX, LAUNCHER_EVENTS,
      B(EV_START) | B(EV_ABORT) | B(EV_REPLY) | B(EV_ACK) | B(EV_GO)),
    S(run, RUN_EVENTS | B(EV_START) | B(EV_ABORT) | B(EV_GO), B(EV_REPLY) | B(EV_LOST)),
    I(guest, guest, 0, LIM_GUEST_MAX, GUEST_EVENTS, 0),
    I(pid, pid, 1, INT32_MAX, B(EV_SPAWNED), 0),
    I(status, status, INT32_MIN, INT32_MAX, B(EV_EXIT), 0),
    I(running, running, 0, LIM_GUEST_MAX, B(EV_SPAWN) | B(EV_MEM), 0),
    I(lag_ns, lag_ns, 0, INT64_MAX, 0, B(EV_SPAWN)),
    I(boot_ns, boot_ns, 0, INT64_MAX, B(EV_READY), 0),
    I(mem_used_kib, mem_used_kib, 0, INT64_MAX, B(EV_MEM), B(EV_RUN_START)),
    I(rss_kib, rss_kib, 0, INT64_MAX, B(EV_MEM), B(EV_EXIT) | B(EV_FAILED) | B(EV_RUN_END)),
    I(cpu_ms, cpu_ms, 0, INT64_MAX, 0, B(EV_RUN_END) | B(EV_EXIT) | B(EV_FAILED)),
    I(cores, cores, 1, LIM_CORES_MAX, B(EV_HELLO), 0),
    I(mem_total_kib, mem_total_kib, 0, INT64_MAX, B(EV_HELLO), 0),
    I(kvm, kvm, 0, 1, B(EV_HELLO), B(EV_RUN_START)),
    I(prio, prio, 0, 1, 0, B(EV_RUN_START)),
    I(count, count, 0, LIM_COUNT_MAX, SCENARIO_FIELDS | B(EV_RESTART), B(EV_REPLY)),
    I(interval_ms, interval_ms, 0, LIM_INTERVAL_MS_MAX, 0, SCENARIO_FIELDS),
    I(hold_s, hold_s, 0, LIM_HOLD_S_MAX, 0, SCENARIO_FIELDS),
    I(timeout_s, timeout_s, LIM_TIMEOUT_S_MIN, LIM_TIMEOUT_S_MAX, SCENARIO_FIELDS, 0),
    I(sample_ms, sample_ms, 0, LIM_SAMPLE_MS_MAX, 0, SCENARIO_FIELDS),
    I(pss_guests, pss_guests, 0, LIM_PSS_GUESTS_MAX, 0, SCENARIO_FIELDS),
    I(at, at, 0, INT64_MAX, B(EV_GO), B(EV_START)),
    I(ready, ready, 0, LIM_TALLY_MAX, B(EV_RUN_END), 0),
    I(failed, failed, 0, LIM_TALLY_MAX, B(EV_RUN_END), 0),
    I(ack, ack, 0, INT64_MAX, B(EV_ACK), 0),
    I(ok, ok, 0, 1, B(EV_REPLY), 0),
    S(name, B(EV_MARKER), 0),
    S(reason, B(EV_FAILED), 0),
    S(detail, 0, B(EV_FAILED) | B(EV_EXIT) | B(EV_SPAWNED)),
    S(kind, SCENARIO_FIELDS, 0),
    S(backend, SCENARIO_FIELDS, 0),
    S(accel, SCENARIO_FIELDS, B(EV_SPAWNED)),
    S(pattern, SCENARIO_FIELDS, 0),
    S(backends, B(EV_HELLO), 0),
    S(version, B(EV_HELLO), 0),
    S(hosts, 0, B(EV_START) | B(EV_REPLY)),
    S(error, 0, B(EV_RUN_END) | B(EV_REPLY)),
    I(concurrency, concurrency, 0, LIM_CONCURRENCY_MAX, 0, SCENARIO_FIELDS),
    I(restart_after_ms, restart_after_ms, 0, LIM_RESTART_AFTER_MS_MAX, 0, SCENARIO_FIELDS),
    I(restart_permille, restart_permille, 0, LIM_PERMILLE_MAX, 0, SCENARIO_FIELDS),
    I(trace, trace, 0, 1, 0, SCENARIO_FIELDS),
    I(spawn_ns, spawn_ns, 0, INT64_MAX, 0, B(EV_SPAWNED)),
    I(pss_kib, pss_kib, 0, INT64_MAX, 0, B(EV_MEM)),
    I(pss_n, pss_n, 0, LIM_GUEST_MAX, 0, B(EV_MEM)),
    I(guest_cpu_ms, guest_cpu_ms, 0, INT64_MAX, 0, B(EV_MEM)),
    I(ram_kib, ram_kib, 0, INT64_MAX, 0, B(EV_EXIT)),
    I(prev, prev, 0, INT64_MAX, 0, RUN_EVENTS),
    S(ramp, 0, B(EV_START)),
    S(split, 0, B(EV_START)),
    S(text, B(EV_LINE), 0),
    I(t1, t1, 0, INT64_MAX, B(EV_PING) | B(EV_PONG), 0),
    I(t2, t2, 0, INT64_MAX, B(EV_PONG), 0),
    I(t3, t3, 0, INT64_MAX, B(EV_PONG), 0),
    I(from, from, 1, INT64_MAX, B(EV_LOST), 0),
    I(lost, lost, 0, INT64_MAX, B(EV_LOST), 0),
    S(start, 0, SCENARIO_FIELDS),
    S(snapshot_file, 0, B(EV_START)),
    I(prep_ns, prep_ns, 0, INT64_MAX, 0, B(EV_RUN_END) | B(EV_PREPARED)),
    I(state_kib, state_kib, 0, INT64_MAX, 0, B(EV_RUN_END) | B(EV_PREPARED)),
};
#define NFIELDS (sizeof fields / sizeof fields[0])

void ev_init(struct ev *e, enum ev_type type)
{
    memset(e, 0, sizeof *e);
    e->type = type;
    e->v = BS_PROTO_VERSION;
    e->guest = -1;
}

const char *ev_type_name(enum ev_type type)
{
    if ((int)type <= EV_NONE || type >= EV_TYPE_COUNT)
        return "?";
    return type_names[type];
}

int ev_field_range(const char *key, int64_t *min, int64_t *max)
{
    for (size_t i = 0; i < NFIELDS; i++)
        if (fields[i].kind == F_INT && !strcmp(fields[i].key, key)) {
            *min = fields[i].min;
            *max = fields[i].max;
            return 0;
        }
    return -1;
}

int ev_is_launcher_event(enum ev_type type)
{
    return (int)type > EV_NONE && type < EV_TYPE_COUNT && (LAUNCHER_EVENTS & B(type));
}

/* ---- encoding into a caller's fixed buffer (no allocation per event) ---- */

struct fixed_buf {
    char *p;
    size_t len, cap;
    int overflow;
};

static int fixed_write(void *data, const char *buf, size_t len)
{
    struct fixed_buf *fb = data;
    if (fb->len + len > fb->cap) {
        fb->overflow = 1;
        return -1;
    }
    memcpy(fb->p + fb->len, buf, len);
    fb->len += len;
    return 0;
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

int ev_encode(const struct ev *e, char *buf, size_t cap)
{
    if ((int)e->type <= EV_NONE || e->type >= EV_TYPE_COUNT)
        return -1;
    uint32_t bit = B(e->type);
    size_t n = 2;
    for (size_t i = 0; i < NFIELDS; i++)
        n += ((fields[i].req | fields[i].opt) & bit) != 0;

    struct fixed_buf fb = {buf, 0, cap, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &fb, fixed_write);
    msgpack_pack_map(&pk, n);
    pack_str(&pk, "v");
    msgpack_pack_int64(&pk, e->v);
    pack_str(&pk, "type");
    pack_str(&pk, type_names[e->type]);
    for (size_t i = 0; i < NFIELDS; i++) {
        const struct field *f = &fields[i];
        if (!((f->req | f->opt) & bit))
            continue;
        pack_str(&pk, f->key);
        const char *p = (const char *)e + f->off;
        if (f->kind == F_INT)
            msgpack_pack_int64(&pk, *(const int64_t *)p);
        else
            pack_str(&pk, p);
    }
    return fb.overflow ? -1 : (int)fb.len;
}

/* ---- decoding: parse, don't trust ---- */

static int key_is(const msgpack_object *k, const char *s)
{
    size_t n = strlen(s);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && !memcmp(k->via.str.ptr, s, n);
}

static int get_int(const msgpack_object *o, int64_t *out)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
        if (o->via.u64 > (uint64_t)INT64_MAX)
            return -1;
        *out = (int64_t)o->via.u64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
        *out = o->via.i64;
        return 0;
    }
    if (o->type == MSGPACK_OBJECT_BOOLEAN) {
        *out = o->via.boolean;
        return 0;
    }
    return -1;
}

/* Finds `v` and `type`, checks the version, and returns the message type (EV_NONE with
 * err set when either is wrong). */
static enum ev_type decode_type(const msgpack_object_map *m, char *err, size_t errlen)
{
    int64_t v = -1;
    const msgpack_object *type = NULL;
    for (uint32_t i = 0; i < m->size; i++) {
        if (key_is(&m->ptr[i].key, "v") && get_int(&m->ptr[i].val, &v) < 0) {
            snprintf(err, errlen, "key 'v' is not an integer");
            return EV_NONE;
        }
        if (key_is(&m->ptr[i].key, "type"))
            type = &m->ptr[i].val;
    }
    if (v != BS_PROTO_VERSION) {
        snprintf(err, errlen, v < 0 ? "key 'v' missing" : "protocol version %lld, expected %d",
                 (long long)v, BS_PROTO_VERSION);
        return EV_NONE;
    }
    if (!type || type->type != MSGPACK_OBJECT_STR) {
        snprintf(err, errlen, "key 'type' missing or not a string");
        return EV_NONE;
    }
    for (int i = EV_NONE + 1; i < EV_TYPE_COUNT; i++)
        if (key_is(type, type_names[i]))
            return (enum ev_type)i;
    snprintf(err, errlen, "unknown message type '%.*s'",
             (int)(type->via.str.size > 32 ? 32 : type->via.str.size), type->via.str.ptr);
    return EV_NONE;
}

/* Checks val against field f (type, range, length) and stores it into e. 0 or -1. */
static int decode_field(const struct field *f, const msgpack_object *val, struct ev *e, char *err,
                        size_t errlen)
{
    const char *tn = type_names[e->type];
    char *p = (char *)e + f->off;
    if (f->kind == F_INT) {
        int64_t x;
        if (get_int(val, &x) < 0) {
            snprintf(err, errlen, "%s: key '%s' is not an integer", tn, f->key);
            return -1;
        }
        if (x < f->min || x > f->max) {
            snprintf(err, errlen, "%s: key '%s' = %lld out of range [%lld, %lld]", tn, f->key,
                     (long long)x, (long long)f->min, (long long)f->max);
            return -1;
        }
        *(int64_t *)p = x;
        return 0;
    }
    if (val->type != MSGPACK_OBJECT_STR) {
        snprintf(err, errlen, "%s: key '%s' is not a string", tn, f->key);
        return -1;
    }
    if (val->via.str.size >= f->cap || memchr(val->via.str.ptr, 0, val->via.str.size)) {
        snprintf(err, errlen, "%s: key '%s' longer than %zu bytes or holds a NUL", tn, f->key,
                 f->cap - 1);
        return -1;
    }
    memcpy(p, val->via.str.ptr, val->via.str.size);
    p[val->via.str.size] = '\0';
    return 0;
}

static int decode_map(const msgpack_object *root, struct ev *e, char *err, size_t errlen)
{
    if (root->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "message is not a map");
        return -1;
    }
    const msgpack_object_map *m = &root->via.map;
    enum ev_type t = decode_type(m, err, errlen);
    if (t == EV_NONE)
        return -1;
    ev_init(e, t);
    uint32_t bit = B(t), seen[(NFIELDS + 31) / 32] = {0};
    for (uint32_t i = 0; i < m->size; i++)
        for (size_t j = 0; j < NFIELDS; j++) {
            const struct field *f = &fields[j];
            if (!((f->req | f->opt) & bit) || !key_is(&m->ptr[i].key, f->key))
                continue;
            if (decode_field(f, &m->ptr[i].val, e, err, errlen) < 0)
                return -1;
            seen[j / 32] |= 1u << (j % 32);
        }
    for (size_t j = 0; j < NFIELDS; j++)
        if ((fields[j].req & bit) && !(seen[j / 32] & (1u << (j % 32)))) {
            snprintf(err, errlen, "%s: required key '%s' missing", type_names[t], fields[j].key);
            return -1;
        }
    return 0;
}

int ev_decode(const void *data, size_t len, struct ev *e, char *err, size_t errlen)
{
    if (len == 0 || len > EV_MAX_BYTES) {
        snprintf(err, errlen, "message of %zu bytes (allowed 1..%d)", len, EV_MAX_BYTES);
        return -1;
    }
    size_t used; /* msgpack-c allocates for declared sizes: check them against len first */
    if (mp_check(data, len, &used, err, errlen) < 0)
        return -1;
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = -1;
    msgpack_unpack_return r = msgpack_unpack_next(&u, data, len, &off);
    if (r == MSGPACK_UNPACK_CONTINUE)
        snprintf(err, errlen, "truncated message (%zu bytes)", len);
    else if (r != MSGPACK_UNPACK_SUCCESS)
        snprintf(err, errlen, "malformed MessagePack");
    else if (off != len)
        snprintf(err, errlen, "%zu trailing bytes after the message", len - off);
    else
        rc = decode_map(&u.data, e, err, errlen);
    msgpack_unpacked_destroy(&u);
    return rc;
}
