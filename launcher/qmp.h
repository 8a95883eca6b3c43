/* A small blocking QMP client (QEMU Machine Protocol) over a unix socket, for the
 * snapshot template (snapshot.c) and template clones (restore.c): connect, negotiate,
 * call a command, wait for its answer, read events (the last few that arrived while a
 * command was pending are kept). Not for deciding a guest runs (its console does). */
#ifndef BS_QMP_H
#define BS_QMP_H

#include <jansson.h>
#include <stddef.h>

struct qmp;

/* Connects to the QMP socket at path (retrying while it does not exist yet, up to
 * timeout_ms), reads the greeting and sends qmp_capabilities. Returns the client
 * (qmp_close), or NULL with the reason in err. */
struct qmp *qmp_open(const char *path, int timeout_ms, char *err, size_t errlen);

/* Sends {"execute": cmd, "arguments": args} (args may be NULL; the reference is
 * stolen) and waits up to timeout_ms for the answer. Returns 0 and, when ret is not
 * NULL, the "return" value in *ret (a new reference, the caller's); -1 with the reason
 * in err (QEMU's error description, a timeout, a closed socket). */
int qmp_call(struct qmp *q, const char *cmd, json_t *args, json_t **ret, int timeout_ms, char *err,
             size_t errlen);

/* The socket, for poll(2) by a caller that waits on several clients; qmp_event reads. */
int qmp_fd(const struct qmp *q);

/* The next QMP event ({"event": NAME, "timestamp": {seconds, microseconds}, ...}), kept or
 * read, waiting up to timeout_ms (0: only what is already there or readable now).
 * Returns 1 with *ev (a new reference, the caller's), 0 when none came in time, -1 with
 * the reason in err (QEMU closed the socket). Answers read here are dropped. */
int qmp_event(struct qmp *q, int timeout_ms, json_t **ev, char *err, size_t errlen);

/* Closes the socket and frees q (NULL is fine). */
void qmp_close(struct qmp *q);

#endif
