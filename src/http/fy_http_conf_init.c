/*
 * fy_http_conf_init.c -- after the config is read: merge each level
 * into the one below it, resolve upstreams, and gather the listening
 * sockets (fy_http_init_cycle).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_conf.h"
#include "fy_http_static.h"

#include <limits.h>
#include <netinet/in.h>

static void
fy_http_merge_loc(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_temp_merge(prev, conf);     /* before proxy_buffer_size's */
    fy_conf_merge(conf->proxy_connect_timeout, prev->proxy_connect_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(conf->proxy_read_timeout, prev->proxy_read_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(conf->proxy_send_timeout, prev->proxy_send_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(conf->proxy_buffer_size, prev->proxy_buffer_size,
                  FY_CONF_UNSET_SIZE, 16384);
    fy_conf_merge(conf->keepalive_timeout, prev->keepalive_timeout,
                  FY_CONF_UNSET_MSEC, 75000);
    fy_conf_merge(conf->keepalive_requests, prev->keepalive_requests,
                  FY_CONF_UNSET_INT, 1000);
    fy_conf_merge(conf->send_timeout, prev->send_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    /* sendfile on where nginx's default is off: the copy through user
     * space costs CPU and buys nothing on a plain connection */
    fy_conf_merge(conf->sendfile, prev->sendfile, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->tcp_nopush, prev->tcp_nopush, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->tcp_nodelay, prev->tcp_nodelay, FY_CONF_UNSET_INT, 1);
    /* nginx's defaults since 1.21.4 (sendfile_max_chunk) and 1.9.5 */
    fy_conf_merge(conf->sendfile_max_chunk, prev->sendfile_max_chunk,
                  FY_CONF_UNSET_SIZE, 2 * 1024 * 1024);
    if (conf->output_buffers_size == FY_CONF_UNSET_SIZE) {
        conf->output_buffers_num = prev->output_buffers_size
                                   == FY_CONF_UNSET_SIZE
                                   ? 2 : prev->output_buffers_num;
    }
    fy_conf_merge(conf->output_buffers_size, prev->output_buffers_size,
                  FY_CONF_UNSET_SIZE, 32768);
    fy_conf_merge(conf->directio, prev->directio, FY_CONF_UNSET,
                  FY_HTTP_DIRECTIO_OFF);
    fy_conf_merge(conf->directio_alignment, prev->directio_alignment,
                  FY_CONF_UNSET_SIZE, 512);
    fy_conf_merge(conf->read_ahead, prev->read_ahead, FY_CONF_UNSET_SIZE, 0);
    /* nginx's defaults (docs/configuration.md, absolute_redirect) */
    fy_conf_merge(conf->absolute_redirect, prev->absolute_redirect,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->server_name_in_redirect,
                  prev->server_name_in_redirect, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->port_in_redirect, prev->port_in_redirect,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->log_not_found, prev->log_not_found,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->chunked_transfer_encoding,
                  prev->chunked_transfer_encoding, FY_CONF_UNSET_INT, 1);
    /* nginx's defaults */
    fy_conf_merge(conf->lingering_close, prev->lingering_close,
                  FY_CONF_UNSET_INT, FY_HTTP_LINGERING_ON);
    fy_conf_merge(conf->lingering_time, prev->lingering_time,
                  FY_CONF_UNSET_MSEC, 30000);
    fy_conf_merge(conf->lingering_timeout, prev->lingering_timeout,
                  FY_CONF_UNSET_MSEC, 5000);
    fy_conf_merge(conf->client_max_body_size, prev->client_max_body_size,
                  FY_CONF_UNSET_SIZE, 1024 * 1024);
    /* nginx's defaults on 64-bit Linux: "8 4k" is 8 memory pages,
     * client_body_buffer_size two */
    fy_conf_merge(conf->proxy_buffering, prev->proxy_buffering,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->proxy_limit_rate, prev->proxy_limit_rate,
                  FY_CONF_UNSET_SIZE, 0);
    fy_conf_merge(conf->proxy_force_ranges, prev->proxy_force_ranges,
                  FY_CONF_UNSET_INT, 0);
    if (conf->proxy_store == NULL) {
        conf->proxy_store = prev->proxy_store;
    }
    fy_conf_merge(conf->proxy_store_access, prev->proxy_store_access,
                  FY_CONF_UNSET_INT, 0600);
    if (conf->proxy_buffers_size == FY_CONF_UNSET_SIZE) {
        conf->proxy_buffers_num = prev->proxy_buffers_size
                                  == FY_CONF_UNSET_SIZE
                                  ? 8 : prev->proxy_buffers_num;
        conf->proxy_buffers_size = prev->proxy_buffers_size
                                   == FY_CONF_UNSET_SIZE
                                   ? 4096 : prev->proxy_buffers_size;
    }
    fy_conf_merge(conf->client_body_buffer_size, prev->client_body_buffer_size,
                  FY_CONF_UNSET_SIZE, 16384);
    fy_conf_merge(conf->client_body_timeout, prev->client_body_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(conf->proxy_request_buffering, prev->proxy_request_buffering,
                  FY_CONF_UNSET_INT, 1);
    /* access_log: a level with none of its own logs like its parent */
    if (conf->access_logs.nelts == 0 && !conf->access_log_off) {
        conf->access_logs = prev->access_logs;
        conf->access_log_off = prev->access_log_off;
    }
    fy_alog_cache_merge(&prev->log_cache, &conf->log_cache);
    fy_conf_merge(conf->next_upstream, prev->next_upstream, 0,
                  FY_HTTP_NEXT_ERROR | FY_HTTP_NEXT_TIMEOUT);
    fy_conf_merge(conf->next_upstream_tries, prev->next_upstream_tries,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->next_upstream_timeout, prev->next_upstream_timeout,
                  FY_CONF_UNSET_MSEC, 0);
    if (conf->default_type.data == NULL) {
        if (prev->default_type.data) {
            conf->default_type = prev->default_type;
        } else {
            fy_str_set(&conf->default_type, "text/plain");
        }
    }
    if (conf->access == NULL) {
        conf->access = prev->access;
    }
    fy_conf_merge(conf->recursive_error_pages, prev->recursive_error_pages,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->if_modified_since, prev->if_modified_since,
                  FY_CONF_UNSET_INT, FY_HTTP_IMS_EXACT);
    fy_conf_merge(conf->max_ranges, prev->max_ranges, FY_CONF_UNSET_INT,
                  INT_MAX);
    fy_conf_merge(conf->slice_size, prev->slice_size, FY_CONF_UNSET_SIZE, 0);
    conf->internal |= prev->internal;   /* nested ones too, as nginx */
    fy_http_limit_rate_merge(prev, conf);
    /* the rewrite directives themselves are not inherited (nginx) */
    fy_conf_merge(conf->rewrite_log, prev->rewrite_log, FY_CONF_UNSET_INT,
                  0);
    fy_conf_merge(conf->uninitialized_variable_warn,
                  prev->uninitialized_variable_warn, FY_CONF_UNSET_INT, 1);
    fy_http_static_merge(prev, conf);
    fy_http_dav_merge(prev, conf);      /* after the file handler is set */
    fy_conf_merge(conf->random_index, prev->random_index, FY_CONF_UNSET_INT,
                  0);
    if (conf->resolver == NULL) {
        conf->resolver = prev->resolver;
    }
    fy_conf_merge(conf->resolver_timeout, prev->resolver_timeout,
                  FY_CONF_UNSET_MSEC, 30000);
    fy_conf_merge(conf->mp4_buffer_size, prev->mp4_buffer_size,
                  FY_CONF_UNSET_SIZE, 512 * 1024);
    fy_conf_merge(conf->mp4_max_buffer_size, prev->mp4_max_buffer_size,
                  FY_CONF_UNSET_SIZE, 10 * 1024 * 1024);
    fy_conf_merge(conf->mp4_start_key_frame, prev->mp4_start_key_frame,
                  FY_CONF_UNSET_INT, 0);
    fy_http_proxy_ssl_merge(prev, conf);
    fy_http_headers_merge(prev, conf);
    fy_http_proxy_redirect_merge(prev, conf);
    fy_http_proxy_cookie_merge(prev, conf);
    fy_http_error_log_merge(prev, conf);
    fy_http_keepalive_merge(prev, conf);
    fy_http_realip_merge(prev, conf);
    fy_http_limit_merge(prev, conf);
    fy_http_cache_merge(&prev->cache, &conf->cache);
    fy_http_referer_merge(prev, conf);
    fy_http_browser_merge(prev, conf);
    fy_http_userid_merge(prev, conf);
    fy_http_secure_link_merge(prev, conf);
    fy_http_proxy_conn_merge(prev, conf);
    if (conf->proxy_ignore_headers == 0) {
        conf->proxy_ignore_headers = prev->proxy_ignore_headers;
    }
    fy_http_gzip_merge_conf(&prev->gzip, &conf->gzip);
    fy_http_fastcgi_merge(prev, conf);
    fy_http_cgi_merge(prev, conf);
    fy_http_memcached_merge(prev, conf);
    fy_http_auth_basic_merge(prev, conf);
    fy_http_auth_request_merge(prev, conf);
    fy_conf_merge(conf->auth_delay, prev->auth_delay, FY_CONF_UNSET_MSEC, 0);
    fy_conf_merge(conf->subrequest_output_buffer_size,
                  prev->subrequest_output_buffer_size, FY_CONF_UNSET_SIZE,
                  (size_t) sysconf(_SC_PAGESIZE));
    fy_http_mirror_merge(prev, conf);
    fy_http_post_action_merge(prev, conf);
    fy_http_limit_except_merge(prev, conf);     /* after auth_basic's */
    fy_http_expires_merge(prev, conf);
    fy_http_charset_merge(prev, conf);
    fy_http_sub_merge(prev, conf);
    fy_http_ssi_merge(prev, conf);
    fy_http_addition_merge(prev, conf);
    conf->header_filters = conf->expires != FY_HTTP_EXPIRES_OFF
                           || conf->charset_on;
}

/* How a server reads request headers; nginx's defaults: 1k, 4 8k, on,
 * off. */
static void
fy_http_merge_header_conf(fy_http_srv_conf_t *prev, fy_http_srv_conf_t *conf)
{
    fy_conf_merge(conf->client_header_buffer, prev->client_header_buffer,
                  FY_CONF_UNSET_SIZE, 1024);
    if (conf->large_header_buffers == FY_CONF_UNSET_INT) {
        conf->large_header_buffers = prev->large_header_buffers;
        conf->large_header_buffer = prev->large_header_buffer;
    }
    if (conf->large_header_buffers == FY_CONF_UNSET_INT) {
        conf->large_header_buffers = 4;
        conf->large_header_buffer = 8192;
    }
    fy_conf_merge(conf->ignore_invalid_headers, prev->ignore_invalid_headers,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->merge_slashes, prev->merge_slashes,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->underscores_in_headers, prev->underscores_in_headers,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->max_headers, prev->max_headers, FY_CONF_UNSET_INT,
                  1000);
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

/* The confs of a location's "if" blocks, merged with it.  As nginx's
 * nameless locations, an if without a content handler of its own
 * answers with the location's (its proxy_pass, static files, status
 * page), taken before the merge so that an inherited root does not
 * make it a static one.  Such an if also keeps the location's
 * try_files, which nginx leaves behind (its "if is evil" trap: an
 * "access_log off" in an if would change what is served); an if with
 * its own proxy_pass goes there without try_files, as in nginx. */
static int
fy_http_init_ifs(fy_http_loc_conf_t *parent)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i;

    for (i = 0; parent->ifs && i < parent->ifs->nelts; i++) {
        lcf = *fy_array_elt(parent->ifs, fy_http_loc_conf_t *, i);
        if (!fy_http_proxied(lcf) && lcf->handler == NULL) {
            lcf->handler = parent->handler;
            lcf->status_format = parent->status_format;
            lcf->upstream = parent->upstream;
            lcf->proxy_host = parent->proxy_host;
            lcf->proxy_uri = parent->proxy_uri;
            lcf->proxy_url = parent->proxy_url;
            lcf->proxy_uri_set = parent->proxy_uri_set;
            lcf->proxy_https = parent->proxy_https;
            lcf->proxy_pass_cv = parent->proxy_pass_cv;
            lcf->proxy_upstreams = parent->proxy_upstreams;
            lcf->fastcgi_pass = parent->fastcgi_pass;
            lcf->uwsgi_pass = parent->uwsgi_pass;
            lcf->suwsgi = parent->suwsgi;
            lcf->scgi_pass = parent->scgi_pass;
            lcf->memcached_pass = parent->memcached_pass;
            lcf->try_files = parent->try_files;
        }
        fy_http_merge_loc(parent, lcf);
        if (fy_http_temp_check(lcf) != FY_OK) {
            return FY_ERROR;
        }
        if (fy_http_cgi_loc(lcf) && fy_http_cgi_apply(lcf) != FY_OK) {
            return FY_ERROR;
        }
        if (lcf->memcached_pass) {
            fy_http_memcached_apply(lcf);
        }
    }
    return FY_OK;
}

/* Merge each location of list (and those nested in it) with its
 * parent's values; sort a list of prefix locations longest first.
 * FY_ERROR: a merged location fails a check (logged). */
static int
fy_http_init_locations(fy_http_srv_conf_t *scf, fy_http_loc_conf_t *parent,
                       fy_array_t *list, int sort)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i;

    for (i = 0; list && i < list->nelts; i++) {
        lcf = *fy_array_elt(list, fy_http_loc_conf_t *, i);
        fy_http_merge_loc(parent, lcf);
        if (fy_http_temp_check(lcf) != FY_OK
            || fy_http_init_ifs(lcf) != FY_OK
            || fy_http_init_locations(scf, lcf, lcf->locations, 1) != FY_OK
            || fy_http_init_locations(scf, lcf, lcf->regex_locations, 0)
               != FY_OK)
        {
            return FY_ERROR;
        }
        /* after the nested locations took their proxy_* values from
         * this one's (fy_http_cgi_conf.c) */
        if (fy_http_cgi_loc(lcf) && fy_http_cgi_apply(lcf) != FY_OK) {
            return FY_ERROR;
        }
        if (lcf->memcached_pass) {
            fy_http_memcached_apply(lcf);
        }
    }
    if (sort && list && list->nelts > 1) {
        qsort(list->elts, list->nelts, sizeof(fy_http_loc_conf_t *),
              fy_loc_cmp);
    }
    return FY_OK;
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
    fy_http_srv_conf_t  **pscf;
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
    fy_listen_opts_init(&ls->sock);
    ls->file = scf->file;
    ls->line = l->line;
    ls->index = cycle->listening.nelts - 1;
    ls->default_server = NULL;
    ls->stream = NULL;
    ls->stream_listen = NULL;
    fy_sockaddr_text(&l->addr.sa, l->addrlen, ls->text, sizeof(ls->text), 1);
    fy_array_init(&ls->servers, cycle->pool, 2, sizeof(fy_http_srv_conf_t *));

found:

    if (fy_listen_opts_add(ls, &l->sock, scf->file, l->line) != FY_OK) {
        return FY_ERROR;
    }
    /* as ssl, a property of the socket that any listen of the address
     * may give (nginx) */
    ls->ssl |= l->ssl;
    ls->proxy_protocol |= l->proxy_protocol;
    pscf = fy_array_push(&ls->servers);
    if (pscf == NULL) {
        return FY_ERROR;
    }
    *pscf = scf;
    if (ls->default_server == NULL) {
        ls->default_server = scf;
    }

    if (l->default_server) {
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
        /* It answers unknown hosts; the list keeps the order written,
         * which decides between names that match alike. */
        ls->default_server = scf;
    }
    return FY_OK;
}

int
fy_http_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_srv_conf_t   *scf;
    fy_http_upstream_t   *u;
    fy_http_upstream_peer_t tpl;
    fy_http_listen_t     *l;
    fy_array_t            addrs;
    unsigned              i, j;
    int                   rc, named;

    fy_http_merge_loc(hmcf->loc, hmcf->loc);
    if (fy_http_temp_check(hmcf->loc) != FY_OK) {
        return FY_ERROR;
    }
    fy_conf_merge(hmcf->srv->client_header_timeout, FY_CONF_UNSET_MSEC,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_http_merge_header_conf(hmcf->srv, hmcf->srv);

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        /* nginx's upstream keepalive defaults */
        fy_conf_merge(u->keepalive_timeout, FY_CONF_UNSET_MSEC,
                      FY_CONF_UNSET_MSEC, 60000);
        fy_conf_merge(u->keepalive_requests, FY_CONF_UNSET_INT,
                      FY_CONF_UNSET_INT, 1000);
    }

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        if (u->implicit) {
            if (u->bare_fastcgi) {
                fy_log_error(FY_LOG_EMERG, 0, "no port in upstream \"%s\" "
                             "in %s:%u", u->name.data, u->file, u->line);
                return FY_ERROR;
            }
            if (u->bare_http && u->bare_https) {
                fy_log_error(FY_LOG_EMERG, 0, "\"%s\" is used by both "
                             "http:// and https:// without a port; give "
                             "the port in %s:%u", u->name.data, u->file,
                             u->line);
                return FY_ERROR;
            }
            /* every address of a host name, tried in turn as the
             * servers of an upstream block are (nginx does the same) */
            memset(&tpl, 0, sizeof(tpl));
            fy_http_peer_defaults(&tpl);
            rc = fy_parse_addrs(cycle->pool, u->name.data, u->name.len, 0,
                                &addrs, &named);
            if (rc != FY_OK) {
                fy_log_error(FY_LOG_EMERG, 0, "%s \"%s\" in %s:%u",
                             rc == FY_DECLINED
                             ? "too long path in the unix domain socket"
                             : "host not found in upstream",
                             u->name.data, u->file, u->line);
                return FY_ERROR;
            }
            for (j = 0; u->bare_https && j < addrs.nelts; j++) {
                /* fy_parse_addrs gave 80 (sin_port and sin6_port share
                 * their place) */
                fy_array_elt(&addrs, fy_addr_t, j)->addr.sin6.sin6_port =
                    htons(443);
            }
            if (fy_http_upstream_add_peers(cycle->pool, u, &tpl, &u->name,
                                           &addrs, named) != FY_OK)
            {
                return FY_ERROR;
            }
        }
        if (fy_http_upstream_resolve_check(u, hmcf->loc->resolver,
                                           hmcf->loc->resolver_timeout)
            != FY_OK
            || fy_http_balancer_init(cycle->pool, u) != FY_OK)
        {
            return FY_ERROR;
        }
    }

    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);

        fy_conf_merge(scf->client_header_timeout,
                      hmcf->srv->client_header_timeout,
                      FY_CONF_UNSET_MSEC, 60000);
        fy_http_merge_header_conf(hmcf->srv, scf);
        fy_http_merge_loc(hmcf->loc, scf->loc);
        /* The server's rewrite directives run before a location is
         * chosen, once (fy_http_route): not again as the location of a
         * request no location matches. */
        scf->rewrite = scf->loc->rewrite;
        scf->loc->rewrite = NULL;

        if (fy_http_temp_check(scf->loc) != FY_OK
            || fy_http_init_locations(scf, scf->loc, &scf->locations, 1)
               != FY_OK
            || fy_http_init_locations(scf, scf->loc, &scf->regex_locations, 0)
               != FY_OK
            || fy_http_init_locations(scf, scf->loc, &scf->named, 0) != FY_OK)
        {
            return FY_ERROR;
        }

        if (scf->listens.nelts == 0) {
            /* nginx's default: a server without "listen" takes *:80 */
            l = fy_array_push(&scf->listens);
            if (l == NULL) {
                return FY_ERROR;
            }
            fy_parse_addr_port((u_char *) "80", 2, 0, &l->addr, &l->addrlen);
            l->line = scf->line;
            fy_listen_opts_init(&l->sock);
        }
        for (j = 0; j < scf->listens.nelts; j++) {
            l = fy_array_elt(&scf->listens, fy_http_listen_t, j);
            if (fy_http_add_listen(cycle, scf, l) != FY_OK) {
                return FY_ERROR;
            }
        }
    }
    if (fy_http_charset_check(hmcf) != FY_OK) {
        return FY_ERROR;                /* every level merged: checked */
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        fy_listen_t *ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->sock.backlog == -1) {
            ls->sock.backlog = 511;     /* nginx's NGX_LISTEN_BACKLOG */
        }
    }
    if (fy_http_proxy_ssl_init_cycle(cycle) != FY_OK
        || fy_http_health_init_cycle(cycle) != FY_OK)
    {
        return FY_ERROR;
    }
    return fy_http_ssl_init_cycle(cycle);
}
