/*
 * fy_tls_ocsp_client.c -- client certificates checked with OCSP:
 * ssl_ocsp on | leaf, ssl_ocsp_responder, ssl_ocsp_cache (nginx
 * 1.19.0's ngx_ssl_ocsp_validate).
 *
 * Once the handshake is done and the certificate verified, the chain
 * OpenSSL verified is walked from the client's certificate up: each
 * certificate but the root ("leaf": only the first) is asked about at
 * the responder of ssl_ocsp_responder, else at the one its Authority
 * Information Access names, with an OCSP request for it and its
 * issuer.  The answer must verify as nginx's does (OCSP_basic_verify
 * with no flags: signed by the issuer or by a responder it certified
 * for OCSP signing, chaining to the trusted certificates).  "good"
 * goes on to the next certificate; "revoked" or "unknown" ends the
 * walk with that status; a failure (no responder URL, a name that
 * does not resolve, a fetch or check that fails) ends it as
 * "certificate status request failed".  The caller (http, stream)
 * waits meanwhile: the fetch runs on the worker's loop, nothing
 * blocks.
 *
 * A responder's host name is asked of the server's "resolver" at each
 * fetch (fy_tls_ocsp_fetch.c), as nginx does.  Without one, a name in
 * a certificate cannot be reached (nginx's error "no resolver defined
 * to resolve ..."), and ssl_ocsp_responder's, resolved when the
 * configuration is read, is used at that address (with nginx's
 * warning).
 *
 * With ssl_ocsp_cache, statuses found (good, revoked, unknown) are
 * kept in a shared zone (the store of fy_tls_cache.c) under a SHA-256
 * of the request's certificate id, until the response's nextUpdate, or
 * an hour if it has none (nginx): any worker then answers from it
 * without asking the responder again.
 */
#include "fy_core.h"
#include "fy_tls_ocsp.h"
#include "fy_tls_cache.h"
#include "fy_log.h"

#include <stdarg.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#define FY_OCSP_CACHE_NO_NEXT  3600   /* s: kept without a nextUpdate */

/* What a context's checks need (the configuration's pool). */
typedef struct {
    unsigned          leaf:1;
    unsigned          responder:1;   /* ssl_ocsp_responder given */
    fy_tls_fetch_t    fetch;         /* its address and host; the
                                        server's resolver */
    char             *path;
    fy_tls_cache_t   *cache;         /* NULL: ssl_ocsp_cache off */
} fy_tls_ocsp_conf_t;

/* One connection's check (malloc, freed with the SSL object). */
typedef struct {
    fy_conn_t            *c;
    fy_tls_ocsp_conf_t   *conf;
    STACK_OF(X509)       *certs;     /* the verified chain */
    int                   ncert;     /* certificates asked about */
    int                   status;    /* FY_AGAIN, FY_OK, FY_ERROR */
    int                   cert_status;  /* V_OCSP_CERTSTATUS_* */
    unsigned              waiting:1; /* the caller was told FY_AGAIN */
    void                (*done)(fy_conn_t *c);
    OCSP_CERTID          *id;        /* the one asked about now */
    u_char                key[SHA256_DIGEST_LENGTH];
    fy_tls_fetch_t        fetch;
    char                  who[160];
    char                  tail[512];
} fy_tls_ocsp_check_t;

static int  fy_tls_ocsp_conf_index = -1;    /* SSL_CTX: the conf */
static int  fy_tls_ocsp_check_index = -1;   /* SSL: the check */

static void fy_tls_ocsp_next(fy_tls_ocsp_check_t *st);


/* ---- configuration ---- */

static void
fy_tls_ocsp_check_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                       long argl, void *argp)
{
    fy_tls_ocsp_check_t  *st = ptr;

    fy_unused(parent);
    fy_unused(ad);
    fy_unused(idx);
    fy_unused(argl);
    fy_unused(argp);
    if (st == NULL) {
        return;
    }
    /* the connection is going: so is its fetch */
    fy_tls_fetch_cancel(&st->fetch);
    free(st->fetch.req);
    OCSP_CERTID_free(st->id);
    sk_X509_pop_free(st->certs, X509_free);
    free(st);
}

int
fy_tls_ocsp_client_init(fy_pool_t *pool, void *ctx, fy_tls_conf_t *conf)
{
    fy_tls_ocsp_conf_t  *oc;
    fy_tls_ocsp_url_t    u;
    fy_tls_zone_t       *zone;
    const char          *why;
    char                 name[80];

    if (conf->verify == FY_TLS_VERIFY_OPTIONAL_NO_CA) {
        fy_log_error(FY_LOG_EMERG, 0, "\"ssl_ocsp\" is incompatible with "
                     "\"ssl_verify_client optional_no_ca\" in %s:%u",
                     conf->ocsp_where.file, conf->ocsp_where.line);
        return FY_ERROR;
    }
    if (fy_tls_ocsp_conf_index == -1) {
        fy_tls_ocsp_conf_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                          NULL, NULL);
        fy_tls_ocsp_check_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                       fy_tls_ocsp_check_free);
    }
    oc = fy_pcalloc(pool, sizeof(fy_tls_ocsp_conf_t));
    if (oc == NULL) {
        return FY_ERROR;
    }
    oc->leaf = conf->ocsp == FY_TLS_OCSP_LEAF;
    oc->fetch.resolver = conf->resolver;
    oc->fetch.resolver_timeout = conf->resolver_timeout;

    if (conf->ocsp_responder) {
        /* a name resolved now too (nginx): its address serves where
         * the server has no resolver; with one, the name is asked of
         * it at each fetch */
        why = fy_tls_ocsp_url_parse(conf->ocsp_responder, &u);
        if (why == NULL) {
            why = fy_tls_fetch_addr(&oc->fetch, &u, 1);
        }
        if (why) {
            fy_log_error(FY_LOG_EMERG, 0, "%s in OCSP responder \"%s\" in "
                         "\"ssl_ocsp_responder\" in %s:%u", why,
                         conf->ocsp_responder,
                         conf->ocsp_responder_where.file,
                         conf->ocsp_responder_where.line);
            return FY_ERROR;
        }
        oc->path = fy_pstrndup(pool, (u_char *) u.path, strlen(u.path));
        if (oc->path == NULL) {
            return FY_ERROR;
        }
        oc->responder = 1;
    }

    if (conf->ocsp_cache == 1) {
        /* apart from the session caches, which may have the same name */
        snprintf(name, sizeof(name), "ocsp:%s", conf->ocsp_cache_name);
        zone = fy_tls_cache_zone(pool, name, conf->ocsp_cache_size);
        if (zone == NULL) {
            return FY_ERROR;
        }
        oc->cache = zone->cache;
    }

    if (SSL_CTX_set_ex_data(ctx, fy_tls_ocsp_conf_index, oc) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CTX_set_ex_data() failed: %s",
                     fy_tls_error());
        return FY_ERROR;
    }
    return FY_OK;
}


/* ---- the checks (workers) ---- */

/* The walk is over: tell a caller that waits. */
static void
fy_tls_ocsp_finish(fy_tls_ocsp_check_t *st)
{
    if (st->waiting) {
        st->waiting = 0;
        /* last: the caller may close the connection, freeing st */
        st->done(st->c);
    }
}

/* A failure of the walk, logged at error with the certificate and
 * the client. */
static void __attribute__((format(printf, 2, 3)))
fy_tls_ocsp_failed(fy_tls_ocsp_check_t *st, const char *fmt, ...)
{
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fy_log_error(FY_LOG_ERR, 0, "%s%s", msg, st->tail);
    st->status = FY_ERROR;
}

/* The responder for cert into st->fetch, with the request for st->id:
 * FY_OK or FY_ERROR (logged). */
static int
fy_tls_ocsp_responder(fy_tls_ocsp_check_t *st, X509 *cert)
{
    STACK_OF(OPENSSL_STRING)  *aia = NULL;
    fy_tls_ocsp_url_t          u;
    const char                *url, *why, *path;
    int                        rc = FY_OK;

    if (st->conf->responder) {
        memcpy(st->fetch.responder, st->conf->fetch.responder,
               sizeof(st->fetch.responder));
        memcpy(st->fetch.peer, st->conf->fetch.peer, sizeof(st->fetch.peer));
        memcpy(st->fetch.host, st->conf->fetch.host, sizeof(st->fetch.host));
        st->fetch.port = st->conf->fetch.port;
        memcpy(st->fetch.addrs, st->conf->fetch.addrs,
               sizeof(st->fetch.addrs));
        memcpy(st->fetch.addrlens, st->conf->fetch.addrlens,
               sizeof(st->fetch.addrlens));
        st->fetch.naddrs = st->conf->fetch.naddrs;
        path = st->conf->path;

    } else {
        aia = X509_get1_ocsp(cert);
        if (aia == NULL || sk_OPENSSL_STRING_num(aia) == 0) {
            X509_email_free(aia);
            fy_tls_ocsp_failed(st, "no OCSP responder URL in certificate");
            return FY_ERROR;
        }
        url = sk_OPENSSL_STRING_value(aia, 0);
        /* a name: the resolver's, at the fetch (nginx resolves none
         * of these when it reads the configuration) */
        why = fy_tls_ocsp_url_parse(url, &u);
        if (why == NULL) {
            why = fy_tls_fetch_addr(&st->fetch, &u, 0);
        }
        if (why) {
            fy_tls_ocsp_failed(st, "%s in OCSP responder \"%s\" in "
                               "certificate", why, url);
            rc = FY_ERROR;
        }
        path = u.path;
    }
    st->fetch.resolver = st->conf->fetch.resolver;
    st->fetch.resolver_timeout = st->conf->fetch.resolver_timeout;
    if (rc == FY_OK
        && fy_tls_fetch_request(&st->fetch, st->id, path) != FY_OK)
    {
        fy_tls_ocsp_failed(st, "cannot make the OCSP request: %s",
                           fy_tls_error());
        rc = FY_ERROR;
    }
    X509_email_free(aia);
    return rc;
}

/* The cache's key for st->id: a hash of its DER (hash algorithm,
 * issuer name and key hashes, serial). */
static int
fy_tls_ocsp_key(fy_tls_ocsp_check_t *st)
{
    u_char  *der = NULL;
    int      n;

    n = i2d_OCSP_CERTID(st->id, &der);
    if (n <= 0) {
        return FY_ERROR;
    }
    SHA256(der, (size_t) n, st->key);
    OPENSSL_free(der);
    return FY_OK;
}

/* A status ends the walk unless it is good. */
static void
fy_tls_ocsp_status(fy_tls_ocsp_check_t *st, int status)
{
    if (status != V_OCSP_CERTSTATUS_GOOD) {
        st->cert_status = status;
        st->status = FY_OK;
    }
}

static void
fy_tls_ocsp_fetched(fy_tls_fetch_t *f, const u_char *body, size_t len)
{
    fy_tls_ocsp_check_t  *st = f->data;
    SSL_CTX              *ctx = SSL_get_SSL_CTX(st->c->ssl);
    time_t                now = (time_t) (fy_wall_msec / 1000), valid;
    u_char                s;
    int                   status;

    if (body == NULL
        || fy_tls_ocsp_verify(f, body, len, st->id, st->certs,
                              SSL_CTX_get_cert_store(ctx), 0, &status,
                              &valid) != FY_OK)
    {
        st->status = FY_ERROR;
        fy_tls_ocsp_finish(st);
        return;
    }
    if (st->conf->cache && (valid == 0 || valid >= now)) {
        s = (u_char) status;
        (void) fy_tls_cache_put(st->conf->cache, st->key, sizeof(st->key),
                                &s, 1,
                                valid ? valid : now + FY_OCSP_CACHE_NO_NEXT,
                                now);
    }
    fy_tls_ocsp_status(st, status);
    if (st->status == FY_AGAIN) {
        fy_tls_ocsp_next(st);
        if (st->status == FY_AGAIN) {
            return;                     /* the next fetch runs */
        }
    }
    fy_tls_ocsp_finish(st);
}

/* Up the chain from the certificate after the last one asked about:
 * statuses from the cache, or a fetch started (st->status stays
 * FY_AGAIN), or the end (FY_OK, FY_ERROR). */
static void
fy_tls_ocsp_next(fy_tls_ocsp_check_t *st)
{
    X509      *cert, *issuer;
    u_char     s;
    int        n = sk_X509_num(st->certs);
    ssize_t    got;

    while (st->status == FY_AGAIN) {
        /* the root is not asked about; "leaf": only the first */
        if (st->ncert >= n - 1 || (st->conf->leaf && st->ncert == 1)) {
            st->status = FY_OK;
            return;
        }
        cert = sk_X509_value(st->certs, st->ncert);
        issuer = sk_X509_value(st->certs, st->ncert + 1);
        st->ncert++;

        snprintf(st->tail, sizeof(st->tail), ", certificate: \"");
        X509_NAME_oneline(X509_get_subject_name(cert),
                          st->tail + strlen(st->tail),
                          (int) (sizeof(st->tail) - strlen(st->tail)
                                 - sizeof(st->who) - 4));
        snprintf(st->tail + strlen(st->tail),
                 sizeof(st->tail) - strlen(st->tail), "\", %s", st->who);

        OCSP_CERTID_free(st->id);
        st->id = OCSP_cert_to_id(NULL, cert, issuer);
        if (st->id == NULL || fy_tls_ocsp_key(st) != FY_OK) {
            fy_tls_ocsp_failed(st, "OCSP_cert_to_id() failed (%s)",
                               fy_tls_error());
            return;
        }
        if (st->conf->cache) {
            got = fy_tls_cache_get(st->conf->cache, st->key, sizeof(st->key),
                                   &s, 1,
                                   (int64_t) (fy_wall_msec / 1000));
            if (got == 1) {
                fy_log_debug("OCSP status %d of \"%s\" from the cache", s,
                             st->tail);
                fy_tls_ocsp_status(st, s);
                continue;
            }
        }
        if (fy_tls_ocsp_responder(st, cert) != FY_OK) {
            return;
        }
        st->fetch.tail = st->tail;
        st->fetch.handler = fy_tls_ocsp_fetched;
        st->fetch.data = st;
        if (fy_tls_fetch_start(&st->fetch) != FY_OK) {
            st->status = FY_ERROR;
        }
        return;
    }
}

int
fy_tls_ocsp_validate(fy_conn_t *c, void (*done)(fy_conn_t *c),
                     const char *who)
{
    SSL                  *ssl = c->ssl;
    SSL_CTX              *ctx;
    X509                 *cert;
    X509_STORE_CTX       *sctx;
    fy_tls_ocsp_conf_t   *oc;
    fy_tls_ocsp_check_t  *st;
    int                   err;

    if (ssl == NULL || fy_tls_ocsp_conf_index == -1) {
        return FY_OK;
    }
    ctx = SSL_get_SSL_CTX(ssl);
    oc = SSL_CTX_get_ex_data(ctx, fy_tls_ocsp_conf_index);
    if (oc == NULL || SSL_get_verify_result(ssl) != X509_V_OK) {
        return FY_OK;
    }
    cert = SSL_get0_peer_certificate(ssl);
    if (cert == NULL) {
        return FY_OK;
    }

    st = calloc(1, sizeof(fy_tls_ocsp_check_t));
    if (st == NULL) {
        return FY_ERROR;
    }
    if (SSL_set_ex_data(ssl, fy_tls_ocsp_check_index, st) != 1) {
        free(st);
        return FY_ERROR;
    }
    st->c = c;
    st->conf = oc;
    st->done = done;
    st->status = FY_ERROR;          /* until the walk starts */
    st->cert_status = V_OCSP_CERTSTATUS_GOOD;
    snprintf(st->who, sizeof(st->who), "%s", who);

    /* the whole chain as the handshake verified it; a resumed session
     * has none (nor the client's intermediates): it is built again
     * from the trusted certificates, and where that fails the
     * connection is closed (nginx) rather than the issuers it cannot
     * name skipped */
    st->certs = SSL_get0_verified_chain(ssl);
    if (st->certs) {
        st->certs = X509_chain_up_ref(st->certs);
        if (st->certs == NULL) {
            return FY_ERROR;
        }
    } else {
        sctx = X509_STORE_CTX_new();
        if (sctx == NULL
            || X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), cert,
                                   SSL_get_peer_cert_chain(ssl)) != 1)
        {
            X509_STORE_CTX_free(sctx);
            return FY_ERROR;
        }
        if (X509_verify_cert(sctx) != 1) {
            err = X509_STORE_CTX_get_error(sctx);
            fy_log_error(FY_LOG_ERR, 0, "X509_verify_cert() failed (%d: %s) "
                         "while building the chain for OCSP%s, %s", err,
                         X509_verify_cert_error_string(err),
                         SSL_session_reused(ssl) ? " of a resumed session"
                                                 : "", who);
            X509_STORE_CTX_free(sctx);
            ERR_clear_error();
            return FY_ERROR;
        }
        st->certs = X509_STORE_CTX_get1_chain(sctx);
        X509_STORE_CTX_free(sctx);
        if (st->certs == NULL) {
            return FY_ERROR;
        }
    }

    st->status = FY_AGAIN;
    fy_tls_ocsp_next(st);
    if (st->status == FY_AGAIN) {
        st->waiting = 1;
        return FY_AGAIN;
    }
    return FY_OK;
}

const char *
fy_tls_ocsp_result(fy_conn_t *c)
{
    fy_tls_ocsp_check_t  *st;

    if (c->ssl == NULL || fy_tls_ocsp_check_index == -1) {
        return NULL;
    }
    st = SSL_get_ex_data(c->ssl, fy_tls_ocsp_check_index);
    if (st == NULL) {
        return NULL;
    }
    if (st->status == FY_ERROR) {
        return "certificate status request failed";
    }
    switch (st->cert_status) {
    case V_OCSP_CERTSTATUS_GOOD:
        return NULL;
    case V_OCSP_CERTSTATUS_REVOKED:
        return "certificate revoked";
    default:
        return "certificate status unknown";
    }
}
