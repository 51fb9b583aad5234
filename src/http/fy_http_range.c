/*
 * fy_http_range.c -- several byte ranges of one representation, as
 * nginx's range filter serves them: the parser of a Range value with a
 * list of ranges (fy_http_parse_ranges), and the parts of the
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

/* Digits at *p as an off_t, saturating at the largest value; -1 when
 * there are none. */
static off_t
fy_http_ranges_num(const u_char **p, const u_char *last)
{
    off_t  v = -1;
    int    d;

    while (*p < last && **p >= '0' && **p <= '9') {
        d = **p - '0';
        if (v == -1) {
            v = 0;
        }
        v = (v > (INT64_MAX - d) / 10) ? INT64_MAX : v * 10 + d;
        (*p)++;
    }
    return v;
}

int
fy_http_parse_ranges(const u_char *s, size_t len, off_t size, int max,
                     fy_http_range_t *out, int *n)
{
    const u_char  *p, *last = s + len;
    off_t          a, b, start, end, total = 0;
    int            found = 0;

    *n = 0;
    if (len < 6 || strncasecmp((const char *) s, "bytes=", 6) != 0) {
        return FY_HTTP_RANGE_IGNORE;
    }
    p = s + 6;
    for ( ;; ) {
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }
        /* one range: [first] "-" [last], no space inside */
        a = fy_http_ranges_num(&p, last);
        if (p == last || *p != '-') {
            return FY_HTTP_RANGE_IGNORE;
        }
        p++;
        b = fy_http_ranges_num(&p, last);
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }
        if (p != last && *p != ',') {
            return FY_HTTP_RANGE_IGNORE;        /* garbage */
        }
        if (a == -1 && b == -1) {
            return FY_HTTP_RANGE_IGNORE;        /* "-" */
        }
        if (a != -1 && b != -1 && b < a) {
            return FY_HTTP_RANGE_IGNORE;        /* invalid (RFC 9110) */
        }

        /* a range past the end is left out; the others are served in
         * the order asked, overlapping or not (nginx) */
        start = -1;
        if (a == -1) {
            if (b != 0 && size != 0) {
                start = b >= size ? 0 : size - b;   /* the last b bytes */
                end = size - 1;
            }
        } else if (a < size) {
            start = a;
            end = (b == -1 || b >= size) ? size - 1 : b;
        }
        if (start != -1) {
            if (found == max) {
                /* more than max_ranges: the whole body, whatever
                 * follows (a malformed rest would give it too) */
                return FY_HTTP_RANGE_IGNORE;
            }
            if (end - start + 1 > size - total) {
                /* more bytes than the whole (overlaps): nginx sends the
                 * whole instead; total stays <= size, no overflow */
                return FY_HTTP_RANGE_IGNORE;
            }
            if (out) {
                out[found].start = start;
                out[found].end = end;
            }
            found++;
            total += end - start + 1;
        }
        if (p == last) {
            break;
        }
        p++;                                    /* the "," */
    }

    if (found == 0) {
        return FY_HTTP_RANGE_UNSATISFIABLE;
    }
    *n = found;
    return FY_HTTP_RANGE_OK;
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
