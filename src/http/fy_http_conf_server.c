/*
 * fy_http_conf_server.c -- the http, server and location blocks (each
 * read in its own context, with a fresh server or location conf) and
 * the listen directive (server_name: fy_http_server_name.c).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_conf.h"

#include <netinet/in.h>

static const char *fy_http_named_location(fy_conf_t *cf,
    fy_http_srv_conf_t *scf, const fy_str_t *name);

static fy_http_loc_conf_t *
fy_http_create_loc_conf(fy_pool_t *pool)
{
    fy_http_loc_conf_t  *lcf = fy_pcalloc(pool, sizeof(fy_http_loc_conf_t));

    if (lcf == NULL) {
        return NULL;
    }
    lcf->rewrite_log = FY_CONF_UNSET_INT;
    lcf->uninitialized_variable_warn = FY_CONF_UNSET_INT;
    lcf->proxy_connect_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_read_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_send_timeout = FY_CONF_UNSET_MSEC;
    lcf->proxy_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->proxy_buffering = FY_CONF_UNSET_INT;
    lcf->proxy_limit_rate = FY_CONF_UNSET_SIZE;
    lcf->proxy_force_ranges = FY_CONF_UNSET_INT;
    lcf->proxy_store_access = FY_CONF_UNSET_INT;
    lcf->proxy_buffers_size = FY_CONF_UNSET_SIZE;
    lcf->client_body_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->proxy_request_buffering = FY_CONF_UNSET_INT;
    lcf->mirror_request_body = FY_CONF_UNSET_INT;
    lcf->log_subrequest = FY_CONF_UNSET_INT;
    lcf->client_body_timeout = FY_CONF_UNSET_MSEC;
    lcf->keepalive_timeout = FY_CONF_UNSET_MSEC;
    lcf->keepalive_requests = FY_CONF_UNSET_INT;
    lcf->send_timeout = FY_CONF_UNSET_MSEC;
    lcf->sendfile = FY_CONF_UNSET_INT;
    lcf->tcp_nopush = FY_CONF_UNSET_INT;
    lcf->tcp_nodelay = FY_CONF_UNSET_INT;
    lcf->sendfile_max_chunk = FY_CONF_UNSET_SIZE;
    lcf->output_buffers_size = FY_CONF_UNSET_SIZE;
    lcf->directio = FY_CONF_UNSET;
    lcf->directio_alignment = FY_CONF_UNSET_SIZE;
    lcf->read_ahead = FY_CONF_UNSET_SIZE;
    lcf->absolute_redirect = FY_CONF_UNSET_INT;
    lcf->server_name_in_redirect = FY_CONF_UNSET_INT;
    lcf->port_in_redirect = FY_CONF_UNSET_INT;
    lcf->log_not_found = FY_CONF_UNSET_INT;
    lcf->chunked_transfer_encoding = FY_CONF_UNSET_INT;
    lcf->lingering_close = FY_CONF_UNSET_INT;
    lcf->lingering_time = FY_CONF_UNSET_MSEC;
    lcf->lingering_timeout = FY_CONF_UNSET_MSEC;
    lcf->client_max_body_size = FY_CONF_UNSET_SIZE;
    lcf->next_upstream_tries = FY_CONF_UNSET_INT;
    lcf->next_upstream_timeout = FY_CONF_UNSET_MSEC;
    lcf->pass_request_headers = FY_CONF_UNSET_INT;
    lcf->pass_request_body = FY_CONF_UNSET_INT;
    lcf->server_tokens = FY_CONF_UNSET_INT;
    lcf->intercept_errors = FY_CONF_UNSET_INT;
    lcf->satisfy = FY_CONF_UNSET_INT;
    lcf->auth_delay = FY_CONF_UNSET_MSEC;
    lcf->subrequest_output_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->expires = FY_CONF_UNSET_INT;
    lcf->etag = FY_CONF_UNSET_INT;
    lcf->recursive_error_pages = FY_CONF_UNSET_INT;
    lcf->if_modified_since = FY_CONF_UNSET_INT;
    lcf->max_ranges = FY_CONF_UNSET_INT;
    lcf->slice_size = FY_CONF_UNSET_SIZE;
    lcf->proxy_ignore_client_abort = FY_CONF_UNSET_INT;
    lcf->proxy_socket_keepalive = FY_CONF_UNSET_INT;
    fy_http_gzip_init_conf(&lcf->gzip);
    fy_http_fastcgi_init_conf(lcf);
    fy_http_memcached_init_conf(lcf);
    fy_http_limit_init_conf(lcf);
    fy_http_cache_init_conf(&lcf->cache);
    fy_http_keepalive_init_conf(lcf);
    fy_http_temp_init_conf(lcf);
    fy_http_dav_init_conf(lcf);
    lcf->random_index = FY_CONF_UNSET_INT;
    lcf->mp4_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->resolver_timeout = FY_CONF_UNSET_MSEC;
    lcf->mp4_max_buffer_size = FY_CONF_UNSET_SIZE;
    lcf->mp4_start_key_frame = FY_CONF_UNSET_INT;
    fy_http_open_file_cache_init_conf(lcf);
    fy_http_userid_init_conf(lcf);
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
    fy_http_names_init(&scf->sn, cf->pool);
    fy_array_init(&scf->named, cf->pool, 1, sizeof(fy_http_loc_conf_t *));
    fy_array_init(&scf->listens, cf->pool, 1, sizeof(fy_http_listen_t));
    scf->client_header_timeout = FY_CONF_UNSET_MSEC;
    scf->client_header_buffer = FY_CONF_UNSET_SIZE;
    scf->large_header_buffer = FY_CONF_UNSET_SIZE;
    scf->large_header_buffers = FY_CONF_UNSET_INT;
    scf->ignore_invalid_headers = FY_CONF_UNSET_INT;
    scf->underscores_in_headers = FY_CONF_UNSET_INT;
    scf->max_headers = FY_CONF_UNSET_INT;
    scf->merge_slashes = FY_CONF_UNSET_INT;
    fy_tls_conf_init(cf->pool, &scf->tls);
    scf->file = cf->file ? cf->file->name : "command line";
    scf->line = cf->line;
    return scf;
}

/* Read a block in a new context and restore the old one. */
const char *
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

const char *
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

    if (fy_http_parse_block(cf, FY_CONF_HTTP, ctx) != FY_CONF_OK
        || fy_http_map_http_done(cf, hmcf) != FY_CONF_OK
        || fy_http_limit_http_done(cf, hmcf) != FY_CONF_OK)
    {
        return FY_CONF_ERROR;
    }
    return fy_http_log_http_done(cf, hmcf);
}

const char *
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

const char *
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

/*
 * if (...) { ... } in a location: nginx makes the block a nameless
 * location nested in it, whose conf becomes the request's while the
 * condition holds (fy_http_rewrite.c).  It has the location's name
 * (proxy_pass's URI part, alias and try_files cut it from the path)
 * and is merged with it at init (fy_http_conf_init.c).
 */
const char *
fy_http_location_if(fy_conf_t *cf, fy_http_loc_conf_t *parent,
                    fy_http_rw_script_t *block, fy_http_loc_conf_t **out)
{
    fy_http_loc_conf_t   *lcf, **plcf;
    fy_conf_ctx_t        *ctx;

    if (parent->ifs == NULL) {
        parent->ifs = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (parent->ifs == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(parent->ifs, cf->pool, 2, sizeof(fy_http_loc_conf_t *));
    }
    lcf = fy_http_create_loc_conf(cf->pool);
    ctx = fy_pcalloc(cf->pool, sizeof(fy_conf_ctx_t));
    plcf = fy_array_push(parent->ifs);
    if (lcf == NULL || ctx == NULL || plcf == NULL) {
        return "cannot allocate memory";
    }
    lcf->name = parent->name;
    lcf->exact = parent->exact;
    lcf->regex = parent->regex;
    lcf->noname = 1;
    lcf->rw_cur = block;            /* rewrite, set, ... go to the if */
    *plcf = lcf;
    *out = lcf;

    ctx->main = cf->ctx->main;
    ctx->srv = cf->ctx->srv;
    ctx->loc = lcf;

    return fy_http_parse_block(cf, FY_CONF_LIF, ctx);
}

/* One address of a listen: its parameters read for its family.
 * first: the line's first address (warnings said once). */
static int
fy_http_listen_one(fy_conf_t *cf, fy_http_srv_conf_t *scf,
                   const fy_addr_t *a, int first)
{
    fy_http_listen_t    *l;
    unsigned             i;
    int                  rc;

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

    for (i = 2; i < cf->nargs; i++) {
        rc = fy_http_listen_param(cf, i, l->addr.sa.sa_family, &l->sock);
        if (rc < 0) {
            return FY_ERROR;
        }
        if (rc > 0) {
            continue;
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
        if (fy_str_eq(&cf->args[i], "proxy_protocol")) {
            l->proxy_protocol = 1;
            continue;
        }
        if (fy_str_eq(&cf->args[i], "http2")) {
            /* nginx's way before the "http2" directive (1.25.1) */
            if (first) {
                fy_http_http2_ignored(cf, "the \"http2\" parameter of "
                                      "\"listen\"");
            }
            continue;
        }
        fy_conf_error(cf, "invalid parameter \"%s\" in \"listen\"",
                      cf->args[i].data);
        return FY_ERROR;
    }
    return FY_OK;
}

/* listen ADDRESS [PARAMETERS]: a host name listens on every address it
 * resolves to when the configuration is read, each with the line's
 * parameters, as nginx (1.15.10 on) does. */
const char *
fy_http_listen(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_srv_conf_t  *scf = conf;
    fy_http_listen_t     tmp;
    fy_array_t           addrs;
    unsigned             k;
    int                  rc, named;

    fy_unused(cmd);

    rc = fy_parse_addrs(cf->pool, cf->args[1].data, cf->args[1].len, 0,
                        &addrs, &named);
    if (rc == FY_DECLINED) {
        fy_conf_error(cf, "too long path in the unix domain socket \"%s\" "
                      "in \"listen\" (at most %zu bytes)", cf->args[1].data,
                      sizeof(tmp.addr.sun.sun_path) - 1);
        return FY_CONF_ERROR;
    }
    if (rc != FY_OK) {
        fy_conf_error(cf, "invalid address \"%s\" in \"listen\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    for (k = 0; k < addrs.nelts; k++) {
        if (fy_http_listen_one(cf, scf, fy_array_elt(&addrs, fy_addr_t, k),
                               k == 0) != FY_OK)
        {
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

