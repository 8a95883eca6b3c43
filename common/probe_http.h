/* The "it serves" readiness probe: HTTP GETs to guests' forwarded ports through one
 * libcurl multi handle, driven from the launcher's loop (or guests check's) without
 * blocking it. Which status means ready is the profile's rule (profile_http_ok). */
#ifndef BS_PROBE_HTTP_H
#define BS_PROBE_HTTP_H

/* QEMU's port forward accepts at once and retries its SYN to a guest that does not
 * listen yet with TCP backoff (1 s, 3 s): a fresh GET after 300 ms is faster. A probe
 * that got no ready status is retried HTTP_PROBE_RETRY_MS later. */
#define HTTP_PROBE_TIMEOUT_MS 300
#define HTTP_PROBE_RETRY_MS 20

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
