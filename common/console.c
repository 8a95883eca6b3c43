/* Guest output matching for the launcher and guests check alike (console.h). Pure:
 * no fds, no clocks, no events; callers stamp and publish what the callbacks report. */
#include "console.h"

#include <string.h>

int console_matcher_init(struct console_matcher *m, const struct profile *p)
{
    m->p = p;
    m->md = pcre2_match_data_create(8, NULL);
    return m->md ? 0 : -1;
}

void console_matcher_free(struct console_matcher *m)
{
    if (m->md)
        pcre2_match_data_free(m->md);
    m->md = NULL;
}

void console_reset(struct console *c)
{
    memset(c, 0, sizeof *c);
}

static int re_match(const struct console_matcher *m, pcre2_code *re, const char *s, size_t len)
{
    return pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, m->md, NULL) >= 0;
}

/* True if the marker `after` (an index below limit, or -1 for none) has matched. */
static int after_ok(const struct console *c, int after, int limit)
{
    return after < 0 || after >= limit || (c->seen & (1u << after));
}

/* One (maybe partial) line: the markers not seen yet, then the ready regex. A marker
 * whose `after` marker has not matched yet waits for a later line. */
static void match_line(const struct console_matcher *m, struct console *c, const char *s,
                       size_t len, const struct console_cb *cb, void *ctx)
{
    const struct profile *p = m->p;
    for (int i = 0; i < p->nmarkers; i++) {
        const struct profile_marker *mk = &p->markers[i];
        if ((c->seen & (1u << i)) || !after_ok(c, mk->after, i) || !re_match(m, mk->re, s, len))
            continue;
        c->seen |= 1u << i;
        if (cb->marker)
            cb->marker(ctx, i);
    }
    if (p->ready_kind == READY_CONSOLE && !c->ready && after_ok(c, p->ready.after, p->nmarkers) &&
        re_match(m, p->ready.re, s, len)) {
        c->ready = 1;
        if (cb->ready)
            cb->ready(ctx);
    }
}

void console_feed(const struct console_matcher *m, struct console *c, const char *p, size_t n,
                  const struct console_cb *cb, void *ctx)
{
    if (n && !c->got_output) {
        c->got_output = 1;
        if (cb->first_output)
            cb->first_output(ctx);
    }
    while (n > 0) {
        size_t take = 0;
        while (take < n && p[take] != '\n')
            take++;
        int newline = take < n;
        size_t room = sizeof c->line - 1 - c->linelen;
        size_t copy = take < room ? take : room;
        for (size_t i = 0; i < copy; i++) /* a NUL from a guest must not cut a line */
            c->line[c->linelen + i] = p[i] ? p[i] : ' ';
        c->linelen += copy;
        size_t len = c->linelen;
        while (len && c->line[len - 1] == '\r')
            len--;
        match_line(m, c, c->line, len, cb, ctx);
        int full = c->linelen == sizeof c->line - 1;
        if (newline || full) {
            if (cb->line)
                cb->line(ctx, c->line, len);
            c->linelen = 0;
        }
        p += copy < take ? copy : take + newline; /* a cut line goes on with the rest */
        n -= copy < take ? copy : take + newline;
    }
}

const char *console_partial(struct console *c)
{
    c->line[c->linelen] = '\0';
    return c->line;
}

int console_debug_feed(struct console_debug *d, const char *want, const char *p, size_t n)
{
    size_t wlen = strlen(want);
    if (!wlen || wlen > sizeof d->buf)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (d->len == sizeof d->buf) { /* keep the newest bytes */
            memmove(d->buf, d->buf + 1, sizeof d->buf - 1);
            d->len--;
        }
        d->buf[d->len++] = p[i];
        if (d->len >= wlen && !memcmp(d->buf + d->len - wlen, want, wlen))
            return 1;
    }
    return 0;
}

#define KVM_ERROR_PHRASE "KVM internal error"

/* The phrase in what the tail held before plus p (a read may split it). */
static int saw_kvm_error(const struct console_tail *t, const char *p, size_t n)
{
    char joined[2 * sizeof KVM_ERROR_PHRASE];
    size_t plen = sizeof KVM_ERROR_PHRASE - 1;
    size_t old = t->len < plen - 1 ? t->len : plen - 1;
    for (size_t i = 0; i + plen <= n; i++)
        if (!memcmp(p + i, KVM_ERROR_PHRASE, plen))
            return 1;
    size_t add = n < plen - 1 ? n : plen - 1; /* the seam: old end + new start */
    memcpy(joined, t->buf + t->len - old, old);
    memcpy(joined + old, p, add);
    for (size_t i = 0; i + plen <= old + add; i++)
        if (!memcmp(joined + i, KVM_ERROR_PHRASE, plen))
            return 1;
    return 0;
}

void console_tail_add(struct console_tail *t, const char *p, size_t n)
{
    size_t keep = sizeof t->buf - 1;
    if (!t->kvm_error && saw_kvm_error(t, p, n))
        t->kvm_error = 1;
    if (n >= keep) {
        p += n - keep;
        n = keep;
    }
    if (t->len + n > keep) {
        size_t drop = t->len + n - keep;
        memmove(t->buf, t->buf + drop, t->len - drop);
        t->len -= drop;
    }
    memcpy(t->buf + t->len, p, n);
    t->len += n;
    t->buf[t->len] = '\0';
}

const char *console_tail_oneline(struct console_tail *t)
{
    for (size_t i = 0; i < t->len; i++)
        if (t->buf[i] == '\n' || t->buf[i] == '\r')
            t->buf[i] = ' ';
    t->buf[t->len] = '\0';
    return t->buf;
}
