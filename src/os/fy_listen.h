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
 * their files stay the master's). */
void fy_listen_drop(fy_cycle_t *cycle);

#endif /* FY_LISTEN_H */
