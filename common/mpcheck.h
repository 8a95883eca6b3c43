/* A bound check on MessagePack bytes, run before msgpack-c sees them: msgpack-c trusts
 * declared lengths and counts and allocates for them (a 5-byte str32 header asked for
 * 4 GiB). Walks the bytes without allocating. Not a decoder: see event.h. */
#ifndef BS_MPCHECK_H
#define BS_MPCHECK_H

#include <stddef.h>

#define MP_MAX_DEPTH 16 /* nested arrays / maps; events are one flat map */

/* Checks that data[0..len) starts with one well-formed MessagePack object whose every
 * str/bin/ext length and array/map element count fits in the bytes left, nested at
 * most MP_MAX_DEPTH deep. On success returns 0 and sets *used to the object's size
 * (trailing bytes are the caller's business). Returns -1 with the reason in err
 * ("truncated ...", "declares ... bytes left", "nested deeper than ...", "malformed"). */
int mp_check(const void *data, size_t len, size_t *used, char *err, size_t errlen);

#endif
