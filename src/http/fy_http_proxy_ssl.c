/*
 * fy_http_proxy_ssl.c -- proxy_pass https://: the proxy_ssl_*
 * directives, the client contexts built when the configuration is
 * loaded, and the TLS handshake between connect() and the request.
 *
 *   location / {
 *       proxy_pass https://backend;
 *       proxy_ssl_verify on;
 *       proxy_ssl_trusted_certificate ca.crt;
 *       proxy_ssl_server_name on;          # SNI
 *       proxy_ssl_name api.internal;       # default: the proxy_pass host
 *   }
 *
 * A level with any proxy_ssl_* directive has its own settings, merged
 * with its parent's; a level without shares its parent's.  Every set
 * of settings used by an https location gets an OpenSSL context, and
 * sets that are alike share one.  A proxy_pass with variables may give
 * https:// in any request (p->https, fy_proxy_eval_pass), so its
 * location gets one too, as nginx makes one for it.  The OpenSSL side
 * is in src/tls/fy_tls_upstream.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

static const char *fy_proxy_ssl_flag(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_proxy_ssl_int(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_proxy_ssl_arg(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_proxy_ssl_protocols(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_proxy_ssl_name(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_proxy_ssl_password_file(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_proxy_ssl_conf_command(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_proxy_ssl_handler(fy_event_t *ev);

#define FY_PROXY_SSL_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_UP_OFF(f)      offsetof(fy_tls_up_conf_t, f)

static const fy_conf_bounds_t  fy_proxy_ssl_depth_bounds = { 0, 100 };

/* For fy_proxy_ssl_arg: whether the value is a path. */
static const int  fy_proxy_ssl_is_path = 1;

/* The proxy_ssl_* rows, and the same for uwsgi_ssl_* ("uwsgi_pass
 * suwsgi://"), which set lcf->uwsgi_ssl instead (fy_proxy_ssl_slot). */
#define FY_PROXY_SSL_COMMANDS(prefix)                                       \
    { prefix "_ssl_verify", FY_PROXY_SSL_ANY, 0, 1, 1, fy_proxy_ssl_flag,   \
      FY_CONF_LOC_OFF, FY_UP_OFF(verify), NULL },                           \
    { prefix "_ssl_verify_depth", FY_PROXY_SSL_ANY, 0, 1, 1,                \
      fy_proxy_ssl_int, FY_CONF_LOC_OFF, FY_UP_OFF(verify_depth),           \
      &fy_proxy_ssl_depth_bounds },                                         \
    { prefix "_ssl_trusted_certificate", FY_PROXY_SSL_ANY, 0, 1, 1,         \
      fy_proxy_ssl_arg, FY_CONF_LOC_OFF, FY_UP_OFF(trusted),                \
      &fy_proxy_ssl_is_path },                                              \
    { prefix "_ssl_certificate", FY_PROXY_SSL_ANY, 0, 1, 1,                 \
      fy_proxy_ssl_arg, FY_CONF_LOC_OFF, FY_UP_OFF(cert),                   \
      &fy_proxy_ssl_is_path },                                              \
    { prefix "_ssl_certificate_key", FY_PROXY_SSL_ANY, 0, 1, 1,             \
      fy_proxy_ssl_arg, FY_CONF_LOC_OFF, FY_UP_OFF(key),                    \
      &fy_proxy_ssl_is_path },                                              \
    { prefix "_ssl_ciphers", FY_PROXY_SSL_ANY, 0, 1, 1, fy_proxy_ssl_arg,   \
      FY_CONF_LOC_OFF, FY_UP_OFF(ciphers), NULL },                          \
    { prefix "_ssl_protocols", FY_PROXY_SSL_ANY, 0, 1, 4,                   \
      fy_proxy_ssl_protocols, FY_CONF_LOC_OFF, FY_UP_OFF(protocols), NULL },\
    { prefix "_ssl_server_name", FY_PROXY_SSL_ANY, 0, 1, 1,                 \
      fy_proxy_ssl_flag, FY_CONF_LOC_OFF, FY_UP_OFF(server_name), NULL },   \
    { prefix "_ssl_name", FY_PROXY_SSL_ANY, 0, 1, 1, fy_proxy_ssl_name,     \
      FY_CONF_LOC_OFF, 0, NULL },                                           \
    { prefix "_ssl_session_reuse", FY_PROXY_SSL_ANY, 0, 1, 1,               \
      fy_proxy_ssl_flag, FY_CONF_LOC_OFF, FY_UP_OFF(session_reuse), NULL }, \
    { prefix "_ssl_crl", FY_PROXY_SSL_ANY, 0, 1, 1, fy_proxy_ssl_arg,       \
      FY_CONF_LOC_OFF, FY_UP_OFF(crl), &fy_proxy_ssl_is_path },             \
    { prefix "_ssl_password_file", FY_PROXY_SSL_ANY, 0, 1, 1,               \
      fy_proxy_ssl_password_file, FY_CONF_LOC_OFF, FY_UP_OFF(passwords),    \
      NULL },                                                               \
    { prefix "_ssl_conf_command", FY_PROXY_SSL_ANY, 0, 2, 2,                \
      fy_proxy_ssl_conf_command, FY_CONF_LOC_OFF, FY_UP_OFF(conf_commands), \
      NULL }

const fy_command_t  fy_http_proxy_ssl_commands[] = {

    FY_PROXY_SSL_COMMANDS("proxy"),
    FY_PROXY_SSL_COMMANDS("uwsgi"),

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* ---- directives ---- */

/* The level's own settings, made on its first proxy_ssl_* (or
 * uwsgi_ssl_*) directive. */
static fy_http_proxy_ssl_conf_t *
fy_proxy_ssl_conf(fy_conf_t *cf, const fy_command_t *cmd,
                  fy_http_loc_conf_t *lcf)
{
    fy_http_proxy_ssl_conf_t  **slot = cmd->name[0] == 'u' ? &lcf->uwsgi_ssl
                                                         : &lcf->proxy_ssl;

    if (*slot == NULL) {
        *slot = fy_pcalloc(cf->pool, sizeof(fy_http_proxy_ssl_conf_t));
        if (*slot == NULL) {
            return NULL;
        }
        fy_tls_up_conf_init(&(*slot)->tls);
        if (cmd->name[0] == 'u') {
            (*slot)->tls.prefix = "uwsgi";
        }
    }
    return *slot;
}

static const char *
fy_proxy_ssl_flag(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);
    const char                *rv;

    if (sc == NULL) {
        return "cannot allocate memory";
    }
    rv = fy_conf_set_flag(cf, cmd, &sc->tls);
    if (rv == FY_CONF_OK && cmd->offset == FY_UP_OFF(verify)) {
        /* for "no proxy_ssl_trusted_certificate for proxy_ssl_verify" */
        sc->tls.verify_file = cf->file ? cf->file->name : "command line";
        sc->tls.verify_line = cf->line;
    }
    return rv;
}

/* proxy_ssl_conf_command NAME VALUE: several per level; a level with
 * one takes none of its parent's (nginx) */
static const char *
fy_proxy_ssl_conf_command(fy_conf_t *cf, const fy_command_t *cmd,
                          void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    return sc ? fy_tls_conf_set_up_command(cf, cmd, &sc->tls)
              : "cannot allocate memory";
}

static const char *
fy_proxy_ssl_int(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    return sc ? fy_conf_set_int(cf, cmd, &sc->tls) : "cannot allocate memory";
}

/* A file or a cipher list (src/tls/fy_tls_conf.c), in the level's
 * own settings. */
static const char *
fy_proxy_ssl_arg(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    return sc ? fy_tls_conf_set_up_arg(cf, cmd, &sc->tls)
              : "cannot allocate memory";
}

static const char *
fy_proxy_ssl_password_file(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    return sc ? fy_tls_conf_set_up_passwords(cf, cmd, &sc->tls)
              : "cannot allocate memory";
}

static const char *
fy_proxy_ssl_protocols(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    return sc ? fy_tls_conf_set_protocols(cf, cmd, &sc->tls)
              : "cannot allocate memory";
}

static const char *
fy_proxy_ssl_name(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_proxy_ssl_conf_t  *sc = fy_proxy_ssl_conf(cf, cmd, conf);

    fy_unused(cmd);
    if (sc == NULL) {
        return "cannot allocate memory";
    }
    if (sc->name_set) {
        return "is duplicate";
    }
    sc->name = fy_http_cv_compile(cf, &cf->args[1]);
    if (sc->name == NULL) {
        return FY_CONF_ERROR;
    }
    sc->name_set = 1;
    return FY_CONF_OK;
}

/* ---- after reading ---- */

/* One set of settings (proxy_ssl or uwsgi_ssl) of a level, *slot,
 * merged with its parent's, *prev (top: the http level). */
static void
fy_proxy_ssl_merge_slot(fy_http_proxy_ssl_conf_t **prev,
                        fy_http_proxy_ssl_conf_t **slot, int top)
{
    fy_http_proxy_ssl_conf_t  *sc = *slot;

    if (sc == NULL) {
        *slot = *prev;
        return;
    }
    if (top || *prev == NULL) {
        /* the http level, or nothing above: nginx's defaults */
        fy_tls_up_conf_merge(NULL, &sc->tls);
        return;
    }
    if (sc == *prev) {
        return;
    }
    fy_tls_up_conf_merge(&(*prev)->tls, &sc->tls);
    if (!sc->name_set) {
        sc->name = (*prev)->name;
        sc->name_set = (*prev)->name_set;
    }
}

void
fy_http_proxy_ssl_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_proxy_ssl_merge_slot(&prev->proxy_ssl, &conf->proxy_ssl,
                            prev == conf);
    fy_proxy_ssl_merge_slot(&prev->uwsgi_ssl, &conf->uwsgi_ssl,
                            prev == conf);
}

/* Give lcf's settings a context: an existing one of settings alike
 * (kept in `built`), or a new one. */
static int
fy_proxy_ssl_build(fy_cycle_t *cycle, fy_array_t *built,
                   fy_http_proxy_ssl_conf_t **dflt, fy_http_loc_conf_t *lcf)
{
    fy_http_proxy_ssl_conf_t  *sc, *other, **slot;
    char                       what[160];
    unsigned                   i;

    if (lcf->proxy_ssl == NULL) {
        /* no proxy_ssl_* anywhere above: one set of defaults for all */
        if (*dflt == NULL) {
            *dflt = fy_pcalloc(cycle->pool, sizeof(fy_http_proxy_ssl_conf_t));
            if (*dflt == NULL) {
                return FY_ERROR;
            }
            fy_tls_up_conf_init(&(*dflt)->tls);
            fy_tls_up_conf_merge(NULL, &(*dflt)->tls);
        }
        lcf->proxy_ssl = *dflt;
    }
    sc = lcf->proxy_ssl;
    if (sc->tls.ctx) {
        return FY_OK;
    }
    for (i = 0; i < built->nelts; i++) {
        other = *fy_array_elt(built, fy_http_proxy_ssl_conf_t *, i);
        if (fy_tls_up_conf_same(&other->tls, &sc->tls)) {
            sc->tls.ctx = other->tls.ctx;
            return FY_OK;
        }
    }
    snprintf(what, sizeof(what), "%s in location \"%.*s\"",
             lcf->suwsgi ? "uwsgi_pass suwsgi" : "proxy_pass https",
             (int) fy_min(lcf->name.len, 100), (char *) lcf->name.data);
    if (fy_tls_up_ctx_create(cycle->pool, &sc->tls, what) != FY_OK) {
        return FY_ERROR;
    }
    slot = fy_array_push(built);
    if (slot == NULL) {
        return FY_ERROR;
    }
    *slot = sc;
    return FY_OK;
}

static int
fy_proxy_ssl_walk(fy_cycle_t *cycle, fy_array_t *built,
                  fy_http_proxy_ssl_conf_t **dflt, fy_array_t *list)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i;

    for (i = 0; list && i < list->nelts; i++) {
        lcf = *fy_array_elt(list, fy_http_loc_conf_t *, i);
        if (((lcf->upstream && lcf->proxy_https) || lcf->proxy_pass_cv)
            && fy_proxy_ssl_build(cycle, built, dflt, lcf) != FY_OK)
        {
            return FY_ERROR;
        }
        if (fy_proxy_ssl_walk(cycle, built, dflt, lcf->locations) != FY_OK
            || fy_proxy_ssl_walk(cycle, built, dflt, lcf->regex_locations)
               != FY_OK
            || fy_proxy_ssl_walk(cycle, built, dflt, lcf->ifs) != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

int
fy_http_proxy_ssl_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t       *hmcf = cycle->http;
    fy_http_srv_conf_t        *scf;
    fy_http_proxy_ssl_conf_t  *dflt = NULL;
    fy_array_t                 built;
    unsigned                   i;

    fy_array_init(&built, cycle->pool, 2, sizeof(fy_http_proxy_ssl_conf_t *));
    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        if (fy_proxy_ssl_walk(cycle, &built, &dflt, &scf->locations) != FY_OK
            || fy_proxy_ssl_walk(cycle, &built, &dflt, &scf->regex_locations)
               != FY_OK)
        {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

/* ---- requests ---- */

/* The name for SNI and verification: proxy_ssl_name evaluated, else
 * the proxy_pass host ($proxy_host: as written, or as a proxy_pass
 * with variables gave it this request, never an address it resolved
 * to); without a port (nginx). */
int
fy_proxy_ssl_prepare(fy_http_proxy_t *p)
{
    fy_http_request_t         *r = p->r;
    fy_http_proxy_ssl_conf_t  *sc = r->loc->proxy_ssl;
    const u_char              *d, *e;
    size_t                     len;

    if (sc->name) {
        d = fy_http_cv_eval(r, sc->name, &len);
        if (d == NULL) {
            return FY_ERROR;
        }
    } else {
        d = p->host.data;
        len = p->host.len;
    }
    if (len && d[0] == '[') {
        /* [v6]:port */
        e = memchr(d, ']', len);
        if (e) {
            len = (size_t) (e - d - 1);
            d++;
        }
    } else if ((e = memchr(d, ':', len)) != NULL) {
        len = (size_t) (e - d);
    }
    p->ssl_name = fy_pstrndup(r->pool, d, len);
    return p->ssl_name ? FY_OK : FY_ERROR;
}

const void *
fy_proxy_ssl_ctx(fy_http_proxy_t *p)
{
    return p->https ? p->r->loc->proxy_ssl->tls.ctx : NULL;
}

/* TCP is up: start TLS.  The connect timer stays armed, so
 * proxy_connect_timeout covers the handshake (as in nginx). */
void
fy_proxy_ssl_handshake(fy_http_proxy_t *p)
{
    fy_conn_t  *uc = p->uc;

    if (uc->ssl == NULL) {
        /* a request's own upstream (fy_http_upstream_own) ends with it:
         * no session is kept for its servers */
        if (fy_tls_up_conn_create(uc, &p->r->loc->proxy_ssl->tls,
                                  p->ssl_name,
                                  p->u->own_peers ? NULL
                                                  : &p->peer->ssl_session)
            != FY_OK)
        {
            fy_proxy_fail(p, 502);
            return;
        }
        uc->read.handler = fy_proxy_ssl_handler;
        uc->write.handler = fy_proxy_ssl_handler;
    }
    fy_proxy_ssl_handler(&uc->write);
}

static void
fy_proxy_ssl_handler(fy_event_t *ev)
{
    fy_conn_t        *uc = ev->data;
    fy_http_proxy_t  *p = uc->data;
    char              err[256];
    int               rc;

    if (ev->timedout) {
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while SSL "
                     "handshaking to upstream" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        return;
    }

    rc = fy_tls_up_handshake(uc, err, sizeof(err));
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        fy_log_error(FY_LOG_ERR, 0, "%s while SSL handshaking to upstream"
                     FY_PROXY_CTX_FMT, err, FY_PROXY_CTX(p));
        fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
        return;
    }

    fy_log_debug("SSL handshake to upstream done, session %s"
                 FY_PROXY_CTX_FMT,
                 fy_tls_up_session_reused(uc) ? "reused" : "new",
                 FY_PROXY_CTX(p));
    fy_proxy_timed(p, FY_PROXY_T_CONNECT);    /* TLS included, as nginx */
    fy_timer_del(&uc->write);
    uc->read.handler = fy_event_ignore;
    uc->write.handler = fy_proxy_send_handler;
    fy_proxy_send_request(p);
}
