/*
 * fy_http_proxy_relay.c -- the response body on its way down, once
 * fy_http_proxy_response.c has sent the header: framing followed
 * (fy_proxy_scan), pieces moved to the client as they are or through
 * sub_filter and / or gzip, read-ahead into proxy_buffers while the
 * client is slow, and the upstream connection released (kept or
 * closed) when the body ends.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_worker.h"
#include "fy_shm.h"
#include "fy_http_cache.h"

/* Upstream bytes compressed for one client before the worker's other
 * connections get a turn: compressing costs far more than copying, and
 * a fast upstream with a fast client would otherwise keep the loop. */
#define FY_PROXY_GZIP_TURN  (256 * 1024)

static void fy_proxy_finish(fy_http_proxy_t *p);
static int fy_proxy_body_piece(fy_http_proxy_t *p, u_char **start,
    size_t *len);
static int fy_proxy_next_piece(fy_http_proxy_t *p);
static int fy_proxy_gzip_piece(fy_http_proxy_t *p);
static int fy_proxy_gzip_out(fy_http_proxy_t *p);
static int fy_proxy_sub_piece(fy_http_proxy_t *p);
static int fy_proxy_head_piece(fy_http_proxy_t *p);
static void fy_proxy_ahead_free(void *data);
static void fy_proxy_discard_handler(fy_event_t *rev);
static void fy_proxy_read_ahead(fy_http_proxy_t *p);
static int fy_proxy_rate_recv(fy_http_proxy_t *p, fy_buf_t *b);

/* The response is complete (or, for BODY_NONE, had no body). */
static void
fy_proxy_finish(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    fy_str_t            last;

    p->finished = 1;
    fy_proxy_release_upstream(p);

    if (p->out == FY_PROXY_OUT_CHUNK && !p->last_out) {
        /* the terminating chunk, once; add_trailer's fields in it */
        p->last_out = 1;
        p->body_type = FY_PROXY_BODY_NONE;
        if (fy_http_trailers_last_chunk(r, 0, &last) != FY_OK) {
            fy_http_close_connection(hc);
            return;
        }
        hc->out[0].iov_base = last.data;
        hc->out[0].iov_len = last.len;
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
void
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

    if (p->finished) {
        /* this was the terminating chunk */
        r->hc->c->read.handler = fy_event_ignore;
        fy_http_finalize(r, 0);
        return;
    }
    fy_proxy_relay(p);
}

/*
 * Take the next piece of body from p->buf: *start, *len, as it goes to
 * the client (chunks and all when passed through raw).  Returns FY_OK,
 * FY_AGAIN when the buffer holds nothing to send, FY_DONE when the body
 * is complete, FY_ERROR on a broken chunked body.
 */
static int
fy_proxy_body_piece(fy_http_proxy_t *p, u_char **piece, size_t *piece_len)
{
    u_char          *start = p->buf.pos;
    size_t           len;
    int              rc;

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
        if (p->out != FY_PROXY_OUT_RAW) {
            /* the data alone: for an HTTP/1.0 client, or re-chunked */
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

    *piece = start;
    *piece_len = len;
    return FY_OK;
}

/* Move the next piece of p->buf to the client: FY_OK when it was
 * queued in hc->out, else as fy_proxy_body_piece. */
static int
fy_proxy_next_piece(fy_http_proxy_t *p)
{
    fy_http_conn_t  *hc = p->r->hc;
    u_char          *start;
    size_t           len;
    int              rc, i = 0;

    rc = fy_proxy_body_piece(p, &start, &len);
    while (rc == FY_OK && p->ranged) {
        /* proxy_force_ranges: the range's part of the piece; a piece
         * wholly outside it is dropped, the next taken */
        len = fy_proxy_range_trim(p, &start, len);
        if (len) {
            break;
        }
        rc = fy_proxy_body_piece(p, &start, &len);
    }
    if (rc != FY_OK) {
        return rc;
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

/* proxy_cache_convert_head: the body of a HEAD's answer, asked for
 * with GET, is read to its end (fy_proxy_scan stores it) and none of
 * it is queued: FY_AGAIN for more, FY_DONE, FY_ERROR; the header goes
 * alone (fy_proxy_relay). */
static int
fy_proxy_head_piece(fy_http_proxy_t *p)
{
    u_char  *start;
    size_t   len;
    int      rc;

    do {
        rc = fy_proxy_body_piece(p, &start, &len);
    } while (rc == FY_OK);
    return rc;
}

/*
 * The same with gzip between body and client: pieces go into the
 * compressor, and what comes out is queued.  A piece stays in p->buf
 * until the compressor has taken all of it, and nothing more is read
 * from the upstream while compressed output waits for the client, so
 * memory stays at p->buf plus the compressor's.
 */
static int
fy_proxy_gzip_piece(fy_http_proxy_t *p)
{
    u_char          *start;
    size_t           len;
    int              rc;

    for ( ;; ) {
        if (fy_http_gzip_done(p->gzip)) {
            return FY_DONE;
        }
        if (!fy_http_gzip_wants_input(p->gzip)) {
            rc = fy_proxy_gzip_out(p);
            if (rc != 0) {
                return rc > 0 ? FY_OK : FY_ERROR;
            }
            continue;
        }
        rc = fy_proxy_body_piece(p, &start, &len);
        if (rc == FY_OK) {
            fy_http_gzip_input(p->gzip, start, len);
        } else if (rc == FY_DONE) {
            fy_http_gzip_finish(p->gzip);
        } else {
            return rc;
        }
    }
}

/* Queue gzip's next output (after the response header if that has not
 * gone yet): 1 when queued, 0 when there is none now, -1 when zlib
 * failed. */
static int
fy_proxy_gzip_out(fy_http_proxy_t *p)
{
    fy_http_conn_t  *hc = p->r->hc;
    int              i = 0, n;

    n = fy_http_gzip_deflate(p->gzip, hc->out + (p->hdr.iov_len ? 1 : 0));
    if (n <= 0) {
        return n < 0 ? -1 : 0;
    }
    if (p->hdr.iov_len) {
        hc->out[i++] = p->hdr;
        p->hdr.iov_len = 0;
    }
    hc->nout = i + n;
    return 1;
}

/*
 * sub_filter between body and client (and gzip): pieces go into the
 * matcher, its output to the client as one chunk each (or as it is to
 * an HTTP/1.0 client), or into the compressor.  As with gzip a piece
 * stays in p->buf until the matcher has used all of it, and the
 * matcher's buffer until the client or the compressor has taken it.
 */
static int
fy_proxy_sub_piece(fy_http_proxy_t *p)
{
    fy_http_conn_t  *hc = p->r->hc;
    fy_str_t         last;
    u_char          *start;
    size_t           len;
    int              rc, i = 0;

    for ( ;; ) {
        if (p->gzip) {
            if (fy_http_gzip_done(p->gzip)) {
                return FY_DONE;
            }
            if (!fy_http_gzip_wants_input(p->gzip)) {
                rc = fy_proxy_gzip_out(p);
                if (rc != 0) {
                    return rc > 0 ? FY_OK : FY_ERROR;
                }
                continue;
            }
        }
        if (fy_http_sub_stream_done(p->sub)) {
            if (p->gzip) {
                fy_http_gzip_finish(p->gzip);
                continue;
            }
            if (fy_http_sub_chunked(p->r) && !p->sub_last) {
                p->sub_last = 1;
                if (p->hdr.iov_len) {
                    hc->out[i++] = p->hdr;
                    p->hdr.iov_len = 0;
                }
                /* the last chunk, add_trailer's fields in it */
                if (fy_http_trailers_last_chunk(p->r, 0, &last) != FY_OK) {
                    return FY_ERROR;
                }
                hc->out[i].iov_base = last.data;
                hc->out[i].iov_len = last.len;
                hc->nout = i + 1;
                return FY_OK;
            }
            return FY_DONE;
        }
        if (!fy_http_sub_stream_wants_input(p->sub)) {
            if (!fy_http_sub_stream_out(p->sub, &start, &len)) {
                continue;
            }
            if (p->gzip) {
                fy_http_gzip_input(p->gzip, start, len);
                continue;
            }
            if (p->hdr.iov_len) {
                hc->out[i++] = p->hdr;
                p->hdr.iov_len = 0;
            }
            if (fy_http_sub_chunked(p->r)) {
                hc->out[i].iov_base = p->chunk_hdr;
                hc->out[i++].iov_len = (size_t) snprintf(p->chunk_hdr,
                                                         sizeof(p->chunk_hdr),
                                                         "%zx\r\n", len);
            }
            hc->out[i].iov_base = start;
            hc->out[i++].iov_len = len;
            if (fy_http_sub_chunked(p->r)) {
                hc->out[i].iov_base = (char *) "\r\n";
                hc->out[i++].iov_len = 2;
            }
            hc->nout = i;
            return FY_OK;
        }
        rc = fy_proxy_body_piece(p, &start, &len);
        if (rc == FY_OK) {
            fy_http_sub_stream_input(p->sub, start, len);
        } else if (rc == FY_DONE) {
            fy_http_sub_stream_finish(p->sub);
        } else {
            return rc;
        }
    }
}

void
fy_proxy_relay(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    size_t              turn = 0;
    int                 rc;

    for ( ;; ) {
        rc = p->head_get ? fy_proxy_head_piece(p)
             : p->sub ? fy_proxy_sub_piece(p)
             : p->gzip ? fy_proxy_gzip_piece(p) : fy_proxy_next_piece(p);

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
                /* the client is slow: read ahead of it if buffering,
                 * else leave the upstream waiting */
                fy_proxy_read_ahead(p);
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

        /* FY_AGAIN: the buffer is used up; the oldest one read ahead
         * takes its place, or more is read into it.  A compressed
         * response gets FY_PROXY_GZIP_TURN bytes per loop turn while
         * the upstream is still read (after that, what is left is
         * bounded by proxy_buffers). */
        if (p->gzip && p->uc && turn >= FY_PROXY_GZIP_TURN) {
            /* the others' turn; on in 1 ms (fy_proxy_relay_read) */
            p->yielded = 1;
            p->uc->read.handler = fy_proxy_relay_read;
            fy_timer_add(&p->uc->read, 1);
            return;
        }
        fy_buf_reset(&p->buf);
        if (p->ahead_count) {
            fy_buf_t  *b = &p->ahead[p->ahead_head], tmp;

            tmp = p->buf;
            p->buf = *b;
            *b = tmp;
            p->ahead_head = (p->ahead_head + 1) % r->loc->proxy_buffers_num;
            p->ahead_count--;
            turn += fy_buf_size(&p->buf);
            continue;
        }

        rc = fy_proxy_rate_recv(p, &p->buf);
        if (rc == FY_OK) {
            turn += fy_buf_size(&p->buf);
            continue;
        }
        if (rc == FY_AGAIN || rc == FY_DECLINED) {
            if (p->gzip && fy_http_gzip_holds(p->gzip)) {
                /* the upstream pauses: what is compressed goes now */
                fy_http_gzip_flush(p->gzip);
                continue;
            }
            if (rc == FY_DECLINED) {
                return;         /* proxy_limit_rate: on at its timer */
            }
            p->uc->read.handler = fy_proxy_relay_read;
            fy_timer_add(&p->uc->read, (uint64_t) r->loc->proxy_read_timeout);
            return;
        }
        if (rc == FY_DONE && p->body_type == FY_PROXY_BODY_CLOSE
            && (p->gzip || p->sub))
        {
            /* the compressor or the matcher ends it */
            p->body_type = FY_PROXY_BODY_NONE;
            continue;
        }
        if (rc == FY_DONE && p->body_type == FY_PROXY_BODY_CLOSE) {
            p->body_type = p->out == FY_PROXY_OUT_CHUNK
                           ? FY_PROXY_BODY_CLOSE : FY_PROXY_BODY_NONE;
            fy_proxy_finish(p);
            return;
        }
        /* closed too early (logged) */
        fy_proxy_fail(p, 502);
        return;
    }
}

/*
 * Where the upstream's body ends, followed on every byte read from it
 * (the relay's own parse runs later, when the client takes the bytes):
 * once it is read to its end the upstream connection can go, cached
 * or closed, however slow the client.  Bytes after the end make the
 * connection unfit for another request.
 */
static void
fy_proxy_scan_body(fy_http_proxy_t *p, u_char *start, u_char *end)
{
    fy_buf_t  b;
    size_t    n;
    int       rc;

    if (p->up_done) {
        p->up_extra |= end > start;
        return;
    }

    switch (p->body_type) {

    case FY_PROXY_BODY_NONE:
        p->up_done = 1;
        p->up_extra = end > start;
        return;

    case FY_PROXY_BODY_LENGTH:
        n = (size_t) fy_min((uint64_t) (end - start), p->scan_rest);
        if (p->memc) {
            fy_http_memcached_trailer(p, start, n);
        }
        if (p->cache && p->cache->storing) {
            fy_http_cache_store_body(p, start, n);
        }
        if (p->store) {
            fy_proxy_store_body(p, start, n);
        }
        p->scan_rest -= n;
        if (p->scan_rest == 0) {
            p->up_done = 1;
            p->up_extra = (size_t) (end - start) > n;
        } else if (p->fcgi && p->fcgi->parser.ended) {
            p->up_done = 1;     /* END_REQUEST before the length */
            p->up_failed = 1;
        }
        return;

    case FY_PROXY_BODY_CHUNKED:
        b.start = b.pos = start;
        b.last = b.end = end;
        do {
            rc = fy_http_parse_chunked(&p->scan_chunked, &b);
            if (rc == FY_OK && p->cache && p->cache->storing) {
                fy_http_cache_store_body(p, p->scan_chunked.data,
                                         p->scan_chunked.len);
            }
            if (rc == FY_OK && p->store) {
                fy_proxy_store_body(p, p->scan_chunked.data,
                                    p->scan_chunked.len);
            }
        } while (rc == FY_OK);
        if (rc == FY_DONE) {
            p->up_done = 1;
            p->up_extra = b.pos < end;
        } else if (rc != FY_AGAIN) {
            /* the relay reports it when it gets there; read no more */
            p->up_done = 1;
            p->up_failed = 1;
        }
        return;

    default: /* FY_PROXY_BODY_CLOSE: only the close ends it, or
              * FastCGI's END_REQUEST (the connection may stay open) */
        if (p->cache && p->cache->storing) {
            fy_http_cache_store_body(p, start, (size_t) (end - start));
        }
        if (p->store) {
            fy_proxy_store_body(p, start, (size_t) (end - start));
        }
        if (p->fcgi && p->fcgi->parser.ended) {
            p->up_done = 1;
        }
        return;
    }
}

void
fy_proxy_scan(fy_http_proxy_t *p, u_char *start, u_char *end)
{
    fy_proxy_scan_body(p, start, end);
    if (p->store && p->up_done) {
        fy_proxy_store_end(p);      /* proxy_store: in place, or removed */
    }
}

/* The upstream is done with this response: its connection goes back to
 * the cache when the response was read exactly to its end, else it is
 * closed. */
void
fy_proxy_release_upstream(fy_http_proxy_t *p)
{
    fy_conn_t  *uc = p->uc;

    if (p->cache && p->up_done) {
        /* all of the response is read: its entry goes in place */
        fy_http_cache_store_end(p);
    }
    if (uc == NULL) {
        return;
    }
    if (p->stats) {
        fy_http_peer_response_time(p->stats, fy_current_msec - p->start);
    }
    fy_proxy_timed(p, FY_PROXY_T_RESPONSE);
    if (p->u->keepalive && p->framed && p->up_done && !p->up_extra
        && !p->up_failed && (p->fcgi == NULL || fy_http_fastcgi_ended(p)))
    {
        p->uc = NULL;
        fy_shm_add(p->stats->active, (uint64_t) -1);
        p->stats = NULL;
        fy_timer_del(&uc->read);
        fy_http_upcache_put(p->u, p->peer_index, uc, p->uc_requests + 1);
        return;
    }
    fy_proxy_close_upstream(p);
}

/* Read body bytes from the upstream into b's free space, max at most
 * (no further than the body's end when it has a length).  FY_OK,
 * FY_AGAIN, FY_DONE (nothing more will come: the response is read, or
 * the upstream closed), FY_ERROR (it closed too early or failed;
 * logged). */
static int
fy_proxy_up_read(fy_http_proxy_t *p, fy_buf_t *b, size_t max)
{
    fy_conn_t  *uc = p->uc;
    size_t      size;
    ssize_t     n;

    if (p->up_done) {
        return p->up_failed ? FY_ERROR : FY_DONE;
    }
    if (!uc->read.ready) {
        return FY_AGAIN;    /* drained by a short read: wait for the edge */
    }
    size = fy_min(fy_buf_free(b), max);
    if (p->body_type == FY_PROXY_BODY_LENGTH && p->fcgi == NULL) {
        size = (size_t) fy_min((uint64_t) size, p->scan_rest);
    }

    /* recv(), or SSL_read()s from an https upstream, which also read
     * until the buffer is full or the socket dry; FastCGI's records
     * decoded (what is left is less than was read) */
    n = p->fcgi ? fy_http_fastcgi_recv(p, b->last, size)
                : fy_conn_recv(uc, b->last, size);
    if (n > 0) {
        if ((size_t) n < size && !uc->read.eof && p->fcgi == NULL) {
            uc->read.ready = 0;
        }
        fy_shm_add(p->stats->bytes_in, (uint64_t) n);
        fy_proxy_count(p, 1, (uint64_t) n);
        fy_proxy_scan(p, b->last, b->last + n);
        b->last += n;
        if (p->up_done) {
            fy_proxy_release_upstream(p);
        }
        return FY_OK;
    }
    if (n == FY_AGAIN) {
        return FY_AGAIN;
    }

    p->up_done = 1;
    if (n == 0 && p->body_type == FY_PROXY_BODY_CLOSE) {
        if (p->store) {
            fy_proxy_store_end(p);      /* the close ended the body */
        }
        fy_proxy_release_upstream(p);
        return FY_DONE;
    }
    fy_log_error(FY_LOG_ERR, n == 0 ? 0 : errno, "upstream prematurely "
                 "closed connection while reading upstream"
                 FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    p->up_failed = 1;
    fy_proxy_close_upstream(p);
    return FY_ERROR;
}

int
fy_proxy_up_recv(fy_http_proxy_t *p, fy_buf_t *b)
{
    return fy_proxy_up_read(p, b, SIZE_MAX);
}

/*
 * The relay's reads from the upstream, paced by proxy_limit_rate
 * (fastcgi_, uwsgi_, scgi_limit_rate) when the response is buffered,
 * as nginx paces them: by the time t seconds (whole ones) have passed
 * since the body's first read, rate * (t + 1) bytes may have been
 * read.  Beyond that the read waits on the upstream's read timer, as a
 * pause (p->yielded), not a timeout.  As fy_proxy_up_recv, and
 * FY_DECLINED: paused, the timer set.  Without a limit: one test.
 */
static int
fy_proxy_rate_recv(fy_http_proxy_t *p, fy_buf_t *b)
{
    size_t    rate = p->r->loc->proxy_limit_rate;
    uint64_t  allowed;
    u_char   *last = b->last;
    int       rc;

    if (rate == 0 || !p->buffering || p->up_done) {
        return fy_proxy_up_recv(p, b);
    }
    if (p->rate_start == 0) {
        p->rate_start = fy_current_msec;
    }
    allowed = (uint64_t) rate
              * ((fy_current_msec - p->rate_start) / 1000 + 1);
    if (allowed <= p->rate_read) {
        /* on at the next whole second */
        p->yielded = 1;
        p->uc->read.handler = fy_proxy_relay_read;
        fy_timer_add(&p->uc->read, 1000 - (fy_current_msec - p->rate_start)
                                          % 1000);
        return FY_DECLINED;
    }
    rc = fy_proxy_up_read(p, b, (size_t) (allowed - p->rate_read));
    p->rate_read += (uint64_t) (b->last - last);
    return rc;
}

/*
 * A subrequest's answer (fy_proxy_subrequest_done): the rest of its
 * body is read and thrown away, through the header's buffer (which
 * nothing needs any more), within the location's proxy_read_timeout;
 * the upstream connection then goes back to the keepalive cache like
 * any read to its end, and the subrequest ends with the status.  An
 * SSI include's body (r->capture) is kept; so is an SSI page's, the
 * client's own request's (fy_http_proxy_ssi.c), which is answered once
 * processed.
 */
void
fy_proxy_discard(fy_http_proxy_t *p)
{
    fy_http_capture_t  *cap = p->r->capture;
    int                 rc;

    p->uc->read.handler = fy_proxy_discard_handler;
    p->uc->write.handler = fy_event_ignore;
    do {
        p->buf.pos = p->buf.last = p->buf.start;
        rc = fy_proxy_up_recv(p, &p->buf);
        if (rc == FY_OK && cap
            && fy_http_capture_add(p->r->pool, cap, p->buf.pos,
                                   p->buf.last - p->buf.pos) != FY_OK)
        {
            rc = FY_ERROR;
        }
    } while (rc == FY_OK);

    if (rc == FY_AGAIN) {
        fy_timer_add(&p->uc->read, (uint64_t) p->r->loc->proxy_read_timeout);
        return;
    }
    /* read to its end (the connection released) or failed (closed) */
    if (p->r->parent == NULL) {
        /* ssi over a proxied page (fy_http_proxy_ssi.c) */
        fy_proxy_ssi_page(p, rc != FY_ERROR && fy_proxy_capture_end(p)
                                               == FY_OK);
        return;
    }
    if (cap && (rc == FY_ERROR || fy_proxy_capture_end(p) != FY_OK)) {
        fy_http_subrequest_done(p->r, 502);     /* the body is not whole */
        return;
    }
    fy_http_subrequest_done(p->r, p->r->status);
}

/*
 * ssi's include (r->capture): the body as it came, now whole, is
 * decoded in place when it was chunked.  FY_ERROR: a broken chunk.
 */
int
fy_proxy_capture_end(fy_http_proxy_t *p)
{
    fy_http_capture_t  *cap = p->r->capture;
    fy_http_chunked_t   c;
    fy_buf_t            b;
    u_char             *to;
    int                 rc;

    if (p->body_type != FY_PROXY_BODY_CHUNKED || cap->too_big) {
        return FY_OK;
    }
    memset(&c, 0, sizeof(c));
    b.start = b.pos = cap->data;
    b.last = b.end = cap->data + cap->len;
    to = cap->data;
    for ( ;; ) {
        rc = fy_http_parse_chunked(&c, &b);
        if (rc == FY_OK) {
            memmove(to, c.data, c.len);     /* to <= c.data: in place */
            to += c.len;
            continue;
        }
        if (rc != FY_DONE) {
            return FY_ERROR;
        }
        cap->len = to - cap->data;
        return FY_OK;
    }
}

static void
fy_proxy_discard_handler(fy_event_t *rev)
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
    fy_proxy_discard(p);
}

static void
fy_proxy_ahead_free(void *data)
{
    fy_http_proxy_t  *p = data;
    unsigned          i;

    for (i = 0; i < p->r->loc->proxy_buffers_num; i++) {
        fy_buf_release(&p->ahead[i]);
    }
}

/*
 * proxy_buffering: the client is slow, so read the upstream ahead into
 * up to proxy_buffers buffers (allocated when first needed) while it
 * has something to say, so that it is done sooner.  Memory stays
 * within proxy_buffer_size + proxy_buffers; once they are all full the
 * upstream waits for the client, as without buffering.  Problems are
 * only noted (p->up_failed): the relay reports them in their turn,
 * after the bytes read before them.
 */
static void
fy_proxy_read_ahead(fy_http_proxy_t *p)
{
    fy_http_loc_conf_t  *lcf = p->r->loc;
    fy_buf_t            *b;
    unsigned             num = lcf->proxy_buffers_num;
    int                  rc, fresh;

    if (!p->buffering || p->up_done) {
        return;
    }
    if (p->ahead == NULL) {
        p->ahead = fy_pcalloc(p->r->pool, num * sizeof(fy_buf_t));
        if (p->ahead == NULL
            || fy_pool_cleanup_add(p->r->pool, fy_proxy_ahead_free, p)
               != FY_OK)
        {
            p->ahead = NULL;
            p->buffering = 0;
            return;
        }
    }

    while (!p->up_done) {
        /* the newest buffer while it has room, else the next free one */
        b = &p->ahead[(p->ahead_head + p->ahead_count + num - 1) % num];
        fresh = p->ahead_count == 0 || fy_buf_free(b) == 0;
        if (fresh) {
            if (p->ahead_count == num) {
                /* all full: the upstream is not waited for now */
                fy_timer_del(&p->uc->read);
                return;
            }
            b = &p->ahead[(p->ahead_head + p->ahead_count) % num];
            if (b->start == NULL
                && fy_buf_alloc(b, lcf->proxy_buffers_size) != FY_OK)
            {
                return;
            }
            fy_buf_reset(b);
        }

        rc = fy_proxy_rate_recv(p, b);
        if (rc != FY_OK) {
            if (rc == FY_AGAIN) {
                p->uc->read.handler = fy_proxy_relay_read;
                fy_timer_add(&p->uc->read, (uint64_t) lcf->proxy_read_timeout);
            }
            return;
        }
        if (fresh) {
            p->ahead_count++;
        }
    }
}

void
fy_proxy_relay_read(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;

    if (rev->timedout && !p->yielded) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "reading upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_fail(p, 504);
        return;
    }
    rev->timedout = 0;
    p->yielded = 0;
    fy_timer_del(rev);
    /* a write to the client still in progress resumes the relay
     * itself; meanwhile the upstream may be read ahead */
    if (p->r->hc->nout) {
        fy_proxy_read_ahead(p);
        return;
    }
    fy_proxy_relay(p);
}
