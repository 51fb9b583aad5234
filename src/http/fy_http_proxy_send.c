/*
 * fy_http_proxy_send.c -- the request on its way up: the header built
 * by fy_http_proxy_request.c and the body sent, the body read from the
 * client through one bounded buffer and framed again (Content-Length,
 * or chunked), then the wait for the response with an eye on the
 * client.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_worker.h"
#include "fy_shm.h"
#include "fy_http_cache.h"

/*
 * The request body.  Whatever its framing from the client, it is read
 * decoded into p->body (client_body_buffer_size) and sent from there,
 * so what the upstream gets is framed by ferry alone:
 *
 *   Content-Length       -> the same Content-Length
 *   chunked, whole body  -> Content-Length: the body was read first
 *     within the buffer     (fy_proxy_read_body), as nginx sends it
 *   chunked, bigger      -> HTTP/1.1 and chunked again, one chunk per
 *                           read; the client's chunk sizes, extensions
 *                           and trailers are not passed on
 *   FastCGI (fastcgi_pass) -> STDIN records in the chunked framing's
 *                           place (p->frame holds a record header),
 *                           an empty STDIN for the last-chunk; a chunked
 *                           body only when read whole (fy_proxy_start)
 *
 * The buffer is emptied for more only once it is full and sent; until
 * then it holds every body byte read and the request can be sent to
 * another server (p->body_lost).  The client is read only when
 * everything read so far is up, so a slow upstream slows the client.
 */

/* fy_proxy_body_in results besides FY_OK, FY_AGAIN, FY_DONE, FY_ERROR */
#define FY_PROXY_BODY_INVALID    400
#define FY_PROXY_BODY_TOO_LARGE  413
#define FY_PROXY_BODY_NO_MEMORY  500

static int fy_proxy_in_room(fy_http_proxy_t *p, size_t need);
static int fy_proxy_dechunk(fy_http_proxy_t *p, fy_buf_t *in);
static int fy_proxy_body_in(fy_http_proxy_t *p);
static int fy_proxy_body_end(fy_http_proxy_t *p);
static void fy_proxy_body_failed(fy_http_proxy_t *p, int status);
static void fy_proxy_read_body_handler(fy_event_t *rev);
static int fy_proxy_body_iov(fy_http_proxy_t *p, struct iovec *iov);
static void fy_proxy_body_sent(fy_http_proxy_t *p, size_t n);

static const char  fy_proxy_last_chunk[] = "\r\n0\r\n\r\n";

/* Make room for need more bytes at the end of hc->in, where the bytes
 * read after a chunked body go (the next request).  Its start holds
 * this request's header, which the request points into: when it is
 * full, its unread bytes move to a new buffer and the old one lives on
 * until the request ends. */
static int
fy_proxy_in_room(fy_http_proxy_t *p, size_t need)
{
    return fy_http_in_room(p->r, need);
}

int
fy_http_in_room(fy_http_request_t *r, size_t need)
{
    fy_buf_t           *in = &r->hc->in;
    fy_buf_t            b;
    size_t              n = fy_buf_size(in);

    if (fy_buf_free(in) >= need) {
        return FY_OK;
    }
    if (fy_buf_alloc(&b, fy_max((size_t) (in->end - in->start), n + need))
        != FY_OK)
    {
        return FY_ERROR;
    }
    if (fy_pool_cleanup_add(r->pool, free, in->start) != FY_OK) {
        fy_buf_release(&b);
        return FY_ERROR;
    }
    memcpy(b.last, in->pos, n);
    b.last += n;
    *in = b;
    return FY_OK;
}

/* Decode the chunked bytes of in, appending the data to p->body
 * (in may lie in p->body's free space: data only moves down). */
static int
fy_proxy_dechunk(fy_http_proxy_t *p, fy_buf_t *in)
{
    fy_http_request_t  *r = p->r;
    fy_http_chunked_t  *c = &r->chunked_body;
    size_t              max = r->loc->client_max_body_size;
    int                 rc;

    for ( ;; ) {
        rc = fy_http_parse_chunked(c, in);

        if (rc == FY_OK) {
            memmove(p->body.last, c->data, c->len);
            p->body.last += c->len;
            r->body_received += c->len;
        } else if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        } else if (rc != FY_AGAIN) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_INVALID;
        }

        /* the decoded size counts, and a chunk is refused by the size
         * it announces, before its data arrives */
        if (max && r->body_received + c->size > max) {
            fy_log_error(FY_LOG_ERR, 0, "client intended to send too large "
                         "chunked body: %llu+%llu bytes" FY_PROXY_CTX_FMT,
                         (unsigned long long) r->body_received,
                         (unsigned long long) c->size, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_TOO_LARGE;
        }
        if (rc == FY_AGAIN) {
            return FY_OK;
        }
    }
}

/* Append body bytes to p->body, which has free space: those that came
 * with the header first, then from the client's socket.  FY_DONE when
 * the body is complete (possibly with bytes appended), FY_OK, FY_AGAIN
 * (the socket is drained), FY_ERROR (the client is gone; logged), or a
 * status to refuse the body with (logged). */
static int
fy_proxy_body_in(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    fy_buf_t            in, *in_src;
    size_t              size, k;
    ssize_t             n;
    int                 rc;

    if (r->body_rest == 0 && !r->chunked) {
        return FY_DONE;
    }
    size = fy_buf_free(&p->body);

    if (!r->chunked) {
        /* hc->in's bytes, or all of them when mirror read the body */
        in_src = fy_http_body_src(r);
        k = fy_min(fy_min(fy_buf_size(in_src), r->body_rest), size);
        if (k) {
            memcpy(p->body.last, in_src->pos, k);
            in_src->pos += k;
            n = (ssize_t) k;
        } else {
            n = fy_conn_recv(hc->c, p->body.last,
                             (size_t) fy_min((uint64_t) size, r->body_rest));
            if (n <= 0) {
                goto failed;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
        }
        if (r->body_mem.start == NULL) {
            /* mirror counted those it read */
            r->request_length += (uint64_t) n;
            r->body_received += (uint64_t) n;
        }
        p->body.last += n;
        r->body_rest -= (uint64_t) n;
        return r->body_rest ? FY_OK : FY_DONE;
    }

    if (fy_buf_size(&hc->in)) {
        /* no more coded bytes than there is room for their data */
        in = hc->in;
        in.last = in.pos + fy_min(fy_buf_size(&hc->in), size);
        rc = fy_proxy_dechunk(p, &in);
        r->request_length += (uint64_t) (in.pos - hc->in.pos);
        hc->in.pos = in.pos;
        return rc;
    }

    /* coded bytes from the socket land in the free space and are
     * decoded in place; bytes after the body's end are the next
     * request's, and go back to hc->in */
    n = fy_conn_recv(hc->c, p->body.last, size);
    if (n <= 0) {
        goto failed;
    }
    fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);

    in.start = in.pos = p->body.last;
    in.last = in.end = p->body.last + n;
    rc = fy_proxy_dechunk(p, &in);
    r->request_length += (uint64_t) (in.pos - in.start);
    if (rc == FY_DONE && in.pos < in.last) {
        k = (size_t) (in.last - in.pos);
        if (fy_proxy_in_room(p, k) != FY_OK) {
            return FY_PROXY_BODY_NO_MEMORY;
        }
        memcpy(hc->in.last, in.pos, k);
        hc->in.last += k;
    }
    return rc;

failed:

    if (n == FY_AGAIN) {
        return FY_AGAIN;
    }
    fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely "
                 "closed connection while sending request body"
                 FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    return FY_ERROR;
}

/* p->body is full of a chunked body: does the body end right there?
 * What follows is read into hc->in and parsed with a copy of the
 * decoder, kept only if no data came (the last-chunk, a trailer).
 * FY_DONE, FY_OK (data follows), FY_AGAIN, FY_ERROR (logged) or 400. */
static int
fy_proxy_body_end(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    fy_http_chunked_t   c;
    fy_buf_t            in;
    ssize_t             n;
    int                 rc;

    if (r->chunked_body.size) {
        return FY_OK;           /* chunk data is due */
    }

    for ( ;; ) {
        if (fy_buf_size(&hc->in) == 0) {
            if (fy_proxy_in_room(p, 1024) != FY_OK) {
                return FY_PROXY_BODY_NO_MEMORY;
            }
            n = fy_conn_recv(hc->c, hc->in.last, fy_buf_free(&hc->in));
            if (n == FY_AGAIN) {
                return FY_AGAIN;
            }
            if (n <= 0) {
                fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client "
                             "prematurely closed connection while sending "
                             "request body" FY_PROXY_CTX_FMT,
                             FY_PROXY_CTX(p));
                return FY_ERROR;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            hc->in.last += n;
        }

        c = r->chunked_body;
        in = hc->in;
        rc = fy_http_parse_chunked(&c, &in);
        if (rc == FY_OK) {
            return FY_OK;
        }
        if (rc != FY_AGAIN && rc != FY_DONE) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_INVALID;
        }
        r->request_length += (uint64_t) (in.pos - hc->in.pos);
        r->chunked_body = c;
        hc->in.pos = in.pos;
        if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        }
    }
}

/* The body cannot go on: the upstream connection is closed before it
 * got a complete body (for a chunked one, no last-chunk), and the
 * client gets status, or just the close when there is none to give. */
static void
fy_proxy_body_failed(fy_http_proxy_t *p, int status)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;

    fy_proxy_close_upstream(p);
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;
    r->keepalive = 0;
    if (status == 0 || r->header_sent) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_send_error(r, status);
}

/*
 * A chunked body: read up to a buffer of it before connecting.  If it
 * ends there, it goes up with a Content-Length as nginx sends it
 * (backends that cannot read chunked requests work, and it can be sent
 * again on a retry); otherwise it is streamed up chunked.  Then
 * fy_proxy_start.
 */
void
fy_proxy_read_body(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    int                  rc;

    if (p->body.start == NULL
        && fy_buf_alloc(&p->body, lcf->client_body_buffer_size) != FY_OK)
    {
        fy_proxy_body_failed(p, 500);
        return;
    }

    do {
        if (fy_buf_free(&p->body) == 0) {
            rc = fy_proxy_body_end(p);
            break;
        }
        rc = fy_proxy_body_in(p);
    } while (rc == FY_OK);

    if (rc == FY_AGAIN) {
        hc->c->read.handler = fy_proxy_read_body_handler;
        fy_timer_add(&hc->c->read, (uint64_t) lcf->client_body_timeout);
        return;
    }
    if (rc != FY_OK && rc != FY_DONE) {
        fy_proxy_body_failed(p, rc == FY_ERROR ? 0 : rc);
        return;
    }
    fy_timer_del(&hc->c->read);

    if (rc == FY_DONE) {
        p->body_done = 1;
        p->content_length = (int64_t) fy_buf_size(&p->body);
    } else {
        p->body_chunked = 1;
    }
    fy_proxy_start(p);
}

static void
fy_proxy_read_body_handler(fy_event_t *rev)
{
    fy_conn_t        *c = rev->data;
    fy_http_proxy_t  *p = ((fy_http_conn_t *) c->data)->r->proxy;

    if (rev->timedout) {
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        /* nginx sends nothing when it resets (reset_timedout_connection) */
        fy_proxy_body_failed(p, fy_http_reset_timedout(p->r->hc) ? 0 : 408);
        return;
    }
    fy_proxy_read_body(p);
}

/* Point iov (4 entries) at what goes up next: the rest of the header,
 * then body bytes, as chunks when the body goes up chunked, then the
 * last-chunk once the body is complete.  Returns the count. */
static int
fy_proxy_body_iov(fy_http_proxy_t *p, struct iovec *iov)
{
    size_t  n;
    int     i = 0;

    if (fy_buf_size(&p->req)) {
        iov[i].iov_base = p->req.pos;
        iov[i++].iov_len = fy_buf_size(&p->req);
    }

    if (!p->body_chunked && p->fcgi == NULL) {
        if (fy_buf_size(&p->body)) {
            iov[i].iov_base = p->body.pos;
            iov[i++].iov_len = fy_buf_size(&p->body);
        }
        return i;
    }

    if (p->frame_pos == p->frame_len && p->chunk_rest == 0) {
        /* between chunks: what has been read and not sent is the next
         * (its size line carries the previous chunk's CRLF), and the
         * last-chunk leaves with it when the body is complete, so that
         * no small segment waits alone for an ACK */
        n = fy_buf_size(&p->body);
        if (n && p->fcgi) {
            /* FastCGI: a STDIN record (its content is at most 64K) */
            n = fy_min(n, (size_t) FY_FCGI_MAX_CONTENT);
            fy_http_fastcgi_stdin((u_char *) p->frame, n);
            p->frame_len = FY_FCGI_HEADER_LEN;
            p->frame_pos = 0;
            p->chunk_rest = n;
        } else if (n) {
            p->frame_len = (uint8_t) snprintf(p->frame, sizeof(p->frame),
                                              "%s%zx\r\n",
                                              p->chunk_open ? "\r\n" : "",
                                              n);
            p->frame_pos = 0;
            p->chunk_rest = n;
            p->chunk_open = 1;
        }
        if (p->body_done && !p->last_chunk
            && (p->fcgi == NULL || fy_buf_size(&p->body) == p->chunk_rest))
        {
            /* (a body of more than one STDIN record: after the last) */
            p->last_chunk = 1;
            p->tail_pos = p->chunk_open ? 0 : 2;
            p->tail_len = sizeof(fy_proxy_last_chunk) - 1;
            if (p->fcgi) {
                p->tail_pos = 0;        /* the empty STDIN ends it */
                p->tail_len = FY_FCGI_HEADER_LEN;
            }
        }
    }

    if (p->frame_pos < p->frame_len) {
        iov[i].iov_base = p->frame + p->frame_pos;
        iov[i++].iov_len = (size_t) (p->frame_len - p->frame_pos);
    }
    if (p->chunk_rest) {
        iov[i].iov_base = p->body.pos;
        iov[i++].iov_len = p->chunk_rest;
    }
    if (p->tail_pos < p->tail_len) {
        iov[i].iov_base = p->fcgi ? (char *) p->fcgi->stdin_end + p->tail_pos
                                  : (char *) fy_proxy_last_chunk + p->tail_pos;
        iov[i++].iov_len = (size_t) (p->tail_len - p->tail_pos);
    }
    return i;
}

/* n bytes of what fy_proxy_body_iov pointed at went up. */
static void
fy_proxy_body_sent(fy_http_proxy_t *p, size_t n)
{
    size_t  k;

    k = fy_min(n, fy_buf_size(&p->req));
    p->req.pos += k;
    n -= k;

    if (!p->body_chunked && p->fcgi == NULL) {
        p->body.pos += n;
        return;
    }
    k = fy_min(n, (size_t) (p->frame_len - p->frame_pos));
    p->frame_pos += (uint8_t) k;
    n -= k;
    k = fy_min(n, p->chunk_rest);
    p->body.pos += k;
    p->chunk_rest -= k;
    n -= k;
    p->tail_pos += (uint8_t) n;
}

/* Another try: the header and the body (all of it is in p->body, as
 * p->body_lost is not set) go again from their start. */
void
fy_proxy_rewind(fy_http_proxy_t *p)
{
    p->req.pos = p->req.start;
    p->body.pos = p->body.start;
    p->frame_pos = 0;
    p->frame_len = 0;
    p->chunk_rest = 0;
    p->chunk_open = 0;
    p->last_chunk = 0;
    p->tail_pos = 0;
    p->tail_len = 0;
}

/* Called when the upstream is writable or the client readable while
 * the request (header, then body) goes up. */
void
fy_proxy_send_handler(fy_event_t *ev)
{
    fy_conn_t        *c = ev->data;
    fy_http_proxy_t  *p;

    /* ev is either the upstream's write event or the client's read */
    if (c->data && ev->write) {
        p = c->data;
    } else {
        p = ((fy_http_conn_t *) c->data)->r->proxy;
    }

    if (ev->timedout) {
        if (ev->write) {
            fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                         "sending request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
            return;
        }
        /* client_body_timeout: nothing came between two reads */
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        /* nginx sends nothing when it resets (reset_timedout_connection) */
        fy_proxy_body_failed(p, fy_http_reset_timedout(p->r->hc) ? 0 : 408);
        return;
    }
    fy_proxy_send_request(p);
}

void
fy_proxy_send_request(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_conn_t           *uc = p->uc;
    struct iovec         iov[4];
    ssize_t              n;
    int                  cnt, rc, err;

    if (fy_proxy_kept_gone(p)) {
        return;
    }
    /* an answer may come before the request is all up (see there) */
    uc->read.handler = fy_proxy_read_header;

    for ( ;; ) {
        cnt = fy_proxy_body_iov(p, iov);

        if (cnt) {
            /* writev(), or SSL_write()s to an https upstream */
            n = fy_conn_writev(uc, iov, cnt);
            if (n > 0) {
                fy_proxy_body_sent(p, (size_t) n);
                p->request_sent = 1;
                fy_shm_add(p->stats->bytes_out, (uint64_t) n);
                fy_proxy_count(p, 0, (uint64_t) n);
                continue;
            }
            if (n == FY_AGAIN) {
                /* the client waits while the upstream does */
                fy_timer_del(&hc->c->read);
                fy_timer_add(&uc->write, (uint64_t) lcf->proxy_send_timeout);
                return;
            }
            err = n == 0 ? 0 : errno;
            if (fy_proxy_read_early(p) == FY_OK) {
                return;     /* it had answered: that answer goes on */
            }
            fy_log_error(fy_proxy_err_level(p), err,
                         "send() or writev() failed while sending "
                         "request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
            return;
        }

        if (p->body_done) {
            break;
        }
        if (r->body_rest == 0 && !r->chunked) {
            p->body_done = 1;       /* no body, or all of it read */
            continue;
        }

        /* everything read is up: read more, into a buffer emptied
         * only when full */
        if (p->body.start == NULL) {
            if (fy_buf_alloc(&p->body, lcf->client_body_buffer_size)
                != FY_OK)
            {
                fy_proxy_body_failed(p, 500);
                return;
            }
        } else if (fy_buf_free(&p->body) == 0) {
            fy_buf_reset(&p->body);
            p->body_lost = 1;
        }

        rc = fy_proxy_body_in(p);
        if (rc == FY_OK) {
            continue;
        }
        if (rc == FY_DONE) {
            p->body_done = 1;
            continue;
        }
        if (rc == FY_AGAIN) {
            hc->c->read.handler = fy_proxy_send_handler;
            fy_timer_add(&hc->c->read, (uint64_t) lcf->client_body_timeout);
            fy_timer_del(&uc->write);
            return;
        }
        fy_proxy_body_failed(p, rc == FY_ERROR ? 0 : rc);
        return;
    }

    /* everything is up: wait for the rest of the response header (some
     * of it may have come already) */
    p->request_done = 1;
    fy_timer_del(&uc->write);
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_proxy_check_client;
    uc->write.handler = fy_event_ignore;
    fy_timer_add(&uc->read, (uint64_t) lcf->proxy_read_timeout);

    if (uc->read.ready) {
        fy_proxy_read_header(&uc->read);
    }
}

/*
 * The response header came before the whole request went up: a server
 * may answer early, typically to refuse a body (401, 413), and close
 * without reading the rest (RFC 9112 9.5).  Sending stops here.  The
 * upstream connection did not get a complete request, so it is not
 * kept (keep_conn), and the request is not tried again anywhere
 * (p->early: the server has decided on it).  The rest of the client's
 * body is never read: unless it has all been read already, the client
 * connection closes after the response, through lingering_close, which
 * reads the rest away so that the client gets the response rather
 * than a reset.
 */
void
fy_proxy_send_stop(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_conn_t          *c = r->hc->c;

    fy_log_debug("upstream answered before the request was sent whole, "
                 "sending stops" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    p->early = 1;
    p->keep_conn = 0;
    if (r->body_rest || r->chunked) {
        r->keepalive = 0;
    }
    fy_timer_del(&p->uc->write);
    p->uc->write.handler = fy_event_ignore;
    fy_timer_del(&c->read);
    c->read.handler = fy_proxy_check_client;
}

/* A client that closes while we wait for the upstream: nginx's
 * "client prematurely closed connection" (status 499 in its logs). */
void
fy_proxy_check_client(fy_event_t *rev)
{
    fy_conn_t        *c = rev->data;
    fy_http_conn_t   *hc = c->data;

    if (!fy_http_client_closed(rev)) {
        return;
    }
    if (hc->r && hc->r->proxy && hc->r->proxy->cache
        && hc->r->proxy->cache->bg)
    {
        /* a background cache update: the client has its answer, and the
         * update is for the cache, so it goes on (as nginx's upstream
         * does not stop a response it caches); the connection closes
         * when it is over */
        return;
    }
    if (hc->r && (hc->r->mirror_finalize || hc->r->post_action_finalize)) {
        return;     /* answered: its mirrors, its post_action end first
                       (nginx) */
    }
    if (hc->r && hc->r->loc->proxy_ignore_client_abort == 1) {
        /* the upstream gets to answer; writing that answer fails then
         * and ends the request (nginx) */
        fy_log_debug("client %s closed connection while waiting for "
                     "upstream, proxy_ignore_client_abort on",
                     hc->addr_text);
        return;
    }
    fy_log_error(FY_LOG_INFO, 0, "client %s prematurely closed "
                 "connection while waiting for upstream", hc->addr_text);
    if (hc->r && !hc->r->header_sent) {
        hc->r->status = 499;    /* nginx's code for this, in the log */
    }
    fy_http_close_connection(hc);
}

/*
 * $request_body: the body as the upstream got it (decoded from chunked),
 * once the client sent all of it and when it fitted
 * client_body_buffer_size, the buffer it went through: as nginx, whose
 * body past that size goes to a temporary file and leaves the variable
 * empty.  ferry reads the body while the request goes up, so the value
 * is there for the access log and what is evaluated after the body (not
 * for proxy_set_header: the header goes up before the body is read).
 */
size_t
fy_http_proxy_var_request_body(fy_http_request_t *r, u_char *buf,
                               size_t size)
{
    fy_http_proxy_t  *p = r->proxy;
    size_t            n;

    if (p == NULL || !p->body_done || p->body_lost
        || p->body.start == NULL)
    {
        return 0;
    }
    n = (size_t) (p->body.last - p->body.start);
    if (buf) {
        memcpy(buf, p->body.start, fy_min(n, size));
    }
    return n;
}
