/*
 * fy_tls_srv.c -- the server options of a TLS context beyond
 * certificates and protocols: ssl_session_cache, ssl_ecdh_curve,
 * ssl_verify_client with its CA files, CRL and depth,
 * ssl_reject_handshake; and the order in which the files of
 * fy_tls_load.c (ssl_dhparam, ssl_crl, ssl_stapling_file,
 * ssl_conf_command) go into the context.
 *
 * Client certificates are verified as nginx does it: the handshake
 * always completes (the verify callback accepts every error) and the
 * result is kept in the session; the HTTP layer then answers a request
 * on a connection whose verification failed, or that sent no
 * certificate where one is required, with a 400 (fy_http_ssl_conn.c).
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_tls_cache.h"
#include "fy_log.h"

#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

void
fy_tls_conf_init_srv(fy_tls_conf_t *conf)
{
    conf->cache_builtin = -1;
    conf->verify = -1;
    conf->verify_depth = -1;
    conf->reject_handshake = -1;
    conf->buffer_size = (size_t) -1;
    conf->stapling = -1;
    conf->stapling_verify = -1;
    conf->early_data = -1;
    conf->ocsp = -1;
    conf->ocsp_cache = -1;
}

/* A string (a path) and where it was given, taken from prev if unset. */
#define fy_tls_merge_where(f, w)                                          \
    if (conf->f == NULL) {                                                \
        conf->f = prev->f;                                                \
        conf->w = prev->w;                                                \
    }

#define fy_tls_merge_flag(f, dflt)                                        \
    if (conf->f == -1) {                                                  \
        conf->f = prev->f == -1 ? (dflt) : prev->f;                       \
    }

void
fy_tls_conf_merge_srv(const fy_tls_conf_t *prev, fy_tls_conf_t *conf)
{
    if (conf->cache == 0) {
        conf->cache = prev->cache ? prev->cache : FY_TLS_CACHE_NONE;
        conf->cache_builtin = prev->cache_builtin;
        conf->cache_name = prev->cache_name;
        conf->cache_size = prev->cache_size;
        conf->cache_where = prev->cache_where;
    }
    if (conf->cache_builtin == -1) {
        conf->cache_builtin = 20480;          /* nginx's default */
    }
    if (conf->ecdh_curve == NULL) {
        conf->ecdh_curve = prev->ecdh_curve ? prev->ecdh_curve : "auto";
        conf->ecdh_where = prev->ecdh_where;
    }
    if (conf->verify == -1) {
        conf->verify = prev->verify == -1 ? FY_TLS_VERIFY_OFF : prev->verify;
        conf->verify_where = prev->verify_where;
    }
    if (conf->verify_depth == -1) {
        conf->verify_depth = prev->verify_depth == -1 ? 1
                                                      : prev->verify_depth;
    }
    if (conf->client_cert == NULL) {
        conf->client_cert = prev->client_cert;
        conf->client_cert_where = prev->client_cert_where;
    }
    if (conf->trusted_cert == NULL) {
        conf->trusted_cert = prev->trusted_cert;
        conf->trusted_where = prev->trusted_where;
    }
    if (conf->reject_handshake == -1) {
        conf->reject_handshake = prev->reject_handshake == -1
                                 ? 0 : prev->reject_handshake;
    }

    fy_tls_merge_where(dhparam, dhparam_where);
    fy_tls_merge_where(crl, crl_where);
    fy_tls_merge_where(passwords, passwords_where);
    fy_tls_merge_where(stapling_file, stapling_file_where);
    fy_tls_merge_where(stapling_responder, stapling_responder_where);
    if (conf->stapling == -1) {
        conf->stapling = prev->stapling == -1 ? 0 : prev->stapling;
        conf->stapling_where = prev->stapling_where;
    }
    fy_tls_merge_flag(stapling_verify, 0);
    if (conf->ocsp == -1) {
        conf->ocsp = prev->ocsp == -1 ? FY_TLS_OCSP_OFF : prev->ocsp;
        conf->ocsp_where = prev->ocsp_where;
    }
    fy_tls_merge_where(ocsp_responder, ocsp_responder_where);
    if (conf->ocsp_cache == -1) {
        conf->ocsp_cache = prev->ocsp_cache == -1 ? 0 : prev->ocsp_cache;
        conf->ocsp_cache_name = prev->ocsp_cache_name;
        conf->ocsp_cache_size = prev->ocsp_cache_size;
        conf->ocsp_cache_where = prev->ocsp_cache_where;
    }
    fy_tls_merge_flag(early_data, 0);
    if (conf->buffer_size == (size_t) -1) {
        conf->buffer_size = prev->buffer_size == (size_t) -1
                            ? FY_TLS_BUFFER : prev->buffer_size;
    }
    /* inherited only by a level without any of its own (nginx) */
    if (conf->conf_commands == NULL) {
        conf->conf_commands = prev->conf_commands;
    }
}

#undef fy_tls_merge_where
#undef fy_tls_merge_flag

/* The handshake goes on whatever the verification found; the result
 * is SSL_get_verify_result's, checked per request. */
static int
fy_tls_verify_cb(int ok, X509_STORE_CTX *store)
{
    fy_unused(ok);
    fy_unused(store);
    return 1;
}

int
fy_tls_verify_error_optional(long rc)
{
    return rc == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
           || rc == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
           || rc == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
           || rc == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE;
}

/* Add a file's bytes to a digest; 0 if it cannot be read. */
static int
fy_tls_digest_file(EVP_MD_CTX *md, const char *path)
{
    u_char  buf[4096];
    size_t  n;
    FILE   *f = fopen(path, "re");

    if (f == NULL) {
        return 0;
    }
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
        EVP_DigestUpdate(md, buf, n);
    }
    fclose(f);
    return 1;
}

/*
 * A session made where client certificates are verified carries the
 * verdict: it must not resume where other CAs, another mode or depth
 * apply.  Contexts that verify get a session id context of their own,
 * a digest of those settings and of the CA files' contents (servers
 * with the same settings still share sessions); the others keep
 * "ferry".
 */
static int
fy_tls_verify_sid_ctx(SSL_CTX *ctx, fy_tls_conf_t *conf)
{
    EVP_MD_CTX  *md = EVP_MD_CTX_new();
    u_char       sum[EVP_MAX_MD_SIZE];
    unsigned     len = 0;
    char         head[64];
    int          ok;

    snprintf(head, sizeof(head), "ferry verify %d depth %d", conf->verify,
             conf->verify_depth);
    ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1
         && EVP_DigestUpdate(md, head, strlen(head)) == 1
         && (conf->client_cert == NULL
             || fy_tls_digest_file(md, conf->client_cert))
         && EVP_DigestUpdate(md, "|", 1) == 1
         && (conf->trusted_cert == NULL
             || fy_tls_digest_file(md, conf->trusted_cert))
         && EVP_DigestUpdate(md, "|", 1) == 1
         && (conf->crl == NULL || fy_tls_digest_file(md, conf->crl))
         && EVP_DigestFinal_ex(md, sum, &len) == 1
         && SSL_CTX_set_session_id_context(ctx, sum,
                                           fy_min(len, SSL_MAX_SID_CTX_LENGTH))
            == 1;
    EVP_MD_CTX_free(md);
    return ok;
}

static int
fy_tls_srv_verify(SSL_CTX *ctx, fy_tls_conf_t *conf, const char *what)
{
    STACK_OF(X509_NAME)  *names;

    if (conf->client_cert) {
        if (SSL_CTX_load_verify_locations(ctx, conf->client_cert, NULL) != 1
            || (names = SSL_load_client_CA_file(conf->client_cert)) == NULL)
        {
            fy_log_error(FY_LOG_EMERG, 0, "cannot load ssl_client_certificate "
                         "\"%s\": %s in %s:%u", conf->client_cert,
                         fy_tls_error(), conf->client_cert_where.file,
                         conf->client_cert_where.line);
            return FY_ERROR;
        }
        /* the names sent in the CertificateRequest */
        SSL_CTX_set_client_CA_list(ctx, names);
    }
    if (conf->trusted_cert
        && SSL_CTX_load_verify_locations(ctx, conf->trusted_cert, NULL) != 1)
    {
        fy_log_error(FY_LOG_EMERG, 0, "cannot load ssl_trusted_certificate "
                     "\"%s\": %s in %s:%u", conf->trusted_cert,
                     fy_tls_error(), conf->trusted_where.file,
                     conf->trusted_where.line);
        return FY_ERROR;
    }

    if (conf->crl && fy_tls_load_crl(ctx, conf->crl, "ssl_crl",
                                     &conf->crl_where) != FY_OK)
    {
        return FY_ERROR;
    }

    if (conf->verify == FY_TLS_VERIFY_OFF) {
        return FY_OK;
    }
    if (conf->verify != FY_TLS_VERIFY_OPTIONAL_NO_CA
        && conf->client_cert == NULL && conf->trusted_cert == NULL)
    {
        fy_log_error(FY_LOG_EMERG, 0, "no ssl_client_certificate or "
                     "ssl_trusted_certificate for ssl_verify_client (%s) in "
                     "%s:%u", what, conf->verify_where.file,
                     conf->verify_where.line);
        return FY_ERROR;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, fy_tls_verify_cb);
    SSL_CTX_set_verify_depth(ctx, conf->verify_depth);
    if (!fy_tls_verify_sid_ctx(ctx, conf)) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot set the session id context "
                     "for %s: %s", what, fy_tls_error());
        return FY_ERROR;
    }
    return FY_OK;
}

static int
fy_tls_srv_cache(fy_pool_t *pool, SSL_CTX *ctx, fy_tls_conf_t *conf)
{
    fy_tls_zone_t  *zone;

    if (conf->cache & FY_TLS_CACHE_OFF) {
        /* the server says so: an empty session id, nothing resumes
         * but tickets */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
        return FY_OK;
    }
    if (conf->cache & FY_TLS_CACHE_SHARED) {
        zone = fy_tls_cache_zone(pool, conf->cache_name, conf->cache_size);
        if (zone == NULL) {
            return FY_ERROR;
        }
        fy_tls_cache_attach(ctx, zone,
                            (conf->cache & FY_TLS_CACHE_BUILTIN) != 0);
    } else if (conf->cache & FY_TLS_CACHE_BUILTIN) {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
    } else {
        /* none: session ids are given, never stored, never found */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER
                                            | SSL_SESS_CACHE_NO_INTERNAL);
        return FY_OK;
    }
    SSL_CTX_sess_set_cache_size(ctx, conf->cache_builtin);
    if (!conf->session_tickets) {
        /* TLS 1.3 without tickets: the "tickets" sent are stateful,
         * the session id of a session kept in the cache */
        SSL_CTX_set_num_tickets(ctx, 1);
    }
    return FY_OK;
}

int
fy_tls_ctx_srv(fy_pool_t *pool, fy_tls_conf_t *conf, void *data,
               const char *what)
{
    SSL_CTX  *ctx = data;

    const char  *e;

    /* "auto": OpenSSL's own list (X25519, P-256, X448, P-521, P-384) */
    if (strcmp(conf->ecdh_curve, "auto") != 0
        && SSL_CTX_set1_groups_list(ctx, conf->ecdh_curve) != 1)
    {
        e = fy_tls_error();
        fy_log_error(FY_LOG_EMERG, 0, "invalid ssl_ecdh_curve \"%s\"%s%s "
                     "in %s:%u", conf->ecdh_curve, *e ? ": " : "", e,
                     conf->ecdh_where.file, conf->ecdh_where.line);
        return FY_ERROR;
    }
    if (conf->dhparam
        && fy_tls_load_dhparam(ctx, conf->dhparam, &conf->dhparam_where)
           != FY_OK)
    {
        return FY_ERROR;
    }
    if (fy_tls_srv_verify(ctx, conf, what) != FY_OK
        || fy_tls_srv_cache(pool, ctx, conf) != FY_OK
        || fy_tls_load_stapling(pool, ctx, conf) != FY_OK
        || (conf->ocsp && fy_tls_ocsp_client_init(pool, ctx, conf) != FY_OK)
        || fy_tls_early_ctx(ctx, conf, what) != FY_OK)
    {
        return FY_ERROR;
    }
    /* last, so that they override what the directives set (nginx) */
    return fy_tls_conf_commands(ctx, conf->conf_commands, 0);
}
