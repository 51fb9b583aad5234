/*
 * fy_stream_proxy_ssl.c -- TLS to the upstream server of a stream
 * session (nginx's proxy_ssl* directives of ngx_stream_proxy_module).
 *
 * The TLS work is src/tls/fy_tls_upstream.c's, shared with http's
 * "proxy_pass https://": the client context of a server (trusted
 * certificates, client certificate, protocols, ciphers, verification),
 * SNI and the name checked, the handshake step and its messages, and
 * the session each worker keeps per upstream server for the next
 * connection (proxy_ssl_session_reuse).  Here: the directives, one
 * context per stream server with "proxy_ssl on", and the handshake
 * between the TCP connect and the relay, which then reads and writes
 * the server's side through the TLS connection (fy_conn_recv /
 * fy_conn_send).
 */
#include "fy_core.h"
#include "fy_stream.h"

static const char *fy_stream_proxy_ssl_verify(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_proxy_ssl_name(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_stream_proxy_ssl_handler(fy_event_t *ev);

#define FY_STREAM_BOTH  (FY_CONF_STREAM | FY_CONF_STREAM_SRV)
#define FY_STREAM_UP(f)  offsetof(fy_stream_srv_conf_t, up_tls.f)

static const fy_conf_bounds_t  fy_stream_proxy_ssl_depth = { 0, 100 };
/* for fy_tls_conf_set_up_arg: the value is a path */
static const int  fy_stream_proxy_ssl_path = 1;

const fy_command_t  fy_stream_proxy_ssl_commands[] = {

    { "proxy_ssl", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, proxy_ssl), NULL },

    { "proxy_ssl_verify", FY_STREAM_BOTH, 0, 1, 1,
      fy_stream_proxy_ssl_verify, FY_CONF_SRV_OFF, FY_STREAM_UP(verify),
      NULL },

    { "proxy_ssl_verify_depth", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, FY_STREAM_UP(verify_depth),
      &fy_stream_proxy_ssl_depth },

    { "proxy_ssl_trusted_certificate", FY_STREAM_BOTH, 0, 1, 1,
      fy_tls_conf_set_up_arg, FY_CONF_SRV_OFF, FY_STREAM_UP(trusted),
      &fy_stream_proxy_ssl_path },

    { "proxy_ssl_certificate", FY_STREAM_BOTH, 0, 1, 1,
      fy_tls_conf_set_up_arg, FY_CONF_SRV_OFF, FY_STREAM_UP(cert),
      &fy_stream_proxy_ssl_path },

    { "proxy_ssl_certificate_key", FY_STREAM_BOTH, 0, 1, 1,
      fy_tls_conf_set_up_arg, FY_CONF_SRV_OFF, FY_STREAM_UP(key),
      &fy_stream_proxy_ssl_path },

    { "proxy_ssl_crl", FY_STREAM_BOTH, 0, 1, 1, fy_tls_conf_set_up_arg,
      FY_CONF_SRV_OFF, FY_STREAM_UP(crl), &fy_stream_proxy_ssl_path },

    { "proxy_ssl_password_file", FY_STREAM_BOTH, 0, 1, 1,
      fy_tls_conf_set_up_passwords, FY_CONF_SRV_OFF, FY_STREAM_UP(passwords),
      NULL },

    { "proxy_ssl_ciphers", FY_STREAM_BOTH, 0, 1, 1, fy_tls_conf_set_up_arg,
      FY_CONF_SRV_OFF, FY_STREAM_UP(ciphers), NULL },

    { "proxy_ssl_protocols", FY_STREAM_BOTH, 0, 1, 4,
      fy_tls_conf_set_protocols, FY_CONF_SRV_OFF, FY_STREAM_UP(protocols),
      NULL },

    { "proxy_ssl_server_name", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_STREAM_UP(server_name), NULL },

    { "proxy_ssl_session_reuse", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, FY_STREAM_UP(session_reuse), NULL },

    { "proxy_ssl_name", FY_STREAM_BOTH, 0, 1, 1, fy_stream_proxy_ssl_name,
      FY_CONF_SRV_OFF, 0, NULL },

    { "proxy_ssl_conf_command", FY_STREAM_BOTH, 0, 2, 2,
      fy_tls_conf_set_up_command, FY_CONF_SRV_OFF,
      FY_STREAM_UP(conf_commands), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* proxy_ssl_verify, and where it was given (for "no
 * proxy_ssl_trusted_certificate for proxy_ssl_verify"). */
static const char *
fy_stream_proxy_ssl_verify(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;
    const char            *rv = fy_conf_set_flag(cf, cmd, conf);

    if (rv == FY_CONF_OK) {
        scf->up_tls.verify_file = cf->file ? cf->file->name : "command line";
        scf->up_tls.verify_line = cf->line;
    }
    return rv;
}

/* proxy_ssl_name TEXT-WITH-$VARIABLES */
static const char *
fy_stream_proxy_ssl_name(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;

    fy_unused(cmd);
    if (scf->ssl_name) {
        return "is duplicate";
    }
    scf->ssl_name = fy_stream_cv_compile(cf, &cf->args[1]);
    return scf->ssl_name ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_stream_proxy_ssl_merge(fy_stream_srv_conf_t *p, fy_stream_srv_conf_t *c)
{
    fy_conf_merge(c->proxy_ssl, p->proxy_ssl, FY_CONF_UNSET_INT, 0);
    /* the stream level takes nginx's defaults (p == c there) */
    fy_tls_up_conf_merge(p == c ? NULL : &p->up_tls, &c->up_tls);
    if (c->ssl_name == NULL) {
        c->ssl_name = p->ssl_name;
    }
}

int
fy_stream_proxy_ssl_init_cycle(fy_cycle_t *cycle)
{
    fy_stream_main_conf_t  *smcf = cycle->stream;
    fy_stream_srv_conf_t   *scf;
    char                    what[160];
    unsigned                i;

    for (i = 0; i < smcf->servers.nelts; i++) {
        scf = *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i);
        if (!scf->proxy_ssl) {
            continue;
        }
        snprintf(what, sizeof(what), "the stream server in %s:%u",
                 scf->file, scf->line);
        if (fy_tls_up_ctx_create(cycle->pool, &scf->up_tls, what)
            != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

/* The name for SNI and verification: proxy_ssl_name evaluated, else
 * the host of proxy_pass (the upstream's name: for proxy_pass $var the
 * value, so the host it gave, as nginx's), without a port. */
static char *
fy_stream_proxy_ssl_host(fy_stream_session_t *s)
{
    u_char        *d;
    const u_char  *e;
    size_t         len;

    d = fy_palloc(s->pool, 256);
    if (d == NULL) {
        return NULL;
    }
    if (s->scf->ssl_name) {
        len = fy_stream_cv_eval(s, s->scf->ssl_name, d, 255);
    } else {
        len = fy_min(s->u->name.len, 255);
        memcpy(d, s->u->name.data, len);
    }
    if (len && d[0] == '[') {
        e = memchr(d, ']', len);        /* [v6]:port */
        if (e) {
            len = (size_t) (e - d - 1);
            memmove(d, d + 1, len);
        }
    } else if ((e = memchr(d, ':', len)) != NULL) {
        len = (size_t) (e - d);
    }
    d[len] = '\0';
    return (char *) d;
}

void
fy_stream_proxy_ssl_handshake(fy_stream_session_t *s)
{
    fy_conn_t  *uc = s->uc;
    char       *name;

    /* a session's own upstream (proxy_pass $var naming no upstream:
     * fy_stream_resolve.c) ends with it: no TLS session is kept for
     * its servers, which the pool frees (as http's) */
    name = fy_stream_proxy_ssl_host(s);
    if (name == NULL
        || fy_tls_up_conn_create(uc, &s->scf->up_tls, name,
                                 s->u->own_peers ? NULL
                                                 : &s->peer->ssl_session)
           != FY_OK)
    {
        fy_stream_finalize(s, 500);
        return;
    }
    uc->read.handler = fy_stream_proxy_ssl_handler;
    uc->write.handler = fy_stream_proxy_ssl_handler;
    if (!fy_timer_is_set(&uc->write)) {
        /* connected at once (a unix socket): the handshake still has
         * proxy_connect_timeout */
        fy_timer_add(&uc->write, (uint64_t) s->scf->connect_timeout);
    }
    fy_stream_proxy_ssl_handler(&uc->write);
}

static void
fy_stream_proxy_ssl_handler(fy_event_t *ev)
{
    fy_conn_t            *uc = ev->data;
    fy_stream_session_t  *s = uc->data;
    char                  err[256];
    int                   rc;

    if (ev->timedout) {
        ev->timedout = 0;
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while SSL "
                     "handshaking to upstream, client: %s, server: %s, "
                     "upstream: \"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_stream_next(s);
        return;
    }
    rc = fy_tls_up_handshake(uc, err, sizeof(err));
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        /* a server that cannot be verified is a failed try, as a
         * refused connect: counted, and the next server tried */
        fy_log_error(FY_LOG_ERR, 0, "%s while SSL handshaking to upstream, "
                     "client: %s, server: %s, upstream: \"%.*s\"", err,
                     s->addr_text, s->ls->text, (int) s->peer->name.len,
                     s->peer->name.data);
        fy_stream_next(s);
        return;
    }
    fy_stream_relay_start(s);
}
