/*
 * fy_http_ssl_var.c -- the $ssl_* variables of a client connection:
 * the session's ($https, $ssl_protocol, $ssl_cipher,
 * $ssl_server_name, $ssl_session_reused) and the client
 * certificate's ($ssl_client_*).
 */
#include "fy_core.h"
#include "fy_http.h"

#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

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

/* ---- client certificate variables ---- */

/* What a memory BIO holds, copied; the BIO is freed. */
static size_t
fy_http_ssl_bio_copy(BIO *bio, u_char *buf, size_t size)
{
    char    *data;
    long     len;

    if (bio == NULL) {
        return 0;
    }
    len = BIO_get_mem_data(bio, &data);
    if (len < 0) {
        len = 0;
    }
    if (buf && len) {
        memcpy(buf, data, fy_min(size, (size_t) len));
    }
    BIO_free(bio);
    return (size_t) len;
}

static X509 *
fy_http_ssl_peer(fy_http_request_t *r)
{
    SSL  *ssl = r->hc->c->ssl;

    return ssl ? SSL_get0_peer_certificate(ssl) : NULL;
}

size_t
fy_http_ssl_var_client_verify(fy_http_request_t *r, u_char *buf, size_t size)
{
    SSL   *ssl = r->hc->c->ssl;
    char   text[160];
    long   rc;

    if (ssl == NULL) {
        return 0;
    }
    if (SSL_get0_peer_certificate(ssl) == NULL) {
        return fy_http_ssl_copy(buf, size, "NONE");
    }
    rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        return fy_http_ssl_copy(buf, size, "SUCCESS");
    }
    snprintf(text, sizeof(text), "FAILED:%s",
             X509_verify_cert_error_string(rc));
    return fy_http_ssl_copy(buf, size, text);
}

/* RFC 2253, as nginx since 1.11.6 */
static size_t
fy_http_ssl_dn(X509_NAME *name, u_char *buf, size_t size)
{
    BIO  *bio;

    if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        BIO_free(bio);
        return 0;
    }
    return fy_http_ssl_bio_copy(bio, buf, size);
}

size_t
fy_http_ssl_var_client_s_dn(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);

    return cert ? fy_http_ssl_dn(X509_get_subject_name(cert), buf, size) : 0;
}

size_t
fy_http_ssl_var_client_i_dn(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);

    return cert ? fy_http_ssl_dn(X509_get_issuer_name(cert), buf, size) : 0;
}

size_t
fy_http_ssl_var_client_serial(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);
    BIO   *bio;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert));
    return fy_http_ssl_bio_copy(bio, buf, size);
}

size_t
fy_http_ssl_var_client_fingerprint(fy_http_request_t *r, u_char *buf,
                                   size_t size)
{
    static const char  hex[] = "0123456789abcdef";
    X509              *cert = fy_http_ssl_peer(r);
    u_char             md[EVP_MAX_MD_SIZE];
    char               text[2 * EVP_MAX_MD_SIZE + 1];
    unsigned           len, i;

    if (cert == NULL || X509_digest(cert, EVP_sha1(), md, &len) != 1) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        text[2 * i] = hex[md[i] >> 4];
        text[2 * i + 1] = hex[md[i] & 0xf];
    }
    text[2 * len] = '\0';
    return fy_http_ssl_copy(buf, size, text);
}

size_t
fy_http_ssl_var_client_raw_cert(fy_http_request_t *r, u_char *buf,
                                size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);
    BIO   *bio;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    PEM_write_bio_X509(bio, cert);
    return fy_http_ssl_bio_copy(bio, buf, size);
}

/* nginx's deprecated form: the PEM with a tab after every newline but
 * the last, so it fits in one header line */
size_t
fy_http_ssl_var_client_cert(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509    *cert = fy_http_ssl_peer(r);
    BIO     *bio;
    char    *data;
    long     len, i;
    size_t   n = 0;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    PEM_write_bio_X509(bio, cert);
    len = BIO_get_mem_data(bio, &data);
    for (i = 0; i < len; i++) {
        if (buf && n < size) {
            buf[n] = (u_char) data[i];
        }
        n++;
        if (data[i] == '\n' && i + 1 < len) {
            if (buf && n < size) {
                buf[n] = '\t';
            }
            n++;
        }
    }
    BIO_free(bio);
    return n;
}
