/*
 * fy_http_ssl_cert.c -- http's side of ssl_certificate and
 * ssl_certificate_key with variables (the loading at each handshake is
 * src/tls/fy_tls_certvar.c's): the names compiled when the
 * configuration is read, and evaluated for a connection during its
 * handshake.
 *
 * There is no request yet then, so only the variables that a
 * connection has by itself can be used: those of the table below,
 * whose getters read nothing but the connection (r->hc).  nginx
 * evaluates with an empty request, where the others are empty or
 * meaningless; ferry refuses them when the configuration is read, with
 * the file and line, rather than load a file named after an empty
 * value.
 */
#include "fy_core.h"
#include "fy_http.h"

/* The variables a connection has before any request. */
#define FY_HTTP_SSL_CERT_VARS                                              \
    "$ssl_server_name, $server_addr, $server_port, $remote_addr and "      \
    "the like"

static const char  *fy_http_ssl_cert_vars[] = {
    "ssl_server_name", "remote_addr", "remote_port", "binary_remote_addr",
    "server_addr", "server_port", "https", "connection",
    "proxy_protocol_addr", "proxy_protocol_port",
    "proxy_protocol_server_addr", "proxy_protocol_server_port",
    "hostname", "pid", "msec", "time_local", "time_iso8601",
    "nginx_version", NULL
};

static void *
fy_http_ssl_cert_compile(fy_conf_t *cf, const fy_str_t *text)
{
    fy_http_cv_t        *cv;
    fy_http_cv_part_t   *part;
    const char         **name;
    unsigned             i;

    cv = fy_http_cv_compile(cf, text);
    if (cv == NULL) {
        return NULL;
    }
    for (i = 0; i < cv->nparts; i++) {
        part = &cv->parts[i];
        if (part->var) {
            for (name = fy_http_ssl_cert_vars; *name; name++) {
                if (strcmp(*name, part->var->name) == 0) {
                    break;
                }
            }
            if (*name == NULL) {
                fy_conf_error(cf, "variable \"$%s\" cannot be used in "
                              "\"%.*s\": the certificate is chosen during "
                              "the handshake, before any request (%s)",
                              part->var->name, (int) cf->args[0].len,
                              cf->args[0].data, FY_HTTP_SSL_CERT_VARS);
                return NULL;
            }
        }
        if (part->pvar || part->map) {
            fy_conf_error(cf, "\"%.*s\" cannot be used in \"%.*s\": only "
                          "the variables of the connection are known during "
                          "the handshake (%s)", (int) text->len, text->data,
                          (int) cf->args[0].len, cf->args[0].data,
                          FY_HTTP_SSL_CERT_VARS);
            return NULL;
        }
    }
    return cv;
}

/*
 * The value for connection c (c->data is its fy_http_conn_t).  The
 * getters take a request: one that is empty but for its connection
 * serves, and the variables allowed read nothing else.  A worker
 * evaluates one name at a time.
 */
static size_t
fy_http_ssl_cert_eval(fy_conn_t *c, const void *data, u_char *buf,
                      size_t size)
{
    static fy_http_request_t   r;
    const fy_http_cv_t        *cv = data;
    size_t                     len = 0, n;
    unsigned                   i;

    r.hc = c->data;
    for (i = 0; i < cv->nparts; i++) {
        n = fy_http_cv_part_get(&r, &cv->parts[i], buf + len, size - len);
        if (n >= size - len) {
            return size;
        }
        len += n;
    }
    return len;
}

const fy_tls_values_t  fy_http_ssl_cert_values = {
    fy_http_ssl_cert_compile,
    fy_http_ssl_cert_eval
};
