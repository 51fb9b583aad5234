/*
 * fy_http_slice.c -- slice (nginx's ngx_http_slice_module): a big
 * response fetched in ranges of `slice` bytes, each one a request of
 * its own to the upstream (and an entry of its own in the cache), the
 * client getting them as one response:
 *
 *   location / {
 *       slice             1m;
 *       proxy_cache       cache;
 *       proxy_cache_key   $uri$is_args$args$slice_range;
 *       proxy_set_header  Range $slice_range;
 *       proxy_cache_valid 200 206 1h;
 *       proxy_pass        http://backend;
 *   }
 *
 * $slice_range is "bytes=START-END" of the slice being fetched.  Its
 * first use in a location with slice (the cache key, proxy_set_header)
 * starts the slicing, as nginx's variable makes the module's context:
 * the first slice is the one holding the first byte of the client's
 * Range (0 without one, with If-Range, or a suffix range).
 *
 * The first slice's answer must be a 206 with a Content-Range
 * "bytes START-END/TOTAL" of that slice; anything else (a 200 from a
 * server that ignores Range, a 416) goes to the client as it is and
 * nothing more is fetched.  From TOTAL the client's header is made: a
 * 200 with Content-Length TOTAL, or a 206 of the client's Range (one
 * range; If-Range compared with the slice's ETag or Last-Modified), or
 * for a Range malformed or past TOTAL a 416 "bytes *\/TOTAL", as
 * nginx's range filter answers its main request.
 *
 * The proxy answers each slice on the same request (fy_http_proxy.c,
 * fy_http_cache.c): when one ends, fy_http_finalize hands the request
 * here (fy_http_slice_next) and the proxy handler runs again for the
 * next range, through the cache lookup, with no header to write; the
 * body's bytes outside the client's range are dropped (the proxy's
 * p->ranged trim, or the HIT's file offsets).  Every later answer must
 * be a 206 of exactly the range asked, with the first one's total and
 * ETag: otherwise, as in nginx, the error is logged and the client
 * connection closed, since its length was promised.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_static.h"
#include "fy_http_proxy.h"

typedef struct fy_http_slice_s  fy_http_slice_t;

struct fy_http_slice_s {
    uint64_t          size;     /* the location's slice */
    uint64_t          start;    /* first byte of the slice being fetched */
    uint64_t          total;    /* the response's length (first answer) */
    uint64_t          from;     /* the client's first byte */
    uint64_t          end;      /* after the client's last byte */
    fy_str_t          etag;     /* the first answer's, empty: none */
    fy_http_proxy_t  *first;    /* its proxying: $upstream_* in the log */
    /* a HIT's read buffer (TLS, sendfile off, directio), handed from
     * one slice's file to the next: one per request, not per slice */
    u_char           *rbuf;
    size_t            rsize, align;
    unsigned          active:1; /* the first answer was a slice: the
                                   client's header is sent */
    unsigned          again:1;  /* the first slice asked is not the
                                   file's first, but the client gets
                                   all of it: that slice's bytes are
                                   dropped and slice 0 comes next */
    unsigned          ranged:1; /* the client gets a 206 */
};

/* The slice holding the first byte of the client's Range (nginx's
 * rule: 0 with If-Range, several ranges, a suffix one or none). */
static uint64_t
fy_http_slice_first(fy_http_request_t *r, uint64_t size)
{
    fy_str_t   *range;
    u_char     *p, *end;
    uint64_t    start = 0;

    range = fy_http_header_find(&r->headers, "Range");
    if (range == NULL || range->len < 7
        || fy_http_header_find(&r->headers, "If-Range")
        || !fy_mem_eq_ci(range->data, "bytes=", 6)
        || memchr(range->data, ',', range->len))
    {
        return 0;
    }
    p = range->data + 6;
    end = range->data + range->len;
    while (p < end && *p == ' ') {
        p++;
    }
    for ( /* void */ ; p < end && *p >= '0' && *p <= '9'; p++) {
        if (start > (UINT64_MAX - 9) / 10) {
            return 0;
        }
        start = start * 10 + (uint64_t) (*p - '0');
    }
    return start / size * size;
}

size_t
fy_http_slice_var_range(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_http_slice_t  *s = r->slice;
    char              text[64];
    int               n;

    if (s == NULL) {
        /* only a client's GET or HEAD (the later slices are asked
         * again with the request's method, and a body is read once),
         * before its answer began, in a location with slice */
        if (r->parent || r->loc == NULL || r->loc->slice_size == 0
            || r->header_sent
            || (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD))
        {
            return 0;
        }
        s = fy_pcalloc(r->pool, sizeof(*s));
        if (s == NULL) {
            return 0;
        }
        s->size = r->loc->slice_size;
        s->start = fy_http_slice_first(r, s->size);
        r->slice = s;
        r->slicing = 1;
    }
    n = snprintf(text, sizeof(text), "bytes=%llu-%llu",
                 (unsigned long long) s->start,
                 (unsigned long long) (s->start + s->size - 1));
    if (buf) {
        memcpy(buf, text, fy_min(size, (size_t) n));
    }
    return (size_t) n;
}

int
fy_http_slice_parse(const fy_str_t *v, uint64_t *start, uint64_t *last,
                    uint64_t *total)
{
    const u_char  *p, *end;
    uint64_t      *n[3] = { start, last, total };
    unsigned       i;

    if (v == NULL || v->len < 6 || !fy_mem_eq_ci(v->data, "bytes ", 6)) {
        return FY_ERROR;
    }
    p = v->data + 6;
    end = v->data + v->len;
    while (p < end && *p == ' ') {
        p++;
    }
    for (i = 0; i < 3; i++) {
        if (i == 2 && p < end && *p == '*') {
            return FY_DECLINED;
        }
        if (p == end || *p < '0' || *p > '9') {
            return FY_ERROR;
        }
        *n[i] = 0;
        for ( /* void */ ; p < end && *p >= '0' && *p <= '9'; p++) {
            if (*n[i] > (UINT64_MAX - 9) / 10) {
                return FY_ERROR;
            }
            *n[i] = *n[i] * 10 + (uint64_t) (*p - '0');
        }
        if (i < 2 && (p == end || *p != (i == 0 ? '-' : '/'))) {
            return FY_ERROR;
        }
        p += i < 2;
    }
    while (p < end && *p == ' ') {
        p++;
    }
    return p == end && *start <= *last && *last < *total ? FY_OK : FY_ERROR;
}

/*
 * Whether an answer (status, its Content-Range, ETag) is the slice
 * asked for: FY_OK, FY_DECLINED (the first answer is no 206: not
 * sliced), FY_ERROR (logged, with nginx's words).  body is the length
 * of the answer's body when known (a cache entry's), else -1.
 */
static int
fy_http_slice_check(fy_http_request_t *r, int status, const fy_str_t *cr,
                    const fy_str_t *etag, int64_t body)
{
    fy_http_slice_t  *s = r->slice;
    uint64_t          start, last, total, end;
    const char       *why;
    char              msg[64];
    int               rc;

    if (status != 206) {
        if (!s->active) {
            return FY_DECLINED;
        }
        snprintf(msg, sizeof(msg), "unexpected status code %d", status);
        why = msg;
        goto failed;
    }
    if (s->active && s->etag.len
        && (etag == NULL || etag->len != s->etag.len
            || memcmp(etag->data, s->etag.data, etag->len) != 0))
    {
        why = "etag mismatch";
        goto failed;
    }
    rc = fy_http_slice_parse(cr, &start, &last, &total);
    if (rc != FY_OK) {
        why = rc == FY_DECLINED ? "no complete length" : "invalid range";
        goto failed;
    }
    end = fy_min(start + s->size, total);
    if (start != s->start || last + 1 != end
        || (s->active && total != s->total)
        || (body >= 0 && (uint64_t) body != end - start))
    {
        snprintf(msg, sizeof(msg), "unexpected range %llu-%llu/%llu",
                 (unsigned long long) start, (unsigned long long) last,
                 (unsigned long long) total);
        why = msg;
        goto failed;
    }
    if (!s->active) {
        s->total = total;
        if (etag && etag->len) {
            s->etag.data = fy_palloc(r->pool, etag->len);
            if (s->etag.data == NULL) {
                return FY_ERROR;
            }
            memcpy(s->etag.data, etag->data, etag->len);
            s->etag.len = etag->len;
        }
    }
    return FY_OK;

failed:
    fy_log_error(FY_LOG_ERR, 0, "%s in slice response, slice \"bytes="
                 "%llu-%llu\", client: %s, request: \"%.*s\"", why,
                 (unsigned long long) s->start,
                 (unsigned long long) (s->start + s->size - 1),
                 r->hc->addr_text, (int) r->request_line.len,
                 (char *) r->request_line.data);
    return FY_ERROR;
}

int
fy_http_slice_storable(fy_http_request_t *r, fy_array_t *headers)
{
    fy_http_slice_t  *s = r->slice;
    fy_str_t         *etag;
    uint64_t          start, last, total;

    if (fy_http_slice_parse(fy_http_header_find(headers, "Content-Range"),
                            &start, &last, &total) != FY_OK
        || start != s->start || last + 1 != fy_min(start + s->size, total))
    {
        return 0;
    }
    if (!s->active) {
        return 1;
    }
    etag = fy_http_header_find(headers, "ETag");
    return total == s->total
           && (s->etag.len == 0
               || (etag && etag->len == s->etag.len
                   && memcmp(etag->data, s->etag.data, etag->len) == 0));
}

/* The first slice is good: what the client gets, the whole response
 * or the one range it asked for (If-Range naming the answer's ETag or
 * Last-Modified), as nginx's range filter on its main request with
 * single_range: several ranges get the whole response; a Range that is
 * malformed or lies past the end gets 416 (FY_DONE, r->range_unsat and
 * r->range_size set for its Content-Range; else FY_OK). */
static int
fy_http_slice_client(fy_http_request_t *r, const fy_str_t *lm)
{
    fy_http_slice_t  *s = r->slice;
    fy_str_t         *range, *if_range;
    const fy_str_t   *v;
    off_t             a, b;
    int               rc = FY_HTTP_RANGE_IGNORE;

    s->active = 1;
    s->from = 0;
    s->end = s->total;
    range = fy_http_header_find(&r->headers, "Range");
    if (range && r->loc->max_ranges > 0 && !r->err_status) {
        if_range = fy_http_header_find(&r->headers, "If-Range");
        v = if_range && if_range->len && if_range->data[0] == '"'
            ? &s->etag : lm;
        if (if_range == NULL
            || (v && v->len == if_range->len
                && memcmp(v->data, if_range->data, v->len) == 0))
        {
            rc = fy_http_parse_range(range->data, range->len,
                                     (off_t) s->total, &a, &b);
        }
    }
    if (rc == FY_HTTP_RANGE_UNSATISFIABLE) {
        r->range_unsat = 1;
        r->range_size = (int64_t) s->total;
        r->slice = NULL;            /* no more slices */
        r->slicing = 0;
        return FY_DONE;
    }
    if (rc == FY_HTTP_RANGE_OK) {
        s->from = (uint64_t) a;
        s->end = (uint64_t) b + 1;
        s->ranged = 1;
    }
    if (!r->err_status) {
        r->status = s->ranged ? 206 : 200;
    }
    /* the client's Range chose the first slice, but it gets the whole
     * response after all (several ranges, max_ranges 0, an If-Range
     * of another version, an error page): from slice 0 */
    s->again = !s->ranged && s->start > 0;
    return FY_OK;
}

/* The part of the current slice the client gets: bytes to skip at its
 * start, bytes to send. */
static void
fy_http_slice_part(fy_http_slice_t *s, uint64_t *skip, uint64_t *left)
{
    uint64_t  e, lo, hi;

    if (s->again) {
        *skip = 0;
        *left = 0;
        return;
    }
    e = fy_min(s->start + s->size, s->total);
    lo = fy_min(fy_max(s->start, s->from), e);
    hi = fy_min(e, s->end);
    *skip = lo - s->start;
    *left = hi > lo ? hi - lo : 0;
}

int
fy_http_slice_header(fy_http_proxy_t *p, fy_array_t *headers)
{
    fy_http_request_t  *r = p->r;
    fy_http_slice_t    *s = r->slice;
    int                 first = !s->active;

    if (!first && !r->err_status) {
        r->status = s->ranged ? 206 : 200;      /* the client's, not this
                                                   answer's */
    }
    switch (fy_http_slice_check(r, p->status,
                                fy_http_header_find(headers, "Content-Range"),
                                fy_http_header_find(headers, "ETag"), -1))
    {
    case FY_DECLINED:
        r->slice = NULL;        /* the answer goes out as it is */
        r->slicing = 0;
        return FY_DECLINED;
    case FY_ERROR:
        if (first) {
            fy_proxy_fail(p, 502);
        } else {
            fy_proxy_close_upstream(p);
            r->proxy = s->first;        /* the log's $upstream_* */
            fy_http_close_connection(r->hc);
        }
        return FY_ERROR;
    }
    if (first) {
        if (fy_http_slice_client(r, fy_http_header_find(headers,
                                                        "Last-Modified"))
            == FY_DONE)
        {
            fy_proxy_fail(p, 416);      /* nginx's, with the length */
            return FY_ERROR;
        }
        s->first = p;
    }
    p->sliced = 1;
    p->ranged = 1;
    p->range_allow = 1;
    fy_http_slice_part(s, &p->range_skip, &p->range_left);
    /* the client has a length: only the data of a chunked answer */
    p->out = p->body_type == FY_PROXY_BODY_CHUNKED ? FY_PROXY_OUT_DECHUNK
                                                   : FY_PROXY_OUT_RAW;
    return first ? FY_OK : FY_DONE;
}

char *
fy_http_slice_lines(fy_http_request_t *r, char *q)
{
    fy_http_slice_t  *s = r->slice;

    if (s->ranged) {
        q += sprintf(q, "Content-Range: bytes %llu-%llu/%llu\r\n",
                     (unsigned long long) s->from,
                     (unsigned long long) (s->end - 1),
                     (unsigned long long) s->total);
    } else {
        q += sprintf(q, "Accept-Ranges: bytes\r\n");
    }
    return q + sprintf(q, "Content-Length: %llu\r\n",
                       (unsigned long long) (s->end - s->from));
}

int
fy_http_slice_cached(fy_http_request_t *r, struct fy_http_static_file_s *f,
                     int status, const fy_str_t *cr, const fy_str_t *etag,
                     const fy_str_t *lm, uint64_t body_len, uint64_t *from,
                     uint64_t *len)
{
    fy_http_slice_t  *s = r->slice;
    int               first = !s->active;

    switch (fy_http_slice_check(r, status, cr->len ? cr : NULL,
                                etag->len ? etag : NULL, (int64_t) body_len))
    {
    case FY_DECLINED:
        r->slice = NULL;
        r->slicing = 0;
        return FY_DECLINED;
    case FY_ERROR:
        if (first) {
            return FY_ERROR;
        }
        r->proxy = s->first;            /* the log's $upstream_* */
        fy_http_close_connection(r->hc);
        return FY_AGAIN;
    }
    if (first) {
        if (fy_http_slice_client(r, lm->len ? lm : NULL) == FY_DONE) {
            fy_http_send_error(r, 416);     /* nginx's, with the length */
            return FY_AGAIN;
        }
        s->first = r->proxy;
    }
    fy_http_slice_part(s, from, len);
    f->rbuf = s->rbuf;              /* kept if big enough
                                       (fy_http_static_read_begin) */
    f->rsize = s->rsize;
    f->align = s->align;
    return first ? FY_OK : FY_DONE;
}

/* The next slice, from the event loop: a slice answered at once (a HIT
 * written whole) would otherwise start the next one from inside its
 * own finalization, and a file of many slices would nest as deep. */
static void
fy_http_slice_resume(fy_event_t *wev)
{
    fy_conn_t          *c = wev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;

    c->write.handler = fy_event_ignore;
    fy_event_unpost(&c->write);
    fy_timer_del(&c->write);
    fy_http_proxy_handler(r);
}

int
fy_http_slice_next(fy_http_request_t *r, int close_connection)
{
    fy_http_slice_t  *s = r->slice;
    fy_http_proxy_t  *p = r->proxy;
    fy_conn_t        *c = r->hc->c;
    uint64_t          next;
    unsigned          i;

    if (!s->active || close_connection || r->head) {
        return FY_DECLINED;
    }
    next = s->start + s->size;
    if (s->again) {
        s->again = 0;
        next = 0;
    } else if (next < s->from) {
        /* the first slice was slice 0 (If-Range): on from the range */
        next = s->from / s->size * s->size;
    }
    if (next >= s->end) {
        if (s->first) {
            r->proxy = s->first;    /* the log's $upstream_*: the first
                                       slice's, as nginx's main request */
        }
        return FY_DECLINED;
    }
    s->start = next;
    if (r->file) {
        /* a HIT's file: closed now, not with the request; its read
         * buffer, if any, is the next one's */
        fy_http_static_file_close(r->file);
        if (r->file->rbuf) {
            s->rbuf = r->file->rbuf;
            s->rsize = r->file->rsize;
            s->align = r->file->align;
        }
        r->file = NULL;
    }
    if (p && p != s->first) {
        /* its buffers go back now; the pool's cleanup finds them empty */
        fy_buf_release(&p->req);
        fy_buf_release(&p->body);
        fy_buf_release(&p->buf);
        for (i = 0; p->ahead && i < r->loc->proxy_buffers_num; i++) {
            fy_buf_release(&p->ahead[i]);
        }
    }
    r->proxy = NULL;            /* the next one's tries are its own */
    c->write.handler = fy_http_slice_resume;
    fy_event_post(&c->write);
    return FY_AGAIN;
}
