/*
 * fy_http_proxy_response.c -- the response on its way down: the
 * header read and parsed as strictly as a request, checked for
 * framing and retried elsewhere when proxy_next_upstream says so, then
 * the body relayed to the client (see fy_http_proxy.c for the framing
 * table).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_worker.h"
#include "fy_shm.h"

static unsigned fy_proxy_status_ft(int status);
static void fy_proxy_process_header(fy_http_proxy_t *p);
static int fy_proxy_parse_header(fy_http_proxy_t *p);
static void fy_proxy_finish(fy_http_proxy_t *p);
static void fy_proxy_body_written(fy_http_request_t *r);
static int fy_proxy_next_piece(fy_http_proxy_t *p);
static void fy_proxy_relay(fy_http_proxy_t *p);
static void fy_proxy_relay_read(fy_event_t *rev);

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

/* Append n bytes at q; returns the new end. */
static char *
fy_proxy_cpy(char *q, const void *src, size_t n)
{
    memcpy(q, src, n);
    return q + n;
}

#define fy_proxy_lit(q, s)  fy_proxy_cpy(q, s, sizeof(s) - 1)

/* The header is parsed: decide framing, send the client its header. */
static void
fy_proxy_process_header(fy_http_proxy_t *p)
{
    fy_array_t         *headers = &p->headers;
    fy_http_request_t  *r = p->r;
    fy_http_header_t   *h;
    const char         *conn, *line;
    char               *hdr, *q;
    size_t              size, llen;
    int64_t             cl = -1, n;
    unsigned            i, chunked = 0, te = 0, ft;

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Content-Length")) {
            n = fy_atoi(h->value.data, h->value.len);
            if (n < 0 || (cl != -1 && cl != n)) {
                goto invalid;
            }
            cl = n;
        } else if (fy_str_eq_ci(&h->name, "Connection")) {
            if (fy_http_token_in(&h->value, "close")) {
                p->upstream_close = 1;
            }
        } else if (fy_str_eq_ci(&h->name, "Transfer-Encoding")) {
            te = 1;
            /* the final coding must be chunked (RFC 9112 6.3) */
            chunked = h->value.len >= 7
                && strncasecmp((char *) h->value.data + h->value.len - 7,
                               "chunked", 7) == 0;
        }
    }
    if (te && (!chunked || cl != -1)) {
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
    /* the answer is what the client gets: the server works */
    fy_http_peer_succeeded(p->u, p->peer);
    r->status = p->status;

    if (p->status == 101 && r->upgrade.len == 0) {
        /* switching protocols nobody asked for */
        goto invalid;
    }

    if (r->head || p->status == 204 || p->status == 304
        || (p->status >= 100 && p->status < 200))
    {
        p->body_type = FY_PROXY_BODY_NONE;
    } else if (chunked) {
        p->body_type = FY_PROXY_BODY_CHUNKED;
        p->out = r->http_version >= 1001 ? FY_PROXY_OUT_RAW
                                         : FY_PROXY_OUT_DECHUNK;
    } else if (cl != -1) {
        p->body_type = FY_PROXY_BODY_LENGTH;
        p->rest = (uint64_t) cl;
    } else {
        p->body_type = FY_PROXY_BODY_CLOSE;
        p->out = r->http_version >= 1001 ? FY_PROXY_OUT_CHUNK
                                         : FY_PROXY_OUT_RAW;
    }

    /* Only an HTTP/1.1 response whose end is known without a close may
     * leave its connection open for the next request. */
    p->framed = p->body_type != FY_PROXY_BODY_CLOSE && !p->upstream_close
                && p->parser.http_major == 1 && p->parser.http_minor >= 1;

    /* Without a length or chunks, only the close can end the body. */
    if ((p->body_type == FY_PROXY_BODY_CLOSE && p->out == FY_PROXY_OUT_RAW)
        || p->out == FY_PROXY_OUT_DECHUNK)
    {
        r->keepalive = 0;
    }
    conn = fy_http_connection_header(r);

    line = fy_http_status_line(p->status, &llen);
    size = 128 + fy_http_date_len + llen
           + (size_t) (p->parser.status_text_end - p->parser.status_text_start);
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        size += h->name.len + h->value.len + 4;
    }
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_proxy_fail(p, 500);
        return;
    }

    /* No printf here: it cost more than the rest of the response
     * header (callgrind, docs/performance.md). */
    q = fy_proxy_lit(hdr, "HTTP/1.1 ");
    if (p->parser.status_text_end > p->parser.status_text_start
        || line == NULL)
    {
        /* the upstream's own reason phrase, as nginx passes it; the
         * parser took exactly three digits */
        *q++ = (char) ('0' + p->status / 100 % 10);
        *q++ = (char) ('0' + p->status / 10 % 10);
        *q++ = (char) ('0' + p->status % 10);
        *q++ = ' ';
        q = fy_proxy_cpy(q, p->parser.status_text_start,
                         (size_t) (p->parser.status_text_end
                                   - p->parser.status_text_start));
    } else {
        q = fy_proxy_cpy(q, line, llen);
    }
    q = fy_proxy_lit(q, "\r\nServer: ferry\r\nDate: ");
    q = fy_proxy_cpy(q, fy_http_date, fy_http_date_len);
    q = fy_proxy_lit(q, "\r\n");

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Date") || fy_str_eq_ci(&h->name, "Server")
            || (fy_proxy_skip_header(&h->name)
                && !(p->status == 101 && fy_str_eq_ci(&h->name, "Upgrade"))))
        {
            continue;
        }
        memcpy(q, h->name.data, h->name.len);
        q += h->name.len;
        *q++ = ':';
        *q++ = ' ';
        memcpy(q, h->value.data, h->value.len);
        q += h->value.len;
        *q++ = '\r';
        *q++ = '\n';
    }
    if ((p->body_type == FY_PROXY_BODY_CHUNKED && p->out == FY_PROXY_OUT_RAW)
        || p->out == FY_PROXY_OUT_CHUNK)
    {
        q = fy_proxy_lit(q, "Transfer-Encoding: chunked\r\n");
    }
    if (p->status == 101) {
        conn = "upgrade";
    }
    q = fy_proxy_lit(q, "Connection: ");
    q = fy_proxy_cpy(q, conn, strlen(conn));
    q = fy_proxy_lit(q, "\r\n\r\n");

    /* The header waits for the body bytes already in p->buf so that
     * both leave in one writev: a system call less per response, and
     * no small segment that Nagle's algorithm could hold back until
     * the client's delayed ACK (40 ms). */
    r->header_sent = 1;
    r->header_out = (uint64_t) (q - hdr);

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

void
fy_proxy_read_header(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;
    size_t            rest, size;
    ssize_t           n;
    int               rc;

    if (rev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "reading response header from upstream"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        return;
    }

    for ( ;; ) {
        rc = fy_proxy_parse_header(p);

        if (rc == FY_ERROR) {
            fy_proxy_next(p, FY_HTTP_NEXT_INVALID_HEADER);
            return;
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
                p->status_done = 0;
                p->headers.nelts = 0;
                continue;
            }
            break;
        }

        /* FY_AGAIN: read more */
        if (fy_buf_free(&p->buf) == 0) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent too big header"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_INVALID_HEADER);
            return;
        }

        if (!rev->ready) {
            return;     /* drained by a short read: wait for the edge */
        }
        size = fy_buf_free(&p->buf);
        n = recv(uc->fd, p->buf.last, size, 0);
        if (n > 0) {
            /* short read: drained, as in fy_conn_recv */
            if ((size_t) n < size && !rev->eof) {
                rev->ready = 0;
            }
            p->buf.last += n;
            fy_shm_add(p->stats->bytes_in, (uint64_t) n);
            continue;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rev->ready = 0;
            return;
        }
        fy_log_error(fy_proxy_err_level(p), n == 0 ? 0 : errno,
                     "upstream prematurely "
                     "closed connection while reading response header from "
                     "upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        /* nothing reached the client yet: another server may do better */
        fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
        return;
    }

    fy_timer_del(rev);
    uc->read.handler = fy_proxy_relay_read;
    fy_proxy_process_header(p);
}

/* The response is complete (or, for BODY_NONE, had no body). */
static void
fy_proxy_finish(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    static char         last[] = "0\r\n\r\n";

    if (p->stats) {
        fy_http_peer_response_time(p->peer->shm, fy_current_msec - p->start);
    }
    if (p->u->keepalive && p->framed && p->uc && fy_buf_size(&p->buf) == 0)
    {
        /* read exactly to its end: the connection can carry another */
        fy_conn_t *uc = p->uc;

        p->uc = NULL;
        fy_shm_add(p->stats->active, (uint64_t) -1);
        p->stats = NULL;
        fy_http_upcache_put(p->u, p->peer_index, uc, p->uc_requests + 1);
    }
    fy_proxy_close_upstream(p);

    if (p->out == FY_PROXY_OUT_CHUNK && p->body_type == FY_PROXY_BODY_CLOSE) {
        /* the terminating chunk, once */
        p->body_type = FY_PROXY_BODY_NONE;
        hc->out[0].iov_base = last;
        hc->out[0].iov_len = sizeof(last) - 1;
        hc->nout = 1;
        hc->out_done = fy_proxy_body_written;
        switch (fy_http_write_out(r)) {
        case FY_OK:
            break;
        case FY_AGAIN:
            return;
        default:
            fy_http_close_connection(hc);
            return;
        }
    }

    hc->c->read.handler = fy_event_ignore;
    fy_http_finalize(r, 0);
}

/* What was queued has been written: continue relaying. */
static void
fy_proxy_body_written(fy_http_request_t *r)
{
    fy_http_proxy_t  *p = r->proxy;
    fy_conn_t        *uc;

    if (p->status == 101 && p->uc) {
        /* HTTP is over on this connection: the tunnel takes the
         * upstream socket and what came after the 101 */
        uc = p->uc;
        p->uc = NULL;
        if (fy_http_tunnel_start(r, uc, p->buf.pos, fy_buf_size(&p->buf))
            != FY_OK)
        {
            fy_conn_close(uc);
            fy_http_close_connection(r->hc);
        }
        return;
    }

    if (p->uc == NULL) {
        /* this was the terminating chunk */
        r->hc->c->read.handler = fy_event_ignore;
        fy_http_finalize(r, 0);
        return;
    }
    fy_proxy_relay(p);
}

/*
 * Move the next piece of p->buf to the client.  Returns FY_OK when a
 * piece was queued in hc->out, FY_AGAIN when the buffer holds nothing
 * to send, FY_DONE when the body is complete, FY_ERROR on a broken
 * chunked body.
 */
static int
fy_proxy_next_piece(fy_http_proxy_t *p)
{
    fy_http_conn_t  *hc = p->r->hc;
    u_char          *start = p->buf.pos;
    size_t           len;
    int              rc, i = 0;

    switch (p->body_type) {

    case FY_PROXY_BODY_NONE:
        return FY_DONE;

    case FY_PROXY_BODY_LENGTH:
        if (p->rest == 0) {
            return FY_DONE;
        }
        len = (size_t) fy_min((uint64_t) fy_buf_size(&p->buf), p->rest);
        if (len == 0) {
            return FY_AGAIN;
        }
        p->rest -= len;
        p->buf.pos += len;
        break;

    case FY_PROXY_BODY_CHUNKED:
        if (p->out == FY_PROXY_OUT_DECHUNK) {
            rc = fy_http_parse_chunked(&p->chunked, &p->buf);
            if (rc == FY_OK) {
                start = p->chunked.data;
                len = p->chunked.len;
                break;
            }
        } else {
            /* pass everything through; stop at the end of the body */
            do {
                rc = fy_http_parse_chunked(&p->chunked, &p->buf);
            } while (rc == FY_OK);
            len = (size_t) (p->buf.pos - start);
            if (len && (rc == FY_AGAIN || rc == FY_DONE)) {
                if (rc == FY_DONE) {
                    p->body_type = FY_PROXY_BODY_NONE;
                }
                break;
            }
        }
        if (rc == FY_DONE) {
            return FY_DONE;
        }
        if (rc == FY_AGAIN) {
            return FY_AGAIN;
        }
        fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid chunked response"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        return FY_ERROR;

    default: /* FY_PROXY_BODY_CLOSE */
        len = fy_buf_size(&p->buf);
        if (len == 0) {
            return FY_AGAIN;
        }
        p->buf.pos += len;
        break;
    }

    if (p->hdr.iov_len) {
        hc->out[i++] = p->hdr;
        p->hdr.iov_len = 0;
    }
    if (p->out == FY_PROXY_OUT_CHUNK) {
        hc->out[i].iov_base = p->chunk_hdr;
        hc->out[i].iov_len = (size_t) snprintf(p->chunk_hdr,
                                               sizeof(p->chunk_hdr),
                                               "%zx\r\n", len);
        hc->out[i + 1].iov_base = start;
        hc->out[i + 1].iov_len = len;
        hc->out[i + 2].iov_base = (char *) "\r\n";
        hc->out[i + 2].iov_len = 2;
        hc->nout = i + 3;
    } else {
        hc->out[i].iov_base = start;
        hc->out[i].iov_len = len;
        hc->nout = i + 1;
    }
    return FY_OK;
}

static void
fy_proxy_relay(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_conn_t          *uc = p->uc;
    size_t              size;
    ssize_t             n;
    int                 rc;

    for ( ;; ) {
        rc = fy_proxy_next_piece(p);

        if (rc == FY_DONE) {
            /* and done it stays: the chunked parser must not be asked
             * again after the header below has gone out alone */
            p->body_type = FY_PROXY_BODY_NONE;
        }
        if (p->hdr.iov_len && (rc == FY_AGAIN || rc == FY_DONE)) {
            /* no body bytes to go with the header: it goes alone */
            r->hc->out[0] = p->hdr;
            r->hc->nout = 1;
            p->hdr.iov_len = 0;
            rc = FY_OK;
        }

        if (rc == FY_OK) {
            r->hc->out_done = fy_proxy_body_written;
            switch (fy_http_write_out(r)) {
            case FY_OK:
                continue;
            case FY_AGAIN:
                /* the client is slow: stop reading the upstream */
                return;
            default:
                fy_http_close_connection(r->hc);
                return;
            }
        }

        if (rc == FY_DONE) {
            fy_proxy_finish(p);
            return;
        }
        if (rc == FY_ERROR) {
            fy_proxy_fail(p, 502);
            return;
        }

        /* FY_AGAIN: the buffer is used up; read more, unless the last
         * read was short (drained): then wait for the next edge */
        fy_buf_reset(&p->buf);
        if (!uc->read.ready) {
            uc->read.handler = fy_proxy_relay_read;
            fy_timer_add(&uc->read, (uint64_t) r->loc->proxy_read_timeout);
            return;
        }
        size = fy_buf_free(&p->buf);
        n = recv(uc->fd, p->buf.last, size, 0);
        if (n > 0) {
            if ((size_t) n < size && !uc->read.eof) {
                uc->read.ready = 0;     /* as in fy_conn_recv */
            }
            p->buf.last += n;
            fy_shm_add(p->stats->bytes_in, (uint64_t) n);
            continue;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            uc->read.ready = 0;
            uc->read.handler = fy_proxy_relay_read;
            fy_timer_add(&uc->read, (uint64_t) r->loc->proxy_read_timeout);
            return;
        }
        if (n == 0 && p->body_type == FY_PROXY_BODY_CLOSE) {
            p->body_type = p->out == FY_PROXY_OUT_CHUNK
                           ? FY_PROXY_BODY_CLOSE : FY_PROXY_BODY_NONE;
            fy_proxy_finish(p);
            return;
        }
        fy_log_error(FY_LOG_ERR, n == 0 ? 0 : errno, "upstream prematurely "
                     "closed connection while reading upstream"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_fail(p, 502);
        return;
    }
}

static void
fy_proxy_relay_read(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;

    if (rev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "reading upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_fail(p, 504);
        return;
    }
    fy_timer_del(rev);
    /* a write to the client still in progress resumes the relay itself */
    if (p->r->hc->nout) {
        return;
    }
    fy_proxy_relay(p);
}
