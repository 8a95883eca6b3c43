/* Scenario files (YAML, docs/SCENARIOS.md): what to boot, how many, in which
 * pattern. Parsing only; running a scenario is the CLI's and launcher's job. */
#ifndef BS_SCENARIO_H
#define BS_SCENARIO_H

#include <stddef.h>

#include "event.h"

#define SCENARIO_MAX_COUNTS 32
/* A PSS read walks a QEMU's page tables (about 1 ms each on the 2-core test machine):
 * the whole fleet's would cost the launcher more than everything else it does per
 * guest. 32 guests evenly spread gave the mean of all 256 identical guests within 0.2%
 * (docs/LAUNCHER.md, "Memory and CPU"); pss_guests: 0 reads every guest. */
#define PSS_GUESTS_DEFAULT 32

struct scenario {
    char path[256];                  /* the file it came from, for messages */
    char name[BS_ID_MAX];            /* default: the file's base name without .yaml */
    char guest[BS_ID_MAX];           /* guest profile name (guests/<guest>.yaml); required */
    char backend[16];                /* qemu (default) | libvirt | process */
    char accel[16];                  /* auto (default) | kvm | tcg */
    int counts[SCENARIO_MAX_COUNTS]; /* `count: N` or `count: [N, ...]` (a sweep); required */
    int ncounts;
    char pattern[16];      /* burst (default) | interval | ramp */
    int interval_ms;       /* required > 0 when pattern is interval; default 5 */
    int hold_s;            /* default 0 */
    int timeout_s;         /* per guest, default 60 */
    int repeat;            /* default 1 */
    int sample_ms;         /* memory sampling period, default 100 */
    int pss_guests;        /* guests whose PSS a sample reads, evenly spread; 0 all; default 32 */
    int cooldown_s;        /* pause between the runs of a sweep, default 0 */
    char hosts[256];       /* "all" (default) or a comma list of hosts and pools (pool:NAME) */
    char split[16];        /* per_host (default: count on every host) | by_cores (count is the
                            * fleet's total, split by the hosts' cores) */
    int concurrency_limit; /* at most this many boots in flight; 0 (default) = no limit */
    int trace;             /* keep every console line (true/false, default false) */
    int restart_after_ms;  /* restart: {after_s: S, fraction: F}: S after all are ready, */
    int restart_permille;  /* kill F of the fleet and start it again at once; 0 = none */
    char start[16];        /* cold (default) | snapshot | template: guests restored from a
                            * template the launcher prepares first (docs/SNAPSHOTS.md) */
    char ramp[2048];       /* pattern ramp: `ramp: FILE.csv` (t_s,count rows) as "T_MS:COUNT,..." */
    /* start snapshot: every host restores this state file (saved before, at this path on
     * each host) instead of preparing a template (docs/SNAPSHOTS.md) */
    char snapshot_file[200];
};

/* Parses the scenario at path into s (defaults filled in). Unknown keys, wrong
 * types and out-of-range values are errors. Returns 0, or -1 with
 * "PATH:LINE: key 'K': what is wrong" in err. */
int scenario_load(const char *path, struct scenario *s, char *err, size_t errlen);

/* Same, from YAML text in memory; name is used in messages in place of a path. */
int scenario_parse(const char *name, const char *text, size_t len, struct scenario *s, char *err,
                   size_t errlen);

/* Fills a start command for one run of s with count guests (run id not set). */
void scenario_to_start(const struct scenario *s, int count, struct ev *start);

/* Why a hosts list ("all", or host/pool names and pool:NAME separated by commas) is
 * not one, or NULL when it is: the rule for the scenario's `hosts:` and `run --hosts`. */
const char *scenario_hosts_why(const char *list);

#endif
