/*
 * fy_http_resolver.c -- resolver and resolver_timeout: the DNS servers
 * a location asks for the names it meets at run time, and how long a
 * request waits for them.
 *
 * nginx asks its resolver for the host of a proxy_pass with variables
 * that names no upstream block, OCSP responders, and more; ferry asks
 * it for those two (fy_http_proxy_resolve.c; the OCSP fetch,
 * fy_tls_ocsp_fetch.c, with the server level's resolver, which
 * fy_http_ssl_init.c hands to the TLS context), with fy_resolver.c.
 * The stream block's
 * resolver rows use the same setters, for its "proxy_pass $var"
 * (fy_stream_resolve.c).  A row's offset is that of the level's
 * fy_resolver_t pointer (resolver) or int64_t (resolver_timeout).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_resolver.h"

#include <string.h>
#include <arpa/inet.h>


#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_resolver_commands[] = {

    { "resolver", FY_HTTP_ANY, 0, 1, FY_CONF_MANY, fy_http_resolver,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, resolver), NULL },

    { "resolver_timeout", FY_HTTP_ANY, 0, 1, 1, fy_http_resolver_timeout,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, resolver_timeout),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* "on" or "off" after name= in arg: 1, 0, or -1 when invalid */
static int
fy_http_resolver_flag(const fy_str_t *arg, size_t skip)
{
    fy_str_t  v;

    v.data = arg->data + skip;
    v.len = arg->len - skip;
    return fy_str_eq(&v, "on") ? 1 : fy_str_eq(&v, "off") ? 0 : -1;
}

/* resolver ADDRESS ... [valid=TIME] [ipv4=on|off] [ipv6=on|off]
 * [status_zone=ZONE] */
const char *
fy_http_resolver(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_resolver_t      **set = (fy_resolver_t **) ((char *) conf
                                                    + cmd->offset);
    fy_resolver_t       *res;
    fy_str_t            *a, v;
    fy_sockaddr_t        sa;
    socklen_t            salen;
    unsigned             i, naddr = 0;
    int                  ipv4 = 1, ipv6 = 1, rc;
    int64_t              valid = -1;
    char                 text[FY_SOCKADDR_STRLEN];

    if (*set) {
        return "is duplicate";
    }
    res = fy_pcalloc(cf->pool, sizeof(fy_resolver_t));
    if (res == NULL
        || fy_pool_cleanup_add(cf->pool, fy_resolver_free_cache, res)
           != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    res->servers = fy_pcalloc(cf->pool, cf->nargs * sizeof(fy_sockaddr_t));
    res->server_lens = fy_pcalloc(cf->pool, cf->nargs * sizeof(socklen_t));
    res->server_names = fy_pcalloc(cf->pool, cf->nargs * sizeof(char *));
    if (res->servers == NULL || res->server_lens == NULL
        || res->server_names == NULL)
    {
        return FY_CONF_ERROR;
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 6 && memcmp(a->data, "valid=", 6) == 0) {
            v.data = a->data + 6;
            v.len = a->len - 6;
            valid = fy_conf_parse_msec(&v);
            if (valid < 0) {
                fy_conf_error(cf, "invalid parameter: %s", a->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (a->len >= 5 && memcmp(a->data, "ipv4=", 5) == 0) {
            ipv4 = fy_http_resolver_flag(a, 5);
            if (ipv4 < 0) {
                fy_conf_error(cf, "invalid parameter: %s", a->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (a->len >= 5 && memcmp(a->data, "ipv6=", 5) == 0) {
            ipv6 = fy_http_resolver_flag(a, 5);
            if (ipv6 < 0) {
                fy_conf_error(cf, "invalid parameter: %s", a->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (a->len > 12 && memcmp(a->data, "status_zone=", 12) == 0) {
            continue;       /* nginx Plus' statistics: none to keep */
        }
        /* a server: an address or a name (resolved now, as nginx
         * does), with an optional port (53) */
        rc = a->len > 5 && memcmp(a->data, "unix:", 5) == 0
             ? FY_ERROR
             : fy_parse_addr_port(a->data, a->len, 0, &sa, &salen);
        if (rc != FY_OK) {
            fy_conf_error(cf, "host not found in resolver \"%s\"", a->data);
            return FY_CONF_ERROR;
        }
        if (memrchr(a->data, ':', a->len) == NULL
            || (a->data[0] == '[' && a->data[a->len - 1] == ']'))
        {
            /* no port given: fy_parse_addr_port's default is HTTP's */
            sa.sin.sin_port = htons(53);
        }
        fy_sockaddr_text(&sa.sa, salen, text, sizeof(text), 1);
        res->server_names[naddr] = fy_pstrndup(cf->pool, text, strlen(text));
        if (res->server_names[naddr] == NULL) {
            return FY_CONF_ERROR;
        }
        res->servers[naddr] = sa;
        res->server_lens[naddr] = salen;
        naddr++;
    }
    if (!ipv4 && !ipv6) {
        fy_conf_error(cf, "\"ipv4\" and \"ipv6\" cannot both be \"off\"");
        return FY_CONF_ERROR;
    }
    if (naddr == 0) {
        fy_conf_error(cf, "no name servers defined");
        return FY_CONF_ERROR;
    }
    res->nservers = naddr;
    res->valid = valid;
    res->ipv4 = ipv4 ? 1 : 0;
    res->ipv6 = ipv6 ? 1 : 0;
    *set = res;
    return FY_CONF_OK;
}

/* resolver_timeout TIME */
const char *
fy_http_resolver_timeout(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    int64_t  *t = (int64_t *) ((char *) conf + cmd->offset);

    if (*t != FY_CONF_UNSET_MSEC) {
        return "is duplicate";
    }
    *t = fy_conf_parse_msec(&cf->args[1]);
    if (*t < 0) {
        *t = FY_CONF_UNSET_MSEC;
        return "invalid value";
    }
    return FY_CONF_OK;
}
