/* A small blocking QMP client over a unix socket (qmp.h): one JSON object per line,
 * the greeting, qmp_capabilities, then command / answer pairs; events that arrive while
 * an answer is awaited are kept (a few) for qmp_event. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "qmp.h"

#define QMP_BUF 65536
#define QMP_RETRY_MS 5
#define QMP_REFUSED_MS 2000

#define QMP_KEPT 8 /* events kept while answers are awaited; older ones are dropped */

struct qmp {
    int fd;
    int nkept;
    json_t *kept[QMP_KEPT]; /* events read while awaiting an answer, oldest first */
    size_t len;             /* bytes held in buf */
    char buf[QMP_BUF];
};

static int connect_once(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
        return fd;
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* The socket appears a little after QEMU starts, and refuses for a moment between bind
 * and listen: retried until the deadline; refusals only for QMP_REFUSED_MS (a socket
 * left by a QEMU that is gone refuses for ever). */
static int connect_retry(const char *path, int timeout_ms, char *err, size_t errlen)
{
    mono_ns now = clock_mono(), end = mono_add(now, (int64_t)timeout_ms * NS_PER_MS);
    mono_ns refused_end = mono_add(now, QMP_REFUSED_MS * NS_PER_MS);
    for (;;) {
        int fd = connect_once(path);
        if (fd >= 0)
            return fd;
        now = clock_mono();
        if ((errno != ENOENT && errno != ECONNREFUSED) || mono_diff(now, end) <= 0 ||
            (errno == ECONNREFUSED && mono_diff(now, refused_end) <= 0)) {
            snprintf(err, errlen, "QMP connect %s: %s", path, strerror(errno));
            return -1;
        }
        if (errno == ENOENT)
            refused_end = mono_add(now, QMP_REFUSED_MS * NS_PER_MS);
        nanosleep(&(struct timespec){0, QMP_RETRY_MS * NS_PER_MS}, NULL);
    }
}

/* Takes one line out of q->buf into a JSON object; NULL when no whole line is held. */
static json_t *take_line(struct qmp *q)
{
    char *nl = memchr(q->buf, '\n', q->len);
    if (!nl)
        return NULL;
    size_t n = (size_t)(nl - q->buf) + 1;
    json_t *j = json_loadb(q->buf, n, 0, NULL);
    memmove(q->buf, q->buf + n, q->len - n);
    q->len -= n;
    return j ? j : json_object(); /* an unparsable line: skipped by the caller */
}

/* Reads what arrives until end (one read): 1 read, 0 nothing in time, -1 with err. */
static int fill(struct qmp *q, mono_ns end, char *err, size_t errlen)
{
    for (;;) {
        int64_t left = mono_diff(clock_mono(), end);
        struct pollfd p = {.fd = q->fd, .events = POLLIN};
        if (poll(&p, 1, left <= 0 ? 0 : (int)(left / NS_PER_MS) + 1) == 0)
            return 0;
        if (q->len == sizeof q->buf) {
            snprintf(err, errlen, "QMP: a line longer than %d bytes", QMP_BUF);
            return -1;
        }
        ssize_t n = read(q->fd, q->buf + q->len, sizeof q->buf - q->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "QMP: %s", n ? strerror(errno) : "QEMU closed the socket");
            return -1;
        }
        q->len += (size_t)n;
        return 1;
    }
}

/* The next JSON object from QEMU, waiting until end. NULL with err on timeout / EOF. */
static json_t *read_obj(struct qmp *q, mono_ns end, char *err, size_t errlen)
{
    json_t *j;
    while (!(j = take_line(q))) {
        int rc = fill(q, end, err, errlen);
        if (rc == 0)
            snprintf(err, errlen, "QMP: no answer in time");
        if (rc <= 0)
            return NULL;
    }
    return j;
}

/* Keeps event j (stolen) for qmp_event; the oldest goes when full. */
static void keep(struct qmp *q, json_t *j)
{
    if (!json_object_get(j, "event")) {
        json_decref(j); /* the greeting, an unparsable line */
        return;
    }
    if (q->nkept == QMP_KEPT) {
        json_decref(q->kept[0]);
        memmove(q->kept, q->kept + 1, (QMP_KEPT - 1) * sizeof q->kept[0]);
        q->nkept--;
    }
    q->kept[q->nkept++] = j;
}

int qmp_fd(const struct qmp *q)
{
    return q->fd;
}

int qmp_event(struct qmp *q, int timeout_ms, json_t **ev, char *err, size_t errlen)
{
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    *ev = NULL;
    for (;;) {
        if (q->nkept) {
            *ev = q->kept[0];
            memmove(q->kept, q->kept + 1, (size_t)(q->nkept - 1) * sizeof q->kept[0]);
            q->nkept--;
            return 1;
        }
        json_t *j = take_line(q);
        if (j) {
            keep(q, j); /* answers are nobody's now: dropped there */
            continue;
        }
        int rc = fill(q, end, err, errlen);
        if (rc <= 0)
            return rc;
    }
}

static int send_cmd(struct qmp *q, const char *cmd, json_t *args, char *err, size_t errlen)
{
    json_t *m = json_pack("{s:s}", "execute", cmd);
    if (m && args)
        json_object_set(m, "arguments", args);
    char *s = m ? json_dumps(m, JSON_COMPACT) : NULL;
    json_decref(m);
    json_decref(args);
    if (!s) {
        snprintf(err, errlen, "QMP: out of memory");
        return -1;
    }
    size_t len = strlen(s), off = 0;
    s[len] = '\n'; /* json_dumps ends in NUL: its place carries the newline */
    while (off <= len) {
        ssize_t n = write(q->fd, s + off, len + 1 - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "QMP write: %s", strerror(errno));
            free(s);
            return -1;
        }
        off += (size_t)n;
    }
    free(s);
    return 0;
}

/* An answer ("return" or "error"), events skipped. */
static int answer(struct qmp *q, const char *cmd, json_t **ret, mono_ns end, char *err,
                  size_t errlen)
{
    for (;;) {
        json_t *j = read_obj(q, end, err, errlen);
        if (!j)
            return -1;
        json_t *r = json_object_get(j, "return"), *e = json_object_get(j, "error");
        if (r || e) {
            const char *d = e ? json_string_value(json_object_get(e, "desc")) : NULL;
            if (e)
                snprintf(err, errlen, "QMP %s: %s", cmd, d ? d : "error");
            else if (ret)
                *ret = json_incref(r);
            json_decref(j);
            return e ? -1 : 0;
        }
        keep(q, j); /* an event (kept for qmp_event), or the greeting */
    }
}

int qmp_call(struct qmp *q, const char *cmd, json_t *args, json_t **ret, int timeout_ms, char *err,
             size_t errlen)
{
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    if (ret)
        *ret = NULL;
    if (send_cmd(q, cmd, args, err, errlen) < 0)
        return -1;
    return answer(q, cmd, ret, end, err, errlen);
}

struct qmp *qmp_open(const char *path, int timeout_ms, char *err, size_t errlen)
{
    struct qmp *q = calloc(1, sizeof *q);
    if (!q) {
        snprintf(err, errlen, "QMP: out of memory");
        return NULL;
    }
    if ((q->fd = connect_retry(path, timeout_ms, err, errlen)) < 0)
        goto fail;
    mono_ns end = mono_add(clock_mono(), (int64_t)timeout_ms * NS_PER_MS);
    json_t *greeting = read_obj(q, end, err, errlen);
    if (!greeting || !json_object_get(greeting, "QMP")) {
        if (greeting)
            snprintf(err, errlen, "QMP: no greeting from %s", path);
        json_decref(greeting);
        goto fail;
    }
    json_decref(greeting);
    if (qmp_call(q, "qmp_capabilities", NULL, NULL, timeout_ms, err, errlen) < 0)
        goto fail;
    return q;
fail:
    qmp_close(q);
    return NULL;
}

void qmp_close(struct qmp *q)
{
    if (!q)
        return;
    if (q->fd >= 0)
        close(q->fd);
    for (int i = 0; i < q->nkept; i++)
        json_decref(q->kept[i]);
    free(q);
}
