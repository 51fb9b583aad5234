/*
 * fy_signal.h -- signals as readable events.
 *
 * The signals ferry acts on are blocked and read from a signalfd in
 * the event loop, so what they trigger runs as ordinary code between
 * events and never interrupts a half-done data structure update.
 */
#ifndef FY_SIGNAL_H
#define FY_SIGNAL_H

#include "fy_core.h"
#include <signal.h>

/* Block the handled signals (SIGHUP SIGINT SIGQUIT SIGTERM SIGUSR1
 * SIGCHLD), ignore SIGPIPE, and open a nonblocking signalfd.  Called
 * once in the master and again in each worker (after fork). */
int  fy_signal_open(void);
int  fy_signal_fd(void);
/* Next pending signal number, 0 when none, -1 on error. */
int  fy_signal_read(void);
/* Close the fd (a child drops its parent's). */
void fy_signal_close(void);

#endif /* FY_SIGNAL_H */
