/*
 * fy_http_conf.h -- private to the fy_http_conf*.c files: the setters
 * the http directive table (fy_http_conf.c) names that live in the
 * other files, and the helpers they share.
 */
#ifndef FY_HTTP_CONF_H
#define FY_HTTP_CONF_H

#include "fy_core.h"
#include "fy_http.h"

/* fy_http_conf_server.c: http, server, location, listen */
const char *fy_http_parse_block(fy_conf_t *cf, unsigned type,
    fy_conf_ctx_t *ctx);
const char *fy_http_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_server(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_location(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_listen(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

/* fy_http_conf_upstream.c: upstream blocks and proxy_pass */
const char *fy_http_upstream_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_upstream_server(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_upstream_balancer(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
const char *fy_http_upstream_zone(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_proxy_pass(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
void fy_http_peer_defaults(fy_http_upstream_peer_t *peer);
/* One server of u per address of addrs (fy_parse_addrs's list, named:
 * of a host name), each a copy of tpl named as nginx names it: written,
 * or the address's text for a host name.  FY_OK or FY_ERROR (memory).
 * For upstream blocks and the implicit upstreams of http and stream. */
int fy_http_upstream_add_peers(fy_pool_t *pool, fy_http_upstream_t *u,
    const fy_http_upstream_peer_t *tpl, const fy_str_t *written,
    fy_array_t *addrs, int named);

/* fy_http_conf.c */
fy_str_t *fy_http_param(fy_str_t *arg, const char *name, fy_str_t *value);
/* fy_http_listen_opts.c: the socket parameters of an http or stream
 * listen, cf->args[i] (1: taken, 0: not one of them, -1: logged error) */
void fy_listen_opts_init(fy_listen_opts_t *o);
/* A listen's socket parameters o go to the listener ls of its address
 * (several listens of http's or stream's servers may share one): only
 * one of them may give any (nginx's "duplicate listen options"), and
 * "bind" in any holds.  FY_OK or FY_ERROR (logged with file:line). */
int fy_listen_opts_add(fy_listen_t *ls, const fy_listen_opts_t *o,
                       const char *file, unsigned line);
int fy_http_listen_param(fy_conf_t *cf, unsigned i, int family,
                         fy_listen_opts_t *o);

#endif /* FY_HTTP_CONF_H */
