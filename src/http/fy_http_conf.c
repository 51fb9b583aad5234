/*
 * fy_http_conf.c -- the http directive table (one table, listed in
 * fy_cycle.c) and the small setters that need more than a generic
 * one: proxy_next_upstream, large_client_header_buffers,
 * proxy_buffers; fy_http_handler_set for the directives that set a
 * location's content handler, fy_http_module_set for those of modules
 * whose settings a level makes on first use.  The block directives live in
 * fy_http_conf_server.c, upstreams and proxy_pass in
 * fy_http_conf_upstream.c, merging and fy_http_init_cycle in
 * fy_http_conf_init.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_conf.h"

#include <limits.h>

static const char *fy_http_large_header_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_proxy_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_msie(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_internal(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

static const fy_conf_bounds_t  fy_http_buffer_bounds = { 1024, 16777216 };
static const fy_conf_bounds_t  fy_http_header_buffer_bounds = { 64, 16777216 };
static const fy_conf_bounds_t  fy_http_requests_bounds = { 0, 1000000000 };
static const fy_conf_bounds_t  fy_http_tries_bounds = { 0, 1000 };
static const fy_conf_bounds_t  fy_http_ranges_bounds = { 0, INT_MAX - 1 };

const fy_conf_enum_t  fy_http_ims_values[] = {
    { "off",    FY_HTTP_IMS_OFF },
    { "exact",  FY_HTTP_IMS_EXACT },
    { "before", FY_HTTP_IMS_BEFORE },
    { NULL, 0 }
};

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

    /* a location for internal redirects only (fy_http_route) */
    { "internal", FY_CONF_LOC, 0, 0, 0, fy_http_internal,
      FY_CONF_LOC_OFF, 0, NULL },

    { "listen", FY_CONF_SRV, 0, 1, FY_CONF_MANY, fy_http_listen,
      FY_CONF_SRV_OFF, 0, NULL },

    { "server_name", FY_CONF_SRV, 0, 1, FY_CONF_MANY, fy_http_names_set,
      FY_CONF_SRV_OFF, offsetof(fy_http_srv_conf_t, sn), NULL },

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

    /* nginx 1.27.x+: the header lines a request may have (1000) */
    { "max_headers", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_int, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, max_headers), NULL },

    /* the most of a subrequest's body SSI's "include ... set=" takes
     * (nginx's in-memory subrequests); default: the page size */
    { "subrequest_output_buffer_size", FY_HTTP_ANY, 0, 1, 1,
      fy_conf_set_size, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, subrequest_output_buffer_size), NULL },

    { "underscores_in_headers", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, underscores_in_headers), NULL },

    /* the request path as locations see it (fy_http_uri.c) */
    { "merge_slashes", FY_CONF_HTTP | FY_CONF_SRV, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_SRV_OFF,
      offsetof(fy_http_srv_conf_t, merge_slashes), NULL },

    { "proxy_pass", FY_CONF_LOC | FY_CONF_LIF, 0, 1, 1, fy_http_proxy_pass,
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

    /* sending (fy_http_static_send.c, fy_http_nodelay) */
    { "sendfile", FY_HTTP_ANY | FY_CONF_LIF, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, sendfile), NULL },

    { "tcp_nopush", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, tcp_nopush), NULL },

    { "tcp_nodelay", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, tcp_nodelay), NULL },

    { "chunked_transfer_encoding", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, chunked_transfer_encoding), NULL },

    /* redirects (fy_http_absolute_location) and static files */
    { "absolute_redirect", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, absolute_redirect),
      NULL },

    { "server_name_in_redirect", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, server_name_in_redirect), NULL },

    { "port_in_redirect", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, port_in_redirect),
      NULL },

    { "log_not_found", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, log_not_found), NULL },

    /* conditional and range requests of static files */
    { "if_modified_since", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, if_modified_since),
      fy_http_ims_values },

    { "max_ranges", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, max_ranges),
      &fy_http_ranges_bounds },

    /* slice: a response fetched in ranges of this size
     * (fy_http_slice.c) */
    { "slice", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, slice_size), NULL },

    /* error_page after error_page (fy_http_error_page.c) */
    { "recursive_error_pages", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, recursive_error_pages),
      NULL },

    /* nginx's answers for MSIE 4 to 10: no effect (fy_http_msie) */
    { "msie_padding", FY_HTTP_ANY, 0, 1, 1, fy_http_msie,
      FY_CONF_LOC_OFF, 0, NULL },

    { "msie_refresh", FY_HTTP_ANY, 0, 1, 1, fy_http_msie,
      FY_CONF_LOC_OFF, 0, NULL },

    /* nginx sizes its hash tables with these; ferry's lookups have
     * none to size, so they are checked and have no effect */
    { "types_hash_max_size", FY_HTTP_ANY, 0, 1, 1, fy_http_hash_size,
      FY_CONF_LOC_OFF, 0, NULL },

    { "types_hash_bucket_size", FY_HTTP_ANY, 0, 1, 1, fy_http_hash_size,
      FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_headers_hash_max_size", FY_HTTP_ANY, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { "proxy_headers_hash_bucket_size", FY_HTTP_ANY, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { "server_names_hash_max_size", FY_CONF_HTTP, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { "server_names_hash_bucket_size", FY_CONF_HTTP, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    { "variables_hash_max_size", FY_CONF_HTTP, 0, 1, 1, fy_http_hash_size,
      FY_CONF_LOC_OFF, 0, NULL },

    { "variables_hash_bucket_size", FY_CONF_HTTP, 0, 1, 1,
      fy_http_hash_size, FY_CONF_LOC_OFF, 0, NULL },

    /* closing while the client still sends (fy_http_lingering.c) */
    { "lingering_close", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, lingering_close),
      fy_http_lingering_values },

    { "lingering_time", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, lingering_time), NULL },

    { "lingering_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, lingering_timeout),
      NULL },

    { "client_max_body_size", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, client_max_body_size),
      NULL },

    { "default_type", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_str,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, default_type), NULL },

    /* bodies both ways (fy_http_proxy_send.c, _response.c) */
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

    /* a proxied 200 saved to a file (fy_http_proxy_store.c) */
    { "proxy_store", FY_HTTP_ANY, 0, 1, 1, fy_http_proxy_store,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_store), NULL },

    { "proxy_store_access", FY_HTTP_ANY, 0, 1, 3,
      fy_http_proxy_store_access, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, proxy_store_access), NULL },

    /* ferry's byte ranges of a proxied 200 (fy_http_proxy_range.c) */
    { "proxy_force_ranges", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_force_ranges),
      NULL },

    /* the upstream's reads paced (fy_proxy_rate_recv) */
    { "proxy_limit_rate", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_limit_rate),
      NULL },

    { "proxy_request_buffering", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, proxy_request_buffering),
      NULL },

    { "proxy_next_upstream", FY_HTTP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_next_upstream, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, next_upstream), NULL },

    { "proxy_next_upstream_tries", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, next_upstream_tries),
      &fy_http_tries_bounds },

    { "proxy_next_upstream_timeout", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, next_upstream_timeout),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* "name=value" with name matching: the value, else NULL. */
fy_str_t *
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

/* proxy_next_upstream, fastcgi_next_upstream: the FY_HTTP_NEXT_* mask
 * at cmd->offset */
const char *
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

    return fy_http_next_upstream_of(cf, cmd, conf, cases);
}

/* The *_next_upstream setters: the words of the line, each one of
 * cases (memcached_next_upstream has names of its own), into the
 * FY_HTTP_NEXT_* mask at cmd->offset. */
const char *
fy_http_next_upstream_of(fy_conf_t *cf, const fy_command_t *cmd, void *conf,
                         const fy_conf_enum_t *cases)
{
    unsigned              *set = (unsigned *) ((char *) conf + cmd->offset);
    const fy_conf_enum_t  *e;
    unsigned               i, mask = 0;

    if (*set) {
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
    *set = mask;
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

const char *
fy_http_handler_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cf);

    if (lcf->handler) {
        return "is duplicate";
    }
    if (lcf->upstream) {
        return "cannot be used with \"proxy_pass\" in one location";
    }
    lcf->handler = *(const fy_http_handler_pt *) cmd->post;
    return FY_CONF_OK;
}

const char *
fy_http_module_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_http_module_set_t  *m = cmd->post;
    fy_command_t                 inner = *cmd;
    void                        *mc = m->conf(cf, conf);

    if (mc == NULL) {
        return "cannot allocate memory";
    }
    inner.post = m->post;
    return m->set(cf, &inner, mc);
}

/* internal: no argument, once per location (nginx). */
static const char *
fy_http_internal(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cf);
    fy_unused(cmd);

    if (lcf->internal) {
        return "is duplicate";
    }
    lcf->internal = 1;
    return FY_CONF_OK;
}

/* msie_padding, msie_refresh: nginx pads error pages for MSIE (whose
 * own "friendly" page replaced short ones) and answers its redirects
 * with a Refresh page.  Only user agents that say "MSIE" get these,
 * Internet Explorer 10 and older, which nothing runs any more, so ferry
 * accepts them for nginx configurations and checks the value, and
 * that is all. */
static const char *
fy_http_msie(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_command_t  flag = *cmd;
    int           ignored = FY_CONF_UNSET_INT;

    fy_unused(conf);

    /* the generic flag check, into a value nobody reads */
    flag.offset = 0;
    return fy_conf_set_flag(cf, &flag, &ignored);
}

/* types_hash_max_size and its kin: nginx sizes fixed hash tables by
 * them and refuses to start when a table does not fit.  ferry's tables
 * (types, server names, variables, headers) grow as needed, so there
 * is nothing to size; the value is still checked as nginx checks it, a
 * number, or a size for the *_bucket_size ones, so that a configuration
 * nginx refuses is refused here too. */
const char *
fy_http_hash_size(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    size_t   len = strlen(cmd->name);
    int64_t  v;

    fy_unused(conf);

    if (len > 11 && strcmp(cmd->name + len - 11, "bucket_size") == 0) {
        v = fy_conf_parse_size(&cf->args[1]);
    } else {
        v = fy_atoi(cf->args[1].data, cf->args[1].len);
    }
    if (v <= 0) {
        fy_conf_error(cf, "invalid value \"%s\" in \"%s\"",
                      cf->args[1].data, cmd->name);
        return FY_CONF_ERROR;
    }
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
