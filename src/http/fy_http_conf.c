/*
 * fy_http_conf.c -- the http, server, location and upstream
 * directives, and turning what was read into something a worker can
 * use (merged levels, resolved upstreams, listening sockets).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_static.h"
#include "fy_shm.h"

#include <netinet/in.h>

static const char *fy_http_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_server(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_location(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_named_location(fy_conf_t *cf,
    fy_http_srv_conf_t *scf, const fy_str_t *name);
static const char *fy_http_listen(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_server_name(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_upstream_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_upstream_server(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_return(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_proxy_pass(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_upstream_balancer(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_upstream_zone(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_next_upstream(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_large_header_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static fy_str_t *fy_http_param(fy_str_t *arg, const char *name,
    fy_str_t *value);
static const char *fy_http_proxy_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

static const fy_conf_bounds_t  fy_http_buffer_bounds = { 1024, 16777216 };
static const fy_conf_bounds_t  fy_http_header_buffer_bounds = { 64, 16777216 };
static const fy_conf_bounds_t  fy_http_requests_bounds = { 0, 1000000000 };
static const fy_conf_bounds_t  fy_http_tries_bounds = { 0, 1000 };

const fy_command_t  fy_http_commands[] = {

    { "http", FY_CONF_MAIN, FY_CONF_BLOCK, 0, 0, fy_http_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "server", FY_CONF_HTTP, FY_CONF_BLOCK, 0, 0, fy_http_server,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "server", FY_CONF_UPS, 0, 1, FY_CONF_MANY, fy_http_upstream_server,
      FY_CONF_SRV_OFF, 0, NULL },

    { "upstream", FY_CONF_HTTP, FY_CONF_BLOCK, 1, 1, fy_http_upstream_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "least_conn", FY_CONF_UPS, 0, 0, 0, fy_http_upstream_balancer,
      FY_CONF_SRV_OFF, 0, NULL },

    { "ip_hash", FY_CONF_UPS, 0, 0, 0, fy_http_upstream_balancer,
      FY_CONF_SRV_OFF, 0, NULL },

    { "hash", FY_CONF_UPS, 0, 1, 2, fy_http_upstream_balancer,
      FY_CONF_SRV_OFF, 0, NULL },

    { "random", FY_CONF_UPS, 0, 0, 2, fy_http_upstream_balancer,
      FY_CONF_SRV_OFF, 0, NULL },

    { "zone", FY_CONF_UPS, 0, 1, 2, fy_http_upstream_zone,
      FY_CONF_SRV_OFF, 0, NULL },

    { "health_check", FY_CONF_UPS, 0, 0, FY_CONF_MANY, fy_http_health_conf,
      FY_CONF_SRV_OFF, 0, NULL },

    { "location", FY_CONF_SRV | FY_CONF_LOC, FY_CONF_BLOCK, 1, 2,
      fy_http_location,
      FY_CONF_SRV_OFF, 0, NULL },

    { "listen", FY_CONF_SRV, 0, 1, FY_CONF_MANY, fy_http_listen,
      FY_CONF_SRV_OFF, 0, NULL },

    { "server_name", FY_CONF_SRV, 0, 1, FY_CONF_MANY, fy_http_server_name,
      FY_CONF_SRV_OFF, 0, NULL },

    { "client_header_timeout", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, client_header_timeout), NULL },

    { "client_header_buffer_size", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_size, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, client_header_buffer),
      &fy_http_header_buffer_bounds },

    { "large_client_header_buffers", FY_CONF_HTTP | FY_CONF_SRV, 0, 2, 2,
      fy_http_large_header_buffers, FY_CONF_SRV_OFF, 0, NULL },

    { "ignore_invalid_headers", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, ignore_invalid_headers), NULL },

    { "underscores_in_headers", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, underscores_in_headers), NULL },

    { "return", FY_CONF_SRV | FY_CONF_LOC, 0, 1, 2, fy_http_return,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_pass", FY_CONF_LOC, 0, 1, 1, fy_http_proxy_pass,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_connect_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_connect_timeout),
      NULL },

    { "proxy_read_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_read_timeout),
      NULL },

    { "proxy_send_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_send_timeout),
      NULL },

    { "proxy_buffer_size", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_buffer_size),
      &fy_http_buffer_bounds },

    { "keepalive_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, keepalive_timeout),
      NULL },

    { "keepalive_requests", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, keepalive_requests),
      &fy_http_requests_bounds },

    { "send_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, send_timeout), NULL },

    { "client_max_body_size", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, client_max_body_size),
      NULL },

    { "default_type", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_str,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, default_type), NULL },

    /* bodies both ways (fy_http_proxy_request.c, _response.c) */
    { "client_body_buffer_size", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, client_body_buffer_size),
      &fy_http_buffer_bounds },

    { "client_body_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, client_body_timeout),
      NULL },

    { "proxy_buffering", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_buffering), NULL },

    { "proxy_buffers", FY_HTTP_ANY, 0, 2, 2, fy_http_proxy_buffers,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_request_buffering", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_request_buffering),
      NULL },

    { "proxy_next_upstream", FY_HTTP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_next_upstream, FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_next_upstream_tries", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, next_upstream_tries),
      &fy_http_tries_bounds },

    { "proxy_next_upstream_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, next_upstream_timeout),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static fy_http_loc_conf_t *
fy_http_create_loc_conf(fy_pool_t *pool)
{
    fy_http_loc_conf_t  *lcf = fy_pcalloc(pool, sizeof(fy_http_loc_conf_t));

    if (lcf == NULL) {
        return NULL;
    }
    lcf->return_code = FY_CONF_UNSET_INT;
    lcf->proxy_connect_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_read_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_send_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->proxy_buffering = FY_CONF_UNSET_INT;
    lcf->proxy_buffers_size = FY_CONF_UNSET_SIZE;
    lcf->client_body_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->proxy_request_buffering = FY_CONF_UNSET_INT;
    lcf->client_body_timeout = FY_CONF_UNSET_MSEC;
    lcf->keepalive_timeout = FY_CONF_UNSET_MSEC;
    lcf->keepalive_requests = FY_CONF_UNSET_INT;
    lcf->send_timeout = FY_CONF_UNSET_MSEC;
    lcf->client_max_body_size = FY_CONF_UNSET_SIZE;
    lcf->next_upstream_tries = FY_CONF_UNSET_INT;
    lcf->next_upstream_timeout = FY_CONF_UNSET_MSEC;
    lcf->pass_request_headers = FY_CONF_UNSET_INT;
    lcf->pass_request_body = FY_CONF_UNSET_INT;
    lcf->server_tokens = FY_CONF_UNSET_INT;
    lcf->intercept_errors = FY_CONF_UNSET_INT;
    fy_http_gzip_init_conf(&lcf->gzip);
    return lcf;
}

static fy_http_srv_conf_t *
fy_http_create_srv_conf(fy_conf_t *cf)
{
    fy_http_srv_conf_t  *scf = fy_pcalloc(cf->pool, sizeof(fy_http_srv_conf_t));

    if (scf == NULL) {
        return NULL;
    }
    scf->loc = fy_http_create_loc_conf(cf->pool);
    if (scf->loc == NULL) {
        return NULL;
    }
    fy_array_init(&scf->locations, cf->pool, 4, sizeof(fy_http_loc_conf_t *));
    fy_array_init(&scf->regex_locations, cf->pool, 1,
                  sizeof(fy_http_loc_conf_t *));
    fy_array_init(&scf->names, cf->pool, 1, sizeof(fy_str_t));
    fy_array_init(&scf->regex_names, cf->pool, 1, sizeof(fy_http_regex_t *));
    fy_array_init(&scf->named, cf->pool, 1, sizeof(fy_http_loc_conf_t *));
    fy_array_init(&scf->listens, cf->pool, 1, sizeof(fy_http_listen_t));
    scf->client_header_timeout = FY_CONF_UNSET_MSEC;
    scf->client_header_buffer = FY_CONF_UNSET_SIZE;
    scf->large_header_buffer = FY_CONF_UNSET_SIZE;
    scf->large_header_buffers = FY_CONF_UNSET_INT;
    scf->ignore_invalid_headers = FY_CONF_UNSET_INT;
    scf->underscores_in_headers = FY_CONF_UNSET_INT;
    fy_tls_conf_init(cf->pool, &scf->tls);
    scf->file = cf->file ? cf->file->name : "command line";
    scf->line = cf->line;
    return scf;
}

/* Read a block in a new context and restore the old one. */
static const char *
fy_http_parse_block(fy_conf_t *cf, unsigned type, fy_conf_ctx_t *ctx)
{
    fy_conf_ctx_t  *saved_ctx = cf->ctx;
    unsigned        saved_type = cf->ctx_type;
    int             rc;

    cf->ctx = ctx;
    cf->ctx_type = type;
    rc = fy_conf_parse(cf, NULL);
    cf->ctx = saved_ctx;
    cf->ctx_type = saved_type;

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_http_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_cycle_t           *cycle = cf->cycle;
    fy_http_main_conf_t  *hmcf;
    fy_conf_ctx_t        *ctx;

    fy_unused(cmd);
    fy_unused(conf);

    if (cycle->http) {
        return "is duplicate";
    }

    hmcf = fy_pcalloc(cf->pool, sizeof(fy_http_main_conf_t));
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    if (hmcf == NULL || ctx == NULL) {
        return "cannot allocate memory";
    }
    fy_array_init(&hmcf->servers, cf->pool, 4, sizeof(fy_http_srv_conf_t *));
    fy_array_init(&hmcf->upstreams, cf->pool, 4, sizeof(fy_http_upstream_t *));
    hmcf->srv = fy_http_create_srv_conf(cf);
    if (hmcf->srv == NULL) {
        return "cannot allocate memory";
    }
    hmcf->loc = hmcf->srv->loc;
    fy_tls_tickets_init(cf->pool, &hmcf->tickets);
    cycle->http = hmcf;

    ctx->main = hmcf;
    ctx->srv = hmcf->srv;
    ctx->loc = hmcf->loc;

    if (fy_http_parse_block(cf, FY_CONF_HTTP, ctx) != FY_CONF_OK) {
        return FY_CONF_ERROR;
    }
    return fy_http_log_http_done(cf, hmcf);
}

static const char *
fy_http_server(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_main_conf_t   *hmcf = conf;
    fy_http_srv_conf_t    *scf, **pscf;
    fy_conf_ctx_t         *ctx;

    fy_unused(cmd);

    scf = fy_http_create_srv_conf(cf);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    pscf = fy_array_push(&hmcf->servers);
    if (scf == NULL || ctx == NULL || pscf == NULL) {
        return "cannot allocate memory";
    }
    *pscf = scf;

    ctx->main = hmcf;
    ctx->srv = scf;
    ctx->loc = scf->loc;

    return fy_http_parse_block(cf, FY_CONF_SRV, ctx);
}

/* location @NAME { ... }: reached only through error_page, never by
 * the path; as nginx, only directly in a server. */
static const char *
fy_http_named_location(fy_conf_t *cf, fy_http_srv_conf_t *scf,
                       const fy_str_t *name)
{
    fy_http_loc_conf_t  *lcf, **plcf;
    fy_conf_ctx_t       *ctx;
    unsigned             i;

    if (cf->ctx_type != FY_CONF_SRV) {
        fy_conf_error(cf, "named location \"%s\" can be on the server "
                      "level only", name->data);
        return FY_CONF_ERROR;
    }
    if (name->len < 2) {
        fy_conf_error(cf, "invalid named location \"%s\"", name->data);
        return FY_CONF_ERROR;
    }
    for (i = 0; i < scf->named.nelts; i++) {
        lcf = *fy_array_elt(&scf->named, fy_http_loc_conf_t *, i);
        if (fy_str_eq(name, (char *) lcf->name.data)) {
            fy_conf_error(cf, "duplicate location \"%s\"", name->data);
            return FY_CONF_ERROR;
        }
    }
    lcf = fy_http_create_loc_conf(cf->pool);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    plcf = fy_array_push(&scf->named);
    if (lcf == NULL || ctx == NULL || plcf == NULL) {
        return "cannot allocate memory";
    }
    lcf->name = *name;
    lcf->named = 1;
    *plcf = lcf;

    ctx->main = cf->ctx->main;
    ctx->srv = scf;
    ctx->loc = lcf;
    return fy_http_parse_block(cf, FY_CONF_LOC, ctx);
}

static const char *
fy_http_location(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t   *scf = conf;
    fy_http_loc_conf_t   *lcf, **plcf, *parent = NULL;
    fy_conf_ctx_t        *ctx;
    fy_array_t           *list;
    fy_str_t             *name, mod;
    fy_http_regex_t      *re = NULL;
    unsigned              i, exact = 0, noregex = 0;

    fy_unused(cmd);

    /* The modifier is its own word ("~ RE") or glued to the name
     * ("~RE", "=/x"), as nginx accepts both. */
    name = &cf->args[cf->nargs - 1];
    if (cf->nargs == 3) {
        mod = cf->args[1];
    } else {
        mod.data = name->data;
        mod.len = 0;
        if (name->data[0] == '=' || name->data[0] == '~') {
            mod.len = 1 + (name->len > 1 && name->data[0] == '~'
                           && name->data[1] == '*');
        } else if (name->len > 1 && name->data[0] == '^'
                   && name->data[1] == '~')
        {
            mod.len = 2;
        } else if (name->data[0] == '@') {
            return fy_http_named_location(cf, scf, name);
        }
        if (mod.len == name->len) {
            mod.len = 0;            /* "location =" is the prefix "=" */
        }
        name->data += mod.len;
        name->len -= mod.len;
    }

    if (mod.len == 0) {
        /* a prefix location */
    } else if (mod.len == 1 && mod.data[0] == '=') {
        exact = 1;
    } else if (mod.len == 2 && mod.data[0] == '^' && mod.data[1] == '~') {
        noregex = 1;
    } else if (mod.data[0] == '~' && (mod.len == 1 || (mod.len == 2
                                                       && mod.data[1] == '*')))
    {
        re = fy_http_regex_compile(cf, name, mod.len == 2);
        if (re == NULL) {
            return FY_CONF_ERROR;
        }
    } else {
        fy_conf_error(cf, "invalid location modifier \"%.*s\"",
                      (int) mod.len, mod.data);
        return FY_CONF_ERROR;
    }

    /* Nested locations, as nginx: not inside an "=" location; a
     * prefix one must lie within its parent's prefix (so never inside
     * a regex location); regexes may go anywhere. */
    if (cf->ctx_type == FY_CONF_LOC) {
        parent = cf->ctx->loc;
        if (parent->named) {
            fy_conf_error(cf, "location \"%s\" cannot be inside the named "
                          "location \"%s\"", name->data, parent->name.data);
            return FY_CONF_ERROR;
        }
        if (parent->exact) {
            fy_conf_error(cf, "location \"%s\" cannot be inside the exact "
                          "location \"%s\"", name->data, parent->name.data);
            return FY_CONF_ERROR;
        }
        if (re == NULL
            && (parent->regex || name->len < parent->name.len
                || memcmp(name->data, parent->name.data,
                          parent->name.len) != 0))
        {
            fy_conf_error(cf, "location \"%s\" is outside location \"%s\"",
                          name->data, parent->name.data);
            return FY_CONF_ERROR;
        }
        list = re ? parent->regex_locations : parent->locations;
        if (list == NULL) {
            list = fy_pcalloc(cf->pool, sizeof(fy_array_t));
            if (list == NULL) {
                return "cannot allocate memory";
            }
            fy_array_init(list, cf->pool, 2, sizeof(fy_http_loc_conf_t *));
            if (re) {
                parent->regex_locations = list;
            } else {
                parent->locations = list;
            }
        }
    } else {
        list = re ? &scf->regex_locations : &scf->locations;
    }

    for (i = 0; re == NULL && i < list->nelts; i++) {
        lcf = *fy_array_elt(list, fy_http_loc_conf_t *, i);
        if (lcf->exact == exact && lcf->name.len == name->len
            && memcmp(lcf->name.data, name->data, name->len) == 0)
        {
            fy_conf_error(cf, "duplicate location \"%s\"", name->data);
            return FY_CONF_ERROR;
        }
    }

    lcf = fy_http_create_loc_conf(cf->pool);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    plcf = fy_array_push(list);
    if (lcf == NULL || ctx == NULL || plcf == NULL) {
        return "cannot allocate memory";
    }
    lcf->name = *name;
    lcf->exact = exact;
    lcf->noregex = noregex;
    lcf->regex = re;
    *plcf = lcf;

    ctx->main = cf->ctx->main;
    ctx->srv = scf;
    ctx->loc = lcf;

    return fy_http_parse_block(cf, FY_CONF_LOC, ctx);
}

static const char *
fy_http_listen(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    fy_http_listen_t    *l;
    fy_str_t             v;
    int64_t              n;
    unsigned             i;
    int                  rc;

    fy_unused(cmd);

    l = fy_array_push(&scf->listens);
    if (l == NULL) {
        return "cannot allocate memory";
    }
    l->line = cf->line;
    l->backlog = -1;

    rc = fy_parse_addr_port(cf->args[1].data, cf->args[1].len, 0, &l->addr,
                            &l->addrlen);
    if (rc == FY_DECLINED) {
        fy_conf_error(cf, "too long path in the unix domain socket \"%s\" "
                      "in \"listen\" (at most %zu bytes)", cf->args[1].data,
                      sizeof(l->addr.sun.sun_path) - 1);
        return FY_CONF_ERROR;
    }
    if (rc != FY_OK) {
        fy_conf_error(cf, "invalid address \"%s\" in \"listen\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }

    for (i = 2; i < cf->nargs; i++) {
        if (fy_http_param(&cf->args[i], "backlog", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 1 || n > 65535) {
                fy_conf_error(cf, "invalid backlog \"%s\" in \"listen\" "
                              "(1 to 65535)", v.data);
                return FY_CONF_ERROR;
            }
            l->backlog = (int) n;
            continue;
        }
        if (fy_str_eq(&cf->args[i], "reuseport")) {
            /* one socket per worker, balanced by the kernel, is the
             * opposite of the master accepting and choosing a worker
             * (worker_dispatch) */
            fy_conf_error(cf, "\"reuseport\" is not supported: the master "
                          "accepts every connection and hands it to a "
                          "worker (see worker_dispatch)");
            return FY_CONF_ERROR;
        }
        if (fy_str_eq(&cf->args[i], "default_server")
            || fy_str_eq(&cf->args[i], "default"))
        {
            l->default_server = 1;
            continue;
        }
        if (fy_str_eq(&cf->args[i], "ssl")) {
            l->ssl = 1;
            continue;
        }
        fy_conf_error(cf, "invalid parameter \"%s\" in \"listen\"",
                      cf->args[i].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_server_name(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    fy_http_regex_t    **pre;
    fy_str_t            *name, src;
    u_char              *p;
    unsigned             i;
    size_t               j;

    fy_unused(cmd);

    for (i = 1; i < cf->nargs; i++) {
        if (cf->args[i].data[0] == '~') {
            /* Hosts are lowercased already; caseless as in nginx. */
            src.data = cf->args[i].data + 1;
            src.len = cf->args[i].len - 1;
            pre = fy_array_push(&scf->regex_names);
            if (pre == NULL) {
                return "cannot allocate memory";
            }
            *pre = fy_http_regex_compile(cf, &src, 1);
            if (*pre == NULL) {
                return FY_CONF_ERROR;
            }
            continue;
        }
        /* A "*" only as a whole first or last label (nginx) */
        src = cf->args[i];
        p = memchr(src.data, '*', src.len);
        if (p && !((p == src.data && src.len > 2 && src.data[1] == '.'
                    && memchr(p + 1, '*', src.len - 1) == NULL)
                   || (p == src.data + src.len - 1 && src.len > 2
                       && p[-1] == '.')))
        {
            fy_conf_error(cf, "invalid server name or wildcard \"%s\"",
                          src.data);
            return FY_CONF_ERROR;
        }
        name = fy_array_push(&scf->names);
        if (name == NULL) {
            return "cannot allocate memory";
        }
        *name = cf->args[i];
        /* Host comparison is case-insensitive: store lowercase. */
        for (j = 0; j < name->len; j++) {
            if (name->data[j] >= 'A' && name->data[j] <= 'Z') {
                name->data[j] |= 0x20;
            }
        }
    }
    return FY_CONF_OK;
}

/* Find the upstream called name, creating an implicit one (to be
 * resolved as host:port at the end) when there is none yet. */
static fy_http_upstream_t *
fy_http_upstream_get(fy_conf_t *cf, fy_http_main_conf_t *hmcf,
                     const fy_str_t *name)
{
    fy_http_upstream_t  *u, **pu;
    unsigned             i;

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        if (u->name.len == name->len
            && strncasecmp((char *) u->name.data, (char *) name->data,
                           name->len) == 0)
        {
            return u;
        }
    }

    u = fy_pcalloc(cf->pool, sizeof(fy_http_upstream_t));
    pu = fy_array_push(&hmcf->upstreams);
    if (u == NULL || pu == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    u->name.data = (u_char *) fy_pstrndup(cf->pool, name->data, name->len);
    u->name.len = name->len;
    u->file = cf->file ? cf->file->name : "command line";
    u->line = cf->line;
    u->implicit = 1;
    u->keepalive_timeout = FY_CONF_UNSET_MSEC;
    u->keepalive_requests = FY_CONF_UNSET_INT;
    u->index = hmcf->upstreams.nelts - 1;
    if (u->index >= FY_MAX_UPSTREAMS) {
        fy_conf_error(cf, "too many upstreams (at most %d)", FY_MAX_UPSTREAMS);
        return NULL;
    }
    fy_array_init(&u->peers, cf->pool, 2, sizeof(fy_http_upstream_peer_t));
    *pu = u;
    return u;
}

static const char *
fy_http_upstream_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_main_conf_t  *hmcf = conf;
    fy_http_upstream_t   *u;
    fy_conf_ctx_t        *ctx;
    const char           *rv;

    fy_unused(cmd);

    u = fy_http_upstream_get(cf, hmcf, &cf->args[1]);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    if (u == NULL || ctx == NULL) {
        return FY_CONF_ERROR;
    }
    if (u->defined) {
        fy_conf_error(cf, "duplicate upstream \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    u->defined = 1;
    u->implicit = 0;
    u->file = cf->file ? cf->file->name : "command line";
    u->line = cf->line;

    ctx->main = hmcf;
    ctx->srv = u;
    ctx->loc = NULL;

    rv = fy_http_parse_block(cf, FY_CONF_UPS, ctx);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    if (u->peers.nelts == 0) {
        fy_conf_error(cf, "no servers are inside upstream \"%s\"",
                      u->name.data);
        return FY_CONF_ERROR;
    }
    if (u->has_backup && u->balancer && !u->balancer->backup) {
        fy_conf_error(cf, "\"%s\" balancing in upstream \"%s\" does not "
                      "support \"backup\" servers", u->balancer->name,
                      u->name.data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_upstream_balancer(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t  *u = conf;

    fy_unused(cmd);

    if (u->balancer) {
        fy_conf_error(cf, "balancing method \"%s\" is already set in "
                      "upstream \"%s\"", u->balancer->name, u->name.data);
        return FY_CONF_ERROR;
    }
    u->balancer = fy_http_balancer_find(&cf->args[0]);
    return u->balancer->conf ? u->balancer->conf(cf, u) : FY_CONF_OK;
}

/* nginx needs "zone" for state shared by its workers; ferry's upstream
 * state is always in shared memory, so the directive is accepted for
 * configurations written for nginx and changes nothing. */
static const char *
fy_http_upstream_zone(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_unused(cmd);
    fy_unused(conf);

    if (cf->nargs == 3 && fy_conf_parse_size(&cf->args[2]) == -1) {
        fy_conf_error(cf, "invalid zone size \"%s\"", cf->args[2].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* "name=value" with name matching: the value, else NULL. */
static fy_str_t *
fy_http_param(fy_str_t *arg, const char *name, fy_str_t *value)
{
    size_t  n = strlen(name);

    if (arg->len <= n || memcmp(arg->data, name, n) != 0
        || arg->data[n] != '=')
    {
        return NULL;
    }
    value->data = arg->data + n + 1;
    value->len = arg->len - n - 1;
    return value;
}

static void
fy_http_peer_defaults(fy_http_upstream_peer_t *peer)
{
    peer->weight = 1;
    peer->max_fails = 1;
    peer->fail_timeout = 10000;
}

static const char *
fy_http_upstream_server(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t       *u = conf;
    fy_http_upstream_peer_t  *peer;
    fy_str_t                 *arg, v;
    int64_t                   n;
    unsigned                  i;
    int                       rc;

    fy_unused(cmd);

    peer = fy_array_push(&u->peers);
    if (peer == NULL) {
        return "cannot allocate memory";
    }
    memset(peer, 0, sizeof(*peer));
    fy_http_peer_defaults(peer);

    rc = fy_parse_addr_port(cf->args[1].data, cf->args[1].len, 0,
                            &peer->addr, &peer->addrlen);
    if (rc != FY_OK) {
        fy_conf_error(cf, rc == FY_DECLINED
                          ? "too long path in the unix domain socket \"%s\""
                          : "host not found in upstream \"%s\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    peer->name = cf->args[1];

    for (i = 2; i < cf->nargs; i++) {
        arg = &cf->args[i];

        if (fy_http_param(arg, "weight", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 1 || n > 1000) {
                goto invalid;
            }
            peer->weight = (unsigned) n;
        } else if (fy_http_param(arg, "max_fails", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 0 || n > 1000000) {
                goto invalid;
            }
            peer->max_fails = (unsigned) n;
        } else if (fy_http_param(arg, "max_conns", &v)) {
            n = fy_atoi(v.data, v.len);
            if (n < 0 || n > 1000000000) {
                goto invalid;
            }
            peer->max_conns = (unsigned) n;
        } else if (fy_http_param(arg, "fail_timeout", &v)) {
            peer->fail_timeout = fy_conf_parse_msec(&v);
            if (peer->fail_timeout < 0) {
                goto invalid;
            }
        } else if (fy_http_param(arg, "slow_start", &v)) {
            peer->slow_start = fy_conf_parse_msec(&v);
            if (peer->slow_start < 0) {
                goto invalid;
            }
        } else if (fy_str_eq(arg, "backup")) {
            peer->backup = 1;
            u->has_backup = 1;
        } else if (fy_str_eq(arg, "down")) {
            peer->down = 1;
        } else {
            goto invalid;
        }
    }
    if (peer->backup && peer->down) {
        fy_conf_error(cf, "a server cannot be both \"backup\" and \"down\"");
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid parameter \"%s\"", arg->data);
    return FY_CONF_ERROR;
}

static const char *
fy_http_next_upstream(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const fy_conf_enum_t  cases[] = {
        { "error",          FY_HTTP_NEXT_ERROR },
        { "timeout",        FY_HTTP_NEXT_TIMEOUT },
        { "invalid_header", FY_HTTP_NEXT_INVALID_HEADER },
        { "http_500",       FY_HTTP_NEXT_HTTP_500 },
        { "http_502",       FY_HTTP_NEXT_HTTP_502 },
        { "http_503",       FY_HTTP_NEXT_HTTP_503 },
        { "http_504",       FY_HTTP_NEXT_HTTP_504 },
        { "http_403",       FY_HTTP_NEXT_HTTP_403 },
        { "http_404",       FY_HTTP_NEXT_HTTP_404 },
        { "http_429",       FY_HTTP_NEXT_HTTP_429 },
        { "non_idempotent", FY_HTTP_NEXT_NON_IDEMPOTENT },
        { "off",            FY_HTTP_NEXT_OFF },
        { NULL, 0 }
    };
    fy_http_loc_conf_t    *lcf = conf;
    const fy_conf_enum_t  *e;
    unsigned               i, mask = 0;

    fy_unused(cmd);

    if (lcf->next_upstream) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (e = cases; e->name; e++) {
            if (fy_str_eq(&cf->args[i], e->name)) {
                break;
            }
        }
        if (e->name == NULL) {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        mask |= (unsigned) e->value;
    }
    if ((mask & FY_HTTP_NEXT_OFF) && mask != FY_HTTP_NEXT_OFF) {
        fy_conf_error(cf, "\"off\" cannot be combined with other values");
        return FY_CONF_ERROR;
    }
    lcf->next_upstream = mask;
    return FY_CONF_OK;
}

/* large_client_header_buffers NUMBER SIZE */
static const char *
fy_http_large_header_buffers(fy_conf_t *cf, const fy_command_t *cmd,
                             void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    int64_t              n, size;

    fy_unused(cmd);

    if (scf->large_header_buffers != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (n < 1 || n > 1024) {
        fy_conf_error(cf, "invalid number of buffers \"%s\" (1 to 1024)",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    size = fy_conf_parse_size(&cf->args[2]);
    if (size < fy_http_header_buffer_bounds.min
        || size > fy_http_header_buffer_bounds.max)
    {
        fy_conf_error(cf, "invalid buffer size \"%s\" (64 to 16m)",
                      cf->args[2].data);
        return FY_CONF_ERROR;
    }
    scf->large_header_buffers = (int) n;
    scf->large_header_buffer = (size_t) size;
    return FY_CONF_OK;
}

/* proxy_buffers NUMBER SIZE: the response buffers one request may fill
 * ahead of a slow client (nginx wants at least two). */
static const char *
fy_http_proxy_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    int64_t              num, size;

    fy_unused(cmd);

    if (lcf->proxy_buffers_size != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    num = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (num < 2 || num > 4096) {
        fy_conf_error(cf, "invalid number of buffers \"%s\" in "
                      "\"proxy_buffers\" directive, it must be between 2 "
                      "and 4096", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    size = fy_conf_parse_size(&cf->args[2]);
    if (size < fy_http_buffer_bounds.min || size > fy_http_buffer_bounds.max)
    {
        fy_conf_error(cf, "invalid buffer size \"%s\" in \"proxy_buffers\" "
                      "directive, it must be between 1k and 16m",
                      cf->args[2].data);
        return FY_CONF_ERROR;
    }
    lcf->proxy_buffers_num = (unsigned) num;
    lcf->proxy_buffers_size = (size_t) size;
    return FY_CONF_OK;
}

static int
fy_http_is_redirect(int code)
{
    return code == 301 || code == 302 || code == 303 || code == 307
           || code == 308;
}

static const char *
fy_http_return(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *text = NULL;
    int64_t              code;

    fy_unused(cmd);

    if (lcf->return_code != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }

    code = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (code == -1) {
        if (cf->nargs != 2
            || (strncmp((char *) cf->args[1].data, "http://", 7) != 0
                && strncmp((char *) cf->args[1].data, "https://", 8) != 0
                && strncmp((char *) cf->args[1].data, "$scheme", 7) != 0))
        {
            fy_conf_error(cf, "invalid return code \"%s\"", cf->args[1].data);
            return FY_CONF_ERROR;
        }
        code = 302;
        text = &cf->args[1];
    } else if (code > 999) {
        fy_conf_error(cf, "invalid return code \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    } else if (cf->nargs == 3) {
        text = &cf->args[2];
    }

    lcf->return_code = (int) code;
    if (text) {
        lcf->return_text = fy_http_cv_compile(cf, text);
        if (lcf->return_text == NULL) {
            return FY_CONF_ERROR;
        }
    } else if (fy_http_is_redirect((int) code)) {
        fy_conf_error(cf, "redirect code %d needs a URL", (int) code);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_proxy_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t             url = cf->args[1], host;
    u_char              *slash;
    size_t               skip;

    fy_unused(cmd);

    if (fy_http_proxied(lcf)) {
        return "is duplicate";
    }

    if (memchr(url.data, '$', url.len)
        && (url.data[0] == '$'
            || (url.len > 7
                && strncasecmp((char *) url.data, "http://", 7) == 0)))
    {
        /* Evaluated per request (fy_http_proxy_handler): the host names
         * an upstream, the URI part (if any) is sent as is. */
        lcf->proxy_pass_cv = fy_http_cv_compile(cf, &url);
        if (lcf->proxy_pass_cv == NULL) {
            return FY_CONF_ERROR;
        }
        lcf->proxy_upstreams = &((fy_http_main_conf_t *) cf->ctx->main)
                                   ->upstreams;
        return FY_CONF_OK;
    }

    if (url.len > 8 && strncasecmp((char *) url.data, "https://", 8) == 0) {
        /* TLS to the upstream: fy_http_proxy_ssl.c */
        lcf->proxy_https = 1;
        skip = 8;
    } else if (url.len > 7
               && strncasecmp((char *) url.data, "http://", 7) == 0)
    {
        skip = 7;
    } else {
        fy_conf_error(cf, "invalid URL prefix in \"%s\"", url.data);
        return FY_CONF_ERROR;
    }
    if (memchr(url.data, '$', url.len)) {
        fy_conf_error(cf, "variables in \"proxy_pass https://\" are not "
                      "supported: \"%s\"", url.data);
        return FY_CONF_ERROR;
    }

    host.data = url.data + skip;
    if (url.len > skip + 5 && strncmp((char *) host.data, "unix:", 5) == 0) {
        /* nginx's "http://unix:/path.sock:/uri": the path ends at the
         * next ':', what follows is the URI part */
        slash = memchr(host.data + 5, ':', url.len - skip - 5);
        host.len = slash ? (size_t) (slash - host.data) : url.len - skip;
        if (slash && slash + 1 == url.data + url.len) {
            slash = NULL;                   /* "...sock:" has no URI */
        } else if (slash) {
            slash++;
        }
    } else {
        slash = memchr(host.data, '/', url.len - skip);
        host.len = slash ? (size_t) (slash - host.data) : url.len - skip;
    }
    if (host.len == 0) {
        fy_conf_error(cf, "no host in \"%s\"", url.data);
        return FY_CONF_ERROR;
    }
    if (slash && (lcf->regex || lcf->named)) {
        /* nothing says which part of the path to replace */
        fy_conf_error(cf, "\"proxy_pass\" cannot have URI part in location "
                      "given by regular expression, or inside named "
                      "location");
        return FY_CONF_ERROR;
    }
    if (slash) {
        lcf->proxy_uri.data = slash;
        lcf->proxy_uri.len = (size_t) (url.data + url.len - slash);
        lcf->proxy_uri_set = 1;
    }

    lcf->proxy_host = host;
    if (host.len > 5 && strncmp((char *) host.data, "unix:", 5) == 0) {
        /* the Host sent to a unix-domain upstream, as nginx */
        fy_str_set(&lcf->proxy_host, "localhost");
    }
    lcf->upstream = fy_http_upstream_get(cf, cf->ctx->main, &host);
    if (lcf->upstream == NULL) {
        return FY_CONF_ERROR;
    }
    /* a host without a port: 80, or 443 for https (if it is not the
     * name of an upstream block, which is known only at the end) */
    slash = memchr(host.data, ']', host.len);
    slash = slash ? slash : host.data;
    if (memchr(slash, ':', host.len - (size_t) (slash - host.data)) == NULL) {
        if (lcf->proxy_https) {
            lcf->upstream->bare_https = 1;
        } else {
            lcf->upstream->bare_http = 1;
        }
    }
    return FY_CONF_OK;
}

/* ---- after reading: merge, resolve, listen ---- */

#define fy_merge(child, parent, unset, dflt)                               \
    do {                                                                   \
        if ((child) == (unset)) {                                          \
            (child) = ((parent) == (unset)) ? (dflt) : (parent);           \
        }                                                                  \
    } while (0)

static void
fy_http_merge_loc(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_merge(conf->proxy_connect_timeout, prev->proxy_connect_timeout,
             FY_CONF_UNSET_MSEC, 60000);
    fy_merge(conf->proxy_read_timeout, prev->proxy_read_timeout,
             FY_CONF_UNSET_MSEC, 60000);
    fy_merge(conf->proxy_send_timeout, prev->proxy_send_timeout,
             FY_CONF_UNSET_MSEC, 60000);
    fy_merge(conf->proxy_buffer_size, prev->proxy_buffer_size,
             FY_CONF_UNSET_SIZE, 16384);
    fy_merge(conf->keepalive_timeout, prev->keepalive_timeout,
             FY_CONF_UNSET_MSEC, 75000);
    fy_merge(conf->keepalive_requests, prev->keepalive_requests,
             FY_CONF_UNSET_INT, 1000);
    fy_merge(conf->send_timeout, prev->send_timeout,
             FY_CONF_UNSET_MSEC, 60000);
    fy_merge(conf->client_max_body_size, prev->client_max_body_size,
             FY_CONF_UNSET_SIZE, 1024 * 1024);
    /* nginx's defaults on 64-bit Linux: "8 4k" is 8 memory pages,
     * client_body_buffer_size two */
    fy_merge(conf->proxy_buffering, prev->proxy_buffering,
             FY_CONF_UNSET_INT, 1);
    if (conf->proxy_buffers_size == FY_CONF_UNSET_SIZE) {
        conf->proxy_buffers_num = prev->proxy_buffers_size
                                  == FY_CONF_UNSET_SIZE
                                  ? 8 : prev->proxy_buffers_num;
        conf->proxy_buffers_size = prev->proxy_buffers_size
                                   == FY_CONF_UNSET_SIZE
                                   ? 4096 : prev->proxy_buffers_size;
    }
    fy_merge(conf->client_body_buffer_size, prev->client_body_buffer_size,
             FY_CONF_UNSET_SIZE, 16384);
    fy_merge(conf->client_body_timeout, prev->client_body_timeout,
             FY_CONF_UNSET_MSEC, 60000);
    fy_merge(conf->proxy_request_buffering, prev->proxy_request_buffering,
             FY_CONF_UNSET_INT, 1);
    /* access_log: a level with none of its own logs like its parent */
    if (conf->access_logs.nelts == 0 && !conf->access_log_off) {
        conf->access_logs = prev->access_logs;
        conf->access_log_off = prev->access_log_off;
    }
    fy_merge(conf->next_upstream, prev->next_upstream, 0,
             FY_HTTP_NEXT_ERROR | FY_HTTP_NEXT_TIMEOUT);
    fy_merge(conf->next_upstream_tries, prev->next_upstream_tries,
             FY_CONF_UNSET_INT, 0);
    fy_merge(conf->next_upstream_timeout, prev->next_upstream_timeout,
             FY_CONF_UNSET_MSEC, 0);
    if (conf->default_type.data == NULL) {
        if (prev->default_type.data) {
            conf->default_type = prev->default_type;
        } else {
            fy_str_set(&conf->default_type, "text/plain");
        }
    }
    /* "return" and "proxy_pass" in a server apply to its locations
     * that have no handler of their own, as nginx's server-level
     * return runs before location matching. */
    if (conf->access == NULL) {
        conf->access = prev->access;
    }
    if (conf->return_code == FY_CONF_UNSET_INT && !fy_http_proxied(conf)
        && conf->handler == NULL)
    {
        conf->return_code = prev->return_code;
        conf->return_text = prev->return_text;
    }
    fy_http_static_merge(prev, conf);
    fy_http_proxy_ssl_merge(prev, conf);
    fy_http_headers_merge(prev, conf);
    fy_http_gzip_merge_conf(&prev->gzip, &conf->gzip);
}

/* How a server reads request headers; nginx's defaults: 1k, 4 8k, on,
 * off. */
static void
fy_http_merge_header_conf(fy_http_srv_conf_t *prev, fy_http_srv_conf_t *conf)
{
    fy_merge(conf->client_header_buffer, prev->client_header_buffer,
             FY_CONF_UNSET_SIZE, 1024);
    if (conf->large_header_buffers == FY_CONF_UNSET_INT) {
        conf->large_header_buffers = prev->large_header_buffers;
        conf->large_header_buffer = prev->large_header_buffer;
    }
    if (conf->large_header_buffers == FY_CONF_UNSET_INT) {
        conf->large_header_buffers = 4;
        conf->large_header_buffer = 8192;
    }
    fy_merge(conf->ignore_invalid_headers, prev->ignore_invalid_headers,
             FY_CONF_UNSET_INT, 1);
    fy_merge(conf->underscores_in_headers, prev->underscores_in_headers,
             FY_CONF_UNSET_INT, 0);
}

static int
fy_loc_cmp(const void *a, const void *b)
{
    const fy_http_loc_conf_t *la = *(fy_http_loc_conf_t *const *) a;
    const fy_http_loc_conf_t *lb = *(fy_http_loc_conf_t *const *) b;

    /* Longest prefix first, so the first match is the best one. */
    if (la->name.len != lb->name.len) {
        return la->name.len > lb->name.len ? -1 : 1;
    }
    return (int) lb->exact - (int) la->exact;
}

/* Merge each location of list (and those nested in it) with its
 * parent's values; sort a list of prefix locations longest first. */
static void
fy_http_init_locations(fy_http_srv_conf_t *scf, fy_http_loc_conf_t *parent,
                       fy_array_t *list, int sort)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i;
    int                  code;

    for (i = 0; list && i < list->nelts; i++) {
        lcf = *fy_array_elt(list, fy_http_loc_conf_t *, i);
        code = lcf->return_code;
        fy_http_merge_loc(parent, lcf);
        if (parent != scf->loc && code == FY_CONF_UNSET_INT
            && !fy_http_proxied(lcf) && lcf->handler == NULL)
        {
            /* Only the server's "return" reaches a nested location; its
             * parent's does not (nginx). */
            lcf->return_code = scf->loc->return_code;
            lcf->return_text = scf->loc->return_text;
        }
        fy_http_init_locations(scf, lcf, lcf->locations, 1);
        fy_http_init_locations(scf, lcf, lcf->regex_locations, 0);
    }
    if (sort && list && list->nelts > 1) {
        qsort(list->elts, list->nelts, sizeof(fy_http_loc_conf_t *),
              fy_loc_cmp);
    }
}

static int
fy_http_same_addr(const fy_sockaddr_t *a, socklen_t alen,
                  const fy_sockaddr_t *b, socklen_t blen)
{
    return alen == blen && memcmp(a, b, alen) == 0;
}

static int
fy_http_add_listen(fy_cycle_t *cycle, fy_http_srv_conf_t *scf,
                   fy_http_listen_t *l)
{
    fy_listen_t          *ls;
    fy_http_srv_conf_t  **pscf, *first;
    unsigned              i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (fy_http_same_addr(&ls->addr, ls->addrlen, &l->addr, l->addrlen)) {
            goto found;
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
    ls->addr = l->addr;
    ls->addrlen = l->addrlen;
    ls->fd = -1;
    ls->backlog = -1;
    ls->index = cycle->listening.nelts - 1;
    fy_sockaddr_text(&l->addr.sa, l->addrlen, ls->text, sizeof(ls->text), 1);
    fy_array_init(&ls->servers, cycle->pool, 2, sizeof(fy_http_srv_conf_t *));

found:

    if (l->backlog != -1) {
        /* socket options belong to the address: set once (nginx) */
        if (ls->backlog != -1) {
            fy_log_error(FY_LOG_EMERG, 0, "duplicate listen options for %s "
                         "in %s:%u", ls->text, scf->file, l->line);
            return FY_ERROR;
        }
        ls->backlog = l->backlog;
    }
    ls->ssl |= l->ssl;
    pscf = fy_array_push(&ls->servers);
    if (pscf == NULL) {
        return FY_ERROR;
    }
    *pscf = scf;

    if (l->default_server) {
        first = *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, 0);
        for (i = 0; i < ls->servers.nelts - 1; i++) {
            fy_http_srv_conf_t *s =
                *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, i);
            fy_http_listen_t   *sl;
            unsigned            k;

            for (k = 0; k < s->listens.nelts; k++) {
                sl = fy_array_elt(&s->listens, fy_http_listen_t, k);
                if (sl->default_server
                    && fy_http_same_addr(&sl->addr, sl->addrlen, &l->addr,
                                         l->addrlen))
                {
                    fy_log_error(FY_LOG_EMERG, 0, "a duplicate default "
                                 "server for %s in %s:%u", ls->text,
                                 scf->file, l->line);
                    return FY_ERROR;
                }
            }
        }
        /* The default server goes first: it answers unknown hosts. */
        pscf = fy_array_elt(&ls->servers, fy_http_srv_conf_t *,
                            ls->servers.nelts - 1);
        *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, 0) = scf;
        *pscf = first;
    }
    return FY_OK;
}

int
fy_http_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_srv_conf_t   *scf;
    fy_http_upstream_t   *u;
    fy_http_upstream_peer_t *peer;
    fy_http_listen_t     *l;
    unsigned              i, j;
    int                   rc;

    fy_http_merge_loc(hmcf->loc, hmcf->loc);
    fy_merge(hmcf->srv->client_header_timeout, FY_CONF_UNSET_MSEC,
             FY_CONF_UNSET_MSEC, 60000);
    fy_http_merge_header_conf(hmcf->srv, hmcf->srv);

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        /* nginx's upstream keepalive defaults */
        fy_merge(u->keepalive_timeout, FY_CONF_UNSET_MSEC,
                 FY_CONF_UNSET_MSEC, 60000);
        fy_merge(u->keepalive_requests, FY_CONF_UNSET_INT,
                 FY_CONF_UNSET_INT, 1000);
    }

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        if (u->implicit) {
            if (u->bare_http && u->bare_https) {
                fy_log_error(FY_LOG_EMERG, 0, "\"%s\" is used by both "
                             "http:// and https:// without a port; give "
                             "the port in %s:%u", u->name.data, u->file,
                             u->line);
                return FY_ERROR;
            }
            peer = fy_array_push(&u->peers);
            if (peer == NULL) {
                return FY_ERROR;
            }
            memset(peer, 0, sizeof(*peer));
            fy_http_peer_defaults(peer);
            rc = fy_parse_addr_port(u->name.data, u->name.len, 0,
                                    &peer->addr, &peer->addrlen);
            if (rc != FY_OK) {
                fy_log_error(FY_LOG_EMERG, 0, "%s \"%s\" in %s:%u",
                             rc == FY_DECLINED
                             ? "too long path in the unix domain socket"
                             : "host not found in upstream",
                             u->name.data, u->file, u->line);
                return FY_ERROR;
            }
            if (u->bare_https) {
                /* fy_parse_addr_port gave 80 (sin_port and sin6_port
                 * share their place) */
                peer->addr.sin6.sin6_port = htons(443);
            }
            peer->name = u->name;
        }
        if (fy_http_balancer_init(cycle->pool, u) != FY_OK) {
            return FY_ERROR;
        }
    }

    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);

        fy_merge(scf->client_header_timeout, hmcf->srv->client_header_timeout,
                 FY_CONF_UNSET_MSEC, 60000);
        fy_http_merge_header_conf(hmcf->srv, scf);
        fy_http_merge_loc(hmcf->loc, scf->loc);

        fy_http_init_locations(scf, scf->loc, &scf->locations, 1);
        fy_http_init_locations(scf, scf->loc, &scf->regex_locations, 0);
        fy_http_init_locations(scf, scf->loc, &scf->named, 0);

        if (scf->listens.nelts == 0) {
            /* nginx's default: a server without "listen" takes *:80 */
            l = fy_array_push(&scf->listens);
            if (l == NULL) {
                return FY_ERROR;
            }
            fy_parse_addr_port((u_char *) "80", 2, 0, &l->addr, &l->addrlen);
            l->line = scf->line;
            l->backlog = -1;
        }
        for (j = 0; j < scf->listens.nelts; j++) {
            l = fy_array_elt(&scf->listens, fy_http_listen_t, j);
            if (fy_http_add_listen(cycle, scf, l) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        fy_listen_t *ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->backlog == -1) {
            ls->backlog = 511;          /* nginx's NGX_LISTEN_BACKLOG */
        }
    }
    if (fy_http_proxy_ssl_init_cycle(cycle) != FY_OK) {
        return FY_ERROR;
    }
    return fy_http_ssl_init_cycle(cycle);
}
