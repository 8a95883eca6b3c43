/* Redis addresses, credentials and connections (hiredis). Not for the key schema: that
 * is redis/SCHEMA.md and the code that writes or reads each key. */
#ifndef BS_BREDIS_H
#define BS_BREDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* Where a Redis is and who we are to it. */
struct bredis_addr {
    char host[256]; /* host name or address; the socket path when port is 0 */
    int port;       /* 0: a unix socket */
    int db;
    char user[128]; /* "" = the default user */
    char pass[256]; /* "" = no AUTH */
};

/* Parses "redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]", "HOST:PORT" or
 * "unix:///path". A password not in the URL comes from the environment:
 * BOOTSTORM_REDIS_PASSWORD, or the first line of the file BOOTSTORM_REDIS_PASSWORD_FILE
 * (so it need not be on a command line, where ps shows it). Returns 0 or -1 with the
 * reason in err; err never holds the password. */
int bredis_parse_url(const char *url, struct bredis_addr *a, char *err, size_t errlen);

/* url with any password replaced by "***", for logs and error messages. */
void bredis_redact(const char *url, char *out, size_t cap);

/* Connects (timeout_ms for connect and each command), authenticates and selects the
 * db. Returns a context the caller frees with redisFree(), or NULL with the reason in
 * err (the URL in it redacted). */
redisContext *bredis_connect(const char *url, int timeout_ms, char *err, size_t errlen);

/* Replaces *c, a context that failed (c->err set; hiredis contexts are never reused
 * after that), by a new one to url: bredis_connect, then PING until Redis answers PONG
 * (not LOADING while it reads its AOF back), every 200 ms for up to budget_ms. Frees
 * the old context. Returns 0 with *c the new context, or -1 with *c NULL and the last
 * reason in err. Prints nothing: the caller says once that it is reconnecting. */
int bredis_reconnect(redisContext **c, const char *url, int timeout_ms, int budget_ms, char *err,
                     size_t errlen);

/* Runs one command; returns the reply when it has type `type` (REDIS_REPLY_*), else
 * NULL with the reason in err: Redis's error, an unexpected type, or a transport failure
 * (then c->err is set and c must be remade: bredis_reconnect). */
redisReply *bredis_query(redisContext *c, int type, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#endif
