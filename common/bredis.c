/* Redis URL parsing (with credentials), and connecting with timeouts, AUTH and SELECT;
 * reconnecting after a failure; one checked command. */
#include "bredis.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

void bredis_redact(const char *url, char *out, size_t cap)
{
    const char *p = !strncmp(url, "redis://", 8) ? url + 8 : url;
    const char *at = strrchr(p, '@');
    const char *colon = at ? memchr(p, ':', (size_t)(at - p)) : NULL;
    if (!colon) {
        snprintf(out, cap, "%s", url);
        return;
    }
    snprintf(out, cap, "%.*s:***%s", (int)(colon - url), url, at);
}

/* USER[:PASSWORD]@ before the host; percent-encoding is not decoded (passwords with
 * '@' or ':' go through the environment instead). */
static int parse_userinfo(const char *p, const char *at, struct bredis_addr *a)
{
    const char *colon = memchr(p, ':', (size_t)(at - p));
    const char *uend = colon ? colon : at;
    if ((size_t)(uend - p) >= sizeof a->user)
        return -1;
    memcpy(a->user, p, (size_t)(uend - p));
    a->user[uend - p] = '\0';
    if (colon) {
        if ((size_t)(at - colon - 1) >= sizeof a->pass)
            return -1;
        memcpy(a->pass, colon + 1, (size_t)(at - colon - 1));
        a->pass[at - colon - 1] = '\0';
    }
    return 0;
}

/* The password from BOOTSTORM_REDIS_PASSWORD or BOOTSTORM_REDIS_PASSWORD_FILE. */
static int password_from_env(struct bredis_addr *a, char *err, size_t errlen)
{
    const char *v = getenv("BOOTSTORM_REDIS_PASSWORD"), *f = getenv("BOOTSTORM_REDIS_PASSWORD_FILE");
    if (v && *v) {
        snprintf(a->pass, sizeof a->pass, "%s", v);
        return 0;
    }
    if (!f || !*f)
        return 0;
    FILE *fp = fopen(f, "r");
    if (!fp || !fgets(a->pass, sizeof a->pass, fp)) {
        snprintf(err, errlen, "BOOTSTORM_REDIS_PASSWORD_FILE '%s': cannot read a password from it", f);
        if (fp)
            fclose(fp);
        return -1;
    }
    fclose(fp);
    a->pass[strcspn(a->pass, "\r\n")] = '\0';
    return 0;
}

static int parse_number(const char *s, long lo, long hi, const char *stop, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || v < lo || v > hi || (*end && !strchr(stop, *end)))
        return -1;
    *out = v;
    return 0;
}

static int parse_hostport(const char *url, const char *p, struct bredis_addr *a, char *err,
                          size_t errlen)
{
    const char *colon = strrchr(p, ':'), *slash = strchr(p, '/');
    size_t hlen = colon ? (size_t)(colon - p) : slash ? (size_t)(slash - p) : strlen(p);
    if (hlen == 0 || hlen > 255)
        return snprintf(err, errlen, "redis URL '%s': no host", url), -1;
    memcpy(a->host, p, hlen);
    a->host[hlen] = '\0';
    long v;
    if (colon) {
        if (parse_number(colon + 1, 1, 65535, "/", &v) < 0)
            return snprintf(err, errlen, "redis URL '%s': bad port", url), -1;
        a->port = (int)v;
    }
    if (slash) {
        if (parse_number(slash + 1, 0, 15, "", &v) < 0)
            return snprintf(err, errlen, "redis URL '%s': bad database number", url), -1;
        a->db = (int)v;
    }
    return 0;
}

int bredis_parse_url(const char *url, struct bredis_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    a->port = 6379;
    char shown[512];
    bredis_redact(url, shown, sizeof shown);
    if (!strncmp(url, "unix://", 7)) {
        snprintf(a->host, sizeof a->host, "%s", url + 7);
        a->port = 0;
        if (a->host[0] != '/')
            return snprintf(err, errlen, "redis URL '%s': unix path must be absolute", url), -1;
        return password_from_env(a, err, errlen);
    }
    const char *p = !strncmp(url, "redis://", 8) ? url + 8 : url;
    const char *at = strrchr(p, '@');
    if (at && parse_userinfo(p, at, a) < 0)
        return snprintf(err, errlen, "redis URL '%s': user or password too long", shown), -1;
    if (parse_hostport(shown, at ? at + 1 : p, a, err, errlen) < 0)
        return -1;
    return a->pass[0] ? 0 : password_from_env(a, err, errlen);
}

/* Runs one set-up command; 0, or -1 with Redis's answer in err. */
static int setup_command(redisContext *c, const char *shown, const char *what, char *err,
                         size_t errlen, redisReply *r)
{
    int bad = !r || r->type == REDIS_REPLY_ERROR;
    if (bad)
        snprintf(err, errlen, "redis %s: %s failed: %s", shown, what,
                 r ? r->str : c->errstr[0] ? c->errstr : "no answer");
    if (r)
        freeReplyObject(r);
    return bad ? -1 : 0;
}

redisContext *bredis_connect(const char *url, int timeout_ms, char *err, size_t errlen)
{
    struct bredis_addr a;
    char shown[512];
    bredis_redact(url, shown, sizeof shown);
    if (bredis_parse_url(url, &a, err, errlen) < 0)
        return NULL;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = a.port ? redisConnectWithTimeout(a.host, a.port, tv)
                             : redisConnectUnixWithTimeout(a.host, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "redis %s: %s", shown, c ? c->errstr : "out of memory");
        goto fail;
    }
    redisSetTimeout(c, tv);
    if (a.pass[0] && setup_command(c, shown, "AUTH", err, errlen,
                                   a.user[0] ? redisCommand(c, "AUTH %s %s", a.user, a.pass)
                                             : redisCommand(c, "AUTH %s", a.pass)) < 0)
        goto fail;
    if (a.db && setup_command(c, shown, "SELECT", err, errlen, redisCommand(c, "SELECT %d", a.db)) < 0)
        goto fail;
    return c;
fail:
    if (c)
        redisFree(c);
    return NULL;
}

redisReply *bredis_query(redisContext *c, int type, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    if (!r) {
        snprintf(err, errlen, "redis: %s", c->err ? c->errstr : "no reply");
        return NULL;
    }
    if (r->type != type) {
        if (r->type == REDIS_REPLY_ERROR)
            snprintf(err, errlen, "redis: %s", r->str);
        else
            snprintf(err, errlen, "redis: unexpected reply type %d to '%s'", r->type, fmt);
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

/* 1 when c answers PING with PONG; 0 with the reason in err (e.g. LOADING). */
static int answers(redisContext *c, char *err, size_t errlen)
{
    redisReply *r = bredis_query(c, REDIS_REPLY_STATUS, err, errlen, "PING");
    int ok = r && !strcmp(r->str, "PONG");
    if (r)
        freeReplyObject(r);
    return ok;
}

int bredis_reconnect(redisContext **c, const char *url, int timeout_ms, int budget_ms, char *err,
                     size_t errlen)
{
    if (*c)
        redisFree(*c);
    *c = NULL;
    mono_ns end = mono_add(clock_mono(), (int64_t)budget_ms * NS_PER_MS);
    for (;;) {
        if ((*c = bredis_connect(url, timeout_ms, err, errlen)) && answers(*c, err, errlen))
            return 0;
        if (*c)
            redisFree(*c);
        *c = NULL;
        if (mono_diff(clock_mono(), end) <= 0)
            return -1;
        struct timespec ts = {0, 200 * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
            ;
    }
}
