/* Notes on a run's meta (bs:{RUN}:meta) through the Redis Function bs_run_note, the one
 * writer of that hash (redis/bootstorm.lua): the collector notes hosts' fates and
 * clocks, `bootstorm check` marks a run invalid. Not for creating a run (the collector's
 * start, collector/control.c) nor for reading meta (aggregator/). */
#ifndef BS_RUNMETA_H
#define BS_RUNMETA_H

#include <hiredis/hiredis.h>
#include <stddef.h>

/* What a note does to FIELD: sets it to VALUE, deletes it, or adds the integer VALUE. */
enum runmeta_op { RUNMETA_SET, RUNMETA_DEL, RUNMETA_INCR };

/* Applies op to field of run's meta (value NULL for RUNMETA_DEL). Returns 0, or -1 with
 * err set (the run does not exist, the field is not one to note, Redis failed). */
int runmeta_note(redisContext *c, const char *run, enum runmeta_op op, const char *field,
                 const char *value, char *err, size_t errlen);

#endif
