/*
 * fy_times.c -- cached clocks, updated once per event-loop turn.
 */
#include "fy_core.h"
#include "fy_times.h"

#include <time.h>

uint64_t  fy_current_msec;
uint64_t  fy_wall_msec;
char      fy_http_date[32];
size_t    fy_http_date_len;

static time_t  fy_http_date_sec = -1;

void
fy_time_update(void)
{
    struct timespec  ts;
    struct tm        tm;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    fy_current_msec = (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    clock_gettime(CLOCK_REALTIME, &ts);
    fy_wall_msec = (uint64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;

    /* The Date header changes once a second; format it only then. */
    if (ts.tv_sec != fy_http_date_sec) {
        fy_http_date_sec = ts.tv_sec;
        gmtime_r(&ts.tv_sec, &tm);
        fy_http_date_len = strftime(fy_http_date, sizeof(fy_http_date),
                                    "%a, %d %b %Y %H:%M:%S GMT", &tm);
    }
}
