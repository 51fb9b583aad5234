/*
 * fy_tls_info.c -- what a TLS client offered and what its session is,
 * for http's and stream's $ssl_ciphers, $ssl_curve, $ssl_curves,
 * $ssl_session_id and $ssl_alpn_protocol (nginx's, with its formats: names OpenSSL knows,
 * "0x" and four hex digits for others, ":" between them).
 */
#include "fy_core.h"
#include "fy_tls.h"

#include <openssl/ssl.h>

/* Append s (len bytes) at *n, ":" before it unless first, within size */
static void
fy_tls_info_add(u_char *buf, size_t size, size_t *n, const char *s,
                size_t len)
{
    size_t  i;

    if (*n) {
        if (buf && *n < size) {
            buf[*n] = ':';
        }
        (*n)++;
    }
    for (i = 0; i < len; i++, (*n)++) {
        if (buf && *n < size) {
            buf[*n] = (u_char) s[i];
        }
    }
}

/* A group's name (a NID from OpenSSL, or an unknown group's code) */
static void
fy_tls_info_group(u_char *buf, size_t size, size_t *n, int nid)
{
    char         code[8];
    const char  *name = NULL;

    if ((nid & TLSEXT_nid_unknown) == 0) {
        name = OBJ_nid2sn(nid);
    }
    if (name == NULL) {
        snprintf(code, sizeof(code), "0x%04x", nid & 0xffff);
        name = code;
    }
    fy_tls_info_add(buf, size, n, name, strlen(name));
}

size_t
fy_tls_info_var(fy_conn_t *c, unsigned what, u_char *buf, size_t size)
{
    static const char    hex[] = "0123456789abcdef";
    SSL                 *ssl = c->ssl;
    const SSL_CIPHER    *cipher;
    const SSL_SESSION   *sess;
    const u_char        *raw, *id;
    const char          *name;
    char                 code[8];
    int                 *groups, ng, i;
    unsigned             idlen, k;
    size_t               n = 0, len;

    if (ssl == NULL || !fy_tls_agreed(c)) {
        return 0;
    }
    switch (what) {
    case FY_TLS_INFO_CIPHERS:
        /* the client's list, in its order */
        len = SSL_get0_raw_cipherlist(ssl, &raw);
        for (k = 0; k + 1 < len; k += 2) {
            cipher = SSL_CIPHER_find(ssl, raw + k);
            name = cipher ? SSL_CIPHER_get_name(cipher) : NULL;
            if (name == NULL) {
                snprintf(code, sizeof(code), "0x%02x%02x", raw[k],
                         raw[k + 1]);
                name = code;
            }
            fy_tls_info_add(buf, size, &n, name, strlen(name));
        }
        return n;
    case FY_TLS_INFO_CURVE:
        i = SSL_get_negotiated_group(ssl);
        if (i != NID_undef) {
            fy_tls_info_group(buf, size, &n, i);
        }
        return n;
    case FY_TLS_INFO_CURVES:
        ng = SSL_get1_groups(ssl, NULL);
        if (ng <= 0 || (groups = OPENSSL_malloc(ng * sizeof(int))) == NULL) {
            return 0;
        }
        (void) SSL_get1_groups(ssl, groups);
        for (i = 0; i < ng; i++) {
            fy_tls_info_group(buf, size, &n, groups[i]);
        }
        OPENSSL_free(groups);
        return n;
    case FY_TLS_INFO_ALPN:
        SSL_get0_alpn_selected(ssl, &raw, &idlen);
        fy_tls_info_add(buf, size, &n, (const char *) raw, idlen);
        return n;
    default:
        /* FY_TLS_INFO_SESSION_ID: hex, as nginx's */
        sess = SSL_get_session(ssl);
        if (sess == NULL) {
            return 0;
        }
        id = SSL_SESSION_get_id(sess, &idlen);
        for (k = 0; k < idlen; k++, n += 2) {
            if (buf && n + 1 < size) {
                buf[n] = (u_char) hex[id[k] >> 4];
                buf[n + 1] = (u_char) hex[id[k] & 0xf];
            }
        }
        return n;
    }
}
