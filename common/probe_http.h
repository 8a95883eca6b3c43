/* The "it serves" readiness probe: HTTP GETs to guests' forwarded ports through one
 * libcurl multi handle, driven from the launcher's loop without blocking it. */
#ifndef BS_PROBE_HTTP_H
#define BS_PROBE_HTTP_H

struct http_prober;

struct http_prober *http_prober_new(void);
void http_prober_free(struct http_prober *hp);

/* Starts GET http://127.0.0.1:PORT/PATH for guest idx (one probe per guest at a time;
 * a second call while one is in flight is ignored). Returns 0 or -1. */
int http_probe_start(struct http_prober *hp, int idx, int port, const char *path, int timeout_ms);

/* Cancels guest idx's probe, if any. */
void http_probe_cancel(struct http_prober *hp, int idx);

/* Advances every transfer without blocking; calls done(ctx, idx, status) for each
 * finished probe: the HTTP status, or 0 when no status line came back. */
void http_prober_poll(struct http_prober *hp, void (*done)(void *ctx, int idx, long status),
                      void *ctx);

/* Probes in flight. */
int http_prober_active(const struct http_prober *hp);

#endif
