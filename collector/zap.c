/* The collector's ZAP handler: admission of connections by identity (zap.h). */
#include "zap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bzmq.h"
#include "event.h"
#include "log.h"
#include "yamlcfg.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01" /* fixed by RFC 27 */
#define ZAP_FRAMES 7 /* version, request id, domain, address, identity, mechanism, key */

struct zap {
    void *sock;
    struct zap_entry *allow;
    int nallow; /* -1: no allow-list */
};

/* Ids as the collector allows them in keys (the one rule: ycfg_id_why). */
static int id_ok(const char *s)
{
    return ycfg_id_why(s) == NULL;
}

static int parse_line(char *line, struct zap_entry *e)
{
    char *key = strtok(line, " \t\r\n"), *id = strtok(NULL, " \t\r\n");
    if (!key || !id || strtok(NULL, " \t\r\n") || strlen(key) != 40 || !id_ok(id))
        return -1;
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->id, sizeof e->id, "%s", id);
    return 0;
}

int zap_allow_load(const char *path, struct zap_entry **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1;
    char line[512];
    int n = 0, lineno = 0;
    struct zap_entry *v = NULL;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line + strspn(line, " \t");
        if (*p == '#' || *p == '\n' || !*p)
            continue;
        struct zap_entry *nv = realloc(v, (size_t)(n + 1) * sizeof *v);
        if (!nv || parse_line(p, &nv[n]) < 0) {
            snprintf(err, errlen, "%s:%d: expected 'PUBLIC-KEY ID' (a 40-character Z85 key, "
                     "then a host id or 'cli')", path, lineno);
            free(nv ? nv : v);
            fclose(f);
            return -1;
        }
        v = nv;
        n++;
    }
    fclose(f);
    *out = v;
    return n;
}

const char *zap_decide(const char *mech, const char *key, const struct zap_entry *allow,
                       int nallow, const char **user)
{
    *user = "";
    if (strcmp(mech, "NULL") && strcmp(mech, "CURVE"))
        return "unsupported mechanism";
    if (!allow || strcmp(mech, "CURVE"))
        return NULL; /* plain connections are loopback-only (main.c) */
    for (int i = 0; i < nallow; i++)
        if (!strcmp(allow[i].key, key)) {
            *user = allow[i].id;
            return NULL;
        }
    return "public key not in the allow-list";
}

struct zap *zap_open(const char *allow_path, char *err, size_t errlen)
{
    struct zap *z = calloc(1, sizeof *z);
    if (!z)
        return snprintf(err, errlen, "out of memory"), NULL;
    z->nallow = -1;
    if (allow_path && (z->nallow = zap_allow_load(allow_path, &z->allow, err, errlen)) < 0)
        goto fail;
    z->sock = zmq_socket(bzmq_ctx(), ZMQ_REP);
    int linger = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(z->sock, ZAP_ENDPOINT) < 0) {
        snprintf(err, errlen, "ZAP handler %s: %s", ZAP_ENDPOINT, zmq_strerror(errno));
        goto fail;
    }
    return z;
fail:
    zap_close(z);
    return NULL;
}

void *zap_socket(struct zap *z)
{
    return z->sock;
}

/* Reads one request's frames; returns how many (all of them, even past ZAP_FRAMES). */
static int read_request(void *s, zmq_msg_t *f)
{
    int n = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            return n ? n : -1;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_FRAMES)
            zmq_msg_move(&f[n], &m);
        zmq_msg_close(&m);
        n++;
    }
    return n;
}

/* A frame as a string; one holding a NUL or too long for out becomes "" (refused). */
static void frame_str(zmq_msg_t *m, char *out, size_t cap)
{
    size_t n = zmq_msg_size(m);
    if (n >= cap || memchr(zmq_msg_data(m), 0, n))
        n = 0;
    memcpy(out, zmq_msg_data(m), n);
    out[n] = '\0';
}

static void reply(void *s, zmq_msg_t *reqid, const char *code, const char *text, const char *user)
{
    zmq_send(s, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(s, zmq_msg_data(reqid), zmq_msg_size(reqid), ZMQ_SNDMORE);
    zmq_send(s, code, strlen(code), ZMQ_SNDMORE);
    zmq_send(s, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(s, user, strlen(user), ZMQ_SNDMORE);
    zmq_send(s, "", 0, 0);
}

/* One request: decide, answer, log a refusal. */
static void serve_one(struct zap *z, zmq_msg_t *f, int n)
{
    char addr[64] = "", mech[16] = "", key[41] = "";
    if (n >= 6) {
        frame_str(&f[3], addr, sizeof addr);
        frame_str(&f[5], mech, sizeof mech);
    }
    if (n == 7 && !strcmp(mech, "CURVE") && zmq_msg_size(&f[6]) == 32)
        zmq_z85_encode(key, zmq_msg_data(&f[6]), 32);
    const char *user = "", *why = n < 6 ? "malformed ZAP request" : NULL;
    if (!why)
        why = zap_decide(mech, key, z->nallow >= 0 ? z->allow : NULL, z->nallow, &user);
    if (why)
        log_warn("refused a %s connection from %s%s%s: %s", mech[0] ? mech : "?",
                 addr[0] ? addr : "?", key[0] ? " with key " : "", key, why);
    reply(z->sock, &f[1], why ? "400" : "200", why ? why : "OK", user);
}

void zap_serve(struct zap *z)
{
    for (;;) {
        zmq_msg_t f[ZAP_FRAMES];
        for (int i = 0; i < ZAP_FRAMES; i++)
            zmq_msg_init(&f[i]);
        int n = read_request(z->sock, f);
        if (n > 0)
            serve_one(z, f, n < ZAP_FRAMES ? n : ZAP_FRAMES);
        for (int i = 0; i < ZAP_FRAMES; i++)
            zmq_msg_close(&f[i]);
        if (n <= 0)
            return;
    }
}

void zap_close(struct zap *z)
{
    if (!z)
        return;
    if (z->sock)
        zmq_close(z->sock);
    free(z->allow);
    free(z);
}
