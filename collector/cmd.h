/* One Redis command as an argv array, built piecewise without allocation, then
 * appended to a pipeline or run at once. Not for the key layout (apply.c, control.c). */
#ifndef BS_COLL_CMD_H
#define BS_COLL_CMD_H

#include <hiredis/hiredis.h>
#include <stddef.h>
#include <stdint.h>

#define CMD_MAX_ARGS 64
#define CMD_BUF 2048 /* room for the arguments cmd_fmt copies */

struct cmd {
    int argc;
    int overflow; /* set when an argument did not fit; the command is then refused */
    const char *argv[CMD_MAX_ARGS];
    size_t len[CMD_MAX_ARGS];
    size_t used;
    char buf[CMD_BUF];
};

/* Empties c. */
void cmd_init(struct cmd *c);

/* Adds n bytes at s as one argument, by reference: s must live until cmd_append or
 * cmd_run returned. */
void cmd_ref(struct cmd *c, const char *s, size_t n);

/* Adds the NUL-terminated s by reference (same rule as cmd_ref). */
void cmd_str(struct cmd *c, const char *s);

/* Adds a formatted argument, copied into c. */
void cmd_fmt(struct cmd *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Adds a decimal integer, copied into c. */
void cmd_int(struct cmd *c, int64_t v);

/* Appends c to r's output buffer (pipelining: read its reply later with
 * redisGetReply). Returns 0, or -1 when c overflowed or hiredis failed. */
int cmd_append(redisContext *r, struct cmd *c);

/* Sends c and waits for its reply. Returns the reply (caller frees with
 * freeReplyObject), or NULL when c overflowed or the connection failed (r->err set). */
redisReply *cmd_run(redisContext *r, struct cmd *c);

#endif
