/* Notes on a run's meta through FCALL bs_run_note (see runmeta.h). */
#include "runmeta.h"

#include <stdio.h>
#include <string.h>

#include "keys.h"

int runmeta_note(redisContext *c, const char *run, enum runmeta_op op, const char *field,
                 const char *value, char *err, size_t errlen)
{
    static const char *const verbs[] = {
        [RUNMETA_SET] = "set", [RUNMETA_DEL] = "del", [RUNMETA_INCR] = "incr"};
    char key[KEY_MAX];
    if (keys_run(key, sizeof key, run, KEY_META) < 0) {
        snprintf(err, errlen, "run id '%.64s...' is too long", run);
        return -1;
    }
    const char *argv[] = {"FCALL", "bs_run_note", "1", key, run, verbs[op], field, value};
    int argc = op == RUNMETA_DEL || !value ? 7 : 8;
    redisReply *r = redisCommandArgv(c, argc, argv, NULL);
    int rc = r && r->type != REDIS_REPLY_ERROR ? 0 : -1;
    if (rc < 0)
        snprintf(err, errlen, "%s", r ? r->str : c->errstr);
    if (r)
        freeReplyObject(r);
    return rc;
}
