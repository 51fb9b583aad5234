/*
 * fy_http_ssl.c -- TLS on client connections: the ssl_* directives,
 * the contexts of the servers on "listen ... ssl" addresses, the
 * handshake before HTTP starts, SNI, and the $ssl_* variables.  The
 * OpenSSL work itself is in src/tls/fy_tls.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"

#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/err.h>

static const char *fy_http_ssl_file(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_ssl_protocols(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_ciphers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_ticket_key(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_HTTP_SSL_CTX  (FY_CONF_HTTP | FY_CONF_SRV)
#define FY_TLS_OFF(f)    offsetof(fy_http_srv_conf_t, tls.f)

const fy_command_t  fy_http_ssl_commands[] = {

    { "ssl_certificate", FY_HTTP_SSL_CTX, 0, 1, 1, fy_http_ssl_file,
      FY_CONF_SRV_OFF, FY_TLS_OFF(certs), NULL },

    { "ssl_certificate_key", FY_HTTP_SSL_CTX, 0, 1, 1, fy_http_ssl_file,
      FY_CONF_SRV_OFF, FY_TLS_OFF(keys), NULL },

    { "ssl_protocols", FY_HTTP_SSL_CTX, 0, 1, 4, fy_http_ssl_protocols,
      FY_CONF_SRV_OFF, 0, NULL },

    { "ssl_ciphers", FY_HTTP_SSL_CTX, 0, 1, 1, fy_http_ssl_ciphers,
      FY_CONF_SRV_OFF, 0, NULL },

    { "ssl_prefer_server_ciphers", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF, FY_TLS_OFF(prefer_server_ciphers),
      NULL },

    { "ssl_session_tickets", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(session_tickets), NULL },

    { "ssl_session_timeout", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, FY_TLS_OFF(session_timeout), NULL },

    /* one key list for every server, so a ticket resumes whatever
     * name (SNI) the client asks for next */
    { "ssl_session_ticket_key", FY_CONF_HTTP, 0, 1, 1,
      fy_http_ssl_ticket_key, FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* ssl_certificate / ssl_certificate_key: a file each time, paired in
 * the order given (one RSA and one ECDSA pair, say). */
static const char *
fy_http_ssl_file(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    fy_array_t          *a = (fy_array_t *) ((char *) conf + cmd->offset);
    char               **path;

    path = fy_array_push(a);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    *path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    if (*path == NULL) {
        return "cannot allocate memory";
    }
    if (scf->tls.file == NULL) {
        scf->tls.file = cf->file ? cf->file->name : "command line";
        scf->tls.line = cf->line;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_ssl_protocols(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const struct { const char *name; unsigned bit; } names[] = {
        { "TLSv1", FY_TLS_V1 }, { "TLSv1.1", FY_TLS_V1_1 },
        { "TLSv1.2", FY_TLS_V1_2 }, { "TLSv1.3", FY_TLS_V1_3 },
    };
    fy_http_srv_conf_t  *scf = conf;
    unsigned             i, k;

    fy_unused(cmd);
    if (scf->tls.protocols) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
            if (fy_str_eq(&cf->args[i], names[k].name)) {
                scf->tls.protocols |= names[k].bit;
                break;
            }
        }
        if (k == sizeof(names) / sizeof(names[0])) {
            fy_conf_error(cf, "invalid value \"%s\" in \"ssl_protocols\"",
                          cf->args[i].data);
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

static const char *
fy_http_ssl_ciphers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;

    fy_unused(cmd);
    if (scf->tls.ciphers) {
        return "is duplicate";
    }
    scf->tls.ciphers = fy_pstrndup(cf->pool, cf->args[1].data,
                                   cf->args[1].len);
    return scf->tls.ciphers ? FY_CONF_OK : "cannot allocate memory";
}

static const char *
fy_http_ssl_ticket_key(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_main_conf_t  *hmcf = conf;
    char                **path;

    fy_unused(cmd);
    path = fy_array_push(&hmcf->tickets.files);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    *path = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    return *path ? FY_CONF_OK : "cannot allocate memory";
}

/* ---- after reading ---- */

/* SNI: switch to the certificate of the server the client names.  The
 * request's server is still chosen by its Host header, as in nginx. */
static int
fy_http_ssl_servername(SSL *ssl, int *alert, void *arg)
{
    fy_conn_t           *c = SSL_get_app_data(ssl);
    fy_http_srv_conf_t  *scf;
    SSL_CTX             *ctx;
    const char          *name;
    u_char               lower[256];
    fy_str_t             host;
    size_t               i;

    fy_unused(alert);
    fy_unused(arg);
    name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (name == NULL || c == NULL || c->listening == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    host.len = strlen(name);
    if (host.len == 0 || host.len >= sizeof(lower)) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    for (i = 0; i < host.len; i++) {
        lower[i] = (u_char) tolower((u_char) name[i]);
    }
    if (lower[host.len - 1] == '.') {
        host.len--;
    }
    host.data = lower;

    scf = fy_http_find_server(c->listening, &host, NULL);
    if (scf == NULL || scf->tls.ctx == NULL
        || scf->tls.ctx == SSL_get_SSL_CTX(ssl))
    {
        return SSL_TLSEXT_ERR_OK;
    }

    /* SSL_set_SSL_CTX changes the certificates only: the options
     * (tickets, cipher preference) and the cipher list are the
     * connection's own, copied from the first context; give it the new
     * server's.  The protocol version is already chosen by now, so
     * ssl_protocols is the default server's (as with nginx). */
    ctx = scf->tls.ctx;
    SSL_set_SSL_CTX(ssl, ctx);
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));
    SSL_set_num_tickets(ssl, SSL_CTX_get_num_tickets(ctx));
    if (SSL_set_cipher_list(ssl, scf->tls.ciphers) != 1) {
        ERR_clear_error();
    }
    return SSL_TLSEXT_ERR_OK;
}

int
fy_http_ssl_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_srv_conf_t   *scf;
    fy_listen_t          *ls;
    char                  what[160];
    unsigned              i, j;
    int                   tickets_loaded = 0;

    fy_tls_conf_merge(&hmcf->srv->tls, &hmcf->srv->tls);
    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        fy_tls_conf_merge(&hmcf->srv->tls, &scf->tls);
    }

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (!ls->ssl) {
            continue;
        }
        if (!tickets_loaded) {
            if (fy_tls_tickets_load(&hmcf->tickets) != FY_OK) {
                return FY_ERROR;
            }
            tickets_loaded = 1;
        }
        for (j = 0; j < ls->servers.nelts; j++) {
            scf = *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, j);
            if (scf->tls.ctx) {
                continue;
            }
            snprintf(what, sizeof(what), "the server in %s:%u (listen %s "
                     "ssl)", scf->file, scf->line, ls->text);
            if (fy_tls_ctx_create(cycle->pool, &scf->tls, &hmcf->tickets,
                                  what) != FY_OK)
            {
                return FY_ERROR;
            }
            SSL_CTX_set_tlsext_servername_callback(
                (SSL_CTX *) scf->tls.ctx, fy_http_ssl_servername);
        }
    }
    return FY_OK;
}

/* ---- connections ---- */

static void fy_http_ssl_handshake_handler(fy_event_t *ev);

void
fy_http_ssl_init_connection(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_srv_conf_t  *scf;

    scf = *fy_array_elt(&hc->ls->servers, fy_http_srv_conf_t *, 0);
    c->read.handler = fy_http_ssl_handshake_handler;
    c->write.handler = fy_http_ssl_handshake_handler;
    /* the handshake has client_header_timeout, as in nginx */
    fy_timer_add(&c->read, (uint64_t) scf->client_header_timeout);
    c->read.ready = 1;
    fy_http_ssl_handshake_handler(&c->read);
}

static void
fy_http_ssl_handshake_handler(fy_event_t *ev)
{
    fy_conn_t           *c = ev->data;
    fy_http_conn_t      *hc = c->data;
    fy_http_srv_conf_t  *scf;
    char                 who[80];
    u_char               first;
    ssize_t              n;
    int                  rc;

    if (c->read.timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out in SSL handshake, "
                     "client %s", hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }

    if (c->ssl == NULL) {
        /* A TLS record starts with 0x16 (handshake); anything else
         * here is someone speaking plain HTTP to the TLS port. */
        n = fy_conn_peek(c, &first, 1);
        if (n == FY_AGAIN) {
            c->read.ready = 0;
            return;
        }
        if (n <= 0) {
            fy_http_close_connection(hc);
            return;
        }
        if (first != 0x16) {
            hc->plain_on_tls = 1;
            fy_timer_del(&c->read);
            fy_http_start_connection(hc);
            return;
        }
        scf = *fy_array_elt(&hc->ls->servers, fy_http_srv_conf_t *, 0);
        if (fy_tls_conn_create(c, scf->tls.ctx) != FY_OK) {
            fy_http_close_connection(hc);
            return;
        }
    }

    snprintf(who, sizeof(who), "client %s", hc->addr_text);
    rc = fy_tls_handshake(c, who);
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }
    fy_timer_del(&c->read);
    fy_http_start_connection(hc);
}

void
fy_http_ssl_plain_error(fy_http_request_t *r)
{
    static fy_str_t    html = fy_string("text/html");
    static const char  body[] =
        "<html>\r\n<head><title>400 The plain HTTP request was sent to "
        "HTTPS port</title></head>\r\n<body>\r\n"
        "<center><h1>400 Bad Request</h1></center>\r\n"
        "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
        "<hr><center>ferry</center>\r\n</body>\r\n</html>\r\n";

    r->keepalive = 0;
    fy_http_send_response(r, 400, &html, (const u_char *) body,
                          sizeof(body) - 1, NULL);
}

/* ---- variables ---- */

static size_t
fy_http_ssl_copy(u_char *buf, size_t size, const char *s)
{
    size_t  len = s ? strlen(s) : 0;

    if (buf && len) {
        memcpy(buf, s, fy_min(size, len));
    }
    return len;
}

size_t
fy_http_ssl_var_https(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_http_ssl_copy(buf, size, r->hc->c->ssl ? "on" : "");
}

size_t
fy_http_ssl_var_protocol(fy_http_request_t *r, u_char *buf, size_t size)
{
    SSL  *ssl = r->hc->c->ssl;

    return fy_http_ssl_copy(buf, size, ssl ? SSL_get_version(ssl) : NULL);
}

size_t
fy_http_ssl_var_cipher(fy_http_request_t *r, u_char *buf, size_t size)
{
    SSL  *ssl = r->hc->c->ssl;

    return fy_http_ssl_copy(buf, size, ssl ? SSL_get_cipher_name(ssl) : NULL);
}

size_t
fy_http_ssl_var_server_name(fy_http_request_t *r, u_char *buf, size_t size)
{
    SSL  *ssl = r->hc->c->ssl;

    return fy_http_ssl_copy(buf, size,
        ssl ? SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) : NULL);
}

size_t
fy_http_ssl_var_session_reused(fy_http_request_t *r, u_char *buf,
                               size_t size)
{
    SSL  *ssl = r->hc->c->ssl;

    /* nginx: "r" for a resumed session, "." otherwise */
    return fy_http_ssl_copy(buf, size,
                            ssl ? (SSL_session_reused(ssl) ? "r" : ".") : "");
}
