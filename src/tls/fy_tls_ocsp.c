/*
 * fy_tls_ocsp.c -- OCSP stapling with responses fetched from the
 * certificate's OCSP responder: "ssl_stapling on" without
 * ssl_stapling_file (the file's response is fy_tls_load.c's).
 *
 * As nginx (ngx_event_openssl_stapling.c):
 *
 *   configuration (master)  for each certificate of the context: its
 *       issuer (the certificate's chain, else ssl_trusted_certificate),
 *       the responder (ssl_stapling_responder, else the certificate's
 *       Authority Information Access), its address (a name resolved
 *       here too: without a "resolver" that address is used, with
 *       nginx's warning at each fetch) and the OCSP request, made
 *       once.
 *       A certificate without one of these is served without a staple,
 *       with nginx's "ssl_stapling" ignored warning.
 *
 *   handshakes (each worker)  a client that asks for the status
 *       (status_request) gets the response this worker holds, if it is
 *       still valid; if none is held or it is time to refresh, the
 *       handshake starts a fetch and goes on (without a staple the
 *       first time): a non-blocking POST over HTTP/1.0 on the worker's
 *       event loop, 60 s at most, after the server's resolver has
 *       answered for the responder's name, if it is one (the worker's
 *       cache of answers first).  So nothing ever waits for the
 *       responder, and each worker asks it once per refresh.
 *
 *   the response  HTTP 200, application/ocsp-response, a successful
 *       OCSP response whose signature checks (ssl_stapling_verify on:
 *       and whose signer chains to the context's trusted certificates),
 *       with the certificate's status "good" and thisUpdate/nextUpdate
 *       current.  It is then stapled until its nextUpdate and fetched
 *       again after an hour (at most 5 minutes before nextUpdate, at
 *       least 5 minutes later); after an error, again 5 minutes later,
 *       the response held before still stapled while valid.  Errors go
 *       to the error log at "error" with the responder, the peer and
 *       the certificate, as nginx logs them.
 *
 * The fetch and the checks of the response are fy_tls_ocsp_fetch.c's,
 * shared with the validation of client certificates (ssl_ocsp).
 */
#include "fy_core.h"
#include "fy_tls_ocsp.h"
#include "fy_log.h"

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#define FY_OCSP_REFRESH    3600       /* s: fetch again after this */

typedef struct {
    SSL_CTX          *ctx;        /* its store checks the signer */
    STACK_OF(X509)   *chain;      /* the certificate's chain (ctx's) */
    OCSP_CERTID      *id;         /* what the response must answer */
    X509             *issuer;
    const char       *cert_name;  /* path, for messages */
    unsigned          verify:1;
    fy_tls_fetch_t    fetch;

    /* the worker's state */
    unsigned          loading:1;
    u_char           *staple;     /* DER response (malloc), or NULL */
    size_t            staple_len;
    time_t            valid;      /* staple good until */
    time_t            refresh;    /* no fetch before */
} fy_tls_ocsp_t;

static int  fy_tls_ocsp_index = -1;     /* X509 ex_data: fy_tls_ocsp_t */
static int  fy_tls_ocsp_name_index = -1;/* X509 ex_data: its file */

void
fy_tls_ocsp_name(void *ctx, const char *path)
{
    X509  *cert = SSL_CTX_get0_certificate(ctx);

    if (fy_tls_ocsp_name_index == -1) {
        fy_tls_ocsp_name_index = X509_get_ex_new_index(0, NULL, NULL, NULL,
                                                       NULL);
    }
    if (cert) {
        X509_set_ex_data(cert, fy_tls_ocsp_name_index, (void *) path);
    }
}


/* ---- configuration ---- */

static void
fy_tls_ocsp_cleanup(void *data)
{
    fy_tls_ocsp_t  *st = data;

    OCSP_CERTID_free(st->id);
    X509_free(st->issuer);
    free(st->fetch.req);
}

/* The issuer of cert: in its chain, else among the trusted ones. */
static X509 *
fy_tls_ocsp_issuer(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain)
{
    X509_STORE_CTX  *sctx;
    X509            *issuer = NULL;
    int              i;

    for (i = 0; chain && i < sk_X509_num(chain); i++) {
        if (X509_check_issued(sk_X509_value(chain, i), cert) == X509_V_OK) {
            issuer = sk_X509_value(chain, i);
            X509_up_ref(issuer);
            return issuer;
        }
    }
    sctx = X509_STORE_CTX_new();
    if (sctx && X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), NULL,
                                    NULL) == 1
        && X509_STORE_CTX_get1_issuer(&issuer, sctx, cert) != 1)
    {
        issuer = NULL;
    }
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return issuer;
}

static void fy_tls_ocsp_fetched(fy_tls_fetch_t *f, const u_char *body,
                                size_t len);

/* The certificate ctx's current slot holds: FY_OK (stapled, or
 * ignored with a warning) or FY_ERROR. */
static int
fy_tls_ocsp_cert(fy_pool_t *pool, SSL_CTX *ctx, fy_tls_conf_t *conf,
                 int *any)
{
    fy_tls_ocsp_t             *st;
    X509                      *cert = SSL_CTX_get0_certificate(ctx);
    STACK_OF(OPENSSL_STRING)  *aia = NULL;
    fy_tls_ocsp_url_t          u;
    const char                *name, *url, *why;
    char                      *tail;
    size_t                     n;

    if (cert == NULL) {
        return FY_OK;
    }
    name = X509_get_ex_data(cert, fy_tls_ocsp_name_index);
    if (name == NULL) {
        name = "?";
    }
    st = fy_pcalloc(pool, sizeof(fy_tls_ocsp_t));
    if (st == NULL || fy_pool_cleanup_add(pool, fy_tls_ocsp_cleanup, st)
                      != FY_OK)
    {
        return FY_ERROR;
    }
    st->ctx = ctx;
    st->cert_name = name;
    st->verify = conf->stapling_verify == 1;
    SSL_CTX_get0_chain_certs(ctx, &st->chain);

    st->issuer = fy_tls_ocsp_issuer(ctx, cert, st->chain);
    if (st->issuer == NULL) {
        fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, issuer "
                     "certificate not found for certificate \"%s\" in %s:%u",
                     name, conf->stapling_where.file,
                     conf->stapling_where.line);
        return FY_OK;
    }

    url = conf->stapling_responder;
    if (url == NULL) {
        aia = X509_get1_ocsp(cert);
        if (aia == NULL || sk_OPENSSL_STRING_num(aia) == 0) {
            X509_email_free(aia);
            fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, no OCSP "
                         "responder URL in the certificate \"%s\" in %s:%u",
                         name, conf->stapling_where.file,
                         conf->stapling_where.line);
            return FY_OK;
        }
        url = sk_OPENSSL_STRING_value(aia, 0);
    }
    /* a name resolved now too (nginx): its address serves where the
     * server has no resolver; with one, the name is asked of it at
     * each fetch */
    why = fy_tls_ocsp_url_parse(url, &u);
    if (why == NULL) {
        why = fy_tls_fetch_addr(&st->fetch, &u, 1);
    }
    if (why) {
        fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, %s in OCSP "
                     "responder \"%s\" (certificate \"%s\") in %s:%u", why,
                     url, name, conf->stapling_responder
                                ? conf->stapling_responder_where.file
                                : conf->stapling_where.file,
                     conf->stapling_responder
                     ? conf->stapling_responder_where.line
                     : conf->stapling_where.line);
        X509_email_free(aia);
        return FY_OK;
    }

    st->id = OCSP_cert_to_id(NULL, cert, st->issuer);
    if (st->id == NULL || fy_tls_fetch_request(&st->fetch, st->id, u.path)
                          != FY_OK)
    {
        fy_log_error(FY_LOG_EMERG, 0, "cannot make the OCSP request for "
                     "certificate \"%s\": %s", name, fy_tls_error());
        X509_email_free(aia);
        return FY_ERROR;
    }
    X509_email_free(aia);

    n = strlen(name) + sizeof(", certificate: \"\"");
    tail = fy_palloc(pool, n);
    if (tail == NULL) {
        return FY_ERROR;
    }
    snprintf(tail, n, ", certificate: \"%s\"", name);
    st->fetch.tail = tail;
    st->fetch.resolver = conf->resolver;
    st->fetch.resolver_timeout = conf->resolver_timeout;
    st->fetch.handler = fy_tls_ocsp_fetched;
    st->fetch.data = st;
    X509_set_ex_data(cert, fy_tls_ocsp_index, st);
    *any = 1;
    return FY_OK;
}

static int fy_tls_ocsp_status_cb(SSL *ssl, void *arg);

int
fy_tls_ocsp_init(fy_pool_t *pool, void *data, fy_tls_conf_t *conf)
{
    SSL_CTX  *ctx = data;
    int       rc, any = 0;

    if (fy_tls_ocsp_index == -1) {
        fy_tls_ocsp_index = X509_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    /* every certificate (RSA, ECDSA ...) has its own response */
    rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
    while (rc == 1) {
        if (fy_tls_ocsp_cert(pool, ctx, conf, &any) != FY_OK) {
            return FY_ERROR;
        }
        rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
    }
    ERR_clear_error();
    if (any) {
        SSL_CTX_set_tlsext_status_cb(ctx, fy_tls_ocsp_status_cb);
        SSL_CTX_set_tlsext_status_arg(ctx, NULL);
    }
    return FY_OK;
}


/* ---- the fetch (workers) ---- */

/* The responder's answer (NULL: the fetch failed, logged): checked,
 * then held for stapling; after an error, no fetch for 5 minutes. */
static void
fy_tls_ocsp_fetched(fy_tls_fetch_t *f, const u_char *body, size_t len)
{
    fy_tls_ocsp_t  *st = f->data;
    u_char         *copy;
    time_t          now = (time_t) (fy_wall_msec / 1000), valid;
    int             status;

    st->loading = 0;
    st->refresh = now + FY_OCSP_RETRY;
    /* verify off: the signature is still checked, not who signed */
    if (body == NULL
        || fy_tls_ocsp_verify(f, body, len, st->id, st->chain,
                              SSL_CTX_get_cert_store(st->ctx),
                              st->verify ? OCSP_TRUSTOTHER : OCSP_NOVERIFY,
                              &status, &valid) != FY_OK)
    {
        return;
    }
    if (status != V_OCSP_CERTSTATUS_GOOD) {
        fy_tls_fetch_error(f, 0, "certificate status \"%s\" in the OCSP "
                           "response", OCSP_cert_status_str(status));
        return;
    }
    if (valid == 0) {
        valid = (time_t) INT64_MAX;
    }
    copy = malloc(len);
    if (copy == NULL) {
        fy_tls_fetch_error(f, errno, "malloc() failed");
        return;
    }
    memcpy(copy, body, len);
    free(st->staple);
    st->staple = copy;
    st->staple_len = len;
    st->valid = valid;
    /* an hour from now, but before the response expires, and not
     * sooner than 5 minutes (nginx) */
    st->refresh = fy_max(fy_min(valid - FY_OCSP_RETRY, now + FY_OCSP_REFRESH),
                         now + FY_OCSP_RETRY);
    fy_log_debug("OCSP response for certificate \"%s\" stapled, good until "
                 "%lld", st->cert_name, (long long) valid);
}

/* A handshake with status_request: the response held, if still valid;
 * a fetch started when none is held or it is time to refresh. */
static int
fy_tls_ocsp_status_cb(SSL *ssl, void *arg)
{
    fy_tls_ocsp_t  *st;
    X509           *cert = SSL_get_certificate(ssl);
    time_t          now = (time_t) (fy_wall_msec / 1000);
    u_char         *p;
    int             rc = SSL_TLSEXT_ERR_NOACK;

    fy_unused(arg);
    st = cert ? X509_get_ex_data(cert, fy_tls_ocsp_index) : NULL;
    if (st == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (st->staple && st->valid >= now
        && (p = OPENSSL_memdup(st->staple, st->staple_len)) != NULL)
    {
        /* OpenSSL frees the copy with the connection */
        if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long) st->staple_len)
            == 1)
        {
            rc = SSL_TLSEXT_ERR_OK;
        } else {
            OPENSSL_free(p);
        }
    }
    if (!st->loading && st->refresh <= now) {
        if (fy_tls_fetch_start(&st->fetch) == FY_OK) {
            st->loading = 1;
        } else {
            st->refresh = now + FY_OCSP_RETRY;
        }
    }
    return rc;
}
