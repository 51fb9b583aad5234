/*
 * test_range.c -- fy_http_parse_range: one byte range of a file, or
 * why not.
 */
#include "fy_core.h"
#include "fy_http_static.h"
#include "fy_tap.h"

/* want: FY_HTTP_RANGE_*; for OK also the inclusive range. */
static void
range(const char *v, off_t size, int want, off_t ws, off_t we)
{
    off_t  s = -7, e = -7;
    int    rc;

    rc = fy_http_parse_range((const u_char *) v, strlen(v), size, &s, &e);
    is_int(rc, want, "\"%s\" of %lld bytes: result", v, (long long) size);
    if (want == FY_HTTP_RANGE_OK && rc == FY_HTTP_RANGE_OK) {
        ok(s == ws && e == we, "\"%s\" of %lld bytes is %lld-%lld (got "
           "%lld-%lld)", v, (long long) size, (long long) ws, (long long) we,
           (long long) s, (long long) e);
    }
}

int
main(void)
{
    /* a-b, a-, -n */
    range("bytes=0-0", 100, FY_HTTP_RANGE_OK, 0, 0);
    range("bytes=0-99", 100, FY_HTTP_RANGE_OK, 0, 99);
    range("bytes=10-19", 100, FY_HTTP_RANGE_OK, 10, 19);
    range("bytes=10-", 100, FY_HTTP_RANGE_OK, 10, 99);
    range("bytes=-10", 100, FY_HTTP_RANGE_OK, 90, 99);
    range("bytes=99-", 100, FY_HTTP_RANGE_OK, 99, 99);

    /* clamped to the file */
    range("bytes=50-1000", 100, FY_HTTP_RANGE_OK, 50, 99);
    range("bytes=-1000", 100, FY_HTTP_RANGE_OK, 0, 99);
    range("bytes=0-99999999999999999999999", 100, FY_HTTP_RANGE_OK, 0, 99);

    /* case and optional whitespace */
    range("Bytes=1-2", 100, FY_HTTP_RANGE_OK, 1, 2);
    range("bytes= 1-2 ", 100, FY_HTTP_RANGE_OK, 1, 2);

    /* unsatisfiable: 416 */
    range("bytes=100-", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=100-200", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=-0", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=0-", 0, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=-5", 0, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=99999999999999999999999-", 100,
          FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);

    /* ignored: the whole file (200) */
    range("bytes=0-1,5-6", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=0-1,", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=5-1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=-", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=a-b", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=1-2x", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=--1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=+1-2", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("items=0-1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("", 100, FY_HTTP_RANGE_IGNORE, 0, 0);

    /* the edges fuzz_range's reference spells out: numbers past 2^63-1
     * saturate (so two of them are equal, not reversed), the largest
     * file, a separator that only looks like "=" to a sloppy case fold,
     * whitespace between a number and "-" */
    range("bytes=99999999999999999999-99999999999999999998", 100,
          FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=-99999999999999999999", 100, FY_HTTP_RANGE_OK, 0, 99);
    range("bytes=9223372036854775806-", INT64_MAX, FY_HTTP_RANGE_OK,
          INT64_MAX - 1, INT64_MAX - 1);
    range("bytes=-1", INT64_MAX, FY_HTTP_RANGE_OK, INT64_MAX - 1,
          INT64_MAX - 1);
    range("bytes\x1d" "0-1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=1 -2", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=1- 2", 100, FY_HTTP_RANGE_IGNORE, 0, 0);

    return done_testing();
}
