/*
 * fy_proc.h -- process statistics read from /proc.
 *
 * Workers publish their own RSS in shared memory for least_mem and the
 * status page; the master can also look at any worker from outside.
 * Everything here reads small /proc files with plain system calls, so
 * it is safe to call once a second from an event loop.
 */
#ifndef FY_PROC_H
#define FY_PROC_H

#include "fy_core.h"

/* This process's resident set size in bytes; 0 if it cannot be read. */
uint64_t fy_proc_rss(void);

/* The resident set size of process pid in bytes; 0 if it cannot be
 * read (no such process, no permission, pid <= 0). */
uint64_t fy_proc_rss_of(pid_t pid);

/* How many fds process pid has open, or -1 if /proc/pid/fd cannot be
 * read.  For the calling process the directory fd used to count is
 * not included. */
int fy_proc_count_fds(pid_t pid);

#endif /* FY_PROC_H */
