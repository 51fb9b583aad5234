/*
 * test_times.c -- fy_time_http (src/core/fy_times.c), the IMF-fixdate
 * of Last-Modified, Expires and the like, against gmtime_r() and
 * strftime("%a, %d %b %Y %H:%M:%S GMT"): every day from 1600 to 2400
 * at a pseudo-random second, every second of two days, and around the
 * years 0, 1000 and 10000, past the four-digit years it writes itself
 * (strftime's own text there).
 */

#include "fy_core.h"
#include "fy_times.h"
#include "fy_tap.h"

#include <time.h>

static int
same(time_t t)
{
    char       got[FY_TIME_HTTP_MAX], want[FY_TIME_HTTP_MAX];
    struct tm  tm;
    size_t     g, w;

    if (gmtime_r(&t, &tm) == NULL) {
        return 1;       /* nothing to compare with */
    }
    w = strftime(want, sizeof(want), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    g = fy_time_http(got, t);
    return g == w && memcmp(got, want, g) == 0;
}

int
main(void)
{
    char      buf[FY_TIME_HTTP_MAX];
    int64_t   day, t;
    uint32_t  x = 88172645u;
    unsigned  bad = 0, n = 0;
    size_t    len;

    len = fy_time_http(buf, 784111777);
    ok(len == 29 && memcmp(buf, "Sun, 06 Nov 1994 08:49:37 GMT", 29) == 0,
       "RFC 9110's example date");

    /* 1600-01-01 .. 2400-12-31, one pseudo-random second of each day */
    for (day = -135140; day <= 157071; day++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        n++;
        bad += !same((time_t) (day * 86400 + x % 86400));
    }
    ok(bad == 0, "%u of %u days from 1600 to 2400 as strftime writes them",
       n - bad, n);

    bad = n = 0;
    for (t = -86400; t < 86400; t++) {       /* 1969-12-31 and 1970-01-01 */
        n++;
        bad += !same((time_t) t);
    }
    ok(bad == 0, "%u of %u seconds around 1970 as strftime", n - bad, n);

    bad = n = 0;
    for (t = -62167219200LL - 2 * 86400; t < -62167219200LL + 2 * 86400;
         t += 3599)
    {
        n++;                    /* around 0000-01-01 */
        bad += !same((time_t) t);
    }
    for (t = -30610224000LL - 2 * 86400; t < -30610224000LL + 2 * 86400;
         t += 3599)
    {
        n++;                    /* around 1000-01-01 */
        bad += !same((time_t) t);
    }
    for (t = 253402300800LL - 2 * 86400; t < 253402300800LL + 2 * 86400;
         t += 3599)
    {
        n++;                    /* around 10000-01-01 */
        bad += !same((time_t) t);
    }
    ok(bad == 0, "%u of %u times around the years 0, 1000 and 10000 as strftime",
       n - bad, n);
    return done_testing();
}
