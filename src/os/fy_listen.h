/*
 * fy_listen.h -- opening the listening sockets of a cycle.
 */
#ifndef FY_LISTEN_H
#define FY_LISTEN_H

#include "fy_core.h"
#include "fy_cycle.h"

/* Open every listener of `cycle`.  A socket of `old` (may be NULL)
 * with the same address is taken over as it is (never closed and
 * reopened, so no connection waiting in its backlog is lost).  On
 * error, what was opened here is closed again, `old` is untouched,
 * and FY_ERROR is returned (logged at [emerg]). */
int  fy_listen_open(fy_cycle_t *cycle, fy_cycle_t *old);
/* Give the sockets taken over back to `old` and close the rest. */
void fy_listen_give_back(fy_cycle_t *cycle, fy_cycle_t *old);
/* Close the sockets of `cycle` that are still open and remove the
 * files of its unix-domain ones (the master: stop, exit, listeners a
 * reload dropped). */
void fy_listen_close(fy_cycle_t *cycle);
/* Only close the descriptors (a freshly forked child: the sockets and
 * their files stay the master's).  keep_udp: a worker keeps the UDP
 * ones, which it reads itself (there is no accept to hand over). */
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
