/* Redis addresses and connections (hiredis). Not for the key schema: that is
 * redis/SCHEMA.md and the code that writes or reads each key. */
#ifndef BS_BREDIS_H
#define BS_BREDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* Parses "redis://HOST:PORT[/DB]", "HOST:PORT" or "unix:///path". Returns 0 or -1
 * with the reason in err. host must hold 256 bytes. */
int bredis_parse_url(const char *url, char *host, int *port, int *db, char *err, size_t errlen);

/* Connects (timeout_ms for connect and each command) and selects the db. Returns a
 * context the caller frees with redisFree(), or NULL with the reason in err. */
redisContext *bredis_connect(const char *url, int timeout_ms, char *err, size_t errlen);

#endif
