/*
 * fy_tls_sni.c -- the server a TLS client names (SNI), as http's and
 * stream's ClientHello callbacks use it: the name read from the
 * ClientHello itself (OpenSSL calls those callbacks before it looks at
 * a session the client offers, so a session is only resumed under the
 * context it was made in), and the connection moved to the named
 * server's context.
 */
#include "fy_core.h"
#include "fy_tls.h"

#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

/* The host_name of a ClientHello's server_name extension (RFC 6066
 * 3): its bytes and length, or NULL. */
static const u_char *
fy_tls_sni_raw(SSL *ssl, size_t *len)
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

int
fy_tls_sni_name(void *ssl, u_char *buf, size_t size, fy_str_t *host)
{
    const u_char  *name;
    size_t         len = 0;

    name = fy_tls_sni_raw(ssl, &len);
    return name ? fy_tls_sni_host(name, len, buf, size, host) : FY_DECLINED;
}

int
fy_tls_sni_host(const u_char *name, size_t len, u_char *buf, size_t size,
                fy_str_t *host)
{
    size_t  i;

    if (len == 0 || len >= size) {
        return FY_DECLINED;
    }
    for (i = 0; i < len; i++) {
        buf[i] = (u_char) tolower(name[i]);
    }
    /* "example.com." is example.com (nginx) */
    host->len = buf[len - 1] == '.' ? len - 1 : len;
    host->data = buf;
    return host->len ? FY_OK : FY_DECLINED;
}

void
fy_tls_sni_switch(void *ssl, const fy_tls_conf_t *conf)
{
    SSL_CTX  *ctx = conf->ctx;

    if (ctx == NULL || ctx == SSL_get_SSL_CTX(ssl)) {
        return;
    }
    /* SSL_set_SSL_CTX changes the certificates and the session id
     * context only: the options (tickets, cipher preference) and the
     * cipher list are the connection's own, copied from the first
     * context; give it the new server's.  The protocol versions and
     * curves stay the default server's (as with nginx). */
    SSL_set_SSL_CTX(ssl, ctx);
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));
    SSL_set_num_tickets(ssl, SSL_CTX_get_num_tickets(ctx));
    /* early data: read only if the default server of the address has
     * ssl_early_data on (the handshake reads it from the start), and
     * accepted only if the named server has it too; its tickets then
     * allow none */
    if (!conf->early_data) {
        SSL_set_max_early_data(ssl, 0);
    }
    if (conf->ciphers && SSL_set_cipher_list(ssl, conf->ciphers) != 1) {
        ERR_clear_error();
    }
    /* and its client verification (the CA names and the trust store
     * come with the context) */
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
                   SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
}
