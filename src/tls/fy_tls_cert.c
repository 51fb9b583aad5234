/*
 * fy_tls_cert.c -- the client certificate of a TLS connection, for
 * http's and stream's ssl_verify_client: the verdict on it (the
 * handshake always completes, see fy_tls_srv.c; the caller acts on
 * what this says: http answers 400, stream closes the session) and the
 * $ssl_client_* values.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_log.h"

#include <openssl/ssl.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

int
fy_tls_verify_client(fy_conn_t *c, int mode, const char *who)
{
    SSL   *ssl = c->ssl;
    long   rc;

    if (ssl == NULL || mode == FY_TLS_VERIFY_OFF) {
        return FY_TLS_CLIENT_OK;
    }
    rc = SSL_get_verify_result(ssl);
    if (rc != X509_V_OK
        && !(mode == FY_TLS_VERIFY_OPTIONAL_NO_CA
             && fy_tls_verify_error_optional(rc)))
    {
        fy_log_error(FY_LOG_INFO, 0, "client SSL certificate verify error: "
                     "(%ld:%s), %s", rc, X509_verify_cert_error_string(rc),
                     who);
        return FY_TLS_CLIENT_FAILED;
    }
    if (mode == FY_TLS_VERIFY_ON && SSL_get0_peer_certificate(ssl) == NULL) {
        fy_log_error(FY_LOG_INFO, 0, "client sent no required SSL "
                     "certificate, %s", who);
        return FY_TLS_CLIENT_NONE;
    }
    return FY_TLS_CLIENT_OK;
}

/* s copied (at most size bytes, none when buf is NULL); its length */
static size_t
fy_tls_cert_copy(u_char *buf, size_t size, const char *s)
{
    size_t  len = s ? strlen(s) : 0;

    if (buf && len) {
        memcpy(buf, s, fy_min(size, len));
    }
    return len;
}

/* What a memory BIO holds, copied; the BIO is freed. */
static size_t
fy_tls_cert_bio_copy(BIO *bio, u_char *buf, size_t size)
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

static size_t
fy_tls_cert_verify(SSL *ssl, u_char *buf, size_t size)
{
    char   text[160];
    long   rc;

    if (SSL_get0_peer_certificate(ssl) == NULL) {
        return fy_tls_cert_copy(buf, size, "NONE");
    }
    rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        return fy_tls_cert_copy(buf, size, "SUCCESS");
    }
    snprintf(text, sizeof(text), "FAILED:%s",
             X509_verify_cert_error_string(rc));
    return fy_tls_cert_copy(buf, size, text);
}

/* RFC 2253, as nginx since 1.11.6 */
static size_t
fy_tls_cert_dn(X509_NAME *name, u_char *buf, size_t size)
{
    BIO  *bio;

    if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        BIO_free(bio);
        return 0;
    }
    return fy_tls_cert_bio_copy(bio, buf, size);
}

static size_t
fy_tls_cert_fingerprint(X509 *cert, u_char *buf, size_t size)
{
    static const char  hex[] = "0123456789abcdef";
    u_char             md[EVP_MAX_MD_SIZE];
    char               text[2 * EVP_MAX_MD_SIZE + 1];
    unsigned           len, i;

    if (X509_digest(cert, EVP_sha1(), md, &len) != 1) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        text[2 * i] = hex[md[i] >> 4];
        text[2 * i + 1] = hex[md[i] & 0xf];
    }
    text[2 * len] = '\0';
    return fy_tls_cert_copy(buf, size, text);
}

/* nginx's deprecated $ssl_client_cert: the PEM with a tab after every
 * newline but the last, so it fits in one header line */
static size_t
fy_tls_cert_tabbed(X509 *cert, u_char *buf, size_t size)
{
    BIO     *bio = BIO_new(BIO_s_mem());
    char    *data;
    long     len, i;
    size_t   n = 0;

    if (bio == NULL) {
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

size_t
fy_tls_cert_var(fy_conn_t *c, unsigned what, u_char *buf, size_t size)
{
    SSL   *ssl = c->ssl;
    X509  *cert;
    BIO   *bio;

    if (ssl == NULL) {
        return 0;
    }
    if (what == FY_TLS_CERT_VERIFY) {
        return fy_tls_cert_verify(ssl, buf, size);
    }
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL) {
        return 0;
    }
    switch (what) {
    case FY_TLS_CERT_S_DN:
        return fy_tls_cert_dn(X509_get_subject_name(cert), buf, size);
    case FY_TLS_CERT_I_DN:
        return fy_tls_cert_dn(X509_get_issuer_name(cert), buf, size);
    case FY_TLS_CERT_FINGERPRINT:
        return fy_tls_cert_fingerprint(cert, buf, size);
    case FY_TLS_CERT_CERT:
        return fy_tls_cert_tabbed(cert, buf, size);
    case FY_TLS_CERT_SERIAL:
    case FY_TLS_CERT_RAW:
        if ((bio = BIO_new(BIO_s_mem())) == NULL) {
            return 0;
        }
        if (what == FY_TLS_CERT_SERIAL) {
            i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert));
        } else {
            PEM_write_bio_X509(bio, cert);
        }
        return fy_tls_cert_bio_copy(bio, buf, size);
    }
    return 0;
}
