/*
 * fy_http_ssl_init.c -- TLS on client connections, after the
 * configuration is read (fy_http_ssl_init_cycle): the ssl_* settings
 * merged, shared session caches checked against each other, one
 * context per server on a "listen ... ssl" address, and the
 * ClientHello and servername callbacks that move a connection to the
 * context of the server it names (SNI).  The directives are in
 * fy_http_ssl.c; building a context (OpenSSL) in src/tls/fy_tls.c.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <openssl/ssl.h>
#include <openssl/err.h>

/*
 * SNI, from the ClientHello itself: OpenSSL calls this before it looks
 * at a session the client offers, so the connection moves to the
 * named server's context first and a session is only resumed under
 * the context (the session id context: client verification settings)
 * it was made in.  The request's server is still chosen by its Host
 * header, as in nginx.  No name, or an unknown one: the default
 * server's.
 */
static int
fy_http_ssl_hello(SSL *ssl, int *alert, void *arg)
{
    fy_conn_t           *c = SSL_get_app_data(ssl);
    fy_listen_t         *ls;
    fy_http_srv_conf_t  *scf, *found;
    u_char               lower[256];
    fy_str_t             host;

    fy_unused(arg);
    if (c == NULL || c->listening == NULL) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    ls = c->listening;
    scf = ls->default_server;
    if (fy_tls_sni_name(ssl, lower, sizeof(lower), &host) == FY_OK) {
        found = fy_http_names_find(&ls->servers,
                                   offsetof(fy_http_srv_conf_t, sn),
                                   &host, NULL);
        if (found) {
            scf = found;
        }
    }

    if (scf->tls.reject_handshake) {
        /* ssl_reject_handshake on: nginx's unrecognized_name alert */
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    /* the named server's record size (nginx does the same) */
    c->tls_buffer = (uint32_t) scf->tls.buffer_size;
    fy_tls_sni_switch(ssl, &scf->tls);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The server_name extension is acknowledged; the work was done in
 * fy_http_ssl_hello. */
static int
fy_http_ssl_servername(SSL *ssl, int *alert, void *arg)
{
    fy_unused(alert);
    fy_unused(arg);
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)
           ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* One name, one size: server n's shared cache against those before. */
static int
fy_http_ssl_cache_conflict(fy_http_main_conf_t *hmcf, unsigned n)
{
    fy_tls_conf_t  *t, *o;
    unsigned        i;

    t = &(*fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, n))->tls;
    for (i = 0; i < n; i++) {
        o = &(*fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i))->tls;
        if (fy_tls_conf_cache_conflict(t, o) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

int
fy_http_ssl_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_srv_conf_t   *scf;
    fy_listen_t          *ls;
    char                  what[160];
    unsigned              i, j;
    int                   tickets_loaded = 0;

    fy_tls_conf_merge(&hmcf->srv->tls, &hmcf->srv->tls);
    if (fy_http_ssl_cert_check(&hmcf->srv->tls) != FY_OK) {
        return FY_ERROR;
    }
    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        fy_tls_conf_merge(&hmcf->srv->tls, &scf->tls);
        if (fy_http_ssl_cache_conflict(hmcf, i) != FY_OK
            || fy_http_ssl_cert_check(&scf->tls) != FY_OK)
        {
            return FY_ERROR;
        }
    }

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (!ls->ssl) {
            continue;
        }
        if (!tickets_loaded) {
            if (fy_tls_tickets_load(&hmcf->tickets) != FY_OK) {
                return FY_ERROR;
            }
            tickets_loaded = 1;
        }
        for (j = 0; j < ls->servers.nelts; j++) {
            scf = *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, j);
            if (scf->tls.ctx) {
                continue;
            }
            snprintf(what, sizeof(what), "the server in %s:%u (listen %s "
                     "ssl)", scf->file, scf->line, ls->text);
            /* the server level's, as nginx's OCSP requests use */
            scf->tls.resolver = scf->loc->resolver;
            scf->tls.resolver_timeout = scf->loc->resolver_timeout;
            if (fy_tls_ctx_create(cycle->pool, &scf->tls, &hmcf->tickets,
                                  what) != FY_OK)
            {
                return FY_ERROR;
            }
            SSL_CTX_set_client_hello_cb((SSL_CTX *) scf->tls.ctx,
                                        fy_http_ssl_hello, NULL);
            SSL_CTX_set_tlsext_servername_callback(
                (SSL_CTX *) scf->tls.ctx, fy_http_ssl_servername);
        }
    }
    return FY_OK;
}
