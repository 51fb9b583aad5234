/*
 * fy_listen.h -- opening the listening sockets of a cycle.
 */
#ifndef FY_LISTEN_H
#define FY_LISTEN_H

#include "fy_core.h"
#include "fy_cycle.h"

/* A connection taken from the queue of an old socket a reload stopped
 * (fy_listen_open: a new socket of its port could not bind beside
 * it); the master hands it to a worker of the configuration that won. */
typedef struct {
    int                  fd;
    unsigned             from;       /* index of the old cycle's listener */
    socklen_t            addrlen;
    struct sockaddr_in6  addr;       /* the client's (holds sockaddr_in) */
} fy_listen_drained_t;

/* Open every listener of `cycle`.  A socket of `old` (may be NULL)
 * with the same address is taken over as it is (never closed and
 * reopened, so no connection waiting in its backlog is lost).  A new
 * socket that cannot bind only because an old one not taken over
 * listens on an overlapping address of its port (127.0.0.1:80 and
 * *:80) is bound once the old one stopped listening: its queue is
 * drained into cycle->drained first, and it stays bound (marked
 * `stopped`) so a failure can make it listen again.  On error, what
 * was opened here is closed again, `old` listens as before, and
 * FY_ERROR is returned (logged at [emerg]). */
int  fy_listen_open(fy_cycle_t *cycle, fy_cycle_t *old);
/* Give the sockets taken over back to `old`, close the rest and make
 * the old ones stopped listen again. */
void fy_listen_give_back(fy_cycle_t *cycle, fy_cycle_t *old);
/* The index in `cycle` of the listener serving the local address of
 * the accepted `fd` (its own address, else a wildcard of its port),
 * or -1 if none does. */
int  fy_listen_serving(fy_cycle_t *cycle, int fd);
/* Close the sockets of `cycle` that are still open and remove the
 * files of its unix-domain ones (the master: stop, exit, listeners a
 * reload dropped). */
void fy_listen_close(fy_cycle_t *cycle);
/* Only close the descriptors (a freshly forked child: the sockets and
 * their files stay the master's), and those of cycle->drained, the
 * connections the master is about to hand out.  keep_udp: a worker
 * keeps the UDP ones, which it reads itself (there is no accept to
 * hand over). */
void fy_listen_drop(fy_cycle_t *cycle, int keep_udp);
/* Mark the addresses a wildcard listener of their port serves (nginx
 * without "bind": `shared`, the wildcard `serves`), then FY_ERROR
 * (logged with both files and lines) if two TCP listeners left would
 * need overlapping addresses on one port, which Linux does not let two
 * listening sockets have: a wildcard and an address of its family with
 * "bind" or a socket option, or [::] with ipv6only=off and any IPv4
 * address. */
int  fy_listen_check(fy_cycle_t *cycle);
/* The listener index of a connection accepted on `ls` (fd): `ls`'s,
 * or with ls->serves that of the shared address it came to. */
unsigned fy_listen_local(fy_cycle_t *cycle, const fy_listen_t *ls, int fd);
/* The same socket: address and kind (TCP or UDP) alike. */
int  fy_listen_same(const fy_listen_t *a, const fy_listen_t *b);

#endif /* FY_LISTEN_H */
