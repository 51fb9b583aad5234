/*
 * fy_http_resolver.c -- resolver and resolver_timeout, accepted with
 * their values checked as nginx checks them, and no effect.
 *
 * nginx asks its resolver for the names it meets at run time: a
 * proxy_pass with variables whose host is no upstream block, OCSP
 * responders, and more.  ferry resolves names once, with getaddrinfo()
 * when the configuration is read (as nginx does for the names of a
 * proxy_pass without variables and of upstream servers), and never at
 * run time: a proxy_pass with variables must name an upstream
 * (fy_proxy_eval_pass); an OCSP responder's name (ssl_stapling,
 * ssl_ocsp_responder) is resolved when the configuration is read too
 * (fy_tls_ocsp_fetch.c), and one in a client certificate (ssl_ocsp)
 * must be an IP address.  So there is nothing for a resolver to do; but
 * configurations carry it (Mozilla's generated TLS configuration has
 * "resolver 127.0.0.1;"), and refusing it would refuse them.  The
 * stream block's resolver rows use the same setters: a stream
 * "proxy_pass $var" resolves no names either (fy_stream_resolve).
 */
#include "fy_core.h"
#include "fy_http.h"

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_resolver_commands[] = {

    { "resolver", FY_HTTP_ANY, 0, 1, FY_CONF_MANY, fy_http_resolver,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, resolver_seen), NULL },

    { "resolver_timeout", FY_HTTP_ANY, 0, 1, 1, fy_http_resolver_timeout,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, resolver_seen), NULL },

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
 * [status_zone=ZONE]; the row's offset is an unsigned whose bit 1
 * marks it given (http's and stream's) */
const char *
fy_http_resolver(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned            *seen = (unsigned *) ((char *) conf + cmd->offset);
    fy_str_t            *a, v;
    fy_sockaddr_t        sa;
    socklen_t            salen;
    unsigned             i, naddr = 0;
    int                  ipv4 = 1, ipv6 = 1, rc;

    if (*seen & 1) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 6 && memcmp(a->data, "valid=", 6) == 0) {
            v.data = a->data + 6;
            v.len = a->len - 6;
            if (fy_conf_parse_msec(&v) < 0) {
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
            continue;
        }
        /* a server: an address or a name, with an optional port (53) */
        rc = a->len > 5 && memcmp(a->data, "unix:", 5) == 0
             ? FY_ERROR
             : fy_parse_addr_port(a->data, a->len, 0, &sa, &salen);
        if (rc != FY_OK) {
            fy_conf_error(cf, "host not found in resolver \"%s\"", a->data);
            return FY_CONF_ERROR;
        }
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
    *seen |= 1;
    return FY_CONF_OK;
}

/* resolver_timeout TIME; the row's offset as resolver's (bit 2) */
const char *
fy_http_resolver_timeout(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned  *seen = (unsigned *) ((char *) conf + cmd->offset);

    if (*seen & 2) {
        return "is duplicate";
    }
    if (fy_conf_parse_msec(&cf->args[1]) < 0) {
        return "invalid value";
    }
    *seen |= 2;
    return FY_CONF_OK;
}
