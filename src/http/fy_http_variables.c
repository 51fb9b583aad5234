/*
 * fy_http_variables.c -- $variables and texts that contain them.
 *
 * A text such as "backend $pid answered $request_uri" is compiled once,
 * when the configuration is read, into literal and variable parts;
 * evaluating it per request is then one pass that sizes the result and
 * one that writes it.  Unknown variables are configuration errors.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_fastcgi.h"
#include "fy_http_proxy.h"
#include "fy_pp.h"

#include <arpa/inet.h>

static size_t
fy_var_copy(u_char *buf, size_t size, const void *src, size_t len)
{
    if (buf && len) {
        /* len 0 may come with src NULL: $args of a request without
         * a query, which memcpy must not be given */
        memcpy(buf, src, fy_min(size, len));
    }
    return len;
}

static size_t
fy_var_pid(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[24];
    int   n;

    fy_unused(r);
    n = snprintf(tmp, sizeof(tmp), "%d", (int) fy_getpid());
    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_remote_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->hc->addr_text, strlen(r->hc->addr_text));
}

/* nginx: the address in binary form, 4 bytes for IPv4 (also one mapped
 * in IPv6), 16 for IPv6; "unix:" for a unix-domain client.  The key of
 * choice for limit_req_zone and limit_conn_zone: short and fixed. */
static size_t
fy_var_binary_remote_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    const uint8_t  *addr;
    unsigned        n;
    int             family;

    addr = fy_http_cidr_addr(&r->hc->c->addr, &family, &n);
    if (addr == NULL) {
        return fy_var_copy(buf, size, r->hc->addr_text,
                           strlen(r->hc->addr_text));
    }
    return fy_var_copy(buf, size, addr, n);
}

static size_t
fy_var_remote_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[8];
    int   n;

    if (r->hc->port == 0) {
        return 0;                   /* a unix-domain client (nginx) */
    }
    n = snprintf(tmp, sizeof(tmp), "%u", r->hc->port);

    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_request_uri(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->uri.data, r->uri.len);
}

static size_t
fy_var_uri(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->path.data, r->path.len);
}

static size_t
fy_var_args(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->args.data, r->args.len);
}

/* "?" when there are arguments, else empty (nginx) */
static size_t
fy_var_is_args(fy_http_request_t *r, u_char *buf, size_t size)
{
    return r->args.len ? fy_var_copy(buf, size, "?", 1) : 0;
}

static size_t
fy_var_request_method(fy_http_request_t *r, u_char *buf, size_t size)
{
    /* the client's, also in an auth_request subrequest (which is a
     * GET): nginx reads r->main's, what X-Original-Method relies on */
    if (r->parent) {
        r = r->parent;
    }
    return fy_var_copy(buf, size, r->method_name.data, r->method_name.len);
}

/* nginx: the Host header without port, else the first server_name
 * (as $server_name), else the empty string. */
static size_t
fy_var_host(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_str_t  *name;

    if (r->host.len) {
        return fy_var_copy(buf, size, r->host.data, r->host.len);
    }
    if (r->srv) {
        name = &r->srv->sn.server_name;
        return fy_var_copy(buf, size, name->data, name->len);
    }
    return 0;
}

static size_t
fy_var_server_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    char  tmp[8];
    int   n;

    if (r->hc->ls->addr.sa.sa_family == AF_UNIX) {
        return 0;                   /* nginx: empty on a unix socket */
    }
    n = snprintf(tmp, sizeof(tmp), "%u", ntohs(r->hc->ls->addr.sin6.sin6_port));

    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_server_protocol(fy_http_request_t *r, u_char *buf, size_t size)
{
    const char  *p = r->http_version == 1000 ? "HTTP/1.0" : "HTTP/1.1";

    return fy_var_copy(buf, size, p, 8);
}

static size_t
fy_var_scheme(fy_http_request_t *r, u_char *buf, size_t size)
{
    if (r->hc->c->ssl) {
        return fy_var_copy(buf, size, "https", 5);
    }
    return fy_var_copy(buf, size, "http", 4);
}


static size_t
fy_var_num(u_char *buf, size_t size, uint64_t v)
{
    u_char  tmp[FY_UTOA_MAX];

    return fy_var_copy(buf, size, tmp, fy_utoa(tmp, v));
}

static size_t
fy_var_request(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_copy(buf, size, r->request_line.data, r->request_line.len);
}

static size_t
fy_var_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    u_char    tmp[FY_UTOA_MAX];
    unsigned  st = r->status > 0 ? (unsigned) r->status : 0;

    if (st >= 1000) {
        return fy_var_copy(buf, size, tmp, fy_utoa(tmp, st));
    }
    /* three digits, as nginx's "%03ui" */
    tmp[0] = (u_char) ('0' + st / 100);
    tmp[1] = (u_char) ('0' + st / 10 % 10);
    tmp[2] = (u_char) ('0' + st % 10);
    return fy_var_copy(buf, size, tmp, 3);
}

static size_t
fy_var_bytes_sent(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_num(buf, size, r->bytes_out);
}

static size_t
fy_var_body_bytes_sent(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_num(buf, size, r->bytes_out > r->header_out
                                 ? r->bytes_out - r->header_out : 0);
}

static size_t
fy_var_limit_rate(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_num(buf, size, r->limit_rate);
}

static size_t
fy_var_request_length(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_num(buf, size, r->request_length);
}

static size_t
fy_var_connection(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_num(buf, size, r->hc->serial);
}

static size_t
fy_var_connection_requests(fy_http_request_t *r, u_char *buf, size_t size)
{
    /* nginx counts the current request too */
    return fy_var_num(buf, size, r->number);
}

/* "seconds.milliseconds" */
static size_t
fy_var_msec_text(u_char *buf, size_t size, uint64_t ms)
{
    char  tmp[32];
    int   n = snprintf(tmp, sizeof(tmp), "%llu.%03u",
                       (unsigned long long) (ms / 1000), (unsigned) (ms % 1000));

    return fy_var_copy(buf, size, tmp, (size_t) n);
}

static size_t
fy_var_request_time(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_msec_text(buf, size, fy_current_msec - r->start_msec);
}

static size_t
fy_var_msec(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_var_msec_text(buf, size, fy_wall_msec);
}

static size_t
fy_var_time_local(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_var_copy(buf, size, fy_log_time_local, fy_log_time_local_len);
}

static size_t
fy_var_time_iso8601(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_var_copy(buf, size, fy_time_iso8601, fy_time_iso8601_len);
}

static size_t
fy_var_hostname(fy_http_request_t *r, u_char *buf, size_t size)
{
    static char    name[256];
    static size_t  len;

    fy_unused(r);
    if (len == 0) {
        if (gethostname(name, sizeof(name) - 1) != 0) {
            strcpy(name, "localhost");
        }
        len = strlen(name);
    }
    return fy_var_copy(buf, size, name, len);
}

static size_t
fy_var_server_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_sockaddr_t  sa;
    socklen_t      len = sizeof(sa);
    char           text[128];

    /* the local address of the connection: a wildcard listener does
     * not know it, so ask the socket ("unix:/path" on a unix one) */
    if (getsockname(r->hc->c->fd, &sa.sa, &len) != 0) {
        return 0;
    }
    fy_sockaddr_text(&sa.sa, len, text, sizeof(text), 0);
    return fy_var_copy(buf, size, text, strlen(text));
}

static size_t
fy_var_proxy_host(fy_http_request_t *r, u_char *buf, size_t size)
{
    if (r->proxy) {
        /* the one of this request (proxy_pass with variables) */
        return fy_http_proxy_host(r, buf, size);
    }
    if (r->loc == NULL || r->loc->upstream == NULL) {
        return 0;
    }
    return fy_var_copy(buf, size, r->loc->proxy_host.data,
                       r->loc->proxy_host.len);
}

/* $proxy_port: the port proxy_pass names, else its scheme's (nginx) */
static size_t
fy_var_proxy_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    u_char  host[256], *p;
    size_t  n;

    if (!r->proxy && (r->loc == NULL || r->loc->upstream == NULL)) {
        return 0;
    }
    n = fy_var_proxy_host(r, host, sizeof(host));
    n = fy_min(n, sizeof(host));
    for (p = host + n; p > host && p[-1] >= '0' && p[-1] <= '9'; p--) {
        /* back over the digits of a ":port" */
    }
    if (p > host && p < host + n && p[-1] == ':') {
        return fy_var_copy(buf, size, p, (size_t) (host + n - p));
    }
    return (r->proxy ? r->proxy->https : r->loc->proxy_https)
           ? fy_var_copy(buf, size, "443", 3)
           : fy_var_copy(buf, size, "80", 2);
}

/* The next request header, from *i on, named by the variable's free
 * part: "http_user_agent" names User-Agent (underscores for dashes, any
 * case); *i is left past it. */
static const fy_http_header_t *
fy_var_next_header(fy_http_request_t *r, const fy_str_t *arg, unsigned *i)
{
    fy_http_header_t  *h;
    size_t             k;

    for ( ; *i < r->headers.nelts; (*i)++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, *i);
        if (h->name.len != arg->len) {
            continue;
        }
        for (k = 0; k < arg->len; k++) {
            u_char a = arg->data[k], b = h->name.data[k];

            if (b == '-') {
                b = '_';
            }
            if ((a | 0x20) != (b | 0x20)) {
                break;
            }
        }
        if (k == arg->len) {
            (*i)++;
            return h;
        }
    }
    return NULL;
}

static const fy_http_header_t *
fy_var_find_header(fy_http_request_t *r, const fy_str_t *arg)
{
    unsigned  i = 0;

    return fy_var_next_header(r, arg, &i);
}

/*
 * Every request header the free part names, in order, their values
 * joined by sep: several lines of a field are one list (RFC 9110 5.3),
 * and a front proxy that adds the client's address on a line of its own
 * must not see it dropped.  nginx joins them the same way ($http_*
 * since 1.23; X-Forwarded-For and Cookie always).  Empty values add
 * nothing.
 */
static size_t
fy_var_headers(fy_http_request_t *r, const fy_str_t *arg, const char *sep,
               u_char *buf, size_t size)
{
    const fy_http_header_t  *h;
    unsigned                 i = 0;
    size_t                   n = 0, slen = strlen(sep);

    while ((h = fy_var_next_header(r, arg, &i)) != NULL) {
        if (h->value.len == 0) {
            continue;
        }
        if (n) {
            n += fy_var_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                             sep, slen);
        }
        n += fy_var_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                         h->value.data, h->value.len);
    }
    return n;
}

static size_t
fy_var_proxy_add_xff(fy_http_request_t *r, u_char *buf, size_t size)
{
    static const fy_str_t  xff = fy_string("x_forwarded_for");
    size_t                 n, alen = strlen(r->hc->addr_text);

    /* "<client's X-Forwarded-For lines>, <remote_addr>", or just the
     * address */
    n = fy_var_headers(r, &xff, ", ", buf, size);
    if (n) {
        n += fy_var_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                         ", ", 2);
    }
    n += fy_var_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                     r->hc->addr_text, alen);
    return n;
}

static size_t
fy_pvar_http(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
             size_t size)
{
    /* Cookie lines join with "; " (RFC 6265 5.4), others with ", " */
    return fy_var_headers(r, arg,
                          arg->len == 6 && strncasecmp((char *) arg->data,
                                                       "cookie", 6) == 0
                          ? "; " : ", ", buf, size);
}

int
fy_http_arg(fy_http_request_t *r, const u_char *name, size_t len,
            fy_str_t *value)
{
    u_char  *p, *end, *amp;

    if (r->args.data == NULL) {
        return 0;       /* no query (and no pointer to do sums on) */
    }
    p = r->args.data;
    end = p + r->args.len;

    /* "a=1&b=2": the value of the first parameter named name, in any
     * case (nginx: $arg_a is also "A=1") */
    while (p < end) {
        amp = memchr(p, '&', (size_t) (end - p));
        if (amp == NULL) {
            amp = end;
        }
        if ((size_t) (amp - p) > len && p[len] == '='
            && strncasecmp((char *) p, (char *) name, len) == 0)
        {
            value->data = p + len + 1;
            value->len = (size_t) (amp - p) - len - 1;
            return 1;
        }
        p = amp + 1;
    }
    return 0;
}

static size_t
fy_pvar_arg(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
            size_t size)
{
    fy_str_t  v;

    if (!fy_http_arg(r, arg->data, arg->len, &v)) {
        return 0;
    }
    return fy_var_copy(buf, size, v.data, v.len);
}

static size_t
fy_pvar_cookie(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
               size_t size)
{
    static const fy_str_t    name = fy_string("cookie");
    const fy_http_header_t  *h;
    unsigned                 i = 0;
    u_char                  *p, *q, *end, *semi;

    /* "a=1; b=2", in each Cookie line (a gateway from HTTP/2 may have
     * split them, RFC 9113 8.2.3), as nginx reads them: the name in any
     * case, spaces allowed around "=", the value up to ";", pairs
     * separated by ";" or "," */
    while ((h = fy_var_next_header(r, &name, &i)) != NULL) {
        p = h->value.data;
        end = p + h->value.len;
        while (p < end) {
            if ((size_t) (end - p) > arg->len
                && strncasecmp((char *) p, (char *) arg->data, arg->len) == 0)
            {
                q = p + arg->len;
                while (q < end && *q == ' ') {
                    q++;
                }
                if (q < end && *q == '=') {
                    q++;
                    while (q < end && *q == ' ') {
                        q++;
                    }
                    semi = memchr(q, ';', (size_t) (end - q));
                    if (semi == NULL) {
                        semi = end;
                    }
                    return fy_var_copy(buf, size, q, (size_t) (semi - q));
                }
            }
            while (p < end && *p != ';' && *p != ',') {
                p++;
            }
            if (p < end) {
                p++;
            }
            while (p < end && *p == ' ') {
                p++;
            }
        }
    }
    return 0;
}

/* $server_name: the name of the server that took the request, its
 * first server_name ("" for a server without one, as nginx). */
static size_t
fy_var_server_name(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_str_t  *name;

    /* the first server_name as written, a regex too (nginx) */
    if (r->srv == NULL) {
        return 0;
    }
    name = &r->srv->sn.server_name;
    return fy_var_copy(buf, size, name->data, name->len);
}

/* $content_type, $content_length: the request's fields (nginx) */
static size_t
fy_var_content_type(fy_http_request_t *r, u_char *buf, size_t size)
{
    static const fy_str_t  name = fy_string("content_type");
    const fy_http_header_t  *h = fy_var_find_header(r, &name);

    return h ? fy_var_copy(buf, size, h->value.data, h->value.len) : 0;
}

static size_t
fy_var_content_length(fy_http_request_t *r, u_char *buf, size_t size)
{
    static const fy_str_t  name = fy_string("content_length");
    const fy_http_header_t  *h = fy_var_find_header(r, &name);

    return h ? fy_var_copy(buf, size, h->value.data, h->value.len) : 0;
}

/* $remote_user: the user name of HTTP Basic authentication, read as
 * auth_basic reads it (whether or not auth_basic checks it, as nginx). */
static size_t
fy_var_remote_user(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_str_t  user, pw;

    if (fy_http_auth_credentials(r, &user, &pw) != FY_OK) {
        return 0;
    }
    return fy_var_copy(buf, size, user.data, user.len);
}

/* The value of the cookie arg->data as $cookie_NAME finds it (userid's
 * cookie, fy_http_userid.c). */
size_t
fy_http_cookie_value(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
                     size_t size)
{
    return fy_pvar_cookie(r, arg, buf, size);
}

/*
 * nginx's variables whose value ferry's design makes empty, kept so that
 * configurations (log formats above all) naming them still load:
 * $http2, $http3 ("h2", "h2c", "h3" in nginx: every request ferry
 * serves came over HTTP/1.x), $request_body_file (nginx's temporary
 * file of a body; ferry writes none).
 */
static size_t
fy_var_empty(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    fy_unused(buf);
    fy_unused(size);
    return 0;
}

static const fy_http_variable_t  fy_http_variables[] = {
    { "pid",              fy_var_pid },
    { "remote_addr",      fy_var_remote_addr },
    { "remote_port",      fy_var_remote_port },
    { "binary_remote_addr", fy_var_binary_remote_addr },
    { "realip_remote_addr", fy_http_realip_var_addr },
    { "realip_remote_port", fy_http_realip_var_port },
    { "proxy_protocol_addr", fy_http_pp_var_addr },
    { "proxy_protocol_port", fy_http_pp_var_port },
    { "proxy_protocol_server_addr", fy_http_pp_var_server_addr },
    { "proxy_protocol_server_port", fy_http_pp_var_server_port },
    { "request_uri",      fy_var_request_uri },
    { "uri",              fy_var_uri },
    { "document_uri",     fy_var_uri },
    { "server_name",      fy_var_server_name },
    { "content_type",     fy_var_content_type },
    { "content_length",   fy_var_content_length },
    { "realpath_root",    fy_http_var_realpath_root },
    { "request_id",       fy_http_var_request_id },
    { "slice_range",      fy_http_slice_var_range },
    { "nginx_version",    fy_http_var_nginx_version },
    { "request_completion", fy_http_var_request_completion },
    { "pipe",             fy_http_var_pipe },
    { "gzip_ratio",       fy_http_var_gzip_ratio },
    { "connection_time",  fy_http_var_connection_time },
    { "tcpinfo_rtt",      fy_http_var_tcpinfo_rtt },
    { "tcpinfo_rttvar",   fy_http_var_tcpinfo_rttvar },
    { "tcpinfo_snd_cwnd", fy_http_var_tcpinfo_snd_cwnd },
    { "tcpinfo_rcv_space", fy_http_var_tcpinfo_rcv_space },
    { "args",             fy_var_args },
    { "query_string",     fy_var_args },
    { "is_args",          fy_var_is_args },
    { "request_filename", fy_http_static_var_filename },
    { "document_root",    fy_http_static_var_root },
    { "request_method",   fy_var_request_method },
    { "host",             fy_var_host },
    { "server_port",      fy_var_server_port },
    { "server_protocol",  fy_var_server_protocol },
    { "scheme",           fy_var_scheme },
    { "https",            fy_http_ssl_var_https },
    { "ssl_protocol",     fy_http_ssl_var_protocol },
    { "ssl_cipher",       fy_http_ssl_var_cipher },
    { "ssl_server_name",  fy_http_ssl_var_server_name },
    { "ssl_session_reused", fy_http_ssl_var_session_reused },
    { "ssl_client_verify", fy_http_ssl_var_client_verify },
    { "ssl_client_s_dn",  fy_http_ssl_var_client_s_dn },
    { "ssl_client_i_dn",  fy_http_ssl_var_client_i_dn },
    { "ssl_client_serial", fy_http_ssl_var_client_serial },
    { "ssl_client_fingerprint", fy_http_ssl_var_client_fingerprint },
    { "ssl_client_raw_cert", fy_http_ssl_var_client_raw_cert },
    { "ssl_client_cert",  fy_http_ssl_var_client_cert },
    { "ssl_client_escaped_cert", fy_http_ssl_var_client_escaped_cert },
    { "ssl_client_s_dn_legacy", fy_http_ssl_var_client_s_dn_legacy },
    { "ssl_client_i_dn_legacy", fy_http_ssl_var_client_i_dn_legacy },
    { "ssl_client_v_start", fy_http_ssl_var_client_v_start },
    { "ssl_client_v_end", fy_http_ssl_var_client_v_end },
    { "ssl_client_v_remain", fy_http_ssl_var_client_v_remain },
    { "ssl_ciphers", fy_http_ssl_var_ciphers },
    { "ssl_curve", fy_http_ssl_var_curve },
    { "ssl_curves", fy_http_ssl_var_curves },
    { "ssl_session_id", fy_http_ssl_var_session_id },
    { "ssl_alpn_protocol", fy_http_ssl_var_alpn_protocol },
    { "ssl_early_data",   fy_http_ssl_var_early_data },
    { "http2",            fy_var_empty },
    { "http3",            fy_var_empty },
    { "date_local",       fy_http_ssi_var_date_local },
    { "date_gmt",         fy_http_ssi_var_date_gmt },
    { "request",          fy_var_request },
    { "status",           fy_var_status },
    { "bytes_sent",       fy_var_bytes_sent },
    { "body_bytes_sent",  fy_var_body_bytes_sent },
    { "request_length",   fy_var_request_length },
    { "limit_rate",       fy_var_limit_rate },
    { "request_time",     fy_var_request_time },
    { "connection",       fy_var_connection },
    { "connection_requests", fy_var_connection_requests },
    { "msec",             fy_var_msec },
    { "time_local",       fy_var_time_local },
    { "time_iso8601",     fy_var_time_iso8601 },
    { "hostname",         fy_var_hostname },
    { "server_addr",      fy_var_server_addr },
    { "proxy_host",       fy_var_proxy_host },
    { "proxy_add_x_forwarded_for", fy_var_proxy_add_xff },
    { "remote_user",      fy_var_remote_user },
    { "invalid_referer",  fy_http_referer_var },
    { "uid_got",          fy_http_userid_got_var },
    { "uid_set",          fy_http_userid_set_var },
    { "uid_reset",        fy_http_userid_reset_var },
    { "modern_browser",   fy_http_browser_modern_var },
    { "ancient_browser",  fy_http_browser_ancient_var },
    { "msie",             fy_http_browser_msie_var },
    { "secure_link",      fy_http_secure_link_var },
    { "secure_link_expires", fy_http_secure_link_expires_var },
    { "upstream_addr",    fy_http_proxy_upstream_addr },
    { "upstream_status",  fy_http_proxy_upstream_status },
    { "upstream_connect_time", fy_http_proxy_upstream_connect_time },
    { "upstream_header_time", fy_http_proxy_upstream_header_time },
    { "upstream_response_time", fy_http_proxy_upstream_response_time },
    { "upstream_response_length", fy_http_proxy_upstream_response_length },
    { "upstream_bytes_received", fy_http_proxy_upstream_bytes_received },
    { "upstream_bytes_sent", fy_http_proxy_upstream_bytes_sent },
    { "proxy_port",       fy_var_proxy_port },
    { "limit_req_status", fy_http_limit_var_req_status },
    { "upstream_cache_status", fy_http_cache_var_status },
    { "limit_conn_status", fy_http_limit_var_conn_status },
    { "request_body",     fy_http_proxy_var_request_body },
    { "request_body_file", fy_var_empty },
    { "fastcgi_script_name", fy_http_fastcgi_var_script_name },
    { "fastcgi_path_info", fy_http_fastcgi_var_path_info },
    { NULL, NULL }
};

static const fy_http_pvariable_t  fy_http_pvariables[] = {
    { "http_",    fy_pvar_http },
    { "arg_",     fy_pvar_arg },
    { "cookie_",  fy_pvar_cookie },
    { "proxy_protocol_tlv_", fy_http_pp_var_tlv },
    { NULL, NULL }
};

const fy_http_variable_t *
fy_http_variable_find(const u_char *name, size_t len)
{
    const fy_http_variable_t  *v;

    for (v = fy_http_variables; v->name; v++) {
        if (strlen(v->name) == len && memcmp(v->name, name, len) == 0) {
            return v;
        }
    }
    return NULL;
}

const fy_http_pvariable_t *
fy_http_pvariable_find(const u_char *name, size_t len, fy_str_t *arg)
{
    static const fy_http_pvariable_t  *tables[] = {
        fy_http_pvariables, fy_http_var_response_pvariables, NULL
    };
    const fy_http_pvariable_t  *v;
    size_t                      plen;
    unsigned                    t;

    for (t = 0; tables[t]; t++) {
        for (v = tables[t]; v->prefix; v++) {
            plen = strlen(v->prefix);
            if (len > plen && memcmp(v->prefix, name, plen) == 0) {
                arg->data = (u_char *) name + plen;
                arg->len = len - plen;
                return v;
            }
        }
    }
    return NULL;
}

size_t
fy_http_cv_part_get(fy_http_request_t *r, const fy_http_cv_part_t *part,
                    u_char *buf, size_t size)
{
    if (part->var) {
        return part->var->get(r, buf, size);
    }
    if (part->pvar) {
        return part->pvar->get(r, &part->arg, buf, size);
    }
    if (part->map) {
        return fy_http_map_get(r, part->map, buf, size);
    }
    return fy_var_copy(buf, size, part->lit.data, part->lit.len);
}

size_t
fy_http_cv_part_len(fy_http_request_t *r, const fy_http_cv_part_t *part)
{
    return fy_http_cv_part_get(r, part, NULL, 0);
}

static int
fy_is_var_char(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '_';
}

fy_http_cv_t *
fy_http_cv_compile(fy_conf_t *cf, const fy_str_t *text)
{
    fy_http_cv_t       *cv;
    fy_http_cv_part_t  *part;
    const u_char       *p, *end, *start, *name;
    size_t              nlen;
    unsigned            max;

    cv = fy_pcalloc(cf->pool, sizeof(fy_http_cv_t));
    /* At most one part per '$' plus one literal between each. */
    max = 1;
    for (p = text->data; p < text->data + text->len; p++) {
        max += (*p == '$') * 2;
    }
    if (cv == NULL
        || (cv->parts = fy_pcalloc(cf->pool, max * sizeof(*part))) == NULL)
    {
        return NULL;
    }
    cv->text = *text;

    p = text->data;
    end = text->data + text->len;

    while (p < end) {
        start = p;
        while (p < end && *p != '$') {
            p++;
        }
        if (p > start) {
            part = &cv->parts[cv->nparts++];
            part->lit.data = (u_char *) start;
            part->lit.len = (size_t) (p - start);
        }
        if (p == end) {
            break;
        }

        p++;   /* '$' */
        if (p < end && *p == '{') {
            name = ++p;
            while (p < end && *p != '}') {
                p++;
            }
            if (p == end) {
                fy_conf_error(cf, "the closing bracket in \"%.*s\" "
                              "variable is missing", (int) (p - name), name);
                return NULL;
            }
            nlen = (size_t) (p - name);
            p++;
        } else {
            name = p;
            /* "$1x" is the capture $1 and then "x", as in nginx */
            if (p < end && *p >= '0' && *p <= '9') {
                p++;
            } else {
                while (p < end && fy_is_var_char(*p)) {
                    p++;
                }
            }
            nlen = (size_t) (p - name);
        }

        if (nlen == 0) {
            fy_conf_error(cf, "invalid variable name in \"%s\"", text->data);
            return NULL;
        }

        part = &cv->parts[cv->nparts++];
        part->var = fy_http_variable_find(name, nlen);
        if (part->var == NULL) {
            part->pvar = fy_http_pvariable_find(name, nlen, &part->arg);
            if (part->pvar
                && (part->pvar->get == fy_http_var_response_pvariables[0].get
                    || part->pvar->get
                       == fy_http_var_response_pvariables[2].get
                    || part->pvar->get
                       == fy_http_var_response_pvariables[4].get))
            {
                /* $upstream_http_, _cookie_, _trailer_: keep the fields
                 * for the access log */
                fy_http_var_upstream_fields_used(cf);
            }
        }
        if (part->pvar && part->pvar->get == fy_http_pp_var_tlv
            && !fy_pp_tlv_known(part->arg.data, part->arg.len))
        {
            /* nginx logs this at each request; a name no header can
             * carry is a mistake in the configuration */
            fy_conf_error(cf, "unknown PROXY protocol TLV \"%.*s\"",
                          (int) part->arg.len, (char *) part->arg.data);
            return NULL;
        }
        if (part->var == NULL && part->pvar == NULL) {
            /* $1..$9, or a named capture of a regex read so far */
            part->pvar = fy_http_regex_variable(cf, name, nlen);
            part->arg.data = (u_char *) name;
            part->arg.len = nlen;
        }
        if (part->var == NULL && part->pvar == NULL) {
            /* a map's, maybe one whose block comes later */
            part->map = fy_http_map_reference(cf, name, nlen);
        }
        if (part->var == NULL && part->pvar == NULL && part->map == NULL) {
            fy_conf_error(cf, "unknown \"%.*s\" variable", (int) nlen, name);
            return NULL;
        }
        cv->has_vars = 1;
    }
    return cv;
}

u_char *
fy_http_cv_eval(fy_http_request_t *r, const fy_http_cv_t *cv, size_t *len)
{
    u_char                   *buf, *p;
    size_t                    n = 0, room, got;
    unsigned                  i;

    if (!cv->has_vars) {
        *len = cv->text.len;
        return cv->text.data;
    }

    /* One evaluation of each part, into the stack while the text fits
     * (the getters give a value's whole length and copy what fits):
     * the usual header value or key.  A longer text is measured, then
     * evaluated again into a buffer of its size. */
    {
        u_char  stack[1024];
        size_t  at;

        for (i = 0; i < cv->nparts; i++) {
            at = fy_min(n, sizeof(stack));
            n += fy_http_cv_part_get(r, &cv->parts[i], stack + at,
                                     sizeof(stack) - at);
        }
        if (n <= sizeof(stack)) {
            buf = fy_palloc(r->pool, n + 1);
            if (buf == NULL) {
                return NULL;
            }
            memcpy(buf, stack, n);
            *len = n;
            return buf;
        }
    }

    buf = fy_palloc(r->pool, n + 1);
    if (buf == NULL) {
        return NULL;
    }

    /* a value that came out longer the second time (a clock, a
     * volatile map) is cut to what was measured */
    p = buf;
    for (i = 0; i < cv->nparts; i++) {
        room = (size_t) (buf + n - p);
        got = fy_http_cv_part_get(r, &cv->parts[i], p, room);
        p += fy_min(got, room);
    }
    *len = (size_t) (p - buf);
    return buf;
}
