/* Helpers shared by the config-file parsers (scenario.c, profile.c) so every config
 * error reads "FILE:LINE: key 'K': what is wrong". Internal to common/; not a general
 * YAML API and not for wire data (that is MessagePack, event.h). */
#ifndef BS_YAMLCFG_H
#define BS_YAMLCFG_H

#include <libfyaml.h>
#include <stddef.h>

/* Where messages go: the file name to print and the caller's error buffer. */
struct ycfg {
    const char *file;
    char *err;
    size_t errlen;
};

/* Writes "FILE:LINE: key 'K': MSG" (or "FILE:LINE: MSG" when key is NULL) into the
 * error buffer. Always returns -1 so callers can `return ycfg_fail(...)`. */
int ycfg_fail(const struct ycfg *c, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Reads c->file whole (at most 1 MiB). On success *text is malloc'ed, NUL-terminated
 * and the caller frees it. Returns 0 or -1 ("FILE: reason"). */
int ycfg_read_file(const struct ycfg *c, char **text, size_t *len);

/* Parses YAML 1.2 text into a document whose root is a mapping. Aliases (*name) are
 * refused ("FILE:LINE: YAML aliases ... not allowed"), never expanded: nested ones
 * would take gigabytes. Anchors alone are harmless and ignored. Text that is not UTF-8
 * or holds a tab is refused before libfyaml sees it (libfyaml 0.7.12 hangs or crashes
 * on some such inputs).
 * Returns the document (fy_document_destroy() it), or NULL with the parser's first
 * error and its line in the buffer. text must outlive the document. */
struct fy_document *ycfg_parse(const struct ycfg *c, const char *text, size_t len);

/* 1-based line of a node (a collection: of its first scalar), 0 if it has none. */
int ycfg_line(struct fy_node *n);

/* "a list", "a mapping" or "a scalar", for messages. */
const char *ycfg_kind(struct fy_node *n);

/* Copies a scalar's text into dst (cap bytes with the NUL); an empty value gives "".
 * Collections, over-long text and NUL bytes are errors for key at line. */
int ycfg_text(const struct ycfg *c, const char *key, int line, struct fy_node *v, char *dst,
              size_t cap);

/* Parses a plain decimal integer scalar (quoted "64" is a string, so it fails).
 * Returns 0, or -1 without writing a message: the caller knows the expected range. */
int ycfg_int(struct fy_node *v, long long *out);

/* A value quoted for messages ('abc', cut at 40 bytes) or its kind; uses buf. */
const char *ycfg_shown(struct fy_node *v, char *buf, size_t cap);

/* True if s is non-empty and only [A-Za-z0-9_.-] plus the characters in extra. */
int ycfg_valid_id(const char *s, const char *extra);

/* The one rule for a host, run or pool id (they become parts of Redis keys and log
 * lines): non-empty, only [A-Za-z0-9_.-], shorter than BS_ID_MAX (event.h). Returns
 * NULL for a valid id, else why not ("empty", "longer than 63 characters", ...). */
const char *ycfg_id_why(const char *s);

/* ycfg_id_why as an error: 0 for a valid id, else -1 with "bad WHAT 'ID': WHY" in err
 * (the id shown cut at 64 bytes, bytes outside printable ASCII as '?'). */
int ycfg_id_check(const char *what, const char *s, char *err, size_t errlen);

/* strncpy that always terminates: copies at most cap - 1 bytes. */
void ycfg_copy(char *dst, size_t cap, const char *src);

#endif
