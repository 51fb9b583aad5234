/*
 * fy_http_lingering.c -- closing a client connection whose client may
 * still be sending: lingering_close, lingering_time, lingering_timeout.
 *
 * close() on a socket with unread bytes makes the kernel answer with a
 * reset instead of a FIN, and a client that gets the reset before it
 * has read the response may lose the response with it (RFC 9112 9.6):
 * the 413 to an upload still under way, the answer to the last request
 * a connection may carry when the client has pipelined more.  So, as
 * nginx does, the write side is shut first (the response, then a FIN)
 * and what the client still sends is read and dropped until it closes
 * its side, is silent for lingering_timeout, or lingering_time has
 * passed since the response; then the socket is closed.
 *
 * A lingering connection is on the idle list: a worker that stops
 * gracefully closes it at once instead of handing it back.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"
#include "fy_worker.h"
#include "fy_shm.h"

/* Bytes read (and dropped) per call before the other connections get
 * a turn: a client that sends as fast as we read must not keep the
 * loop.  What is read goes to a buffer all lingering connections
 * share, since nothing of it is kept (nginx reads 4 KiB at a time). */
#define FY_HTTP_LINGERING_BUF   4096
#define FY_HTTP_LINGERING_TURN  (64 * 1024)

const fy_conf_enum_t  fy_http_lingering_values[] = {
    { "off",    FY_HTTP_LINGERING_OFF },
    { "on",     FY_HTTP_LINGERING_ON },
    { "always", FY_HTTP_LINGERING_ALWAYS },
    { NULL, 0 }
};

static void fy_http_lingering_handler(fy_event_t *rev);

int
fy_http_lingering_wanted(fy_http_request_t *r)
{
    fy_http_conn_t  *hc = r->hc;

    switch (fy_http_req_loc(r)->lingering_close) {
    case FY_HTTP_LINGERING_OFF:
        return 0;
    case FY_HTTP_LINGERING_ALWAYS:
        return 1;
    }
    /* "on": when more is likely on its way, as nginx judges it: a body
     * not read to its end, bytes already read past this request (a
     * pipelined one), or a socket that may hold more than was read */
    return r->body_rest || r->chunked || r->body_dropped
           || (hc->in.start && fy_buf_size(&hc->in))
           || hc->c->read.ready;
}

void
fy_http_lingering_start(fy_http_conn_t *hc, int64_t time, int64_t timeout)
{
    fy_conn_t  *c = hc->c;

    fy_buf_release(&hc->in);
    fy_timer_del(&c->write);
    c->write.handler = fy_event_ignore;

    /* TLS: close_notify now, while the socket can still send; what the
     * client sends after it is read raw and dropped, never decrypted */
    fy_tls_conn_free(c);
    c->read_on_write = 0;
    c->write_on_read = 0;

    if (shutdown(c->fd, SHUT_WR) == -1) {
        /* the client is gone already (ENOTCONN): nothing to wait for */
        fy_http_close_connection(hc);
        return;
    }

    hc->lingering = 1;
    hc->linger_until = fy_current_msec + (uint64_t) time;
    hc->linger_timeout = (uint64_t) timeout;
    c->read.handler = fy_http_lingering_handler;
    fy_timer_add(&c->read, (uint64_t) fy_min(timeout, time));
    fy_http_idle_add(hc);

    /* What is in the socket already is read in the posted run: edge-
     * triggered epoll will not report it again, and after TLS `ready`
     * may say nothing of the raw socket (OpenSSL's read-ahead buffer,
     * just freed, held what it knew). */
    c->read.ready = 1;
    fy_event_post(&c->read);
}

static void
fy_http_lingering_handler(fy_event_t *rev)
{
    static u_char    buf[FY_HTTP_LINGERING_BUF];
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;
    size_t           turn = 0;
    ssize_t          n;

    if (rev->timedout || fy_current_msec >= hc->linger_until) {
        fy_http_close_connection(hc);
        return;
    }

    do {
        n = fy_conn_recv(c, buf, sizeof(buf));
        if (n == FY_AGAIN) {
            break;
        }
        if (n <= 0) {
            /* the client closed its side (or reset): done */
            fy_http_close_connection(hc);
            return;
        }
        fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
        turn += (size_t) n;
        if (turn >= FY_HTTP_LINGERING_TURN && rev->ready) {
            /* the others' turn; this one goes on in the posted run */
            fy_event_post(rev);
            break;
        }
    } while (rev->ready);

    fy_timer_add(rev, fy_min(hc->linger_timeout,
                             hc->linger_until - fy_current_msec));
}
