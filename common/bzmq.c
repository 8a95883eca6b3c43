/* ZeroMQ context and socket helpers, CURVE key files. */
#include "bzmq.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static void *ctx;

void *bzmq_ctx(void)
{
    if (!ctx)
        ctx = zmq_ctx_new();
    return ctx;
}

void bzmq_term(void)
{
    if (ctx)
        zmq_ctx_term(ctx);
    ctx = NULL;
}

void *bzmq_socket(int type, const char *endpoint, int bind, char *err,
                  size_t errlen)
{
    return bzmq_socket_curve(type, endpoint, bind, NULL, err, errlen);
}

int bzmq_has_curve(void)
{
    return zmq_has("curve");
}

static int z85_ok(const char *k)
{
    if (strlen(k) != BZMQ_KEY_LEN - 1)
        return 0;
    uint8_t bin[32];
    return zmq_z85_decode(bin, k) != NULL;
}

int bzmq_key_load(const char *path, char *pub, char *sec, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "key file %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (sec && fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(err, errlen,
                 "key file %s holds a secret key but is readable by others (chmod 600)", path);
        fclose(f);
        return -1;
    }
    char line[256], got_pub = 0, got_sec = 0;
    int rc = 0, n = 0;
    while (fgets(line, sizeof line, f) && !rc) {
        n++;
        char *p = line, key[16], val[64];
        while (isspace((unsigned char)*p))
            p++;
        if (!*p || *p == '#')
            continue;
        if (sscanf(p, "%15[a-z] = %63s", key, val) != 2 || !z85_ok(val) ||
            (strcmp(key, "public") && strcmp(key, "secret"))) {
            snprintf(err, errlen,
                     "key file %s:%d: expected 'public = KEY' or 'secret = KEY' with a "
                     "40-character Z85 key",
                     path, n);
            rc = -1;
        } else if (!strcmp(key, "public")) {
            got_pub = 1;
            if (pub) /* z85_ok: exactly 40 characters; the precision says so to the compiler */
                snprintf(pub, BZMQ_KEY_LEN, "%.40s", val);
        } else {
            got_sec = 1;
            if (sec)
                snprintf(sec, BZMQ_KEY_LEN, "%.40s", val);
        }
    }
    fclose(f);
    if (!rc && ((pub && !got_pub) || (sec && !got_sec))) {
        snprintf(err, errlen, "key file %s: no '%s = ...' line", path,
                 pub && !got_pub ? "public" : "secret");
        rc = -1;
    }
    return rc;
}

int bzmq_key_write(const char *path, const char *pub, const char *sec, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, sec ? 0600 : 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    fprintf(f, "# bootstorm CURVE key%s (ZeroMQ Z85)\npublic = %s\n",
            sec ? " pair: keep it secret" : "", pub);
    if (sec)
        fprintf(f, "secret = %s\n", sec);
    if (fclose(f) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int bzmq_endpoint_is_loopback(const char *ep)
{
    if (!strncmp(ep, "ipc://", 6) || !strncmp(ep, "inproc://", 9))
        return 1;
    if (strncmp(ep, "tcp://", 6))
        return 0;
    const char *h = ep + 6, *colon = strrchr(h, ':');
    if (!colon)
        return 0;
    size_t n = (size_t)(colon - h);
    if (n == 9 && !strncmp(h, "localhost", 9))
        return 1;
    if (n == 5 && !strncmp(h, "[::1]", 5))
        return 1;
    unsigned a, b, c, d;
    char rest;
    char host[64];
    if (n >= sizeof host)
        return 0;
    memcpy(host, h, n);
    host[n] = '\0';
    return sscanf(host, "%u.%u.%u.%u%c", &a, &b, &c, &d, &rest) == 4 && a == 127 && b < 256 &&
           c < 256 && d < 256;
}

void *bzmq_socket_curve(int type, const char *endpoint, int bind,
                        const struct bzmq_curve *curve, char *err, size_t errlen)
{
    void *s = zmq_socket(bzmq_ctx(), type);
    if (!s) {
        snprintf(err, errlen, "zmq_socket: %s", zmq_strerror(errno));
        return NULL;
    }
    int linger = 0, hwm = 100000, maxmsg = EV_MAX_BYTES + 1024;
    int64_t maxmsg64 = maxmsg;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg64, sizeof maxmsg64);
    /* The ROUTER names every connection itself: a client-chosen routing id would let
     * any peer take a launcher's route over (ROUTER_HANDOVER) or block it (without).
     * Which host a connection speaks for is the collector's decision (coll.c). It is
     * mandatory: a send to a connection that is gone fails (EHOSTUNREACH) instead of
     * vanishing, which tells the collector a host's old connection has closed. */
    if (type == ZMQ_ROUTER) {
        int on = 1;
        zmq_setsockopt(s, ZMQ_ROUTER_MANDATORY, &on, sizeof on);
    }
    if (curve) {
        int on = 1, ok = 1;
        char pub[BZMQ_KEY_LEN], sec[BZMQ_KEY_LEN];
        snprintf(pub, sizeof pub, "%s", curve->public_key);
        snprintf(sec, sizeof sec, "%s", curve->secret_key);
        if (!bzmq_has_curve()) {
            snprintf(err, errlen, "this libzmq has no CURVE support");
            zmq_close(s);
            return NULL;
        }
        if (!pub[0] && !curve->server && zmq_curve_keypair(pub, sec) < 0)
            ok = 0;
        if (curve->server)
            ok &= zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on) == 0;
        else
            ok &= zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, curve->server_key, 40) == 0 &&
                  zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, pub, 40) == 0;
        ok &= zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, sec, 40) == 0;
        if (!ok) {
            snprintf(err, errlen, "CURVE set-up: %s", zmq_strerror(errno));
            zmq_close(s);
            return NULL;
        }
    }
    int rc = bind ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint);
    if (rc < 0) {
        snprintf(err, errlen, "%s %s: %s", bind ? "bind" : "connect", endpoint,
                 zmq_strerror(errno));
        zmq_close(s);
        return NULL;
    }
    return s;
}

int bzmq_send_ev(void *sock, const void *route, size_t route_len, const struct ev *e)
{
    char buf[EV_MAX_BYTES];
    int n = ev_encode(e, buf, sizeof buf);
    if (n < 0)
        return -1;
    if (route && zmq_send(sock, route, route_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(sock, buf, (size_t)n, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

int bzmq_client_curve(const char *server_key_file, const char *own_keys_file,
                      struct bzmq_curve *curve, char *err, size_t errlen)
{
    memset(curve, 0, sizeof *curve);
    if (own_keys_file && !server_key_file) {
        snprintf(err, errlen, "--curve-keys needs --curve-server-key");
        return -1;
    }
    if (!server_key_file)
        return 0;
    if (bzmq_key_load(server_key_file, curve->server_key, NULL, err, errlen) < 0 ||
        (own_keys_file &&
         bzmq_key_load(own_keys_file, curve->public_key, curve->secret_key, err, errlen) < 0))
        return -1;
    return 1;
}
