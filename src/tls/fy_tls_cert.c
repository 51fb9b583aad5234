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
    SSL         *ssl = c->ssl;
    const char  *why;
    long         rc;

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
    /* ssl_ocsp: what the responder said */
    why = fy_tls_ocsp_result(c);
    if (why) {
        fy_log_error(FY_LOG_INFO, 0, "client SSL certificate verify error: "
                     "%s, %s", why, who);
        return FY_TLS_CLIENT_FAILED;
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
fy_tls_cert_verify(fy_conn_t *c, u_char *buf, size_t size)
{
    SSL         *ssl = c->ssl;
    const char  *why;
    char         text[160];
    long         rc;

    if (SSL_get0_peer_certificate(ssl) == NULL) {
        return fy_tls_cert_copy(buf, size, "NONE");
    }
    rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        /* ssl_ocsp: "FAILED:certificate revoked" ... as nginx */
        why = fy_tls_ocsp_result(c);
        if (why == NULL) {
            return fy_tls_cert_copy(buf, size, "SUCCESS");
        }
        snprintf(text, sizeof(text), "FAILED:%s", why);
        return fy_tls_cert_copy(buf, size, text);
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

/* The PEM of cert as $ssl_client_raw_cert has it; as nginx's
 * deprecated $ssl_client_cert, a tab after every newline but the last
 * (so that it fits in one header line); or as $ssl_client_escaped_cert,
 * every byte but letters, digits and "-._~" as %XX (nginx's escaping of
 * a URI component). */
static size_t
fy_tls_cert_pem(X509 *cert, unsigned what, u_char *buf, size_t size)
{
    static const char  hex[] = "0123456789ABCDEF";
    BIO               *bio = BIO_new(BIO_s_mem());
    char              *data;
    u_char             out[3];
    long               len, i;
    size_t             n = 0, k, m;

    if (bio == NULL) {
        return 0;
    }
    PEM_write_bio_X509(bio, cert);
    len = BIO_get_mem_data(bio, &data);
    for (i = 0; i < len; i++) {
        u_char  ch = (u_char) data[i];

        m = 0;
        if (what == FY_TLS_CERT_ESCAPED
            && !((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
                 || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
                 || ch == '_' || ch == '~'))
        {
            out[m++] = '%';
            out[m++] = (u_char) hex[ch >> 4];
            out[m++] = (u_char) hex[ch & 0xf];
        } else {
            out[m++] = ch;
            if (what == FY_TLS_CERT_CERT && ch == '\n' && i + 1 < len) {
                out[m++] = '\t';
            }
        }
        for (k = 0; k < m; k++, n++) {
            if (buf && n < size) {
                buf[n] = out[k];
            }
        }
    }
    BIO_free(bio);
    return n;
}

/* A name as nginx's $ssl_client_s_dn_legacy: "/C=US/O=Org/CN=name" */
static size_t
fy_tls_cert_dn_legacy(X509_NAME *name, u_char *buf, size_t size)
{
    char    *text;
    size_t   n;

    if (name == NULL || (text = X509_NAME_oneline(name, NULL, 0)) == NULL) {
        return 0;
    }
    n = fy_tls_cert_copy(buf, size, text);
    OPENSSL_free(text);
    return n;
}

/* notBefore / notAfter as OpenSSL prints them ("Nov 26 10:00:00 2026
 * GMT", nginx's $ssl_client_v_start and _v_end), or the whole days
 * until notAfter, 0 once it has passed ($ssl_client_v_remain) */
static size_t
fy_tls_cert_time(X509 *cert, unsigned what, u_char *buf, size_t size)
{
    const ASN1_TIME  *t;
    BIO              *bio;
    char              text[24];
    int               days, secs;

    t = what == FY_TLS_CERT_V_START ? X509_get0_notBefore(cert)
                                    : X509_get0_notAfter(cert);
    if (t == NULL) {
        return 0;
    }
    if (what == FY_TLS_CERT_V_REMAIN) {
        if (ASN1_TIME_diff(&days, &secs, NULL, t) != 1) {
            return 0;
        }
        snprintf(text, sizeof(text), "%d", days < 0 || secs < 0 ? 0 : days);
        return fy_tls_cert_copy(buf, size, text);
    }
    if ((bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    ASN1_TIME_print(bio, t);
    return fy_tls_cert_bio_copy(bio, buf, size);
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
        return fy_tls_cert_verify(c, buf, size);
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
    case FY_TLS_CERT_S_DN_LEGACY:
        return fy_tls_cert_dn_legacy(X509_get_subject_name(cert), buf,
                                     size);
    case FY_TLS_CERT_I_DN_LEGACY:
        return fy_tls_cert_dn_legacy(X509_get_issuer_name(cert), buf,
                                     size);
    case FY_TLS_CERT_FINGERPRINT:
        return fy_tls_cert_fingerprint(cert, buf, size);
    case FY_TLS_CERT_RAW:
    case FY_TLS_CERT_CERT:
    case FY_TLS_CERT_ESCAPED:
        return fy_tls_cert_pem(cert, what, buf, size);
    case FY_TLS_CERT_V_START:
    case FY_TLS_CERT_V_END:
    case FY_TLS_CERT_V_REMAIN:
        return fy_tls_cert_time(cert, what, buf, size);
    case FY_TLS_CERT_SERIAL:
        if ((bio = BIO_new(BIO_s_mem())) == NULL) {
            return 0;
        }
        i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert));
        return fy_tls_cert_bio_copy(bio, buf, size);
    }
    return 0;
}
