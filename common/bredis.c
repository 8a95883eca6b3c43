/* Redis URL parsing and connecting with timeouts. */
#include "bredis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bredis_parse_url(const char *url, char *host, int *port, int *db, char *err, size_t errlen)
{
    *port = 6379;
    *db = 0;
    if (!strncmp(url, "unix://", 7)) {
        snprintf(host, 256, "%s", url + 7);
        *port = 0;
        return host[0] == '/'
                   ? 0
                   : (snprintf(err, errlen, "redis URL '%s': unix path must be absolute", url), -1);
    }
    const char *p = !strncmp(url, "redis://", 8) ? url + 8 : url;
    const char *colon = strrchr(p, ':'), *slash = strchr(p, '/');
    size_t hlen = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hlen == 0 || hlen > 255) {
        snprintf(err, errlen, "redis URL '%s': no host", url);
        return -1;
    }
    memcpy(host, p, hlen);
    host[hlen] = '\0';
    if (colon) {
        char *end;
        long v = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || v < 1 || v > 65535 || (*end && *end != '/')) {
            snprintf(err, errlen, "redis URL '%s': bad port", url);
            return -1;
        }
        *port = (int)v;
    }
    if (slash) {
        char *end;
        long v = strtol(slash + 1, &end, 10);
        if (end == slash + 1 || *end || v < 0 || v > 15) {
            snprintf(err, errlen, "redis URL '%s': bad database number", url);
            return -1;
        }
        *db = (int)v;
    }
    return 0;
}

redisContext *bredis_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    char host[256];
    int port, db;
    if (bredis_parse_url(url, host, &port, &db, err, errlen) < 0)
        return NULL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c =
        port ? redisConnectWithTimeout(host, port, tv) : redisConnectUnixWithTimeout(host, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "redis %s: %s", url, c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (db) {
        redisReply *r = redisCommand(c, "SELECT %d", db);
        int bad = !r || r->type == REDIS_REPLY_ERROR;
        if (bad)
            snprintf(err, errlen, "redis %s: SELECT %d failed", url, db);
        if (r)
            freeReplyObject(r);
        if (bad)
            goto fail;
    }
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}
