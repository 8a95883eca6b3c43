/* Where bootstorm's own files are: every program finds its siblings relative to its
 * executable, <prefix>/bin/PROGRAM, so a build tree (build/) and an installed tree
 * (/opt/bootstorm) work alike: <prefix>/guests, /images, /share, /bin. */
#ifndef BS_PATHS_H
#define BS_PATHS_H

#include <stddef.h>

/* The prefix: the directory above the running executable's ("." if unknown). */
const char *path_prefix(void);

/* Writes <prefix>/SUB into out (len bytes); returns out. */
char *path_in_prefix(char *out, size_t len, const char *sub);

#endif
