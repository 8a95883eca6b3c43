/* libFuzzer target for the scenario parser (scenario.h) through its in-memory entry,
 * scenario_parse, named scenarios/fuzz.yaml so a ramp file resolves into scenarios/
 * (scripts/fuzz.sh runs from the source tree). Not a unit test: see test_scenario.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct scenario s;
    char err[512];
    char *text = malloc(size + 1); /* scenario_load hands the parser NUL-terminated text */
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    scenario_parse("scenarios/fuzz.yaml", text, size, &s, err, sizeof err);
    free(text);
    return 0;
}
