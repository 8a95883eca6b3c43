/* Builds FCALL bs_apply argv arrays straight from the received frames: the Function
 * decodes them with cmsgpack, so there is one table of fields (common/event.c). */
#include "apply.h"

#include <stdio.h>
#include <string.h>

#include "keys.h"

void apply_begin(struct apply_call *a, const char *host, int64_t now_tr)
{
    snprintf(a->host, sizeof a->host, "%s", host);
    snprintf(a->now, sizeof a->now, "%lld", (long long)now_tr);
    a->nev = a->nruns = 0;
}

static int add_run(struct apply_call *a, const char *run)
{
    if (!run[0])
        return 0;
    for (int i = 0; i < a->nruns; i++)
        if (!strcmp(a->runs[i], run))
            return 0;
    if (a->nruns == APPLY_RUNS_MAX)
        return -1;
    snprintf(a->runs[a->nruns++], BS_ID_MAX, "%s", run);
    return 0;
}

int apply_add(struct apply_call *a, const char *run, const void *msg, size_t len)
{
    if (a->nev == APPLY_BATCH_MAX || add_run(a, run) < 0)
        return -1;
    a->msg[a->nev] = msg;
    a->len[a->nev++] = len;
    return 0;
}

int apply_send(redisContext *r, const struct apply_call *a)
{
    enum { FIXED = 6 };
    const char *argv[FIXED + APPLY_RUNS_MAX + APPLY_BATCH_MAX];
    size_t len[FIXED + APPLY_RUNS_MAX + APPLY_BATCH_MAX];
    char hostkey[KEY_MAX], metas[APPLY_RUNS_MAX][KEY_MAX], nkeys[16];
    int n = 0;
    keys_host(hostkey, sizeof hostkey, a->host);
    snprintf(nkeys, sizeof nkeys, "%d", 1 + a->nruns);
    argv[n++] = "FCALL";
    argv[n++] = "bs_apply";
    argv[n++] = nkeys;
    argv[n++] = hostkey;
    for (int i = 0; i < a->nruns; i++) {
        keys_run(metas[i], sizeof metas[i], a->runs[i], KEY_META);
        argv[n++] = metas[i];
    }
    argv[n++] = a->host;
    argv[n++] = a->now;
    for (int i = 0; i < n; i++)
        len[i] = strlen(argv[i]);
    for (int i = 0; i < a->nev; i++, n++) {
        argv[n] = a->msg[i];
        len[n] = a->len[i];
    }
    return redisAppendCommandArgv(r, n, argv, len) == REDIS_OK ? 0 : -1;
}

int apply_result(const redisReply *r, int nev, int64_t *acked, int *codes, char *errbuf,
                 size_t errlen)
{
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(errbuf, errlen, "%s", r->str);
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != (size_t)nev + 1) {
        snprintf(errbuf, errlen, "bs_apply answered type %d with %zu elements for %d events",
                 r->type, r->type == REDIS_REPLY_ARRAY ? r->elements : 0, nev);
        return -1;
    }
    for (size_t i = 0; i <= (size_t)nev; i++)
        if (r->element[i]->type != REDIS_REPLY_INTEGER) {
            snprintf(errbuf, errlen, "bs_apply answer %zu is not an integer", i);
            return -1;
        }
    *acked = r->element[0]->integer;
    for (int i = 0; i < nev; i++)
        codes[i] = (int)r->element[i + 1]->integer;
    return 0;
}
