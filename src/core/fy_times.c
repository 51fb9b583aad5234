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

char      fy_log_time_local[32];
size_t    fy_log_time_local_len;
char      fy_time_iso8601[32];
size_t    fy_time_iso8601_len;

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

        /* the access log's local times, as nginx writes them */
        localtime_r(&ts.tv_sec, &tm);
        fy_log_time_local_len = strftime(fy_log_time_local,
                                         sizeof(fy_log_time_local),
                                         "%d/%b/%Y:%H:%M:%S %z", &tm);
        fy_time_iso8601_len = strftime(fy_time_iso8601,
                                       sizeof(fy_time_iso8601),
                                       "%Y-%m-%dT%H:%M:%S%z", &tm);
        /* ISO 8601 wants "+00:00", strftime gives "+0000" */
        if (fy_time_iso8601_len == 24) {
            memmove(fy_time_iso8601 + 23, fy_time_iso8601 + 22, 2);
            fy_time_iso8601[22] = ':';
            fy_time_iso8601[25] = '\0';
            fy_time_iso8601_len = 25;
        }
    }
}

time_t
fy_time_parse_http(const u_char *p, size_t len)
{
    char        buf[64];
    struct tm   tm;
    char       *end;

    if (len == 0 || len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    memset(&tm, 0, sizeof(tm));
    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    return timegm(&tm);
}
