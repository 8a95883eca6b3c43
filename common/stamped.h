/* A guest's console as a socket on which the kernel stamps every write at the moment
 * it is made (AF_UNIX SOCK_SEQPACKET with SO_TIMESTAMPNS): a line's stamp is when its
 * last byte was written, however late the reader gets to it. A pipe's reader can only
 * stamp what it reads when it runs, and under a storm that saturates the cores it may
 * not run for milliseconds (docs/MEASUREMENTS.md, "Fidelity"). Each write is one
 * message: QEMU's serial port writes a byte at a time. Not for what a line means
 * (console.c). */
#ifndef BS_STAMPED_H
#define BS_STAMPED_H

#include <stddef.h>
#include <stdint.h>

#include "clock.h"

/* The writer's send buffer, forced: the writes that may wait unread (each one-byte
 * write takes about 768 bytes of it: 4 MiB hold about 5,400, a pipe holds 65,536
 * bytes), and the largest single write (4 MiB - 32; a larger one fails EMSGSIZE). */
#define STAMPED_SNDBUF (4 << 20)
/* The largest write read whole: a longer one is cut there (counted, never stamped
 * wrong). QEMU's serial port writes one byte, its virtio console a guest buffer. */
#define STAMPED_MSG_MAX (64 * 1024)
#define STAMPED_BATCH 16 /* writes taken by one recvmmsg */

struct stamped_msg {
    const char *p; /* in the reader's buffer, valid until its next read */
    size_t len;
    real_ns at; /* when the write was made; .ns 0 when the kernel gave no stamp */
    int cut;    /* the write was longer than STAMPED_MSG_MAX: its rest is lost */
};

/* fds[0]: the reader's end (stamps on), fds[1]: the writer's (the child's stdout).
 * Both close-on-exec. Returns 0, or -1 with errno. */
int stamped_pair(int fds[2]);

struct stamped_reader;

struct stamped_reader *stamped_reader_new(void);
void stamped_reader_free(struct stamped_reader *rd);

/* Takes up to STAMPED_BATCH writes waiting on fd (non-blocking) into m. Returns how
 * many, 0 at EOF (the writer closed its end), or -1 with errno (EAGAIN: none now). */
int stamped_read(struct stamped_reader *rd, int fd, struct stamped_msg m[STAMPED_BATCH]);

#endif
