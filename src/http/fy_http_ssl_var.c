/*
 * fy_http_ssl_var.c -- the $ssl_* variables of a client connection:
 * the session's ($https, $ssl_protocol, $ssl_cipher,
 * $ssl_server_name, $ssl_session_reused, $ssl_ciphers, $ssl_curve,
 * $ssl_curves, $ssl_session_id, $ssl_alpn_protocol, $ssl_early_data)
 * and the client
 * certificate's
 * ($ssl_client_*); src/tls makes the values, for stream as well.
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

/* nginx: "1" while the handshake has not ended: the request came in
 * TLS 1.3 early data (ssl_early_data on), and may be a replay */
size_t
fy_http_ssl_var_early_data(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size,
                            fy_tls_var(r->hc->c, FY_TLS_VAR_EARLY_DATA));
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
FY_HTTP_SSL_CERT_VAR(escaped_cert, FY_TLS_CERT_ESCAPED)
FY_HTTP_SSL_CERT_VAR(s_dn_legacy, FY_TLS_CERT_S_DN_LEGACY)
FY_HTTP_SSL_CERT_VAR(i_dn_legacy, FY_TLS_CERT_I_DN_LEGACY)
FY_HTTP_SSL_CERT_VAR(v_start, FY_TLS_CERT_V_START)
FY_HTTP_SSL_CERT_VAR(v_end, FY_TLS_CERT_V_END)
FY_HTTP_SSL_CERT_VAR(v_remain, FY_TLS_CERT_V_REMAIN)

/* ---- the client's offer, the session id (src/tls/fy_tls_info.c) ---- */

#define FY_HTTP_SSL_INFO_VAR(name, what)                                  \
size_t                                                                    \
fy_http_ssl_var_##name(fy_http_request_t *r, u_char *buf, size_t size)    \
{                                                                         \
    return fy_tls_info_var(r->hc->c, what, buf, size);                    \
}

FY_HTTP_SSL_INFO_VAR(ciphers, FY_TLS_INFO_CIPHERS)
FY_HTTP_SSL_INFO_VAR(curve, FY_TLS_INFO_CURVE)
FY_HTTP_SSL_INFO_VAR(curves, FY_TLS_INFO_CURVES)
FY_HTTP_SSL_INFO_VAR(session_id, FY_TLS_INFO_SESSION_ID)
FY_HTTP_SSL_INFO_VAR(alpn_protocol, FY_TLS_INFO_ALPN)
