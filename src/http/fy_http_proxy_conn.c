/*
 * fy_http_proxy_conn.c -- how upstream connections are made and kept:
 *
 *   proxy_bind ADDRESS [transparent] | off
 *                        the local address of upstream sockets (bind()
 *                        before connect()); ADDRESS may hold variables
 *                        ("$remote_addr transparent": the client's own
 *                        address, which needs IP_TRANSPARENT and so
 *                        CAP_NET_ADMIN, and routing that brings the
 *                        answers back to this host)
 *   proxy_socket_keepalive on | off
 *                        SO_KEEPALIVE on upstream sockets
 *   proxy_ignore_client_abort on | off
 *                        a client that closes while its request is at
 *                        the upstream no longer closes the upstream
 *                        connection (fy_proxy_check_client)
 *
 * Unset (the default), none of them costs a connection more than a test
 * of the location's settings.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

#include <netinet/in.h>
#include <arpa/inet.h>

#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT  19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT  75
#endif

typedef struct fy_http_proxy_bind_s {
    fy_sockaddr_t        addr;          /* family 0: "off" */
    socklen_t            addrlen;
    fy_http_cv_t        *value;         /* with variables, else NULL */
    unsigned             transparent:1;
} fy_http_proxy_bind_t;

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_proxy_conn_commands[] = {

    { "proxy_bind", FY_HTTP_ANY, 0, 1, 2, fy_http_proxy_bind,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_bind), NULL },

    { "proxy_socket_keepalive", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_socket_keepalive),
      NULL },

    { "proxy_ignore_client_abort", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, proxy_ignore_client_abort), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* A numeric local address, "1.2.3.4", "1.2.3.4:port", "::1", "[::1]"
 * or "[::1]:port" (no name lookup: it may be evaluated per request).
 * Port 0 when none: the kernel picks one.  FY_OK or FY_ERROR. */
int
fy_http_bind_addr(const u_char *s, size_t len, fy_sockaddr_t *addr,
                  socklen_t *addrlen)
{
    char           host[INET6_ADDRSTRLEN + 1];
    const u_char  *end = s + len, *host_end, *colon = NULL;
    int64_t        port = 0;
    size_t         hlen;

    memset(addr, 0, sizeof(*addr));
    if (len && s[0] == '[') {
        host_end = memchr(s, ']', len);
        if (host_end == NULL) {
            return FY_ERROR;
        }
        if (host_end + 1 < end) {
            if (host_end[1] != ':') {
                return FY_ERROR;
            }
            colon = host_end + 1;
        }
        s++;
    } else {
        host_end = memchr(s, ':', len);
        if (host_end && memchr(host_end + 1, ':', (size_t) (end - host_end
                                                            - 1)))
        {
            host_end = end;         /* a bare IPv6 address */
        } else if (host_end) {
            colon = host_end;
        } else {
            host_end = end;
        }
    }
    if (colon) {
        port = fy_atoi(colon + 1, (size_t) (end - colon - 1));
        if (port < 1 || port > 65535) {
            return FY_ERROR;
        }
    }
    hlen = (size_t) (host_end - s);
    if (hlen == 0 || hlen >= sizeof(host)) {
        return FY_ERROR;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';
    if (inet_pton(AF_INET, host, &addr->sin.sin_addr) == 1) {
        addr->sin.sin_family = AF_INET;
        addr->sin.sin_port = htons((uint16_t) port);
        *addrlen = sizeof(struct sockaddr_in);
        return FY_OK;
    }
    if (inet_pton(AF_INET6, host, &addr->sin6.sin6_addr) == 1) {
        addr->sin6.sin6_family = AF_INET6;
        addr->sin6.sin6_port = htons((uint16_t) port);
        *addrlen = sizeof(struct sockaddr_in6);
        return FY_OK;
    }
    return FY_ERROR;
}

/* proxy_bind ADDRESS [transparent] | off; also fastcgi_bind,
 * uwsgi_bind, scgi_bind and memcached_bind: cmd->offset is that of the
 * fy_http_proxy_bind_t pointer to set (lcf->proxy_bind, or a module's
 * own bind, which fy_http_cgi_apply or fy_http_memcached_apply hands
 * to proxy_bind). */
const char *
fy_http_proxy_bind(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_bind_t **set = (fy_http_proxy_bind_t **)
                                 ((char *) conf + cmd->offset);
    fy_http_proxy_bind_t  *b;
    fy_str_t              *v = &cf->args[1];

    if (*set) {
        return "is duplicate";
    }
    b = fy_pcalloc(cf->pool, sizeof(fy_http_proxy_bind_t));
    if (b == NULL) {
        return "cannot allocate memory";
    }
    if (cf->nargs == 2 && fy_str_eq(v, "off")) {
        *set = b;
        return FY_CONF_OK;
    }
    if (cf->nargs == 3) {
        if (!fy_str_eq(&cf->args[2], "transparent")) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
        b->transparent = 1;
    }
    if (memchr(v->data, '$', v->len)) {
        b->value = fy_http_cv_compile(cf, v);
        if (b->value == NULL) {
            return FY_CONF_ERROR;
        }
    } else if (fy_http_bind_addr(v->data, v->len, &b->addr, &b->addrlen)
               != FY_OK)
    {
        fy_conf_error(cf, "invalid address \"%s\"", v->data);
        return FY_CONF_ERROR;
    }
    *set = b;
    return FY_CONF_OK;
}

void
fy_http_proxy_conn_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_conf_merge(conf->proxy_ignore_client_abort,
                  prev->proxy_ignore_client_abort, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->proxy_socket_keepalive, prev->proxy_socket_keepalive,
                  FY_CONF_UNSET_INT, 0);
    if (conf->proxy_bind == NULL) {
        conf->proxy_bind = prev->proxy_bind;
    }
}

/* IP_TRANSPARENT (IPV6_TRANSPARENT) on fd, so that it may bind an
 * address this host does not have. */
static int
fy_http_bind_transparent(int fd, int family)
{
    int  on = 1;

    if (family == AF_INET6) {
        return setsockopt(fd, IPPROTO_IPV6, IPV6_TRANSPARENT, &on,
                          sizeof(on));
    }
    return setsockopt(fd, IPPROTO_IP, IP_TRANSPARENT, &on, sizeof(on));
}

int
fy_upstream_keepalive(int fd)
{
    int  on = 1;

    return setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
}

int
fy_proxy_conn_socket(fy_http_proxy_t *p, int fd)
{
    fy_http_loc_conf_t    *lcf = p->r->loc;
    fy_http_proxy_bind_t  *b = lcf->proxy_bind;
    fy_sockaddr_t          addr;
    socklen_t              addrlen;
    u_char                *v;
    size_t                 len;
    int                    on = 1;

    if (lcf->proxy_socket_keepalive == 1 && fy_upstream_keepalive(fd) == -1) {
        /* nginx goes on without it */
        fy_log_error(FY_LOG_ALERT, errno, "setsockopt(SO_KEEPALIVE) "
                     "failed, ignored" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    }
    if (b == NULL || (b->value == NULL && b->addr.sa.sa_family == 0)) {
        return FY_OK;
    }

    if (b->value) {
        v = fy_http_cv_eval(p->r, b->value, &len);
        if (v == NULL) {
            return FY_ERROR;
        }
        if (len == 0) {
            return FY_OK;           /* nothing to bind to (nginx) */
        }
        if (fy_http_bind_addr(v, len, &addr, &addrlen) != FY_OK) {
            fy_log_error(FY_LOG_ERR, 0, "invalid local address \"%.*s\""
                         FY_PROXY_CTX_FMT, (int) len, (char *) v,
                         FY_PROXY_CTX(p));
            return FY_OK;           /* nginx connects unbound then */
        }
    } else {
        addr = b->addr;
        addrlen = b->addrlen;
    }
    if (addr.sa.sa_family != p->peer->addr.sa.sa_family) {
        /* an IPv4 address cannot be the local end towards an IPv6
         * server, nor the other way round: bind() would fail */
        fy_log_error(FY_LOG_ERR, 0, "proxy_bind address is not of the "
                     "upstream's family, not bound" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        return FY_OK;
    }

    if (b->transparent
        && fy_http_bind_transparent(fd, addr.sa.sa_family) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "setsockopt(IP_TRANSPARENT) "
                     "failed" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        return FY_ERROR;
    }
    if (addr.sin.sin_port == 0) {
        /* the port comes with connect(), so that one local address
         * serves as many connections as there are server addresses */
        (void) setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
                          sizeof(on));
    }
    if (bind(fd, &addr.sa, addrlen) == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "bind() to local address failed"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        return FY_ERROR;
    }
    return FY_OK;
}
