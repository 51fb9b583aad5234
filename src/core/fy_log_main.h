/*
 * fy_log_main.h -- the main context's error_log, at start and on reload.
 */
#ifndef FY_LOG_MAIN_H
#define FY_LOG_MAIN_H

#include "fy_cycle.h"

/* Open every error_log of cycle's main context into the chain at head
 * (the caller's, filled here): files appended to, stderr, syslog
 * peers.  e: the -e path, used when the configuration has no
 * error_log; may be NULL.  FY_OK, or FY_ERROR after an [emerg] in the
 * current log, with nothing left open. */
int  fy_log_main_open(fy_cycle_t *cycle, const char *e, fy_log_t *head);
/* Make the chain at head the process's error log (fy_log), close the
 * one it replaces, and give the new files to cycle's "user". */
void fy_log_main_switch(fy_cycle_t *cycle, fy_log_t *head);

#endif /* FY_LOG_MAIN_H */
