/* libFuzzer target for the event codec (event.h): any bytes go to ev_decode; what it
 * accepts must encode, decode again to the same struct and re-encode to the same
 * bytes. Not a unit test: see tests/unit/test_event.c and test_mpcheck.c. */
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
    if (memcmp(&a, &b, sizeof a) != 0)
        abort(); /* to the same event (ev_init zeroes padding and unused bytes) */
    int n2 = ev_encode(&b, buf2, sizeof buf2);
    if (n2 != n1 || memcmp(buf1, buf2, (size_t)n1) != 0)
        abort();
    return 0;
}
