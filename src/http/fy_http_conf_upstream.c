/*
 * fy_http_conf_upstream.c -- upstream { } blocks (server, the balancer
 * directives, zone) and proxy_pass, which names an upstream or creates
 * an implicit one to be resolved by fy_http_init_cycle.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_conf.h"
#include "fy_dns.h"

#include <netinet/in.h>

/* Find the upstream called name, creating an implicit one (to be
 * resolved as host:port at the end) when there is none yet.  A name
 * longer than the status page's shared slot holds is refused here,
 * for upstream blocks, proxy_pass and fastcgi_pass alike, rather than
 * shown cut. */
fy_http_upstream_t *
fy_http_upstream_get(fy_conf_t *cf, fy_http_main_conf_t *hmcf,
                     const fy_str_t *name)
{
    fy_http_upstream_t  *u, **pu;
    unsigned             i;

    if (name->len > FY_UPSTREAM_NAME_MAX) {
        fy_conf_error(cf, "upstream name \"%.*s\" is too long (%zu bytes, "
                      "at most %d)", (int) name->len, (char *) name->data,
                      name->len, FY_UPSTREAM_NAME_MAX);
        return NULL;
    }

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        if (u->name.len == name->len
            && strncasecmp((char *) u->name.data, (char *) name->data,
                           name->len) == 0)
        {
            return u;
        }
    }

    u = fy_pcalloc(cf->pool, sizeof(fy_http_upstream_t));
    pu = fy_array_push(&hmcf->upstreams);
    if (u == NULL || pu == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    u->name.data = (u_char *) fy_pstrndup(cf->pool, name->data, name->len);
    u->name.len = name->len;
    u->file = cf->file ? cf->file->name : "command line";
    u->line = cf->line;
    u->implicit = 1;
    u->keepalive_timeout = FY_CONF_UNSET_MSEC;
    u->keepalive_requests = FY_CONF_UNSET_INT;
    u->index = hmcf->upstreams.nelts - 1;
    if (u->index >= FY_MAX_UPSTREAMS) {
        fy_conf_error(cf, "too many upstreams (at most %d)", FY_MAX_UPSTREAMS);
        return NULL;
    }
    fy_array_init(&u->peers, cf->pool, 2, sizeof(fy_http_upstream_peer_t));
    *pu = u;
    return u;
}

const char *
fy_http_upstream_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_main_conf_t  *hmcf = conf;
    fy_http_upstream_t   *u;
    fy_conf_ctx_t        *ctx;
    const char           *rv;

    fy_unused(cmd);

    u = fy_http_upstream_get(cf, hmcf, &cf->args[1]);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    if (u == NULL || ctx == NULL) {
        return FY_CONF_ERROR;
    }
    if (fy_http_upstream_define(cf, u) != FY_OK) {
        return FY_CONF_ERROR;
    }

    ctx->main = hmcf;
    ctx->srv = u;
    ctx->loc = NULL;

    rv = fy_http_parse_block(cf, FY_CONF_UPS, ctx);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    return fy_http_upstream_check(cf, u) == FY_OK ? FY_CONF_OK
                                                  : FY_CONF_ERROR;
}

/* An upstream block for u (http's or stream's) begins here: the first
 * one for its name; logged, FY_ERROR, if not. */
int
fy_http_upstream_define(fy_conf_t *cf, fy_http_upstream_t *u)
{
    if (u->defined) {
        fy_conf_error(cf, "duplicate upstream \"%s\"", cf->args[1].data);
        return FY_ERROR;
    }
    u->defined = 1;
    u->implicit = 0;
    u->resolver_timeout = FY_CONF_UNSET_MSEC;
    u->file = cf->file ? cf->file->name : "command line";
    u->line = cf->line;
    return FY_OK;
}

/* The block of upstream u was read: it has servers, and its balancer
 * takes "backup" ones if it has some; logged, FY_ERROR, if not. */
int
fy_http_upstream_check(fy_conf_t *cf, fy_http_upstream_t *u)
{
    if (u->peers.nelts == 0) {
        fy_conf_error(cf, "no servers are inside upstream \"%s\"",
                      u->name.data);
        return FY_ERROR;
    }
    if (u->has_backup && u->balancer && !u->balancer->backup) {
        fy_conf_error(cf, "\"%s\" balancing in upstream \"%s\" does not "
                      "support \"backup\" servers", u->balancer->name,
                      u->name.data);
        return FY_ERROR;
    }
    return FY_OK;
}

const char *
fy_http_upstream_balancer(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t  *u = conf;

    fy_unused(cmd);

    if (u->balancer) {
        fy_conf_error(cf, "balancing method \"%s\" is already set in "
                      "upstream \"%s\"", u->balancer->name, u->name.data);
        return FY_CONF_ERROR;
    }
    u->balancer = fy_http_balancer_find(&cf->args[0]);
    return u->balancer->conf ? u->balancer->conf(cf, u) : FY_CONF_OK;
}

/* nginx needs "zone" for state shared by its workers; ferry's upstream
 * state is always in shared memory, so the directive is accepted for
 * configurations written for nginx and changes nothing -- but that it
 * was given is kept: nginx refuses "server ... resolve" without it
 * (fy_http_upstream_resolve_check), and so does ferry, so that a
 * configuration that loads here loads in nginx too. */
const char *
fy_http_upstream_zone(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t  *u = conf;

    fy_unused(cmd);

    if (cf->nargs == 3 && fy_conf_parse_size(&cf->args[2]) == -1) {
        fy_conf_error(cf, "invalid zone size \"%s\"", cf->args[2].data);
        return FY_CONF_ERROR;
    }
    u->zone = 1;
    return FY_CONF_OK;
}

void
fy_http_peer_defaults(fy_http_upstream_peer_t *peer)
{
    peer->weight = 1;
    peer->max_fails = 1;
    peer->fail_timeout = 10000;
}

/* One server of u for each address of addrs (fy_parse_addrs), each
 * with tpl's parameters.  A server written as an address keeps the
 * text written as its name; those of a host name are named by their
 * address, "127.0.0.1:8080" or "[::1]:8080", as nginx names them (in
 * $upstream_addr, the error log and the status page), since that is
 * what tells them apart.  FY_OK or FY_ERROR (no memory). */
int
fy_http_upstream_add_peers(fy_pool_t *pool, fy_http_upstream_t *u,
                           const fy_http_upstream_peer_t *tpl,
                           const fy_str_t *written, fy_array_t *addrs,
                           int named)
{
    fy_http_upstream_peer_t  *peer;
    fy_addr_t                *a;
    char                      text[FY_SOCKADDR_STRLEN];
    unsigned                  i;

    for (i = 0; i < addrs->nelts; i++) {
        a = fy_array_elt(addrs, fy_addr_t, i);
        peer = fy_array_push(&u->peers);
        if (peer == NULL) {
            return FY_ERROR;
        }
        *peer = *tpl;
        peer->addr = a->addr;
        peer->addrlen = a->addrlen;
        peer->name = *written;
        if (named) {
            fy_sockaddr_text(&a->addr.sa, a->addrlen, text, sizeof(text), 1);
            peer->name.len = strlen(text);
            peer->name.data = (u_char *) fy_pstrndup(pool, text,
                                                     peer->name.len);
            if (peer->name.data == NULL) {
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

/* Does the server text end in a port: "host:80", "[::1]:80", but not
 * "[::1]", nor "unix:/path"? */
static int
fy_upstream_has_port(const fy_str_t *s)
{
    const u_char  *p = s->data, *e = s->data + s->len;

    if (s->len > 5 && strncmp((char *) p, "unix:", 5) == 0) {
        return 0;
    }
    if (s->len && p[0] == '[') {
        p = memchr(p, ']', s->len);
        return p && p + 1 < e && p[1] == ':';
    }
    return memchr(p, ':', s->len) != NULL;
}

/* server ADDRESS [weight=N] ... [resolve] [service=NAME] in an upstream
 * block, http's or stream's: a host name gives one server per address,
 * each with the line's parameters, as in nginx -- now, or with "resolve"
 * at run time and for as long as ferry runs (fy_http_upstream_resolve.c;
 * with "service=", the addresses of its SRV records' targets,
 * fy_http_upstream_srv.c). */
const char *
fy_http_upstream_server(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t       *u = conf;
    fy_http_upstream_peer_t   tpl, *peer = &tpl;
    fy_array_t                addrs;
    fy_str_t                 *arg, v, service = { 0, NULL };
    fy_dns_addr_t             a;
    const u_char             *host;
    size_t                    host_len;
    uint16_t                  port;
    int64_t                   n;
    unsigned                  i;
    int                       rc, named, resolve = 0;

    fy_unused(cmd);

    memset(peer, 0, sizeof(*peer));
    fy_http_peer_defaults(peer);

    for (i = 2; i < cf->nargs; i++) {
        arg = &cf->args[i];

        if (fy_http_param(arg, "weight", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 1 || n > 1000) {
                goto invalid;
            }
            peer->weight = (unsigned) n;
        } else if (fy_http_param(arg, "max_fails", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 0 || n > 1000000) {
                goto invalid;
            }
            peer->max_fails = (unsigned) n;
        } else if (fy_http_param(arg, "max_conns", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 0 || n > 1000000000) {
                goto invalid;
            }
            peer->max_conns = (unsigned) n;
        } else if (fy_http_param(arg, "fail_timeout", &v)) {
            peer->fail_timeout = fy_conf_parse_msec(&v);
            if (peer->fail_timeout < 0) {
                goto invalid;
            }
        } else if (fy_http_param(arg, "slow_start", &v)) {
            peer->slow_start = fy_conf_parse_msec(&v);
            if (peer->slow_start < 0) {
                goto invalid;
            }
        } else if (fy_str_eq(arg, "backup")) {
            peer->backup = 1;
            u->has_backup = 1;
        } else if (fy_str_eq(arg, "down")) {
            peer->down = 1;
        } else if (fy_str_eq(arg, "resolve")) {
            resolve = 1;
        } else if (fy_http_param(arg, "service", &v)) {
            if (v.len == 0) {
                fy_conf_error(cf, "service is empty");
                return FY_CONF_ERROR;
            }
            service = v;
        } else {
            goto invalid;
        }
    }
    if (peer->backup && peer->down) {
        fy_conf_error(cf, "a server cannot be both \"backup\" and \"down\"");
        return FY_CONF_ERROR;
    }
    if (service.data && !resolve) {
        fy_conf_error(cf, "service upstream \"%s\" requires \"resolve\" "
                      "parameter", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (service.data && fy_upstream_has_port(&cf->args[1])) {
        fy_conf_error(cf, "service upstream \"%s\" may not have port",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }

    if (resolve
        && !(cf->args[1].len > 5
             && strncmp((char *) cf->args[1].data, "unix:", 5) == 0))
    {
        rc = fy_http_target_parse(&cf->args[1], 80, &a, &host, &host_len,
                                  &port);
        if (rc == FY_OK) {
            /* a name: resolved at run time, not now (nginx) */
            if (fy_http_upstream_resolve_add(cf, u, peer, &cf->args[1], host,
                                             host_len, port,
                                             service.data ? &service : NULL)
                != FY_OK)
            {
                return "cannot allocate memory";
            }
            return FY_CONF_OK;
        }
        if (rc != FY_DONE) {
            fy_conf_error(cf, "invalid server address \"%s\"",
                          cf->args[1].data);
            return FY_CONF_ERROR;
        }
        /* an address: nothing to resolve, as in nginx */
    }
    if (service.data) {
        fy_conf_error(cf, "service upstream \"%s\" requires domain name",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }

    rc = fy_parse_addrs(cf->pool, cf->args[1].data, cf->args[1].len, 0,
                        &addrs, &named);
    if (rc != FY_OK) {
        fy_conf_error(cf, rc == FY_DECLINED
                          ? "too long path in the unix domain socket \"%s\""
                          : "host not found in upstream \"%s\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (fy_http_upstream_add_peers(cf->pool, u, peer, &cf->args[1], &addrs,
                                   named) != FY_OK)
    {
        return "cannot allocate memory";
    }
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid parameter \"%s\"", arg->data);
    return FY_CONF_ERROR;
}

/* The host of a proxy_pass URL from just after its scheme to end:
 * "HOST[:PORT]" up to the '/' of the URI part, or nginx's
 * "unix:/path.sock:/uri", whose path ends at the next ':'.  Returns
 * where the URI part starts, NULL for none ("...sock:" has none).  The
 * configuration's URL and, per request, one with variables
 * (fy_proxy_eval_pass). */
u_char *
fy_http_url_host(u_char *start, u_char *end, fy_str_t *host)
{
    u_char  *p;

    host->data = start;
    if (end - start > 5 && strncmp((char *) start, "unix:", 5) == 0) {
        p = memchr(start + 5, ':', (size_t) (end - start - 5));
        host->len = (size_t) ((p ? p : end) - start);
        return p && p + 1 < end ? p + 1 : NULL;
    }
    p = memchr(start, '/', (size_t) (end - start));
    host->len = (size_t) ((p ? p : end) - start);
    return p;
}

const char *
fy_http_proxy_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t             url = cf->args[1], host;
    u_char              *slash;
    size_t               skip;

    fy_unused(cmd);

    if (fy_http_proxied(lcf)) {
        return "is duplicate";
    }

    if (memchr(url.data, '$', url.len)
        && (url.data[0] == '$'
            || (url.len > 7
                && strncasecmp((char *) url.data, "http://", 7) == 0)
            || (url.len > 8
                && strncasecmp((char *) url.data, "https://", 8) == 0)))
    {
        /* Evaluated per request (fy_http_proxy_handler): the scheme
         * says whether TLS is spoken (with the location's proxy_ssl_*,
         * fy_http_proxy_ssl.c), the host names an upstream, or is an
         * address or a name to resolve (fy_http_proxy_resolve.c); the
         * URI part (if any) is sent as is. */
        lcf->proxy_pass_cv = fy_http_cv_compile(cf, &url);
        if (lcf->proxy_pass_cv == NULL) {
            return FY_CONF_ERROR;
        }
        lcf->proxy_upstreams = &((fy_http_main_conf_t *) cf->ctx->main)
                                   ->upstreams;
        return FY_CONF_OK;
    }

    if (url.len > 8 && strncasecmp((char *) url.data, "https://", 8) == 0) {
        /* TLS to the upstream: fy_http_proxy_ssl.c */
        lcf->proxy_https = 1;
        skip = 8;
    } else if (url.len > 7
               && strncasecmp((char *) url.data, "http://", 7) == 0)
    {
        skip = 7;
    } else {
        fy_conf_error(cf, "invalid URL prefix in \"%s\"", url.data);
        return FY_CONF_ERROR;
    }

    slash = fy_http_url_host(url.data + skip, url.data + url.len, &host);
    if (host.len == 0) {
        fy_conf_error(cf, "no host in \"%s\"", url.data);
        return FY_CONF_ERROR;
    }
    if (slash && (lcf->regex || lcf->named || lcf->noname)) {
        /* nothing says which part of the path to replace */
        fy_conf_error(cf, "\"proxy_pass\" cannot have URI part in location "
                      "given by regular expression, or inside named "
                      "location, or inside \"if\" statement");
        return FY_CONF_ERROR;
    }
    if (slash) {
        lcf->proxy_uri.data = slash;
        lcf->proxy_uri.len = (size_t) (url.data + url.len - slash);
        lcf->proxy_uri_set = 1;
    }

    lcf->proxy_url = url;
    lcf->proxy_host = host;
    if (host.len > 5 && strncmp((char *) host.data, "unix:", 5) == 0) {
        /* the Host sent to a unix-domain upstream, as nginx */
        fy_str_set(&lcf->proxy_host, "localhost");
    }
    lcf->upstream = fy_http_upstream_get(cf, cf->ctx->main, &host);
    if (lcf->upstream == NULL) {
        return FY_CONF_ERROR;
    }
    /* a host without a port: 80, or 443 for https (if it is not the
     * name of an upstream block, which is known only at the end) */
    slash = memchr(host.data, ']', host.len);
    slash = slash ? slash : host.data;
    if (memchr(slash, ':', host.len - (size_t) (slash - host.data)) == NULL) {
        if (lcf->proxy_https) {
            lcf->upstream->bare_https = 1;
        } else {
            lcf->upstream->bare_http = 1;
        }
    }
    return FY_CONF_OK;
}
