/*
 * fy_stream_conf.c -- the stream { } block: its servers, their listen
 * and proxy_* directives, allow/deny, and its upstream blocks; then
 * (fy_stream_init_cycle) the servers merged with the stream level,
 * proxy_pass resolved and the listeners added to the cycle.
 *
 * The upstream blocks reuse http's "server", "least_conn", "random"
 * and "zone" setters, since a stream upstream is an http one
 * (fy_http_upstream_t); only "hash" differs, as its key is made of
 * stream variables.
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_http_conf.h"
#include "fy_http_balancer.h"

#include <netinet/in.h>

static const char *fy_stream_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_stream_server(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_stream_upstream_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_listen(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_stream_proxy_pass(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_proxy_bind(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_access_rule(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_realip_from(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_error_log(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_hash(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

#define FY_STREAM_BOTH  (FY_CONF_STREAM | FY_CONF_STREAM_SRV)

static const fy_conf_bounds_t  fy_stream_tries_bounds = { 0, 1000000 };
static const fy_conf_bounds_t  fy_stream_buffer_bounds = { 1, 1 << 30 };
static const fy_conf_bounds_t  fy_stream_udp_bounds = { 0, 2147483647 };

const fy_command_t  fy_stream_commands[] = {

    { "stream", FY_CONF_MAIN, FY_CONF_BLOCK, 0, 0, fy_stream_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "server", FY_CONF_STREAM, FY_CONF_BLOCK, 0, 0, fy_stream_server,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "upstream", FY_CONF_STREAM, FY_CONF_BLOCK, 1, 1,
      fy_stream_upstream_block, FY_CONF_MAIN_OFF, 0, NULL },

    /* inside upstream: http's setters, conf = the fy_http_upstream_t */
    { "server", FY_CONF_STREAM_UPS, 0, 1, FY_CONF_MANY,
      fy_http_upstream_server, FY_CONF_SRV_OFF, 0, NULL },

    { "least_conn", FY_CONF_STREAM_UPS, 0, 0, 0,
      fy_http_upstream_balancer, FY_CONF_SRV_OFF, 0, NULL },

    { "random", FY_CONF_STREAM_UPS, 0, 0, 2,
      fy_http_upstream_balancer, FY_CONF_SRV_OFF, 0, NULL },

    { "hash", FY_CONF_STREAM_UPS, 0, 1, 2, fy_stream_hash,
      FY_CONF_SRV_OFF, 0, NULL },

    { "zone", FY_CONF_STREAM_UPS, 0, 1, 2, fy_http_upstream_zone,
      FY_CONF_SRV_OFF, 0, NULL },

    { "listen", FY_CONF_STREAM_SRV, 0, 1, FY_CONF_MANY, fy_stream_listen,
      FY_CONF_SRV_OFF, 0, NULL },

    { "proxy_pass", FY_CONF_STREAM_SRV, 0, 1, 1, fy_stream_proxy_pass,
      FY_CONF_SRV_OFF, 0, NULL },

    { "server_name", FY_CONF_STREAM_SRV, 0, 1, FY_CONF_MANY,
      fy_http_names_set, FY_CONF_SRV_OFF,
      offsetof(fy_stream_srv_conf_t, sn), NULL },

    { "proxy_connect_timeout", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, connect_timeout),
      NULL },

    { "proxy_timeout", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, timeout), NULL },

    { "proxy_next_upstream", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, next_upstream),
      NULL },

    { "proxy_next_upstream_tries", FY_STREAM_BOTH, 0, 1, 1,
      fy_conf_set_int, FY_CONF_SRV_OFF,
      offsetof(fy_stream_srv_conf_t, next_upstream_tries),
      &fy_stream_tries_bounds },

    { "proxy_next_upstream_timeout", FY_STREAM_BOTH, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_SRV_OFF,
      offsetof(fy_stream_srv_conf_t, next_upstream_timeout), NULL },

    { "proxy_buffer_size", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_size,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, buffer_size),
      &fy_stream_buffer_bounds },

    { "proxy_half_close", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, half_close), NULL },

    { "tcp_nodelay", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, tcp_nodelay), NULL },

    { "proxy_socket_keepalive", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, socket_keepalive),
      NULL },

    /* http's setters: the servers a proxy_pass $var's name is asked of
     * (fy_stream_resolve.c) */
    { "resolver", FY_STREAM_BOTH, 0, 1, FY_CONF_MANY, fy_http_resolver,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, resolver),
      NULL },

    { "resolver_timeout", FY_STREAM_BOTH, 0, 1, 1, fy_http_resolver_timeout,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, resolver_timeout),
      NULL },

    { "proxy_protocol", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, proxy_protocol),
      NULL },

    { "proxy_protocol_timeout", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, pp_timeout), NULL },

    { "ssl_preread", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, ssl_preread), NULL },

    { "proxy_requests", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, udp_requests),
      &fy_stream_udp_bounds },

    { "proxy_responses", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_int,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, udp_responses),
      &fy_stream_udp_bounds },

    { "preread_buffer_size", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_size,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, preread_buffer_size),
      &fy_stream_buffer_bounds },

    { "preread_timeout", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, preread_timeout),
      NULL },

    { "proxy_upload_rate", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_size,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, upload_rate), NULL },

    { "proxy_download_rate", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_size,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, download_rate),
      NULL },

    { "proxy_bind", FY_STREAM_BOTH, 0, 1, 1, fy_stream_proxy_bind,
      FY_CONF_SRV_OFF, 0, NULL },

    { "error_log", FY_STREAM_BOTH, 0, 1, 2, fy_stream_error_log,
      FY_CONF_SRV_OFF, 0, NULL },

    { "set_real_ip_from", FY_STREAM_BOTH, 0, 1, 1, fy_stream_realip_from,
      FY_CONF_SRV_OFF, 0, NULL },

    { "allow", FY_STREAM_BOTH, 0, 1, 1, fy_stream_access_rule,
      FY_CONF_SRV_OFF, 0, NULL },

    { "deny", FY_STREAM_BOTH, 0, 1, 1, fy_stream_access_rule,
      FY_CONF_SRV_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


static fy_stream_srv_conf_t *
fy_stream_create_srv_conf(fy_conf_t *cf)
{
    fy_stream_srv_conf_t  *scf;

    scf = fy_pcalloc(cf->pool, sizeof(fy_stream_srv_conf_t));
    if (scf == NULL) {
        return NULL;
    }
    fy_array_init(&scf->listens, cf->pool, 1, sizeof(fy_stream_listen_t));
    fy_http_names_init(&scf->sn, cf->pool);
    scf->connect_timeout = FY_CONF_UNSET_MSEC;
    scf->timeout = FY_CONF_UNSET_MSEC;
    scf->next_upstream = FY_CONF_UNSET_INT;
    scf->next_upstream_tries = FY_CONF_UNSET_INT;
    scf->next_upstream_timeout = FY_CONF_UNSET_MSEC;
    scf->buffer_size = FY_CONF_UNSET_SIZE;
    scf->half_close = FY_CONF_UNSET_INT;
    scf->tcp_nodelay = FY_CONF_UNSET_INT;
    scf->socket_keepalive = FY_CONF_UNSET_INT;
    scf->proxy_protocol = FY_CONF_UNSET_INT;
    scf->pp_timeout = FY_CONF_UNSET_MSEC;
    scf->resolver_timeout = FY_CONF_UNSET_MSEC;
    scf->ssl_preread = FY_CONF_UNSET_INT;
    scf->udp_requests = FY_CONF_UNSET_INT;
    scf->udp_responses = FY_CONF_UNSET_INT;
    scf->preread_buffer_size = FY_CONF_UNSET_SIZE;
    scf->preread_timeout = FY_CONF_UNSET_MSEC;
    scf->limit_conn_log_level = FY_CONF_UNSET_INT;
    scf->limit_conn_dry_run = FY_CONF_UNSET_INT;
    scf->upload_rate = FY_CONF_UNSET_SIZE;
    scf->download_rate = FY_CONF_UNSET_SIZE;
    scf->log_off = FY_CONF_UNSET_INT;
    fy_tls_conf_init(cf->pool, &scf->tls);
    scf->ssl_handshake_timeout = FY_CONF_UNSET_MSEC;
    scf->proxy_ssl = FY_CONF_UNSET_INT;
    fy_tls_up_conf_init(&scf->up_tls);
    scf->file = cf->file ? cf->file->name : "command line";
    scf->line = cf->line;
    return scf;
}

/* Read a block in a new context and restore the old one. */
static const char *
fy_stream_parse_block(fy_conf_t *cf, unsigned type, void *main, void *srv)
{
    fy_conf_ctx_t  *saved_ctx = cf->ctx, *ctx;
    unsigned        saved_type = cf->ctx_type;
    int             rc;

    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    if (ctx == NULL) {
        return "cannot allocate memory";
    }
    ctx->main = main;
    ctx->srv = srv;
    cf->ctx = ctx;
    cf->ctx_type = type;
    rc = fy_conf_parse(cf, NULL);
    cf->ctx = saved_ctx;
    cf->ctx_type = saved_type;
    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_stream_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_cycle_t             *cycle = cf->cycle;
    fy_stream_main_conf_t  *smcf;
    const char             *rv;

    fy_unused(cmd);
    fy_unused(conf);

    if (cycle->stream) {
        return "is duplicate";
    }
    smcf = fy_pcalloc(cf->pool, sizeof(fy_stream_main_conf_t));
    if (smcf == NULL) {
        return "cannot allocate memory";
    }
    fy_array_init(&smcf->servers, cf->pool, 4,
                  sizeof(fy_stream_srv_conf_t *));
    fy_array_init(&smcf->upstreams, cf->pool, 4,
                  sizeof(fy_stream_upstream_t));
    fy_array_init(&smcf->maps, cf->pool, 4, sizeof(fy_stream_map_t *));
    fy_tls_tickets_init(cf->pool, &smcf->tickets);
    smcf->srv = fy_stream_create_srv_conf(cf);
    if (smcf->srv == NULL) {
        return "cannot allocate memory";
    }
    cycle->stream = smcf;

    rv = fy_stream_parse_block(cf, FY_CONF_STREAM, smcf, smcf->srv);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    if (fy_stream_map_done(cf, smcf) != FY_OK
        || fy_stream_map_addresses(cf, smcf) != FY_OK
        || fy_stream_limit_conn_done(cf, smcf) != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    return fy_stream_log_init_cycle(cf, smcf) == FY_OK ? FY_CONF_OK
                                                       : FY_CONF_ERROR;
}

static const char *
fy_stream_server(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_main_conf_t  *smcf = conf;
    fy_stream_srv_conf_t   *scf, **pscf;

    fy_unused(cmd);

    scf = fy_stream_create_srv_conf(cf);
    pscf = fy_array_push(&smcf->servers);
    if (scf == NULL || pscf == NULL) {
        return "cannot allocate memory";
    }
    *pscf = scf;
    return fy_stream_parse_block(cf, FY_CONF_STREAM_SRV, smcf, scf);
}

fy_stream_upstream_t *
fy_stream_upstream_get(fy_conf_t *cf, fy_stream_main_conf_t *smcf,
                       const fy_str_t *name)
{
    fy_stream_upstream_t  *su;
    fy_http_upstream_t    *u;
    unsigned               i;

    if (name->len > FY_UPSTREAM_NAME_MAX) {
        fy_conf_error(cf, "upstream name \"%.*s\" is too long (%zu bytes, "
                      "at most %d)", (int) name->len, (char *) name->data,
                      name->len, FY_UPSTREAM_NAME_MAX);
        return NULL;
    }
    for (i = 0; i < smcf->upstreams.nelts; i++) {
        su = fy_array_elt(&smcf->upstreams, fy_stream_upstream_t, i);
        if (su->u->name.len == name->len
            && strncasecmp((char *) su->u->name.data, (char *) name->data,
                           name->len) == 0)
        {
            return su;
        }
    }

    u = fy_pcalloc(cf->pool, sizeof(fy_http_upstream_t));
    su = fy_array_push(&smcf->upstreams);
    if (u == NULL || su == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    su->u = u;
    su->hash_key = NULL;
    u->name.data = (u_char *) fy_pstrndup(cf->pool, name->data, name->len);
    u->name.len = name->len;
    u->file = cf->file ? cf->file->name : "command line";
    u->line = cf->line;
    u->implicit = 1;
    fy_array_init(&u->peers, cf->pool, 2, sizeof(fy_http_upstream_peer_t));
    return su;
}

static const char *
fy_stream_upstream_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_main_conf_t  *smcf = conf;
    fy_stream_upstream_t   *su;
    fy_http_upstream_t     *u;
    const char             *rv;

    fy_unused(cmd);

    su = fy_stream_upstream_get(cf, smcf, &cf->args[1]);
    if (su == NULL) {
        return FY_CONF_ERROR;
    }
    u = su->u;
    if (fy_http_upstream_define(cf, u) != FY_OK) {
        return FY_CONF_ERROR;
    }
    rv = fy_stream_parse_block(cf, FY_CONF_STREAM_UPS, smcf, u);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    return fy_http_upstream_check(cf, u) == FY_OK ? FY_CONF_OK
                                                  : FY_CONF_ERROR;
}

/* error_log FILE [LEVEL]: http's reader, the stream block's lists */
static const char *
fy_stream_error_log(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t   *scf = conf;
    fy_stream_main_conf_t  *smcf = cf->ctx->main;

    fy_unused(cmd);

    return fy_http_error_log_add(cf, &scf->error_log, &smcf->error_logs);
}

/* hash KEY [consistent]: http's balancer, with a key of stream
 * variables kept beside the upstream. */
static const char *
fy_stream_hash(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t     *u = conf;
    fy_stream_main_conf_t  *smcf = cf->ctx->main;
    fy_stream_upstream_t   *su;

    fy_unused(cmd);

    if (u->balancer) {
        fy_conf_error(cf, "balancing method \"%s\" is already set in "
                      "upstream \"%s\"", u->balancer->name, u->name.data);
        return FY_CONF_ERROR;
    }
    if (cf->nargs == 3) {
        if (!fy_str_eq(&cf->args[2], "consistent")) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
        u->hash_consistent = 1;
    }
    su = fy_stream_upstream_of(smcf, u);
    su->hash_key = fy_stream_cv_compile(cf, &cf->args[1]);
    if (su->hash_key == NULL) {
        return FY_CONF_ERROR;
    }
    u->balancer = &fy_http_balancer_hash;
    return FY_CONF_OK;
}

fy_stream_upstream_t *
fy_stream_upstream_of(fy_stream_main_conf_t *smcf, fy_http_upstream_t *u)
{
    fy_stream_upstream_t  *su;
    unsigned               i;

    for (i = 0; i < smcf->upstreams.nelts; i++) {
        su = fy_array_elt(&smcf->upstreams, fy_stream_upstream_t, i);
        if (su->u == u) {
            return su;
        }
    }
    return NULL;    /* not reached: every stream upstream is listed */
}

fy_array_t *
fy_stream_upstreams(fy_cycle_t *cycle)
{
    return cycle->stream ? &cycle->stream->upstreams : NULL;
}

/* One address of a stream listen, with the line's parameters. */
static int
fy_stream_listen_one(fy_conf_t *cf, fy_stream_srv_conf_t *scf,
                     const fy_addr_t *a)
{
    fy_stream_listen_t    *l;
    fy_str_t               v;
    unsigned               i;
    int                    rc;

    l = fy_array_push(&scf->listens);
    if (l == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    memset(l, 0, sizeof(*l));
    l->line = cf->line;
    fy_listen_opts_init(&l->sock);
    l->addr = a->addr;
    l->addrlen = a->addrlen;

    /* nginx refuses the TCP-only parameters with "udp", wherever it
     * stands among them */
    for (i = 2; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "udp")) {
            l->udp = 1;
        }
    }
    if (l->udp && l->addr.sa.sa_family == AF_UNIX) {
        fy_conf_error(cf, "\"udp\" is not supported with \"%s\" in "
                      "\"listen\" (ferry's UDP listeners are IPv4 or IPv6)",
                      cf->args[1].data);
        return FY_ERROR;
    }
    for (i = 2; l->udp && i < cf->nargs; i++) {
        static const char  *tcp_only[] = { "backlog", "deferred", "ssl",
            "so_keepalive", "proxy_protocol", "fastopen", NULL };
        unsigned            k;

        for (k = 0; tcp_only[k]; k++) {
            if (fy_http_param(&cf->args[i], tcp_only[k], &v)
                || fy_str_eq(&cf->args[i], tcp_only[k]))
            {
                fy_conf_error(cf, "\"%s\" parameter is incompatible with "
                              "\"udp\"", tcp_only[k]);
                return FY_ERROR;
            }
        }
    }

    for (i = 2; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "udp")) {
            continue;
        }
        if (l->udp && fy_str_eq(&cf->args[i], "reuseport")) {
            /* one socket per worker would need the master to keep one
             * per worker across reloads and worker restarts; all the
             * workers read the one socket instead (architecture.md) */
            fy_conf_error(cf, "\"reuseport\" is not supported: every "
                          "worker reads the one UDP socket the master "
                          "opened");
            return FY_ERROR;
        }
        rc = fy_http_listen_param(cf, i, l->addr.sa.sa_family, &l->sock);
        if (rc < 0) {
            return FY_ERROR;
        }
        if (rc > 0) {
            continue;
        }
        if (fy_str_eq(&cf->args[i], "proxy_protocol")) {
            l->proxy_protocol = 1;
            continue;
        }
        if (fy_str_eq(&cf->args[i], "ssl")) {
            l->ssl = 1;
            continue;
        }
        if (fy_str_eq(&cf->args[i], "default_server")) {
            l->default_server = 1;
            continue;
        }
        fy_conf_error(cf, "invalid parameter \"%s\" in \"listen\"",
                      cf->args[i].data);
        return FY_ERROR;
    }
    return FY_OK;
}

/* listen ADDRESS:PORT [PARAMETERS]: every address of a host name, as
 * http's listen and nginx. */
static const char *
fy_stream_listen(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;
    fy_array_t             addrs;
    unsigned               k;
    int                    rc, named;

    fy_unused(cmd);

    /* nginx's stream listen needs a port (or a unix path) */
    rc = fy_parse_addrs(cf->pool, cf->args[1].data, cf->args[1].len, 1,
                        &addrs, &named);
    if (rc == FY_DECLINED) {
        fy_conf_error(cf, "too long path in the unix domain socket \"%s\" "
                      "in \"listen\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (rc != FY_OK) {
        fy_conf_error(cf, "invalid address \"%s\" in \"listen\" (a port "
                      "is required in stream)", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    for (k = 0; k < addrs.nelts; k++) {
        if (fy_stream_listen_one(cf, scf, fy_array_elt(&addrs, fy_addr_t, k))
            != FY_OK)
        {
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

static const char *
fy_stream_proxy_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;
    fy_stream_upstream_t  *su;

    fy_unused(cmd);

    if (scf->upstream || scf->upstream_cv || scf->ret) {
        return "is duplicate";
    }
    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        /* the upstream named by the value, found per session */
        scf->upstream_cv = fy_stream_cv_compile(cf, &cf->args[1]);
        return scf->upstream_cv ? FY_CONF_OK : FY_CONF_ERROR;
    }
    su = fy_stream_upstream_get(cf, cf->ctx->main, &cf->args[1]);
    if (su == NULL) {
        return FY_CONF_ERROR;
    }
    scf->upstream = su->u;
    return FY_CONF_OK;
}

/* set_real_ip_from ADDRESS | CIDR | unix: (the stream realip module):
 * read by http's code */
static const char *
fy_stream_realip_from(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;

    fy_unused(cmd);
    return fy_http_realip_from_add(cf, &scf->realip_from);
}

/* proxy_bind ADDRESS | TEXT-WITH-$VARIABLES | off: the local address
 * of upstream connections (no port: the system picks one). */
static const char *
fy_stream_proxy_bind(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;

    fy_unused(cmd);

    if (scf->bind_set) {
        return "is duplicate";
    }
    scf->bind_set = 1;
    if (fy_str_eq(&cf->args[1], "off")) {
        return FY_CONF_OK;
    }
    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        /* worked out per session (fy_stream_bind) */
        scf->bind_cv = fy_stream_cv_compile(cf, &cf->args[1]);
        return scf->bind_cv ? FY_CONF_OK : FY_CONF_ERROR;
    }
    if (fy_parse_addr_port(cf->args[1].data, cf->args[1].len, 0,
                              &scf->bind, &scf->bind_len) != FY_OK
        || scf->bind.sa.sa_family == AF_UNIX)
    {
        fy_conf_error(cf, "invalid address \"%s\" in \"proxy_bind\" (an "
                      "IP address, or off)", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (scf->bind.sa.sa_family == AF_INET) {
        /* fy_parse_addr_port gives 80 without a port: none was meant */
        if (memchr(cf->args[1].data, ':', cf->args[1].len) == NULL) {
            scf->bind.sin.sin_port = 0;
        }
    } else if (cf->args[1].data[0] != '[') {
        scf->bind.sin6.sin6_port = 0;
    }
    return FY_CONF_OK;
}

static const char *
fy_stream_access_rule(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t     *scf = conf;
    fy_stream_access_rule_t  *rule;

    if (scf->access == NULL) {
        scf->access = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (scf->access == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(scf->access, cf->pool, 4,
                      sizeof(fy_stream_access_rule_t));
    }
    rule = fy_array_push(scf->access);
    if (rule == NULL) {
        return "cannot allocate memory";
    }
    memset(rule, 0, sizeof(*rule));     /* "all" */
    rule->deny = cmd->name[0] == 'd';
    if (fy_str_eq(&cf->args[1], "all")) {
        return FY_CONF_OK;
    }
    return fy_http_cidr_parse(cf, &cf->args[1], &rule->cidr) == FY_OK
           ? FY_CONF_OK : FY_CONF_ERROR;
}


/* ---- after the whole configuration is read ---- */

static void
fy_stream_merge(fy_stream_srv_conf_t *p, fy_stream_srv_conf_t *c)
{
    /* nginx's defaults */
    fy_conf_merge(c->connect_timeout, p->connect_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(c->timeout, p->timeout, FY_CONF_UNSET_MSEC, 600000);
    fy_conf_merge(c->next_upstream, p->next_upstream, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->next_upstream_tries, p->next_upstream_tries,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->next_upstream_timeout, p->next_upstream_timeout,
                  FY_CONF_UNSET_MSEC, 0);
    fy_conf_merge(c->buffer_size, p->buffer_size, FY_CONF_UNSET_SIZE,
                  16384);
    /* nginx's default is off; a FIN passed on is what TCP clients
     * that shut their write side expect (docs/configuration.md) */
    fy_conf_merge(c->half_close, p->half_close, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->tcp_nodelay, p->tcp_nodelay, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->socket_keepalive, p->socket_keepalive,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->proxy_protocol, p->proxy_protocol, FY_CONF_UNSET_INT,
                  0);
    fy_conf_merge(c->pp_timeout, p->pp_timeout, FY_CONF_UNSET_MSEC, 30000);
    if (c->resolver == NULL) {
        c->resolver = p->resolver;
    }
    fy_conf_merge(c->resolver_timeout, p->resolver_timeout,
                  FY_CONF_UNSET_MSEC, 30000);
    fy_conf_merge(c->ssl_preread, p->ssl_preread, FY_CONF_UNSET_INT, 0);
    /* nginx: every client datagram joins the session, and the number
     * of answers is not limited (the session ends at proxy_timeout) */
    fy_conf_merge(c->udp_requests, p->udp_requests, FY_CONF_UNSET_INT, 0);
    if (c->udp_responses == FY_CONF_UNSET_INT) {
        c->udp_responses = p->udp_responses;    /* -1: no limit */
    }
    fy_conf_merge(c->preread_buffer_size, p->preread_buffer_size,
                  FY_CONF_UNSET_SIZE, 16384);
    fy_conf_merge(c->preread_timeout, p->preread_timeout,
                  FY_CONF_UNSET_MSEC, 30000);
    if (c->limit_conns == NULL) {
        c->limit_conns = p->limit_conns;    /* nginx: all or none */
    }
    fy_conf_merge(c->limit_conn_log_level, p->limit_conn_log_level,
                  FY_CONF_UNSET_INT, FY_LOG_ERR);
    fy_conf_merge(c->limit_conn_dry_run, p->limit_conn_dry_run,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->upload_rate, p->upload_rate, FY_CONF_UNSET_SIZE, 0);
    fy_conf_merge(c->download_rate, p->download_rate, FY_CONF_UNSET_SIZE,
                  0);
    if (!c->bind_set && p->bind_set) {
        c->bind_set = 1;
        c->bind = p->bind;
        c->bind_len = p->bind_len;
        c->bind_cv = p->bind_cv;
    }
    if (c->access == NULL) {
        c->access = p->access;
    }
    if (c->realip_from == NULL) {
        c->realip_from = p->realip_from;
    }
    if (c->error_log == NULL) {
        c->error_log = p->error_log;
    }
    if (c->logs == NULL && c->log_off == FY_CONF_UNSET_INT) {
        c->logs = p->logs;
        c->log_off = p->log_off;
    }
    fy_alog_cache_merge(&p->log_cache, &c->log_cache);
    fy_tls_conf_merge(&p->tls, &c->tls);
    if (c->alpn.data == NULL) {
        c->alpn = p->alpn;
    }
    fy_conf_merge(c->ssl_handshake_timeout, p->ssl_handshake_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_stream_proxy_ssl_merge(p, c);
}

/* The listen of scf on ls's address, or NULL. */
static fy_stream_listen_t *
fy_stream_listen_of(fy_stream_srv_conf_t *scf, const fy_listen_t *ls)
{
    fy_stream_listen_t  *l;
    unsigned             i;

    for (i = 0; i < scf->listens.nelts; i++) {
        l = fy_array_elt(&scf->listens, fy_stream_listen_t, i);
        if (l->udp == ls->udp && l->addrlen == ls->addrlen
            && memcmp(&l->addr, &ls->addr, l->addrlen) == 0)
        {
            return l;
        }
    }
    return NULL;
}

/*
 * A second server on an address (nginx 1.25.5, with server_name): the
 * listener is one socket for all of them; its socket options come from
 * the one listen that gives them, "ssl" and "proxy_protocol" from any
 * (fy_stream_listen_merge), and the default server answers names no
 * server has.
 */
static int
fy_stream_join_listen(fy_listen_t *ls, fy_stream_srv_conf_t *scf,
                      fy_stream_listen_t *l)
{
    fy_stream_srv_conf_t  **pscf, *other;
    fy_stream_listen_t     *ol;
    unsigned                i;

    if (fy_listen_opts_add(ls, &l->sock, scf->file, l->line) != FY_OK) {
        return FY_ERROR;
    }
    if (l->default_server) {
        for (i = 0; i < ls->servers.nelts; i++) {
            other = *fy_array_elt(&ls->servers, fy_stream_srv_conf_t *, i);
            ol = fy_stream_listen_of(other, ls);
            if (ol && ol->default_server) {
                fy_log_error(FY_LOG_EMERG, 0, "a duplicate default server "
                             "for %s in %s:%u", ls->text, scf->file,
                             l->line);
                return FY_ERROR;
            }
        }
        ls->stream = scf;
        ls->stream_listen = l;
    }
    pscf = fy_array_push(&ls->servers);
    if (pscf == NULL) {
        return FY_ERROR;
    }
    *pscf = scf;
    return FY_OK;
}

static int
fy_stream_add_listen(fy_cycle_t *cycle, fy_stream_srv_conf_t *scf,
                     fy_stream_listen_t *l)
{
    fy_listen_t            *ls;
    fy_stream_srv_conf_t  **pscf;
    unsigned                i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        /* TCP and UDP on one port are two sockets (nginx) */
        if (ls->udp == l->udp && ls->addrlen == l->addrlen
            && memcmp(&ls->addr, &l->addr, l->addrlen) == 0)
        {
            if (ls->stream && fy_stream_listen_of(scf, ls) == l) {
                return fy_stream_join_listen(ls, scf, l);
            }
            fy_log_error(FY_LOG_EMERG, 0, "duplicate \"%s\" address and "
                         "port pair in %s:%u", ls->text, scf->file,
                         l->line);
            return FY_ERROR;
        }
    }
    if (cycle->listening.nelts == FY_MAX_LISTEN) {
        fy_log_error(FY_LOG_EMERG, 0, "too many listening addresses (at most "
                     "%d) in %s:%u", FY_MAX_LISTEN, scf->file, l->line);
        return FY_ERROR;
    }
    ls = fy_array_push(&cycle->listening);
    if (ls == NULL) {
        return FY_ERROR;
    }
    memset(ls, 0, sizeof(*ls));
    ls->addr = l->addr;
    ls->addrlen = l->addrlen;
    ls->fd = -1;
    fy_listen_opts_init(&ls->sock);
    (void) fy_listen_opts_add(ls, &l->sock, scf->file, l->line);
    ls->file = scf->file;
    ls->line = l->line;
    ls->index = cycle->listening.nelts - 1;
    ls->udp = l->udp;
    ls->stream = scf;
    ls->stream_listen = l;
    fy_sockaddr_text(&l->addr.sa, l->addrlen, ls->text, sizeof(ls->text), 1);
    fy_array_init(&ls->servers, cycle->pool, 1, sizeof(void *));
    pscf = fy_array_push(&ls->servers);
    if (pscf == NULL) {
        return FY_ERROR;
    }
    *pscf = scf;
    return FY_OK;
}

/* "ssl" and "proxy_protocol" belong to the address, as in nginx: said
 * in one server's listen, they hold for every server on it.  And the
 * listen queue's length is nginx's when no listen gave it. */
static void
fy_stream_listen_merge(fy_cycle_t *cycle)
{
    fy_listen_t           *ls;
    fy_stream_srv_conf_t  *scf;
    fy_stream_listen_t    *l;
    unsigned               i, j, ssl, pp;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->stream == NULL) {
            continue;
        }
        if (ls->sock.backlog == -1) {
            ls->sock.backlog = 511;         /* nginx's NGX_LISTEN_BACKLOG */
        }
        if (ls->servers.nelts < 2) {
            continue;
        }
        ssl = pp = 0;
        for (j = 0; j < ls->servers.nelts; j++) {
            scf = *fy_array_elt(&ls->servers, fy_stream_srv_conf_t *, j);
            l = fy_stream_listen_of(scf, ls);
            ssl |= l->ssl;
            pp |= l->proxy_protocol;
        }
        for (j = 0; j < ls->servers.nelts; j++) {
            scf = *fy_array_elt(&ls->servers, fy_stream_srv_conf_t *, j);
            l = fy_stream_listen_of(scf, ls);
            l->ssl = ssl;
            l->proxy_protocol = pp;
        }
    }
}

int
fy_stream_init_cycle(fy_cycle_t *cycle)
{
    fy_stream_main_conf_t    *smcf = cycle->stream;
    fy_stream_srv_conf_t     *scf;
    fy_stream_upstream_t     *su;
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t   tpl;
    fy_array_t                addrs;
    unsigned                  i, j, base;
    int                       rc, named;

    fy_stream_merge(smcf->srv, smcf->srv);
    if (fy_stream_limit_conn_check_names(cycle) != FY_OK) {
        return FY_ERROR;
    }

    /* shared-memory indexes (lock, "no live upstreams") after http's */
    base = cycle->http ? cycle->http->upstreams.nelts : 0;

    for (i = 0; i < smcf->upstreams.nelts; i++) {
        su = fy_array_elt(&smcf->upstreams, fy_stream_upstream_t, i);
        u = su->u;
        u->index = base + i;
        if (u->index >= FY_MAX_UPSTREAMS) {
            fy_log_error(FY_LOG_EMERG, 0, "too many upstreams in http and "
                         "stream (at most %d) in %s:%u", FY_MAX_UPSTREAMS,
                         u->file, u->line);
            return FY_ERROR;
        }
        if (u->implicit) {
            /* every address of a host name (nginx's too) */
            memset(&tpl, 0, sizeof(tpl));
            fy_http_peer_defaults(&tpl);
            rc = fy_parse_addrs(cycle->pool, u->name.data, u->name.len, 1,
                                &addrs, &named);
            if (rc != FY_OK) {
                /* nginx: an unknown name is not an address either */
                fy_log_error(FY_LOG_EMERG, 0, "%s \"%s\" in %s:%u",
                             rc == FY_DECLINED
                             ? "too long path in the unix domain socket"
                             : "host not found in upstream (no stream "
                             "upstream block of that name, and not an "
                             "address with a port)",
                             u->name.data, u->file, u->line);
                return FY_ERROR;
            }
            if (fy_http_upstream_add_peers(cycle->pool, u, &tpl, &u->name,
                                           &addrs, named) != FY_OK)
            {
                return FY_ERROR;
            }
        }
        if (fy_http_upstream_resolve_check(u, smcf->srv->resolver,
                                           smcf->srv->resolver_timeout)
            != FY_OK
            || fy_http_balancer_init(cycle->pool, u) != FY_OK)
        {
            return FY_ERROR;
        }
    }

    for (i = 0; i < smcf->servers.nelts; i++) {
        scf = *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i);
        fy_stream_merge(smcf->srv, scf);

        if (scf->upstream == NULL && scf->upstream_cv == NULL
            && scf->ret == NULL)
        {
            fy_log_error(FY_LOG_EMERG, 0, "no handler for server in %s:%u "
                         "(a stream server needs \"proxy_pass\" or "
                         "\"return\")", scf->file, scf->line);
            return FY_ERROR;
        }
        if (scf->listens.nelts == 0) {
            fy_log_error(FY_LOG_EMERG, 0, "no \"listen\" is defined for "
                         "server in %s:%u", scf->file, scf->line);
            return FY_ERROR;
        }
        for (j = 0; j < scf->listens.nelts; j++) {
            fy_stream_listen_t  *l;

            l = fy_array_elt(&scf->listens, fy_stream_listen_t, j);
            /* a PROXY header and a ClientHello are read from a byte
             * stream; ferry does not look for them in datagrams */
            if (l->udp && (scf->proxy_protocol || scf->ssl_preread)) {
                fy_log_error(FY_LOG_EMERG, 0, "\"%s\" is not "
                             "supported with \"listen ... udp\" in %s:%u",
                             scf->proxy_protocol ? "proxy_protocol on"
                             : "ssl_preread on", scf->file, l->line);
                return FY_ERROR;
            }
            if (fy_stream_add_listen(cycle, scf, l) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
    fy_stream_listen_merge(cycle);
    if (fy_stream_ssl_init_cycle(cycle) != FY_OK) {
        return FY_ERROR;
    }
    return fy_stream_proxy_ssl_init_cycle(cycle);
}
