/*
 * fy_http_ssl.c -- TLS on client connections: the ssl_* directives,
 * the contexts of the servers on "listen ... ssl" addresses, the
 * handshake before HTTP starts, SNI, and the $ssl_* variables.  The
 * OpenSSL work itself is in src/tls/fy_tls.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"
#include "fy_tls_cache.h"

#include <ctype.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static const char *fy_http_ssl_file(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_ssl_protocols(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_ciphers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_ticket_key(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_session_cache(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_where_str(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_ssl_verify_client(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

static const fy_conf_enum_t  fy_http_ssl_verify_modes[] = {
    { "off",            FY_TLS_VERIFY_OFF },
    { "on",             FY_TLS_VERIFY_ON },
    { "optional",       FY_TLS_VERIFY_OPTIONAL },
    { "optional_no_ca", FY_TLS_VERIFY_OPTIONAL_NO_CA },
    { NULL, 0 }
};

static const fy_conf_bounds_t  fy_http_ssl_depth_bounds = { 0, 100 };

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

    { "ssl_session_cache", FY_HTTP_SSL_CTX, 0, 1, 2,
      fy_http_ssl_session_cache, FY_CONF_SRV_OFF, 0, NULL },

    /* a value, and where it was given (checked when the context is
     * built, named in its messages) */
    { "ssl_ecdh_curve", FY_HTTP_SSL_CTX, 0, 1, 1, fy_http_ssl_where_str,
      FY_CONF_SRV_OFF, FY_TLS_OFF(ecdh_curve), NULL },

    { "ssl_client_certificate", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_http_ssl_where_str, FY_CONF_SRV_OFF, FY_TLS_OFF(client_cert),
      NULL },

    { "ssl_trusted_certificate", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_http_ssl_where_str, FY_CONF_SRV_OFF, FY_TLS_OFF(trusted_cert),
      NULL },

    { "ssl_verify_client", FY_HTTP_SSL_CTX, 0, 1, 1,
      fy_http_ssl_verify_client, FY_CONF_SRV_OFF, FY_TLS_OFF(verify),
      fy_http_ssl_verify_modes },

    { "ssl_verify_depth", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, FY_TLS_OFF(verify_depth), &fy_http_ssl_depth_bounds },

    { "ssl_reject_handshake", FY_HTTP_SSL_CTX, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_TLS_OFF(reject_handshake), NULL },

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

static void
fy_http_ssl_where(fy_conf_t *cf, fy_tls_where_t *w)
{
    w->file = cf->file ? cf->file->name : "command line";
    w->line = cf->line;
}

/* ssl_session_cache off | none | [builtin[:N]] [shared:NAME:SIZE] */
static const char *
fy_http_ssl_session_cache(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    fy_tls_conf_t       *t = &scf->tls;
    fy_str_t            *a, v;
    u_char              *colon;
    int64_t              n;
    unsigned             i;

    fy_unused(cmd);
    if (t->cache) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (fy_str_eq(a, "off") || fy_str_eq(a, "none")) {
            if (cf->nargs > 2) {
                goto invalid;
            }
            t->cache = fy_str_eq(a, "off") ? FY_TLS_CACHE_OFF
                                           : FY_TLS_CACHE_NONE;
            continue;
        }
        if (a->len >= 7 && memcmp(a->data, "builtin", 7) == 0
            && !(t->cache & FY_TLS_CACHE_BUILTIN))
        {
            if (a->len > 8 && a->data[7] == ':') {
                n = fy_atoi(a->data + 8, a->len - 8);
                if (n <= 0 || n > INT_MAX) {
                    goto invalid;
                }
                t->cache_builtin = (int) n;
            } else if (a->len != 7) {
                goto invalid;
            }
            t->cache |= FY_TLS_CACHE_BUILTIN;
            continue;
        }
        if (a->len > 7 && memcmp(a->data, "shared:", 7) == 0
            && !(t->cache & FY_TLS_CACHE_SHARED))
        {
            colon = memchr(a->data + 7, ':', a->len - 7);
            if (colon == NULL || colon == a->data + 7
                || colon - (a->data + 7) >= 64)
            {
                goto invalid;
            }
            t->cache_name = fy_pstrndup(cf->pool, a->data + 7,
                                        (size_t) (colon - (a->data + 7)));
            v.data = colon + 1;
            v.len = (size_t) (a->data + a->len - v.data);
            n = fy_conf_parse_size(&v);
            if (t->cache_name == NULL || n <= 0) {
                goto invalid;
            }
            if (n < FY_TLS_CACHE_MIN || n > FY_TLS_CACHE_MAX) {
                fy_conf_error(cf, "session cache \"%s\" must be between "
                              "32k and 1g", a->data);
                return FY_CONF_ERROR;
            }
            t->cache_size = (size_t) n;
            t->cache |= FY_TLS_CACHE_SHARED;
            continue;
        }
        goto invalid;
    }
    fy_http_ssl_where(cf, &t->cache_where);
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid session cache \"%s\"", cf->args[i].data);
    return FY_CONF_ERROR;
}

/* A string (a path for the certificate files) and where it was given:
 * the fy_tls_where_t follows the char * field in fy_tls_conf_t. */
static const char *
fy_http_ssl_where_str(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    char            **field = (char **) ((char *) conf + cmd->offset);
    fy_tls_where_t   *where = (fy_tls_where_t *) (field + 1);

    if (*field) {
        return "is duplicate";
    }
    if (strcmp(cmd->name, "ssl_ecdh_curve") == 0) {
        *field = fy_pstrndup(cf->pool, cf->args[1].data, cf->args[1].len);
    } else {
        *field = fy_conf_full_name(cf, cf->conf_dir, &cf->args[1]);
    }
    if (*field == NULL) {
        return "cannot allocate memory";
    }
    fy_http_ssl_where(cf, where);
    return FY_CONF_OK;
}

static const char *
fy_http_ssl_verify_client(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    const char          *rv = fy_conf_set_enum(cf, cmd, conf);

    if (rv == FY_CONF_OK) {
        fy_http_ssl_where(cf, &scf->tls.verify_where);
    }
    return rv;
}

/* ---- after reading ---- */

/* The host_name of a ClientHello's server_name extension (RFC 6066
 * 3): its bytes and length, or NULL. */
static const u_char *
fy_http_ssl_hello_name(SSL *ssl, size_t *len)
{
    const u_char  *p, *end;
    size_t         ext_len, n;

    if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
                                  &ext_len) != 1
        || ext_len < 2)
    {
        return NULL;
    }
    end = p + ext_len;
    n = ((size_t) p[0] << 8) | p[1];
    p += 2;
    if (n != (size_t) (end - p)) {
        return NULL;
    }
    while (end - p >= 3) {
        n = ((size_t) p[1] << 8) | p[2];
        if (n > (size_t) (end - p - 3)) {
            return NULL;
        }
        if (p[0] == TLSEXT_NAMETYPE_host_name) {
            *len = n;
            return p + 3;
        }
        p += 3 + n;
    }
    return NULL;
}

/*
 * SNI, from the ClientHello itself: OpenSSL calls this before it looks
 * at a session the client offers, so the connection moves to the
 * named server's context first and a session is only resumed under
 * the context (the session id context: client verification settings)
 * it was made in.  The request's server is still chosen by its Host
 * header, as in nginx.  No name, or an unknown one: the default
 * server's.
 */
static int
fy_http_ssl_hello(SSL *ssl, int *alert, void *arg)
{
    fy_conn_t           *c = SSL_get_app_data(ssl);
    fy_http_srv_conf_t  *scf, *found;
    SSL_CTX             *ctx;
    const u_char        *name;
    u_char               lower[256];
    fy_str_t             host;
    size_t               i, len = 0;

    fy_unused(arg);
    if (c == NULL || c->listening == NULL) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }
    scf = *fy_array_elt(&((fy_listen_t *) c->listening)->servers,
                        fy_http_srv_conf_t *, 0);
    name = fy_http_ssl_hello_name(ssl, &len);
    if (name && len && len < sizeof(lower)) {
        for (i = 0; i < len; i++) {
            lower[i] = (u_char) tolower(name[i]);
        }
        host.len = lower[len - 1] == '.' ? len - 1 : len;
        host.data = lower;
        found = fy_http_find_server(c->listening, &host, NULL);
        if (found) {
            scf = found;
        }
    }

    if (scf->tls.reject_handshake) {
        /* ssl_reject_handshake on: nginx's unrecognized_name alert */
        *alert = SSL_AD_UNRECOGNIZED_NAME;
        return SSL_CLIENT_HELLO_ERROR;
    }
    if (scf->tls.ctx == NULL || scf->tls.ctx == SSL_get_SSL_CTX(ssl)) {
        return SSL_CLIENT_HELLO_SUCCESS;
    }

    /* SSL_set_SSL_CTX changes the certificates and the session id
     * context only: the options (tickets, cipher preference) and the
     * cipher list are the connection's own, copied from the first
     * context; give it the new server's.  The protocol versions and
     * curves stay the default server's (as with nginx). */
    ctx = scf->tls.ctx;
    SSL_set_SSL_CTX(ssl, ctx);
    SSL_clear_options(ssl, SSL_get_options(ssl) & ~SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));
    SSL_set_num_tickets(ssl, SSL_CTX_get_num_tickets(ctx));
    if (SSL_set_cipher_list(ssl, scf->tls.ciphers) != 1) {
        ERR_clear_error();
    }
    /* and its client verification (the CA names and the trust store
     * come with the context) */
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx),
                   SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
    return SSL_CLIENT_HELLO_SUCCESS;
}

/* The server_name extension is acknowledged; the work was done in
 * fy_http_ssl_hello. */
static int
fy_http_ssl_servername(SSL *ssl, int *alert, void *arg)
{
    fy_unused(alert);
    fy_unused(arg);
    return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)
           ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK;
}

/* One name, one size: server n's shared cache against those before. */
static int
fy_http_ssl_cache_conflict(fy_http_main_conf_t *hmcf, unsigned n)
{
    fy_tls_conf_t  *t, *o;
    unsigned        i;

    t = &(*fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, n))->tls;
    if (!(t->cache & FY_TLS_CACHE_SHARED)) {
        return FY_OK;
    }
    for (i = 0; i < n; i++) {
        o = &(*fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i))->tls;
        if ((o->cache & FY_TLS_CACHE_SHARED)
            && strcmp(o->cache_name, t->cache_name) == 0
            && o->cache_size != t->cache_size)
        {
            fy_log_error(FY_LOG_EMERG, 0, "the size %zu of ssl_session_cache "
                         "\"%s\" conflicts with the size %zu given in %s:%u, "
                         "in %s:%u", t->cache_size, t->cache_name,
                         o->cache_size, o->cache_where.file,
                         o->cache_where.line, t->cache_where.file,
                         t->cache_where.line);
            return FY_ERROR;
        }
    }
    return FY_OK;
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
        if (fy_http_ssl_cache_conflict(hmcf, i) != FY_OK) {
            return FY_ERROR;
        }
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
            SSL_CTX_set_client_hello_cb((SSL_CTX *) scf->tls.ctx,
                                        fy_http_ssl_hello, NULL);
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

static void
fy_http_ssl_cert_error(fy_http_request_t *r, const char *what)
{
    static fy_str_t  html = fy_string("text/html");
    u_char          *body;
    int              n;

    /* nginx's 495 and 496, answered as 400 */
    body = fy_palloc(r->pool, 512);
    if (body == NULL) {
        fy_http_send_error(r, 500);
        return;
    }
    n = snprintf((char *) body, 512,
                 "<html>\r\n<head><title>400 %s</title></head>\r\n<body>\r\n"
                 "<center><h1>400 Bad Request</h1></center>\r\n"
                 "<center>%s</center>\r\n"
                 "<hr><center>ferry</center>\r\n</body>\r\n</html>\r\n",
                 what, what);
    r->keepalive = 0;
    fy_http_send_response(r, 400, &html, body, (size_t) n, NULL);
}

int
fy_http_ssl_verify(fy_http_request_t *r)
{
    SSL   *ssl = r->hc->c->ssl;
    int    mode = r->srv->tls.verify;
    long   rc;

    if (ssl == NULL || mode == FY_TLS_VERIFY_OFF) {
        return FY_OK;
    }
    rc = SSL_get_verify_result(ssl);
    if (rc != X509_V_OK
        && !(mode == FY_TLS_VERIFY_OPTIONAL_NO_CA
             && fy_tls_verify_error_optional(rc)))
    {
        fy_log_error(FY_LOG_INFO, 0, "client SSL certificate verify error: "
                     "(%ld:%s), client %s", rc,
                     X509_verify_cert_error_string(rc), r->hc->addr_text);
        fy_http_ssl_cert_error(r, "The SSL certificate error");
        return FY_ERROR;
    }
    if (mode == FY_TLS_VERIFY_ON && SSL_get0_peer_certificate(ssl) == NULL) {
        fy_log_error(FY_LOG_INFO, 0, "client sent no required SSL "
                     "certificate, client %s", r->hc->addr_text);
        fy_http_ssl_cert_error(r, "No required SSL certificate was sent");
        return FY_ERROR;
    }
    return FY_OK;
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

/* ---- client certificate variables ---- */

/* What a memory BIO holds, copied; the BIO is freed. */
static size_t
fy_http_ssl_bio_copy(BIO *bio, u_char *buf, size_t size)
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

static X509 *
fy_http_ssl_peer(fy_http_request_t *r)
{
    SSL  *ssl = r->hc->c->ssl;

    return ssl ? SSL_get0_peer_certificate(ssl) : NULL;
}

size_t
fy_http_ssl_var_client_verify(fy_http_request_t *r, u_char *buf, size_t size)
{
    SSL   *ssl = r->hc->c->ssl;
    char   text[160];
    long   rc;

    if (ssl == NULL) {
        return 0;
    }
    if (SSL_get0_peer_certificate(ssl) == NULL) {
        return fy_http_ssl_copy(buf, size, "NONE");
    }
    rc = SSL_get_verify_result(ssl);
    if (rc == X509_V_OK) {
        return fy_http_ssl_copy(buf, size, "SUCCESS");
    }
    snprintf(text, sizeof(text), "FAILED:%s",
             X509_verify_cert_error_string(rc));
    return fy_http_ssl_copy(buf, size, text);
}

/* RFC 2253, as nginx since 1.11.6 */
static size_t
fy_http_ssl_dn(X509_NAME *name, u_char *buf, size_t size)
{
    BIO  *bio;

    if (name == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0) {
        BIO_free(bio);
        return 0;
    }
    return fy_http_ssl_bio_copy(bio, buf, size);
}

size_t
fy_http_ssl_var_client_s_dn(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);

    return cert ? fy_http_ssl_dn(X509_get_subject_name(cert), buf, size) : 0;
}

size_t
fy_http_ssl_var_client_i_dn(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);

    return cert ? fy_http_ssl_dn(X509_get_issuer_name(cert), buf, size) : 0;
}

size_t
fy_http_ssl_var_client_serial(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);
    BIO   *bio;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    i2a_ASN1_INTEGER(bio, X509_get0_serialNumber(cert));
    return fy_http_ssl_bio_copy(bio, buf, size);
}

size_t
fy_http_ssl_var_client_fingerprint(fy_http_request_t *r, u_char *buf,
                                   size_t size)
{
    static const char  hex[] = "0123456789abcdef";
    X509              *cert = fy_http_ssl_peer(r);
    u_char             md[EVP_MAX_MD_SIZE];
    char               text[2 * EVP_MAX_MD_SIZE + 1];
    unsigned           len, i;

    if (cert == NULL || X509_digest(cert, EVP_sha1(), md, &len) != 1) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        text[2 * i] = hex[md[i] >> 4];
        text[2 * i + 1] = hex[md[i] & 0xf];
    }
    text[2 * len] = '\0';
    return fy_http_ssl_copy(buf, size, text);
}

size_t
fy_http_ssl_var_client_raw_cert(fy_http_request_t *r, u_char *buf,
                                size_t size)
{
    X509  *cert = fy_http_ssl_peer(r);
    BIO   *bio;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    PEM_write_bio_X509(bio, cert);
    return fy_http_ssl_bio_copy(bio, buf, size);
}

/* nginx's deprecated form: the PEM with a tab after every newline but
 * the last, so it fits in one header line */
size_t
fy_http_ssl_var_client_cert(fy_http_request_t *r, u_char *buf, size_t size)
{
    X509    *cert = fy_http_ssl_peer(r);
    BIO     *bio;
    char    *data;
    long     len, i;
    size_t   n = 0;

    if (cert == NULL || (bio = BIO_new(BIO_s_mem())) == NULL) {
        return 0;
    }
    PEM_write_bio_X509(bio, cert);
    len = BIO_get_mem_data(bio, &data);
    for (i = 0; i < len; i++) {
        if (buf && n < size) {
            buf[n] = (u_char) data[i];
        }
        n++;
        if (data[i] == '\n' && i + 1 < len) {
            if (buf && n < size) {
                buf[n] = '\t';
            }
            n++;
        }
    }
    BIO_free(bio);
    return n;
}
