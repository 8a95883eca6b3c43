/* The event model shared by launcher, collector and CLI, and its MessagePack codec.
 * One flat struct carries every message type; a field table says which keys each
 * type must or may carry (docs/PROTOCOL.md lists them). Not for transport: see bzmq.h. */
#ifndef BS_EVENT_H
#define BS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

#define BS_PROTO_VERSION 1
#define EV_MAX_BYTES 65536 /* larger messages are rejected before decoding */
#define BS_ID_MAX 64       /* host, run and profile names, including the NUL */

enum ev_type {
    EV_NONE = 0,
    /* launcher -> collector */
    EV_HELLO,
    EV_HEARTBEAT,
    EV_RUN_START,
    EV_SPAWN,
    EV_SPAWNED,
    EV_FIRST_OUTPUT,
    EV_MARKER,
    EV_READY,
    EV_EXIT,
    EV_FAILED,
    EV_MEM,
    EV_RUN_END,
    EV_LINE,    /* trace mode: one console line of a guest */
    EV_RESTART, /* a mass restart began: `count` instances were killed */
    EV_LOST,    /* the launcher no longer holds seq `from`..seq: `lost` run events of `run` */
    /* collector -> launcher */
    EV_ACK,
    EV_START, /* also cli -> collector, which forwards it */
    EV_ABORT, /* also cli -> collector */
    /* collector -> cli */
    EV_REPLY,
    /* clock offset estimate, NTP-style; not seq-numbered, not spooled */
    EV_PING, /* collector -> launcher: t1 = collector realtime at send */
    EV_PONG, /* launcher -> collector: t1 echoed, t2 = launcher realtime at receipt, t3 at send */
    /* start snapshot | template (docs/SNAPSHOTS.md): the two phases of a coordinated start */
    EV_PREPARED, /* launcher -> collector, a run event: its template is saved */
    EV_GO,       /* collector -> launcher: every host is prepared; the storm starts at `at` */
    EV_TYPE_COUNT
};

struct ev {
    enum ev_type type;
    int64_t v;
    char host[BS_ID_MAX];
    int64_t seq; /* per launcher, gap-free from 1; 0 on messages that are not events */
    mono_ns tm;
    real_ns tr;
    char run[BS_ID_MAX];
    int64_t guest; /* index of the guest in its run, -1 when none */

    int64_t pid, status, running, lag_ns, boot_ns;
    int64_t mem_used_kib, rss_kib, cpu_ms;
    int64_t cores, mem_total_kib, kvm, prio;
    int64_t count, interval_ms, hold_s, timeout_s, sample_ms, at;
    int64_t pss_guests; /* start, run_start: guests whose PSS a sample reads; 0 = all */
    int64_t ready, failed, ack, ok;
    int64_t concurrency;           /* at most this many boots in flight, 0 = no limit */
    int64_t restart_after_ms;      /* mass restart this long after all are ready, 0 = none */
    int64_t restart_permille;      /* share of the fleet killed and restarted, 1000 = all */
    int64_t trace;                 /* 1: publish every console line as a `line` event */
    int64_t spawn_ns;              /* spawned: time the backend's spawn/create call took */
    int64_t pss_kib, guest_cpu_ms; /* mem: sums over the run's live guests */
    int64_t pss_n;                 /* mem: the guests whose PSS is in pss_kib */
    int64_t ram_kib;               /* exit: guest RAM resident; rss_kib - ram_kib = VMM overhead */
    int64_t
        prev; /* run events: seq of this host's previous event of the run; 0: none or not chained */
    int64_t t1, t2, t3; /* ping/pong timestamps, realtime ns */
    int64_t from;       /* lost: first seq of the range this event stands for (seq the last) */
    int64_t lost;       /* lost: how many of those were run events of `run` */
    int64_t prep_ns;    /* run_end, prepared: preparing the template took this long */
    int64_t state_kib;  /* run_end, prepared: size of the template's state file */

    char name[64];        /* marker name */
    char reason[16];      /* failed: timeout | crash | spawn */
    char detail[256];     /* failed: human-readable cause */
    char kind[BS_ID_MAX]; /* guest profile name */
    char backend[16], accel[16], pattern[16];
    char backends[64], version[32];
    char hosts[256]; /* comma-separated host ids */
    char start[16];  /* start, run_start: cold (or "") | snapshot | template: how guests start */
    char split[16];  /* start: per_host (count on every host) | by_cores (count is the total) */
    char error[256];
    char ramp[2048]; /* ramp pattern: "T_MS:COUNT,..." instance counts over time */
    char text[512];  /* line: the console line, without its newline */
    /* start: the state file every host restores (start snapshot, docs/SNAPSHOTS.md) */
    char snapshot_file[200];
};

/* Zeroes e and sets type, protocol version and guest = -1. */
void ev_init(struct ev *e, enum ev_type type);

/* "ready" for EV_READY; "?" for out-of-range values. */
const char *ev_type_name(enum ev_type type);

/* Encodes e as one MessagePack map (only the keys of its type) into buf.
 * Returns the length, or -1 when buf is too small or e->type is not valid. */
int ev_encode(const struct ev *e, char *buf, size_t cap);

/* Decodes one message. Every key of e's type is type- and range-checked, unknown
 * keys are ignored. Returns 0, or -1 with the reason in err (unknown type, missing
 * or ill-typed key, oversized string, truncated or trailing bytes). */
int ev_decode(const void *data, size_t len, struct ev *e, char *err, size_t errlen);

/* The range the codec accepts for integer key `key` (bslimits.h): 0, or -1 when the
 * codec has no such integer key. */
int ev_field_range(const char *key, int64_t *min, int64_t *max);

/* True for the types a launcher sends and the collector stores (seq-numbered). */
int ev_is_launcher_event(enum ev_type type);

#endif
