/*
 * fy_http_ssl_var.c -- the $ssl_* variables of a client connection:
 * the session's ($https, $ssl_protocol, $ssl_cipher,
 * $ssl_server_name, $ssl_session_reused) and the client
 * certificate's ($ssl_client_*, whose values src/tls/fy_tls_cert.c
 * makes for stream as well).
 */
#include "fy_core.h"
#include "fy_http.h"

static size_t
fy_http_ssl_copy(u_char *buf, size_t size, const char *s)
{
    size_t  len = s ? strlen(s) : 0;

    if (buf && len) {
        memcpy(buf, s, fy_min(size, len));
    }
    return len;
}

size_t
fy_http_ssl_var_https(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size, r->hc->c->ssl ? "on" : "");
}

size_t
fy_http_ssl_var_protocol(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size,
                            fy_tls_var(r->hc->c, FY_TLS_VAR_PROTOCOL));
}

size_t
fy_http_ssl_var_cipher(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size,
                            fy_tls_var(r->hc->c, FY_TLS_VAR_CIPHER));
}

size_t
fy_http_ssl_var_server_name(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size,
                            fy_tls_var(r->hc->c, FY_TLS_VAR_SERVER_NAME));
}

size_t
fy_http_ssl_var_session_reused(fy_http_request_t *r, u_char *buf,
                               size_t size)
{
    return fy_http_ssl_copy(buf, size,
                            fy_tls_var(r->hc->c, FY_TLS_VAR_SESSION_REUSED));
}

/* ---- client certificate variables (src/tls/fy_tls_cert.c) ---- */

#define FY_HTTP_SSL_CERT_VAR(name, what)                                  \
size_t                                                                    \
fy_http_ssl_var_client_##name(fy_http_request_t *r, u_char *buf,          \
                              size_t size)                                \
{                                                                         \
    return fy_tls_cert_var(r->hc->c, what, buf, size);                    \
}

FY_HTTP_SSL_CERT_VAR(verify, FY_TLS_CERT_VERIFY)
FY_HTTP_SSL_CERT_VAR(s_dn, FY_TLS_CERT_S_DN)
FY_HTTP_SSL_CERT_VAR(i_dn, FY_TLS_CERT_I_DN)
FY_HTTP_SSL_CERT_VAR(serial, FY_TLS_CERT_SERIAL)
FY_HTTP_SSL_CERT_VAR(fingerprint, FY_TLS_CERT_FINGERPRINT)
FY_HTTP_SSL_CERT_VAR(raw_cert, FY_TLS_CERT_RAW)
FY_HTTP_SSL_CERT_VAR(cert, FY_TLS_CERT_CERT)
