/* Append-only spool file of the launcher's unacknowledged events (format in spool.h). */
#include "spool.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "event.h"
#include "log.h"

#define MAGIC "BSSPOOL1"
#define REC_EVENT 0x45u  /* 'E' */
#define REC_FORGET 0x46u /* 'F' */

struct rec_head {
    uint32_t kind, len;
    int64_t seq;
};

struct spool {
    int fd, lock_fd, tmp_fd;
    uint64_t bytes, tmp_bytes;
    char path[PATH_MAX], tmp[PATH_MAX + 8];
};

static uint32_t fnv(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

/* Writes one record to fd in one writev; returns its size or -1. */
static ssize_t put(int fd, int64_t seq, const void *data, size_t len)
{
    struct rec_head h = {data ? REC_EVENT : REC_FORGET, (uint32_t)len, seq};
    uint32_t sum = fnv(fnv(2166136261u, &h, sizeof h), data, len);
    struct iovec iov[3] = {{&h, sizeof h}, {(void *)data, len}, {&sum, sizeof sum}};
    size_t want = sizeof h + len + sizeof sum;
    ssize_t n = writev(fd, iov, 3);
    if (n >= 0 && (size_t)n != want) { /* disk full: cut the torn record off again */
        off_t end = lseek(fd, 0, SEEK_CUR);
        if (end >= n && ftruncate(fd, end - n) == 0)
            lseek(fd, end - n, SEEK_SET);
        errno = ENOSPC;
        return -1;
    }
    return n;
}

/* Replays the file; returns the length of its valid prefix. */
static uint64_t replay(int fd, spool_load_fn fn, void *arg)
{
    FILE *f = fdopen(dup(fd), "rb");
    if (!f)
        return 0;
    char magic[8];
    uint64_t good = 0;
    char *buf = malloc(EV_MAX_BYTES);
    if (buf && fread(magic, 1, 8, f) == 8 && !memcmp(magic, MAGIC, 8)) {
        good = 8;
        struct rec_head h;
        uint32_t sum;
        while (fread(&h, sizeof h, 1, f) == 1 && (h.kind == REC_EVENT || h.kind == REC_FORGET) &&
               h.len <= EV_MAX_BYTES && (h.kind == REC_EVENT || h.len == 0) && h.seq >= 0 &&
               fread(buf, 1, h.len, f) == h.len && fread(&sum, sizeof sum, 1, f) == 1 &&
               sum == fnv(fnv(2166136261u, &h, sizeof h), buf, h.len)) {
            fn(arg, h.seq, h.kind == REC_EVENT ? buf : NULL, h.len);
            good += sizeof h + h.len + sizeof sum;
        }
    }
    free(buf);
    fclose(f);
    return good;
}

struct spool *spool_open(const char *dir, const char *host, spool_load_fn fn, void *arg, char *err,
                         size_t errlen)
{
    struct spool *s = calloc(1, sizeof *s);
    char lock[PATH_MAX];
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->fd = s->lock_fd = s->tmp_fd = -1;
    /* ours alone: 0700, and no file in it is followed through a symlink */
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(err, errlen, "spool dir %s: %s", dir, strerror(errno));
        goto fail;
    }
    snprintf(lock, sizeof lock, "%s/%s.lock", dir, host);
    snprintf(s->path, sizeof s->path, "%s/%s.spool", dir, host);
    snprintf(s->tmp, sizeof s->tmp, "%s.tmp", s->path);
    s->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        snprintf(err, errlen, "spool %s: %s", lock,
                 errno == EWOULDBLOCK ? "held by another launcher" : strerror(errno));
        goto fail;
    }
    s->fd = open(s->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->fd < 0) {
        snprintf(err, errlen, "spool %s: %s", s->path, strerror(errno));
        goto fail;
    }
    struct stat st;
    uint64_t good = fstat(s->fd, &st) == 0 ? replay(s->fd, fn, arg) : 0;
    if (good < 8) { /* new, or not a spool: start it afresh */
        if (ftruncate(s->fd, 0) < 0 || pwrite(s->fd, MAGIC, 8, 0) != 8) {
            snprintf(err, errlen, "spool %s: %s", s->path, strerror(errno));
            goto fail;
        }
        good = 8;
    } else if ((uint64_t)st.st_size > good) {
        log_warn("spool %s: %lld bytes of a torn or corrupt tail cut off", s->path,
                 (long long)((uint64_t)st.st_size - good));
        if (ftruncate(s->fd, (off_t)good) < 0)
            log_warn("spool %s: truncate: %s", s->path, strerror(errno));
    }
    s->bytes = good;
    lseek(s->fd, (off_t)good, SEEK_SET);
    return s;
fail:
    spool_close(s);
    return NULL;
}

int spool_append(struct spool *s, int64_t seq, const void *data, size_t len)
{
    ssize_t n = put(s->fd, seq, data, len);
    if (n < 0)
        return -1;
    s->bytes += (uint64_t)n;
    return 0;
}

uint64_t spool_bytes(const struct spool *s)
{
    return s->bytes;
}

int spool_rewrite_begin(struct spool *s, int64_t forgot)
{
    if (s->tmp_fd >= 0)
        close(s->tmp_fd);
    s->tmp_fd = open(s->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    s->tmp_bytes = 8;
    if (s->tmp_fd < 0 || write(s->tmp_fd, MAGIC, 8) != 8)
        return -1;
    return spool_rewrite_add(s, forgot, NULL, 0);
}

int spool_rewrite_add(struct spool *s, int64_t seq, const void *data, size_t len)
{
    ssize_t n = s->tmp_fd >= 0 ? put(s->tmp_fd, seq, data, len) : -1;
    if (n < 0)
        return -1;
    s->tmp_bytes += (uint64_t)n;
    return 0;
}

int spool_rewrite_commit(struct spool *s)
{
    int ok = s->tmp_fd >= 0 && rename(s->tmp, s->path) == 0;
    if (!ok) {
        if (s->tmp_fd >= 0)
            close(s->tmp_fd);
        s->tmp_fd = -1;
        unlink(s->tmp);
        return -1;
    }
    close(s->fd);
    s->fd = s->tmp_fd; /* its offset is at its end */
    s->tmp_fd = -1;
    s->bytes = s->tmp_bytes;
    return 0;
}

void spool_close(struct spool *s)
{
    if (!s)
        return;
    if (s->fd >= 0)
        close(s->fd);
    if (s->tmp_fd >= 0)
        close(s->tmp_fd);
    if (s->lock_fd >= 0)
        close(s->lock_fd);
    free(s);
}
