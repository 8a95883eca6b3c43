/* Free loopback TCP ports, for servers the tools start (embedded Redis, collector)
 * and for QEMU port forwards. Not a reservation: the port is free when asked. */
#ifndef BS_PORTS_H
#define BS_PORTS_H

/* A TCP port nobody listens on now on 127.0.0.1, or -1. */
int port_free_tcp(void);

#endif
