/*
 * fy_http_body_read.c -- a request body read whole before the request
 * goes on: mirror's copy in memory (fy_http_mirror.c), WebDAV's PUT to
 * a file (fy_http_dav_put.c).  (The proxy streams a body up as it comes
 * instead: fy_http_proxy_send.c.)
 *
 * The bytes come from a buffer first (those that came with the header
 * in hc->in, or the whole body mirror already holds), then from the
 * socket, into the room the reader offers; a chunked body is decoded
 * (client_max_body_size checked as each chunk starts, nginx's
 * messages), and every piece of the body goes to the reader's piece().
 * Bytes after a chunked body's end are the next request's: they go
 * back to hc->in.  Between two reads the wait is client_body_timeout.
 * A failure (the client gone or timed out, a bad or too large body, a
 * piece() that refused) answers or closes here; the reader's done()
 * runs only when the body is all there.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"
#include "fy_shm.h"

static int fy_http_body_read_some(fy_http_request_t *r);
static void fy_http_body_read_handler(fy_event_t *rev);
static void fy_http_body_read_end(fy_http_request_t *r, int rc);

void
fy_http_body_read(fy_http_request_t *r, fy_buf_t *from,
                  const fy_http_body_reader_t *br)
{
    r->body_reader = br;
    r->body_from = from;
    fy_http_body_read_end(r, fy_http_body_read_some(r));
}

/* Decode the chunked bytes of in to the reader: FY_OK (want more),
 * FY_DONE, or a status (logged). */
static int
fy_http_body_dechunk(fy_http_request_t *r, fy_buf_t *in)
{
    fy_http_chunked_t  *c = &r->chunked_body;
    size_t              max = r->loc->client_max_body_size;
    int                 rc, st;

    for ( ;; ) {
        rc = fy_http_parse_chunked(c, in);
        if (rc == FY_OK) {
            st = r->body_reader->piece(r, c->data, c->len);
            if (st != FY_OK) {
                return st;
            }
            r->body_received += c->len;
        } else if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        } else if (rc != FY_AGAIN) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body, "
                         "client %s", r->hc->addr_text);
            return 400;
        }
        if (max && r->body_received + c->size > max) {
            fy_log_error(FY_LOG_ERR, 0, "client intended to send too large "
                         "chunked body: %llu+%llu bytes, client %s",
                         (unsigned long long) r->body_received,
                         (unsigned long long) c->size, r->hc->addr_text);
            return 413;
        }
        if (rc == FY_AGAIN) {
            return FY_OK;
        }
    }
}

/* As much of the body as there is: FY_DONE, FY_AGAIN, FY_ERROR (the
 * client is gone; logged) or a status to answer (logged). */
static int
fy_http_body_read_some(fy_http_request_t *r)
{
    const fy_http_body_reader_t  *br = r->body_reader;
    fy_http_conn_t               *hc = r->hc;
    fy_buf_t                     *src = r->body_from, in;
    u_char                       *buf;
    size_t                        size, k;
    ssize_t                       n;
    int                           rc;

    for ( ;; ) {
        if (!r->chunked) {
            if (r->body_rest == 0) {
                return FY_DONE;
            }
            k = fy_min(fy_buf_size(src), r->body_rest);
            if (k) {
                rc = br->piece(r, src->pos, k);
                src->pos += k;
                n = (ssize_t) k;
            } else {
                rc = br->room(r, &buf, &size);
                if (rc != FY_OK) {
                    return rc;
                }
                n = fy_conn_recv(hc->c, buf, (size_t)
                                 fy_min((uint64_t) size, r->body_rest));
                if (n <= 0) {
                    goto failed;
                }
                fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
                rc = br->piece(r, buf, (size_t) n);
            }
            r->body_rest -= (uint64_t) n;
            r->body_received += (uint64_t) n;
            r->request_length += (uint64_t) n;
            if (rc != FY_OK) {
                return rc;
            }
            continue;
        }

        if (fy_buf_size(src)) {
            in = *src;
            rc = fy_http_body_dechunk(r, &in);
            r->request_length += (uint64_t) (in.pos - src->pos);
            src->pos = in.pos;
        } else {
            /* piece() may find the decoded bytes in its own room (the
             * data only moves down) */
            rc = br->room(r, &buf, &size);
            if (rc != FY_OK) {
                return rc;
            }
            n = fy_conn_recv(hc->c, buf, size);
            if (n <= 0) {
                goto failed;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            in.start = in.pos = buf;
            in.last = in.end = buf + n;
            rc = fy_http_body_dechunk(r, &in);
            r->request_length += (uint64_t) (in.pos - in.start);
            if (rc == FY_DONE && in.pos < in.last) {
                /* what follows the body is the next request's */
                k = (size_t) (in.last - in.pos);
                if (fy_http_in_room(r, k) != FY_OK) {
                    return 500;
                }
                memcpy(hc->in.last, in.pos, k);
                hc->in.last += k;
            }
        }
        if (rc != FY_OK) {
            return rc;
        }
    }

failed:

    if (n == FY_AGAIN) {
        return FY_AGAIN;
    }
    fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely closed "
                 "connection while reading client request body, client %s",
                 hc->addr_text);
    return FY_ERROR;
}

static void
fy_http_body_read_handler(fy_event_t *rev)
{
    fy_conn_t          *c = rev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;

    if (rev->timedout) {
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body, client %s",
                     hc->addr_text);
        /* nginx sends nothing when it resets (reset_timedout_connection) */
        fy_http_body_read_end(r, fy_http_reset_timedout(hc) ? FY_ERROR : 408);
        return;
    }
    fy_http_body_read_end(r, fy_http_body_read_some(r));
}

/* What reading came to: wait for more, answer the error (the body is
 * not there: nothing of it is sent anywhere, and the connection does
 * not go on), or the reader's done(). */
static void
fy_http_body_read_end(fy_http_request_t *r, int rc)
{
    fy_http_conn_t  *hc = r->hc;

    if (rc == FY_AGAIN) {
        hc->c->read.handler = fy_http_body_read_handler;
        fy_timer_add(&hc->c->read, (uint64_t) r->loc->client_body_timeout);
        return;
    }
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;

    if (rc == FY_DONE) {
        r->body_reader->done(r);
        return;
    }
    r->body_mem.pos = r->body_mem.last;
    r->body_rest = 0;
    r->chunked = 0;
    r->keepalive = 0;
    if (rc == FY_ERROR) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_send_error(r, rc);
}
