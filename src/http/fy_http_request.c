/*
 * fy_http_request.c -- the life of a client connection: accept it,
 * wait for a request and read its bytes, create and free the request,
 * finalize it, then keep-alive (the idle list), pipelining, and the
 * drain of a worker that stops gracefully.
 *
 * A connection moves through these handlers:
 *
 *   wait_request --(first bytes)--> read_header --(headers done)-->
 *   location handler (return / proxy) --(response written)-->
 *   finalize --> keep-alive: wait_request again (or the next
 *   pipelined request at once), or close (first lingering, while the
 *   client may still be sending: fy_http_lingering.c).
 *
 * The request's headers are parsed in place in hc->in; its fields point
 * into that buffer, which therefore never moves while a request is
 * being served.  Bytes after the headers are the start of the body or
 * of the next pipelined request.
 *
 * The other files of the client side (private header
 * fy_http_request.h): fy_http_request_header.c parses and checks the
 * request header, fy_http_request_route.c chooses the server and
 * location and runs the handler, fy_http_response.c writes responses
 * and error pages.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"
#include "fy_worker.h"
#include "fy_shm.h"

#include <netinet/tcp.h>

unsigned  fy_http_quitting;

/* Idle keep-alive connections, so a graceful stop can close them. */
static fy_http_conn_t  *fy_http_idle;

static void fy_http_wait_request(fy_event_t *rev);
static void fy_http_read_header(fy_event_t *rev);
static void fy_http_set_keepalive(fy_http_conn_t *hc);
static void fy_http_free_request(fy_http_request_t *r);
static void fy_http_idle_del(fy_http_conn_t *hc);
static void fy_http_keepalive_handler(fy_event_t *rev);
static void fy_http_start_reading(fy_http_conn_t *hc, unsigned now);
static int fy_http_drain_one(fy_http_conn_t *hc);

void
fy_http_init_connection(fy_conn_t *c, fy_listen_t *ls, const u_char *data,
                        size_t len, unsigned requests)
{
    fy_http_conn_t      *hc;
    fy_http_srv_conf_t  *scf = fy_http_default_server(ls);

    hc = calloc(1, sizeof(fy_http_conn_t));
    if (hc == NULL) {
        fy_log_error(FY_LOG_ALERT, errno, "cannot allocate connection");
        fy_conn_close(c);
        return;
    }
    hc->c = c;
    hc->ls = ls;
    c->data = hc;
    hc->start_msec = fy_current_msec;
    /* until a request's server is known: the default server's, from
     * here on (a request already there is read before we return) */
    c->read.log = c->write.log = scf->loc->error_log;
    fy_log_cur = c->read.log;
    fy_sockaddr_text((struct sockaddr *) &c->addr, c->addrlen, hc->addr_text,
                     sizeof(hc->addr_text), 0);
    /* same offset in sockaddr_in; a unix client has none */
    hc->port = c->addr.sin6_family == AF_UNIX ? 0 : ntohs(c->addr.sin6_port);

    fy_shm_add(fy_worker_slot->active, 1);
    hc->serial = fy_shm_add(fy_shm->connection_serial, 1) + 1;

    /* into epoll only if it must wait (see fy_event.h): a request that
     * is there already and answered at once never needs it */
    fy_conn_register_lazy(c);
    fy_shm_add(fy_worker_slot->handled, 1);

    /* Handed over by a draining worker: carry on where it stopped. */
    hc->requests = requests;
    if (len) {
        if (fy_buf_alloc(&hc->in, fy_max(len, scf->client_header_buffer))
            != FY_OK)
        {
            fy_http_close_connection(hc);
            return;
        }
        memcpy(hc->in.last, data, len);
        hc->in.last += len;

    } else if (requests) {
        /* between two requests: idle here as it was there */
        c->read.handler = fy_http_keepalive_handler;
        c->write.handler = fy_event_ignore;
        fy_timer_add(&c->read, (uint64_t) scf->loc->keepalive_timeout);
        fy_http_idle_add(hc);
        /* the next request may be in the socket already */
        c->read.ready = 1;
        fy_event_post(&c->read);
        return;

    } else if (ls->proxy_protocol) {
        /* the PROXY header first, then TLS or the request; such a
         * connection is never handed over either: this one is new */
        fy_http_pp_start(hc);
        return;

    } else if (ls->ssl) {
        /* TLS connections are never handed over: this one is new */
        fy_http_ssl_init_connection(hc);
        return;
    }

    /*
     * Bytes handed over with the connection are parsed now.  From a
     * `deferred` listener the master accepted the connection when its
     * request came (TCP_DEFER_ACCEPT): read it now.  From a plain one
     * it took it at the end of the handshake, and the request was not
     * there yet in four connections of five (wrk, `Connection: close`:
     * 0.81 reads per connection ended in EAGAIN, docs/performance.md);
     * epoll says when it comes (the connection is registered at the
     * end of this turn, and an EPOLLET registration of a readable
     * socket reports it at once).  nginx reads at once only after a
     * deferred accept too.
     */
    fy_http_start_reading(hc, len || ls->sock.deferred);
}

/* The header timeout, the handlers, and the first read now or when
 * epoll reports bytes. */
static void
fy_http_start_reading(fy_http_conn_t *hc, unsigned now)
{
    fy_conn_t           *c = hc->c;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);

    c->read.handler = fy_http_wait_request;
    c->write.handler = fy_event_ignore;
    fy_timer_add(&c->read, (uint64_t) scf->client_header_timeout);

    if (now) {
        c->read.ready = 1;
        fy_http_wait_request(&c->read);
    }
}

/* After the PROXY header or the TLS handshake: the request has usually
 * come with them, and bytes may be buffered already (hc->in, the TLS
 * library's): read now. */
void
fy_http_start_connection(fy_http_conn_t *hc)
{
    fy_http_start_reading(hc, 1);
}

int
fy_http_client_closed(fy_event_t *rev)
{
    u_char   ch;
    ssize_t  n;

    if (!rev->eof && !rev->error) {
        return 0;
    }
    n = fy_conn_peek(rev->data, &ch, 1);
    return n == 0 || n == FY_ERROR;
}

void
fy_http_close_connection(fy_http_conn_t *hc)
{
    /* a response that could not be finished still has its post_action,
     * as in nginx; the close comes when it has ended */
    if (hc->r && hc->r->content_mark && !hc->r->post_acted
        && fy_http_post_action_abort(hc->r) == FY_AGAIN)
    {
        return;
    }
    fy_http_idle_del(hc);
    if (hc->r) {
        fy_http_free_request(hc->r);
    }
    if (hc->c) {
        /* Count the connection gone before the peer can see it closed:
         * a dispatcher reading "active" must not see a stale value
         * after the client already observed the close. */
        fy_shm_add(fy_worker_slot->active, (uint64_t) -1);
        fy_conn_close(hc->c);
    }
    fy_buf_release(&hc->in);
    free(hc->pp);
    free(hc);
}

static fy_http_request_t *
fy_http_create_request(fy_http_conn_t *hc)
{
    fy_pool_t          *pool;
    fy_http_request_t  *r;

    pool = fy_pool_create(4096);
    if (pool == NULL) {
        return NULL;
    }
    r = fy_pcalloc(pool, sizeof(fy_http_request_t));
    if (r == NULL) {
        fy_pool_destroy(pool);
        return NULL;
    }
    r->pool = pool;
    r->hc = hc;
    r->content_length = -1;
    r->start_msec = fy_current_msec;
    r->number = hc->requests + 1;
    r->start_wall = fy_wall_msec;
    r->srv = fy_http_default_server(hc->ls);
    hc->c->read.log = hc->c->write.log = r->srv->loc->error_log;
    fy_http_parser_init(&r->parser);
    /* names nginx would call invalid are ignored or passed, not 400 */
    r->parser.lenient_names = 1;
    fy_array_init(&r->headers, pool, 16, sizeof(fy_http_header_t));
    hc->r = r;
    fy_http_set_stat(r, FY_HTTP_STAT_READING);
    return r;
}

static void
fy_http_free_request(fy_http_request_t *r)
{
    /* every request that got as far as a request line or an answer is
     * logged once, however it ended */
    if (r->request_line.len || r->status) {
        fy_http_log_request(r);
    }
    fy_http_set_stat(r, FY_HTTP_STAT_NONE);
    r->hc->r = NULL;
    /* Pool cleanups close what the request still holds (upstream). */
    fy_pool_destroy(r->pool);
}

/*
 * Read what the socket has into hc->in.  Returns bytes read, 0 on EOF,
 * FY_AGAIN, or FY_ERROR.
 */
static ssize_t
fy_http_recv(fy_http_conn_t *hc)
{
    fy_conn_t  *c = hc->c;
    size_t      size = fy_buf_free(&hc->in);
    ssize_t     n;

    for ( ;; ) {
        n = fy_conn_recv(c, hc->in.last, size);
        if (n > 0) {
            /* a short read cleared c->read.ready (fy_conn_recv) */
            hc->in.last += n;
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            return n;
        }
        if (n == 0 || n == FY_AGAIN) {
            return n;
        }
        fy_log_error(FY_LOG_INFO, errno, "recv() failed, client %s",
                     hc->addr_text);
        return FY_ERROR;
    }
}

static void
fy_http_wait_request(fy_event_t *rev)
{
    fy_conn_t           *c = rev->data;
    fy_http_conn_t      *hc = c->data;
    fy_http_request_t   *r;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);
    ssize_t              n;
    unsigned             pipelined;

    if (rev->timedout) {
        fy_http_close_connection(hc);
        return;
    }

    if (hc->in.start == NULL
        && fy_buf_alloc(&hc->in, scf->client_header_buffer) != FY_OK)
    {
        fy_http_close_connection(hc);
        return;
    }

    /* bytes already here after a request: it was pipelined ($pipe) */
    pipelined = hc->requests && hc->in.last > hc->in.pos;
    if (hc->in.last == hc->in.pos) {
        n = fy_http_recv(hc);
        if (n == FY_AGAIN) {
            if (hc->requests && hc->in.pos == hc->in.last) {
                /* idle keep-alive: give the buffer back while waiting */
                fy_buf_release(&hc->in);
            }
            return;
        }
        if (n <= 0) {
            fy_http_close_connection(hc);
            return;
        }
    }

    r = fy_http_create_request(hc);
    if (r == NULL) {
        fy_http_close_connection(hc);
        return;
    }
    r->pipelined = pipelined;

    /* A request has started: the keep-alive wait is over.  The header
     * timeout is armed only if the header does not come whole with
     * these bytes (fy_http_header_more), as nginx arms it: most
     * headers do, and the handler would take it off at once. */
    fy_timer_del(rev);
    rev->handler = fy_http_read_header;
    fy_http_process_header(r);
}

static void
fy_http_read_header(fy_event_t *rev)
{
    fy_conn_t          *c = rev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;
    ssize_t             n;

    if (rev->timedout) {
        /* nginx answers a client too slow with its headers with 408
         * only in the log; the connection is simply closed. */
        fy_log_error(FY_LOG_INFO, 0, "client timed out while reading "
                     "request header, client %s", hc->addr_text);
        fy_http_reset_timedout(hc);
        fy_http_close_connection(hc);
        return;
    }

    n = fy_http_recv(hc);
    if (n == FY_AGAIN) {
        return;
    }
    if (n <= 0) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_process_header(r);
}

void
fy_http_finalize(fy_http_request_t *r, int close_connection)
{
    fy_http_conn_t      *hc = r->hc;

    if (r->cache_bg || r->slicing) {    /* one test of two adjacent bits */
        if (r->cache_bg) {
            /* the expired entry answered: the request ends once it has
             * fetched the new one, without a word more to the client */
            r->cache_bg = 0;
            fy_http_cache_bg_start(r);
            return;
        }
        if (fy_http_slice_next(r, close_connection) == FY_AGAIN) {
            return;     /* the next slice's answer goes on
                           (fy_http_slice.c) */
        }
    }
    if (r->mirrors_running
        && fy_http_mirror_wait(r, close_connection) == FY_AGAIN)
    {
        return;     /* fy_http_mirror_done finalizes it again */
    }
    fy_shm_add(fy_worker_slot->requests, 1);
    hc->requests++;
    r->completed = 1;           /* $request_completion */

    if (r->loc && r->loc->post_action.len
        && fy_http_post_action(r, close_connection) == FY_AGAIN)
    {
        return;     /* fy_http_finalize_conn follows when it ends */
    }
    fy_http_finalize_conn(r, close_connection);
}

/* The rest of fy_http_finalize: the request is answered and counted;
 * its connection goes on to the next request, lingers or closes. */
void
fy_http_finalize_conn(fy_http_request_t *r, int close_connection)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf;

    if (r->body_rest && r->body_mem.start && !r->chunked) {
        /* mirror read the body whole: what is left of it is in memory,
         * nothing in the socket (an answer that did not want it) */
        r->body_rest = 0;
    }
    if (close_connection || !r->keepalive || r->body_rest || r->chunked) {
        /* close_connection: the connection is unusable (a tunnel that
         * ended), nothing more is read from it */
        if (!close_connection && fy_http_lingering_wanted(r)) {
            lcf = fy_http_req_loc(r);
            fy_http_free_request(r);
            fy_http_lingering_start(hc, lcf->lingering_time,
                                    lcf->lingering_timeout);
            return;
        }
        fy_http_close_connection(hc);
        return;
    }
    fy_http_set_keepalive(hc);
}

void
fy_http_idle_add(fy_http_conn_t *hc)
{
    /* A request answered at once inside the keep-alive handler lists
     * the connection from set_keepalive; the handler must not list it
     * a second time, which would make the list loop on itself. */
    if (hc->idle) {
        return;
    }
    hc->idle = 1;
    hc->idle_prev = NULL;
    hc->idle_next = fy_http_idle;
    if (fy_http_idle) {
        fy_http_idle->idle_prev = hc;
    }
    fy_http_idle = hc;
}

static void
fy_http_idle_del(fy_http_conn_t *hc)
{
    if (!hc->idle) {
        return;
    }
    hc->idle = 0;
    if (hc->idle_prev) {
        hc->idle_prev->idle_next = hc->idle_next;
    } else {
        fy_http_idle = hc->idle_next;
    }
    if (hc->idle_next) {
        hc->idle_next->idle_prev = hc->idle_prev;
    }
}

/* The keep-alive wait: like wait_request, but leaves the idle list. */
static void
fy_http_keepalive_handler(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;

    fy_http_idle_del(hc);
    rev->handler = fy_http_wait_request;
    fy_http_wait_request(rev);
    /*
     * Still idle (nothing arrived: the buffer was given back and the
     * handler left in place): list it again.  Not when a request was
     * answered meanwhile: set_keepalive has then listed it already, or
     * posted a pipelined request; listing it twice links it to itself,
     * and once it is freed the list points at freed memory.
     */
    if (c->fd != -1 && c->data == hc && hc->r == NULL && !hc->idle
        && rev->handler == fy_http_wait_request && hc->in.start == NULL)
    {
        rev->handler = fy_http_keepalive_handler;
        fy_http_idle_add(hc);
    }
}

/*
 * TCP_NODELAY on a client connection, once, with tcp_nodelay on (the
 * default).  Where nginx sets it: when the connection goes keep-alive,
 * on a TLS connection (its records leave in several writes), for a
 * response that streams, and on both sides of a tunnel; there Nagle's
 * algorithm would hold a small write back until the client's delayed
 * ACK, up to 40 ms (200 ms on some clients).  Unix sockets have no
 * Nagle.
 */
void
fy_http_nodelay(fy_http_conn_t *hc, const fy_http_loc_conf_t *lcf)
{
    fy_conn_t  *c = hc->c;
    int         one = 1;

    /* the listener's family: realip may have given a unix-domain
     * connection an IP client address */
    if (hc->nodelay || !lcf->tcp_nodelay
        || hc->ls->addr.sa.sa_family == AF_UNIX)
    {
        return;
    }
    hc->nodelay = 1;
    if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
        == -1)
    {
        fy_log_error(FY_LOG_INFO, errno, "setsockopt(TCP_NODELAY) failed, "
                     "client %s", hc->addr_text);
    }
}

/* TCP_CORK on (tcp_nopush, before a file's header) or off (once the
 * file is sent and the connection stays): while corked the kernel sends
 * only full segments, so the header and the file's first bytes share
 * one. */
void
fy_http_cork(fy_http_conn_t *hc, int on)
{
    if (setsockopt(hc->c->fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == -1) {
        fy_log_error(FY_LOG_INFO, errno, "setsockopt(TCP_CORK, %d) failed, "
                     "client %s", on, hc->addr_text);
        return;
    }
    hc->corked = on ? 1 : 0;
}

static void
fy_http_set_keepalive(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(hc->r);
    size_t               rest;

    fy_http_free_request(hc->r);

    /* tcp_nopush: the last bytes of a file wait in a partial segment
     * while the socket is corked; a kept connection must not hold them
     * back until its next response (nginx uncorks here too) */
    if (hc->corked) {
        fy_http_cork(hc, 0);
    }
    /* A connection that stays open gets TCP_NODELAY, as in nginx: a
     * response whose header and body leave in two writes must not wait
     * for the client's delayed ACK (Nagle).  Connections closed after
     * one response never pay for the system call. */
    fy_http_nodelay(hc, lcf);

    rest = fy_buf_size(&hc->in);
    if (rest) {
        /* A pipelined request is already here.  Move it to the start
         * so it has the whole buffer, and run it from the posted
         * queue: epoll will not report these bytes again, and running
         * it now would recurse once per pipelined request. */
        memmove(hc->in.start, hc->in.pos, rest);
        hc->in.pos = hc->in.start;
        hc->in.last = hc->in.start + rest;
        if (fy_http_quitting && fy_http_drain_one(hc)) {
            return;
        }
        c->read.handler = fy_http_wait_request;
        fy_timer_add(&c->read, (uint64_t) lcf->keepalive_timeout);
        fy_event_post(&c->read);
        return;
    }

    fy_buf_release(&hc->in);
    if (fy_http_quitting && fy_http_drain_one(hc)) {
        return;
    }
    c->read.handler = fy_http_keepalive_handler;
    fy_timer_add(&c->read, (uint64_t) lcf->keepalive_timeout);
    fy_http_idle_add(hc);

    if (c->read.ready) {
        /* More may have arrived while we answered. */
        fy_event_post(&c->read);
    }
}

/*
 * Move r's connection between stub_status's Reading and Writing (and
 * neither: Waiting).  Called at each change so the slot's gauges are
 * exact at any moment; every request ends in FY_HTTP_STAT_NONE.
 */
void
fy_http_set_stat(fy_http_request_t *r, unsigned stat)
{
    if (r->stat == stat) {
        return;
    }
    if (r->stat == FY_HTTP_STAT_READING) {
        fy_shm_add(fy_worker_slot->reading, (uint64_t) -1);
    } else if (r->stat == FY_HTTP_STAT_WRITING) {
        fy_shm_add(fy_worker_slot->writing, (uint64_t) -1);
    }
    if (stat == FY_HTTP_STAT_READING) {
        fy_shm_add(fy_worker_slot->reading, 1);
    } else if (stat == FY_HTTP_STAT_WRITING) {
        fy_shm_add(fy_worker_slot->writing, 1);
    }
    r->stat = stat;
}

/*
 * Draining: one connection between requests leaves this worker, handed
 * back to the master (or closed if it cannot be).  Returns 1 if it is
 * gone, 0 if it stays here: the channel was full (the drain timer tries
 * again), or it holds more read bytes than a hand-off carries (it is
 * served here, and the next response says whether to go on).
 */
static int
fy_http_drain_one(fy_http_conn_t *hc)
{
    int  rc;

    if (hc->lingering) {
        /* its response is out; what it reads now is only dropped */
        fy_http_close_connection(hc);
        return 1;
    }
    rc = fy_http_handback(hc);
    if (rc == FY_OK) {
        return 1;
    }
    if (rc == FY_AGAIN) {
        return 0;
    }
    if (rc == FY_DECLINED && hc->in.start && fy_buf_size(&hc->in)) {
        return 0;
    }
    fy_http_close_connection(hc);
    return 1;
}

unsigned
fy_http_drain_idle(void)
{
    fy_http_conn_t  *hc, *next;
    unsigned         left = 0;

    for (hc = fy_http_idle; hc; hc = next) {
        next = hc->idle_next;
        if (!fy_http_drain_one(hc)) {
            left++;
        }
    }
    return left;
}
