/* The launcher's on-disk spool: an append-only file of encoded events and "forget up
 * to seq" marks, so unacknowledged events survive a launcher crash or restart. Not
 * for what is pending or when to resend (outbox.c); it only persists and reloads.
 *
 * File DIR/HOST.spool: 8-byte magic, then records {u32 kind, u32 len, i64 seq,
 * len bytes, u32 FNV-1a of all before it}; kind 'E' = event, 'F' = every seq <= seq
 * is forgotten (acked or dropped). A torn or corrupt tail is cut off on load. Writes
 * are plain write(2) without fsync: a killed process loses nothing, a host crash may. */
#ifndef BS_SPOOL_H
#define BS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

struct spool;

/* Called by spool_open for every record in file order: data != NULL for an event,
 * NULL for a forget mark (len 0). */
typedef void (*spool_load_fn)(void *arg, int64_t seq, const void *data, size_t len);

/* Opens DIR/HOST.spool (creating DIR and the file), locked against a second process
 * through DIR/HOST.lock, and replays it through fn. Returns NULL with err set when
 * the dir or file cannot be used or another process holds the lock. */
struct spool *spool_open(const char *dir, const char *host, spool_load_fn fn, void *arg, char *err,
                         size_t errlen);

/* Appends one record (data NULL: a forget mark). Returns 0 or -1 (errno; logged by
 * the caller). */
int spool_append(struct spool *s, int64_t seq, const void *data, size_t len);

/* Bytes in the file now. */
uint64_t spool_bytes(const struct spool *s);

/* Rewrites the file as: forget mark `forgot`, then the events given by add() calls,
 * atomically (temporary file + rename). Call begin, add for each live event in seq
 * order, then commit. On failure the old file stays in use. Returns 0 or -1. */
int spool_rewrite_begin(struct spool *s, int64_t forgot);
int spool_rewrite_add(struct spool *s, int64_t seq, const void *data, size_t len);
int spool_rewrite_commit(struct spool *s);

/* Closes the file and releases the lock; NULL is fine. */
void spool_close(struct spool *s);

#endif
