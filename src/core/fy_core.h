/*
 * fy_core.h -- the one header every ferry source file includes first.
 *
 * It pulls in the system headers we use everywhere, the configure
 * results (objs/auto_config.h) and the return codes shared by all
 * modules.  Module headers include this one; nothing here includes a
 * module header except the small, dependency-free ones at the bottom.
 */
#ifndef FY_CORE_H
#define FY_CORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "auto_config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>

typedef unsigned char  u_char;

/*
 * Return codes.  Functions that can fail return one of these; a
 * parser that needs more bytes returns FY_AGAIN and resumes from its
 * saved state on the next call.
 */
#define FY_OK          0
#define FY_ERROR      -1
#define FY_AGAIN      -2
#define FY_DECLINED   -3
#define FY_DONE       -4

#define fy_min(a, b)   ((a) < (b) ? (a) : (b))
#define fy_max(a, b)   ((a) > (b) ? (a) : (b))
#define fy_nelems(a)   (sizeof(a) / sizeof((a)[0]))

/* For parameters a callback must accept but does not use. */
#define fy_unused(x)   ((void) (x))

#define FY_CACHELINE   64

/* This process's pid, set by fy_event_init() -- which every process
 * with a loop (master, worker, health checker) calls right after its
 * fork -- so hot paths need no getpid() system call.  0 before that:
 * use fy_getpid(). */
extern pid_t  fy_pid;
#define fy_getpid()   (fy_pid ? fy_pid : getpid())

#include "fy_string.h"
#include "fy_mem.h"
#include "fy_buf.h"
#include "fy_log.h"

#endif /* FY_CORE_H */
