/*
 * fy_tls.c -- OpenSSL server contexts, shared ticket keys, the
 * handshake and the I/O wrappers (see fy_tls.h).
 *
 * Contexts are built by the master when it loads a configuration, so
 * every worker forked from it has the same certificates and the same
 * ticket keys: a ticket issued by one worker is accepted by any other.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_log.h"
#include "fy_tls_cache.h"

#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

/* SSL_CTX ex_data: the cycle's fy_tls_tickets_t */
static int  fy_tls_ctx_index = -1;

/* The key used when no ssl_session_ticket_key file is given: made once
 * by the master, so it outlives reloads and every worker has it. */
static fy_tls_ticket_key_t  fy_tls_auto_key;
static int                  fy_tls_auto_key_set;

/* The newest OpenSSL error as text ("" if none), the queue emptied. */
const char *
fy_tls_error(void)
{
    static char    text[256];
    unsigned long  e = ERR_peek_last_error();

    text[0] = '\0';
    if (e) {
        ERR_error_string_n(e, text, sizeof(text));
    }
    ERR_clear_error();
    return text;
}

void
fy_tls_conf_init(fy_pool_t *pool, fy_tls_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    fy_array_init(&conf->certs, pool, 1, sizeof(char *));
    fy_array_init(&conf->keys, pool, 1, sizeof(char *));
    conf->prefer_server_ciphers = -1;
    conf->session_tickets = -1;
    conf->session_timeout = -1;
    fy_tls_conf_init_srv(conf);
}

void
fy_tls_tickets_init(fy_pool_t *pool, fy_tls_tickets_t *t)
{
    fy_array_init(&t->files, pool, 1, sizeof(char *));
    fy_array_init(&t->keys, pool, 1, sizeof(fy_tls_ticket_key_t));
}

void
fy_tls_conf_merge(const fy_tls_conf_t *prev, fy_tls_conf_t *conf)
{
    if (conf->certs.nelts == 0 && conf->keys.nelts == 0) {
        conf->certs = prev->certs;
        conf->keys = prev->keys;
        conf->cert_values = prev->cert_values;
        conf->key_values = prev->key_values;
        conf->values = prev->values;
        conf->conf_dir = prev->conf_dir;
        conf->file = prev->file;
        conf->line = prev->line;
    }
    if (!conf->cert_cache_set) {
        conf->cert_cache = prev->cert_cache;
    }
    if (conf->protocols == 0) {
        conf->protocols = prev->protocols ? prev->protocols
                                          : FY_TLS_V1_2 | FY_TLS_V1_3;
    }
    if (conf->ciphers == NULL) {
        conf->ciphers = prev->ciphers ? prev->ciphers : "HIGH:!aNULL:!MD5";
    }
    if (conf->prefer_server_ciphers == -1) {
        conf->prefer_server_ciphers = prev->prefer_server_ciphers == -1
                                      ? 0 : prev->prefer_server_ciphers;
    }
    if (conf->session_tickets == -1) {
        conf->session_tickets = prev->session_tickets == -1
                                ? 1 : prev->session_tickets;
    }
    if (conf->session_timeout == -1) {
        conf->session_timeout = prev->session_timeout == -1
                                ? 300000 : prev->session_timeout;
    }
    fy_tls_conf_merge_srv(prev, conf);
}

/* ---- ticket keys ---- */

static int
fy_tls_ticket_file(fy_tls_tickets_t *t, const char *path)
{
    fy_tls_ticket_key_t  *k;
    u_char                buf[81];
    ssize_t               n;
    int                   fd;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "cannot open ssl_session_ticket_key "
                     "\"%s\"", path);
        return FY_ERROR;
    }
    n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != 48 && n != 80) {
        fy_log_error(FY_LOG_EMERG, n < 0 ? errno : 0, "ssl_session_ticket_key "
                     "\"%s\" must be 48 or 80 bytes", path);
        return FY_ERROR;
    }
    k = fy_array_push(&t->keys);
    if (k == NULL) {
        return FY_ERROR;
    }
    memset(k, 0, sizeof(*k));
    /* nginx's layout: name, HMAC key, AES key */
    k->size = n == 80 ? 32 : 16;
    memcpy(k->name, buf, 16);
    memcpy(k->hmac_key, buf + 16, k->size);
    memcpy(k->aes_key, buf + 16 + k->size, k->size);
    OPENSSL_cleanse(buf, sizeof(buf));
    return FY_OK;
}

int
fy_tls_tickets_load(fy_tls_tickets_t *t)
{
    fy_tls_ticket_key_t  *k;
    unsigned              i;

    for (i = 0; i < t->files.nelts; i++) {
        if (fy_tls_ticket_file(t, *fy_array_elt(&t->files, char *, i))
            != FY_OK)
        {
            return FY_ERROR;
        }
    }
    if (t->keys.nelts) {
        return FY_OK;
    }
    if (!fy_tls_auto_key_set) {
        fy_tls_auto_key.size = 32;
        if (RAND_bytes(fy_tls_auto_key.name, 16) != 1
            || RAND_bytes(fy_tls_auto_key.hmac_key, 32) != 1
            || RAND_bytes(fy_tls_auto_key.aes_key, 32) != 1)
        {
            fy_log_error(FY_LOG_EMERG, 0, "RAND_bytes() failed: %s",
                         fy_tls_error());
            return FY_ERROR;
        }
        fy_tls_auto_key_set = 1;
    }
    k = fy_array_push(&t->keys);
    if (k == NULL) {
        return FY_ERROR;
    }
    *k = fy_tls_auto_key;
    return FY_OK;
}

static int
fy_tls_ticket_mac(EVP_MAC_CTX *hctx, fy_tls_ticket_key_t *k)
{
    OSSL_PARAM  params[3];

    params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
                                                  k->hmac_key, k->size);
    params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *) "SHA256", 0);
    params[2] = OSSL_PARAM_construct_end();
    return EVP_MAC_CTX_set_params(hctx, params);
}

/* OpenSSL's ticket callback: enc 1 makes a ticket with the first key;
 * enc 0 finds the key by name.  Returns 1 (use it), 2 (use it and
 * issue a new ticket: an older key), 0 (unknown key: full handshake),
 * -1 (failure). */
static int
fy_tls_ticket_cb(SSL *ssl, unsigned char *name, unsigned char *iv,
                 EVP_CIPHER_CTX *ectx, EVP_MAC_CTX *hctx, int enc)
{
    fy_tls_tickets_t     *t;
    fy_tls_ticket_key_t  *k;
    const EVP_CIPHER     *cipher;
    unsigned              i;

    t = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), fy_tls_ctx_index);
    if (t == NULL || t->keys.nelts == 0) {
        return enc ? -1 : 0;
    }

    if (enc) {
        k = fy_array_elt(&t->keys, fy_tls_ticket_key_t, 0);
        cipher = k->size == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
        if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(cipher)) != 1
            || EVP_EncryptInit_ex(ectx, cipher, NULL, k->aes_key, iv) != 1
            || fy_tls_ticket_mac(hctx, k) != 1)
        {
            return -1;
        }
        memcpy(name, k->name, 16);
        return 1;
    }

    for (i = 0; i < t->keys.nelts; i++) {
        k = fy_array_elt(&t->keys, fy_tls_ticket_key_t, i);
        if (memcmp(name, k->name, 16) != 0) {
            continue;
        }
        cipher = k->size == 32 ? EVP_aes_256_cbc() : EVP_aes_128_cbc();
        if (fy_tls_ticket_mac(hctx, k) != 1
            || EVP_DecryptInit_ex(ectx, cipher, NULL, k->aes_key, iv) != 1)
        {
            return -1;
        }
        return i == 0 ? 1 : 2;
    }
    return 0;
}

/* ---- contexts ---- */

static int
fy_tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    static const unsigned char  ours[] = "\x08http/1.1";
    unsigned char              *sel;

    fy_unused(ssl);
    fy_unused(arg);
    if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
    {
        return SSL_TLSEXT_ERR_ALERT_FATAL;     /* no_application_protocol */
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

static void
fy_tls_ctx_free(void *data)
{
    SSL_CTX_free(data);
}

int
fy_tls_set_protocols(void *ctx, unsigned p)
{
    static const struct { unsigned bit; int version; uint64_t no; } v[] = {
        { FY_TLS_V1,   TLS1_VERSION,   SSL_OP_NO_TLSv1 },
        { FY_TLS_V1_1, TLS1_1_VERSION, SSL_OP_NO_TLSv1_1 },
        { FY_TLS_V1_2, TLS1_2_VERSION, SSL_OP_NO_TLSv1_2 },
        { FY_TLS_V1_3, TLS1_3_VERSION, SSL_OP_NO_TLSv1_3 },
    };
    int       min = 0, max = 0;
    unsigned  i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (p & v[i].bit) {
            if (min == 0) {
                min = v[i].version;
            }
            max = v[i].version;
        }
    }
    /* a gap ("TLSv1 TLSv1.2") is closed with the old option bits */
    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        if (!(p & v[i].bit) && v[i].version > min && v[i].version < max) {
            SSL_CTX_set_options(ctx, v[i].no);
        }
    }
    return SSL_CTX_set_min_proto_version(ctx, min) == 1
           && SSL_CTX_set_max_proto_version(ctx, max) == 1;
}

#define fy_tls_is_data(name)  (strncmp(name, "data:", 5) == 0)

/* A "data:" certificate (with its chain) or key, nginx's PEM text
 * given in place of a file name, into ctx: 1, or 0 with the OpenSSL
 * error queued. */
static int
fy_tls_ctx_use_data(SSL_CTX *ctx, const char *name, int type,
                    fy_array_t *passwords)
{
    fy_tls_certobj_t  obj = { NULL, NULL, NULL };
    int               ok;

    if (!fy_tls_pem_read(name, type, passwords, &obj)) {
        return 0;
    }
    ok = type == FY_TLS_CERTCACHE_KEY
         ? SSL_CTX_use_PrivateKey(ctx, obj.key) == 1
         : SSL_CTX_use_certificate(ctx, obj.cert) == 1
           && SSL_CTX_set1_chain(ctx, (STACK_OF(X509) *) obj.chain) == 1;
    fy_tls_certobj_free(&obj);
    return ok;
}

int
fy_tls_ctx_create(fy_pool_t *pool, fy_tls_conf_t *conf,
                  fy_tls_tickets_t *tickets, const char *what)
{
    static const unsigned char  sid_ctx[] = "ferry";
    SSL_CTX                    *ctx;
    const char                 *cert, *key, *cname, *kname;
    unsigned                    i;

    if (fy_tls_ctx_index == -1) {
        fy_tls_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL,
                                                    NULL);
    }

    /* a server that refuses every handshake needs no certificate */
    if (conf->certs.nelts == 0 && !conf->reject_handshake) {
        fy_log_error(FY_LOG_EMERG, 0, "no \"ssl_certificate\" is defined "
                     "for %s", what);
        return FY_ERROR;
    }
    if (conf->keys.nelts != conf->certs.nelts) {
        fy_log_error(FY_LOG_EMERG, 0, "%u \"ssl_certificate\" but %u "
                     "\"ssl_certificate_key\" for %s in %s:%u",
                     conf->certs.nelts, conf->keys.nelts, what, conf->file,
                     conf->line);
        return FY_ERROR;
    }

    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL || fy_pool_cleanup_add(pool, fy_tls_ctx_free, ctx)
                       != FY_OK)
    {
        fy_log_error(FY_LOG_EMERG, 0, "SSL_CTX_new() failed: %s",
                     fy_tls_error());
        SSL_CTX_free(ctx);
        return FY_ERROR;
    }
    conf->ctx = ctx;

    /* names with variables: loaded at each handshake instead */
    if (conf->values) {
        if (fy_tls_certvar_init(ctx, conf, what) != FY_OK) {
            return FY_ERROR;
        }
    }
    for (i = 0; conf->values == NULL && i < conf->certs.nelts; i++) {
        cert = *fy_array_elt(&conf->certs, char *, i);
        key = *fy_array_elt(&conf->keys, char *, i);
        /* in messages, PEM text is "data:..." (nginx shows it whole) */
        cname = fy_tls_is_data(cert) ? "data:..." : cert;
        kname = fy_tls_is_data(key) ? "data:..." : key;

        /* the certificate goes to the slot of its key type (RSA,
         * ECDSA ...), its chain with it; the key must fit that slot */
        if (fy_tls_is_data(cert)
            ? !fy_tls_ctx_use_data(ctx, cert, FY_TLS_CERTCACHE_CERT, NULL)
            : SSL_CTX_use_certificate_chain_file(ctx, cert) != 1)
        {
            fy_log_error(FY_LOG_EMERG, 0, "cannot load certificate \"%s\": "
                         "%s in %s:%u", cname, fy_tls_error(), conf->file,
                         conf->line);
            return FY_ERROR;
        }
        fy_tls_ocsp_name(ctx, cname);
        if (fy_tls_is_data(key)
            ? !fy_tls_ctx_use_data(ctx, key, FY_TLS_CERTCACHE_KEY,
                                   conf->passwords)
            : !fy_tls_use_key(ctx, key, conf->passwords))
        {
            fy_log_error(FY_LOG_EMERG, 0, "cannot load certificate key "
                         "\"%s\" (for \"%s\"): %s in %s:%u", kname, cname,
                         fy_tls_error(), conf->file, conf->line);
            return FY_ERROR;
        }
        if (SSL_CTX_check_private_key(ctx) != 1) {
            fy_log_error(FY_LOG_EMERG, 0, "certificate key \"%s\" does not "
                         "match certificate \"%s\": %s in %s:%u", kname,
                         cname, fy_tls_error(), conf->file, conf->line);
            return FY_ERROR;
        }
    }

    if (!fy_tls_set_protocols(ctx, conf->protocols)) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot set ssl_protocols for %s: %s",
                     what, fy_tls_error());
        return FY_ERROR;
    }
    if (SSL_CTX_set_cipher_list(ctx, conf->ciphers) != 1) {
        fy_log_error(FY_LOG_EMERG, 0, "invalid ssl_ciphers \"%s\" for %s: %s",
                     conf->ciphers, what, fy_tls_error());
        return FY_ERROR;
    }

    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION
                             | SSL_OP_NO_COMPRESSION
                             | SSL_OP_IGNORE_UNEXPECTED_EOF);
    if (conf->prefer_server_ciphers) {
        SSL_CTX_set_options(ctx, SSL_OP_CIPHER_SERVER_PREFERENCE);
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER
                          | SSL_MODE_RELEASE_BUFFERS);
    /* Read-ahead: OpenSSL asks the socket for a whole buffer instead of
     * a record header and then its body, so one read() usually brings
     * a request; fy_tls_bio_cb tells fy_conn_recv when that read came
     * back short, i.e. the socket is dry (docs/tls.md). */
    SSL_CTX_set_read_ahead(ctx, 1);

    /* Resumption is by tickets only: no per-process session cache,
     * whose sessions another worker could not find. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_timeout(ctx, (long) (conf->session_timeout / 1000));
    /* the keys are there even with tickets off: OpenSSL calls the
     * callback of the context a connection started with, and SNI may
     * have moved it to this one */
    SSL_CTX_set_ex_data(ctx, fy_tls_ctx_index, tickets);
    if (conf->session_tickets) {
        SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, fy_tls_ticket_cb);
    } else {
        SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
        SSL_CTX_set_num_tickets(ctx, 0);
    }

    SSL_CTX_set_alpn_select_cb(ctx, fy_tls_alpn_select, NULL);
    return fy_tls_ctx_srv(pool, conf, ctx, what);
}

/* ---- connections ---- */

/* Called by OpenSSL around every operation on a client connection's
 * socket BIO.  With read-ahead each read asks for all the room left in
 * OpenSSL's buffer, so one that returns less, or nothing, has emptied
 * the socket: what comes later raises a new edge-triggered event. */
static long
fy_tls_bio_cb(BIO *b, int oper, const char *argp, size_t len, int argi,
              long argl, int ret, size_t *processed)
{
    fy_conn_t  *c;

    fy_unused(argp);
    fy_unused(argi);
    fy_unused(argl);

    if (oper == (BIO_CB_READ | BIO_CB_RETURN)) {
        c = (fy_conn_t *) BIO_get_callback_arg(b);
        if (ret <= 0 || processed == NULL || *processed < len) {
            c->tls_drained = 1;
        }
    }
    return ret;
}

int
fy_tls_conn_create(fy_conn_t *c, void *ctx)
{
    SSL  *ssl = SSL_new(ctx);
    BIO  *rbio;

    if (ssl == NULL) {
        fy_log_error(FY_LOG_ALERT, 0, "SSL_new() failed: %s", fy_tls_error());
        return FY_ERROR;
    }
    if (SSL_set_fd(ssl, c->fd) != 1) {
        fy_log_error(FY_LOG_ALERT, 0, "SSL_set_fd() failed: %s",
                     fy_tls_error());
        SSL_free(ssl);
        return FY_ERROR;
    }
    SSL_set_app_data(ssl, c);
    rbio = SSL_get_rbio(ssl);
    BIO_set_callback_arg(rbio, (char *) c);
    BIO_set_callback_ex(rbio, fy_tls_bio_cb);
    fy_tls_cache_conn(ssl, ctx);
    SSL_set_accept_state(ssl);
    c->ssl = ssl;
    c->tls_buffer = FY_TLS_BUFFER;
    /* ssl_early_data on the address's default server: the handshake
     * must read early data from its start (fy_tls_early.c) */
    c->tls_early_hs = SSL_get_max_early_data(ssl) > 0;
    c->tls_early = 0;
    c->tls_early_pre = 0;
    return FY_OK;
}

/* Map an SSL_* failure to FY_AGAIN (and the ready flag of the
 * direction OpenSSL waits for) or FY_ERROR (logged, errno EPROTO). */
static int
fy_tls_fail(fy_conn_t *c, int n, const char *op, const char *who)
{
    int  err = SSL_get_error(c->ssl, n);
    int  saved = errno;

    switch (err) {
    case SSL_ERROR_WANT_READ:
        c->read.ready = 0;
        return FY_AGAIN;
    case SSL_ERROR_WANT_WRITE:
        c->write.ready = 0;
        return FY_AGAIN;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        fy_log_error(FY_LOG_INFO, saved, "%s failed, %s", op, who);
        errno = saved ? saved : ECONNRESET;
        return FY_ERROR;
    default:
        fy_log_error(FY_LOG_INFO, 0, "%s failed (%s), %s", op,
                     fy_tls_error(), who);
        errno = EPROTO;
        return FY_ERROR;
    }
}

/* Who is at the other end of c, for messages: the wrappers serve
 * client connections and upstream ones (fy_tls_upstream.c). */
static const char *
fy_tls_peer(fy_conn_t *c)
{
    return SSL_is_server(c->ssl) ? "client" : "upstream";
}

/*
 * A read that OpenSSL cannot finish before it writes (reading = 1:
 * SSL_read answering a TLS 1.3 key update into a full socket), or a
 * write that must read first (reading = 0).  Both directions wait: the
 * socket said EAGAIN to the other one, and this one cannot go on.  The
 * flag makes the event loop run this direction's handler when the
 * other direction's event comes; its own may never come (the bytes it
 * waits for may be in OpenSSL's buffer already).  Returns FY_AGAIN.
 */
static ssize_t
fy_tls_want_other(fy_conn_t *c, int reading)
{
    c->read.ready = 0;
    c->write.ready = 0;
    if (reading) {
        c->read_on_write = 1;
    } else {
        c->write_on_read = 1;
    }
    return FY_AGAIN;
}

int
fy_tls_handshake(fy_conn_t *c, const char *who)
{
    const char  *op = "SSL_do_handshake()";
    int          n, rc;

    if (c->tls_early_hs) {
        /* FY_OK: early data came, HTTP starts in it; FY_DECLINED:
         * none, or rejected, an ordinary handshake follows */
        rc = fy_tls_early_handshake(c);
        if (rc == FY_OK) {
            return FY_OK;
        }
        n = 0;
        op = "SSL_read_early_data()";
        if (rc == FY_ERROR) {
            goto failed;
        }
    }
    ERR_clear_error();
    n = SSL_do_handshake(c->ssl);
    if (n == 1) {
        return FY_OK;
    }
failed:
    if (SSL_get_error(c->ssl, n) == SSL_ERROR_ZERO_RETURN) {
        errno = ECONNRESET;
        return FY_ERROR;
    }
    return fy_tls_fail(c, n, op, who);
}

void
fy_tls_conn_free(fy_conn_t *c)
{
    SSL  *ssl = c->ssl;

    if (ssl == NULL) {
        return;
    }
    if (SSL_is_init_finished(ssl)) {
        /* one try at close_notify; we do not wait for the peer's */
        SSL_set_quiet_shutdown(ssl, 0);
        ERR_clear_error();
        (void) SSL_shutdown(ssl);
        ERR_clear_error();
    }
    SSL_free(ssl);
    c->ssl = NULL;
    c->tls_early_hs = 0;
    c->tls_early = 0;
    c->tls_early_pre = 0;
}

const char *
fy_tls_var(fy_conn_t *c, unsigned what)
{
    SSL  *ssl = c->ssl;

    if (ssl == NULL) {
        return NULL;
    }
    /* the name the client asked for is known from its ClientHello on:
     * ssl_certificate with variables evaluates it during the handshake
     * (and nginx gives it after a failed one too) */
    if (what == FY_TLS_VAR_SERVER_NAME) {
        return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    }
    /* nginx: "1" while the handshake has not ended, i.e. for a request
     * that came in early data (before the client's Finished) */
    if (what == FY_TLS_VAR_EARLY_DATA) {
        return SSL_is_init_finished(ssl) ? NULL : "1";
    }
    /* nothing was agreed before the handshake ended (a session logged
     * after a failed or timed-out one) -- or before its early data,
     * which comes once the server has chosen everything */
    if (!fy_tls_agreed(c)) {
        return NULL;
    }
    switch (what) {
    case FY_TLS_VAR_PROTOCOL:
        return SSL_get_version(ssl);
    case FY_TLS_VAR_CIPHER:
        return SSL_get_cipher_name(ssl);
    default:
        /* nginx: "r" for a resumed session, "." otherwise */
        return SSL_session_reused(ssl) ? "r" : ".";
    }
}

int
fy_conn_shutdown_write(fy_conn_t *c)
{
    if (c->ssl && SSL_is_init_finished(c->ssl)) {
        /* close_notify, the TLS form of the FIN: one try; when the
         * socket has no room for it, the FIN alone still tells the
         * peer (a peer that insists on close_notify sees a truncation
         * it would also see from a client that just closes) */
        ERR_clear_error();
        (void) SSL_shutdown(c->ssl);
        ERR_clear_error();
    }
    if (shutdown(c->fd, SHUT_WR) == -1 && errno != ENOTCONN) {
        return FY_ERROR;
    }
    return FY_OK;
}

/* After a plain socket call failed with other than EINTR: EAGAIN is
 * FY_AGAIN and ends the event's readiness (ev, if given), the rest is
 * FY_ERROR with errno kept for the caller's log line. */
static ssize_t
fy_conn_sock_error(fy_event_t *ev)
{
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (ev) {
            ev->ready = 0;
        }
        return FY_AGAIN;
    }
    return FY_ERROR;
}

ssize_t
fy_conn_recv(fy_conn_t *c, u_char *buf, size_t size)
{
    size_t   got = 0, n;
    ssize_t  r;
    int      rc;

    if (c->ssl == NULL) {
        do {
            r = recv(c->fd, buf, size, 0);
        } while (r == -1 && errno == EINTR);
        if (r < 0) {
            return fy_conn_sock_error(&c->read);
        }
        if (r > 0 && (size_t) r < size && !c->read.eof) {
            /* Less than asked for: the socket is drained.  Bytes that
             * come later raise a new edge-triggered event, so no recv()
             * need be spent to hear EAGAIN -- unless the FIN came
             * along, which epoll does not report twice. */
            c->read.ready = 0;
        }
        return r;
    }

    c->read_on_write = 0;     /* a new try replaces a wait for writability */

    /* Records come one per SSL_read: go on until the buffer is full or
     * the socket is dry, so that a short read means "drained".  A
     * client connection knows the socket is dry once a read-ahead read
     * came back short and OpenSSL holds nothing more (fy_tls_bio_cb);
     * others find out from SSL_ERROR_WANT_READ. */
    c->tls_drained = 0;
    while (got < size) {
        ERR_clear_error();
        rc = c->tls_early ? fy_tls_early_read(c, buf + got, size - got, &n)
                          : SSL_read_ex(c->ssl, buf + got, size - got, &n);
        if (rc == 2) {
            /* the early data has ended; what follows (the client's
             * Finished, then data) is read by SSL_read.  The bytes
             * read so far are given first, as read in early data: the
             * handshake is still unfinished while they are handled
             * ($ssl_early_data), and `ready` stays set for the rest */
            if (got) {
                return (ssize_t) got;
            }
            continue;
        }
        if (rc == 1) {
            got += n;
            if (SSL_has_pending(c->ssl)) {
                continue;
            }
            if (c->tls_drained && !c->read.eof) {
                c->read.ready = 0;
                break;
            }
            if (c->tls_early) {
                /* Early data stops before the socket is read again:
                 * its next bytes may be the client's Finished, which
                 * would end the handshake before the request read so
                 * far is handled ($ssl_early_data "1" tells a backend
                 * that it may be a replay).  `ready` stays set. */
                break;
            }
            continue;
        }
        rc = SSL_get_error(c->ssl, 0);
        if (rc == SSL_ERROR_ZERO_RETURN) {
            c->read.eof = 1;
            return (ssize_t) got;     /* 0 if nothing came before it */
        }
        if (got) {
            /* give what we have; the error shows again next time */
            if (rc == SSL_ERROR_WANT_READ) {
                c->read.ready = 0;
            } else if (rc == SSL_ERROR_WANT_WRITE) {
                fy_tls_want_other(c, 1);
            }
            ERR_clear_error();
            return (ssize_t) got;
        }
        if (rc == SSL_ERROR_WANT_WRITE) {
            ERR_clear_error();
            return fy_tls_want_other(c, 1);
        }
        return fy_tls_fail(c, 0, "SSL_read()", fy_tls_peer(c));
    }
    return (ssize_t) got;
}

ssize_t
fy_conn_peek(fy_conn_t *c, u_char *buf, size_t size)
{
    size_t   n;
    ssize_t  r;
    int      rc;

    if (c->ssl == NULL) {
        do {
            r = recv(c->fd, buf, size, MSG_PEEK);
        } while (r == -1 && errno == EINTR);
        return r >= 0 ? r : fy_conn_sock_error(NULL);
    }
    if (c->tls_early) {
        return FY_AGAIN;          /* SSL_peek refuses during early data */
    }
    ERR_clear_error();
    if (SSL_peek_ex(c->ssl, buf, size, &n) == 1) {
        return (ssize_t) n;
    }
    rc = SSL_get_error(c->ssl, 0);
    ERR_clear_error();
    if (rc == SSL_ERROR_ZERO_RETURN) {
        return 0;
    }
    if (rc == SSL_ERROR_WANT_READ || rc == SSL_ERROR_WANT_WRITE) {
        return FY_AGAIN;
    }
    return FY_ERROR;
}

ssize_t
fy_conn_send(fy_conn_t *c, const u_char *buf, size_t size)
{
    size_t   n;
    ssize_t  r;

    if (c->ssl == NULL) {
        do {
            r = send(c->fd, buf, size, MSG_NOSIGNAL);
        } while (r == -1 && errno == EINTR);
        return r >= 0 ? r : fy_conn_sock_error(&c->write);
    }
    if (size == 0) {
        return 0;
    }
    /* one record of at most ssl_buffer_size bytes per call, as nginx
     * writes its buffer; callers write again until FY_AGAIN */
    if (size > c->tls_buffer) {
        size = c->tls_buffer;
    }
    c->write_on_read = 0;
    ERR_clear_error();
    /* before the client's EndOfEarlyData, SSL_write refuses: the
     * answer to a request in early data goes out before the handshake
     * ends (0.5-RTT data, as nginx) */
    if (c->tls_early ? SSL_write_early_data(c->ssl, buf, size, &n) == 1
                     : SSL_write_ex(c->ssl, buf, size, &n) == 1)
    {
        return (ssize_t) n;
    }
    if (SSL_get_error(c->ssl, 0) == SSL_ERROR_WANT_READ) {
        ERR_clear_error();
        return fy_tls_want_other(c, 0);
    }
    return fy_tls_fail(c, 0, "SSL_write()", fy_tls_peer(c));
}

/* Where fy_conn_writev gathers pieces to write them in one call. */
static u_char  fy_conn_gather_buf[16384];

/* Copy the iovecs into fy_conn_gather_buf, at most max bytes (the last
 * piece cut short); returns the bytes copied. */
static size_t
fy_conn_gather(const struct iovec *iov, int cnt, size_t max)
{
    size_t  len = 0, k;
    int     i;

    for (i = 0; i < cnt && len < max; i++) {
        k = fy_min(iov[i].iov_len, max - len);
        if (k) {
            memcpy(fy_conn_gather_buf + len, iov[i].iov_base, k);
        }
        len += k;
    }
    return len;
}

ssize_t
fy_conn_writev(fy_conn_t *c, const struct iovec *iov, int cnt)
{
    size_t   len = 0;
    ssize_t  r;
    int      i;

    _Static_assert(FY_CONN_GATHER <= sizeof(fy_conn_gather_buf),
                   "gather buffer");

    if (cnt == 1) {
        return fy_conn_send(c, iov[0].iov_base, iov[0].iov_len);
    }

    if (c->ssl) {
        /* Small pieces are gathered into one record instead of one
         * record each (a response header and the start of its body).
         * A retry after WANT_WRITE gathers the same bytes again (the
         * caller only advances its iovecs by what was written), as
         * SSL_write requires. */
        len = fy_min(sizeof(fy_conn_gather_buf), (size_t) c->tls_buffer);
        if (iov[0].iov_len >= len) {
            return fy_conn_send(c, iov[0].iov_base, iov[0].iov_len);
        }
        len = fy_conn_gather(iov, cnt, len);
        return fy_conn_send(c, fy_conn_gather_buf, len);
    }

    /* Plain: one piece (above), or pieces that add up to little (a
     * response header and a small body), go out with send(): writev()
     * costs the kernel its VFS layer and an iovec array copied in and
     * checked, about 3% of the CPU of a proxied keep-alive request,
     * more than copying up to 8 KiB here (docs/performance.md).  The
     * same bytes in the same order: a partial write is the prefix
     * writev() would have written. */
    for (i = 0; i < cnt && len <= FY_CONN_GATHER; i++) {
        len += iov[i].iov_len;
    }
    if (len <= FY_CONN_GATHER) {
        len = fy_conn_gather(iov, cnt, len);
        return fy_conn_send(c, fy_conn_gather_buf, len);
    }
    do {
        r = writev(c->fd, iov, cnt);
    } while (r == -1 && errno == EINTR);
    return r >= 0 ? r : fy_conn_sock_error(&c->write);
}
