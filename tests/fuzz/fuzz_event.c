/* libFuzzer target for the event codec (event.h): any bytes go to ev_decode; what it
 * accepts must encode, decode again to the same type and re-encode to the same bytes.
 * The encoding is canonical (every key of the type, in table order), so equal bytes
 * mean equal fields; the structs themselves may differ after a NUL (a duplicate key's
 * shorter value leaves the longer one's tail). Not a unit test: see test_event.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"

static char buf1[EV_MAX_BYTES], buf2[EV_MAX_BYTES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ev a, b;
    char err[256];
    if (ev_decode(data, size, &a, err, sizeof err) < 0)
        return 0;
    int n1 = ev_encode(&a, buf1, sizeof buf1);
    if (n1 <= 0)
        abort(); /* a decoded event must encode */
    if (ev_decode(buf1, (size_t)n1, &b, err, sizeof err) < 0)
        abort(); /* and what we encode must decode */
    if (a.type != b.type)
        abort();
    int n2 = ev_encode(&b, buf2, sizeof buf2);
    if (n2 != n1 || memcmp(buf1, buf2, (size_t)n1) != 0)
        abort();
    return 0;
}
