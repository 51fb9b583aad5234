/*
 * fy_stream_resolve.c -- the value of a stream "proxy_pass $var" that
 * names no upstream: "ADDRESS:PORT" ("[v6]:PORT") is connected to
 * straight away, "NAME:PORT" is asked of the server's resolver
 * (fy_resolver.c) while the session waits on the loop, as nginx's
 * stream proxy does ("proxy_pass $ssl_preread_server_name:443;").
 * Either way the session gets an upstream of its own whose servers are
 * those addresses (fy_http_upstream_own), tried in turn under
 * proxy_next_upstream.  A UDP session waits too, holding its
 * datagrams meanwhile (fy_stream_udp.c).
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_resolver.h"

typedef struct {
    fy_resolver_wait_t     w;
    fy_stream_session_t   *s;
    fy_str_t               target;     /* the value, for the logs */
    fy_str_t               name;
    uint16_t               port;
} fy_stream_resolve_t;

/* s's upstream of its own for n addresses. */
static int
fy_stream_own_upstream(fy_stream_session_t *s, const fy_str_t *target,
                       const fy_dns_addr_t *addrs, unsigned n, uint16_t port)
{
    s->u = fy_http_upstream_own(s->pool, target, addrs, n, port);
    s->tried = s->u ? fy_pcalloc(s->pool, n) : NULL;
    return s->tried ? FY_OK : FY_ERROR;
}

static int
fy_stream_resolve_result(fy_stream_resolve_t *rs)
{
    fy_stream_session_t  *s = rs->s;

    if (rs->w.error || rs->w.naddrs == 0) {
        fy_log_error(FY_LOG_ERR, 0, "%.*s could not be resolved (%d: %s), "
                     "client: %s, server: %s", (int) rs->name.len,
                     (char *) rs->name.data, rs->w.error,
                     fy_resolver_strerror(rs->w.error), s->addr_text,
                     s->ls->text);
        return FY_ERROR;
    }
    return fy_stream_own_upstream(s, &rs->target, rs->w.addrs, rs->w.naddrs,
                                  rs->port);
}

/* The resolver's answer came (or its wait timed out): on to the
 * connect (of a TCP session, or of a UDP one, which then sends the
 * datagrams it held), or the session ends with 502. */
static void
fy_stream_resolved(fy_resolver_wait_t *w)
{
    fy_stream_resolve_t  *rs = w->data;

    if (fy_stream_resolve_result(rs) != FY_OK) {
        fy_stream_finalize(rs->s, 502);
    } else if (rs->s->udp) {
        fy_stream_udp_resolved(rs->s);
    } else {
        fy_stream_connect(rs->s);
    }
}

/* The session ends while it waits. */
static void
fy_stream_resolve_cleanup(void *data)
{
    fy_stream_resolve_t  *rs = data;

    fy_resolver_cancel(&rs->w);
}

int
fy_stream_resolve_target(fy_stream_session_t *s, const u_char *value,
                         size_t len)
{
    fy_stream_resolve_t  *rs;
    fy_dns_addr_t         a;
    fy_str_t              target;
    const u_char         *h;
    size_t                hlen;
    uint16_t              port;
    int                   rc;

    target.data = (u_char *) fy_pstrndup(s->pool, value, len);
    target.len = len;
    if (target.data == NULL) {
        return FY_ERROR;
    }
    /* no default port: stream's proxy_pass must give one (nginx) */
    rc = len ? fy_http_target_parse(&target, 0, &a, &h, &hlen, &port)
             : FY_ERROR;
    if (rc == FY_DONE) {
        return fy_stream_own_upstream(s, &target, &a, 1, port);
    }
    if (rc != FY_OK) {
        fy_log_error(FY_LOG_ERR, 0, "no upstream \"%.*s\" for proxy_pass "
                     "(not a stream upstream, nor an address with a port), "
                     "client: %s, server: %s", (int) fy_min(len, 256),
                     (char *) value, s->addr_text, s->ls->text);
        return FY_ERROR;
    }
    if (s->scf->resolver == NULL) {
        fy_log_error(FY_LOG_ERR, 0, "no resolver defined to resolve %.*s, "
                     "client: %s, server: %s", (int) hlen, (char *) h,
                     s->addr_text, s->ls->text);
        return FY_ERROR;
    }
    rs = fy_pcalloc(s->pool, sizeof(fy_stream_resolve_t));
    if (rs == NULL
        || fy_pool_cleanup_add(s->pool, fy_stream_resolve_cleanup, rs)
           != FY_OK)
    {
        return FY_ERROR;
    }
    rs->s = s;
    rs->target = target;
    rs->name.data = (u_char *) h;
    rs->name.len = hlen;
    rs->port = port;
    rs->w.handler = fy_stream_resolved;
    rs->w.data = rs;

    rc = fy_resolver_resolve(s->scf->resolver, h, hlen,
                             s->scf->resolver_timeout, &rs->w);
    if (rc == FY_OK) {
        return fy_stream_resolve_result(rs);    /* from the cache */
    }
    return rc == FY_AGAIN ? FY_AGAIN : FY_ERROR;
}
