/*
 * fy_stream_ssl.c -- TLS termination in the stream block (nginx's
 * ngx_stream_ssl_module): "listen ... ssl", the ssl_* directives, the
 * handshake of a session and the $ssl_* variables.
 *
 * Everything TLS itself is src/tls's, shared with http: the setters of
 * the directives (fy_tls_conf.c), the context with its certificates,
 * session cache and tickets (fy_tls_ctx_create), the handshake step
 * and the I/O wrappers the relay reads and writes through
 * (fy_conn_recv / fy_conn_send in fy_tls.c).  Contexts are built by
 * the master, so every worker has the same ones and a ticket or a
 * shared-cache session made by one worker resumes on any other.
 *
 * The handshake is nginx's ssl phase: after limit_conn and the access
 * rules, before the preread phase and the connect.  Its end checks the
 * client certificate (ssl_verify_client: the verdict and the
 * $ssl_client_* values are src/tls/fy_tls_cert.c's, as for http) and
 * closes a session that fails, as nginx's stream does (status 500).
 * ssl_alpn makes the server take part in ALPN.  A ClientHello callback
 * lets the SNI choose among the servers of the address (server_name)
 * and refuses the handshakes of a server with ssl_reject_handshake.
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_tls_cache.h"

#include <openssl/ssl.h>

static const char *fy_stream_ssl_alpn(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

/* ssl_certificate with variables: every variable of the session may be
 * used (nginx's stream has the session then, as here); those of the
 * later phases are still empty. */
static void *
fy_stream_ssl_cert_compile(fy_conf_t *cf, const fy_str_t *text)
{
    return fy_stream_cv_compile(cf, text);
}

static size_t
fy_stream_ssl_cert_eval(fy_conn_t *c, const void *cv, u_char *buf,
                        size_t size)
{
    /* cut at size: a value longer than fy_tls_certvar.c's 64k is then
     * an incomplete PEM text or a file name that is not there */
    return fy_stream_cv_eval(c->data, cv, buf, size);
}

static const fy_tls_values_t  fy_stream_ssl_cert_values = {
    fy_stream_ssl_cert_compile,
    fy_stream_ssl_cert_eval
};

#define FY_STREAM_SSL_CTX  (FY_CONF_STREAM | FY_CONF_STREAM_SRV)
#define FY_STREAM_TLS      offsetof(fy_stream_srv_conf_t, tls)
#define FY_STREAM_TLS_OFF(f)  offsetof(fy_stream_srv_conf_t, tls.f)

const fy_command_t  fy_stream_ssl_commands[] = {

    /* with variables: loaded at each handshake (src/tls/fy_tls_certvar.c),
     * the session's variables evaluated */
    { "ssl_certificate", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_file,
      FY_CONF_SRV_OFF, FY_STREAM_TLS, &fy_stream_ssl_cert_values },

    { "ssl_certificate_key", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_file, FY_CONF_SRV_OFF, FY_STREAM_TLS,
      &fy_stream_ssl_cert_values },

    { "ssl_certificate_cache", FY_STREAM_SSL_CTX, 0, 1, 3,
      fy_tls_conf_set_cert_cache, FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_protocols", FY_STREAM_SSL_CTX, 0, 1, 4,
      fy_tls_conf_set_protocols, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(protocols), NULL },

    { "ssl_ciphers", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_ciphers,
      FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_prefer_server_ciphers", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(prefer_server_ciphers), NULL },

    { "ssl_session_cache", FY_STREAM_SSL_CTX, 0, 1, 2,
      fy_tls_conf_set_session_cache, FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_session_timeout", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(session_timeout), NULL },

    { "ssl_session_tickets", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(session_tickets), NULL },

    /* one key list for the block, as http's */
    { "ssl_session_ticket_key", FY_CONF_STREAM, 0, 1, 1,
      fy_tls_conf_set_ticket_key, FY_CONF_MAIN_OFF,
      offsetof(fy_stream_main_conf_t, tickets), NULL },

    { "ssl_handshake_timeout", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, ssl_handshake_timeout),
      NULL },

    /* client certificates: http's setters on the same fields */
    { "ssl_verify_client", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_mode, FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(verify),
      fy_tls_verify_modes },

    { "ssl_verify_depth", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(verify_depth),
      &fy_tls_depth_bounds },

    { "ssl_client_certificate", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_where_str, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(client_cert), NULL },

    { "ssl_trusted_certificate", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_where_str, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(trusted_cert), NULL },

    { "ssl_crl", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(crl), NULL },

    { "ssl_reject_handshake", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(reject_handshake), NULL },

    /* more of the context, as http's */
    { "ssl_ecdh_curve", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(ecdh_curve), NULL },

    { "ssl_dhparam", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_where_str,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(dhparam), NULL },

    { "ssl_password_file", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_password_file, FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_conf_command", FY_STREAM_SSL_CTX, 0, 2, 2,
      fy_tls_conf_set_conf_command, FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    /* OCSP stapling as http's (src/tls/fy_tls_ocsp.c, fy_tls_load.c) */
    { "ssl_stapling", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_stapling,
      FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_stapling_file", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_where_str, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(stapling_file), NULL },

    { "ssl_stapling_verify", FY_STREAM_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(stapling_verify), NULL },

    { "ssl_stapling_responder", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_responder, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(stapling_responder), NULL },

    /* client certificates checked with OCSP, as http's
     * (src/tls/fy_tls_ocsp_client.c; nginx 1.27.2) */
    { "ssl_ocsp", FY_STREAM_SSL_CTX, 0, 1, 1, fy_tls_conf_set_mode,
      FY_CONF_SRV_OFF, FY_STREAM_TLS_OFF(ocsp), fy_tls_ocsp_modes },

    { "ssl_ocsp_responder", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_responder, FY_CONF_SRV_OFF,
      FY_STREAM_TLS_OFF(ocsp_responder), NULL },

    { "ssl_ocsp_cache", FY_STREAM_SSL_CTX, 0, 1, 1,
      fy_tls_conf_set_ocsp_cache, FY_CONF_SRV_OFF, FY_STREAM_TLS, NULL },

    { "ssl_alpn", FY_STREAM_SSL_CTX, 0, 1, FY_CONF_MANY, fy_stream_ssl_alpn,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, alpn), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* ssl_alpn PROTOCOL ...: kept in ALPN's wire form (a length byte
 * before each name), the list the server prefers in that order. */
static const char *
fy_stream_ssl_alpn(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_str_t  *alpn = (fy_str_t *) ((char *) conf + cmd->offset);
    size_t     len = 0;
    unsigned   i;
    u_char    *p;

    if (alpn->data) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        if (cf->args[i].len == 0 || cf->args[i].len > 255) {
            fy_conf_error(cf, "invalid ALPN protocol \"%s\" in \"ssl_alpn\" "
                          "(1 to 255 bytes)", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        len += 1 + cf->args[i].len;
    }
    p = fy_palloc(cf->pool, len);
    if (p == NULL) {
        return "cannot allocate memory";
    }
    alpn->data = p;
    alpn->len = len;
    for (i = 1; i < cf->nargs; i++) {
        *p++ = (u_char) cf->args[i].len;
        memcpy(p, cf->args[i].data, cf->args[i].len);
        p += cf->args[i].len;
    }
    return FY_CONF_OK;
}

/* ssl_alpn: the first of the server's protocols the client offers; a
 * client that offers none of them gets no_application_protocol (a
 * client without ALPN is not asked). */
static int
fy_stream_ssl_alpn_select(SSL *ssl, const unsigned char **out,
                          unsigned char *outlen, const unsigned char *in,
                          unsigned int inlen, void *arg)
{
    fy_stream_srv_conf_t  *scf = arg;
    unsigned char         *sel;

    fy_unused(ssl);
    if (SSL_select_next_proto(&sel, outlen, scf->alpn.data,
                              (unsigned) scf->alpn.len, in, inlen)
        != OPENSSL_NPN_NEGOTIATED)
    {
        return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    *out = sel;
    return SSL_TLSEXT_ERR_OK;
}

/*
 * The ClientHello: with server_name, the server the client names (SNI)
 * among those of the address becomes the session's, and the
 * connection moves to its context (certificate, client verification);
 * no name, or an unknown one: the default server's.  Then
 * ssl_reject_handshake on refuses it with nginx's unrecognized_name
 * alert (the session ends with status 500).
 */
static int
fy_stream_ssl_hello(SSL *ssl, int *alert, void *arg)
{
    fy_conn_t            *c = SSL_get_app_data(ssl);
    fy_stream_session_t  *s;
    u_char                lower[256];
    fy_str_t              host;

    fy_unused(arg);
    if (c == NULL) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    s = c->data;
    if (fy_tls_sni_name(ssl, lower, sizeof(lower), &host) == FY_OK
        && fy_stream_virtual(s, &host) != FY_OK)
    {
        *alert = SSL_AD_INTERNAL_ERROR;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (s->scf->tls.reject_handshake) {
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    c->tls_buffer = (uint32_t) s->scf->tls.buffer_size;
    fy_tls_sni_switch(ssl, &s->scf->tls);
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The first "listen ... ssl" of scf, or NULL. */
static fy_stream_listen_t *
fy_stream_ssl_listen(fy_stream_srv_conf_t *scf)
{
    fy_stream_listen_t  *l;
    unsigned             i;

    for (i = 0; i < scf->listens.nelts; i++) {
        l = fy_array_elt(&scf->listens, fy_stream_listen_t, i);
        if (l->ssl) {
            return l;
        }
    }
    return NULL;
}

/* One name, one size: server n's shared session cache against the
 * stream servers before it (as http checks its own servers). */
static int
fy_stream_ssl_cache_conflict(fy_stream_main_conf_t *smcf, unsigned n)
{
    fy_tls_conf_t  *t, *o;
    unsigned        i;

    t = &(*fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, n))->tls;
    for (i = 0; i < n; i++) {
        o = &(*fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i))->tls;
        if (fy_tls_conf_cache_conflict(t, o) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

int
fy_stream_ssl_init_cycle(fy_cycle_t *cycle)
{
    fy_stream_main_conf_t  *smcf = cycle->stream;
    fy_stream_srv_conf_t   *scf;
    fy_stream_listen_t     *l;
    char                    what[160];
    unsigned                i;
    int                     tickets_loaded = 0;

    for (i = 0; i < smcf->servers.nelts; i++) {
        scf = *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i);
        if (fy_stream_ssl_cache_conflict(smcf, i) != FY_OK) {
            return FY_ERROR;
        }
        l = fy_stream_ssl_listen(scf);
        if (l == NULL) {
            continue;
        }
        /* nginx's message, at the listen's line; a server that
         * refuses every handshake needs no certificate */
        if (scf->tls.certs.nelts == 0 && !scf->tls.reject_handshake) {
            fy_log_error(FY_LOG_EMERG, 0, "no \"ssl_certificate\" is "
                         "defined for the \"listen ... ssl\" directive in "
                         "%s:%u", scf->file, l->line);
            return FY_ERROR;
        }
        if (!tickets_loaded) {
            if (fy_tls_tickets_load(&smcf->tickets) != FY_OK) {
                return FY_ERROR;
            }
            tickets_loaded = 1;
        }
        snprintf(what, sizeof(what), "the stream server in %s:%u",
                 scf->file, scf->line);
        scf->tls.resolver = scf->resolver;
        scf->tls.resolver_timeout = scf->resolver_timeout;
        if (fy_tls_ctx_create(cycle->pool, &scf->tls, &smcf->tickets, what)
            != FY_OK)
        {
            return FY_ERROR;
        }
        /* http's context answers ALPN with http/1.1 only and refuses
         * clients that offer other protocols; a stream relays whatever
         * protocol it carries, so it takes part in no ALPN (nginx's
         * stream without ssl_alpn); with ssl_alpn, in its own */
        SSL_CTX_set_alpn_select_cb((SSL_CTX *) scf->tls.ctx,
                                   scf->alpn.len ? fy_stream_ssl_alpn_select
                                                 : NULL,
                                   scf->alpn.len ? scf : NULL);
        SSL_CTX_set_client_hello_cb((SSL_CTX *) scf->tls.ctx,
                                    fy_stream_ssl_hello, NULL);
    }
    return FY_OK;
}

static void fy_stream_ssl_handler(fy_event_t *ev);
static void fy_stream_ssl_ocsp_wait(fy_event_t *ev);

/* The ssl phase: on a "listen ... ssl" the handshake, within
 * ssl_handshake_timeout; other sessions go on at once. */
void
fy_stream_ssl_handshake(fy_stream_session_t *s)
{
    fy_stream_listen_t  *l = s->ls->stream_listen;
    fy_conn_t           *c = s->c;

    if (l == NULL || !l->ssl) {
        fy_stream_after_ssl(s);
        return;
    }
    if (fy_tls_conn_create(c, s->scf->tls.ctx) != FY_OK) {
        fy_stream_finalize(s, 500);
        return;
    }
    c->tls_buffer = (uint32_t) s->scf->tls.buffer_size;
    c->read.handler = fy_stream_ssl_handler;
    c->write.handler = fy_stream_ssl_handler;
    fy_timer_add(&c->read, (uint64_t) s->scf->ssl_handshake_timeout);
    fy_stream_ssl_handler(&c->read);
}

/* The handshake done (and, with ssl_ocsp, the responder's answer in):
 * ssl_verify_client's verdict, then the next phase. */
static void
fy_stream_ssl_verified(fy_stream_session_t *s)
{
    fy_conn_t  *c = s->c;
    char        who[384];

    fy_timer_del(&c->read);
    c->read.handler = fy_event_ignore;
    c->write.handler = fy_event_ignore;
    snprintf(who, sizeof(who), "client: %s, server: %s", s->addr_text,
             s->ls->text);
    if (s->scf->tls.verify != FY_TLS_VERIFY_OFF
        && fy_tls_verify_client(c, s->scf->tls.verify, who)
           != FY_TLS_CLIENT_OK)
    {
        /* as nginx: the session is not resumed later either */
        SSL_CTX_remove_session(SSL_get_SSL_CTX(c->ssl),
                               SSL_get0_session(c->ssl));
        fy_stream_finalize(s, 500);
        return;
    }
    fy_stream_after_ssl(s);
}

static void
fy_stream_ssl_ocsp_done(fy_conn_t *c)
{
    fy_stream_ssl_verified(c->data);
}

static void
fy_stream_ssl_handler(fy_event_t *ev)
{
    fy_conn_t            *c = ev->data;
    fy_stream_session_t  *s = c->data;
    char                  who[384];
    int                   rc;

    if (c->read.timedout) {
        c->read.timedout = 0;
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while SSL "
                     "handshaking, client: %s, server: %s", s->addr_text,
                     s->ls->text);
        fy_stream_finalize(s, 500);
        return;
    }
    snprintf(who, sizeof(who), "client: %s, server: %s", s->addr_text,
             s->ls->text);
    rc = fy_tls_handshake(c, who);
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        /* logged at info by fy_tls_handshake, as nginx logs a client's
         * failed handshake (plain text on the TLS port, say); the
         * access log has the session with $status 500 */
        fy_stream_finalize(s, 500);
        return;
    }
    /* ssl_ocsp: on once the responder has answered (nginx), within
     * ssl_handshake_timeout still */
    rc = fy_tls_ocsp_validate(c, fy_stream_ssl_ocsp_done, who);
    if (rc == FY_AGAIN) {
        c->read.handler = fy_stream_ssl_ocsp_wait;
        c->write.handler = fy_stream_ssl_ocsp_wait;
        return;
    }
    if (rc != FY_OK) {
        fy_stream_finalize(s, 500);
        return;
    }
    fy_stream_ssl_verified(s);
}

/* While the responder is asked: only the timeout matters (the
 * handler's first check). */
static void
fy_stream_ssl_ocsp_wait(fy_event_t *ev)
{
    fy_conn_t  *c = ev->data;

    if (c->read.timedout) {
        fy_stream_ssl_handler(ev);
    }
}

static size_t
fy_stream_ssl_copy(u_char *buf, size_t size, const char *v)
{
    size_t  len = v ? strlen(v) : 0;

    len = fy_min(len, size);
    if (len) {
        memcpy(buf, v, len);
    }
    return len;
}

size_t
fy_stream_ssl_var(fy_stream_session_t *s, int var, u_char *buf, size_t size)
{
    static const unsigned  cert[] = {
        [FY_STREAM_VAR_SSL_CLIENT_VERIFY - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_VERIFY,
        [FY_STREAM_VAR_SSL_CLIENT_S_DN - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_S_DN,
        [FY_STREAM_VAR_SSL_CLIENT_I_DN - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_I_DN,
        [FY_STREAM_VAR_SSL_CLIENT_SERIAL - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_SERIAL,
        [FY_STREAM_VAR_SSL_CLIENT_FINGERPRINT
         - FY_STREAM_VAR_SSL_CLIENT_VERIFY] = FY_TLS_CERT_FINGERPRINT,
        [FY_STREAM_VAR_SSL_CLIENT_RAW_CERT - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_RAW,
        [FY_STREAM_VAR_SSL_CLIENT_CERT - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_CERT,
        [FY_STREAM_VAR_SSL_CLIENT_ESCAPED_CERT
         - FY_STREAM_VAR_SSL_CLIENT_VERIFY] = FY_TLS_CERT_ESCAPED,
        [FY_STREAM_VAR_SSL_CLIENT_S_DN_LEGACY
         - FY_STREAM_VAR_SSL_CLIENT_VERIFY] = FY_TLS_CERT_S_DN_LEGACY,
        [FY_STREAM_VAR_SSL_CLIENT_I_DN_LEGACY
         - FY_STREAM_VAR_SSL_CLIENT_VERIFY] = FY_TLS_CERT_I_DN_LEGACY,
        [FY_STREAM_VAR_SSL_CLIENT_V_START - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_V_START,
        [FY_STREAM_VAR_SSL_CLIENT_V_END - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_V_END,
        [FY_STREAM_VAR_SSL_CLIENT_V_REMAIN - FY_STREAM_VAR_SSL_CLIENT_VERIFY]
            = FY_TLS_CERT_V_REMAIN,
    };
    unsigned              what;
    size_t                n;

    switch (var) {
    case FY_STREAM_VAR_SSL_PROTOCOL:
        what = FY_TLS_VAR_PROTOCOL;
        break;
    case FY_STREAM_VAR_SSL_CIPHER:
        what = FY_TLS_VAR_CIPHER;
        break;
    case FY_STREAM_VAR_SSL_SERVER_NAME:
        what = FY_TLS_VAR_SERVER_NAME;
        break;
    case FY_STREAM_VAR_SSL_SESSION_REUSED:
        what = FY_TLS_VAR_SESSION_REUSED;
        break;
    case FY_STREAM_VAR_SSL_ALPN_PROTOCOL:
        n = fy_tls_info_var(s->c, FY_TLS_INFO_ALPN, buf, size);
        return fy_min(n, size);
    case FY_STREAM_VAR_SSL_CIPHERS:
    case FY_STREAM_VAR_SSL_CURVE:
    case FY_STREAM_VAR_SSL_CURVES:
    case FY_STREAM_VAR_SSL_SESSION_ID:
        /* the whole length, as below; what fits is the value */
        n = fy_tls_info_var(s->c, FY_TLS_INFO_CIPHERS
                                  + (unsigned) (var
                                                - FY_STREAM_VAR_SSL_CIPHERS),
                            buf, size);
        return fy_min(n, size);
    default:
        /* $ssl_client_*: fy_tls_cert_var gives the whole value's
         * length; the part that fits in buf is the value here */
        n = fy_tls_cert_var(s->c, cert[var - FY_STREAM_VAR_SSL_CLIENT_VERIFY],
                            buf, size);
        return fy_min(n, size);
    }
    return fy_stream_ssl_copy(buf, size, fy_tls_var(s->c, what));
}
