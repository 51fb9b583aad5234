/*
 * fy_http_proxy_resolve.c -- the host of a proxy_pass with variables
 * that names no upstream: an IP address ("127.0.0.1:8080",
 * "[::1]:8080"), connected to straight away, or a name, asked of the
 * location's resolver (fy_resolver.c) while the request waits on the
 * loop.  Either way the request gets an upstream of its own whose
 * servers are those addresses, tried in turn as an upstream's servers
 * are (proxy_next_upstream), as nginx makes a round-robin group per
 * request for them; port 80 unless given, 443 for https:// (TLS then
 * as for any upstream, fy_http_proxy_ssl.c, to the name, not the
 * address).  Only requests of such locations come here.
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

/* An upstream of its own for one request or stream session (memory
 * from pool): name (as the URL or value has it, for $proxy_host and the
 * logs), its servers addrs (n of them) at port, with the "server"
 * defaults nginx gives these.  NULL: no memory. */
fy_http_upstream_t *
fy_http_upstream_own(fy_pool_t *pool, const fy_str_t *name,
                     const fy_dns_addr_t *addrs, unsigned n, uint16_t port)
{
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    char                      text[FY_SOCKADDR_STRLEN];
    unsigned                  i;

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
    for (i = 0; i < n; i++) {
        peer = fy_array_push(&u->peers);
        if (peer == NULL) {
            return NULL;
        }
        memset(peer, 0, sizeof(*peer));
        if (addrs[i].family == AF_INET) {
            peer->addr.sin.sin_family = AF_INET;
            peer->addr.sin.sin_port = htons(port);
            memcpy(&peer->addr.sin.sin_addr, addrs[i].addr, 4);
            peer->addrlen = sizeof(struct sockaddr_in);
        } else {
            peer->addr.sin6.sin6_family = AF_INET6;
            peer->addr.sin6.sin6_port = htons(port);
            memcpy(&peer->addr.sin6.sin6_addr, addrs[i].addr, 16);
            peer->addrlen = sizeof(struct sockaddr_in6);
        }
        fy_sockaddr_text(&peer->addr.sa, peer->addrlen, text, sizeof(text),
                         1);
        peer->name.len = strlen(text);
        peer->name.data = (u_char *) fy_pstrndup(pool, text,
                                                 peer->name.len);
        if (peer->name.data == NULL) {
            return NULL;
        }
        peer->shm = i;
        /* the "server" defaults nginx gives these too */
        peer->weight = 1;
        peer->max_fails = 1;
        peer->fail_timeout = 10000;
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
    if (hlen == 0 || n == 0) {
        return n == 0 ? FY_DECLINED : FY_ERROR;
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

int
fy_proxy_resolve(fy_http_proxy_t *p, const fy_str_t *host)
{
    fy_http_request_t   *r = p->r;
    fy_proxy_resolve_t  *rs;
    fy_dns_addr_t        a;
    const u_char        *h;
    size_t               hlen;
    uint16_t             port;
    int                  rc;

    rc = fy_http_target_parse(host, p->https ? 443 : 80, &a, &h, &hlen,
                              &port);
    if (rc == FY_DONE) {
        /* an address: no resolver needed */
        return fy_proxy_own_upstream(p, host, &a, 1, port) == FY_OK
               ? FY_OK : 500;
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
