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

size_t
fy_time_http(char *buf, time_t t)
{
    static const char  wday[] = "ThuFriSatSunMonTueWed";   /* from 1970-01-01 */
    static const char  mon[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int64_t            days, secs, z, era, y;
    unsigned           doe, yoe, doy, mp, d, m, wd;
    struct tm          tm;

    days = (int64_t) t / 86400;
    secs = (int64_t) t % 86400;
    if (secs < 0) {
        secs += 86400;
        days--;
    }
    /* the civil date of a day number (H. Hinnant's days-from-civil,
     * inverted): eras of 400 years from 0000-03-01 */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned) (z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = (int64_t) yoe + era * 400 + (m <= 2);
    if (y < 1000 || y > 9999) {
        /* what strftime makes of the rest */
        if (gmtime_r(&t, &tm) == NULL) {
            return 0;
        }
        return strftime(buf, FY_TIME_HTTP_MAX, "%a, %d %b %Y %H:%M:%S GMT",
                        &tm);
    }
    wd = (unsigned) (((days % 7) + 7) % 7);

    memcpy(buf, wday + 3 * wd, 3);
    buf[3] = ',';
    buf[4] = ' ';
    buf[5] = (char) ('0' + d / 10);
    buf[6] = (char) ('0' + d % 10);
    buf[7] = ' ';
    memcpy(buf + 8, mon + 3 * (m - 1), 3);
    buf[11] = ' ';
    buf[12] = (char) ('0' + y / 1000);
    buf[13] = (char) ('0' + y / 100 % 10);
    buf[14] = (char) ('0' + y / 10 % 10);
    buf[15] = (char) ('0' + y % 10);
    buf[16] = ' ';
    buf[17] = (char) ('0' + secs / 36000);
    buf[18] = (char) ('0' + secs / 3600 % 10);
    buf[19] = ':';
    buf[20] = (char) ('0' + secs % 3600 / 600);
    buf[21] = (char) ('0' + secs % 3600 / 60 % 10);
    buf[22] = ':';
    buf[23] = (char) ('0' + secs % 60 / 10);
    buf[24] = (char) ('0' + secs % 10);
    memcpy(buf + 25, " GMT", 4);
    return FY_TIME_HTTP_LEN;
}
