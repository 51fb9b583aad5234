/*
 * fy_tls_certvar.c -- ssl_certificate and ssl_certificate_key with
 * variables (nginx 1.15.9): the files are chosen at each handshake.
 *
 * A context whose names have variables holds no certificate; its
 * certificate callback runs in the worker once OpenSSL has read the
 * ClientHello and the ClientHello callbacks (http's, stream's) have
 * moved the connection to the server its SNI names, so $ssl_server_name
 * and the connection's addresses are known.  Each pair is evaluated
 * (http and stream each evaluate their own compiled values, see
 * fy_tls_values_t), read from its file - or, for "data:...", from the
 * value itself - and set on that connection only.  As in nginx the
 * read is a plain blocking file read and a file that cannot be loaded
 * fails the handshake, logged at error.
 *
 * A configuration without variables never comes here: its files are
 * loaded once, into the context, by fy_tls_ctx_create.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_log.h"
#include "fy_cycle.h"

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

/* The longest value evaluated: room for a "data:" certificate with its
 * chain.  One buffer for the certificate's name and one for the key's:
 * a worker runs one callback at a time. */
#define FY_TLS_CERTVAR_MAX  (64 * 1024)

static char  fy_tls_certvar_cert_name[FY_TLS_CERTVAR_MAX];
static char  fy_tls_certvar_key_name[FY_TLS_CERTVAR_MAX];

#define fy_tls_certvar_is_data(name)  (strncmp(name, "data:", 5) == 0)

/*
 * Entry i of names for c: the file name as configured, or its value
 * evaluated now into buf (a relative name taken from the directory of
 * the main configuration file, as nginx takes it from its prefix).
 * NULL, *err set, when the value is empty, holds a NUL byte or does not
 * fit.
 */
static const char *
fy_tls_certvar_name(fy_conn_t *c, const fy_tls_conf_t *conf,
                    const fy_array_t *names, const fy_array_t *values,
                    unsigned i, char *buf, const char **err)
{
    const void  *cv = values ? *fy_array_elt(values, void *, i) : NULL;
    size_t       len, dlen;

    if (cv == NULL) {
        return *fy_array_elt(names, char *, i);
    }
    len = conf->values->eval(c, cv, (u_char *) buf, FY_TLS_CERTVAR_MAX - 1);
    if (len >= FY_TLS_CERTVAR_MAX - 1) {
        *err = "the value is too long";
        return NULL;
    }
    buf[len] = '\0';
    if (len == 0 || strlen(buf) != len) {
        *err = len ? "the value holds a NUL byte" : "the value is empty";
        return NULL;
    }
    if (buf[0] == '/' || fy_tls_certvar_is_data(buf) || conf->conf_dir == NULL
        || conf->conf_dir[0] == '\0')
    {
        return buf;
    }
    dlen = strlen(conf->conf_dir);
    if (dlen + 1 + len >= FY_TLS_CERTVAR_MAX) {
        *err = "the value is too long";
        return NULL;
    }
    memmove(buf + dlen + 1, buf, len + 1);
    memcpy(buf, conf->conf_dir, dlen);
    buf[dlen] = '/';
    if (dlen && conf->conf_dir[dlen - 1] == '/') {
        memmove(buf + dlen, buf + dlen + 1, len + 1);
    }
    return buf;
}

/* The PEM of name: its file, or the text after "data:". */
static BIO *
fy_tls_certvar_bio(const char *name)
{
    if (fy_tls_certvar_is_data(name)) {
        return BIO_new_mem_buf(name + 5, (int) strlen(name + 5));
    }
    return BIO_new_file(name, "r");
}

/* The certificate of b, then the chain after it, into obj: 1, or 0
 * with the OpenSSL error queued. */
static int
fy_tls_certvar_read_cert(BIO *b, fy_tls_certobj_t *obj)
{
    X509           *x;
    unsigned long   e;

    obj->cert = PEM_read_bio_X509_AUX(b, NULL, NULL, NULL);
    obj->chain = sk_X509_new_null();
    if (obj->cert == NULL || obj->chain == NULL) {
        return 0;
    }
    while ((x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(obj->chain, x)) {
            X509_free(x);
            return 0;
        }
    }
    /* the end of the text is the one failure expected */
    e = ERR_peek_last_error();
    if (ERR_GET_LIB(e) == ERR_LIB_PEM
        && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
    {
        ERR_clear_error();
        return 1;
    }
    return 0;
}

/* The key of b into obj, each passphrase of ssl_password_file tried in
 * turn (none: an encrypted key fails, never prompts): 1, or 0 with the
 * OpenSSL error queued. */
static int
fy_tls_certvar_read_key(BIO *b, fy_array_t *passwords, fy_tls_certobj_t *obj)
{
    unsigned  i, tries = passwords ? passwords->nelts : 0;

    if (tries == 0) {
        obj->key = PEM_read_bio_PrivateKey(b, NULL, fy_tls_password_cb, NULL);
    }
    for (i = 0; i < tries && obj->key == NULL; i++) {
        if (i && BIO_reset(b) < 0) {
            break;
        }
        if (i) {
            ERR_clear_error();
        }
        obj->key = PEM_read_bio_PrivateKey(b, NULL, fy_tls_password_cb,
                                           fy_array_elt(passwords, fy_str_t,
                                                        i));
    }
    return obj->key != NULL;
}

int
fy_tls_pem_read(const char *name, int type, fy_array_t *passwords,
                fy_tls_certobj_t *obj)
{
    BIO  *b = fy_tls_certvar_bio(name);
    int   ok;

    ok = b && (type == FY_TLS_CERTCACHE_CERT
               ? fy_tls_certvar_read_cert(b, obj)
               : fy_tls_certvar_read_key(b, passwords, obj));
    BIO_free(b);
    if (!ok) {
        fy_tls_certobj_free(obj);
    }
    return ok;
}

/* The certificate and chain, or the key, of name (type) onto ssl, from
 * the cache if it has them, else read (and kept there): 1, or 0 with
 * the OpenSSL error queued.  The certificate goes to the slot of its
 * key type (RSA, ECDSA ...), which becomes the current one: the chain
 * and the key that follow go with it; a key that does not match fails
 * (key values mismatch). */
static int
fy_tls_certvar_use(SSL *ssl, fy_tls_conf_t *conf, int type, const char *name)
{
    const fy_tls_certobj_t  *o = NULL;
    fy_tls_certobj_t         obj = { NULL, NULL, NULL };
    int                      ok;

    if (conf->cert_cache) {
        o = fy_tls_certcache_find(conf->cert_cache, type, name);
    }
    if (o == NULL) {
        if (!fy_tls_pem_read(name, type, conf->passwords, &obj)) {
            return 0;
        }
        o = conf->cert_cache ? fy_tls_certcache_add(conf->cert_cache, type,
                                                    name, &obj)
                             : NULL;
        if (o == NULL) {
            o = &obj;
        }
    }
    if (type == FY_TLS_CERTCACHE_KEY) {
        ok = SSL_use_PrivateKey(ssl, o->key) == 1;
    } else {
        /* the chain set, not added to: a callback run again (after a
         * HelloRetryRequest) must not send it twice */
        ok = SSL_use_certificate(ssl, o->cert) == 1
             && SSL_set1_chain(ssl, (STACK_OF(X509) *) o->chain) == 1;
    }
    /* what the cache did not take (the connection holds references) */
    fy_tls_certobj_free(&obj);
    return ok;
}

/* A name that would leave the directory it is put in ("../x", "a/b")
 * or is not a name at all: nginx fails the handshake of such an SNI. */
static int
fy_tls_certvar_bad_sni(const char *name)
{
    return name && (strpbrk(name, "/\\") || strstr(name, "..")
                    || name[0] == '.');
}

/* As nginx does for a name in a message: "data:..." for PEM text. */
static const char *
fy_tls_certvar_shown(const char *name)
{
    return fy_tls_certvar_is_data(name) ? "data:..." : name;
}

static int
fy_tls_certvar_cb(SSL *ssl, void *arg)
{
    fy_tls_conf_t  *conf = arg;
    fy_conn_t      *c = SSL_get_app_data(ssl);
    const char     *cert, *key, *err, *sni;
    char            client[FY_SOCKADDR_STRLEN];
    unsigned        i;

    if (c == NULL) {
        return 0;
    }
    fy_sockaddr_text((struct sockaddr *) &c->addr, c->addrlen, client,
                     sizeof(client), 0);
    sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (fy_tls_certvar_bad_sni(sni)) {
        fy_log_error(FY_LOG_INFO, 0, "client sent invalid server name "
                     "\"%s\" while SSL handshaking, client: %s", sni, client);
        return 0;
    }

    for (i = 0; i < conf->certs.nelts; i++) {
        err = NULL;
        cert = fy_tls_certvar_name(c, conf, &conf->certs, conf->cert_values,
                                   i, fy_tls_certvar_cert_name, &err);
        if (cert == NULL) {
            fy_log_error(FY_LOG_ERR, 0, "cannot load certificate of "
                         "ssl_certificate \"%s\": %s while SSL handshaking, "
                         "client: %s", *fy_array_elt(&conf->certs, char *, i),
                         err, client);
            return 0;
        }
        if (!fy_tls_certvar_use(ssl, conf, FY_TLS_CERTCACHE_CERT, cert)) {
            fy_log_error(FY_LOG_ERR, 0, "cannot load certificate \"%s\": %s "
                         "while SSL handshaking, client: %s",
                         fy_tls_certvar_shown(cert), fy_tls_error(), client);
            return 0;
        }

        key = fy_tls_certvar_name(c, conf, &conf->keys, conf->key_values, i,
                                  fy_tls_certvar_key_name, &err);
        if (key == NULL) {
            fy_log_error(FY_LOG_ERR, 0, "cannot load certificate key of "
                         "ssl_certificate_key \"%s\": %s while SSL "
                         "handshaking, client: %s",
                         *fy_array_elt(&conf->keys, char *, i), err, client);
            return 0;
        }
        if (!fy_tls_certvar_use(ssl, conf, FY_TLS_CERTCACHE_KEY, key)) {
            fy_log_error(FY_LOG_ERR, 0, "cannot load certificate key \"%s\" "
                         "(for \"%s\"): %s while SSL handshaking, client: %s",
                         fy_tls_certvar_shown(key),
                         fy_tls_certvar_shown(cert), fy_tls_error(), client);
            return 0;
        }
    }
    return 1;
}

int
fy_tls_certvar_init(void *ctx, fy_tls_conf_t *conf, const char *what)
{
    if (conf->stapling) {
        /* no certificate to staple a response for until a handshake
         * loads one */
        fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" has no effect on "
                     "certificates with variables (%s) in %s:%u", what,
                     conf->stapling_where.file, conf->stapling_where.line);
        conf->stapling = 0;
    }
    SSL_CTX_set_cert_cb(ctx, fy_tls_certvar_cb, conf);
    return FY_OK;
}
