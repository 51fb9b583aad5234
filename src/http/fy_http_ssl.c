/*
 * fy_http_ssl.c -- TLS on client connections: the ssl_* directives.
 * The setters stream shares (certificates, protocols, ciphers, session
 * cache, ticket keys, CA and other files, ssl_verify_client,
 * ssl_password_file, ssl_conf_command) are in src/tls/fy_tls_conf.c.
 *
 * The files these name are loaded into the context by
 * src/tls/fy_tls_load.c.  The rest of it has a file each: the contexts of the servers on
 * "listen ... ssl" addresses and SNI (fy_http_ssl_init.c), the
 * handshake before HTTP starts and the client-certificate check
 * (fy_http_ssl_conn.c), the $ssl_* variables (fy_http_ssl_var.c).  The
 * OpenSSL work itself is in src/tls/fy_tls.c.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <strings.h>

/* nginx takes any size; 0 would never send a byte */
static const fy_conf_bounds_t  fy_http_ssl_buffer_bounds = { 1, UINT32_MAX };

#define FY_HTTP_SSL_CTX  (FY_CONF_HTTP | FY_CONF_SRV)
#define FY_TLS_OFF(f)    offsetof(fy_http_srv_conf_t, tls.f)
#define FY_TLS_CONF      offsetof(fy_http_srv_conf_t, tls)

const fy_command_t  fy_http_ssl_commands[] = {

    /* with variables: loaded at each handshake (fy_http_ssl_cert.c) */
    { "ssl_certificate", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_file,
      FY_CONF_SRV_OFF, FY_TLS_CONF, &fy_http_ssl_cert_values },

    { "ssl_certificate_key", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_file,
      FY_CONF_SRV_OFF, FY_TLS_CONF, &fy_http_ssl_cert_values },

    { "ssl_certificate_cache", FY_HTTP_SSL_CTX, 0, 1, 3,
      fy_tls_conf_set_cert_cache, FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    { "ssl_protocols", FY_HTTP_SSL_CTX, 0, 1, 4, fy_tls_conf_set_protocols,
      FY_CONF_SRV_OFF, FY_TLS_OFF(protocols), NULL },

    { "ssl_ciphers", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_ciphers,
      FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    { "ssl_prefer_server_ciphers", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF, FY_TLS_OFF(prefer_server_ciphers),
      NULL },

    { "ssl_session_tickets", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(session_tickets), NULL },

    { "ssl_session_timeout", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, FY_TLS_OFF(session_timeout), NULL },

    /* one key list for every server, so a ticket resumes whatever
     * name (SNI) the client asks for next */
    { "ssl_session_ticket_key", FY_CONF_HTTP, 0, 1, 1,
      fy_tls_conf_set_ticket_key, FY_CONF_MAIN_OFF,
      offsetof(fy_http_main_conf_t, tickets), NULL },

    { "ssl_session_cache", FY_HTTP_SSL_CTX, 0, 1, 2,
      fy_tls_conf_set_session_cache, FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    /* a value, and where it was given (checked when the context is
     * built, named in its messages) */
    { "ssl_ecdh_curve", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_TLS_OFF(ecdh_curve), NULL },

    { "ssl_client_certificate", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_where_str, FY_CONF_SRV_OFF, FY_TLS_OFF(client_cert),
      NULL },

    { "ssl_trusted_certificate", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_where_str, FY_CONF_SRV_OFF, FY_TLS_OFF(trusted_cert),
      NULL },

    { "ssl_verify_client", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_mode, FY_CONF_SRV_OFF, FY_TLS_OFF(verify),
      fy_tls_verify_modes },

    { "ssl_verify_depth", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, FY_TLS_OFF(verify_depth), &fy_tls_depth_bounds },

    { "ssl_reject_handshake", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(reject_handshake), NULL },

    { "ssl_dhparam", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_TLS_OFF(dhparam), NULL },

    { "ssl_crl", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_TLS_OFF(crl), NULL },

    { "ssl_password_file", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_password_file, FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    { "ssl_buffer_size", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_size,
      FY_CONF_SRV_OFF, FY_TLS_OFF(buffer_size), &fy_http_ssl_buffer_bounds },

    { "ssl_stapling", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_stapling,
      FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    { "ssl_stapling_file", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_TLS_OFF(stapling_file), NULL },

    /* for responses fetched from the responder (src/tls/fy_tls_ocsp.c);
     * no effect next to ssl_stapling_file, as in nginx */
    { "ssl_stapling_verify", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(stapling_verify), NULL },

    { "ssl_stapling_responder", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_responder, FY_CONF_SRV_OFF,
      FY_TLS_OFF(stapling_responder), NULL },

    /* client certificates checked with OCSP (src/tls/fy_tls_ocsp_client.c;
     * the wait after the handshake: fy_http_ssl_conn.c) */
    { "ssl_ocsp", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_mode,
      FY_CONF_SRV_OFF, FY_TLS_OFF(ocsp), fy_tls_ocsp_modes },

    { "ssl_ocsp_responder", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_responder, FY_CONF_SRV_OFF, FY_TLS_OFF(ocsp_responder),
      NULL },

    { "ssl_ocsp_cache", FY_HTTP_SSL_CTX, 0, 1, 1, fy_tls_conf_set_ocsp_cache,
      FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    /* TLS 1.3 0-RTT (src/tls/fy_tls_early.c): $ssl_early_data tells
     * the backend a request may be a replay */
    { "ssl_early_data", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(early_data), NULL },

    { "ssl_conf_command", FY_HTTP_SSL_CTX, 0, 2, 2,
      fy_tls_conf_set_conf_command, FY_CONF_SRV_OFF, FY_TLS_CONF, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

