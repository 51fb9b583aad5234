/*
 * fy_http_proxy_resolve.c -- the host of a proxy_pass with variables,
 * or the address of a fastcgi_pass, uwsgi_pass, scgi_pass or
 * memcached_pass with variables, as a request evaluated it: the name
 * of an upstream (a block, or an implicit one another *_pass made of
 * its host:port) is that group; else an IP address ("127.0.0.1:8080",
 * "[::1]:8080") or a unix-domain socket ("unix:/path", for proxy_pass
 * the host of "http://unix:/path:/uri"; the Host sent is "localhost",
 * as nginx's), connected to straight away, or a name, asked of the
 * location's resolver (fy_resolver.c) while the request waits on the
 * loop.  For all but the first the request gets an upstream of its own
 * whose servers are those addresses, tried in turn as an upstream's
 * servers are (proxy_next_upstream), as nginx makes a round-robin
 * group per request for them; proxy_pass's port 80 unless given, 443
 * for https:// (TLS then as for any upstream, fy_http_proxy_ssl.c, to
 * the name, not the address).  Only requests of such locations come
 * here.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_resolver.h"

#include <arpa/inet.h>

typedef struct {
    fy_resolver_wait_t   w;
    fy_http_proxy_t     *p;
    fy_str_t             name;
    uint16_t             port;
} fy_proxy_resolve_t;

/* Memory from the pool, aligned as fy_shm's slots want (cache line). */
static void *
fy_proxy_palloc_line(fy_pool_t *pool, size_t size)
{
    u_char  *m = fy_pcalloc(pool, size + FY_CACHELINE);

    if (m == NULL) {
        return NULL;
    }
    return (void *) (((uintptr_t) m + FY_CACHELINE - 1)
                     & ~(uintptr_t) (FY_CACHELINE - 1));
}

/* The skeleton of an upstream of its own (memory from pool): name,
 * room for n servers, none yet (fy_upstream_own_peer adds them).
 * NULL: no memory. */
static fy_http_upstream_t *
fy_upstream_own_alloc(fy_pool_t *pool, const fy_str_t *name, unsigned n)
{
    fy_http_upstream_t  *u;

    u = fy_pcalloc(pool, sizeof(fy_http_upstream_t));
    if (u == NULL) {
        return NULL;
    }
    u->own_peers = fy_proxy_palloc_line(pool, n * sizeof(fy_shm_peer_t));
    u->own = fy_proxy_palloc_line(pool, sizeof(fy_shm_upstream_t));
    if (u->own_peers == NULL || u->own == NULL) {
        return NULL;
    }
    u->name = *name;
    u->balancer = &fy_http_balancer_rr;
    fy_array_init(&u->peers, pool, n, sizeof(fy_http_upstream_peer_t));
    return u;
}

/* u's next server: sa, with the "server" defaults nginx gives these
 * too.  FY_OK / FY_ERROR (no memory). */
static int
fy_upstream_own_peer(fy_pool_t *pool, fy_http_upstream_t *u,
                     const fy_sockaddr_t *sa, socklen_t salen)
{
    fy_http_upstream_peer_t  *peer;
    char                      text[FY_SOCKADDR_STRLEN];

    peer = fy_array_push(&u->peers);
    if (peer == NULL) {
        return FY_ERROR;
    }
    memset(peer, 0, sizeof(*peer));
    peer->addr = *sa;
    peer->addrlen = salen;
    fy_sockaddr_text(&peer->addr.sa, peer->addrlen, text, sizeof(text), 1);
    peer->name.len = strlen(text);
    peer->name.data = (u_char *) fy_pstrndup(pool, text, peer->name.len);
    if (peer->name.data == NULL) {
        return FY_ERROR;
    }
    peer->shm = u->peers.nelts - 1;
    /* the "server" defaults nginx gives these too */
    peer->weight = 1;
    peer->max_fails = 1;
    peer->fail_timeout = 10000;
    return FY_OK;
}

/* An upstream of its own for one request or stream session (memory
 * from pool): name (as the URL or value has it, for $proxy_host and the
 * logs), its servers addrs (n of them) at port, with the "server"
 * defaults nginx gives these.  NULL: no memory. */
fy_http_upstream_t *
fy_http_upstream_own(fy_pool_t *pool, const fy_str_t *name,
                     const fy_dns_addr_t *addrs, unsigned n, uint16_t port)
{
    fy_http_upstream_t  *u;
    fy_sockaddr_t        sa;
    socklen_t            salen;
    unsigned             i;

    u = fy_upstream_own_alloc(pool, name, n);
    if (u == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i++) {
        salen = fy_resolver_sockaddr(&addrs[i], port, &sa);
        if (fy_upstream_own_peer(pool, u, &sa, salen) != FY_OK) {
            return NULL;
        }
    }
    return u;
}

/* p's upstream for this request. */
static int
fy_proxy_own_upstream(fy_http_proxy_t *p, const fy_str_t *host,
                      const fy_dns_addr_t *addrs, unsigned n, uint16_t port)
{
    p->u = fy_http_upstream_own(p->r->pool, host, addrs, n, port);
    if (p->u == NULL) {
        return FY_ERROR;
    }
    p->host = *host;
    return FY_OK;
}

/* The resolver's answer: on with the request, or 502. */
static int
fy_proxy_resolve_result(fy_proxy_resolve_t *rs)
{
    fy_http_proxy_t  *p = rs->p;

    if (rs->w.error || rs->w.naddrs == 0) {
        fy_log_error(FY_LOG_ERR, 0, "%.*s could not be resolved (%d: %s)"
                     FY_PROXY_CTX_FMT, (int) rs->name.len, rs->name.data,
                     rs->w.error, fy_resolver_strerror(rs->w.error),
                     FY_PROXY_CTX(p));
        return 502;
    }
    if (fy_proxy_own_upstream(p, &p->host, rs->w.addrs, rs->w.naddrs,
                              rs->port) != FY_OK)
    {
        return 500;
    }
    return FY_OK;
}

static void
fy_proxy_resolved(fy_resolver_wait_t *w)
{
    fy_proxy_resolve_t  *rs = w->data;
    fy_log_t            *log = fy_log_cur;
    int                  rc;

    /* the resolver's socket or timer called: the request's location
     * logs what follows */
    fy_log_cur = rs->p->r->loc->error_log;
    rc = fy_proxy_resolve_result(rs);
    if (rc != FY_OK) {
        fy_http_send_error(rs->p->r, rc);
    } else {
        fy_proxy_pass_ready(rs->p);
    }
    fy_log_cur = log;
}

/* The request ends while it waits (its client went away). */
static void
fy_proxy_resolve_cleanup(void *data)
{
    fy_proxy_resolve_t  *rs = data;

    fy_resolver_cancel(&rs->w);
}

int
fy_http_target_parse(const fy_str_t *target, uint16_t defport,
                     fy_dns_addr_t *a, const u_char **name, size_t *len,
                     uint16_t *port)
{
    const u_char  *h = target->data, *e = target->data + target->len;
    const u_char  *colon;
    char           buf[64];
    size_t         hlen;
    int64_t        n = defport;

    /* host[:port], [v6][:port] */
    if (target->len && h[0] == '[') {
        colon = memchr(h, ']', target->len);
        if (colon == NULL) {
            return FY_ERROR;
        }
        h++;
        hlen = (size_t) (colon - h);
        colon++;
        if (colon < e && *colon != ':') {
            return FY_ERROR;
        }
        a->family = AF_INET6;
    } else {
        colon = memchr(h, ':', target->len);
        hlen = (size_t) ((colon ? colon : e) - h);
        a->family = AF_INET;
    }
    if (colon && colon < e) {
        n = fy_atoi(colon + 1, (size_t) (e - colon - 1));
        if (n < 1 || n > 65535) {
            return FY_DECLINED;
        }
    }
    if (hlen == 0) {
        return FY_ERROR;
    }
    if (n == 0) {
        return FY_HTTP_TARGET_NO_PORT;
    }
    *port = (uint16_t) n;
    *name = h;
    *len = hlen;
    if (hlen < sizeof(buf)) {
        memcpy(buf, h, hlen);
        buf[hlen] = '\0';
        if (inet_pton(a->family, buf, a->addr) == 1) {
            return FY_DONE;
        }
    }
    /* a bracketed one must be an IPv6 address */
    return a->family == AF_INET6 ? FY_ERROR : FY_OK;
}

/* A "unix:/path" value: an upstream of its own with that socket.
 * FY_OK, or the status to answer with (logged). */
static int
fy_proxy_own_unix(fy_http_proxy_t *p, const fy_str_t *value)
{
    fy_sockaddr_t  sa;
    socklen_t      salen;
    int            rc;

    rc = fy_parse_addr_port(value->data, value->len, 0, &sa, &salen);
    if (rc != FY_OK) {
        fy_log_error(FY_LOG_ERR, 0, "%s in upstream \"%.*s\""
                     FY_PROXY_CTX_FMT, rc == FY_DECLINED
                     ? "too long path in the unix domain socket"
                     : "invalid path", (int) fy_min(value->len, 256),
                     value->data, FY_PROXY_CTX(p));
        return 500;
    }
    p->u = fy_upstream_own_alloc(p->r->pool, value, 1);
    if (p->u == NULL
        || fy_upstream_own_peer(p->r->pool, p->u, &sa, salen) != FY_OK)
    {
        return 500;
    }
    /* the Host sent to a unix-domain upstream and $proxy_host, as
     * nginx's and as without variables */
    fy_str_set(&p->host, "localhost");
    return FY_OK;
}

int
fy_proxy_pass_target(fy_http_proxy_t *p, const fy_str_t *host,
                     uint16_t defport)
{
    fy_http_request_t   *r = p->r;
    fy_http_upstream_t  *u;
    fy_proxy_resolve_t  *rs;
    fy_dns_addr_t        a;
    const u_char        *h;
    size_t               hlen;
    uint16_t             port;
    unsigned             i;
    int                  rc;

    /* an upstream block, or a host:port (unix:/path) another *_pass
     * made an implicit upstream of: that group, as nginx looks it up
     * first */
    for (i = 0; i < r->loc->proxy_upstreams->nelts; i++) {
        u = *fy_array_elt(r->loc->proxy_upstreams, fy_http_upstream_t *, i);
        if (u->peers.nelts && u->name.len == host->len
            && strncasecmp((char *) u->name.data, (char *) host->data,
                           host->len) == 0
            /* "proxy_pass http://NAME" made NAME port 80's, which is
             * no FastCGI's (nginx: "no port in upstream") */
            && !(defport == 0 && (u->bare_http || u->bare_https)))
        {
            p->u = u;
            p->host = u->name;
            if (u->name.len > 5
                && strncmp((char *) u->name.data, "unix:", 5) == 0)
            {
                fy_str_set(&p->host, "localhost");
            }
            return FY_OK;
        }
    }
    if (host->len > 5 && strncmp((char *) host->data, "unix:", 5) == 0) {
        return fy_proxy_own_unix(p, host);
    }

    rc = fy_http_target_parse(host, defport, &a, &h, &hlen, &port);
    if (rc == FY_DONE) {
        /* an address: no resolver needed */
        return fy_proxy_own_upstream(p, host, &a, 1, port) == FY_OK
               ? FY_OK : 500;
    }
    if (rc == FY_HTTP_TARGET_NO_PORT) {
        /* FastCGI, uwsgi, SCGI, memcached: no default port (nginx) */
        fy_log_error(FY_LOG_ERR, 0, "no port in upstream \"%.*s\""
                     FY_PROXY_CTX_FMT, (int) fy_min(host->len, 256),
                     host->data, FY_PROXY_CTX(p));
        return 500;
    }
    if (rc != FY_OK) {
        fy_log_error(FY_LOG_ERR, 0, "invalid %s in upstream \"%.*s\""
                     FY_PROXY_CTX_FMT, rc == FY_DECLINED ? "port" : "host",
                     (int) fy_min(host->len, 256), host->data,
                     FY_PROXY_CTX(p));
        return 500;
    }

    if (r->loc->resolver == NULL) {
        fy_log_error(FY_LOG_ERR, 0, "no resolver defined to resolve %.*s"
                     FY_PROXY_CTX_FMT, (int) fy_min(hlen, 256), h,
                     FY_PROXY_CTX(p));
        return 502;
    }
    rs = fy_pcalloc(r->pool, sizeof(fy_proxy_resolve_t));
    if (rs == NULL
        || fy_pool_cleanup_add(r->pool, fy_proxy_resolve_cleanup, rs)
           != FY_OK)
    {
        return 500;
    }
    rs->p = p;
    rs->name.data = (u_char *) h;
    rs->name.len = hlen;
    rs->port = port;
    rs->w.handler = fy_proxy_resolved;
    rs->w.data = rs;
    p->host = *host;

    rc = fy_resolver_resolve(r->loc->resolver, h, hlen,
                             r->loc->resolver_timeout, &rs->w);
    if (rc == FY_OK) {
        return fy_proxy_resolve_result(rs);     /* from the cache */
    }
    if (rc != FY_AGAIN) {
        return 502;
    }
    /* meanwhile, notice a client that goes away */
    r->hc->c->read.handler = fy_proxy_check_client;
    return FY_AGAIN;
}
