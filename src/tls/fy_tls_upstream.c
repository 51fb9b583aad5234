/*
 * fy_tls_upstream.c -- TLS client side, for upstream servers (see
 * fy_tls_upstream.h).
 *
 * Contexts are built by the master when it loads a configuration, one
 * per distinct set of proxy_ssl_* (or uwsgi_ssl_*) settings, so a bad
 * file is a configuration error before anything runs.  Sessions are per worker:
 * OpenSSL hands each new one (TLS 1.3 tickets arrive after the
 * handshake, while the response is read) to fy_tls_up_new_session,
 * which keeps the newest per upstream server, as nginx does.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_tls_upstream.h"
#include "fy_log.h"

#include <arpa/inet.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

/* SSL ex_data: the fy_tls_up_session_t new sessions go to, and the
 * name the connection was made for (a copy, freed with the SSL) */
static int  fy_tls_up_slot_index = -1;
static int  fy_tls_up_name_index = -1;

void
fy_tls_up_conf_init(fy_tls_up_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->verify = -1;
    conf->verify_depth = -1;
    conf->server_name = -1;
    conf->session_reuse = -1;
}

#define fy_up_merge(f, unset, dflt)                                        \
    if (conf->f == (unset)) {                                              \
        conf->f = (prev && prev->f != (unset)) ? prev->f : (dflt);         \
    }

void
fy_tls_up_conf_merge(const fy_tls_up_conf_t *prev, fy_tls_up_conf_t *conf)
{
    fy_up_merge(verify, -1, 0);
    fy_up_merge(verify_depth, -1, 1);
    fy_up_merge(server_name, -1, 0);
    fy_up_merge(session_reuse, -1, 1);
    fy_up_merge(protocols, 0, FY_TLS_V1_2 | FY_TLS_V1_3);
    if (conf->ciphers.value == NULL) {
        if (prev && prev->ciphers.value) {
            conf->ciphers = prev->ciphers;
        } else {
            conf->ciphers.value = "DEFAULT";
        }
    }
    if (prev && conf->verify_file == NULL) {
        conf->verify_file = prev->verify_file;
        conf->verify_line = prev->verify_line;
    }
    if (prev && conf->trusted.value == NULL) {
        conf->trusted = prev->trusted;
    }
    if (prev && conf->crl.value == NULL) {
        conf->crl = prev->crl;
    }
    if (prev && conf->passwords == NULL) {
        conf->passwords = prev->passwords;
    }
    if (prev && conf->conf_commands == NULL) {
        conf->conf_commands = prev->conf_commands;   /* all or none */
    }
    /* the certificate and its key go together: a level that names
     * either takes neither from its parent */
    if (prev && conf->cert.value == NULL && conf->key.value == NULL) {
        conf->cert = prev->cert;
        conf->key = prev->key;
    }
}

#undef fy_up_merge

static int
fy_tls_up_str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

int
fy_tls_up_conf_same(const fy_tls_up_conf_t *a, const fy_tls_up_conf_t *b)
{
    return a->verify == b->verify && a->verify_depth == b->verify_depth
           && a->session_reuse == b->session_reuse
           && a->protocols == b->protocols
           && fy_tls_up_str_eq(a->ciphers.value, b->ciphers.value)
           && fy_tls_up_str_eq(a->trusted.value, b->trusted.value)
           && fy_tls_up_str_eq(a->cert.value, b->cert.value)
           && fy_tls_up_str_eq(a->key.value, b->key.value)
           && fy_tls_up_str_eq(a->crl.value, b->crl.value)
           && a->passwords == b->passwords
           && a->conf_commands == b->conf_commands;
    /* server_name is applied per connection, not to the context */
}

static void
fy_tls_up_ctx_free(void *data)
{
    SSL_CTX_free(data);
}

static void
fy_tls_up_name_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
                    long argl, void *argp)
{
    fy_unused(parent);
    fy_unused(ad);
    fy_unused(idx);
    fy_unused(argl);
    fy_unused(argp);
    free(ptr);
}

/* A new session from the server: keep it for the next connection to
 * the same server, in place of the one kept before.  Returning 1 tells
 * OpenSSL the reference is ours. */
static int
fy_tls_up_new_session(SSL *ssl, SSL_SESSION *sess)
{
    fy_tls_up_session_t  *slot = SSL_get_ex_data(ssl, fy_tls_up_slot_index);
    const char           *name = SSL_get_ex_data(ssl, fy_tls_up_name_index);
    char                 *copy;

    if (slot == NULL || name == NULL || (copy = strdup(name)) == NULL) {
        return 0;
    }
    if (slot->sess) {
        SSL_SESSION_free(slot->sess);
    }
    free(slot->name);
    slot->sess = sess;
    slot->ctx = SSL_get_SSL_CTX(ssl);
    slot->name = copy;
    return 1;
}

static void
fy_tls_up_session_drop(fy_tls_up_session_t *slot)
{
    if (slot && slot->sess) {
        SSL_SESSION_free(slot->sess);
        slot->sess = NULL;
        free(slot->name);
        slot->name = NULL;
    }
}

int
fy_tls_up_ctx_create(fy_pool_t *pool, fy_tls_up_conf_t *conf,
                     const char *what)
{
    SSL_CTX         *ctx;
    fy_tls_where_t   where;
    const char      *pf = conf->prefix ? conf->prefix : "proxy";
    char             crl_name[32];

    if (fy_tls_up_slot_index == -1) {
        fy_tls_up_slot_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                    NULL);
        fy_tls_up_name_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                    fy_tls_up_name_free);
    }

    if (conf->verify && conf->trusted.value == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "no \"%s_ssl_trusted_certificate\" "
                     "for \"%s_ssl_verify\" in %s:%u", pf, pf,
                     conf->verify_file, conf->verify_line);
        return FY_ERROR;
    }
    if ((conf->cert.value == NULL) != (conf->key.value == NULL)) {
        fy_log_error(FY_LOG_EMERG, 0, "no \"%s_ssl_certificate%s\" for "
                     "\"%s_ssl_certificate%s\" in %s:%u", pf,
                     conf->cert.value ? "_key" : "", pf,
                     conf->cert.value ? "" : "_key",
                     conf->cert.value ? conf->cert.file : conf->key.file,
                     conf->cert.value ? conf->cert.line : conf->key.line);
        return FY_ERROR;
    }

    ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL || fy_pool_cleanup_add(pool, fy_tls_up_ctx_free, ctx)
                       != FY_OK)
    {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CTX_new() failed: %s",
                     fy_tls_error());
        SSL_CTX_free(ctx);
        return FY_ERROR;
    }
    conf->ctx = ctx;

    if (conf->trusted.value
        && SSL_CTX_load_verify_locations(ctx, conf->trusted.value, NULL) != 1)
    {
        fy_log_error(FY_LOG_EMERG, 0, "cannot load %s_ssl_trusted_"
                     "certificate \"%s\": %s in %s:%u", pf, conf->trusted.value,
                     fy_tls_error(), conf->trusted.file, conf->trusted.line);
        return FY_ERROR;
    }

    if (conf->crl.value) {
        where.file = conf->crl.file;
        where.line = conf->crl.line;
        snprintf(crl_name, sizeof(crl_name), "%s_ssl_crl", pf);
        if (fy_tls_load_crl(ctx, conf->crl.value, crl_name, &where) != FY_OK)
        {
            return FY_ERROR;
        }
    }

    if (conf->cert.value) {
        if (SSL_CTX_use_certificate_chain_file(ctx, conf->cert.value) != 1) {
            fy_log_error(FY_LOG_EMERG, 0, "cannot load %s_ssl_certificate "
                         "\"%s\": %s in %s:%u", pf, conf->cert.value,
                         fy_tls_error(), conf->cert.file, conf->cert.line);
            return FY_ERROR;
        }
        if (!fy_tls_use_key(ctx, conf->key.value, conf->passwords)) {
            fy_log_error(FY_LOG_EMERG, 0, "cannot load %s_ssl_certificate_"
                         "key \"%s\" (for \"%s\"): %s in %s:%u", pf,
                         conf->key.value, conf->cert.value, fy_tls_error(),
                         conf->key.file, conf->key.line);
            return FY_ERROR;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            fy_log_error(FY_LOG_EMERG, 0, "%s_ssl_certificate_key \"%s\" "
                         "does not match %s_ssl_certificate \"%s\": %s in "
                         "%s:%u", pf, conf->key.value, pf, conf->cert.value,
                         fy_tls_error(), conf->key.file, conf->key.line);
            return FY_ERROR;
        }
    }

    if (!fy_tls_set_protocols(ctx, conf->protocols)) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot set %s_ssl_protocols for "
                     "%s: %s", pf, what, fy_tls_error());
        return FY_ERROR;
    }
    if (SSL_CTX_set_cipher_list(ctx, conf->ciphers.value) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "invalid %s_ssl_ciphers \"%s\": %s "
                     "in %s:%u", pf, conf->ciphers.value, fy_tls_error(),
                     conf->ciphers.file, conf->ciphers.line);
        return FY_ERROR;
    }

    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_read_ahead(ctx, 0);

    if (conf->verify) {
        /* the default callback: a chain or name that fails ends the
         * handshake with an alert to the server */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
        SSL_CTX_set_verify_depth(ctx, conf->verify_depth);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }

    if (conf->session_reuse) {
        /* sessions go to the callback only, which files them by server */
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT
                                            | SSL_SESS_CACHE_NO_INTERNAL_STORE);
        SSL_CTX_sess_set_new_cb(ctx, fy_tls_up_new_session);
    } else {
        SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    }
    /* last, so that they override what the directives set (nginx) */
    return fy_tls_conf_commands(ctx, conf->conf_commands, 1);
}

/* 1 if name is an IPv4 or IPv6 address: no SNI for those (RFC 6066),
 * and the certificate must hold it as an IP address, not a DNS name. */
static int
fy_tls_up_is_ip(const char *name)
{
    struct in6_addr  a;

    return inet_pton(AF_INET, name, &a) == 1
           || inet_pton(AF_INET6, name, &a) == 1;
}

int
fy_tls_up_conn_create(fy_conn_t *c, fy_tls_up_conf_t *conf, const char *name,
                      fy_tls_up_session_t *slot)
{
    SSL   *ssl;
    char  *copy;
    int    ip = fy_tls_up_is_ip(name);

    ssl = SSL_new(conf->ctx);
    copy = strdup(name);
    if (ssl == NULL || copy == NULL) {
        fy_log_error(FY_LOG_ALERT, 0, "SSL_new() failed: %s", fy_tls_error());
        SSL_free(ssl);
        free(copy);
        return FY_ERROR;
    }
    /* from here copy is freed with ssl */
    if (SSL_set_ex_data(ssl, fy_tls_up_name_index, copy) != 1) {
        free(copy);
        goto failed;
    }
    if (SSL_set_fd(ssl, c->fd) != 1) {
        goto failed;
    }
    SSL_set_app_data(ssl, c);
    SSL_set_connect_state(ssl);

    if (conf->server_name && !ip && name[0]
        && SSL_set_tlsext_host_name(ssl, name) != 1)
    {
        goto failed;
    }
    if (conf->verify) {
        if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name) != 1
               : SSL_set1_host(ssl, name) != 1)
        {
            goto failed;
        }
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    }
    if (conf->session_reuse && slot) {
        SSL_set_ex_data(ssl, fy_tls_up_slot_index, slot);
        if (slot->sess && slot->ctx == conf->ctx && slot->name
            && strcmp(slot->name, name) == 0
            && SSL_set_session(ssl, slot->sess) != 1)
        {
            ERR_clear_error();     /* then a full handshake it is */
        }
    }
    c->ssl = ssl;
    return FY_OK;

failed:
    fy_log_error(FY_LOG_ALERT, 0, "cannot start TLS to upstream \"%s\": %s",
                 name, fy_tls_error());
    SSL_free(ssl);
    return FY_ERROR;
}

int
fy_tls_up_handshake(fy_conn_t *c, char *err, size_t size)
{
    SSL         *ssl = c->ssl;
    const char  *name;
    long         v;
    int          n, e, saved;

    ERR_clear_error();
    n = SSL_do_handshake(ssl);
    if (n == 1) {
        return FY_OK;
    }
    saved = errno;
    e = SSL_get_error(ssl, n);
    if (e == SSL_ERROR_WANT_READ) {
        c->read.ready = 0;
        return FY_AGAIN;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        c->write.ready = 0;
        return FY_AGAIN;
    }

    v = SSL_get_verify_result(ssl);
    name = SSL_get_ex_data(ssl, fy_tls_up_name_index);
    if ((SSL_get_verify_mode(ssl) & SSL_VERIFY_PEER) && v != X509_V_OK) {
        if (v == X509_V_ERR_HOSTNAME_MISMATCH
            || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
        {
            snprintf(err, size, "upstream SSL certificate does not match "
                     "\"%s\"", name ? name : "");
        } else {
            snprintf(err, size, "upstream SSL certificate verify error: "
                     "(%ld:%s)", v, X509_verify_cert_error_string(v));
        }
        ERR_clear_error();
    } else if (e == SSL_ERROR_ZERO_RETURN
               || (e == SSL_ERROR_SYSCALL && saved == 0))
    {
        snprintf(err, size, "peer closed connection in SSL handshake");
        ERR_clear_error();
    } else if (e == SSL_ERROR_SYSCALL) {
        snprintf(err, size, "SSL_do_handshake() failed (%d: %s)", saved,
                 strerror(saved));
        ERR_clear_error();
    } else {
        snprintf(err, size, "SSL_do_handshake() failed (%s)", fy_tls_error());
    }

    /* whatever went wrong, the kept session is not offered again */
    fy_tls_up_session_drop(SSL_get_ex_data(ssl, fy_tls_up_slot_index));
    errno = e == SSL_ERROR_SYSCALL && saved ? saved : EPROTO;
    return FY_ERROR;
}

int
fy_tls_up_conn_matches(fy_conn_t *c, const void *ctx, const char *name)
{
    const char  *have;

    if (c->ssl == NULL || ctx == NULL) {
        return c->ssl == NULL && ctx == NULL;
    }
    have = SSL_get_ex_data(c->ssl, fy_tls_up_name_index);
    return SSL_get_SSL_CTX(c->ssl) == ctx && have && name
           && strcmp(have, name) == 0;
}

int
fy_tls_up_session_reused(fy_conn_t *c)
{
    return c->ssl && SSL_session_reused(c->ssl);
}
