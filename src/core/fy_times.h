/*
 * fy_times.h -- cached clocks.
 *
 * Reading the clock on every timer operation costs a system call on
 * some machines; the event loop updates these once per turn instead
 * and everything in that turn sees the same time.
 */
#ifndef FY_TIMES_H
#define FY_TIMES_H

#include "fy_core.h"

extern uint64_t  fy_current_msec;    /* monotonic, for timers */
extern uint64_t  fy_wall_msec;       /* wall clock, for shm and logs */
extern char      fy_http_date[32];   /* "Tue, 24 Nov 2026 21:10:26 GMT" */
extern size_t    fy_http_date_len;

extern char      fy_log_time_local[32];  /* "24/Nov/2026:21:10:26 +0000" */
extern size_t    fy_log_time_local_len;
extern char      fy_time_iso8601[32];    /* "2026-11-24T21:10:26+00:00" */
extern size_t    fy_time_iso8601_len;

void fy_time_update(void);

/* An IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", the form of
 * fy_http_date) as a time, or -1 (fy_times.c). */
time_t fy_time_parse_http(const u_char *p, size_t len);
/* t as an IMF-fixdate at buf (no NUL; FY_TIME_HTTP_LEN bytes for the
 * years 1000 to 9999, up to FY_TIME_HTTP_MAX for others, which are
 * left to strftime): its length, the bytes strftime's "%a, %d %b %Y
 * %H:%M:%S GMT" writes.  Without gmtime_r() and
 * strftime(), which cost 1,300 instructions per static file's
 * Last-Modified (docs/performance.md). */
#define FY_TIME_HTTP_LEN  29
#define FY_TIME_HTTP_MAX  64
size_t fy_time_http(char *buf, time_t t);

#endif /* FY_TIMES_H */
