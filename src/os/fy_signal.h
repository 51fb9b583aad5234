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
/* Only block them: from before the pid file names the master, so that
 * a signal sent as soon as it does waits in the kernel for the
 * signalfd instead of killing the process by its default action (nginx
 * also sets its handlers before writing the pid file). */
int  fy_signal_block(void);
int  fy_signal_fd(void);
/* Next pending signal number, 0 when none, -1 on error. */
int  fy_signal_read(void);
/* Close the fd (a child drops its parent's). */
void fy_signal_close(void);

#endif /* FY_SIGNAL_H */
