/*
 * fy_http_range.c -- byte ranges of one representation, as nginx's
 * range filter serves them: the parser of a Range value, read as
 * ngx_http_range_parse reads it (fy_http_parse_ranges, and
 * fy_http_parse_range for one range at most: flv's and mp4's made
 * bodies, proxy_force_ranges, slice), and the parts of the
 * multipart/byteranges body that answers more than one
 * (fy_http_range_multipart), laid out byte for byte as nginx does:
 *
 *   CRLF "--" BOUNDARY CRLF
 *   "Content-Type: " TYPE CRLF
 *   "Content-Range: bytes " FIRST "-" LAST "/" SIZE CRLF CRLF
 *   the bytes FIRST to LAST
 *   ... the next part the same way ...
 *   CRLF "--" BOUNDARY "--" CRLF
 *
 * The sender (fy_http_static_send.c) writes each part's head from
 * memory and its bytes from the file as for one range, so the file is
 * never read whole.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include <time.h>

/* Digits at *p into *v; FY_ERROR past the largest off_t (nginx answers
 * such a number 416, it does not saturate it). */
static int
fy_http_ranges_num(const u_char **p, const u_char *last, off_t *v)
{
    int  d;

    *v = 0;
    while (*p < last && **p >= '0' && **p <= '9') {
        d = **p - '0';
        if (*v > (INT64_MAX - d) / 10) {
            return FY_ERROR;
        }
        *v = *v * 10 + d;
        (*p)++;
    }
    return FY_OK;
}

static const u_char *
fy_http_ranges_sp(const u_char *p, const u_char *last)
{
    while (p < last && *p == ' ') {     /* spaces only, as nginx */
        p++;
    }
    return p;
}

/*
 * nginx's ngx_http_range_parse, read the same way: each element is
 * FIRST "-" [LAST] or "-" SUFFIX, spaces allowed around the numbers and
 * the "-" (not inside "-" SUFFIX), elements separated by ",".  Anything
 * else anywhere (letters, an empty element, a lone "-", a number past
 * 2^63-1) makes the whole value unsatisfiable, 416, as soon as it is
 * read: so "bytes=abc", "bytes=-", "bytes=0-1," are 416.  A range that
 * starts past the end, or a reversed one ("5-2"), is left out, so a
 * value of only those is 416 too.  The whole body (200): a value not
 * "bytes=" and at least one character more, a range starting at 0 of
 * an empty body, more satisfiable ranges than max (counted as they
 * are read: a malformed element after the one too many is not seen),
 * and ranges that add up to more bytes than the body (counted at the
 * end: a malformed element anywhere is 416 first; a sum past 2^63-1 is
 * 416 at once).
 */
int
fy_http_parse_ranges(const u_char *s, size_t len, off_t size, int max,
                     fy_http_range_t *out, int *n)
{
    const u_char  *p, *last = s + len;
    off_t          start, end, total = 0;
    int            found = 0, suffix;

    *n = 0;
    if (len < 7 || strncasecmp((const char *) s, "bytes=", 6) != 0
        || max <= 0)
    {
        return FY_HTTP_RANGE_IGNORE;
    }
    p = s + 6;
    for ( ;; ) {
        start = 0;
        end = 0;
        suffix = 0;
        p = fy_http_ranges_sp(p, last);
        if (p < last && *p == '-') {
            suffix = 1;
            p++;
        } else {
            if (p == last || *p < '0' || *p > '9'
                || fy_http_ranges_num(&p, last, &start) != FY_OK)
            {
                return FY_HTTP_RANGE_UNSATISFIABLE;
            }
            p = fy_http_ranges_sp(p, last);
            if (p == last || *p++ != '-') {
                return FY_HTTP_RANGE_UNSATISFIABLE;
            }
            p = fy_http_ranges_sp(p, last);
            if (p == last || *p == ',') {
                end = size;                     /* FIRST- : to the end */
                goto found;
            }
        }
        if (p == last || *p < '0' || *p > '9'
            || fy_http_ranges_num(&p, last, &end) != FY_OK)
        {
            return FY_HTTP_RANGE_UNSATISFIABLE;
        }
        p = fy_http_ranges_sp(p, last);
        if (p != last && *p != ',') {
            return FY_HTTP_RANGE_UNSATISFIABLE;
        }
        if (suffix) {                           /* the last END bytes */
            start = end < size ? size - end : 0;
            end = size - 1;
        }
        end = end >= size ? size : end + 1;     /* exclusive from here */

    found:
        if (start < end) {
            /* nginx's order: the sum checked, then the count */
            if (total > INT64_MAX - (end - start)) {
                return FY_HTTP_RANGE_UNSATISFIABLE;
            }
            total += end - start;
            if (found == max) {
                return FY_HTTP_RANGE_IGNORE;    /* one too many */
            }
            if (out) {
                out[found].start = start;
                out[found].end = end - 1;
            }
            found++;
        } else if (start == 0) {
            return FY_HTTP_RANGE_IGNORE;        /* of an empty body */
        }
        if (p == last) {
            break;
        }
        p++;                                    /* the "," */
    }

    if (found == 0) {
        return FY_HTTP_RANGE_UNSATISFIABLE;
    }
    if (total > size) {
        return FY_HTTP_RANGE_IGNORE;            /* overlaps: the whole */
    }
    *n = found;
    return FY_HTTP_RANGE_OK;
}

int
fy_http_parse_range(const u_char *s, size_t len, off_t size, off_t *start,
                    off_t *end)
{
    fy_http_range_t  one;
    int              rc, n;

    rc = fy_http_parse_ranges(s, len, size, 1, &one, &n);
    if (rc == FY_HTTP_RANGE_OK) {
        *start = one.start;
        *end = one.end;
    }
    return rc;
}

int
fy_http_range_multipart(fy_pool_t *pool, fy_http_range_t *ranges, int n,
                        const fy_str_t *type, off_t size,
                        fy_http_multipart_t *mp)
{
    static uint64_t  boundary;
    size_t           room;
    char            *p;
    int              i;

    /* digits, 20 of them as nginx's 64-bit counter prints; a count per
     * worker that starts somewhere else in each */
    if (boundary == 0) {
        boundary = ((uint64_t) time(NULL) << 20) ^ (uint64_t) getpid();
    }
    boundary++;
    snprintf(mp->boundary, sizeof(mp->boundary), "%020llu",
             (unsigned long long) (boundary % 10000000000000000000ULL));

    mp->ranges = ranges;
    mp->n = n;
    mp->next = 0;
    mp->base = 0;
    mp->heads = fy_palloc(pool, (size_t) n * sizeof(fy_str_t));
    room = 2 + 2 + 20 + 2 + 14 + type->len + 2 + 21 + 3 * 20 + 2 + 4 + 4;
    p = fy_palloc(pool, (size_t) n * room + 32);
    if (mp->heads == NULL || p == NULL) {
        return FY_ERROR;
    }

    /* the closing boundary */
    mp->tail.data = (u_char *) p;
    mp->tail.len = (size_t) snprintf(p, 32, "\r\n--%s--\r\n", mp->boundary);
    p += 32;
    mp->len = (off_t) mp->tail.len;

    for (i = 0; i < n; i++) {
        mp->heads[i].data = (u_char *) p;
        if (type->len) {
            mp->heads[i].len = (size_t) snprintf(p, room,
                                   "\r\n--%s\r\nContent-Type: %.*s\r\n"
                                   "Content-Range: bytes %lld-%lld/%lld"
                                   "\r\n\r\n", mp->boundary,
                                   (int) type->len, type->data,
                                   (long long) ranges[i].start,
                                   (long long) ranges[i].end,
                                   (long long) size);
        } else {
            mp->heads[i].len = (size_t) snprintf(p, room,
                                   "\r\n--%s\r\n"
                                   "Content-Range: bytes %lld-%lld/%lld"
                                   "\r\n\r\n", mp->boundary,
                                   (long long) ranges[i].start,
                                   (long long) ranges[i].end,
                                   (long long) size);
        }
        p += room;
        mp->len += (off_t) mp->heads[i].len
                   + ranges[i].end - ranges[i].start + 1;
    }
    return FY_OK;
}
