/*
 * test_range.c -- fy_http_parse_ranges: a list of byte ranges as
 * nginx's range filter reads it (max_ranges, ranges past the end left
 * out, the order kept, malformed values 416); fy_http_parse_range: the
 * same with one range at most; fy_http_range_multipart: the parts'
 * heads and the body's length.
 */
#include "fy_core.h"
#include "fy_http_static.h"
#include "fy_tap.h"
#include <limits.h>

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

/* want: FY_HTTP_RANGE_*; for OK the ranges as "a-b a-b ..." */
static void
ranges(const char *v, off_t size, int max, int want, const char *wr)
{
    fy_http_range_t  out[8];
    char             got[256];
    size_t           k = 0;
    int              rc, rc2, n = -1, n2 = -1, i;

    rc = fy_http_parse_ranges((const u_char *) v, strlen(v), size, max,
                              NULL, &n);
    is_int(rc, want, "ranges \"%s\" of %lld, max %d: result", v,
           (long long) size, max);
    if (rc != FY_HTTP_RANGE_OK || want != FY_HTTP_RANGE_OK) {
        is_int(n, 0, "... no ranges counted");
        return;
    }
    rc2 = fy_http_parse_ranges((const u_char *) v, strlen(v), size, max,
                               out, &n2);
    ok(rc2 == rc && n2 == n && n <= 8, "... the same the second time, "
       "%d ranges", n);
    got[0] = '\0';
    for (i = 0; i < n && i < 8; i++) {
        k += (size_t) snprintf(got + k, sizeof(got) - k, "%s%lld-%lld",
                               i ? " " : "", (long long) out[i].start,
                               (long long) out[i].end);
    }
    ok(strcmp(got, wr) == 0, "... are \"%s\" (got \"%s\")", wr, got);
}

static void
multipart(void)
{
    fy_pool_t            *pool = fy_pool_create(1024);
    fy_http_range_t       rg[2] = { { 0, 9 }, { 100, 104 } };
    fy_http_multipart_t   mp;
    fy_str_t              type = fy_string("text/plain");
    char                  want[256];
    size_t                i;
    int                   digits = 1;

    ok(fy_http_range_multipart(pool, rg, 2, &type, 1000, &mp) == FY_OK,
       "multipart: made");
    is_int((int) strlen(mp.boundary), 20, "... a boundary of 20 characters");
    for (i = 0; i < strlen(mp.boundary); i++) {
        digits &= mp.boundary[i] >= '0' && mp.boundary[i] <= '9';
    }
    ok(digits, "... all digits (%s)", mp.boundary);
    snprintf(want, sizeof(want), "\r\n--%s\r\nContent-Type: text/plain\r\n"
             "Content-Range: bytes 100-104/1000\r\n\r\n", mp.boundary);
    ok(mp.heads[1].len == strlen(want)
       && memcmp(mp.heads[1].data, want, strlen(want)) == 0,
       "... the second part's head");
    snprintf(want, sizeof(want), "\r\n--%s--\r\n", mp.boundary);
    ok(mp.tail.len == strlen(want)
       && memcmp(mp.tail.data, want, strlen(want)) == 0,
       "... the closing boundary");
    ok(mp.len == (off_t) (mp.heads[0].len + 10 + mp.heads[1].len + 5
                          + mp.tail.len), "... the length of it all");
    fy_pool_destroy(pool);
}

int
main(void)
{
    /* several: in order, overlapping, suffixes, past the end left out */
    ranges("bytes=0-0,5-9", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-0 5-9");
    ranges("bytes=50-59, 0-9 ,-5", 100, INT_MAX, FY_HTTP_RANGE_OK,
           "50-59 0-9 95-99");
    ranges("bytes=0-9,5-14", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-9 5-14");
    ranges("bytes=0-9,200-,300-400", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-9");
    ranges("bytes=200-,-0,10-", 100, INT_MAX, FY_HTTP_RANGE_OK, "10-99");
    ranges("bytes=1-2", 100, 1, FY_HTTP_RANGE_OK, "1-2");
    ranges("bytes=1-2,3-4", 100, 2, FY_HTTP_RANGE_OK, "1-2 3-4");
    ranges("bytes=1-2,999-,3-4", 100, 2, FY_HTTP_RANGE_OK, "1-2 3-4");
    /* a reversed one is left out as one past the end is (nginx) */
    ranges("bytes=0-1,5-3", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-1");
    /* max_ranges: more satisfiable ones, the whole; counted as read, so
     * a malformed element after the one too many is not seen */
    ranges("bytes=1-2,3-4", 100, 1, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=1-2,3-4,5-6", 100, 2, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=1-2,3-4,x", 100, 1, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=1-2,x,3-4", 100, 1, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=1-2", 100, 0, FY_HTTP_RANGE_IGNORE, "");
    /* more bytes than the whole: the whole (nginx), counted at the end */
    ranges("bytes=0-49,40-89", 100, INT_MAX, FY_HTTP_RANGE_OK,
           "0-49 40-89");
    ranges("bytes=0-49,40-89,0-0", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=0-,0-", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=0-,0-,x", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    /* a sum past 2^63-1: 416 at once, as nginx, no overflow */
    ranges("bytes=0-,0-,0-,0-", INT64_MAX, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-,0-", INT64_MAX, 1, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=-1,0-0", INT64_MAX, INT_MAX, FY_HTTP_RANGE_OK,
           "9223372036854775806-9223372036854775806 0-0");
    /* none satisfiable: 416 */
    ranges("bytes=100-,200-300,-0", 100, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=5-,7-9", 0, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    /* of an empty body, a range from 0 (a suffix one too): the whole */
    ranges("bytes=0-,-5", 0, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=-5", 0, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=5-,0-0", 0, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    /* malformed anywhere: 416 (nginx) */
    ranges("bytes=0-1,", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=,0-1", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-1,,2-3", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-1,-", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-1;2-3", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-1,\t2-3", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE,
           "");
    ranges("bytes=0-1,- 2", 100, INT_MAX, FY_HTTP_RANGE_UNSATISFIABLE, "");
    /* spaces around a FIRST's "-" are allowed */
    ranges("bytes=0-1,2 - 3", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-1 2-3");
    ranges("bytes=0-1 , 5 -", 100, INT_MAX, FY_HTTP_RANGE_OK, "0-1 5-99");
    /* not "bytes=" and something: the whole */
    ranges("items=0-1,2-3", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes=", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("bytes 0-1", 100, INT_MAX, FY_HTTP_RANGE_IGNORE, "");
    ranges("Bytes= 1-2 ", 100, INT_MAX, FY_HTTP_RANGE_OK, "1-2");
    /* numbers past 2^63-1: 416 (nginx), not saturated */
    ranges("bytes=-99999999999999999999", 100, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=99999999999999999999-", 100, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=0-1,0-99999999999999999999", 100, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    ranges("bytes=9223372036854775807-", 100, INT_MAX,
           FY_HTTP_RANGE_UNSATISFIABLE, "");
    multipart();

    /* one range (max 1): a-b, a-, -n */
    range("bytes=0-0", 100, FY_HTTP_RANGE_OK, 0, 0);
    range("bytes=0-99", 100, FY_HTTP_RANGE_OK, 0, 99);
    range("bytes=10-19", 100, FY_HTTP_RANGE_OK, 10, 19);
    range("bytes=10-", 100, FY_HTTP_RANGE_OK, 10, 99);
    range("bytes=-10", 100, FY_HTTP_RANGE_OK, 90, 99);
    range("bytes=99-", 100, FY_HTTP_RANGE_OK, 99, 99);

    /* clamped to the file */
    range("bytes=50-1000", 100, FY_HTTP_RANGE_OK, 50, 99);
    range("bytes=-1000", 100, FY_HTTP_RANGE_OK, 0, 99);
    range("bytes=0-9223372036854775807", 100, FY_HTTP_RANGE_OK, 0, 99);

    /* case and spaces */
    range("Bytes=1-2", 100, FY_HTTP_RANGE_OK, 1, 2);
    range("bytes= 1-2 ", 100, FY_HTTP_RANGE_OK, 1, 2);
    range("bytes=1 -2", 100, FY_HTTP_RANGE_OK, 1, 2);
    range("bytes=1- 2", 100, FY_HTTP_RANGE_OK, 1, 2);

    /* unsatisfiable or malformed: 416 */
    range("bytes=100-", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=100-200", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=-0", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=5-", 0, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=5-1", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=-", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=a-b", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=abc", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=1-2x", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=--1", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=+1-2", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=0-1,", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=0-1,x", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=- 1", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=\t1-2", 100, FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);
    range("bytes=99999999999999999999-99999999999999999998", 100,
          FY_HTTP_RANGE_UNSATISFIABLE, 0, 0);

    /* the whole (200): several, not "bytes=", 0- of an empty body */
    range("bytes=0-1,5-6", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=0-1,5-6,x", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("items=0-1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes\x1d" "0-1", 100, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=0-", 0, FY_HTTP_RANGE_IGNORE, 0, 0);
    range("bytes=-5", 0, FY_HTTP_RANGE_IGNORE, 0, 0);

    /* the largest file */
    range("bytes=9223372036854775806-", INT64_MAX, FY_HTTP_RANGE_OK,
          INT64_MAX - 1, INT64_MAX - 1);
    range("bytes=-1", INT64_MAX, FY_HTTP_RANGE_OK, INT64_MAX - 1,
          INT64_MAX - 1);

    return done_testing();
}
