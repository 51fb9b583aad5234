/*
 * fy_http_proxy_response.c -- the response header on its way down:
 * read and parsed as strictly as a request, checked for framing and
 * retried elsewhere when proxy_next_upstream says so, then the
 * client's header built and the body handed to the relay
 * (fy_http_proxy_relay.c; see fy_http_proxy.c for the framing table).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"
#include "fy_worker.h"
#include "fy_shm.h"

/* fy_proxy_process_header's kinds[]: how many fields keep theirs, and
 * the bit that marks a hidden one */
#define FY_PROXY_KINDS        64
#define FY_PROXY_KIND_HIDDEN  0x80
#define fy_proxy_kind_at(kinds, i, h)                                     \
    ((i) < FY_PROXY_KINDS ? (unsigned) (kinds)[i]                         \
                          : fy_proxy_field_kind(&(h)->name))

static unsigned fy_proxy_status_ft(int status);
static void fy_proxy_process_header(fy_http_proxy_t *p);
static int fy_proxy_parse_header(fy_http_proxy_t *p);

/* The proxy_next_upstream case an upstream status falls under, or 0. */
static unsigned
fy_proxy_status_ft(int status)
{
    switch (status) {
    case 500: return FY_HTTP_NEXT_HTTP_500;
    case 502: return FY_HTTP_NEXT_HTTP_502;
    case 503: return FY_HTTP_NEXT_HTTP_503;
    case 504: return FY_HTTP_NEXT_HTTP_504;
    case 403: return FY_HTTP_NEXT_HTTP_403;
    case 404: return FY_HTTP_NEXT_HTTP_404;
    case 429: return FY_HTTP_NEXT_HTTP_429;
    default:  return 0;
    }
}


/* expires on a proxied response: its own Last-Modified is what
 * "expires modified" counts from (nginx). */
static void
fy_proxy_filters_start(fy_http_request_t *r, fy_array_t *headers)
{
    fy_http_header_t  *h;
    unsigned           i;

    if (r->loc->expires != FY_HTTP_EXPIRES_MODIFIED) {
        return;
    }
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Last-Modified")) {
            r->last_modified = fy_time_parse_http(h->value.data,
                                                  h->value.len);
            r->has_last_modified = r->last_modified != -1;
            return;
        }
    }
}

/* A field of a proxied response under expires and charset: 1 when it
 * is left out (Expires and Cache-Control, replaced by expires's own
 * when expires applies to the status), else *value may change (a
 * Content-Type with "; charset=", fy_http_charset_room counted). */
int
fy_proxy_filter_header(fy_http_request_t *r, const fy_http_header_t *h,
                       fy_str_t *value)
{
    fy_str_t  ctype;

    if (r->loc->expires != FY_HTTP_EXPIRES_OFF
        && fy_http_add_header_status(r->status)
        && fy_http_expires_hides(&h->name))
    {
        return 1;
    }
    if (fy_str_eq_ci(&h->name, "Content-Type")
        && fy_http_charset_type(r, &h->value, &ctype) == 1)
    {
        *value = ctype;
    }
    return 0;
}

/* Does a Connection value list nothing but "keep-alive"? */
static int
fy_proxy_keepalive_only(const fy_str_t *v)
{
    u_char  *p = v->data, *end = v->data + v->len, *start;

    if (v->len == 10 && fy_mem_eq_ci(p, "keep-alive", 10)) {
        return 1;               /* what nearly every upstream sends */
    }
    for ( ;; ) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        if (p == end) {
            return 1;
        }
        start = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }
        if (p - start != 10 || !fy_mem_eq_ci(start, "keep-alive", 10)) {
            return 0;
        }
    }
}

/*
 * The answer of a subrequest (fy_http_subrequest.c): nothing of it goes
 * to the client.  auth_request's: a 401's WWW-Authenticate lines are
 * kept for the request's own answer.  A body that did not all come
 * with the header is read to its end and dropped first
 * (fy_proxy_discard), as nginx reads it, so that the connection can go
 * back to the keepalive cache; the header's values stay readable
 * ($upstream_http_*: fy_http_var_keep_upstream kept them).
 */
static void
fy_proxy_subrequest_done(fy_http_proxy_t *p)
{
    static const char   name[] = "WWW-Authenticate: ";
    fy_http_request_t  *r = p->r;
    fy_str_t           *lines = &r->parent->auth_lines;
    fy_http_header_t   *h;
    size_t              size = 0;
    unsigned            i;
    char               *q;

    /* auth_request's 401: its challenges go to the client's answer */
    for (i = 0; p->status == 401 && r->auth_sub && i < p->headers.nelts;
         i++)
    {
        h = fy_array_elt(&p->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "WWW-Authenticate")) {
            size += sizeof(name) - 1 + h->value.len + 2;
        }
    }
    if (size) {
        q = fy_palloc(r->pool, size);
        if (q == NULL) {
            fy_proxy_fail(p, 500);
            return;
        }
        lines->data = (u_char *) q;
        lines->len = size;
        for (i = 0; i < p->headers.nelts; i++) {
            h = fy_array_elt(&p->headers, fy_http_header_t, i);
            if (fy_str_eq_ci(&h->name, "WWW-Authenticate")) {
                q = fy_cpylit(q, name);
                q = fy_cpymem(q, h->value.data, h->value.len);
                q = fy_cpylit(q, "\r\n");
            }
        }
    }
    if (r->capture && p->status != 101) {
        /* ssi's include: the body is kept, from what came with the
         * header on */
        for (i = 0; i < p->headers.nelts; i++) {
            h = fy_array_elt(&p->headers, fy_http_header_t, i);
            if (fy_str_eq_ci(&h->name, "Content-Type")) {
                /* a copy: the header's buffer takes the body's next
                 * reads (fy_proxy_discard) */
                r->capture->type.data = (u_char *) fy_pstrndup(r->pool,
                                            h->value.data, h->value.len);
                if (r->capture->type.data == NULL) {
                    fy_proxy_fail(p, 500);
                    return;
                }
                r->capture->type.len = h->value.len;
            }
        }
        size = p->buf.last - p->buf.pos;
        if (p->body_type == FY_PROXY_BODY_LENGTH) {
            size = (size_t) fy_min((uint64_t) size, p->rest);
        }
        if (p->body_type != FY_PROXY_BODY_NONE
            && fy_http_capture_add(r->pool, r->capture, p->buf.pos, size)
               != FY_OK)
        {
            fy_proxy_fail(p, 500);
            return;
        }
    }
    if (!p->up_done && p->status != 101) {
        fy_proxy_discard(p);        /* read to its end first (nginx) */
        return;
    }
    if (p->up_done && !p->up_failed) {
        fy_proxy_release_upstream(p);
    } else {
        fy_proxy_close_upstream(p);
    }
    if (r->capture && p->status != 101
        && (p->up_failed || fy_proxy_capture_end(p) != FY_OK))
    {
        fy_http_subrequest_done(r, 502);        /* the body is not whole */
        return;
    }
    fy_http_subrequest_done(r, r->status);     /* error_page's, if any */
}

/* A body a filter changes (sub_filter, gzip, gunzip): the filter gets
 * the body's data alone, and its output, whose length is not known,
 * goes chunked to an HTTP/1.1 client, up to the close to an HTTP/1.0
 * one (or with chunked_transfer_encoding off). */
static void
fy_proxy_filtered_out(fy_http_proxy_t *p)
{
    p->out = p->body_type == FY_PROXY_BODY_CHUNKED
             ? FY_PROXY_OUT_DECHUNK : FY_PROXY_OUT_RAW;
    if (!fy_http_chunked_out(p->r)) {
        p->r->keepalive = 0;
    }
}

/* The header is parsed: decide framing, send the client its header. */
static void
fy_proxy_process_header(fy_http_proxy_t *p)
{
    fy_array_t         *headers = &p->headers;
    fy_http_request_t  *r = p->r;
    fy_http_header_t   *h;
    fy_str_t            value;
    const char         *conn, *line, *server, *gz;
    char               *hdr, *q;
    size_t              size, llen, slen, at, hlen;
    fy_str_t            add;
    unsigned            own_server, own_date, sent;
    int64_t             cl = -1, n;
    unsigned            i, chunked = 0, te = 0, ft, conn_fields = 0, why;
    unsigned            cl_first = 0, cl_lines = 0;
    int                 gzip = FY_HTTP_GZIP_NO, filters, sub = 0, weak;
    unsigned            k, redirects = 0, hide_mask;
    /* each field's FY_PF_* kind (fy_http_proxy_field.c), the first
     * FY_PROXY_KINDS fields' kept from the first loop to the last, with
     * FY_PROXY_KIND_HIDDEN once the hidden ones are known; a later
     * field's found again where needed */
    u_char              kinds[FY_PROXY_KINDS];

    /* FastCGI (uwsgi, SCGI without a status line): a CGI header, its
     * status in a Status field */
    if (p->cgi_status && fy_http_cgi_status(p) != FY_OK) {
        goto invalid;
    }
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        k = fy_proxy_field_kind(&h->name);
        if (i < FY_PROXY_KINDS) {
            kinds[i] = (u_char) k;
        }
        switch (k) {
        case FY_PF_CONTENT_LENGTH:
            n = fy_atoi(h->value.data, h->value.len);
            if (n < 0 || (cl != -1 && cl != n)) {
                goto invalid;
            }
            if (cl == -1) {
                cl_first = i;   /* the one passed on (RFC 9110 8.6) */
            }
            cl = n;
            cl_lines++;
            break;
        case FY_PF_CONNECTION:
            /* options name fields to drop; "keep-alive", the usual one,
             * names a field dropped anyway: no search per field then */
            if (fy_proxy_keepalive_only(&h->value)) {
                break;          /* so no "close" either */
            }
            conn_fields = 1;
            if (fy_http_token_in(&h->value, "close")) {
                p->upstream_close = 1;
            }
            break;
        case FY_PF_TRANSFER_ENCODING:
            /*
             * Only "chunked", once.  ferry replaces the field with its
             * own "Transfer-Encoding: chunked", so another coding
             * (gzip, chunked; or over two lines) would reach the
             * client undeclared, and chunked twice is not allowed
             * (RFC 9112 7).
             */
            te++;
            chunked = fy_str_eq_ci(&h->value, "chunked");
            break;
        case FY_PF_X_ACCEL:
        case FY_PF_X_ACCEL_LIMIT_RATE:
            if (h->name.len > 8) {
                fy_proxy_accel_field(p, h);
            }
            break;
        case FY_PF_LOCATION:
        case FY_PF_REFRESH:
            redirects = 1;
            break;
        }
    }
    /* with Content-Length too: an error (RFC 9112 6.3 lets a proxy
     * drop the length instead), as the upstream framed the body two
     * ways and may have meant either */
    if (te && (te > 1 || !chunked || cl != -1)) {
        goto invalid;
    }

    p->status = (int) p->parser.status;
    if (p->status >= 100 && p->status < 600) {
        fy_shm_add(p->stats->responses[p->status / 100 - 1], 1);
    }
    fy_proxy_state(p)->status = p->status;

    ft = fy_proxy_status_ft(p->status);
    if (ft && fy_proxy_can_retry(p, ft)) {
        fy_log_error(FY_LOG_WARN, 0, "upstream answered %d, passing the "
                     "request to the next server" FY_PROXY_CTX_FMT,
                     p->status, FY_PROXY_CTX(p));
        fy_proxy_next(p, ft);
        return;
    }
    if (p->cache && (why = fy_http_cache_stale_status(p->status))
        && fy_http_cache_stale(p, why) == FY_DONE)
    {
        return;     /* proxy_cache_use_stale http_5xx, http_4xx */
    }
    if (p->cache && p->status == 304 && p->cache->revalidate
        && fy_http_cache_revalidated(p) == FY_DONE)
    {
        return;     /* proxy_cache_revalidate: the entry is fresh again */
    }
    /* the answer is what the client gets: the server works */
    fy_http_peer_succeeded(p->u, p->peer);
    if (fy_http_var_keep_upstream(p) != FY_OK) {
        fy_proxy_fail(p, 500);
        return;
    }

    if (p->memc && p->status == 404) {
        /* memcached's miss: ferry answers it, as nginx's memcached
         * module does (error_page 404 applies); the connection, read
         * to the end of "END\r\n", stays for the next request */
        p->body_type = FY_PROXY_BODY_NONE;
        p->framed = p->keep_conn;
        fy_proxy_scan(p, p->buf.pos, p->buf.last);
        fy_proxy_release_upstream(p);
        r->hc->c->read.handler = fy_event_ignore;
        fy_http_send_error(r, 404);
        return;
    }
    if (p->status >= 300 && r->loc->intercept_errors && !r->error_page
        && fy_http_error_page_find(r->loc, p->status)
        && !(p->cache && p->cache->bg))
    {
        /* proxy_intercept_errors: the location's error_page answers
         * instead; the upstream's body is not wanted */
        fy_proxy_close_upstream(p);
        r->hc->c->read.handler = fy_event_ignore;
        fy_http_send_error(r, p->status);
        return;
    }
    /* after error_page 404 /x: still a 404, unless "=" said otherwise */
    r->status = r->err_status ? r->err_status : p->status;

    if (p->status == 101 && r->upgrade.len == 0) {
        /* switching protocols nobody asked for */
        goto invalid;
    }

    /* proxy_redirect: Location and Refresh (fy_http_proxy_redirect.c) */
    if (redirects && fy_http_proxy_redirect(r, headers) != FY_OK) {
        fy_proxy_fail(p, 500);
        return;
    }
    /* proxy_cookie_*: Set-Cookie (fy_http_proxy_cookie.c) */
    if ((r->loc->proxy_cookie_domain || r->loc->proxy_cookie_path
         || r->loc->proxy_cookie_flags)
        && fy_http_proxy_cookie(r, headers) != FY_OK)
    {
        fy_proxy_fail(p, 500);
        return;
    }

    if ((r->head && !p->head_get) || p->status == 204 || p->status == 304
        || (p->status >= 100 && p->status < 200))
    {
        p->body_type = FY_PROXY_BODY_NONE;
    } else if (chunked) {
        p->body_type = FY_PROXY_BODY_CHUNKED;
        p->out = fy_http_chunked_out(r) ? FY_PROXY_OUT_RAW
                                        : FY_PROXY_OUT_DECHUNK;
        /* its chunk lines may reach the client as they are: read them
         * as a strict client would (fy_http_parse.h) */
        p->chunked.strict = 1;
        p->scan_chunked.strict = 1;
        if (fy_http_var_keep_trailers(p) != FY_OK) {
            fy_proxy_fail(p, 500);
            return;
        }
    } else if (cl != -1) {
        p->body_type = FY_PROXY_BODY_LENGTH;
        p->rest = (uint64_t) cl;
    } else {
        p->body_type = FY_PROXY_BODY_CLOSE;
        p->out = fy_http_chunked_out(r) ? FY_PROXY_OUT_CHUNK
                                        : FY_PROXY_OUT_RAW;
    }

    /* Only an HTTP/1.1 response whose end is known without a close may
     * leave its connection open for the next request. */
    p->framed = p->keep_conn
                && p->body_type != FY_PROXY_BODY_CLOSE && !p->upstream_close
                && p->parser.http_major == 1 && p->parser.http_minor >= 1;
    if (p->fcgi) {
        /* END_REQUEST ends a FastCGI response, whatever its framing
         * (fy_proxy_release_upstream checks it came) */
        p->framed = p->keep_conn;
    }

    /* Follow the body from its first bytes, those that came with the
     * header (a 101's belong to the tunnel).  A chunked body already
     * broken there is a 502: the client has had nothing yet, and gets
     * an answer rather than a closed connection. */
    p->scan_rest = p->rest;
    if (p->memc) {
        /* the "\r\nEND\r\n" after a value is read (and checked:
         * fy_http_memcached_trailer), not passed on; for a HEAD the
         * value is not read, so the connection cannot be kept */
        p->scan_rest += p->body_type == FY_PROXY_BODY_LENGTH
                        ? FY_MEMC_END_LEN : 0;
        p->framed &= !r->head;
    }
    if (p->cache && p->status != 101) {
        /* the body is written to the cache as it is read (the scan) */
        fy_http_cache_store_start(p);
    }
    if (r->loc->proxy_store) {
        fy_proxy_store_start(p);        /* proxy_store: to a file, too */
    }
    if (p->status != 101) {
        fy_proxy_scan(p, p->buf.pos, p->buf.last);
        if (p->up_failed) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid chunked "
                         "response" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            fy_proxy_fail(p, 502);
            return;
        }
        if (p->up_done && p->cache) {
            /* the whole body came with the header: the entry goes in
             * place now, before the client has its answer, as it does
             * when the last bytes are read later (fy_proxy_up_read):
             * the client's next request, on any worker, finds it */
            fy_http_cache_store_end(p);
        }
    }

    if (p->cache && p->cache->bg) {
        fy_http_cache_bg_body(p);       /* the cache's update: for it alone */
        return;
    }

    /* X-Accel-Redirect: another URI answers (fy_http_proxy_accel.c),
     * for a subrequest too (nginx) */
    if (p->xa_redirect && p->status != 101
        && fy_proxy_accel_redirect(p) == FY_DONE)
    {
        return;
    }

    if (r->parent) {
        fy_proxy_subrequest_done(p);    /* a subrequest: not for the client */
        return;
    }

    /* X-Accel-Charset: the charset the answer is marked with and recoded
     * to, over the location's (fy_http_charset.c); a pointer test when
     * the upstream sends none */
    if (p->xa_charset
        && !(r->loc->proxy_ignore_headers & FY_HTTP_IGN_XA_CHARSET))
    {
        r->accel_charset = p->xa_charset->value;
    }

    /* slice: a slice's answer, checked; the first one's header is the
     * client's (no filters on its body), a later one's body follows
     * the earlier ones' (fy_http_slice.c) */
    if (r->slice && p->status != 101) {
        switch (fy_http_slice_header(p, headers)) {
        case FY_OK:
            goto sliced;
        case FY_DONE:
            goto relay;
        case FY_ERROR:
            return;
        }
    }

    /* ssi: the page is read whole, processed, then answered with the
     * upstream's status and fields (fy_http_proxy_ssi.c) */
    if (r->loc->ssi && p->status != 101 && !r->slice
        && fy_proxy_ssi_begin(p, headers) == FY_DONE)
    {
        return;
    }

    /* sub_filter: the body is decoded and substituted (before gzip),
     * and its length is no longer known: sent as gzip's is; a HEAD
     * gets the header a GET would (fy_http_sub.c) */
    if ((fy_http_sub_wanted(r->loc) || r->accel_charset.len)
        && p->status != 101)
    {
        switch (fy_http_sub_begin(r, p->status, NULL, headers,
                                  p->body_type == FY_PROXY_BODY_LENGTH
                                  ? cl : -1, &p->sub)) {
        case FY_OK:
            sub = 1;
            break;
        case FY_ERROR:
            fy_proxy_fail(p, 500);
            return;
        }
        if (r->head) {
            p->sub = NULL;          /* the header as for a GET only */
        }
        if (p->sub && !fy_http_sub_same_length(r)) {
            fy_proxy_filtered_out(p);
            cl = -1;
        }
    }

    /* gzip: the body is decoded, compressed, and sent chunked to an
     * HTTP/1.1 client, up to the close to an HTTP/1.0 one (or with
     * chunked_transfer_encoding off) */
    if (p->status != 101) {
        gzip = fy_http_gzip_decide(r, p->status, NULL,
                                   p->body_type == FY_PROXY_BODY_LENGTH
                                   ? cl : -1, headers, 0);
    }
    if (gzip == FY_HTTP_GZIP_YES) {
        p->gzip = fy_http_gzip_start(r, p->body_type == FY_PROXY_BODY_LENGTH
                                        ? cl : -1);
        if (p->gzip == NULL) {
            fy_proxy_fail(p, 500);
            return;
        }
        fy_proxy_filtered_out(p);
    }

    /* gunzip: a gzip body for a client that does not take gzip is
     * decompressed on the same path as gzip's output; with a body only
     * (a HEAD, 204, 304 just lose the header fields).  sub_filter
     * declined the encoded body before. */
    if (gzip == FY_HTTP_GZIP_NO && r->loc->gzip.gunzip && p->sub == NULL
        && p->status != 101)
    {
        gzip = fy_http_gunzip_wanted(r, headers, NULL, 0);
        if (gzip == FY_HTTP_GZIP_YES) {
            p->gunzip = 1;
            gzip = FY_HTTP_GZIP_VARY;   /* no Content-Encoding added */
            if (p->body_type != FY_PROXY_BODY_NONE) {
                p->gzip = fy_http_gunzip_start(r);
                if (p->gzip == NULL) {
                    fy_proxy_fail(p, 500);
                    return;
                }
                fy_proxy_filtered_out(p);
            }
        }
    }

    /* add_trailer: the body goes out in chunks of ferry's, whatever
     * its framing, and the trailers in the last one (nginx) */
    if (r->loc->add_trailers && p->gzip == NULL && p->status != 101
        && !p->head_get
        && p->body_type != FY_PROXY_BODY_NONE
        && fy_http_trailers_expected(r, r->status))
    {
        p->out = FY_PROXY_OUT_CHUNK;
        p->trailers = 1;
    }

    /* proxy_force_ranges: one range of a 200 made here, or a 416 */
    if (r->loc->proxy_force_ranges == 1 && !p->ssi_head
        && fy_proxy_range_start(p, headers, cl) == FY_DONE)
    {
        return;
    }

sliced:
    /* Without a length or chunks, only the close can end the body. */
    if (p->gzip == NULL && p->sub == NULL
        && ((p->body_type == FY_PROXY_BODY_CLOSE
             && p->out == FY_PROXY_OUT_RAW)
            || p->out == FY_PROXY_OUT_DECHUNK))
    {
        r->keepalive = 0;
    }
    conn = fy_http_connection_header(r);

    /* the upstream's Server and Date replace ferry's only when
     * proxy_pass_header lets them through (nginx) */
    own_server = own_date = 1;
    hide_mask = r->loc->hide_headers || r->loc->pass_headers
                ? 0 : fy_proxy_hidden_mask(r->loc);
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        k = fy_proxy_kind_at(kinds, i, h);
        if (hide_mask ? (hide_mask >> k) & 1
                      : (unsigned) fy_proxy_hidden_kind(r->loc, &h->name, k))
        {
            if (i < FY_PROXY_KINDS) {
                kinds[i] |= FY_PROXY_KIND_HIDDEN;
            }
        } else if (k == FY_PF_SERVER) {
            own_server = 0;
        } else if (k == FY_PF_DATE) {
            own_date = 0;
        }
        if (k == FY_PF_X_ACCEL_LIMIT_RATE
            && !(r->loc->proxy_ignore_headers & FY_HTTP_IGN_XA_LIMIT_RATE))
        {
            fy_http_limit_rate_header(r, &h->value);
        }
    }
    /* expires and charset change what the upstream said (nginx's
     * header filters): one test when neither is on */
    filters = r->loc->header_filters || r->accel_charset.len;
    if (filters) {
        fy_proxy_filters_start(r, headers);
    }
    server = fy_http_server_line(r, &slen);
    sent = r->loc->add_headers_sent;
    add.len = 0;
    if (!sent && fy_http_add_headers(r, r->status, &add) != FY_OK) {
        fy_proxy_fail(p, 500);
        return;
    }

    /* the upstream's own reason phrase goes on, as nginx passes it,
     * unless error_page changed the status: ferry's line then */
    line = NULL;
    llen = 0;
    if (p->parser.status_text_end == p->parser.status_text_start
        || r->status != p->status)
    {
        line = fy_http_status_line(r->status, &llen);
    }
    size = 192 + slen + fy_http_date_len + llen + add.len
           + (size_t) (p->parser.status_text_end - p->parser.status_text_start);
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        size += h->name.len + h->value.len + 4;
    }
    if (filters) {
        size += fy_http_charset_room(r);
    }
    if (p->range_allow) {
        size += FY_PROXY_RANGE_LINES;
    }
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_proxy_fail(p, 500);
        return;
    }

    /* No printf here: it cost more than the rest of the response
     * header (callgrind, docs/performance.md). */
    q = fy_cpylit(hdr, "HTTP/1.1 ");
    if (line == NULL) {
        /* the upstream's reason phrase (or none, for a status ferry
         * has no line of); the parser took exactly three digits (and
         * error_page codes have three) */
        *q++ = (char) ('0' + r->status / 100 % 10);
        *q++ = (char) ('0' + r->status / 10 % 10);
        *q++ = (char) ('0' + r->status % 10);
        *q++ = ' ';
        q = fy_cpymem(q, p->parser.status_text_start,
                         (size_t) (p->parser.status_text_end
                                   - p->parser.status_text_start));
    } else {
        q = fy_cpymem(q, line, llen);
    }
    q = fy_cpylit(q, "\r\n");
    if (own_server) {
        q = fy_cpymem(q, server, slen);
    }
    if (own_date) {
        q = fy_cpylit(q, "Date: ");
        q = fy_cpymem(q, fy_http_date, fy_http_date_len);
        q = fy_cpylit(q, "\r\n");
    }

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (i < FY_PROXY_KINDS) {
            k = kinds[i];
            if (k & FY_PROXY_KIND_HIDDEN) {
                continue;
            }
        } else {
            k = fy_proxy_field_kind(&h->name);
            if (fy_proxy_hidden_kind(r->loc, &h->name, k)) {
                continue;
            }
        }
        if ((fy_proxy_kind_skipped(k)
             || (conn_fields
                 && fy_proxy_connection_option(headers, &h->name)))
            && !(p->status == 101 && k == FY_PF_UPGRADE))
        {
            continue;
        }
        if (cl_lines > 1 && i != cl_first && k == FY_PF_CONTENT_LENGTH) {
            continue;           /* a repeated one: the client gets one */
        }
        value = h->value;
        if ((p->gzip || p->gunzip)
            && (k == FY_PF_CONTENT_LENGTH || k == FY_PF_ACCEPT_RANGES
                || (p->gunzip && k == FY_PF_CONTENT_ENCODING)))
        {
            continue;           /* not true of the (de)compressed body */
        }
        if (p->trailers && k == FY_PF_CONTENT_LENGTH) {
            continue;           /* chunked instead */
        }
        if (p->range_allow
            && (k == FY_PF_ACCEPT_RANGES
                || (p->ranged && k == FY_PF_CONTENT_LENGTH)
                || (p->sliced && k == FY_PF_CONTENT_RANGE)))
        {
            continue;           /* ferry's own (fy_proxy_range_header) */
        }
        if ((p->gzip || p->gunzip) && k == FY_PF_ETAG) {
            value = fy_http_gzip_weak_etag(r, &h->value);
        }
        if (p->ssi_head) {
            weak = 0;
            if (fy_proxy_ssi_header_drop(p, &h->name, &weak)) {
                continue;       /* nginx's ssi filter clears them */
            }
            if (weak) {
                value = fy_http_gzip_weak_etag(r, &value);
            }
        }
        if (sub) {
            switch (fy_http_sub_header(r, &h->name)) {
            case FY_HTTP_SUB_DROP:
                continue;
            case FY_HTTP_SUB_WEAKEN:
                value = fy_http_gzip_weak_etag(r, &value);
                break;
            }
        }
        if (filters && fy_proxy_filter_header(r, h, &value)) {
            continue;
        }
        memcpy(q, h->name.data, h->name.len);
        q += h->name.len;
        *q++ = ':';
        *q++ = ' ';
        memcpy(q, value.data, value.len);
        q += value.len;
        *q++ = '\r';
        *q++ = '\n';
    }
    gz = fy_http_gzip_header_lines(r, gzip);
    q = fy_cpymem(q, gz, strlen(gz));
    if (p->range_allow) {
        q = fy_proxy_range_header(p, q);
    }
    if (add.len) {
        memcpy(q, add.data, add.len);
        q += add.len;
    }
    at = (size_t) (q - hdr);
    if ((p->body_type == FY_PROXY_BODY_CHUNKED && p->out == FY_PROXY_OUT_RAW)
        || p->out == FY_PROXY_OUT_CHUNK
        || (p->gzip && fy_http_chunked_out(r))
        || (p->sub && fy_http_sub_chunked(r)))
    {
        q = fy_cpylit(q, "Transfer-Encoding: chunked\r\n");
    }
    if (p->status == 101) {
        conn = "upgrade";
    }
    q = fy_cpylit(q, "Connection: ");
    q = fy_cpymem(q, conn, strlen(conn));
    q = fy_cpylit(q, "\r\n\r\n");
    if (sent) {
        /* add_header reads $sent_http_: made now, the upstream's fields
         * visible to it, as nginx's header filter sees them */
        hlen = (size_t) (q - hdr);
        if (fy_http_add_headers_into(r, r->status, &hdr, &hlen, &size, at)
            != FY_OK)
        {
            fy_proxy_fail(p, 500);
            return;
        }
        q = hdr + hlen;
    }

    /* The header waits for the body bytes already in p->buf so that
     * both leave in one writev: a system call less per response, and
     * no small segment that Nagle's algorithm could hold back until
     * the client's delayed ACK (40 ms). */
    r->header_sent = 1;
    r->header_out = (uint64_t) (q - hdr);
    r->header_text.data = (u_char *) hdr;
    r->header_text.len = (size_t) (q - hdr);

    if (p->status == 101) {
        /* no body follows: the header goes alone, then the tunnel
         * (fy_proxy_body_written) takes both sockets */
        fy_http_conn_t  *hc = r->hc;

        hc->out[0].iov_base = hdr;
        hc->out[0].iov_len = (size_t) (q - hdr);
        hc->nout = 1;
        hc->out_done = fy_proxy_body_written;

        switch (fy_http_write_out(r)) {
        case FY_OK:
            fy_proxy_body_written(r);
            return;
        case FY_AGAIN:
            return;
        default:
            fy_http_close_connection(hc);
        }
        return;
    }

    p->hdr.iov_base = hdr;
    p->hdr.iov_len = (size_t) (q - hdr);

    /* a response without a body, or with all of it in those first
     * bytes, is read to its end already */
relay:
    p->buffering = r->loc->proxy_buffering;
    if (p->xa_buffering) {
        fy_proxy_accel_buffering(p);
    }
    if (p->up_done) {
        fy_proxy_release_upstream(p);
    } else {
        /* The body streams: each piece is written as it comes, in
         * both proxy_buffering modes (nginx streams only with "off",
         * and sets TCP_NODELAY there). */
        fy_http_nodelay(r->hc, r->loc);
    }
    fy_proxy_relay(p);
    return;

invalid:
    fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid header"
                 FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    fy_proxy_next(p, FY_HTTP_NEXT_INVALID_HEADER);
}

/* Parse what p->buf holds of the response header.  FY_DONE when it is
 * complete, FY_AGAIN for more bytes, FY_ERROR (logged) if invalid. */
static int
fy_proxy_parse_header(fy_http_proxy_t *p)
{
    fy_http_header_t  *h;
    int                rc;

    if (!p->status_done && (p->cgi || p->memc)) {
        if (p->memc) {
            return fy_http_memcached_header(p);  /* one line, no fields */
        }
        /* uwsgi, SCGI: an HTTP status line, or a CGI header (nginx) */
        rc = fy_http_cgi_status_line(&p->buf);
        if (rc == FY_AGAIN) {
            return FY_AGAIN;
        }
        p->status_done = p->cgi_status = rc == FY_DECLINED;
    }
    if (!p->status_done) {
        rc = fy_http_parse_status_line(&p->parser, &p->buf);
        if (rc == FY_AGAIN) {
            return FY_AGAIN;
        }
        if (rc != FY_OK) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent no valid HTTP/1.x "
                         "header" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_ERROR;
        }
        p->status_done = 1;
    }

    for ( ;; ) {
        rc = fy_http_parse_header_line(&p->parser, &p->buf);
        if (rc == FY_OK) {
            h = fy_array_push(&p->headers);
            if (h == NULL) {
                return FY_ERROR;
            }
            h->name.data = p->parser.header_name_start;
            h->name.len = (size_t) (p->parser.header_name_end
                                    - p->parser.header_name_start);
            h->value.data = p->parser.header_start;
            h->value.len = (size_t) (p->parser.header_end
                                     - p->parser.header_start);
            continue;
        }
        if (rc == FY_HTTP_PARSE_HEADER_DONE) {
            return FY_DONE;
        }
        if (rc == FY_AGAIN) {
            return FY_AGAIN;
        }
        fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid header"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        return FY_ERROR;
    }
}

/* Ready for the response of a new try: p->buf (allocated once, for
 * all tries), an empty header. */
int
fy_proxy_header_init(fy_http_proxy_t *p)
{
    if (p->buf.start == NULL
        && fy_buf_alloc(&p->buf, p->r->loc->proxy_buffer_size) != FY_OK)
    {
        return FY_ERROR;
    }
    fy_buf_reset(&p->buf);
    fy_http_parser_init(&p->parser);
    /* FastCGI: the CGI header has no status line (uwsgi, SCGI: it may
     * have one, fy_proxy_parse_header sees) */
    p->status_done = p->fcgi != NULL;
    p->cgi_status = p->status_done;
    if (p->fcgi) {
        fy_http_fastcgi_reset(p);
    }
    p->upstream_close = 0;
    p->xa_redirect = NULL;
    p->xa_buffering = NULL;
    p->xa_charset = NULL;
    fy_array_init(&p->headers, p->r->pool, 16, sizeof(fy_http_header_t));
    return FY_OK;
}

/* Read what the upstream has sent of the response header, while the
 * socket has bytes, and parse it; interim responses (1xx but 101) are
 * dropped.  FY_DONE: complete; FY_AGAIN: more is to come; FY_ERROR:
 * invalid or too big (logged); FY_DECLINED: the upstream closed (*err
 * 0) or failed (*err the errno) first, not logged. */
static int
fy_proxy_header_in(fy_http_proxy_t *p, int *err)
{
    fy_conn_t  *uc = p->uc;
    size_t      rest;
    ssize_t     n;
    int         rc;

    for ( ;; ) {
        rc = fy_proxy_parse_header(p);

        if (rc == FY_ERROR) {
            return FY_ERROR;
        }

        if (rc == FY_DONE) {
            if (p->parser.status >= 100 && p->parser.status < 200
                && p->parser.status != 101)
            {
                /* An interim response (100 Continue): drop it and
                 * parse what follows as the real response. */
                rest = fy_buf_size(&p->buf);
                memmove(p->buf.start, p->buf.pos, rest);
                p->buf.pos = p->buf.start;
                p->buf.last = p->buf.start + rest;
                fy_http_parser_init(&p->parser);
                p->status_done = p->fcgi != NULL;
                p->cgi_status = p->status_done;
                p->headers.nelts = 0;
                continue;
            }
            return FY_DONE;
        }

        /* FY_AGAIN: read more */
        if (fy_buf_free(&p->buf) == 0) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent too big header"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_ERROR;
        }

        if (!uc->read.ready && !(p->fcgi && p->fcgi->parser.ended)) {
            return FY_AGAIN;    /* drained by a short read: wait for the edge */
        }
        /* recv(), or SSL_read()s from an https upstream (a short read
         * clears rev->ready) */
        n = p->fcgi ? fy_http_fastcgi_recv(p, p->buf.last,
                                           fy_buf_free(&p->buf))
                    : fy_conn_recv(uc, p->buf.last, fy_buf_free(&p->buf));
        if (n > 0) {
            p->buf.last += n;
            fy_shm_add(p->stats->bytes_in, (uint64_t) n);
            fy_proxy_count(p, 1, (uint64_t) n);
            continue;
        }
        if (n == FY_AGAIN) {
            return FY_AGAIN;
        }
        if (n < 0 && p->fcgi && p->fcgi->caught) {
            return FY_ERROR;    /* fastcgi_catch_stderr: logged */
        }
        *err = n == 0 ? 0 : errno;
        return FY_DECLINED;
    }
}

/* The response header is complete: if the request is still on its way
 * up, it stops there (fy_proxy_send_stop); then the header is used. */
static void
fy_proxy_header_done(fy_http_proxy_t *p)
{
    fy_conn_t         *uc = p->uc;
    fy_proxy_state_t  *st;

    if (!p->request_done) {
        fy_proxy_send_stop(p);
    }
    fy_proxy_timed(p, FY_PROXY_T_HEADER);
    st = fy_proxy_state(p);
    if (st) {
        /* what follows the header in p->buf is body */
        st->body_from = st->received - fy_buf_size(&p->buf);
    }
    fy_timer_del(&uc->read);
    uc->read.handler = fy_proxy_relay_read;
    fy_proxy_process_header(p);
}

/*
 * The upstream's read handler from the first byte of the request on,
 * not only once it is all sent: a server may answer before it has read
 * the whole request (RFC 9112 9.5) -- a 401 or 413 to an upload, often
 * followed by a close that resets the connection under the rest of
 * the body -- and that answer is what the client must get.
 */
void
fy_proxy_read_header(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;
    int               rc, err = 0;

    if (rev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "reading response header from upstream"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        return;
    }

    rc = fy_proxy_header_in(p, &err);
    switch (rc) {
    case FY_AGAIN:
        return;
    case FY_ERROR:
        fy_proxy_next(p, FY_HTTP_NEXT_INVALID_HEADER);
        return;
    case FY_DECLINED:
        fy_log_error(fy_proxy_err_level(p), err, "upstream prematurely "
                     "closed connection while reading response header from "
                     "upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        /* nothing reached the client yet: another server may do better */
        fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
        return;
    }
    fy_proxy_header_done(p);
}

/*
 * A send to the upstream failed (EPIPE, ECONNRESET): did it answer
 * first?  A server that answers early and closes without reading the
 * rest of the request makes the kernel reset the connection, and the
 * reset can arrive with the answer, before the read handler had a
 * turn.  What the server sent stays readable after the reset (Linux
 * keeps the received bytes until they are read), so it is read now.
 * FY_OK: a complete header was there and the response goes on (or an
 * invalid one failed the try); the caller must not touch p again.
 * FY_DECLINED: no complete header, the send failure stands.
 */
int
fy_proxy_read_early(fy_http_proxy_t *p)
{
    int  rc, err = 0;

    p->uc->read.ready = 1;      /* no event may have said so yet */
    rc = fy_proxy_header_in(p, &err);
    if (rc == FY_ERROR) {
        fy_proxy_next(p, FY_HTTP_NEXT_INVALID_HEADER);
        return FY_OK;
    }
    if (rc != FY_DONE) {
        return FY_DECLINED;
    }
    fy_log_debug("upstream had answered before the send failed"
                 FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    fy_proxy_header_done(p);
    return FY_OK;
}
