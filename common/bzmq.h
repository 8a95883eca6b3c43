/* ZeroMQ helpers: one shared context, socket set-up with our options, and sending
 * or receiving one struct ev. Not for message semantics (acks, commands). */
#ifndef BS_BZMQ_H
#define BS_BZMQ_H

#include <stddef.h>

#include "event.h"

/* The process-wide ZeroMQ context, created on first use. */
void *bzmq_ctx(void);

/* Terminates the context; every socket must be closed first. */
void bzmq_term(void);

/* Creates a socket of type (ZMQ_DEALER, ZMQ_ROUTER), linger 0, large HWMs. No
 * routing id is chosen: the collector's ROUTER names connections itself, and which
 * host a connection speaks for is its decision (collector/coll.c). Binds if bind else
 * connects to endpoint. Returns the socket or NULL with the reason in err. */
void *bzmq_socket(int type, const char *endpoint, int bind, char *err, size_t errlen);

/* CURVE (libzmq's built-in): keys are Z85 text, 40 characters. A server socket needs
 * its own pair; a client needs the server's public key and a pair of its own (any pair:
 * the collector runs no ZAP handler, so CURVE encrypts and authenticates the server,
 * and a client is admitted by knowing the server's public key). */
#define BZMQ_KEY_LEN 41 /* 40 Z85 characters and the NUL */
struct bzmq_curve {
    int server;                    /* 1: ZMQ_CURVE_SERVER (bind side) */
    char server_key[BZMQ_KEY_LEN]; /* client: the server's public key */
    char public_key[BZMQ_KEY_LEN]; /* own pair; a client's is generated when empty */
    char secret_key[BZMQ_KEY_LEN];
};

/* Reads a key file: lines "public = Z85" and/or "secret = Z85" ('#' comments). pub or
 * sec may be NULL; the ones asked for must be present. A secret is accepted only from
 * a file no other user can read. Returns 0, or -1 with err naming the file. */
int bzmq_key_load(const char *path, char *pub, char *sec, char *err, size_t errlen);

/* A client's CURVE set-up from its options: server_key_file (the server's public key,
 * NULL: no CURVE) and own_keys_file (its pair, NULL: a fresh one; needs the server's).
 * Returns 1 with *curve filled, 0 when there is no CURVE, -1 with the reason in err. */
int bzmq_client_curve(const char *server_key_file, const char *own_keys_file,
                      struct bzmq_curve *curve, char *err, size_t errlen);

/* Generates a pair with zmq_curve_keypair and writes it to path (mode 0600; with
 * sec NULL only the public line, mode 0644). Returns 0 or -1 with err. */
int bzmq_key_write(const char *path, const char *pub, const char *sec, char *err, size_t errlen);

/* 1 when libzmq was built with CURVE. */
int bzmq_has_curve(void);

/* 1 when endpoint can only be reached from this host: tcp:// on 127.0.0.0/8, ::1 or
 * "localhost", ipc:// and inproc://. A wildcard, an interface name or any other
 * address is not. */
int bzmq_endpoint_is_loopback(const char *endpoint);

/* bzmq_socket with CURVE set up before the bind/connect when curve is non-NULL (a
 * client without its own pair gets a fresh one). */
void *bzmq_socket_curve(int type, const char *endpoint, int bind,
                        const struct bzmq_curve *curve, char *err, size_t errlen);

/* Encodes and sends e (non-blocking). With a non-NULL route (a ROUTER's peer id),
 * sends the id frame first. Returns 0, or -1 when the message could not be queued. */
int bzmq_send_ev(void *sock, const void *route, size_t route_len, const struct ev *e);

#endif
