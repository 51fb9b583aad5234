/*
 * fy_cycle.c -- loading a whole configuration, and the directives of
 * the main and events contexts.
 */
#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_core_tuning.h"
#include "fy_dispatch.h"
#include "fy_shm.h"
#include "fy_http.h"
#include "fy_listen.h"
#include "fy_stream.h"
#include "fy_supervise.h"
#include "fy_user.h"
#include "fy_sched.h"
#include "fy_syslog.h"
#include "fy_worker_conf.h"

#include <arpa/inet.h>
#include <netdb.h>

static const char *fy_core_events(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_core_error_log(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_core_worker_processes(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_core_worker_dispatch(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_core_use(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

static const fy_conf_bounds_t  fy_core_conn_bounds = { 2, 1048576 };
static const fy_conf_bounds_t  fy_core_epoll_bounds = { 1, 1048576 };
static const fy_conf_bounds_t  fy_core_nofile_bounds = { 16, 1048576 };
/* 0 turns the check off; below a second the 500 ms heartbeat of an
 * idle worker would already look late */
static const fy_conf_bounds_t  fy_core_heartbeat_bounds = { 0, 86400000 };
static const fy_conf_bounds_t  fy_core_timeout_bounds = { 0, 86400000 };

const fy_command_t  fy_core_commands[] = {

    { "daemon", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_flag, FY_CONF_MAIN_OFF,
      offsetof(fy_core_conf_t, daemon), NULL },

    { "pid", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_str, FY_CONF_MAIN_OFF,
      offsetof(fy_core_conf_t, pid), NULL },

    { "error_log", FY_CONF_MAIN, 0, 1, 2, fy_core_error_log, FY_CONF_MAIN_OFF,
      0, NULL },

    { "worker_processes", FY_CONF_MAIN, 0, 1, 1, fy_core_worker_processes,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_dispatch", FY_CONF_MAIN, 0, 1, 1, fy_core_worker_dispatch,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_shutdown_timeout", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, worker_shutdown_timeout),
      &fy_core_timeout_bounds },

    { "worker_restart_delay", FY_CONF_MAIN, 0, 1, 2,
      fy_supervise_set_restart_delay, FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_max_restarts", FY_CONF_MAIN, 0, 1, 3,
      fy_supervise_set_max_restarts, FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_heartbeat_timeout", FY_CONF_MAIN, 0, 1, 1,
      fy_supervise_set_heartbeat_timeout, FY_CONF_MAIN_OFF,
      offsetof(fy_core_conf_t, worker_heartbeat_timeout),
      &fy_core_heartbeat_bounds },

    { "worker_max_memory", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_size,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, worker_max_memory), NULL },

    { "worker_rlimit_nofile", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_int,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, worker_rlimit_nofile),
      &fy_core_nofile_bounds },

    { "user", FY_CONF_MAIN, 0, 1, 2, fy_user_set_conf, FY_CONF_MAIN_OFF, 0,
      NULL },

    { "master_sched", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, master_sched),
      fy_sched_values },

    { "events", FY_CONF_MAIN, FY_CONF_BLOCK, 0, 0, fy_core_events,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "worker_connections", FY_CONF_EVENTS, 0, 1, 1, fy_conf_set_int,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, worker_connections),
      &fy_core_conn_bounds },

    { "use", FY_CONF_EVENTS, 0, 1, 1, fy_core_use, FY_CONF_MAIN_OFF, 0,
      NULL },

    { "multi_accept", FY_CONF_EVENTS, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, multi_accept), NULL },

    { "epoll_events", FY_CONF_EVENTS, 0, 1, 1, fy_conf_set_int,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, epoll_events),
      &fy_core_epoll_bounds },

    /* no effect: only the master accepts (docs/configuration.md) */
    { "accept_mutex", FY_CONF_EVENTS, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, accept_mutex), NULL },

    /* no effect: the clock is read once per loop turn without a system
     * call (docs/configuration.md) */
    { "timer_resolution", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_MAIN_OFF, offsetof(fy_core_conf_t, timer_resolution), NULL },

    { "pcre_jit", FY_CONF_MAIN, 0, 1, 1, fy_conf_set_flag, FY_CONF_MAIN_OFF,
      offsetof(fy_core_conf_t, pcre_jit), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_command_t *const  fy_conf_tables[] = {
    fy_core_commands,
    fy_core_tuning_commands,
    fy_load_module_commands,
    fy_worker_conf_commands,
    fy_http_commands,
    fy_stream_commands,
    fy_stream_log_commands,
    fy_stream_map_commands,
    fy_stream_geo_commands,
    fy_stream_split_clients_commands,
    fy_stream_set_commands,
    fy_stream_limit_conn_commands,
    fy_stream_ssl_commands,
    fy_stream_proxy_ssl_commands,
    fy_stream_return_commands,
    fy_http_log_commands,
    fy_http_error_log_commands,
    fy_http_keepalive_commands,
    fy_http_temp_conf_commands,
    fy_http_open_file_cache_commands,
    fy_http_upcache_commands,
    fy_http_status_commands,
    fy_http_access_commands,
    fy_http_auth_basic_commands,
    fy_http_auth_request_commands,
    fy_http_auth_delay_commands,
    fy_http_mirror_commands,
    fy_http_post_action_commands,
    fy_http_expires_commands,
    fy_http_charset_commands,
    fy_http_charset_map_commands,
    fy_http_limit_except_commands,
    fy_http_limit_rate_commands,
    fy_http_realip_commands,
    fy_http_ssl_commands,
    fy_http_http2_commands,
    fy_http_tuning_commands,
    fy_http_proxy_accel_commands,
    fy_http_proxy_conn_commands,
    fy_http_resolver_commands,
    fy_http_upstream_resolve_commands,
    fy_http_static_commands,
    fy_http_autoindex_commands,
    fy_http_dav_commands,
    fy_http_random_index_commands,
    fy_http_flv_commands,
    fy_http_mp4_commands,
    fy_http_proxy_ssl_commands,
    fy_http_headers_commands,
    fy_http_error_page_commands,
    fy_http_gzip_commands,
    fy_http_gunzip_commands,
    fy_http_fastcgi_commands,
    fy_http_cgi_commands,
    fy_http_memcached_commands,
    fy_http_sub_commands,
    fy_http_ssi_commands,
    fy_http_addition_commands,
    fy_http_try_files_commands,
    fy_http_proxy_redirect_commands,
    fy_http_proxy_cookie_commands,
    fy_http_map_commands,
    fy_http_geo_commands,
    fy_http_split_clients_commands,
    fy_http_referer_commands,
    fy_http_browser_commands,
    fy_http_empty_gif_commands,
    fy_http_userid_commands,
    fy_http_secure_link_commands,
    fy_http_rewrite_commands,
    fy_http_limit_req_commands,
    fy_http_limit_conn_commands,
    fy_http_cache_commands,
    NULL
};

static const char *
fy_core_events(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    unsigned         saved;
    int              rc;

    fy_unused(cmd);

    if (ccf->events_seen) {
        return "is duplicate";
    }
    ccf->events_seen = 1;

    saved = cf->ctx_type;
    cf->ctx_type = FY_CONF_EVENTS;
    rc = fy_conf_parse(cf, NULL);
    cf->ctx_type = saved;

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_core_error_log(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    fy_str_t        *v = &cf->args[1];
    fy_syslog_t     *sl = NULL;
    int              level = FY_LOG_ERR;

    fy_unused(cmd);

    if (fy_syslog_is(v)) {
        sl = fy_syslog_conf(cf, v);
        if (sl == NULL) {
            return FY_CONF_ERROR;
        }
    }

    if (cf->nargs == 3) {
        level = fy_log_level_from_name((char *) cf->args[2].data,
                                       cf->args[2].len);
        if (level == -1) {
            fy_conf_error(cf, "invalid log level \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
    }
    if (ccf->error_log.data) {
        /* several: all get every line their level lets through (nginx) */
        fy_core_error_log_t  *more;

        if (ccf->error_logs_more.pool == NULL) {
            fy_array_init(&ccf->error_logs_more, cf->pool, 2,
                          sizeof(fy_core_error_log_t));
        }
        more = fy_array_push(&ccf->error_logs_more);
        if (more == NULL) {
            return "cannot allocate memory";
        }
        more->syslog = sl;
        more->level = level;
        if (sl) {
            more->path = NULL;
            return FY_CONF_OK;
        }
        more->path = fy_str_eq(v, "stderr")
                     ? (char *) "stderr"
                     : fy_conf_full_name(cf, cf->prefix, v);
        return more->path ? FY_CONF_OK : "cannot allocate memory";
    }
    ccf->error_log = *v;
    ccf->error_log_level = level;
    ccf->error_log_syslog = sl;
    return FY_CONF_OK;
}

static const char *
fy_core_worker_processes(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    int64_t          n;

    fy_unused(cmd);

    if (ccf->worker_processes != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    if (fy_str_eq(&cf->args[1], "auto")) {
        ccf->worker_processes = 0;
        return FY_CONF_OK;
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (n < 1) {
        fy_conf_error(cf, "invalid value \"%s\" in \"worker_processes\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (n > FY_MAX_WORKERS) {
        return "value must be between 1 and 64";
    }
    ccf->worker_processes = (int) n;
    return FY_CONF_OK;
}

static const char *
fy_core_worker_dispatch(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;

    fy_unused(cmd);

    if (ccf->dispatch) {
        return "is duplicate";
    }
    ccf->dispatch = fy_dispatch_find((char *) cf->args[1].data,
                                     cf->args[1].len);
    if (ccf->dispatch == NULL) {
        fy_conf_error(cf, "invalid value \"%s\" in \"worker_dispatch\", it "
                      "must be \"round_robin\", \"least_conn\" or "
                      "\"least_mem\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* "use epoll": the only event method ferry has; nginx on Linux
 * refuses the others it was not built with the same way. */
static const char *
fy_core_use(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;

    fy_unused(cmd);

    if (ccf->use_seen) {
        return "is duplicate";
    }
    if (!fy_str_eq(&cf->args[1], "epoll")) {
        fy_conf_error(cf, "invalid event type \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    ccf->use_seen = 1;
    return FY_CONF_OK;
}

/* The directory part of a path, with its trailing slash. */
static char *
fy_dirname(fy_pool_t *pool, const char *path)
{
    const char  *slash = strrchr(path, '/');

    if (slash == NULL) {
        return fy_pstrndup(pool, "./", 2);
    }
    return fy_pstrndup(pool, path, (size_t) (slash - path) + 1);
}

static char *
fy_full_path(fy_pool_t *pool, const char *prefix, const char *name,
             size_t len)
{
    char    *p;
    size_t   plen;

    if (name[0] == '/') {
        return fy_pstrndup(pool, name, len);
    }
    plen = strlen(prefix);
    p = fy_palloc(pool, plen + len + 1);
    if (p) {
        memcpy(p, prefix, plen);
        memcpy(p + plen, name, len);
        p[plen + len] = '\0';
    }
    return p;
}

fy_cycle_t *
fy_cycle_load(const char *prefix, const char *conf_file,
              const char *directives, int dump)
{
    fy_pool_t           *pool;
    fy_cycle_t          *cycle;
    fy_core_conf_t      *ccf;
    fy_conf_t            cf;
    fy_conf_ctx_t        ctx;
    long                 ncpu;

    pool = fy_pool_create(16384);
    if (pool == NULL) {
        fy_log_error(FY_LOG_EMERG, errno, "cannot allocate configuration");
        return NULL;
    }

    cycle = fy_pcalloc(pool, sizeof(fy_cycle_t));
    ccf = fy_pcalloc(pool, sizeof(fy_core_conf_t));
    if (cycle == NULL || ccf == NULL) {
        goto failed;
    }
    cycle->pool = pool;
    cycle->core = ccf;
    cycle->prefix = fy_pstrndup(pool, prefix, strlen(prefix));
    cycle->conf_file = fy_full_path(pool, prefix, conf_file,
                                    strlen(conf_file));
    fy_array_init(&cycle->listening, pool, 4, sizeof(fy_listen_t));
    fy_array_init(&cycle->drained, pool, 0, sizeof(fy_listen_drained_t));
    if (cycle->prefix == NULL || cycle->conf_file == NULL) {
        goto failed;
    }

    ccf->daemon = FY_CONF_UNSET_INT;
    ccf->worker_processes = FY_CONF_UNSET_INT;
    ccf->worker_connections = FY_CONF_UNSET_INT;
    ccf->worker_shutdown_timeout = FY_CONF_UNSET_MSEC;
    ccf->worker_restart_delay = FY_CONF_UNSET_MSEC;
    ccf->worker_restart_delay_max = FY_CONF_UNSET_MSEC;
    ccf->worker_max_restarts = FY_CONF_UNSET_INT;
    ccf->worker_restarts_window = FY_CONF_UNSET_MSEC;
    ccf->worker_heartbeat_timeout = FY_CONF_UNSET_MSEC;
    ccf->worker_max_memory = FY_CONF_UNSET_SIZE;
    ccf->worker_rlimit_nofile = FY_CONF_UNSET_INT;
    ccf->master_sched = FY_CONF_UNSET_INT;
    ccf->worker_priority = FY_CONF_UNSET_INT;
    ccf->worker_rlimit_core = FY_CONF_UNSET_SIZE;
    ccf->multi_accept = FY_CONF_UNSET_INT;
    ccf->epoll_events = FY_CONF_UNSET_INT;
    ccf->accept_mutex = FY_CONF_UNSET_INT;
    ccf->pcre_jit = FY_CONF_UNSET_INT;
    ccf->timer_resolution = FY_CONF_UNSET_MSEC;

    memset(&ctx, 0, sizeof(ctx));
    ctx.main = ccf;

    fy_conf_init(&cf, pool);
    cf.tables = fy_conf_tables;
    cf.prefix = cycle->prefix;
    cf.conf_dir = fy_dirname(pool, cycle->conf_file);
    cf.ctx = &ctx;
    cf.ctx_type = FY_CONF_MAIN;
    cf.cycle = cycle;

    if (fy_conf_parse(&cf, cycle->conf_file) != FY_OK) {
        goto failed;
    }
    if (directives && fy_conf_parse_string(&cf, directives, "command line")
                      != FY_OK)
    {
        goto failed;
    }

    /* Defaults, as nginx has them where nginx has the directive. */
    if (ccf->daemon == FY_CONF_UNSET_INT) {
        ccf->daemon = 1;
    }
    if (ccf->worker_processes == FY_CONF_UNSET_INT) {
        ccf->worker_processes = 1;
    }
    if (ccf->worker_connections == FY_CONF_UNSET_INT) {
        ccf->worker_connections = 512;
    }
    fy_supervise_conf_defaults(ccf);
    if (ccf->worker_max_memory == FY_CONF_UNSET_SIZE) {
        ccf->worker_max_memory = 0;
    }
    if (ccf->master_sched == FY_CONF_UNSET_INT) {
        ccf->master_sched = FY_SCHED_BATCH;
    }
    cycle->workers = (unsigned) ccf->worker_processes;
    if (cycle->workers == 0) {
        ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        cycle->workers = ncpu < 1 ? 1 : (unsigned) fy_min(ncpu, FY_MAX_WORKERS);
    }

    /* ferry's master has always taken every waiting connection, up
     * to a batch, per wake-up: nginx's default is off */
    if (ccf->multi_accept == FY_CONF_UNSET_INT) {
        ccf->multi_accept = 1;
    }
    if (ccf->epoll_events == FY_CONF_UNSET_INT) {
        ccf->epoll_events = FY_EPOLL_EVENTS;     /* nginx's 512 */
    }
    /* nginx's default is off; ferry has always JIT-compiled */
    if (ccf->pcre_jit == FY_CONF_UNSET_INT) {
        ccf->pcre_jit = 1;
    }
    fy_worker_conf_check(cycle);

    cycle->dispatch = ccf->dispatch ? ccf->dispatch
                                    : &fy_dispatch_round_robin;

    cycle->pid_path = ccf->pid.data
        ? fy_full_path(pool, cycle->prefix, (char *) ccf->pid.data,
                       ccf->pid.len)
        : fy_full_path(pool, cycle->prefix, FY_PID_PATH, strlen(FY_PID_PATH));

    if (ccf->error_log.data == NULL) {
        cycle->error_log_path = fy_full_path(pool, cycle->prefix,
                                             FY_ERROR_LOG_PATH,
                                             strlen(FY_ERROR_LOG_PATH));
        ccf->error_log_level = FY_LOG_ERR;
    } else if (fy_str_eq(&ccf->error_log, "stderr")) {
        cycle->error_log_path = "stderr";
    } else if (ccf->error_log_syslog) {
        cycle->error_log_path = NULL;       /* ferry.c opens the syslog */
    } else {
        cycle->error_log_path = fy_full_path(pool, cycle->prefix,
                                             (char *) ccf->error_log.data,
                                             ccf->error_log.len);
    }

    if (cycle->http && fy_http_init_cycle(cycle) != FY_OK) {
        goto failed;
    }
    /* after http's: a stream listen may not take an http address */
    if (cycle->stream && fy_stream_init_cycle(cycle) != FY_OK) {
        goto failed;
    }
    if (fy_listen_check(cycle) != FY_OK) {
        goto failed;
    }
    if (cycle->http && ccf->pcre_jit) {
        fy_http_regex_jit(cycle);
    }

    if (dump) {
        fy_conf_dump_print(&cf, stdout);
    }
    return cycle;

failed:
    fy_pool_destroy(pool);
    return NULL;
}

void
fy_cycle_free(fy_cycle_t *cycle)
{
    if (cycle) {
        fy_pool_destroy(cycle->pool);
    }
}

/* The part of fy_parse_addr_port and fy_parse_addrs that needs no
 * resolver: FY_OK with addr set for an address written out (or a unix
 * path), FY_AGAIN for a host name, left in host (NUL-terminated) with
 * its port in addr's (sin_port and sin6_port share their place), or
 * FY_DECLINED / FY_ERROR as fy_parse_addr_port. */
static int
fy_split_addr_port(const u_char *s, size_t len, int need_port,
                   fy_sockaddr_t *addr, socklen_t *salen, char *host,
                   size_t host_size)
{
    struct sockaddr_in6  *sa = &addr->sin6;
    struct sockaddr_in   *sin = &addr->sin;
    const u_char         *colon, *host_end;
    size_t                hlen;
    int64_t               port = -1;
    int                   v6 = 0;

    memset(addr, 0, sizeof(*addr));

    if (len >= 5 && memcmp(s, "unix:", 5) == 0) {
        /* nginx's "unix:/path": a unix-domain socket */
        if (len == 5 || memchr(s + 5, '\0', len - 5)) {
            return FY_ERROR;
        }
        if (len - 5 >= sizeof(addr->sun.sun_path)) {
            return FY_DECLINED;
        }
        addr->sun.sun_family = AF_UNIX;
        memcpy(addr->sun.sun_path, s + 5, len - 5);
        *salen = (socklen_t) (offsetof(struct sockaddr_un, sun_path)
                              + len - 5 + 1);
        return FY_OK;
    }

    if (len && s[0] == '[') {
        host_end = memchr(s, ']', len);
        if (host_end == NULL) {
            return FY_ERROR;
        }
        v6 = 1;
        colon = (host_end + 1 < s + len && host_end[1] == ':')
                ? host_end + 1 : NULL;
        if (colon == NULL && host_end + 1 != s + len) {
            return FY_ERROR;
        }
        s++;
    } else {
        colon = memrchr(s, ':', len);
        host_end = colon ? colon : s + len;
    }

    if (colon) {
        /* s was advanced past '[' for v6, so the end is s - v6 + len */
        port = fy_atoi(colon + 1, (size_t) ((s - v6 + len) - (colon + 1)));
        if (port < 1 || port > 65535) {
            return FY_ERROR;
        }
    } else if (!v6) {
        /* A bare number is a port ("listen 8080"). */
        port = fy_atoi(s, len);
        if (port >= 1 && port <= 65535) {
            sin->sin_family = AF_INET;
            sin->sin_port = htons((uint16_t) port);
            sin->sin_addr.s_addr = htonl(INADDR_ANY);
            *salen = sizeof(struct sockaddr_in);
            return FY_OK;
        }
        port = -1;
    }

    if (port == -1) {
        if (need_port) {
            return FY_ERROR;
        }
        port = 80;
    }

    hlen = (size_t) (host_end - s);
    if (hlen == 0 || hlen >= host_size) {
        return FY_ERROR;
    }
    memcpy(host, s, hlen);
    host[hlen] = '\0';

    if (v6) {
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons((uint16_t) port);
        if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1) {
            return FY_ERROR;
        }
        *salen = sizeof(struct sockaddr_in6);
        return FY_OK;
    }

    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t) port);
    *salen = sizeof(struct sockaddr_in);

    if (strcmp(host, "*") == 0) {
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        return FY_OK;
    }
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        return FY_OK;
    }
    return FY_AGAIN;
}

int
fy_parse_addr_port(const u_char *s, size_t len, int need_port,
                   fy_sockaddr_t *addr, socklen_t *salen)
{
    struct addrinfo  hints, *res;
    char             host[256];
    int              rc;

    rc = fy_split_addr_port(s, len, need_port, addr, salen, host,
                            sizeof(host));
    if (rc != FY_AGAIN) {
        return rc;
    }

    /* A host name, for a caller that takes one address (syslog,
     * resolver, stream's proxy_bind): its first IPv4 one, resolved
     * once, at configuration time.  Upstream servers and listen take
     * all (fy_parse_addrs). */
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        return FY_ERROR;
    }
    addr->sin.sin_addr = ((struct sockaddr_in *) res->ai_addr)->sin_addr;
    freeaddrinfo(res);
    return FY_OK;
}

/* Adds to out the addresses of res of family af, each once, with the
 * port port (network order).  FY_OK or FY_ERROR (no memory). */
static int
fy_addrs_push(fy_array_t *out, const struct addrinfo *res, int af,
              in_port_t port)
{
    fy_sockaddr_t  sa;
    fy_addr_t     *a;
    unsigned       i;
    socklen_t      len;

    for (; res; res = res->ai_next) {
        len = af == AF_INET ? sizeof(struct sockaddr_in)
                            : sizeof(struct sockaddr_in6);
        if (res->ai_family != af || res->ai_addrlen < len) {
            continue;
        }
        memset(&sa, 0, sizeof(sa));
        memcpy(&sa, res->ai_addr, len);
        sa.sin6.sin6_port = port;       /* sin_port: the same place */
        for (i = 0; i < out->nelts; i++) {
            a = fy_array_elt(out, fy_addr_t, i);
            if (a->addrlen == len && memcmp(&a->addr, &sa, len) == 0) {
                break;          /* a hosts file may list one twice */
            }
        }
        if (i < out->nelts) {
            continue;
        }
        a = fy_array_push(out);
        if (a == NULL) {
            return FY_ERROR;
        }
        a->addr = sa;
        a->addrlen = len;
    }
    return FY_OK;
}

int
fy_parse_addrs(fy_pool_t *pool, const u_char *s, size_t len, int need_port,
               fy_array_t *out, int *named)
{
    struct addrinfo  hints, *res;
    fy_sockaddr_t    addr;
    socklen_t        salen;
    fy_addr_t       *a;
    char             host[256];
    in_port_t        port;
    int              rc;

    fy_array_init(out, pool, 4, sizeof(fy_addr_t));
    *named = 0;

    rc = fy_split_addr_port(s, len, need_port, &addr, &salen, host,
                            sizeof(host));
    if (rc == FY_OK) {
        a = fy_array_push(out);
        if (a == NULL) {
            return FY_ERROR;
        }
        a->addr = addr;
        a->addrlen = salen;
        return FY_OK;
    }
    if (rc != FY_AGAIN) {
        return rc;
    }

    /* A host name: resolved once, when the configuration is read, to
     * every address it has, IPv4 ones first, as nginx does for the
     * names of upstream servers and of listen (ngx_inet_resolve_host). */
    port = addr.sin.sin_port;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || res == NULL) {
        return FY_ERROR;
    }
    rc = fy_addrs_push(out, res, AF_INET, port) == FY_OK
         && fy_addrs_push(out, res, AF_INET6, port) == FY_OK
         ? FY_OK : FY_ERROR;
    freeaddrinfo(res);
    if (rc == FY_OK && out->nelts == 0) {
        rc = FY_ERROR;                  /* neither IPv4 nor IPv6 */
    }
    *named = 1;
    return rc;
}

static char *
fy_dec_text(char *p, unsigned v)
{
    return p + fy_utoa((u_char *) p, v);
}

void
fy_sockaddr_text(const struct sockaddr *sa, socklen_t len, char *buf,
                 size_t size, int with_port)
{
    char  ip[INET6_ADDRSTRLEN];
    char  t[sizeof("255.255.255.255:65535")], *p;
    int   i;

    if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *su = (const struct sockaddr_un *) sa;
        size_t  off = offsetof(struct sockaddr_un, sun_path), plen = 0;

        if (len > off) {
            plen = strnlen(su->sun_path, fy_min((size_t) len - off,
                                                sizeof(su->sun_path)));
        }
        snprintf(buf, size, "unix:%.*s", (int) plen, su->sun_path);
        return;
    }

    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *) sa;
        inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
        if (with_port) {
            snprintf(buf, size, "[%s]:%u", ip, ntohs(s6->sin6_port));
        } else {
            snprintf(buf, size, "%s", ip);
        }
        return;
    }

    /* IPv4, every accepted connection: by hand, because inet_ntop()
     * (a sprintf inside) and snprintf() took 2,300 of the 13,800
     * instructions a new connection cost a worker (callgrind,
     * docs/performance.md) */
    const struct sockaddr_in *s4 = (const struct sockaddr_in *) sa;
    const u_char             *a = (const u_char *) &s4->sin_addr;

    if (size == 0) {
        return;
    }
    p = t;
    for (i = 0; i < 4; i++) {
        if (i) {
            *p++ = '.';
        }
        p = fy_dec_text(p, a[i]);
    }
    if (with_port) {
        *p++ = ':';
        p = fy_dec_text(p, ntohs(s4->sin_port));
    }
    i = (int) fy_min((size_t) (p - t), size - 1);
    memcpy(buf, t, (size_t) i);
    buf[i] = '\0';
}
