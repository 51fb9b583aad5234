/*
 * fy_http_upcache.c -- keep-alive connections to upstream servers.
 *
 *   upstream app {
 *       server 10.0.0.1:8080;
 *       keepalive 16;               # idle connections per worker
 *       keepalive_timeout 60s;      # close one idle this long
 *       keepalive_requests 1000;    # requests per connection
 *   }
 *
 * Each worker keeps, per upstream, at most N idle connections in a
 * list, newest first.  The proxy asks for one to the server the
 * balancer chose; when a response has been read to its end on a
 * connection that may stay open, the proxy gives it back.  A full
 * cache closes its oldest connection to make room (as nginx's does).
 *
 * An idle connection is watched for reading: the only thing a server
 * may send on an idle HTTP connection is its close, so any readable
 * event closes it, as does keepalive_timeout.  A server may still
 * close a connection just as a request goes out on it; the proxy then
 * sends the request again on a new connection when the server cannot
 * have acted on it, or acting twice is harmless (fy_proxy_resend_safe
 * in fy_http_proxy.c).
 *
 * TLS connections (proxy_pass https://) are kept with their SSL
 * object.  On those a readable socket does not have to mean a close:
 * TLS 1.3 servers send session tickets after the handshake, which may
 * arrive only once the response has been read.  The idle handler
 * therefore peeks through TLS (SSL_peek): records that carry no data
 * are consumed there (a ticket is filed for session reuse) and the
 * connection stays; a close_notify, the end of the stream, an error or
 * application data (a protocol violation on an idle connection) close
 * it.  A kept TLS connection only serves a request made with the same
 * context and the same server name (SNI and the verified name).
 */
#include "fy_core.h"
#include "fy_http.h"

typedef struct fy_http_upitem_s  fy_http_upitem_t;

struct fy_http_upitem_s {
    fy_conn_t           *c;
    unsigned             peer;
    unsigned             requests;
    fy_http_upitem_t    *next;        /* in the idle list or free list */
    fy_http_upitem_t    *prev;
    struct fy_http_upcache_s *cache;
};

typedef struct fy_http_upcache_s {
    fy_http_upitem_t    *idle;        /* newest first */
    fy_http_upitem_t    *oldest;
    fy_http_upitem_t    *free;
    unsigned             count;
} fy_http_upcache_t;

static const fy_conf_bounds_t  fy_upcache_bounds = { 1, 65536 };
static const fy_conf_bounds_t  fy_upcache_req_bounds = { 1, 1000000000 };

static const char *
fy_http_upcache_keepalive(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t  *u = conf;
    int64_t              n;

    fy_unused(cmd);

    if (u->keepalive) {
        return "is duplicate";
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (n < fy_upcache_bounds.min || n > fy_upcache_bounds.max) {
        fy_conf_error(cf, "invalid value \"%s\" in \"keepalive\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    u->keepalive = (unsigned) n;
    return FY_CONF_OK;
}

const fy_command_t  fy_http_upcache_commands[] = {

    { "keepalive", FY_CONF_UPS, 0, 1, 1, fy_http_upcache_keepalive,
      FY_CONF_SRV_OFF, 0, NULL },

    { "keepalive_timeout", FY_CONF_UPS, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_http_upstream_t, keepalive_timeout),
      NULL },

    { "keepalive_requests", FY_CONF_UPS, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, offsetof(fy_http_upstream_t, keepalive_requests),
      &fy_upcache_req_bounds },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static fy_http_upcache_t *
fy_http_upcache_of(fy_http_upstream_t *u)
{
    fy_http_upcache_t  *cache;
    fy_http_upitem_t   *items;
    unsigned            i;

    if (u->cache) {
        return u->cache;
    }
    /* made in the worker on first use: the master never proxies */
    cache = calloc(1, sizeof(fy_http_upcache_t));
    items = calloc(u->keepalive, sizeof(fy_http_upitem_t));
    if (cache == NULL || items == NULL) {
        free(cache);
        free(items);
        return NULL;
    }
    for (i = 0; i < u->keepalive; i++) {
        items[i].cache = cache;
        items[i].next = cache->free;
        cache->free = &items[i];
    }
    u->cache = cache;
    return cache;
}

static void
fy_http_upcache_unlink(fy_http_upcache_t *cache, fy_http_upitem_t *it)
{
    if (it->prev) {
        it->prev->next = it->next;
    } else {
        cache->idle = it->next;
    }
    if (it->next) {
        it->next->prev = it->prev;
    } else {
        cache->oldest = it->prev;
    }
    cache->count--;
    it->next = cache->free;
    it->prev = NULL;
    cache->free = it;
}

/* Readable or timed out while idle.  Readable can only mean the
 * server closed it (or broke the protocol): either way it is done.
 * The peek tells a real event from the "may be readable" left over
 * from reading the last response. */
static void
fy_http_upcache_idle_handler(fy_event_t *ev)
{
    fy_conn_t         *c = ev->data;
    fy_http_upitem_t  *it = c->data;
    u_char             ch;

    if (!ev->timedout && fy_conn_peek(c, &ch, 1) == FY_AGAIN) {
        ev->ready = 0;
        return;
    }
    fy_http_upcache_unlink(it->cache, it);
    fy_conn_close(c);
}

fy_conn_t *
fy_http_upcache_get(fy_http_upstream_t *u, unsigned peer, unsigned *requests)
{
    return fy_http_upcache_get_tls(u, peer, NULL, NULL, requests);
}

fy_conn_t *
fy_http_upcache_get_tls(fy_http_upstream_t *u, unsigned peer,
                        const void *tls_ctx, const char *tls_name,
                        unsigned *requests)
{
    fy_http_upcache_t  *cache = u->cache;
    fy_http_upitem_t   *it;
    fy_conn_t          *c;

    if (cache == NULL) {
        return NULL;
    }
    for (it = cache->idle; it; it = it->next) {
        if (it->peer == peer
            && fy_tls_up_conn_matches(it->c, tls_ctx, tls_name))
        {
            c = it->c;
            *requests = it->requests;
            fy_http_upcache_unlink(cache, it);
            fy_timer_del(&c->read);
            c->data = NULL;
            c->read.handler = fy_event_ignore;
            c->write.handler = fy_event_ignore;
            return c;
        }
    }
    return NULL;
}

void
fy_http_upcache_drop(fy_http_upstream_t *u, unsigned peer)
{
    fy_http_upcache_t  *cache = u->cache;
    fy_http_upitem_t   *it, *next;

    for (it = cache ? cache->idle : NULL; it; it = next) {
        next = it->next;
        if (it->peer == peer) {
            fy_conn_close(it->c);
            fy_http_upcache_unlink(cache, it);
        }
    }
}

void
fy_http_upcache_put(fy_http_upstream_t *u, unsigned peer, fy_conn_t *c,
                    unsigned requests)
{
    fy_http_upcache_t  *cache;
    fy_http_upitem_t   *it;

    if (u->keepalive == 0 || requests >= (unsigned) u->keepalive_requests
        || (cache = fy_http_upcache_of(u)) == NULL)
    {
        fy_conn_close(c);
        return;
    }

    if (cache->free == NULL) {
        /* full: the oldest idle connection makes room */
        it = cache->oldest;
        fy_conn_close(it->c);
        fy_http_upcache_unlink(cache, it);
    }

    it = cache->free;
    cache->free = it->next;
    it->c = c;
    it->peer = peer;
    it->requests = requests;
    it->prev = NULL;
    it->next = cache->idle;
    if (cache->idle) {
        cache->idle->prev = it;
    } else {
        cache->oldest = it;
    }
    cache->idle = it;
    cache->count++;

    c->data = it;
    c->read.log = c->write.log = NULL;  /* no request's any more */
    fy_timer_del(&c->write);
    c->read.handler = fy_http_upcache_idle_handler;
    c->write.handler = fy_event_ignore;
    fy_timer_add(&c->read, (uint64_t) u->keepalive_timeout);
    if (c->read.ready) {
        /* the server has already said something: it is closing */
        fy_event_post(&c->read);
    }
}
