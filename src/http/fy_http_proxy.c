/*
 * fy_http_proxy.c -- proxy_pass: forward a request to an upstream
 * server and stream the response back.
 *
 * One request, one upstream connection per try: HTTP/1.0 with
 * "Connection: close" as nginx's default, or HTTP/1.1 kept open for
 * an upstream with "keepalive" (fy_http_upcache.c), for a body sent up
 * chunked and for an upgrade; proxy_http_version and proxy_set_header
 * Connection decide otherwise (fy_proxy_create_request).  The states:
 *
 *   connect --> send request header and body --> read response header
 *   --> relay body --> finalize
 *
 * The response header is read from the first byte sent on: a server
 * may answer before the request is complete, and then the rest of the
 * request is not sent (fy_proxy_send_stop).
 *
 * Memory is bounded: one buffer (client_body_buffer_size) for the
 * request body on its way up, and for the response on its way down
 * proxy_buffer_size, plus with proxy_buffering up to proxy_buffers
 * read ahead of a slow client.  Once those are full the upstream waits
 * for the client: a slow client slows the upstream instead of growing
 * memory, and nothing is written to disk.
 *
 * How the body reaches the client depends on how the upstream framed
 * it and who the client is:
 *   Content-Length        -> passed as is
 *   chunked, 1.1 client   -> passed as is, parsed to find its end
 *   chunked, 1.0 client   -> decoded, connection closed at the end
 *   to close, 1.1 client  -> re-framed as chunked, connection kept
 *   to close, 1.0 client  -> passed as is, connection closed
 * With gzip the decoded body goes through the compressor and leaves
 * chunked (1.1) or to the close (1.0) (fy_http_gzip_stream.c).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_worker.h"
#include "fy_shm.h"
#include "fy_http_cache.h"

static uint64_t  fy_proxy_rnd;     /* random balancer state, per worker */

/* what fy_proxy_states_text writes: FY_PROXY_T_* (a time) or these */
enum {
    FY_PROXY_V_ADDR = FY_PROXY_T_N,
    FY_PROXY_V_STATUS,
    FY_PROXY_V_RECEIVED,
    FY_PROXY_V_SENT,
    FY_PROXY_V_LENGTH
};

static size_t fy_proxy_states_text(fy_http_proxy_t *p, int what, u_char *buf,
    size_t size);
static void fy_proxy_cleanup(void *data);
static int fy_proxy_balancer_key(fy_http_proxy_t *p);
static int fy_proxy_pick(fy_http_proxy_t *p);
static void fy_proxy_connect(fy_http_proxy_t *p);
static void fy_proxy_connect_peer(fy_http_proxy_t *p);
static void fy_proxy_reconnect(fy_http_proxy_t *p);
static void fy_proxy_connected(fy_event_t *wev);
static void fy_proxy_fail_stale(fy_http_proxy_t *p, int status, unsigned why);

/* $upstream_addr, $upstream_status or one of the times (what is
 * FY_PROXY_V_* or FY_PROXY_T_*), one value per try as nginx writes
 * them: ", " between tries, " : " before the tries of an internal
 * redirect; "-" for a try that got no status, or did not get as far as
 * the time measures; times as seconds with milliseconds.  Returns the
 * length; writes at most size bytes when buf is not NULL. */
static size_t
fy_proxy_states_text(fy_http_proxy_t *p, int what, u_char *buf, size_t size)
{
    fy_proxy_state_t  *st;
    char               tmp[32];
    size_t             len = 0, n;
    unsigned           i;
    uint64_t           ms;
    const void        *src;

    for (i = 0; p && i < p->states.nelts; i++) {
        st = fy_array_elt(&p->states, fy_proxy_state_t, i);
        if (i) {
            src = st->redirect ? " : " : ", ";
            n = st->redirect ? 3 : 2;
            if (buf && len + n <= size) {
                memcpy(buf + len, src, n);
            }
            len += n;
        }
        src = tmp;
        if (what == FY_PROXY_V_ADDR) {
            src = st->addr.data;
            n = st->addr.len;
        } else if (what == FY_PROXY_V_RECEIVED || what == FY_PROXY_V_SENT) {
            n = (size_t) snprintf(tmp, sizeof(tmp), "%llu",
                                  (unsigned long long)
                                  (what == FY_PROXY_V_SENT ? st->sent
                                                           : st->received));
        } else if (what == FY_PROXY_V_LENGTH) {
            /* the body's bytes; 0 for a try without a response (nginx) */
            n = (size_t) snprintf(tmp, sizeof(tmp), "%llu",
                                  (unsigned long long)
                                  (st->body_from == FY_PROXY_NO_TIME
                                   ? 0 : st->received - st->body_from));
        } else if (what == FY_PROXY_V_STATUS) {
            n = st->status ? (size_t) snprintf(tmp, sizeof(tmp), "%d",
                                               st->status)
                           : (size_t) snprintf(tmp, sizeof(tmp), "-");
        } else {
            ms = st->time[what];
            if (ms == FY_PROXY_NO_TIME && what == FY_PROXY_T_RESPONSE
                && i == p->states.nelts - 1 && i >= p->kept
                && p == p->r->proxy)
            {
                /* logged while the try still runs (a client gone in the
                 * middle, a WebSocket tunnel): its time so far */
                ms = fy_current_msec - p->start;
            }
            n = ms == FY_PROXY_NO_TIME
                ? (size_t) snprintf(tmp, sizeof(tmp), "-")
                : (size_t) snprintf(tmp, sizeof(tmp), "%llu.%03u",
                                    (unsigned long long) (ms / 1000),
                                    (unsigned) (ms % 1000));
        }
        if (buf && len + n <= size) {
            memcpy(buf + len, src, n);
        }
        len += n;
    }
    return len;
}

size_t
fy_http_proxy_upstream_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_V_ADDR, buf, size);
}

size_t
fy_http_proxy_upstream_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_V_STATUS, buf, size);
}

size_t
fy_http_proxy_upstream_connect_time(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_T_CONNECT, buf, size);
}

size_t
fy_http_proxy_upstream_header_time(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_T_HEADER, buf, size);
}

size_t
fy_http_proxy_upstream_response_time(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_T_RESPONSE, buf, size);
}

size_t
fy_http_proxy_upstream_bytes_received(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_V_RECEIVED, buf, size);
}

size_t
fy_http_proxy_upstream_bytes_sent(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_V_SENT, buf, size);
}

size_t
fy_http_proxy_upstream_response_length(fy_http_request_t *r, u_char *buf,
    size_t size)
{
    return fy_proxy_states_text(r->proxy, FY_PROXY_V_LENGTH, buf, size);
}

size_t
fy_http_proxy_host(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_http_proxy_t  *p = r->proxy;

    /* empty (data NULL) when a proxy_pass with variables failed before
     * its host was known */
    if (buf && p->host.len) {
        memcpy(buf, p->host.data, fy_min(size, p->host.len));
    }
    return p->host.len;
}

static void
fy_proxy_cleanup(void *data)
{
    fy_http_proxy_t  *p = data;
    u_char            addr[512], status[128];
    size_t            alen, slen;

    if (fy_log.level >= FY_LOG_DEBUG && p->states.nelts) {
        alen = fy_min(fy_proxy_states_text(p, FY_PROXY_V_ADDR, addr,
                                           sizeof(addr)), sizeof(addr));
        slen = fy_min(fy_proxy_states_text(p, FY_PROXY_V_STATUS, status,
                                           sizeof(status)), sizeof(status));
        fy_log_debug("proxy done: upstream_addr \"%.*s\" upstream_status "
                     "\"%.*s\"", (int) alen, addr, (int) slen, status);
    }
    fy_proxy_close_upstream(p);
    fy_buf_release(&p->req);
    fy_buf_release(&p->body);
    fy_buf_release(&p->buf);
}

/* RFC 9110 9.2.2: the methods whose effect is the same however often
 * a request is made.  Methods ferry does not know count as not. */
static int
fy_proxy_idempotent(fy_http_request_t *r)
{
    switch (r->method) {
    case FY_HTTP_GET:
    case FY_HTTP_HEAD:
    case FY_HTTP_PUT:
    case FY_HTTP_DELETE:
    case FY_HTTP_OPTIONS:
    case FY_HTTP_TRACE:
        return 1;
    default:
        return 0;
    }
}

/*
 * A request failed on a kept connection before any answer: the server
 * most likely closed the connection while it was idle, and the close
 * crossed the request.  Sending it again on a new connection is safe
 * only when the server cannot have acted on it, or acting twice does
 * no harm (RFC 9110 9.2.2, RFC 9112 9.3.1):
 *   - nothing of it had been sent: the connection was found closed
 *     first (fy_proxy_kept_gone), or the first write failed;
 *   - it was sent, but its method is idempotent, or
 *     proxy_next_upstream non_idempotent says the operator takes the
 *     risk -- the rule that decides whether a request that was sent
 *     may go on to another server (fy_proxy_can_retry).
 * A POST that was sent and met a close gets its 502 instead: the
 * server may have done it already, only without answering.  Always:
 * no byte of a response came, nothing reached the client, and the
 * body is all still here.
 */
static int
fy_proxy_resend_safe(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;

    if (!p->reused || p->buf.last != p->buf.start
        || fy_proxy_client_answered(p) || p->body_lost || p->early)
    {
        return 0;
    }
    return !p->request_sent || fy_proxy_idempotent(r)
           || (r->loc->next_upstream & FY_HTTP_NEXT_NON_IDEMPOTENT);
}

/* A failure on a kept connection that fy_proxy_next will mend by
 * sending the request again on a new one is no error worth an
 * operator's attention. */
int
fy_proxy_client_answered(fy_http_proxy_t *p)
{
    return p->r->header_sent && !(p->cache && p->cache->bg)
           && !(p->r->slice && !p->sliced);
}

int
fy_proxy_err_level(fy_http_proxy_t *p)
{
    return fy_proxy_resend_safe(p) ? FY_LOG_DEBUG : FY_LOG_ERR;
}

/* The try ends here (the upstream is let go): its response time. */
void
fy_proxy_close_upstream(fy_http_proxy_t *p)
{
    fy_proxy_timed(p, FY_PROXY_T_RESPONSE);
    if (p->stats) {
        fy_shm_add(p->stats->active, (uint64_t) -1);
        p->stats = NULL;
    }
    if (p->uc) {
        fy_conn_close(p->uc);
        p->uc = NULL;
    }
}

/* Fail the request: an error page if nothing was sent yet, otherwise
 * the client connection is closed so it cannot mistake a truncated
 * response for a complete one. */
void
fy_proxy_fail(fy_http_proxy_t *p, int status)
{
    fy_proxy_fail_stale(p, status, status == 504 ? FY_CACHE_STALE_TIMEOUT
                                   : status == 502 ? FY_CACHE_STALE_ERROR
                                   : 0);
}

/* The same, where why (FY_CACHE_STALE_*, 0: none) is the failure
 * proxy_cache_use_stale is asked about: the one fy_proxy_next names,
 * since nginx tells an invalid header from an error there. */
static void
fy_proxy_fail_stale(fy_http_proxy_t *p, int status, unsigned why)
{
    fy_http_request_t  *r = p->r;
    fy_proxy_state_t   *st = fy_proxy_state(p);

    if (st && st->status == 0) {
        st->status = status;
    }
    if (p->cache && p->cache->bg) {
        fy_http_cache_bg_end(p);    /* the client has its answer */
        return;
    }
    if (p->cache && why && fy_http_cache_stale(p, why) == FY_DONE) {
        return;     /* proxy_cache_use_stale: the expired entry answered */
    }
    fy_proxy_close_upstream(p);
    if (r->header_sent) {
        fy_http_close_connection(r->hc);
        return;
    }
    r->hc->c->read.handler = fy_event_ignore;
    fy_http_send_error(r, status);
}

/* What hash and ip_hash choose by: the key evaluated once per request
 * (every try of the request uses the same one), or the client's
 * address bytes. */
static int
fy_proxy_balancer_key(fy_http_proxy_t *p)
{
    fy_http_upstream_t   *u = p->u;
    struct sockaddr_in6  *sa = &p->r->hc->c->addr;

    if (u->hash_key) {
        p->key = fy_http_cv_eval(p->r, u->hash_key, &p->key_len);
        return p->key ? FY_OK : FY_ERROR;
    }
    if (u->balancer == &fy_http_balancer_ip_hash) {
        if (sa->sin6_family == AF_INET) {
            p->key = (u_char *) &((struct sockaddr_in *) sa)->sin_addr;
            p->key_len = 4;
        } else if (sa->sin6_family == AF_UNIX) {
            p->key_len = 0;         /* no address: round robin (nginx) */
        } else {
            p->key = sa->sin6_addr.s6_addr;
            p->key_len = 16;
        }
    }
    return FY_OK;
}

/* An internal redirect (error_page) proxies a request a second time:
 * the $upstream_* variables keep the first one's tries. */
static int
fy_proxy_keep_states(fy_http_proxy_t *p, fy_http_proxy_t *old)
{
    fy_proxy_state_t  *st;
    unsigned           i;

    for (i = 0; i < old->states.nelts; i++) {
        st = fy_array_push(&p->states);
        if (st == NULL) {
            return FY_ERROR;
        }
        *st = *fy_array_elt(&old->states, fy_proxy_state_t, i);
    }
    p->kept = old->states.nelts;
    return FY_OK;
}

/* proxy_pass_request_body off: the body stays with ferry.  What came
 * with the header is skipped; a body still on its way closes the
 * connection after the answer. */
static void
fy_proxy_drop_body(fy_http_request_t *r)
{
    fy_buf_t        *src = fy_http_body_src(r);
    size_t           have;

    have = fy_min(fy_buf_size(src), r->body_rest);
    src->pos += have;
    r->body_rest -= have;
    if (r->body_rest || r->chunked) {
        /* its end is unknown: no next request can be found after it */
        r->keepalive = 0;
        r->body_rest = 0;
        r->chunked = 0;
    }
}

void
fy_http_proxy_handler(fy_http_request_t *r)
{
    fy_http_proxy_t  *p;
    int               rc;

    p = fy_pcalloc(r->pool, sizeof(fy_http_proxy_t));
    if (p == NULL || fy_pool_cleanup_add(r->pool, fy_proxy_cleanup, p)
                     != FY_OK)
    {
        fy_http_send_error(r, 500);
        return;
    }
    p->r = r;
    p->u = r->loc->upstream;
    p->host = r->loc->proxy_host;
    p->https = r->loc->proxy_https;
    fy_array_init(&p->states, r->pool, 2, sizeof(fy_proxy_state_t));
    if (r->proxy && fy_proxy_keep_states(p, r->proxy) != FY_OK) {
        fy_http_send_error(r, 500);
        return;
    }
    r->proxy = p;
    if (r->loc->fastcgi_pass && fy_http_fastcgi_init(p) != FY_OK) {
        fy_http_send_error(r, 500);
        return;
    }

    if (r->loc->proxy_pass_cv) {
        rc = fy_proxy_eval_pass(p);
        if (rc == FY_AGAIN) {
            return;     /* the resolver's answer goes on (below) */
        }
        if (rc != FY_OK) {
            fy_http_send_error(r, rc);
            return;
        }
    }
    fy_proxy_pass_ready(p);
}

/* The upstream is known: answered from the cache, or on to it. */
void
fy_proxy_pass_ready(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    int                 rc;

    if (r->loc->cache.zone && r->parent == NULL) {
        /* answered from the cache, or on to the upstream (the one
         * test a location without a cache makes); cache.zone is
         * proxy_cache's, or for fastcgi_pass, uwsgi_pass and scgi_pass
         * their module's *_cache (fy_http_cgi_apply); not for an
         * auth_request subrequest (a HIT is written to the client) */
        rc = fy_http_cache_start(p);
        if (rc == FY_DONE || rc == FY_AGAIN) {
            return;     /* answered, or waiting for proxy_cache_lock */
        }
        if (rc != FY_OK) {
            fy_http_send_error(r, 500);
            return;
        }
    }
    fy_proxy_go(p);
}

/* On to the upstream (after the cache, if any, had its say). */
void
fy_proxy_go(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;

    p->content_length = r->content_length;
    if (!r->loc->pass_request_body || fy_http_sets_body(r->loc)) {
        /* proxy_set_body: its value goes up instead (nginx) */
        if (r->loc->memcached_pass && r->method != FY_HTTP_GET
            && r->method != FY_HTTP_HEAD)
        {
            fy_http_send_error(r, 405);     /* nginx's memcached module */
            return;
        }
        fy_proxy_drop_body(r);
        p->content_length = -1;
    }

    p->tried = fy_pcalloc(r->pool, p->u->peers.nelts);
    if (p->tried == NULL || fy_proxy_balancer_key(p) != FY_OK)
    {
        fy_http_send_error(r, 500);
        return;
    }

    if (r->chunked && r->loc->proxy_request_buffering) {
        /* how the body goes up depends on its size: read the start of
         * it first (fy_proxy_read_body calls fy_proxy_start) */
        fy_proxy_read_body(p);
        return;
    }
    p->body_chunked = r->chunked;
    fy_proxy_start(p);
}

/* The body's framing upstream is known: build the request, connect. */
void
fy_proxy_start(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    int                 rc;

    if (p->body_chunked && fy_http_cgi_loc(r->loc)
        && (p->fcgi == NULL || r->loc->proxy_request_buffering))
    {
        /* FastCGI, uwsgi and SCGI applications want CONTENT_LENGTH,
         * and a chunked body is only measured whole in one buffer
         * (nginx writes a bigger one to a temporary file; ferry writes
         * nothing to disk); but with fastcgi_request_buffering off it
         * streams in STDIN records without one, as nginx sends it */
        fy_log_error(FY_LOG_ERR, 0, "chunked request body is larger than "
                     "client_body_buffer_size %zu bytes, cannot pass it to "
                     "%s" FY_PROXY_CTX_FMT,
                     r->loc->client_body_buffer_size,
                     p->fcgi ? "FastCGI" : r->loc->uwsgi_pass ? "uwsgi"
                     : "SCGI", FY_PROXY_CTX(p));
        r->keepalive = 0;
        fy_http_send_error(r, 413);
        return;
    }
    if (p->fcgi) {
        rc = fy_http_fastcgi_create_request(p);
    } else if (r->loc->uwsgi_pass || r->loc->scgi_pass) {
        p->cgi = 1;
        rc = fy_http_cgi_create_request(p);
    } else if (r->loc->memcached_pass) {
        p->memc = 1;
        rc = fy_http_memcached_create_request(p);
    } else {
        rc = fy_proxy_create_request(p);
    }
    if (rc != FY_OK
        || (p->https && fy_proxy_ssl_prepare(p) != FY_OK))
    {
        fy_http_send_error(r, 500);
        return;
    }

    /* While the upstream works, notice a client that goes away; a new
     * client connection not in epoll yet joins it only if the upstream
     * has not answered within FY_PROXY_ABORT_DEFER ms. */
    r->hc->c->read.handler = fy_proxy_check_client;
    fy_conn_defer(r->hc->c, FY_PROXY_ABORT_DEFER);

    p->first_start = fy_current_msec;
    fy_proxy_connect(p);
}

/* Whether a request may go on to another server after failing with
 * ft (FY_HTTP_NEXT_*): proxy_next_upstream allows it, nothing reached
 * the client, the body can be sent again, a non-idempotent request was
 * not already sent, tries and time are left, and some server not yet
 * tried can take it. */
int
fy_proxy_can_retry(fy_http_proxy_t *p, unsigned ft)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_bal_ctx_t    bc;
    unsigned             i;

    if (!(lcf->next_upstream & ft) || p->body_lost
        || fy_proxy_client_answered(p) || p->early)
    {
        return 0;
    }
    /* nginx's rule: a request that is not idempotent (POST, PATCH,
     * CONNECT, methods ferry does not know) may have changed something
     * upstream once it was sent */
    if (p->request_sent && !(lcf->next_upstream & FY_HTTP_NEXT_NON_IDEMPOTENT)
        && !fy_proxy_idempotent(r))
    {
        return 0;
    }
    if (lcf->next_upstream_tries
        && p->tries >= (unsigned) lcf->next_upstream_tries)
    {
        return 0;
    }
    if (lcf->next_upstream_timeout
        && fy_current_msec - p->first_start
           >= (uint64_t) lcf->next_upstream_timeout)
    {
        return 0;
    }

    memset(&bc, 0, sizeof(bc));
    bc.u = p->u;
    bc.shm = fy_http_up_slots(p->u);
    bc.tried = p->tried;
    bc.now = fy_wall_msec;
    for (bc.backup = 0; bc.backup < 2; bc.backup++) {
        for (i = 0; i < p->u->peers.nelts; i++) {
            if (fy_http_bal_weight(&bc, i)) {
                return 1;
            }
        }
    }
    return 0;
}

fy_proxy_state_t *
fy_proxy_state(fy_http_proxy_t *p)
{
    return p->states.nelts
           ? fy_array_elt(&p->states, fy_proxy_state_t, p->states.nelts - 1)
           : NULL;
}

void
fy_proxy_timed(fy_http_proxy_t *p, int t)
{
    fy_proxy_state_t  *st = fy_proxy_state(p);

    /* not an earlier proxying's try (kept by an internal redirect) */
    if (st && p->states.nelts > p->kept && st->time[t] == FY_PROXY_NO_TIME)
    {
        st->time[t] = fy_current_msec - p->start;
    }
}

/* The request again from its start, on a new connection to the same
 * server, in place of a kept one that turned out closed: the same try
 * (the server's active count and $upstream_* entry stay), only its
 * connect time is measured anew. */
static void
fy_proxy_reconnect(fy_http_proxy_t *p)
{
    fy_proxy_state_t  *st = fy_proxy_state(p);
    fy_conn_t         *c = p->r->hc->c;

    fy_conn_close(p->uc);
    p->uc = NULL;
    p->reused = 0;
    p->uc_requests = 0;
    if (st) {
        st->time[FY_PROXY_T_CONNECT] = FY_PROXY_NO_TIME;
    }
    fy_proxy_rewind(p);
    p->request_sent = 0;
    p->request_done = 0;
    /* nothing is read from the client until the new connection can
     * take it (the client may have been waited for with the body) */
    fy_timer_del(&c->read);
    c->read.handler = fy_proxy_check_client;
    if (fy_proxy_header_init(p) != FY_OK) {
        fy_proxy_fail(p, 500);
        return;
    }
    fy_proxy_connect_peer(p);
}

/*
 * The first bytes of a request are about to go on a kept connection.
 * If the server's FIN or reset has arrived since the connection left
 * the cache (in the same turn, or the cache's idle handler had no turn
 * yet), nothing of the request can have reached the server: it goes on
 * a new connection, whatever its method.  The event flags tell without
 * a system call; only a "readable" that may be left over from reading
 * the last response is checked with a peek.  Bytes waiting there
 * would be a server talking out of turn on an idle connection: not
 * used either.  Returns 1 when the request went on a new connection.
 */
int
fy_proxy_kept_gone(fy_http_proxy_t *p)
{
    fy_conn_t  *uc = p->uc;
    u_char      ch;

    if (!p->reused || p->request_sent
        || !(uc->read.ready || uc->read.eof || uc->read.error))
    {
        return 0;
    }
    if (!uc->read.eof && !uc->read.error
        && fy_conn_peek(uc, &ch, 1) == FY_AGAIN)
    {
        uc->read.ready = 0;
        return 0;
    }
    fy_log_debug("kept upstream connection closed before the request "
                 "went out, reconnecting" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    fy_proxy_reconnect(p);
    return 1;
}

/*
 * The current server failed with ft (FY_HTTP_NEXT_*) before anything
 * reached the client.  Counts the failure where nginx does (error,
 * timeout and invalid_header always; http_5xx and http_429 when they
 * are in proxy_next_upstream -- the only way to get here with them;
 * http_403 and http_404 never), then tries the next server if allowed,
 * else answers 502, or 504 after a timeout.
 */
void
fy_proxy_next(fy_http_proxy_t *p, unsigned ft)
{
    fy_proxy_state_t  *st = fy_proxy_state(p);
    int                status = ft == FY_HTTP_NEXT_TIMEOUT ? 504 : 502;

    if (ft == FY_HTTP_NEXT_ERROR && fy_proxy_resend_safe(p)) {
        /* A kept connection the server closed while it was idle (the
         * close crossed our request).  Not the server's fault, and not
         * a try: once more on a new connection to the same server. */
        fy_log_debug("kept upstream connection was closed, reconnecting"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_reconnect(p);
        return;
    }

    if (st && st->status == 0) {
        st->status = status;
    }
    if (!(ft & (FY_HTTP_NEXT_HTTP_403 | FY_HTTP_NEXT_HTTP_404))) {
        fy_http_peer_failed(p->u, p->peer);
    }
    fy_proxy_close_upstream(p);

    if (fy_proxy_can_retry(p, ft)) {
        fy_shm_add(fy_http_up_slots(p->u)[p->peer->shm].retries, 1);
        fy_proxy_rewind(p);
        p->request_sent = 0;
        p->request_done = 0;
        /* the client's body waits until the next server can take it
         * (it may have been waited for when this one failed) */
        fy_timer_del(&p->r->hc->c->read);
        p->r->hc->c->read.handler = fy_proxy_check_client;
        fy_proxy_connect(p);
        return;
    }
    fy_proxy_fail_stale(p, status,
                        ft == FY_HTTP_NEXT_INVALID_HEADER
                        ? FY_CACHE_STALE_INVALID
                        : ft == FY_HTTP_NEXT_TIMEOUT ? FY_CACHE_STALE_TIMEOUT
                        : ft == FY_HTTP_NEXT_ERROR ? FY_CACHE_STALE_ERROR
                        : fy_http_cache_stale_status(status));
}

/* Pick a server; log "no live upstreams" once per outage, not once per
 * request, and say when servers are back. */
static int
fy_proxy_pick(fy_http_proxy_t *p)
{
    fy_shm_upstream_t  *su = fy_http_up_shared(p->u);
    fy_http_bal_ctx_t   bc;
    int                 i;

    memset(&bc, 0, sizeof(bc));
    bc.u = p->u;
    bc.shm = fy_http_up_slots(p->u);
    bc.tried = p->tried;
    bc.key = p->key;
    bc.key_len = p->key_len;
    bc.now = fy_wall_msec;
    bc.rnd = &fy_proxy_rnd;

    i = fy_http_balancer_get(&bc, &su->lock);

    if (i < 0 && p->tries == 0) {
        if (!__atomic_exchange_n(&su->no_live, 1, __ATOMIC_RELAXED)) {
            fy_log_error(FY_LOG_ERR, 0, "no live upstreams in upstream "
                         "\"%.*s\" (logged once until one is back)"
                         FY_PROXY_CTX_FMT, (int) p->u->name.len,
                         (char *) p->u->name.data, FY_PROXY_CTX(p));
        }
    } else if (i >= 0 && fy_shm_get(su->no_live)
               && __atomic_exchange_n(&su->no_live, 0, __ATOMIC_RELAXED))
    {
        fy_log_error(FY_LOG_NOTICE, 0, "upstream \"%.*s\" has live servers "
                     "again", (int) p->u->name.len, (char *) p->u->name.data);
    }
    return i;
}

static void
fy_proxy_connect(fy_http_proxy_t *p)
{
    fy_proxy_state_t    *st;
    fy_conn_t           *uc;
    int                  i;

    if (fy_proxy_header_init(p) != FY_OK) {
        fy_proxy_fail(p, 500);
        return;
    }
    p->start = fy_current_msec;
    i = fy_proxy_pick(p);
    st = fy_array_push(&p->states);
    if (st != NULL) {
        memset(st, 0, sizeof(fy_proxy_state_t));
        st->body_from = FY_PROXY_NO_TIME;
        st->redirect = p->kept && p->states.nelts == p->kept + 1;
        st->time[FY_PROXY_T_CONNECT] = FY_PROXY_NO_TIME;
        st->time[FY_PROXY_T_HEADER] = FY_PROXY_NO_TIME;
        st->time[FY_PROXY_T_RESPONSE] = FY_PROXY_NO_TIME;
    }
    if (st == NULL) {
        if (i >= 0) {
            p->peer = fy_array_elt(&p->u->peers, fy_http_upstream_peer_t, i);
            fy_shm_add(fy_http_up_slots(p->u)[p->peer->shm].active,
                       (uint64_t) -1);
        }
        fy_proxy_fail(p, 500);
        return;
    }
    if (i < 0) {
        st->addr = p->u->name;
        st->status = 502;
        fy_proxy_fail(p, 502);
        return;
    }

    p->peer = fy_array_elt(&p->u->peers, fy_http_upstream_peer_t, i);
    p->peer_index = (unsigned) i;
    p->tried[i] = 1;
    p->tries++;
    /* active counted by the pick */
    p->stats = &fy_http_up_slots(p->u)[p->peer->shm];
    st->addr = p->peer->name;
    st->status = 0;

    p->reused = 0;
    p->uc_requests = 0;
    if (p->u->keepalive) {
        /* https: one made with the same context, for the same name */
        uc = fy_http_upcache_get_tls(p->u, (unsigned) i, fy_proxy_ssl_ctx(p),
                                     p->ssl_name, &p->uc_requests);
        if (uc) {
            p->reused = 1;
            uc->data = p;
            p->uc = uc;
            uc->read.log = uc->write.log = p->r->loc->error_log;
            uc->read.handler = fy_event_ignore;
            uc->write.handler = fy_proxy_send_handler;
            uc->write.ready = 1;
            fy_proxy_timed(p, FY_PROXY_T_CONNECT);   /* 0: it was open */
            /* sent with the turn's other requests (fy_event_process) */
            fy_event_post(&uc->write);
            return;
        }
    }
    fy_proxy_connect_peer(p);
}

/* A new connection to p->peer. */
static void
fy_proxy_connect_peer(fy_http_proxy_t *p)
{
    fy_http_loc_conf_t  *lcf = p->r->loc;
    fy_conn_t           *uc;
    int                  fd, rc;

    fd = socket(p->peer->addr.sa.sa_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "socket() failed" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_fail(p, 502);
        return;
    }

    uc = fy_conn_get(fd);
    if (uc == NULL) {
        close(fd);
        fy_log_error(FY_LOG_ALERT, 0, "worker_connections are not enough "
                     "while connecting to upstream" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_fail(p, 502);
        return;
    }
    uc->data = p;
    uc->read_late = 1;      /* answers are read after the turn's requests */
    uc->read.log = uc->write.log = p->r->loc->error_log;
    p->uc = uc;

    /* proxy_bind, proxy_socket_keepalive (fy_http_proxy_conn.c) */
    if ((lcf->proxy_bind || lcf->proxy_socket_keepalive == 1)
        && fy_proxy_conn_socket(p, fd) != FY_OK)
    {
        fy_proxy_fail(p, 500);
        return;
    }

    rc = connect(fd, (struct sockaddr *) &p->peer->addr, p->peer->addrlen);
    if (rc == -1 && errno != EINPROGRESS) {
        fy_log_error(FY_LOG_ERR, errno, "connect() failed while connecting "
                     "to upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
        return;
    }

    if (fy_conn_register(uc) != FY_OK) {
        fy_proxy_fail(p, 502);
        return;
    }

    uc->read.handler = fy_event_ignore;
    uc->write.handler = fy_proxy_connected;
    fy_timer_add(&uc->write, (uint64_t) lcf->proxy_connect_timeout);

    if (rc == 0) {
        uc->write.ready = 1;
        fy_proxy_connected(&uc->write);
    }
}

static void
fy_proxy_connected(fy_event_t *wev)
{
    fy_conn_t        *uc = wev->data;
    fy_http_proxy_t  *p = uc->data;
    int               err = 0;
    socklen_t         len = sizeof(err);

    if (wev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "connecting to upstream" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        return;
    }

    if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err) {
        fy_log_error(FY_LOG_ERR, err, "connect() failed while connecting "
                     "to upstream" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
        return;
    }

    if (p->https) {
        fy_proxy_ssl_handshake(p);    /* then fy_proxy_send_request */
        return;
    }
    fy_proxy_timed(p, FY_PROXY_T_CONNECT);
    fy_timer_del(wev);
    uc->write.handler = fy_proxy_send_handler;
    fy_proxy_send_request(p);
}
