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

#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

/* The host_name of a ClientHello's server_name extension (RFC 6066
 * 3): its bytes and length, or NULL. */
static const u_char *
fy_http_ssl_hello_name(SSL *ssl, size_t *len)
{
    const u_char  *p, *end;
    size_t         ext_len, n;

    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
                                  &ext_len) != 1
        || ext_len < 2)
    {
        return NULL;
    }
    end = p + ext_len;
    n = ((size_t) p[0] << 8) | p[1];
    p += 2;
    if (n != (size_t) (end - p)) {
        return NULL;
    }
    while (end - p >= 3) {
        n = ((size_t) p[1] << 8) | p[2];
        if (n > (size_t) (end - p - 3)) {
            return NULL;
        }
        if (p[0] == TLSEXT_NAMETYPE_host_name) {
            *len = n;
            return p + 3;
        }
        p += 3 + n;
    }
    return NULL;
}

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
    fy_http_srv_conf_t  *scf, *found;
    SSL_CTX             *ctx;
    const u_char        *name;
    u_char               lower[256];
    fy_str_t             host;
    size_t               i, len = 0;

    fy_unused(arg);
    if (c == NULL || c->listening == NULL) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    scf = ((fy_listen_t *) c->listening)->default_server;
    name = fy_http_ssl_hello_name(ssl, &len);
    if (name && len && len < sizeof(lower)) {
        for (i = 0; i < len; i++) {
            lower[i] = (u_char) tolower(name[i]);
        }
        host.len = lower[len - 1] == '.' ? len - 1 : len;
        host.data = lower;
        found = fy_http_find_server(c->listening, &host, NULL);
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
    if (scf->tls.ctx == NULL || scf->tls.ctx == SSL_get_SSL_CTX(ssl)) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    /* SSL_set_SSL_CTX changes the certificates and the session id
     * context only: the options (tickets, cipher preference) and the
     * cipher list are the connection's own, copied from the first
     * context; give it the new server's.  The protocol versions and
     * curves stay the default server's (as with nginx). */
    ctx = scf->tls.ctx;
    SSL_set_SSL_CTX(ssl, ctx);
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));
    SSL_set_num_tickets(ssl, SSL_CTX_get_num_tickets(ctx));
    if (SSL_set_cipher_list(ssl, scf->tls.ciphers) != 1) {
        ERR_clear_error();
    }
    /* and its client verification (the CA names and the trust store
     * come with the context) */
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
                   SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
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
    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        fy_tls_conf_merge(&hmcf->srv->tls, &scf->tls);
        if (fy_http_ssl_cache_conflict(hmcf, i) != FY_OK) {
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
