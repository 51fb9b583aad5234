/*
 * fy_http_proxy_range.c -- proxy_force_ranges (and its fastcgi_,
 * uwsgi_, scgi_ twins): one byte range of a proxied 200 made by ferry,
 * whatever the upstream's Accept-Ranges says, as nginx's range filter
 * makes it for an uncached response:
 *
 *   Range: bytes=100-199    ->  206, Content-Range: bytes 100-199/LEN,
 *                               Content-Length: 100, and the body's
 *                               bytes 100 to 199 (the upstream's whole
 *                               body is still read, the rest dropped)
 *
 * Only when the body's length is known (Content-Length), it goes out as
 * it came (no gzip, sub_filter or add_trailer on it; a single-byte
 * charset recoding alone moves no byte, so its range is cut from the
 * recoded bytes, as nginx's range filter does) and the location's
 * max_ranges is not 0; then the upstream's Accept-Ranges is replaced by
 * ferry's "bytes", and a Range is served if an If-Range, if any, names
 * the response's ETag or Last-Modified.  A Range none of whose ranges
 * lie in the body, or a malformed one ("bytes=abc", "bytes=5-2"), is
 * answered 416 with "Content-Range: bytes *\/LEN", as nginx does, and
 * the upstream's connection closed (unless the body is being stored,
 * proxy_cache or proxy_store: then the whole 200 as before, so the
 * entry is still made).  Several ranges get the whole 200, as nginx
 * (its upstream sets single_range: one range at most of a body that
 * streams by; cache HITs, read from a file, get multipart).
 * Unset, this costs a response one test of the location's flag.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_static.h"
#include "fy_http_proxy.h"

int
fy_proxy_range_start(fy_http_proxy_t *p, fy_array_t *headers, int64_t cl)
{
    fy_http_request_t  *r = p->r;
    fy_str_t           *range, *if_range, *v;
    fy_http_range_t     one;
    int                 n, rc;

    /* a single-byte recoding alone (charset) moves no byte: its range
     * is cut from the recoded output (fy_proxy_sub_piece) */
    if (p->status != 200 || r->status != 200 || cl < 0
        || p->body_type != FY_PROXY_BODY_LENGTH || p->out != FY_PROXY_OUT_RAW
        || p->gzip || (p->sub && !fy_http_sub_same_length(r))
        || p->trailers || r->loc->max_ranges == 0)
    {
        return FY_DECLINED;
    }
    /* ferry's ranges, not the upstream's Accept-Ranges */
    p->range_allow = 1;
    range = fy_http_header_find(&r->headers, "Range");
    if (range == NULL) {
        return FY_OK;
    }
    if_range = fy_http_header_find(&r->headers, "If-Range");
    if (if_range) {
        /* a strong ETag, or the date, as the response has it */
        v = fy_http_header_find(headers, if_range->len
                                          && if_range->data[0] == '"'
                                          ? "ETag" : "Last-Modified");
        if (v == NULL || v->len != if_range->len
            || memcmp(v->data, if_range->data, v->len) != 0)
        {
            return FY_OK;
        }
    }
    /* one range at most, as nginx's upstream sets single_range for an
     * uncached response: several get the whole 200 */
    rc = fy_http_parse_ranges(range->data, range->len, (off_t) cl, 1,
                              &one, &n);
    if (rc == FY_HTTP_RANGE_UNSATISFIABLE && p->cache == NULL
        && !r->loc->proxy_store)
    {
        /* nginx's 416, with the length; the body is not wanted */
        r->range_unsat = 1;
        r->range_size = cl;
        fy_proxy_fail(p, 416);
        return FY_DONE;
    }
    if (rc != FY_HTTP_RANGE_OK) {
        return FY_OK;
    }
    p->range_total = (uint64_t) cl;
    p->range_first = (uint64_t) one.start;
    p->range_skip = (uint64_t) one.start;
    p->range_left = (uint64_t) (one.end - one.start + 1);
    p->ranged = 1;
    r->status = 206;
    return FY_OK;
}

char *
fy_proxy_range_header(fy_http_proxy_t *p, char *q)
{
    if (p->sliced) {
        return fy_http_slice_lines(p->r, q);    /* slice's own */
    }
    if (!p->ranged) {
        return q + sprintf(q, "Accept-Ranges: bytes\r\n");
    }
    return q + sprintf(q, "Content-Range: bytes %llu-%llu/%llu\r\n"
                          "Content-Length: %llu\r\n",
                       (unsigned long long) p->range_first,
                       (unsigned long long) (p->range_first + p->range_left
                                             - 1),
                       (unsigned long long) p->range_total,
                       (unsigned long long) p->range_left);
}

size_t
fy_proxy_range_trim(fy_http_proxy_t *p, u_char **start, size_t len)
{
    size_t  k;

    k = (size_t) fy_min((uint64_t) len, p->range_skip);
    p->range_skip -= k;
    *start += k;
    len -= k;
    len = (size_t) fy_min((uint64_t) len, p->range_left);
    p->range_left -= len;
    return len;
}
