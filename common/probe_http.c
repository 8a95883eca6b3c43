/* libcurl multi interface, polled: curl_multi_perform() with no wait, completions read
 * with curl_multi_info_read(). The response body is discarded. Not for deciding
 * which status means ready (profile_http_ok) or when to retry (the callers). */
#include "probe_http.h"

#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

struct http_prober {
    CURLM *multi;
    int active;
    CURL **by_idx; /* guest index -> its easy handle in flight */
    int cap;
};

static size_t discard(char *p, size_t size, size_t n, void *u)
{
    (void)p;
    (void)u;
    return size * n;
}

struct http_prober *http_prober_new(void)
{
    static int inited;
    if (!inited && curl_global_init(CURL_GLOBAL_NOTHING) == 0)
        inited = 1;
    struct http_prober *hp = calloc(1, sizeof *hp);
    if (hp && !(hp->multi = curl_multi_init())) {
        free(hp);
        return NULL;
    }
    return hp;
}

static void finish(struct http_prober *hp, CURL *e)
{
    intptr_t idx = 0;
    curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&idx);
    if (idx >= 0 && idx < hp->cap)
        hp->by_idx[idx] = NULL;
    curl_multi_remove_handle(hp->multi, e);
    curl_easy_cleanup(e);
    hp->active--;
}

void http_prober_free(struct http_prober *hp)
{
    if (!hp)
        return;
    for (int i = 0; i < hp->cap; i++)
        if (hp->by_idx[i])
            finish(hp, hp->by_idx[i]);
    curl_multi_cleanup(hp->multi);
    free(hp->by_idx);
    free(hp);
}

int http_probe_start(struct http_prober *hp, int idx, int port, const char *path, int timeout_ms)
{
    if (idx >= hp->cap) {
        int ncap = hp->cap ? hp->cap : 64;
        while (ncap <= idx)
            ncap *= 2;
        CURL **n = realloc(hp->by_idx, (size_t)ncap * sizeof *n);
        if (!n)
            return -1;
        for (int i = hp->cap; i < ncap; i++)
            n[i] = NULL;
        hp->by_idx = n;
        hp->cap = ncap;
    }
    if (hp->by_idx[idx])
        return 0;
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    char url[256];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s%s", port, path[0] == '/' ? "" : "/", path);
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* never through a proxy from the environment */
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (char *)(intptr_t)idx);
    if (curl_multi_add_handle(hp->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        return -1;
    }
    hp->by_idx[idx] = e;
    hp->active++;
    return 0;
}

void http_probe_cancel(struct http_prober *hp, int idx)
{
    if (idx >= 0 && idx < hp->cap && hp->by_idx[idx])
        finish(hp, hp->by_idx[idx]);
}

void http_prober_poll(struct http_prober *hp, void (*done)(void *ctx, int idx, long status),
                      void *ctx)
{
    if (!hp->active)
        return;
    int running;
    curl_multi_perform(hp->multi, &running);
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(hp->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        CURL *e = m->easy_handle;
        long status = 0;
        intptr_t idx = 0;
        if (m->data.result == CURLE_OK)
            curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&idx);
        finish(hp, e);
        done(ctx, (int)idx, status);
    }
}

int http_prober_active(const struct http_prober *hp)
{
    return hp->active;
}
