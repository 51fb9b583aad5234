/*
 * fy_stream_proxy.c -- one stream session: a client connection handed
 * over by the master on a stream listener, proxied to a server of its
 * upstream.
 *
 *   allow/deny  ->  pick a server (http's balancers, shared state)
 *               ->  nonblocking connect, proxy_connect_timeout
 *                   (failure: passive health, then the next server while
 *                   proxy_next_upstream, _tries and _timeout allow)
 *               ->  relay both ways until both sides have closed
 *
 * The relay is two pumps, one buffer of proxy_buffer_size each way: a
 * pump writes out what its buffer holds and only reads more when it
 * is empty, so a slow reader holds back its writer and memory stays at
 * two buffers.  A FIN from one side is passed on with shutdown(SHUT_WR)
 * once everything before it was delivered, and the other direction
 * goes on (half-close; on a TLS connection close_notify, then the
 * FIN: fy_conn_shutdown_write); the session ends when both directions
 * have ended, when a socket fails, or when nothing moved for
 * proxy_timeout.  The pumps read and write with fy_conn_recv /
 * fy_conn_send, plain or TLS (listen ... ssl, proxy_ssl) alike.
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_http_balancer.h"
#include "fy_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static uint64_t  fy_stream_rnd;     /* random balancer state, per worker */

static void fy_stream_relay(fy_stream_session_t *s);
static void fy_stream_relay_handler(fy_event_t *ev);
static void fy_stream_pp_handler(fy_event_t *ev);
static void fy_stream_start(fy_stream_session_t *s);
static int fy_stream_use_server(fy_stream_session_t *s,
    fy_stream_srv_conf_t *scf);
static void fy_stream_realip(fy_stream_session_t *s);

/* End the session: log it, close both sides, give back what it held. */
void
fy_stream_finalize(fy_stream_session_t *s, unsigned status)
{
    fy_shm_peer_t  *sp;

    if (s->status == 0) {
        s->status = status;
    }
    /* the server is free again before the log line is written, so a
     * client that saw the line finds least_conn's count up to date */
    if (s->uc) {
        fy_conn_close(s->uc);
        s->uc = NULL;
    }
    if (s->peer) {
        sp = &fy_http_up_slots(s->u)[s->peer->shm];
        fy_shm_add(sp->active, (uint64_t) -1);      /* counted by the pick */
        fy_shm_add(sp->bytes_out, s->up_sent);
        fy_shm_add(sp->bytes_in, s->up_received);
    }
    fy_stream_log_session(s);     /* before the client's close: $server_addr */
    fy_shm_add(fy_worker_slot->bytes_in, s->bytes_received);
    fy_shm_add(fy_worker_slot->bytes_out, s->bytes_sent);
    if (s->udp) {
        /* the client's "connection" is the listening socket, shared */
        fy_stream_udp_done(s);
    } else {
        fy_conn_close(s->c);
    }
    fy_shm_add(fy_worker_slot->active, (uint64_t) -1);
    fy_buf_release(&s->up);
    fy_buf_release(&s->down);
    fy_pool_destroy(s->pool);
}

int
fy_stream_access(fy_stream_session_t *s)
{
    fy_array_t               *rules = s->scf->access;
    fy_stream_access_rule_t  *rule;
    const uint8_t            *addr;
    unsigned                  i, n;
    int                       family;

    if (rules == NULL) {
        return FY_OK;
    }
    /* a unix-domain client has no address: only "all" rules apply */
    addr = fy_http_cidr_addr(&s->c->addr, &family, &n);
    for (i = 0; i < rules->nelts; i++) {
        rule = fy_array_elt(rules, fy_stream_access_rule_t, i);
        if (rule->cidr.family != 0
            && !fy_http_cidr_match(&rule->cidr, family, addr, n))
        {
            continue;
        }
        if (rule->deny) {
            fy_log_error(FY_LOG_ERR, 0, "access forbidden by rule, client: "
                         "%s, server: %s", s->addr_text, s->ls->text);
            return FY_ERROR;
        }
        return FY_OK;
    }
    return FY_OK;
}

void
fy_stream_init_connection(fy_conn_t *c, fy_listen_t *ls)
{
    fy_stream_session_t   *s;
    fy_stream_srv_conf_t  *scf = ls->stream;
    fy_stream_listen_t    *l = ls->stream_listen;
    fy_pool_t             *pool;

    fy_shm_add(fy_worker_slot->active, 1);
    fy_shm_add(fy_worker_slot->handled, 1);

    pool = fy_pool_create(2048);
    s = pool ? fy_pcalloc(pool, sizeof(fy_stream_session_t)) : NULL;
    if (s) {
        s->pool = pool;
        s->c = c;
        s->ls = ls;
    }
    if (s == NULL || fy_stream_use_server(s, scf) != FY_OK) {
        fy_log_error(FY_LOG_ALERT, 0, "cannot allocate a stream session");
        fy_pool_destroy(pool);
        fy_conn_close(c);
        fy_shm_add(fy_worker_slot->active, (uint64_t) -1);
        return;
    }
    s->start = fy_current_msec;
    s->connect_time = -1;
    s->first_byte = -1;
    s->serial = fy_shm_add(fy_shm->connection_serial, 1) + 1;
    fy_sockaddr_text((struct sockaddr *) &c->addr, c->addrlen, s->addr_text,
                     sizeof(s->addr_text), 0);

    c->data = s;
    /* nothing is read from the client before a server is connected:
     * its bytes wait in the socket, and the relay's first pass takes
     * them (edge-triggered epoll would not report them again) */
    c->read.handler = fy_event_ignore;
    c->write.handler = fy_event_ignore;

    if (fy_conn_register(c) != FY_OK) {
        fy_stream_finalize(s, 500);
        return;
    }
    if (l && l->proxy_protocol) {
        c->read.handler = fy_stream_pp_handler;
        fy_timer_add(&c->read, (uint64_t) scf->pp_timeout);
        fy_stream_pp_handler(&c->read);
        return;
    }
    fy_stream_start(s);
}

/* scf's settings become the session's: its upstream (with a tried
 * mark per server) and its error_log (NULL: the main one).  FY_OK, or
 * FY_ERROR (no memory). */
static int
fy_stream_use_server(fy_stream_session_t *s, fy_stream_srv_conf_t *scf)
{
    s->scf = scf;
    s->u = scf->upstream;       /* NULL: proxy_pass $var, found later */
    s->su = s->u ? fy_stream_upstream_of(fy_worker_cycle->stream, s->u)
                 : NULL;
    s->tried = NULL;
    if (s->u) {
        s->tried = fy_pcalloc(s->pool, s->u->peers.nelts);
        if (s->tried == NULL) {
            return FY_ERROR;
        }
    }
    s->c->read.log = s->c->write.log = scf->error_log;
    fy_log_cur = scf->error_log;
    return FY_OK;
}

int
fy_stream_virtual(fy_stream_session_t *s, const fy_str_t *host)
{
    fy_stream_srv_conf_t  *scf;

    scf = fy_http_names_find(&s->ls->servers,
                             offsetof(fy_stream_srv_conf_t, sn), host, NULL);
    if (scf == NULL || scf == s->scf) {
        return FY_OK;
    }
    return fy_stream_use_server(s, scf);     /* its settings from now on */
}

/* listen ... proxy_protocol: the header first, within
 * proxy_protocol_timeout; broken or late: 400, closed. */
static void
fy_stream_pp_handler(fy_event_t *ev)
{
    fy_conn_t            *c = ev->data;
    fy_stream_session_t  *s = c->data;
    int                   rc;

    if (ev->timedout) {
        ev->timedout = 0;
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "client timed out while "
                     "reading PROXY protocol header, client: %s",
                     s->addr_text);
        fy_stream_finalize(s, 400);
        return;
    }
    rc = fy_pp_read(c->fd, &s->pp, s->addr_text);
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        fy_stream_finalize(s, 400);
        return;
    }
    fy_timer_del(&c->read);
    c->read.handler = fy_event_ignore;
    if (s->scf->realip_from) {
        fy_stream_realip(s);
    }
    fy_stream_start(s);
}

/*
 * set_real_ip_from (nginx's stream realip module): when the peer that
 * sent the PROXY header is trusted, the client is the header's address
 * and port, from here on ($remote_addr, $remote_port, allow/deny,
 * limit_conn, hash keys, the PROXY line sent on, the "client" of log
 * lines); $realip_remote_addr and _port keep the peer's.  A header
 * without an address (UNKNOWN, LOCAL) changes nothing.
 */
static void
fy_stream_realip(fy_stream_session_t *s)
{
    fy_conn_t           *c = s->c;
    struct sockaddr_in6  sa;
    socklen_t            salen;
    const uint8_t       *addr;
    unsigned             n;
    int                  family;

    addr = fy_http_cidr_addr(&c->addr, &family, &n);
    if (s->pp.addr[0] == '\0'
        || !fy_http_realip_trusted(s->scf->realip_from, family, addr, n)
        || fy_http_realip_parse((u_char *) s->pp.addr, strlen(s->pp.addr),
                                &sa, &salen) != FY_OK)
    {
        return;
    }
    sa.sin6_port = htons((uint16_t) s->pp.port);
    s->real_addr = c->addr;
    s->real_addrlen = c->addrlen;
    s->realip = 1;
    c->addr = sa;
    c->addrlen = salen;
    fy_sockaddr_text((struct sockaddr *) &c->addr, c->addrlen, s->addr_text,
                     sizeof(s->addr_text), 0);
}

/* set, limit_conn, the access rules, then the ssl phase (the TLS handshake
 * on a "listen ... ssl", fy_stream_ssl.c). */
static void
fy_stream_start(fy_stream_session_t *s)
{
    unsigned  status;

    /* nginx's phases: preaccess (set, limit_conn), access, ssl,
     * preread */
    if (s->scf->sets && fy_stream_set_run(s) != FY_OK) {
        fy_stream_finalize(s, 500);
        return;
    }
    if (s->scf->limit_conns) {
        status = fy_stream_limit_conn(s);
        if (status) {
            fy_stream_finalize(s, status);
            return;
        }
    }
    if (fy_stream_access(s) != FY_OK) {
        fy_stream_finalize(s, 403);
        return;
    }
    fy_stream_ssl_handshake(s);
}

/* After the ssl phase: the buffers, then the preread phase
 * (ssl_preread) or at once the first server. */
void
fy_stream_after_ssl(fy_stream_session_t *s)
{
    size_t  up;

    /* room for a PROXY protocol line whatever proxy_buffer_size is,
     * in front of what the preread phase may have read */
    up = fy_max(s->scf->buffer_size, 128);
    if (s->scf->ssl_preread) {
        up = fy_max(up, s->scf->preread_buffer_size + 128);
    }
    if (fy_buf_alloc(&s->up, up) != FY_OK
        || fy_buf_alloc(&s->down, s->scf->buffer_size) != FY_OK)
    {
        fy_stream_finalize(s, 500);
        return;
    }
    if (s->scf->ssl_preread) {
        fy_stream_preread(s);
        return;
    }
    fy_stream_connect(s);
}

/* Pick a server; "no live upstreams" once per outage, as http does. */
int
fy_stream_pick(fy_stream_session_t *s)
{
    fy_shm_upstream_t  *su = fy_http_up_shared(s->u);
    fy_http_bal_ctx_t   bc;
    u_char             *key;
    int                 i;

    memset(&bc, 0, sizeof(bc));
    bc.u = s->u;
    bc.shm = fy_http_up_slots(s->u);
    bc.tried = s->tried;
    bc.now = fy_wall_msec;
    bc.rnd = &fy_stream_rnd;
    if (s->su && s->su->hash_key) {
        key = fy_palloc(s->pool, 256);
        if (key == NULL) {
            return -1;
        }
        bc.key = key;
        bc.key_len = fy_stream_cv_eval(s, s->su->hash_key, key, 256);
    }

    i = fy_http_balancer_get(&bc, &su->lock);

    if (i < 0 && s->tries == 0) {
        if (!__atomic_exchange_n(&su->no_live, 1, __ATOMIC_RELAXED)) {
            fy_log_error(FY_LOG_ERR, 0, "no live upstreams in upstream "
                         "\"%.*s\" (logged once until one is back), "
                         "client: %s, server: %s", (int) s->u->name.len,
                         (char *) s->u->name.data, s->addr_text,
                         s->ls->text);
        }
    } else if (i >= 0 && fy_shm_get(su->no_live)
               && __atomic_exchange_n(&su->no_live, 0, __ATOMIC_RELAXED))
    {
        fy_log_error(FY_LOG_NOTICE, 0, "upstream \"%.*s\" has live servers "
                     "again", (int) s->u->name.len, (char *) s->u->name.data);
    }
    return i;
}

/* The try on s->peer failed: count it against the server, close the
 * connection, and go on to the next server if the configuration lets
 * the session. */
void
fy_stream_next(fy_stream_session_t *s)
{
    fy_stream_srv_conf_t  *scf = s->scf;

    fy_http_peer_failed(s->u, s->peer);
    fy_conn_close(s->uc);
    s->uc = NULL;
    fy_shm_add(fy_http_up_slots(s->u)[s->peer->shm].active, (uint64_t) -1);

    if (scf->next_upstream
        && (scf->next_upstream_tries == 0
            || s->tries < (unsigned) scf->next_upstream_tries)
        && (scf->next_upstream_timeout == 0
            || fy_current_msec - s->start
               < (uint64_t) scf->next_upstream_timeout))
    {
        fy_shm_add(fy_http_up_slots(s->u)[s->peer->shm].retries, 1);
        s->peer = NULL;
        fy_stream_connect(s);
        return;
    }
    s->peer = NULL;
    fy_stream_finalize(s, 502);
}

/*
 * proxy_protocol on: the PROXY protocol version 1 line that goes to
 * the server before the client's first byte:
 *   PROXY TCP4 SRC DST SRCPORT DSTPORT\r\n   (TCP6 for IPv6)
 *   PROXY UNKNOWN\r\n                         (a unix-domain client)
 * At most 107 bytes, which the buffer always has room for: nothing
 * was read from the client before this but what the preread phase
 * read, at most preread_buffer_size bytes, and the buffer is 128 bytes
 * larger then (fy_stream_start); those bytes are moved behind it.
 */
static void
fy_stream_proxy_protocol(fy_stream_session_t *s)
{
    fy_sockaddr_t  local;
    socklen_t      len = sizeof(local);
    char           src[FY_SOCKADDR_STRLEN], dst[FY_SOCKADDR_STRLEN];
    char           line[128];
    int            family = s->c->addr.sin6_family, n;
    fy_buf_t      *b = &s->up;

    if (family == AF_UNIX
        || getsockname(s->c->fd, &local.sa, &len) == -1
        || local.sa.sa_family != family)
    {
        n = snprintf(line, sizeof(line), "PROXY UNKNOWN\r\n");
    } else {
        fy_sockaddr_text((struct sockaddr *) &s->c->addr, s->c->addrlen,
                         src, sizeof(src), 0);
        fy_sockaddr_text(&local.sa, len, dst, sizeof(dst), 0);
        n = snprintf(line, sizeof(line), "PROXY %s %s %s %u %u\r\n",
                     family == AF_INET ? "TCP4" : "TCP6", src, dst,
                     ntohs(s->c->addr.sin6_port),
                     ntohs(local.sin6.sin6_port));
    }
    if (n <= 0 || (size_t) n >= sizeof(line)) {
        return;
    }
    fy_buf_compact(b);
    if (fy_buf_free(b) < (size_t) n) {
        return;     /* not reached: see above */
    }
    memmove(b->pos + n, b->pos, fy_buf_size(b));
    memcpy(b->pos, line, (size_t) n);
    b->last += n;
}

/*
 * tcp_nodelay (on by default, as nginx): a relay passes each piece on
 * as it comes, and Nagle would hold a small one back until the
 * previous one is acknowledged - a request/response protocol (a
 * database's, say) behind the proxy would wait for delayed ACKs.  On
 * TCP sockets only, both sides.
 */
static void
fy_stream_nodelay(fy_stream_session_t *s, int fd, int family)
{
    int  one = 1;

    if ((family == AF_INET || family == AF_INET6)
        && setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == -1)
    {
        fy_log_error(FY_LOG_INFO, errno, "setsockopt(TCP_NODELAY) failed, "
                     "client: %s", s->addr_text);
    }
}

/* TCP is up: with proxy_ssl the TLS handshake first, under the same
 * proxy_connect_timeout (as nginx), then the relay. */
static void
fy_stream_connected(fy_stream_session_t *s)
{
    if (s->scf->proxy_ssl) {
        fy_stream_proxy_ssl_handshake(s);
        return;
    }
    fy_stream_relay_start(s);
}

void
fy_stream_relay_start(fy_stream_session_t *s)
{
    fy_conn_t  *uc = s->uc, *c = s->c;

    fy_timer_del(&uc->write);
    fy_http_peer_succeeded(s->u, s->peer);
    s->connect_time = (int64_t) (fy_current_msec - s->connect_start);
    if (s->scf->tcp_nodelay) {
        fy_stream_nodelay(s, c->fd, c->addr.sin6_family);
        fy_stream_nodelay(s, uc->fd, s->peer->addr.sa.sa_family);
    }
    if (s->scf->proxy_protocol) {
        fy_stream_proxy_protocol(s);
    }

    c->read.handler = fy_stream_relay_handler;
    c->write.handler = fy_stream_relay_handler;
    uc->read.handler = fy_stream_relay_handler;
    uc->write.handler = fy_stream_relay_handler;
    /* proxy_timeout: one timer for the session, re-armed whenever a
     * byte moves either way */
    fy_timer_add(&c->read, (uint64_t) s->scf->timeout);
    fy_stream_relay(s);
}

static void
fy_stream_connect_handler(fy_event_t *ev)
{
    fy_conn_t            *uc = ev->data;
    fy_stream_session_t  *s = uc->data;
    int                   err = 0;
    socklen_t             len = sizeof(err);

    if (ev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "connecting to upstream, client: %s, server: %s, "
                     "upstream: \"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_stream_next(s);
        return;
    }
    if (!ev->write && !ev->error && !ev->eof) {
        return;     /* wait for the connect's result */
    }
    if (getsockopt(uc->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err) {
        fy_log_error(FY_LOG_ERR, err, "connect() failed while connecting "
                     "to upstream, client: %s, server: %s, upstream: "
                     "\"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_stream_next(s);
        return;
    }
    fy_stream_connected(s);
}

void
fy_stream_add_addr(fy_stream_session_t *s)
{
    size_t  room = sizeof(s->up_addrs) - s->up_addrs_len;
    int     n;

    /* $upstream_addr: every server tried, ", " between them */
    n = snprintf(s->up_addrs + s->up_addrs_len, room, "%s%.*s",
                 s->up_addrs_len ? ", " : "", (int) s->peer->name.len,
                 (char *) s->peer->name.data);
    if (n > 0) {
        s->up_addrs_len += fy_min((size_t) n, room - 1);
    }
}

int
fy_stream_bind(fy_stream_session_t *s, int fd)
{
    fy_stream_srv_conf_t  *scf = s->scf;
    fy_sockaddr_t          addr;
    socklen_t              addrlen = scf->bind_len;
    u_char                 text[FY_SOCKADDR_STRLEN];
    size_t                 len;

    addr = scf->bind;
    if (scf->bind_cv) {
        len = fy_stream_cv_eval(s, scf->bind_cv, text, sizeof(text));
        if (len == 0) {
            return FY_OK;               /* nothing to bind to (nginx) */
        }
        if (fy_http_bind_addr(text, len, &addr, &addrlen) != FY_OK) {
            fy_log_error(FY_LOG_ERR, 0, "invalid local address \"%.*s\", "
                         "client: %s", (int) len, (char *) text,
                         s->addr_text);
            return FY_OK;               /* nginx connects unbound then */
        }
        if (addr.sa.sa_family != s->peer->addr.sa.sa_family) {
            /* bind() would fail: no IPv4 local end to an IPv6 server */
            fy_log_error(FY_LOG_ERR, 0, "proxy_bind address \"%.*s\" is "
                         "not of the upstream's family, not bound, "
                         "client: %s", (int) len, (char *) text,
                         s->addr_text);
            return FY_OK;
        }
    }
    if (addr.sa.sa_family == 0) {
        return FY_OK;
    }
    if (bind(fd, &addr.sa, addrlen) == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "bind() to proxy_bind address "
                     "failed, client: %s", s->addr_text);
        return FY_ERROR;
    }
    return FY_OK;
}

/*
 * proxy_pass $var: the upstream the value names, when the session
 * first needs one (after the preread phase, so $ssl_preread_* are
 * known).  An upstream block's name, or an address a map gives (made
 * an upstream when the configuration was read:
 * fy_stream_map_address); nothing is resolved or made here.
 */
int
fy_stream_resolve(fy_stream_session_t *s)
{
    fy_stream_main_conf_t  *smcf = fy_worker_cycle->stream;
    fy_stream_upstream_t   *su;
    u_char                  name[FY_UPSTREAM_NAME_MAX + 1];
    size_t                  len;
    unsigned                i;

    len = fy_stream_cv_eval(s, s->scf->upstream_cv, name, sizeof(name));
    for (i = 0; len && i < smcf->upstreams.nelts; i++) {
        su = fy_array_elt(&smcf->upstreams, fy_stream_upstream_t, i);
        if (su->u->name.len == len
            && strncasecmp((char *) su->u->name.data, (char *) name, len)
               == 0)
        {
            s->tried = fy_pcalloc(s->pool, su->u->peers.nelts);
            if (s->tried == NULL) {
                return FY_ERROR;
            }
            s->u = su->u;
            s->su = su;
            return FY_OK;
        }
    }
    /* no upstream of that name: an address, or a name for the resolver
     * (fy_stream_resolve_target) */
    return fy_stream_resolve_target(s, name, len);
}

int
fy_stream_choose(fy_stream_session_t *s)
{
    int  i, rc;

    if (s->u == NULL) {
        rc = fy_stream_resolve(s);
        if (rc != FY_OK) {
            return rc;                  /* FY_AGAIN: the resolver asked */
        }
    }
    i = fy_stream_pick(s);
    if (i < 0) {
        return FY_ERROR;
    }
    s->peer = fy_array_elt(&s->u->peers, fy_http_upstream_peer_t, i);
    s->tried[i] = 1;
    s->tries++;
    s->connect_start = fy_current_msec;
    fy_stream_add_addr(s);
    return FY_OK;
}

void
fy_stream_connect(fy_stream_session_t *s)
{
    fy_stream_srv_conf_t  *scf = s->scf;
    fy_conn_t             *uc;
    int                    fd, rc;

    if (scf->ret) {
        fy_stream_return(s);            /* "return": no server */
        return;
    }
    rc = fy_stream_choose(s);
    if (rc == FY_AGAIN) {
        return;         /* fy_stream_resolved comes back here */
    }
    if (rc != FY_OK) {
        fy_stream_finalize(s, 502);
        return;
    }

    fd = socket(s->peer->addr.sa.sa_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "socket() failed, client: %s",
                     s->addr_text);
        fy_shm_add(fy_http_up_slots(s->u)[s->peer->shm].active, (uint64_t) -1);
        s->peer = NULL;
        fy_stream_finalize(s, 502);
        return;
    }
    uc = fy_conn_get(fd);
    if (uc == NULL) {
        close(fd);
        fy_log_error(FY_LOG_ALERT, 0, "%d worker_connections are not "
                     "enough for an upstream connection, client: %s",
                     fy_worker_cycle->core->worker_connections,
                     s->addr_text);
        fy_shm_add(fy_http_up_slots(s->u)[s->peer->shm].active, (uint64_t) -1);
        s->peer = NULL;
        fy_stream_finalize(s, 502);
        return;
    }
    s->uc = uc;
    uc->data = s;
    uc->read.log = uc->write.log = s->scf->error_log;
    uc->read.handler = fy_stream_connect_handler;
    uc->write.handler = fy_stream_connect_handler;

    if (scf->socket_keepalive && fy_upstream_keepalive(fd) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "setsockopt(SO_KEEPALIVE) "
                     "failed, ignored, client: %s", s->addr_text);
    }
    if (fy_stream_bind(s, fd) != FY_OK) {
        fy_stream_next(s);
        return;
    }

    do {
        rc = connect(fd, &s->peer->addr.sa, s->peer->addrlen);
    } while (rc == -1 && errno == EINTR);

    if (rc == -1 && errno != EINPROGRESS) {
        fy_log_error(FY_LOG_ERR, errno, "connect() failed while connecting "
                     "to upstream, client: %s, server: %s, upstream: "
                     "\"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_stream_next(s);
        return;
    }
    if (fy_conn_register(uc) != FY_OK) {
        fy_stream_next(s);
        return;
    }
    if (rc == 0) {
        fy_stream_connected(s);     /* a unix socket, at once */
        return;
    }
    fy_timer_add(&uc->write, (uint64_t) scf->connect_timeout);
}


/* ---- the relay ---- */

/* One direction: from src to dst through buf; rate: bytes per second
 * read from src (proxy_upload_rate / proxy_download_rate), 0: none;
 * delay: the event whose timer wakes a direction held back by it. */
typedef struct {
    fy_conn_t   *src;
    fy_conn_t   *dst;
    fy_buf_t    *buf;
    unsigned     eof;        /* src sent FIN, passed on */
    uint64_t    *in;         /* bytes read from src */
    uint64_t    *out;        /* bytes written to dst */
    size_t       rate;
    fy_event_t  *delay;
} fy_stream_dir_t;

/* How much the rate lets this direction read now (nginx's: the rate
 * times the whole seconds since the session started, plus one second,
 * minus what was read); 0 with the delay timer armed when nothing:
 * it fires at the start of the first second that allows a byte more
 * (in / rate whole seconds after the start), so a held-back direction
 * wakes once, not every millisecond. */
static size_t
fy_stream_allowed(fy_stream_session_t *s, fy_stream_dir_t *d, size_t want)
{
    uint64_t  elapsed = fy_current_msec - s->start;
    uint64_t  limit = d->rate * (elapsed / 1000 + 1), at;

    if (limit <= *d->in) {
        at = *d->in / d->rate * 1000;
        fy_timer_add(d->delay, at > elapsed ? at - elapsed : 1);
        return 0;
    }
    return fy_min(want, (size_t) (limit - *d->in));
}

/* Move bytes from src to dst.  FY_AGAIN: nothing more can move now
 * (or the rate holds it back); FY_DONE: src closed, all it sent was
 * delivered and the FIN passed on; FY_ERROR: a socket failed.  *moved
 * is set when a byte moved. */
static int
fy_stream_pump(fy_stream_session_t *s, fy_stream_dir_t *d, int *moved)
{
    fy_buf_t  *b = d->buf;
    size_t     size;
    ssize_t    n;

    for ( ;; ) {
        if (fy_buf_size(b)) {
            n = fy_conn_send(d->dst, b->pos, fy_buf_size(b));
            if (n > 0) {
                b->pos += n;
                *d->out += (uint64_t) n;
                *moved = 1;
                continue;
            }
            return n == FY_AGAIN ? FY_AGAIN : FY_ERROR;
        }
        if (d->eof) {
            return FY_DONE;
        }

        fy_buf_reset(b);
        size = fy_buf_free(b);
        if (d->rate) {
            if (fy_timer_is_set(d->delay)) {
                return FY_AGAIN;        /* held back until it fires */
            }
            size = fy_stream_allowed(s, d, size);
            if (size == 0) {
                return FY_AGAIN;
            }
        }
        n = fy_conn_recv(d->src, b->last, size);
        if (n > 0) {
            b->last += n;
            *d->in += (uint64_t) n;
            *moved = 1;
            continue;
        }
        if (n == 0) {
            /* half-close: the other direction keeps flowing */
            d->eof = 1;
            *moved = 1;
            if (fy_conn_shutdown_write(d->dst) != FY_OK) {
                return FY_ERROR;
            }
            return FY_DONE;
        }
        return n == FY_AGAIN ? FY_AGAIN : FY_ERROR;
    }
}

static void
fy_stream_relay(fy_stream_session_t *s)
{
    fy_stream_dir_t  up, down;
    int              rc_up, rc_down, moved = 0;

    /* the client's write event and the server's, which carry no other
     * timer, wake a direction a rate held back */
    up.src = s->c;
    up.dst = s->uc;
    up.buf = &s->up;
    up.eof = s->up_eof;
    up.in = &s->bytes_received;
    up.out = &s->up_sent;
    up.rate = s->scf->upload_rate;
    up.delay = &s->c->write;

    down.src = s->uc;
    down.dst = s->c;
    down.buf = &s->down;
    down.eof = s->down_eof;
    down.in = &s->up_received;
    down.out = &s->bytes_sent;
    down.rate = s->scf->download_rate;
    down.delay = &s->uc->write;

    rc_up = fy_stream_pump(s, &up, &moved);
    rc_down = fy_stream_pump(s, &down, &moved);
    s->up_eof = up.eof;
    s->down_eof = down.eof;
    if (s->first_byte < 0 && s->up_received) {
        /* $upstream_first_byte_time */
        s->first_byte = (int64_t) (fy_current_msec - s->connect_start);
    }

    if (rc_up == FY_ERROR || rc_down == FY_ERROR) {
        fy_log_error(FY_LOG_INFO, errno, "stream session failed while "
                     "proxying, client: %s, server: %s, upstream: \"%.*s\"",
                     s->addr_text, s->ls->text, (int) s->peer->name.len,
                     s->peer->name.data);
        fy_stream_finalize(s, 200);
        return;
    }
    if ((rc_up == FY_DONE && rc_down == FY_DONE)
        || (!s->scf->half_close && (rc_up == FY_DONE || rc_down == FY_DONE)))
    {
        /* both sides closed; or, with proxy_half_close off, one did
         * and what it sent was delivered */
        fy_stream_finalize(s, 200);
        return;
    }
    if (moved) {
        fy_timer_add(&s->c->read, (uint64_t) s->scf->timeout);
    }
}

static void
fy_stream_relay_handler(fy_event_t *ev)
{
    fy_conn_t            *c = ev->data;
    fy_stream_session_t  *s = c->data;

    if (ev->timedout) {
        ev->timedout = 0;
        if (ev == &s->c->read) {
            fy_log_error(FY_LOG_INFO, ETIMEDOUT, "stream session idle for "
                         "%lld ms (proxy_timeout), closing, client: %s, "
                         "server: %s", (long long) s->scf->timeout,
                         s->addr_text, s->ls->text);
            fy_stream_finalize(s, 200);
            return;
        }
        /* a rate's delay is over */
    }
    fy_stream_relay(s);
}
