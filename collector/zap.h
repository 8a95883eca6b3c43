/* Who may connect to the collector: a ZAP handler (ZeroMQ RFC 27). With CURVE and an
 * allow-list, only listed client keys are admitted, and each connection's messages
 * carry the id its key is listed for as their "User-Id" (a host id, or "cli"), which
 * the collector compares with the host a message claims (coll.c). Without an
 * allow-list every client is admitted with an empty User-Id.
 * Not for what a connected peer may send (coll.c) nor for CURVE itself (bzmq.c). */
#ifndef BS_ZAP_H
#define BS_ZAP_H

#include <stddef.h>

struct zap;

/* One allow-list entry: a CURVE public key (Z85) and who it is. */
struct zap_entry {
    char key[41];
    char id[64]; /* a host id, or "cli" */
};

/* Reads "KEY ID" lines ('#' comments, blank lines) from path. Returns the number of
 * entries (*out malloc'd), or -1 with FILE:LINE and the reason in err. */
int zap_allow_load(const char *path, struct zap_entry **out, char *err, size_t errlen);

/* The decision for one handshake; pure (unit-tested). mech is "NULL" or "CURVE", key
 * the client's Z85 public key ("" without CURVE), allow NULL = no allow-list. Returns
 * NULL (admit: *user is the User-Id to give, "" or the key's id) or the reason. */
const char *zap_decide(const char *mech, const char *key, const struct zap_entry *allow,
                       int nallow, const char **user);

/* Binds the handler in bzmq's context: call before the ROUTER binds. allow_path NULL:
 * no allow-list. Returns NULL with the reason in err. */
struct zap *zap_open(const char *allow_path, char *err, size_t errlen);

/* The socket to poll for ZMQ_POLLIN. */
void *zap_socket(struct zap *z);

/* Answers every waiting handshake; refusals are logged with the peer's address. */
void zap_serve(struct zap *z);

void zap_close(struct zap *z);

#endif
