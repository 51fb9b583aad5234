/*
 * fy_stream.h -- the stream { } block: TCP and UDP proxying and
 * balancing, as nginx's ngx_stream_core, _proxy, _upstream, _access and
 * _log modules.
 *
 *   fy_stream_conf.c      the block, server, listen, upstream, the
 *                         directive table, building the listeners
 *   fy_stream_proxy.c     a session: access check, connect (with the
 *                         next server on failure), relay, close
 *   fy_stream_log.c       log_format, access_log, the variables
 *   fy_stream_map.c       map, and the values of the variables the
 *                         config defines (map, geo, ...)
 *   fy_stream_geo.c       geo (http's table, fy_http_geo_table.c)
 *   fy_stream_split_clients.c split_clients (http's parts and hash)
 *   fy_stream_set.c       set, at the preaccess phase
 *   fy_stream_limit_conn.c limit_conn_zone, limit_conn (http's zones)
 *   fy_stream_preread.c   the preread phase: ssl_preread
 *   fy_stream_tls_hello.c the ClientHello reader ssl_preread uses
 *   fy_stream_udp.c       "listen ... udp": datagram sessions keyed by
 *                         the client's address, read by every worker
 *   fy_stream_ssl.c       TLS termination: "listen ... ssl", the ssl_*
 *                         directives, the handshake, $ssl_*
 *   fy_stream_proxy_ssl.c TLS to the upstream server: proxy_ssl*
 *   fy_stream_return.c    "return VALUE" instead of proxy_pass
 *
 * Listeners are the cycle's (fy_listen_t with `stream` set): the master
 * accepts and hands the fd to a worker as for http; the worker sees the
 * listener's `stream` and calls fy_stream_init_connection instead of
 * fy_http_init_connection.  A `udp` listener is not accepted on: every
 * worker reads the master's socket itself (fy_stream_udp.c).
 *
 * Upstreams are fy_http_upstream_t, as http's: the same "server"
 * parameters, the same balancers (fy_http_balancer.h), the same shared
 * slots and passive health (fy_http_peer.c).  They live in their own
 * list (nginx keeps stream and http upstream names apart), indexed in
 * shared memory after http's.
 */
#ifndef FY_STREAM_H
#define FY_STREAM_H

#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_event.h"
#include "fy_alog.h"
#include "fy_http.h"
#include "fy_pp.h"
#include "fy_stream_tls_hello.h"
#include "fy_tls.h"
#include "fy_tls_upstream.h"

/* Contexts of the stream block (fy_conf_file.h has the http ones). */
#define FY_CONF_STREAM      0x0200
#define FY_CONF_STREAM_SRV  0x0400
#define FY_CONF_STREAM_UPS  0x0800

/* A stream variable, by its index (fy_stream_log.c). */
enum {
    FY_STREAM_VAR_REMOTE_ADDR,
    FY_STREAM_VAR_REMOTE_PORT,
    FY_STREAM_VAR_SERVER_ADDR,
    FY_STREAM_VAR_SERVER_PORT,
    FY_STREAM_VAR_UPSTREAM_ADDR,
    FY_STREAM_VAR_BYTES_SENT,
    FY_STREAM_VAR_BYTES_RECEIVED,
    FY_STREAM_VAR_UPSTREAM_BYTES_SENT,
    FY_STREAM_VAR_UPSTREAM_BYTES_RECEIVED,
    FY_STREAM_VAR_UPSTREAM_CONNECT_TIME,
    FY_STREAM_VAR_SESSION_TIME,
    FY_STREAM_VAR_STATUS,
    FY_STREAM_VAR_CONNECTION,
    FY_STREAM_VAR_PID,
    FY_STREAM_VAR_TIME_LOCAL,
    FY_STREAM_VAR_TIME_ISO8601,
    FY_STREAM_VAR_MSEC,
    FY_STREAM_VAR_PROTOCOL,
    FY_STREAM_VAR_HOSTNAME,
    FY_STREAM_VAR_PP_ADDR,
    FY_STREAM_VAR_PP_PORT,
    FY_STREAM_VAR_PP_SERVER_ADDR,
    FY_STREAM_VAR_PP_SERVER_PORT,
    FY_STREAM_VAR_SSL_PREREAD_SERVER_NAME,
    FY_STREAM_VAR_SSL_PREREAD_ALPN_PROTOCOLS,
    FY_STREAM_VAR_SSL_PREREAD_PROTOCOL,
    FY_STREAM_VAR_LIMIT_CONN_STATUS,
    FY_STREAM_VAR_BINARY_REMOTE_ADDR,
    FY_STREAM_VAR_SSL_PROTOCOL,
    FY_STREAM_VAR_SSL_CIPHER,
    FY_STREAM_VAR_SSL_SERVER_NAME,
    FY_STREAM_VAR_SSL_SESSION_REUSED,
    FY_STREAM_VAR_SSL_ALPN_PROTOCOL,
    /* the client certificate's, in this order (fy_stream_ssl.c) */
    FY_STREAM_VAR_SSL_CLIENT_VERIFY,
    FY_STREAM_VAR_SSL_CLIENT_S_DN,
    FY_STREAM_VAR_SSL_CLIENT_I_DN,
    FY_STREAM_VAR_SSL_CLIENT_SERIAL,
    FY_STREAM_VAR_SSL_CLIENT_FINGERPRINT,
    FY_STREAM_VAR_SSL_CLIENT_RAW_CERT,
    FY_STREAM_VAR_SSL_CLIENT_CERT,
    FY_STREAM_VAR_SSL_CLIENT_ESCAPED_CERT,
    FY_STREAM_VAR_SSL_CLIENT_S_DN_LEGACY,
    FY_STREAM_VAR_SSL_CLIENT_I_DN_LEGACY,
    FY_STREAM_VAR_SSL_CLIENT_V_START,
    FY_STREAM_VAR_SSL_CLIENT_V_END,
    FY_STREAM_VAR_SSL_CLIENT_V_REMAIN,
    /* the client's offer and the session id (src/tls/fy_tls_info.c) */
    FY_STREAM_VAR_SSL_CIPHERS,
    FY_STREAM_VAR_SSL_CURVE,
    FY_STREAM_VAR_SSL_CURVES,
    FY_STREAM_VAR_SSL_SESSION_ID,
    FY_STREAM_VAR_SERVER_NAME,
    FY_STREAM_VAR_REALIP_REMOTE_ADDR,
    FY_STREAM_VAR_REALIP_REMOTE_PORT,
    FY_STREAM_VAR_UPSTREAM_FIRST_BYTE_TIME,
    FY_STREAM_VAR_UPSTREAM_SESSION_TIME,
    FY_STREAM_VAR_NGINX_VERSION,
    FY_STREAM_VAR_N
};

/* The longest value a variable the config defines keeps (map, geo,
 * split_clients, set): longer ones are cut here. */
#define FY_STREAM_VALUE_MAX  1024

/* A text with $variables, compiled: literal parts and variables. */
typedef struct {
    fy_str_t   lit;         /* literal text before the variable */
    int        var;         /* FY_STREAM_VAR_*, -1: none (last part),
                               FY_STREAM_VAR_PP_TLV: $proxy_protocol_tlv_
                               with its NAME in arg,
                               FY_STREAM_VAR_CAPTURE: $1..$9 or a named
                               group of a map's regex, its name in arg */
    fy_str_t   arg;
} fy_stream_cv_part_t;

#define FY_STREAM_VAR_PP_TLV   (-2)
#define FY_STREAM_VAR_CAPTURE  (-3)

/* How variable values are written into a log line (log_format's
 * escape=, fy_alog_escape); texts that are not log formats (hash KEY)
 * are NONE. */
enum {
    FY_STREAM_ESC_NONE = FY_ALOG_ESC_NONE,
    FY_STREAM_ESC_DEFAULT = FY_ALOG_ESC_DEFAULT,
    FY_STREAM_ESC_JSON = FY_ALOG_ESC_JSON
};

typedef struct fy_stream_cv_s {
    fy_stream_cv_part_t  *parts;
    unsigned              n;
    unsigned              escape;       /* FY_STREAM_ESC_* */
} fy_stream_cv_t;

typedef struct {
    fy_http_cidr_t   cidr;          /* family 0: "all" */
    unsigned         deny:1;
} fy_stream_access_rule_t;

typedef struct fy_stream_map_s       fy_stream_map_t;
typedef struct fy_stream_map_value_s fy_stream_map_value_t;

typedef struct {
    struct fy_alog_file_s *file;       /* a fixed PATH, or NULL */
    struct fy_syslog_s    *syslog;     /* syslog:..., or NULL */
    fy_stream_cv_t        *path_cv;    /* PATH with variables, or NULL */
    const char            *path;       /* PATH as written */
    const char            *prefix;     /* for a relative one */
    fy_stream_cv_t        *format;     /* found when the block ends */
    fy_stream_cv_t        *cond;       /* if=, NULL: none */
    fy_str_t               format_name;
    unsigned               line;
} fy_stream_access_log_t;

/* "listen" of a stream server */
typedef struct {
    fy_sockaddr_t        addr;
    socklen_t            addrlen;
    fy_listen_opts_t     sock;          /* backlog=, so_keepalive=, ... */
    unsigned             proxy_protocol:1;  /* clients send a PROXY header */
    unsigned             udp:1;         /* a datagram socket */
    unsigned             ssl:1;         /* TLS terminated here */
    unsigned             default_server:1;  /* for names no server has */
    unsigned             line;
} fy_stream_listen_t;

/* A stream server, and the stream level's defaults (same type). */
typedef struct fy_stream_srv_conf_s {
    fy_array_t           listens;       /* fy_stream_listen_t */
    fy_http_names_t      sn;            /* server_name (nginx 1.25.5):
                                           chosen by SNI among the
                                           servers of one address */
    fy_http_upstream_t  *upstream;      /* proxy_pass, NULL: none or ... */
    fy_stream_cv_t      *upstream_cv;   /* ... proxy_pass $var, or ... */
    fy_stream_cv_t      *ret;           /* ... return VALUE */
    int64_t              connect_timeout;        /* ms */
    int64_t              timeout;                /* ms, idle */
    int                  next_upstream;          /* flag */
    int                  next_upstream_tries;    /* 0: no limit */
    int64_t              next_upstream_timeout;  /* ms, 0: none */
    size_t               buffer_size;
    int                  half_close;             /* flag */
    int                  tcp_nodelay;            /* flag */
    int                  socket_keepalive;       /* flag: SO_KEEPALIVE
                                                    to the server */
    int                  proxy_protocol;         /* flag: send PROXY v1 */
    int64_t              pp_timeout;             /* proxy_protocol_timeout */
    int                  ssl_preread;            /* flag */
    int                  udp_requests;           /* proxy_requests, 0:
                                                    no limit */
    int                  udp_responses;          /* proxy_responses,
                                                    -1: no limit */
    size_t               preread_buffer_size;
    int64_t              preread_timeout;        /* ms */
    fy_array_t          *limit_conns;   /* fy_http_limit_conn_t, NULL:
                                           none here or above */
    int                  limit_conn_log_level;
    int                  limit_conn_dry_run;     /* flag */
    size_t               upload_rate;            /* bytes/s, 0: none */
    size_t               download_rate;
    int                  bind_set;               /* proxy_bind given */
    fy_stream_cv_t      *bind_cv;       /* proxy_bind $var, or NULL */
    fy_sockaddr_t        bind;                   /* family 0: off */
    socklen_t            bind_len;
    fy_array_t          *access;                 /* rules, NULL: none */
    fy_array_t          *sets;          /* "set"s (fy_stream_set.c),
                                           NULL: none */
    /* resolver (NULL: none), resolver_timeout (http's setters): for
     * the host of a "proxy_pass $var" that names no upstream */
    struct fy_resolver_s *resolver;
    int64_t              resolver_timeout;
    fy_array_t          *realip_from;   /* set_real_ip_from: fy_http_cidr_t,
                                           NULL: none here or above */
    fy_array_t          *logs;                   /* fy_stream_access_log_t,
                                                    NULL: unset */
    int                  log_off;                /* access_log off */
    fy_alog_cache_conf_t log_cache;              /* open_log_file_cache */
    fy_log_t            *error_log;              /* NULL: the main one */
    fy_tls_conf_t        tls;           /* ssl_* (fy_stream_ssl.c) */
    fy_str_t             alpn;          /* ssl_alpn, wire form; len 0:
                                           none */
    int64_t              ssl_handshake_timeout;  /* ms */
    int                  proxy_ssl;     /* flag: TLS to the server */
    fy_tls_up_conf_t     up_tls;        /* proxy_ssl_* */
    fy_stream_cv_t      *ssl_name;      /* proxy_ssl_name, NULL: the
                                           proxy_pass host */
    const char          *file;
    unsigned             line;
} fy_stream_srv_conf_t;

/* An upstream of the stream block: http's type, and the hash key
 * evaluated with the stream variables. */
typedef struct {
    fy_http_upstream_t  *u;
    fy_stream_cv_t      *hash_key;      /* hash KEY, or NULL */
} fy_stream_upstream_t;

typedef struct fy_stream_main_conf_s {
    fy_array_t              servers;     /* fy_stream_srv_conf_t * */
    fy_array_t              upstreams;   /* fy_stream_upstream_t */
    fy_stream_srv_conf_t   *srv;         /* the stream level's settings */
    fy_array_t              formats;     /* fy_stream_log_format_t */
    struct fy_http_error_log_s *error_logs;  /* every error_log file */
    fy_array_t              maps;        /* fy_stream_map_t * */
    /* limit_conn_zone (fy_stream_limit_conn.c), latest first */
    struct fy_http_limit_zone_s *limit_zones;
    fy_tls_tickets_t        tickets;     /* ssl_session_ticket_key */
    unsigned                maps_checked:1;  /* no new map from now on */
} fy_stream_main_conf_t;

extern const fy_command_t  fy_stream_commands[];
extern const fy_command_t  fy_stream_log_commands[];
extern const fy_command_t  fy_stream_map_commands[];
extern const fy_command_t  fy_stream_geo_commands[];
extern const fy_command_t  fy_stream_split_clients_commands[];
extern const fy_command_t  fy_stream_set_commands[];
extern const fy_command_t  fy_stream_limit_conn_commands[];
extern const fy_command_t  fy_stream_ssl_commands[];
extern const fy_command_t  fy_stream_proxy_ssl_commands[];
extern const fy_command_t  fy_stream_return_commands[];

/* fy_stream_conf.c: merge the servers, resolve proxy_pass, prepare the
 * balancers and add the listeners to cycle->listening.  FY_OK or
 * FY_ERROR (logged with file and line). */
int  fy_stream_init_cycle(fy_cycle_t *cycle);
/* The stream upstreams of cycle for fy_http_peers_register (NULL
 * without a stream block). */
fy_array_t *fy_stream_upstreams(fy_cycle_t *cycle);
/* The stream upstream called name, made (implicit: an address, checked
 * by fy_stream_init_cycle) when there is none yet: proxy_pass may name
 * an upstream defined further down.  NULL after a config error. */
fy_stream_upstream_t *fy_stream_upstream_get(fy_conf_t *cf,
    fy_stream_main_conf_t *smcf, const fy_str_t *name);
/* Find the stream upstream record of u (its hash key). */
fy_stream_upstream_t *fy_stream_upstream_of(fy_stream_main_conf_t *smcf,
                                            fy_http_upstream_t *u);

/* fy_stream_proxy.c: a connection accepted on a stream listener. */
void fy_stream_init_connection(fy_conn_t *c, fy_listen_t *ls);

/* One proxied connection (fy_stream_proxy.c), in its own pool. */
typedef struct fy_stream_session_s {
    fy_pool_t                *pool;
    fy_conn_t                *c;           /* client */
    fy_conn_t                *uc;          /* upstream, NULL: none now */
    fy_listen_t              *ls;
    fy_stream_srv_conf_t     *scf;
    fy_http_upstream_t       *u;
    fy_stream_upstream_t     *su;
    fy_http_upstream_peer_t  *peer;        /* the server of uc */
    uint8_t                  *tried;       /* per server of u */
    unsigned                  tries;
    uint64_t                  start;       /* fy_current_msec */
    uint64_t                  connect_start;
    int64_t                   connect_time;  /* ms, -1: not connected */
    int64_t                   first_byte;  /* ms from connect_start to
                                              the server's first byte,
                                              -1: none yet */
    fy_buf_t                  up;          /* client -> upstream */
    fy_buf_t                  down;        /* upstream -> client */
    uint64_t                  bytes_received;  /* from the client */
    uint64_t                  bytes_sent;      /* to the client */
    uint64_t                  up_received;     /* from the upstream */
    uint64_t                  up_sent;         /* to the upstream */
    uint64_t                  serial;      /* $connection */
    unsigned                  status;      /* $status */
    char                      addr_text[FY_SOCKADDR_STRLEN];  /* client */
    char                      up_addrs[256];  /* $upstream_addr */
    size_t                    up_addrs_len;
    /* what the client's PROXY protocol header said (listen ...
     * proxy_protocol); empty strings for none or "UNKNOWN"/LOCAL */
    fy_pp_t                   pp;
    /* set_real_ip_from took the client from the PROXY header: the
     * peer's own address ($realip_remote_addr, _port) */
    struct sockaddr_in6       real_addr;
    socklen_t                 real_addrlen;
    unsigned                  realip:1;
    fy_tls_hello_t           *hello;       /* ssl_preread on, else NULL */
    fy_stream_map_value_t    *map_values;  /* the maps' values so far */
    fy_http_captures_t       *captures;    /* of the last map regex that
                                              matched with groups */
    struct fy_http_limit_held_s *limit_held;  /* limit_conn's counts */
    struct fy_stream_udp_s   *udp;         /* a UDP session, else NULL */
    unsigned                  limit_conn_status:3;  /* FY_LIMIT_* */
    unsigned                  up_eof:1;    /* client sent FIN, passed on */
    unsigned                  down_eof:1;  /* upstream sent FIN, passed on */
} fy_stream_session_t;

/* fy_stream_proxy.c: the server of s->ls that host (lowercased, from
 * SNI) names becomes the session's (nginx's virtual server: its
 * settings from the next phase on); none: the default server stays.
 * FY_OK, or FY_ERROR (no memory). */
int  fy_stream_virtual(fy_stream_session_t *s, const fy_str_t *host);

/* fy_stream_proxy.c: the content phase (pick a server, connect,
 * relay), and the end of a session with its $status. */
void fy_stream_connect(fy_stream_session_t *s);
void fy_stream_finalize(fy_stream_session_t *s, unsigned status);
/* The steps of a session that UDP sessions share (fy_stream_proxy.c):
 * allow/deny (FY_OK or FY_ERROR, logged); proxy_pass $var's upstream
 * into s->u (FY_OK or FY_ERROR, logged); the balancer's pick (the
 * server's index, -1: none, logged once per outage); s->peer's name
 * appended to $upstream_addr. */
int  fy_stream_access(fy_stream_session_t *s);
int  fy_stream_resolve(fy_stream_session_t *s);
int  fy_stream_pick(fy_stream_session_t *s);
void fy_stream_add_addr(fy_stream_session_t *s);
/* The upstream resolved and the server picked, all four steps above:
 * s->peer set and counted as tried (FY_OK), or FY_ERROR (logged). */
int  fy_stream_choose(fy_stream_session_t *s);
/* fy_stream_resolve.c: a proxy_pass $var value (len bytes) that names no
 * upstream: s->u made for its address (FY_OK), or its name asked of the
 * resolver (FY_AGAIN: fy_stream_connect, or fy_stream_udp_resolved for
 * a UDP session, is called when answered); FY_ERROR logged. */
int  fy_stream_resolve_target(fy_stream_session_t *s, const u_char *value,
                              size_t len);
/* proxy_bind on the new socket fd to s->peer, before its connect: the
 * address given, or the one its variables give for s (empty: none;
 * not an address, or not of the server's family: logged, none, as
 * nginx).  FY_OK, or FY_ERROR when bind() failed (logged). */
int  fy_stream_bind(fy_stream_session_t *s, int fd);

/* fy_stream_udp.c: in a worker, start reading the UDP listeners of
 * cycle (FY_OK or FY_ERROR, logged); stop reading them (the worker
 * quits: its sessions run to their end); the end of a UDP session
 * (fy_stream_finalize): out of the worker's session table; the name
 * of its proxy_pass $var resolved into s->u: the server's socket
 * connected and the datagrams held meanwhile sent (or the end, 502). */
int  fy_stream_udp_init_process(fy_cycle_t *cycle);
void fy_stream_udp_stop(fy_cycle_t *cycle);
void fy_stream_udp_done(fy_stream_session_t *s);
void fy_stream_udp_resolved(fy_stream_session_t *s);

/* fy_stream_ssl.c: after the servers are merged, the TLS context of
 * every server with a "listen ... ssl" (FY_OK or FY_ERROR, logged with
 * file and line); the session's handshake (the ssl phase; then
 * fy_stream_after_ssl, or the session's end); the $ssl_* variables. */
int  fy_stream_ssl_init_cycle(fy_cycle_t *cycle);
void fy_stream_ssl_handshake(fy_stream_session_t *s);
size_t fy_stream_ssl_var(fy_stream_session_t *s, int var, u_char *buf,
                         size_t size);
/* fy_stream_proxy.c: what comes after the ssl phase; after the
 * connect (and the TLS handshake with the server), the relay; the
 * failed try on s->peer (the next server, or the end). */
void fy_stream_after_ssl(fy_stream_session_t *s);
void fy_stream_relay_start(fy_stream_session_t *s);
void fy_stream_next(fy_stream_session_t *s);

/* fy_stream_proxy_ssl.c: the proxy_ssl* settings merged and the
 * client contexts built (FY_OK or FY_ERROR, logged); the TLS
 * handshake with the server just connected, under
 * proxy_connect_timeout, then fy_stream_relay_start (or
 * fy_stream_next). */
void fy_stream_proxy_ssl_merge(fy_stream_srv_conf_t *p,
                               fy_stream_srv_conf_t *c);
int  fy_stream_proxy_ssl_init_cycle(fy_cycle_t *cycle);
void fy_stream_proxy_ssl_handshake(fy_stream_session_t *s);

/* fy_stream_return.c: the content phase of a server with "return":
 * the value sent, then the end (200). */
void fy_stream_return(fy_stream_session_t *s);

/* fy_stream_set.c: the server's "set"s (s->scf->sets not NULL), in
 * order; FY_OK, or FY_ERROR (no memory).  fn on every plain value (no
 * variables) of every "set" (FY_ERROR as soon as fn returns it). */
int  fy_stream_set_run(fy_stream_session_t *s);
int  fy_stream_set_each_value(fy_stream_main_conf_t *smcf,
                              int (*fn)(const fy_str_t *value, void *data),
                              void *data);

/* fy_stream_preread.c: ssl_preread's phase, then fy_stream_connect. */
void fy_stream_preread(fy_stream_session_t *s);


/* fy_stream_map.c: the variable index (FY_STREAM_VAR_N + n) of the
 * map called name, made when new (filled by its block later); -1 when
 * there is no stream block yet, or after the block (no new maps). */
int  fy_stream_map_reference(fy_conf_t *cf, const u_char *name, size_t len);
/* Whether a map regex read so far (the current line's too) has a group
 * called name: $name is then that group's text ($1..$9 are always). */
int  fy_stream_map_group(fy_conf_t *cf, const u_char *name, size_t len);
/* End of the stream block: a map used but never defined is an error
 * at its first use.  FY_OK or FY_ERROR (logged). */
int  fy_stream_map_done(fy_conf_t *cf, fy_stream_main_conf_t *smcf);
/* fn on every plain value (no variables in it) of every map, geo,
 * split_clients and set. */
int  fy_stream_map_each_value(fy_stream_main_conf_t *smcf,
                              int (*fn)(const fy_str_t *value, void *data),
                              void *data);
/* The variables the config defines (map, geo, split_clients, set) are
 * kept with the maps: arg ("$name") defined as computed by eval (its
 * value kept for the session once computed), with each (or NULL)
 * giving its plain values for "proxy_pass $var"; eval NULL: a "set"
 * of it (allowed on any of them, and several times), and a variable
 * only "set"s define has only what fy_stream_var_store put.  Its
 * variable index, or -1 (logged: a bad name, a duplicate).  eval
 * returns the value's length, or FY_STREAM_VAR_FAILED (logged; the
 * variable reads empty and is not kept). */
#define FY_STREAM_VAR_FAILED  ((size_t) -1)
typedef size_t (*fy_stream_var_eval_pt)(fy_stream_session_t *s, void *data,
                                        u_char *buf, size_t size);
typedef int (*fy_stream_var_each_pt)(void *data,
    int (*fn)(const fy_str_t *value, void *arg), void *arg);
int  fy_stream_var_define(fy_conf_t *cf, const fy_str_t *arg,
                          fy_stream_var_eval_pt eval,
                          fy_stream_var_each_pt each, void *data);
/* A plain value (NULL: the empty string) as an eval gives it: copied
 * into buf, at most size bytes; its length. */
size_t fy_stream_var_text(const fy_str_t *v, u_char *buf, size_t size);
/* The session's value of variable var (a defined one) is now data.
 * FY_OK, or FY_ERROR (no memory). */
int  fy_stream_var_store(fy_stream_session_t *s, int var, const u_char *data,
                         size_t len);
/* End of the stream block, with a "proxy_pass $var" somewhere: every
 * map value that is an address with a port (plain text) and no
 * upstream's name is made an upstream.  FY_OK or FY_ERROR (logged). */
int  fy_stream_map_addresses(fy_conf_t *cf, fy_stream_main_conf_t *smcf);
/* The value of map variable var for s into buf (at most size bytes);
 * its length. */
size_t fy_stream_map_get(fy_stream_session_t *s, int var, u_char *buf,
                         size_t size);

/* fy_stream_limit_conn.c: end of the stream block (a zone used, never
 * defined, is an error); FY_OK or FY_ERROR (logged). */
int  fy_stream_limit_conn_done(fy_conf_t *cf, fy_stream_main_conf_t *smcf);
/* After the whole configuration: no stream zone has an http zone's
 * name.  FY_OK or FY_ERROR (logged). */
int  fy_stream_limit_conn_check_names(fy_cycle_t *cycle);
/* The preaccess phase: 0 (counted, or not limited), else the status
 * to close the session with (503 over a limit, logged). */
unsigned fy_stream_limit_conn(fy_stream_session_t *s);
/* $limit_conn_status */
size_t fy_stream_limit_conn_var(fy_stream_session_t *s, u_char *buf,
                                size_t size);

/* fy_stream_log.c */
fy_stream_cv_t *fy_stream_cv_compile(fy_conf_t *cf, const fy_str_t *text);
/* The index of the built-in stream variable name, or -1. */
int  fy_stream_var_builtin(const u_char *name, size_t len);
int  fy_stream_log_init_cycle(fy_conf_t *cf, fy_stream_main_conf_t *smcf);

/* The value of variable `var` of session s into buf (at most size
 * bytes); returns its length. */
size_t fy_stream_var(fy_stream_session_t *s, int var, u_char *buf,
                     size_t size);
/* Evaluate cv for s into buf; returns the length (cut at size). */
size_t fy_stream_cv_eval(fy_stream_session_t *s, const fy_stream_cv_t *cv,
                         u_char *buf, size_t size);
void fy_stream_log_session(fy_stream_session_t *s);

#endif /* FY_STREAM_H */
