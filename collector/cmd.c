/* Redis command argv building. */
#include "cmd.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void cmd_init(struct cmd *c)
{
    c->argc = 0;
    c->overflow = 0;
    c->used = 0;
}

void cmd_ref(struct cmd *c, const char *s, size_t n)
{
    if (c->argc == CMD_MAX_ARGS) {
        c->overflow = 1;
        return;
    }
    c->argv[c->argc] = s;
    c->len[c->argc++] = n;
}

void cmd_str(struct cmd *c, const char *s)
{
    cmd_ref(c, s, strlen(s));
}

void cmd_fmt(struct cmd *c, const char *fmt, ...)
{
    size_t room = CMD_BUF - c->used;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->buf + c->used, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room) {
        c->overflow = 1;
        return;
    }
    cmd_ref(c, c->buf + c->used, (size_t)n);
    c->used += (size_t)n + 1;
}

void cmd_int(struct cmd *c, int64_t v)
{
    cmd_fmt(c, "%" PRId64, v);
}

int cmd_append(redisContext *r, struct cmd *c)
{
    if (c->overflow || c->argc == 0)
        return -1;
    return redisAppendCommandArgv(r, c->argc, c->argv, c->len) == REDIS_OK ? 0 : -1;
}

redisReply *cmd_run(redisContext *r, struct cmd *c)
{
    if (c->overflow || c->argc == 0)
        return NULL;
    return redisCommandArgv(r, c->argc, c->argv, c->len);
}
