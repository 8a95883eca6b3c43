/* Kernel-stamped console sockets (stamped.h). */
#include "stamped.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct stamped_reader {
    char buf[STAMPED_BATCH][STAMPED_MSG_MAX];
    char ctl[STAMPED_BATCH][CMSG_SPACE(sizeof(struct timespec))];
    struct iovec iov[STAMPED_BATCH];
    struct mmsghdr hdr[STAMPED_BATCH];
};

int stamped_pair(int fds[2])
{
    int on = 1, size = STAMPED_SNDBUF;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, fds) < 0)
        return -1;
    if (setsockopt(fds[0], SOL_SOCKET, SO_TIMESTAMPNS, &on, sizeof on) < 0)
        goto fail;
    /* FORCE passes net.core.wmem_max (root); else as much as that allows */
    if (setsockopt(fds[1], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
        setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
    return 0;
fail:;
    int e = errno;
    close(fds[0]);
    close(fds[1]);
    errno = e;
    return -1;
}

struct stamped_reader *stamped_reader_new(void)
{
    return malloc(sizeof(struct stamped_reader));
}

void stamped_reader_free(struct stamped_reader *rd)
{
    free(rd);
}

static real_ns stamp_of(struct msghdr *h)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
            struct timespec ts;
            memcpy(&ts, CMSG_DATA(c), sizeof ts);
            return (real_ns){timespec_ns(ts)};
        }
    return (real_ns){0};
}

int stamped_read(struct stamped_reader *rd, int fd, struct stamped_msg m[STAMPED_BATCH])
{
    for (int i = 0; i < STAMPED_BATCH; i++) {
        rd->iov[i] = (struct iovec){rd->buf[i], STAMPED_MSG_MAX};
        rd->hdr[i].msg_hdr = (struct msghdr){.msg_iov = &rd->iov[i],
                                             .msg_iovlen = 1,
                                             .msg_control = rd->ctl[i],
                                             .msg_controllen = sizeof rd->ctl[i]};
    }
    int n;
    do
        n = recvmmsg(fd, rd->hdr, STAMPED_BATCH, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -1;
    int got = 0;
    for (int i = 0; i < n; i++) {
        if (rd->hdr[i].msg_len == 0) {
            /* At EOF every further receive gives 0 too, so the batch ends in zeros; an
             * empty write is one zero followed by a write or by nothing (EAGAIN). */
            if (i + 1 < n && rd->hdr[i + 1].msg_len == 0)
                return got; /* EOF: this batch's writes first, then 0 on the next read */
            continue;
        }
        m[got++] =
            (struct stamped_msg){rd->buf[i], rd->hdr[i].msg_len, stamp_of(&rd->hdr[i].msg_hdr),
                                 (rd->hdr[i].msg_hdr.msg_flags & MSG_TRUNC) != 0};
    }
    if (got == 0) { /* only empty writes: nothing to give, and not the end */
        errno = EAGAIN;
        return -1;
    }
    return got;
}
