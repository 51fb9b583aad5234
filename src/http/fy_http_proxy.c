/*
 * fy_http_proxy.c -- proxy_pass: forward a request to an upstream
 * server and stream the response back.
 *
 * One request, one upstream connection (HTTP/1.0 with "Connection:
 * close", nginx's default proxy_http_version).  The states:
 *
 *   connect --> send request header and body --> read response header
 *   --> relay body --> finalize
 *
 * Memory is bounded: one buffer for the request body on its way up
 * and one (proxy_buffer_size) for the response on its way down.  The
 * response buffer is refilled only after the client has taken what is
 * in it, so a slow client slows the upstream instead of growing
 * memory (this is nginx's "proxy_buffering off" behaviour).
 *
 * How the body reaches the client depends on how the upstream framed
 * it and who the client is:
 *   Content-Length        -> passed as is
 *   chunked, 1.1 client   -> passed as is, parsed to find its end
 *   chunked, 1.0 client   -> decoded, connection closed at the end
 *   to close, 1.1 client  -> re-framed as chunked, connection kept
 *   to close, 1.0 client  -> passed as is, connection closed
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_worker.h"
#include "fy_shm.h"

enum {
    FY_PROXY_BODY_NONE = 0,
    FY_PROXY_BODY_LENGTH,
    FY_PROXY_BODY_CHUNKED,
    FY_PROXY_BODY_CLOSE
};

enum {
    FY_PROXY_OUT_RAW = 0,      /* bytes as they came */
    FY_PROXY_OUT_CHUNK,        /* wrap each piece in a chunk */
    FY_PROXY_OUT_DECHUNK       /* send only chunk data */
};

#define FY_PROXY_BODY_BUFFER  16384

struct fy_http_proxy_s {
    fy_http_request_t        *r;
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_conn_t                *uc;          /* upstream connection */
    unsigned                  tries;       /* peers tried so far */
    uint8_t                  *tried;       /* per peer: 1 once tried */
    uint64_t                  first_start; /* fy_current_msec, first try */
    const u_char             *key;         /* hash / ip_hash key */
    size_t                    key_len;
    fy_array_t                states;      /* fy_proxy_state_t, per try */

    fy_buf_t                  req;         /* request header to send */
    fy_buf_t                  body;        /* client body on its way up */
    fy_buf_t                  buf;         /* response on its way down */

    fy_http_parser_t          parser;
    fy_http_chunked_t         chunked;
    int                       body_type;   /* FY_PROXY_BODY_* */
    int                       out;         /* FY_PROXY_OUT_* */
    uint64_t                  rest;        /* LENGTH: bytes still due */
    char                      chunk_hdr[24];
    int                       status;
    uint64_t                  start;       /* fy_current_msec at connect */
    fy_shm_peer_t            *stats;       /* the peer's shared counters
                                              while it counts as active */
    fy_array_t                headers;     /* response header fields */
    struct iovec              hdr;         /* client's response header, not
                                              written yet: it leaves with
                                              the first piece of body */
    unsigned                  status_done:1;
    unsigned                  body_started:1;  /* body bytes consumed */
    unsigned                  reused:1;        /* uc came from the cache */
    unsigned                  framed:1;        /* the response's end is
                                                  known without a close */
    unsigned                  upstream_close:1;/* it said Connection: close */
    unsigned                  peer_index;      /* p->peer in u->peers */
    unsigned                  uc_requests;     /* carried by uc before */
    unsigned                  body_keep:1;     /* the whole body fits in
                                                  p->body: kept for retries */
    unsigned                  request_sent:1;  /* bytes went upstream */
};

/* One try, for $upstream_addr and $upstream_status. */
typedef struct {
    fy_str_t   addr;       /* server, or the upstream name if none */
    int        status;     /* 0 while waiting */
} fy_proxy_state_t;

static uint64_t  fy_proxy_rnd;     /* random balancer state, per worker */

static void fy_proxy_connect(fy_http_proxy_t *p);
static void fy_proxy_connect_peer(fy_http_proxy_t *p);
static void fy_proxy_close_upstream(fy_http_proxy_t *p);
static void fy_proxy_connected(fy_event_t *wev);
static void fy_proxy_send_request(fy_http_proxy_t *p);
static void fy_proxy_send_handler(fy_event_t *ev);
static void fy_proxy_read_header(fy_event_t *rev);
static void fy_proxy_relay(fy_http_proxy_t *p);
static void fy_proxy_relay_read(fy_event_t *rev);
static void fy_proxy_body_written(fy_http_request_t *r);
static void fy_proxy_check_client(fy_event_t *rev);
static int fy_proxy_balancer_key(fy_http_proxy_t *p);
static fy_proxy_state_t *fy_proxy_state(fy_http_proxy_t *p);

/* ", client: 1.2.3.4, request: "GET / HTTP/1.1", upstream: "..."" */
#define FY_PROXY_CTX_FMT  ", client: %s, request: \"%.*s\", upstream: " \
                          "\"http://%.*s%.*s\""
#define FY_PROXY_CTX(p)   (p)->r->hc->addr_text,                          \
                          (int) (p)->r->request_line.len,                 \
                          (char *) (p)->r->request_line.data,             \
                          (int) ((p)->peer ? (p)->peer->name.len : 0),    \
                          (p)->peer ? (char *) (p)->peer->name.data : "", \
                          (int) (p)->r->uri.len, (char *) (p)->r->uri.data

/* $upstream_addr (addr != 0) or $upstream_status: every server tried,
 * ", " between them, as nginx writes them; "-" for a try that got no
 * status.  Returns the length; writes at most size bytes when buf is
 * not NULL. */
static size_t
fy_proxy_states_text(fy_http_proxy_t *p, int addr, u_char *buf, size_t size)
{
    fy_proxy_state_t  *st;
    char               tmp[16];
    size_t             len = 0, n;
    unsigned           i;
    const void        *src;

    for (i = 0; p && i < p->states.nelts; i++) {
        st = fy_array_elt(&p->states, fy_proxy_state_t, i);
        if (i) {
            if (buf && len + 2 <= size) {
                memcpy(buf + len, ", ", 2);
            }
            len += 2;
        }
        if (addr) {
            src = st->addr.data;
            n = st->addr.len;
        } else {
            n = st->status ? (size_t) snprintf(tmp, sizeof(tmp), "%d",
                                               st->status)
                           : (size_t) snprintf(tmp, sizeof(tmp), "-");
            src = tmp;
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
    return fy_proxy_states_text(r->proxy, 1, buf, size);
}

size_t
fy_http_proxy_upstream_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_proxy_states_text(r->proxy, 0, buf, size);
}

static void
fy_proxy_cleanup(void *data)
{
    fy_http_proxy_t  *p = data;
    u_char            addr[512], status[128];
    size_t            alen, slen;

    if (fy_log.level >= FY_LOG_DEBUG && p->states.nelts) {
        alen = fy_min(fy_proxy_states_text(p, 1, addr, sizeof(addr)),
                      sizeof(addr));
        slen = fy_min(fy_proxy_states_text(p, 0, status, sizeof(status)),
                      sizeof(status));
        fy_log_debug("proxy done: upstream_addr \"%.*s\" upstream_status "
                     "\"%.*s\"", (int) alen, addr, (int) slen, status);
    }
    fy_proxy_close_upstream(p);
    fy_buf_release(&p->req);
    fy_buf_release(&p->body);
    fy_buf_release(&p->buf);
}

/* A kept connection that dies before any answer was most likely
 * closed by the server while idle; the request is retried on a new one
 * (fy_proxy_next), so it is no error worth an operator's attention. */
static int
fy_proxy_err_level(fy_http_proxy_t *p)
{
    return p->reused && p->buf.last == p->buf.start ? FY_LOG_DEBUG
                                                    : FY_LOG_ERR;
}

static void
fy_proxy_close_upstream(fy_http_proxy_t *p)
{
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
static void
fy_proxy_fail(fy_http_proxy_t *p, int status)
{
    fy_http_request_t  *r = p->r;
    fy_proxy_state_t   *st = fy_proxy_state(p);

    if (st && st->status == 0) {
        st->status = status;
    }
    fy_proxy_close_upstream(p);
    if (r->header_sent) {
        fy_http_close_connection(r->hc);
        return;
    }
    r->hc->c->read.handler = fy_event_ignore;
    fy_http_send_error(r, status);
}

static int
fy_proxy_skip_header(const fy_str_t *name)
{
    /* hop-by-hop headers and the ones nginx's proxy sets itself */
    static const char *const  skip[] = {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE",
        "Upgrade", "Expect", "Transfer-Encoding", NULL
    };
    const char *const  *s;

    for (s = skip; *s; s++) {
        if (fy_str_eq_ci(name, *s)) {
            return 1;
        }
    }
    return 0;
}

/* Build "METHOD URI HTTP/1.0" + headers into p->req. */
static int
fy_proxy_create_request(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_header_t    *h;
    fy_str_t             uri_tail;
    size_t               size;
    unsigned             i;
    u_char              *q;

    /* Without a URI part the request URI goes up as the client sent
     * it.  With one, the URI part replaces the part of the normalised
     * path the location matched (nothing of it for an exact location),
     * re-escaped, and the arguments follow (nginx). */
    uri_tail = r->uri;
    if (lcf->proxy_uri_set) {
        fy_str_t  rest = r->path;
        size_t    n;

        if (lcf->exact || rest.len < lcf->name.len) {
            rest.len = 0;
        } else {
            rest.data += lcf->name.len;
            rest.len -= lcf->name.len;
        }
        n = fy_http_escape_path(NULL, rest.data, rest.len);
        uri_tail.data = fy_palloc(r->pool, n + 1 + r->args.len);
        if (uri_tail.data == NULL) {
            return FY_ERROR;
        }
        uri_tail.len = fy_http_escape_path(uri_tail.data, rest.data,
                                           rest.len);
        if (r->args.data) {
            uri_tail.data[uri_tail.len++] = '?';
            memcpy(uri_tail.data + uri_tail.len, r->args.data, r->args.len);
            uri_tail.len += r->args.len;
        }
    }

    size = r->method_name.len + 1 + lcf->proxy_uri.len + uri_tail.len
           + sizeof(" HTTP/1.0\r\n") + sizeof("Host: \r\n")
           + lcf->proxy_host.len + sizeof("Connection: upgrade\r\n")
           + sizeof("Upgrade: \r\n") + r->upgrade.len
           + sizeof("Content-Length: \r\n") + 20 + 2;
    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        size += h->name.len + h->value.len + 4;
    }

    if (fy_buf_alloc(&p->req, size) != FY_OK) {
        return FY_ERROR;
    }
    q = p->req.last;

#define fy_cpy(s, n)  (memcpy(q, (s), (n)), q += (n))

    fy_cpy(r->method_name.data, r->method_name.len);
    *q++ = ' ';
    if (lcf->proxy_uri_set) {
        fy_cpy(lcf->proxy_uri.data, lcf->proxy_uri.len);
    }
    fy_cpy(uri_tail.data, uri_tail.len);
    if (r->upgrade.len) {
        /* an upgrade needs HTTP/1.1 and its two headers passed on */
        fy_cpy(" HTTP/1.1\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\nConnection: upgrade\r\nUpgrade: ", 32);
        fy_cpy(r->upgrade.data, r->upgrade.len);
        fy_cpy("\r\n", 2);
    } else if (p->u->keepalive) {
        /* kept-alive upstream connections need HTTP/1.1, whose default
         * is to stay open (nginx needs proxy_http_version 1.1 and an
         * empty Connection header set by hand for this) */
        fy_cpy(" HTTP/1.1\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\n", 2);
    } else {
        fy_cpy(" HTTP/1.0\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\nConnection: close\r\n", 21);
    }

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_proxy_skip_header(&h->name)
            || fy_str_eq_ci(&h->name, "Content-Length"))
        {
            continue;
        }
        fy_cpy(h->name.data, h->name.len);
        fy_cpy(": ", 2);
        fy_cpy(h->value.data, h->value.len);
        fy_cpy("\r\n", 2);
    }
    if (r->content_length >= 0) {
        q += sprintf((char *) q, "Content-Length: %lld\r\n",
                     (long long) r->content_length);
    }
    fy_cpy("\r\n", 2);

#undef fy_cpy

    p->req.last = q;
    return FY_OK;
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
        } else {
            p->key = sa->sin6_addr.s6_addr;
            p->key_len = 16;
        }
    }
    return FY_OK;
}

void
fy_http_proxy_handler(fy_http_request_t *r)
{
    fy_http_proxy_t  *p;

    p = fy_pcalloc(r->pool, sizeof(fy_http_proxy_t));
    if (p == NULL || fy_pool_cleanup_add(r->pool, fy_proxy_cleanup, p)
                     != FY_OK)
    {
        fy_http_send_error(r, 500);
        return;
    }
    p->r = r;
    p->u = r->loc->upstream;
    r->proxy = p;

    if (fy_proxy_create_request(p) != FY_OK) {
        fy_http_send_error(r, 500);
        return;
    }

    fy_array_init(&p->states, r->pool, 2, sizeof(fy_proxy_state_t));
    p->tried = fy_pcalloc(r->pool, p->u->peers.nelts);
    if (p->tried == NULL || fy_proxy_balancer_key(p) != FY_OK)
    {
        fy_http_send_error(r, 500);
        return;
    }

    /* While the upstream works, notice a client that goes away. */
    r->hc->c->read.handler = fy_proxy_check_client;

    /* A small body is read into one buffer and kept, so that it can be
     * sent again to another server; a bigger one is streamed, and once
     * it has started the request cannot move on. */
    p->body_keep = r->content_length >= 0
                   && r->content_length <= FY_PROXY_BODY_BUFFER;
    p->first_start = fy_current_msec;
    fy_proxy_connect(p);
}

/* Whether a request may go on to another server after failing with
 * ft (FY_HTTP_NEXT_*): proxy_next_upstream allows it, nothing reached
 * the client, the body can be sent again, a non-idempotent request was
 * not already sent, tries and time are left, and some server not yet
 * tried can take it. */
static int
fy_proxy_can_retry(fy_http_proxy_t *p, unsigned ft)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_bal_ctx_t    bc;
    unsigned             i;

    if (!(lcf->next_upstream & ft) || (p->body_started && !p->body_keep)
        || r->header_sent)
    {
        return 0;
    }
    /* nginx's rule: POST, PATCH (and methods it does not know) may
     * have changed something upstream once they were sent */
    if (p->request_sent && !(lcf->next_upstream & FY_HTTP_NEXT_NON_IDEMPOTENT)
        && (r->method == FY_HTTP_POST || r->method == FY_HTTP_PATCH
            || r->method == FY_HTTP_UNKNOWN))
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
    bc.shm = fy_shm->peers;
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

static fy_proxy_state_t *
fy_proxy_state(fy_http_proxy_t *p)
{
    return p->states.nelts
           ? fy_array_elt(&p->states, fy_proxy_state_t, p->states.nelts - 1)
           : NULL;
}

/*
 * The current server failed with ft (FY_HTTP_NEXT_*) before anything
 * reached the client.  Counts the failure where nginx does (error,
 * timeout and invalid_header always; http_5xx and http_429 when they
 * are in proxy_next_upstream -- the only way to get here with them;
 * http_403 and http_404 never), then tries the next server if allowed,
 * else answers 502, or 504 after a timeout.
 */
static void
fy_proxy_next(fy_http_proxy_t *p, unsigned ft)
{
    fy_proxy_state_t  *st = fy_proxy_state(p);
    int                status = ft == FY_HTTP_NEXT_TIMEOUT ? 504 : 502;

    if (p->reused && ft == FY_HTTP_NEXT_ERROR && p->buf.last == p->buf.start
        && !p->r->header_sent && (!p->body_started || p->body_keep))
    {
        /* A kept connection the server closed while it was idle (the
         * close crossed our request).  Not the server's fault, and not
         * a try: once more on a new connection to the same server. */
        fy_log_debug("kept upstream connection was closed, reconnecting"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_conn_close(p->uc);
        p->uc = NULL;
        p->reused = 0;
        p->req.pos = p->req.start;
        p->body.pos = p->body.start;
        p->request_sent = 0;
        fy_proxy_connect_peer(p);
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
        fy_shm_add(fy_shm->peers[p->peer->shm].retries, 1);
        p->req.pos = p->req.start;
        p->body.pos = p->body.start;
        p->request_sent = 0;
        fy_proxy_connect(p);
        return;
    }
    fy_proxy_fail(p, status);
}

/* Pick a server; log "no live upstreams" once per outage, not once per
 * request, and say when servers are back. */
static int
fy_proxy_pick(fy_http_proxy_t *p)
{
    fy_shm_upstream_t  *su = &fy_shm->upstreams[p->u->index];
    fy_http_bal_ctx_t   bc;
    int                 i;

    memset(&bc, 0, sizeof(bc));
    bc.u = p->u;
    bc.shm = fy_shm->peers;
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

    i = fy_proxy_pick(p);
    st = fy_array_push(&p->states);
    if (st == NULL) {
        if (i >= 0) {
            p->peer = fy_array_elt(&p->u->peers, fy_http_upstream_peer_t, i);
            fy_shm_add(fy_shm->peers[p->peer->shm].active, (uint64_t) -1);
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
    p->start = fy_current_msec;
    p->stats = &fy_shm->peers[p->peer->shm];   /* active counted by the pick */
    st->addr = p->peer->name;
    st->status = 0;

    p->reused = 0;
    p->uc_requests = 0;
    if (p->u->keepalive) {
        uc = fy_http_upcache_get(p->u, (unsigned) i, &p->uc_requests);
        if (uc) {
            p->reused = 1;
            uc->data = p;
            p->uc = uc;
            uc->read.handler = fy_event_ignore;
            uc->write.handler = fy_proxy_send_handler;
            uc->write.ready = 1;
            fy_proxy_send_request(p);
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

    fd = socket(p->peer->addr.sin6_family,
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
    p->uc = uc;

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

    fy_timer_del(wev);
    uc->write.handler = fy_proxy_send_handler;
    fy_proxy_send_request(p);
}

/* Called when the upstream is writable or the client readable while
 * the request (header, then body) goes up. */
static void
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
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "%s timed out while sending "
                     "request to upstream" FY_PROXY_CTX_FMT,
                     ev->write ? "upstream" : "client", FY_PROXY_CTX(p));
        if (ev->write) {
            fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        } else {
            fy_http_close_connection(p->r->hc);
        }
        return;
    }
    fy_proxy_send_request(p);
}

static void
fy_proxy_send_request(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_conn_t           *uc = p->uc;
    fy_buf_t            *out;
    ssize_t              n;
    size_t               k;

    for ( ;; ) {
        /* what to write: the header first, then buffered body bytes */
        out = fy_buf_size(&p->req) ? &p->req : &p->body;

        if (fy_buf_size(out)) {
            n = send(uc->fd, out->pos, fy_buf_size(out), MSG_NOSIGNAL);
            if (n > 0) {
                out->pos += n;
                p->request_sent = 1;
                fy_shm_add(p->stats->bytes_out, (uint64_t) n);
                continue;
            }
            if (n == -1 && errno == EINTR) {
                continue;
            }
            if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                uc->write.ready = 0;
                fy_timer_add(&uc->write, (uint64_t) lcf->proxy_send_timeout);
                return;
            }
            fy_log_error(fy_proxy_err_level(p), errno, "send() failed while sending "
                         "request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
            return;
        }

        if (r->body_rest == 0) {
            break;
        }

        /* refill the body buffer: bytes that came with the header
         * first, then from the client socket */
        if (p->body.start == NULL
            && fy_buf_alloc(&p->body, FY_PROXY_BODY_BUFFER) != FY_OK)
        {
            fy_proxy_fail(p, 500);
            return;
        }
        if (!p->body_keep) {
            fy_buf_reset(&p->body);
        }
        p->body_started = 1;

        k = fy_min(fy_buf_size(&hc->in), r->body_rest);
        if (k) {
            k = fy_min(k, fy_buf_free(&p->body));
            memcpy(p->body.last, hc->in.pos, k);
            hc->in.pos += k;
            r->request_length += k;
            p->body.last += k;
            r->body_rest -= k;
            continue;
        }

        n = fy_conn_recv(hc->c, p->body.last,
                         fy_min(fy_buf_free(&p->body), r->body_rest));
        if (n > 0) {
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            r->request_length += (uint64_t) n;
            p->body.last += n;
            r->body_rest -= (uint64_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
            hc->c->read.handler = fy_proxy_send_handler;
            fy_timer_add(&hc->c->read, 60000);
            fy_timer_del(&uc->write);
            return;
        }
        /* the client went away in the middle of its body */
        fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely "
                     "closed connection while sending request body"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_http_close_connection(hc);
        return;
    }

    /* everything is up: wait for the response */
    fy_timer_del(&uc->write);
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_proxy_check_client;
    uc->write.handler = fy_event_ignore;
    uc->read.handler = fy_proxy_read_header;
    fy_timer_add(&uc->read, (uint64_t) lcf->proxy_read_timeout);

    if (p->buf.start == NULL
        && fy_buf_alloc(&p->buf, lcf->proxy_buffer_size) != FY_OK)
    {
        fy_proxy_fail(p, 500);
        return;
    }
    fy_http_parser_init(&p->parser);
    fy_buf_reset(&p->buf);
    p->status_done = 0;
    fy_array_init(&p->headers, p->r->pool, 16, sizeof(fy_http_header_t));

    if (uc->read.ready) {
        fy_proxy_read_header(&uc->read);
    }
}

/* A client that closes while we wait for the upstream: nginx's
 * "client prematurely closed connection" (status 499 in its logs). */
static void
fy_proxy_check_client(fy_event_t *rev)
{
    fy_conn_t        *c = rev->data;
    fy_http_conn_t   *hc = c->data;
    char              ch;
    ssize_t           n;

    if (!rev->eof && !rev->error) {
        return;     /* pipelined bytes: they wait in the socket */
    }
    n = fy_conn_peek(c, (u_char *) &ch, 1);
    if (n == 0 || n == FY_ERROR) {
        fy_log_error(FY_LOG_INFO, 0, "client %s prematurely closed "
                     "connection while waiting for upstream",
                     hc->addr_text);
        if (hc->r && !hc->r->header_sent) {
            hc->r->status = 499;    /* nginx's code for this, in the log */
        }
        fy_http_close_connection(hc);
    }
}

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

/* The header is parsed: decide framing, send the client its header. */
static void
fy_proxy_process_header(fy_http_proxy_t *p)
{
    fy_array_t         *headers = &p->headers;
    fy_http_request_t  *r = p->r;
    fy_http_header_t   *h;
    const char         *conn, *line;
    char               *hdr, *q, code[4];
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

    q = hdr;
    if (p->parser.status_text_end > p->parser.status_text_start
        || line == NULL)
    {
        /* the upstream's own reason phrase, as nginx passes it */
        snprintf(code, sizeof(code), "%03d", p->status);
        q += sprintf(q, "HTTP/1.1 %s %.*s\r\n", code,
                     (int) (p->parser.status_text_end
                            - p->parser.status_text_start),
                     (char *) p->parser.status_text_start);
    } else {
        q += sprintf(q, "HTTP/1.1 %.*s\r\n", (int) llen, line);
    }
    q += sprintf(q, "Server: ferry\r\nDate: %s\r\n", fy_http_date);

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
        q += sprintf(q, "Transfer-Encoding: chunked\r\n");
    }
    q += sprintf(q, "Connection: %s\r\n\r\n",
                 p->status == 101 ? "upgrade" : conn);

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

static void
fy_proxy_read_header(fy_event_t *rev)
{
    fy_conn_t        *uc = rev->data;
    fy_http_proxy_t  *p = uc->data;
    size_t            rest;
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

        n = recv(uc->fd, p->buf.last, fy_buf_free(&p->buf), 0);
        if (n > 0) {
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
        fy_log_error(fy_proxy_err_level(p), n == 0 ? 0 : errno, "upstream prematurely "
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

        /* FY_AGAIN: the buffer is used up; read more */
        fy_buf_reset(&p->buf);
        n = recv(uc->fd, p->buf.last, fy_buf_free(&p->buf), 0);
        if (n > 0) {
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
