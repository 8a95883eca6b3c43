/* A small reproducible random source for the unit tests' random models: an LCG, the
 * same sequence on every machine, so a failure names its round and replays as it was. */
#ifndef BS_TESTRAND_H
#define BS_TESTRAND_H

#include <stdint.h>

/* 0..n-1 from *state, which it advances. */
static inline int test_rand(uint32_t *state, int n)
{
    *state = *state * 1103515245u + 12345u;
    return (int)(*state >> 16) % n;
}

#endif
