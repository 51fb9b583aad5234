/*
 * fy_http.h -- the HTTP module: configuration structures, the client
 * connection and request, and the functions the pieces call on each
 * other.
 *
 * Configuration has three levels as in nginx: http, server and
 * location.  Directives that may appear at every level (timeouts,
 * proxy settings) live in fy_http_loc_conf_t; the http and server
 * levels each have one for the values their locations inherit, merged
 * down once when the configuration is loaded.
 */
#ifndef FY_HTTP_H
#define FY_HTTP_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_array.h"
#include "fy_cycle.h"
#include "fy_event.h"
#include "fy_shm.h"
#include "fy_alog.h"
#include "fy_http_parse.h"
#include "fy_tls.h"
#include "fy_tls_upstream.h"
#include "fy_http_gzip.h"
#include "fy_http_sub.h"
#include "fy_http_ssi.h"
#include "fy_http_addition.h"
#include <sys/uio.h>

typedef struct fy_http_request_s  fy_http_request_t;
typedef struct fy_http_conn_s     fy_http_conn_t;
typedef struct fy_http_proxy_s    fy_http_proxy_t;
typedef struct fy_http_log_s      fy_http_log_t;
typedef struct fy_http_tunnel_s   fy_http_tunnel_t;

/* ---- variables and values with variables ("complex values") ---- */

typedef struct fy_http_variable_s  fy_http_variable_t;

/* Write the variable's value for r into buf (at most size bytes) and
 * return its length; or return the length needed when buf is NULL. */
typedef size_t (*fy_http_variable_pt)(fy_http_request_t *r, u_char *buf,
                                      size_t size);

struct fy_http_variable_s {
    const char           *name;
    fy_http_variable_pt   get;
};

/* Variables named by a prefix and a free part: $http_NAME,
 * $arg_NAME, $cookie_NAME.  `arg` is the part after the prefix. */
typedef size_t (*fy_http_pvariable_pt)(fy_http_request_t *r,
                                       const fy_str_t *arg, u_char *buf,
                                       size_t size);

typedef struct {
    const char            *prefix;
    fy_http_pvariable_pt   get;
} fy_http_pvariable_t;

/* A text with $variables, compiled once at config time into a list of
 * literal and variable parts. */
typedef struct {
    fy_str_t                    lit;     /* literal part, or ... */
    const fy_http_variable_t   *var;     /* ... a variable, or ... */
    const fy_http_pvariable_t  *pvar;    /* ... a prefix variable ... */
    fy_str_t                    arg;     /* ... with this free part, or */
    struct fy_http_map_s       *map;     /* ... a map's variable */
} fy_http_cv_part_t;

typedef struct fy_http_cv_s {
    fy_http_cv_part_t  *parts;
    unsigned            nparts;
    unsigned            has_vars:1;
    fy_str_t            text;            /* the source text */
} fy_http_cv_t;

/* Compile text; on an unknown variable logs the config error and
 * returns NULL. */
fy_http_cv_t *fy_http_cv_compile(fy_conf_t *cf, const fy_str_t *text);
/* fy_http_conf.c: the setter of types_hash_max_size and its kin (map's
 * too): the value checked as nginx checks it, no effect */
const char *fy_http_hash_size(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
/* Evaluate into the request pool; NULL on allocation failure. */
u_char *fy_http_cv_eval(fy_http_request_t *r, const fy_http_cv_t *cv,
                        size_t *len);
/* The length of one part's value (literal or variable). */
size_t  fy_http_cv_part_len(fy_http_request_t *r,
                            const fy_http_cv_part_t *part);
/* Write one part's value into buf (size bytes); returns its length. */
size_t  fy_http_cv_part_get(fy_http_request_t *r,
                            const fy_http_cv_part_t *part, u_char *buf,
                            size_t size);
const fy_http_variable_t *fy_http_variable_find(const u_char *name,
                                                size_t len);
/* $http_NAME and its kin: the table entry, *arg the NAME part */
const fy_http_pvariable_t *fy_http_pvariable_find(const u_char *name,
                                                  size_t len, fy_str_t *arg);
/* fy_http_var_response.c: $upstream_http_NAME, $sent_http_NAME; cf's
 * configuration names $upstream_http_ (its fields are then kept for
 * the access log); a worker takes its configuration's word for that */
extern const fy_http_pvariable_t  fy_http_var_response_pvariables[];
void fy_http_var_upstream_fields_used(fy_conf_t *cf);
void fy_http_var_init_process(fy_cycle_t *cycle);
/* fy_http_var_file.c: $realpath_root */
size_t fy_http_var_realpath_root(fy_http_request_t *r, u_char *buf,
                                 size_t size);
/* fy_http_var_conn.c: $request_id, $nginx_version, $request_completion,
 * $pipe, $connection_time, $tcpinfo_* */
size_t fy_http_var_request_id(fy_http_request_t *r, u_char *buf,
                              size_t size);
size_t fy_http_var_nginx_version(fy_http_request_t *r, u_char *buf,
                                 size_t size);
size_t fy_http_var_request_completion(fy_http_request_t *r, u_char *buf,
                                      size_t size);
size_t fy_http_var_pipe(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_var_gzip_ratio(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_var_connection_time(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_var_tcpinfo_rtt(fy_http_request_t *r, u_char *buf,
                               size_t size);
size_t fy_http_var_tcpinfo_rttvar(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_var_tcpinfo_snd_cwnd(fy_http_request_t *r, u_char *buf,
                                    size_t size);
size_t fy_http_var_tcpinfo_rcv_space(fy_http_request_t *r, u_char *buf,
                                     size_t size);
/* The value of the query parameter `name` (the first one), or 0. */
int     fy_http_arg(fy_http_request_t *r, const u_char *name, size_t len,
                    fy_str_t *value);

/* fy_http_regex.c: PCRE2 regexes of locations and server names. */
typedef struct fy_http_regex_s     fy_http_regex_t;
typedef struct fy_http_captures_s  fy_http_captures_t;
/* Compile (and JIT) pattern; NULL after logging a config error that
 * names the file, line and PCRE2's message. */
fy_http_regex_t *fy_http_regex_compile(fy_conf_t *cf, const fy_str_t *pattern,
                                       int caseless);
/* An argument "~RE" (case-sensitive unless caseless) or "~*RE"
 * (caseless) compiled as above: proxy_redirect's and proxy_cookie_*'s
 * regex rules. */
fy_http_regex_t *fy_http_regex_compile_arg(fy_conf_t *cf,
                                           const fy_str_t *arg, int caseless);
/* "pcre_jit on": JIT-compile every regex of the cycle (an [info] line
 * says how many; a pattern the JIT refuses is interpreted). */
void fy_http_regex_jit(fy_cycle_t *cycle);
/* The [info] line "pcre JIT enabled for N of M regexes", when some
 * are: at start and after a reload, once the error log is open. */
void fy_http_regex_jit_report(fy_cycle_t *cycle);
/* Match subject: FY_OK (*captures set, left alone when the regex has
 * no groups), FY_DECLINED (no match) or FY_ERROR (logged). */
int  fy_http_regex_exec(fy_http_request_t *r, const fy_http_regex_t *re,
                        const fy_str_t *subject,
                        fy_http_captures_t **captures);
/* The same with the captures in pool (a stream session's); they point
 * into subject, which must live as long. */
int  fy_http_regex_match(fy_pool_t *pool, const fy_http_regex_t *re,
                         const fy_str_t *subject,
                         fy_http_captures_t **captures);
/* The text of group name ("1".."9", or a named group's name) of caps
 * into buf (cut to size): its whole length, 0 when caps is NULL, has
 * no such group or the group took no part. */
size_t fy_http_captures_get(const fy_http_captures_t *caps,
                            const fy_str_t *name, u_char *buf, size_t size);
/* Whether re has a group called name. */
int  fy_http_regex_has_name(const fy_http_regex_t *re, const u_char *name,
                            size_t len);
/* The capture variable for $1..$9 or $NAME, a named group of a regex
 * defined earlier in the configuration; NULL if name is neither. */
/* Whether a part of a compiled text is $1..$9 (rewrite escapes them) */
int fy_http_cv_part_is_capture(const fy_http_cv_part_t *part);
const fy_http_pvariable_t *fy_http_regex_variable(fy_conf_t *cf,
                                                  const u_char *name,
                                                  size_t len);

/* fy_http_map_table.c: the lines of a map block and the matching, for
 * http's map and stream's.  Values are the caller's, made from their
 * text by its compile callback (NULL after logging the error). */
/* a location's content handler (fy_http_loc_conf_t.handler) */
typedef void (*fy_http_handler_pt)(fy_http_request_t *r);

typedef void *(*fy_http_map_value_pt)(fy_conf_t *cf, const fy_str_t *text);

typedef struct {
    fy_array_t             exact;     /* entries, sorted */
    fy_array_t             head;      /* "*.example.com", ".example.com" */
    fy_array_t             tail;      /* "www.example.*" */
    fy_array_t             regexes;   /* as written */
    void                  *deflt;     /* NULL: the empty string */
    fy_http_map_value_pt   compile;
    unsigned               hostnames:1;
    unsigned               is_volatile:1;
} fy_http_map_table_t;

void fy_http_map_table_init(fy_conf_t *cf, fy_http_map_table_t *t,
                            fy_http_map_value_pt compile);
/* Read the block (cf just past its "{") into t: FY_OK, or FY_ERROR
 * logged with file and line. */
int  fy_http_map_table_read(fy_conf_t *cf, fy_http_map_table_t *t);
/* The value for subject in *value (NULL: empty), FY_OK; FY_ERROR when
 * PCRE2 failed (logged).  low: subject.len bytes of scratch.  A
 * matching regex with groups sets *caps (in pool) when caps is not
 * NULL; pool may be NULL when caps is. */
int  fy_http_map_table_find(const fy_http_map_table_t *t, fy_str_t subject,
                            u_char *low, fy_pool_t *pool,
                            fy_http_captures_t **caps, void **value);
/* Whether a regex line of t has a group called name (stream's $NAME). */
int  fy_http_map_table_regex_name(const fy_http_map_table_t *t,
                                  const u_char *name, size_t len);
/* fn on every value of t (default, strings, masks, regexes). */
int  fy_http_map_table_each(const fy_http_map_table_t *t,
                            int (*fn)(void *value, void *data), void *data);
/* A config error at file:line (where an entry or a use was written),
 * what having one "%.*s" for name. */
void fy_http_map_error_at(fy_conf_t *cf, const char *file, unsigned line,
                          const char *what, const fy_str_t *name);

/* fy_http_map.c: map blocks.  A map's variable may be used before its
 * block: the first use makes the map, the block fills it, and the end
 * of the http block reports any left unfilled. */
/* The names of a server (http's, stream's: "server_name"), read by
 * fy_http_names_set and searched by fy_http_names_find
 * (fy_http_server_name.c). */
typedef struct {
    fy_array_t   names;         /* fy_str_t, lowercased; wildcards too */
    fy_array_t   regex_names;   /* fy_http_regex_t *, in order */
    fy_str_t     server_name;   /* the first name as written (a regex
                                   with its "~"; others lowercased):
                                   $server_name, as nginx's */
} fy_http_names_t;

/* fy_http_server_name.c: the arrays of n made; "server_name" read into
 * the fy_http_names_t at cmd->offset; among servers (an array of
 * pointers to structures with their fy_http_names_t at off), the one
 * host names by nginx's order (exact, longest leading wildcard,
 * longest trailing wildcard, first regex), NULL: none; r may be NULL
 * (a regex's captures are then not kept). */
void fy_http_names_init(fy_http_names_t *n, fy_pool_t *pool);
const char *fy_http_names_set(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf);
void *fy_http_names_find(const fy_array_t *servers, size_t off,
                         const fy_str_t *host, fy_http_request_t *r);

typedef struct fy_http_map_s  fy_http_map_t;
extern const fy_command_t  fy_http_map_commands[];
/* The map named name (found or made), or NULL when there is no http
 * block or its end is past (name is then an unknown variable). */
fy_http_map_t *fy_http_map_reference(fy_conf_t *cf, const u_char *name,
                                     size_t len);
/* End of the http block: FY_CONF_OK, or an error for a variable used
 * and never defined by a map (at the line of its first use). */
const char *fy_http_map_http_done(fy_conf_t *cf,
                                  struct fy_http_main_conf_s *hmcf);
/* "set $name": the map variable name (found or made) marked as one a
 * "set" writes, so that no map block need define it; NULL: no memory
 * or no http block. */
fy_http_map_t *fy_http_map_assignable(fy_conf_t *cf, const u_char *name,
                                      size_t len);
/* Make data (len bytes, living as long as r) r's value of map: FY_OK,
 * or FY_ERROR when memory ran out. */
int  fy_http_map_assign(fy_http_request_t *r, fy_http_map_t *map,
                        u_char *data, size_t len);
/* fy_http_geo.c: geo blocks (variables by client address) */
extern const fy_command_t  fy_http_geo_commands[];
/* fy_http_geo_table.c: a geo block's networks or ranges, for http's
 * geo and stream's.  A table made empty (NULL: no memory); one line of
 * the block read into it (cf->args; FY_OK, or FY_ERROR logged with
 * file and line); the whole block read, its "$address" (cf->args[1]
 * of three) checked, each line given to line(cf) with
 * cf->handler_data = data (line NULL: fy_http_geo_table_line), and
 * the table finished (FY_OK, or FY_ERROR logged). */
typedef struct fy_http_geo_table_s  fy_http_geo_table_t;
fy_http_geo_table_t *fy_http_geo_table_create(fy_conf_t *cf);
int fy_http_geo_table_line(fy_conf_t *cf, fy_http_geo_table_t *geo);
int fy_http_geo_table_read(fy_conf_t *cf, fy_http_geo_table_t *geo,
                           int (*line)(fy_conf_t *cf), void *data);
/* The value for an address (family AF_INET: the first 4 bytes of
 * addr), NULL: none (the empty string). */
const fy_str_t *fy_http_geo_table_find(const fy_http_geo_table_t *geo,
                                       int family, const uint8_t addr[16]);
/* The IP address written in text into *sa (family AF_INET or
 * AF_INET6); FY_ERROR when it is none. */
int fy_http_geo_text_addr(const u_char *text, size_t len,
                          struct sockaddr_in6 *sa);
/* fn on every value of the table (after its end), FY_ERROR as soon as
 * fn returns it. */
int fy_http_geo_table_each(const fy_http_geo_table_t *geo,
                           int (*fn)(const fy_str_t *value, void *data),
                           void *data);
/* fy_http_split_clients.c: split_clients blocks, and nginx's
 * MurmurHash2 (32 bits, seed 0, little-endian words) they hash with */
extern const fy_command_t  fy_http_split_clients_commands[];
uint32_t fy_murmur_hash2(const u_char *data, size_t len);
/* A split_clients block's parts, for http's and stream's: the block
 * read (cf->handler; NULL after an error, logged with file and line);
 * the value the hash of text chooses (NULL: none, the empty string);
 * fn on every value (FY_ERROR as soon as fn returns it). */
typedef struct fy_http_split_s  fy_http_split_t;
fy_http_split_t *fy_http_split_read(fy_conf_t *cf);
const fy_str_t *fy_http_split_find(const fy_http_split_t *sc,
                                   const u_char *text, size_t len);
int fy_http_split_each(const fy_http_split_t *sc,
                       int (*fn)(const fy_str_t *value, void *data),
                       void *data);
/* geo, split_clients: define the variable of arg ("$name") as one
 * whose value eval computes (lazily, once per request, kept in the
 * map's slot); NULL after logging the config error (bad name, a
 * duplicate). */
typedef u_char *(*fy_http_map_eval_pt)(fy_http_request_t *r, void *data,
                                       size_t *len);
fy_http_map_t *fy_http_map_define(fy_conf_t *cf, const fy_str_t *arg,
                                  fy_http_map_eval_pt eval, void *data);
/* The map's value for r (fy_http_variable_pt's contract). */
size_t fy_http_map_get(fy_http_request_t *r, fy_http_map_t *map, u_char *buf,
                       size_t size);
/* fn on map's source and on each of its values (fy_http_cv_t *, NULL
 * for an empty one): FY_OK, FY_ERROR at fn's first FY_ERROR, or
 * FY_DECLINED for a variable without them (geo, split_clients, set). */
int  fy_http_map_each_cv(const fy_http_map_t *map,
                         int (*fn)(void *cv, void *data), void *data);
const fy_str_t *fy_http_map_var_name(const fy_http_map_t *map);

/* ---- upstreams ---- */

/* fy_http_proxy_conn.c: SO_KEEPALIVE on a new upstream socket fd
 * (proxy_socket_keepalive on, http's and stream's); -1 with errno when
 * it failed (nginx goes on without it). */
int fy_upstream_keepalive(int fd);
/* fy_http_proxy_conn.c: a numeric local address ("1.2.3.4[:port]",
 * "::1", "[::1][:port]"; port 0 when none) for proxy_bind with
 * variables, http's and stream's; FY_OK or FY_ERROR. */
int fy_http_bind_addr(const u_char *s, size_t len, fy_sockaddr_t *addr,
                      socklen_t *addrlen);

typedef struct {
    fy_str_t              name;       /* as written: "127.0.0.1:8081" */
    fy_sockaddr_t         addr;
    socklen_t             addrlen;
    unsigned              shm;        /* index in fy_shm->peers */

    /* "server" parameters */
    unsigned              weight;         /* 1.. */
    unsigned              max_fails;      /* 0: never unavailable */
    unsigned              max_conns;      /* 0: no limit */
    int64_t               fail_timeout;   /* ms */
    int64_t               slow_start;     /* ms, 0: off */
    unsigned              backup:1;
    unsigned              down:1;
    /* One of the addresses reserved for a "server NAME resolve"
     * (fy_http_upstream_resolve.c): absent while it has none, which
     * the balancers pass over.  Its address changes only while no
     * request uses it. */
    unsigned              resolved:1;
    unsigned              absent:1;

    /* proxy_ssl_session_reuse: this worker's last TLS session with the
     * server (process memory: each worker has its own) */
    fy_tls_up_session_t   ssl_session;
} fy_http_upstream_peer_t;

typedef struct fy_http_balancer_s  fy_http_balancer_t;
typedef struct fy_http_health_s    fy_http_health_t;

typedef struct {
    fy_str_t     name;
    fy_array_t   peers;               /* fy_http_upstream_peer_t */
    unsigned     index;               /* slot of its shared cursor */
    unsigned     implicit:1;          /* made by proxy_pass host:port */
    unsigned     defined:1;           /* an upstream {} block exists */
    unsigned     has_backup:1;        /* some server is "backup" */
    unsigned     bare_http:1;         /* implicit, named without a port */
    unsigned     bare_https:1;        /* by http:// (80) or https:// (443) */
    unsigned     bare_fastcgi:1;      /* by fastcgi_pass (uwsgi_pass,
                                         scgi_pass) without a port */
    const char  *file;                /* first reference, for errors */
    unsigned     line;

    const fy_http_balancer_t  *balancer;  /* NULL until set: round robin */
    void                      *bal_data;  /* the balancer's own tables */
    struct fy_http_cv_s       *hash_key;  /* hash KEY */
    unsigned                   hash_consistent:1;
    unsigned                   random_two:1;
    fy_http_health_t          *health;    /* health_check, or NULL */

    /* keepalive N: idle connections each worker keeps to this
     * upstream's servers (0: none, one connection per request) */
    unsigned                   keepalive;
    int64_t                    keepalive_timeout;   /* ms idle */
    int                        keepalive_requests;  /* per connection */
    struct fy_http_upcache_s  *cache;     /* the worker's, made on use */

    /* An upstream made for one request, from the address or the
     * resolved name of a proxy_pass with variables
     * (fy_http_proxy_resolve.c): the counters of its servers and its
     * lock are the request's own, not slots in fy_shm.  NULL: fy_shm's
     * (peers[peer->shm], upstreams[index]). */
    fy_shm_peer_t             *own_peers;
    fy_shm_upstream_t         *own;

    /* "server NAME resolve" lines (fy_http_upstream_resolve.c), NULL:
     * none, the servers never change.  zone: "zone" was given, which
     * nginx requires for them; resolver, resolver_timeout: the
     * upstream's own (NULL, unset: inherited from the http or stream
     * block at the end of the configuration); resolve_gen: the shared
     * generation this process's peers were last read at; nlive: the
     * peers with an address now. */
    struct fy_http_upresolve_s *resolves;
    struct fy_resolver_s      *resolver;
    int64_t                    resolver_timeout;
    uint64_t                   resolve_gen;
    unsigned                   nlive;
    unsigned                   zone:1;
    /* some line has "service=": SRV records of a priority other than
     * the lowest are backup servers (has_backup is set for them when
     * the balancer takes backups, fy_http_upstream_resolve_check) */
    unsigned                   has_service:1;
} fy_http_upstream_t;

/* The base of u's servers' counters (server i's: [peer->shm]) and its
 * lock and "no live upstreams" flag. */
static inline fy_shm_peer_t *
fy_http_up_slots(const fy_http_upstream_t *u)
{
    return u->own_peers ? u->own_peers : fy_shm->peers;
}

static inline fy_shm_upstream_t *
fy_http_up_shared(const fy_http_upstream_t *u)
{
    return u->own ? u->own : &fy_shm->upstreams[u->index];
}

/* More than one server can take requests (nginx never marks the only
 * one unavailable): with "resolve" lines, those with an address now. */
static inline int
fy_http_up_many(const fy_http_upstream_t *u)
{
    return (u->resolves ? u->nlive : u->peers.nelts) > 1;
}

/* fy_http_upstream_resolve.c: "server NAME resolve" (see there).
 * _add: the line's reserved peers, with tpl's parameters, at the end
 * of u's; _check: at the end of the configuration, zone and resolver
 * (res, timeout: the http or stream block's) are there (logged
 * FY_ERROR if not); _register: the master's slots for them (taken as
 * in fy_http_peers_register); _sync: with u's lock held, this
 * process's peers from the slots (1 if some changed); _init_process: a worker starts
 * watching the names. */
extern const fy_command_t  fy_http_upstream_resolve_commands[];
int  fy_http_upstream_resolve_add(fy_conf_t *cf, fy_http_upstream_t *u,
         const fy_http_upstream_peer_t *tpl, const fy_str_t *server,
         const u_char *host, size_t host_len, uint16_t port,
         const fy_str_t *service);
int  fy_http_upstream_resolve_check(fy_http_upstream_t *u,
         struct fy_resolver_s *res, int64_t timeout);
int  fy_http_upstream_resolve_register(fy_http_upstream_t *u,
         const char *up, uint8_t *taken);
int  fy_http_upstream_resolve_sync(fy_http_upstream_t *u);
void fy_http_upstream_resolve_init_process(fy_cycle_t *cycle);
/* fy_http_peer.c: the shared slot for (up, addr) (fy_http_peers_register's
 * choice), -1 when none is left */
int  fy_http_peer_slot(const char *up, const char *addr,
                       const uint8_t *taken);

/* fy_http_conf_upstream.c: the host of a proxy_pass URL after its
 * scheme, as configured or as a request's variables made it; returns
 * where its URI part starts (NULL: none). */
u_char *fy_http_url_host(u_char *start, u_char *end, fy_str_t *host);

/* fy_http_proxy_resolve.c, for http's proxy_pass with variables and
 * stream's: "host[:port]" or "[v6][:port]" (defport without one) read
 * into *name, *len and *port: FY_DONE when the host is an IP address (in
 * *a), FY_OK for a name to resolve, FY_DECLINED for a bad port,
 * FY_HTTP_TARGET_NO_PORT for none where defport is 0, FY_ERROR for a
 * bad host.  And the upstream of its own a request or a
 * session gets for addresses (pool's memory; NULL: none left). */
#define FY_HTTP_TARGET_NO_PORT  1
struct fy_dns_addr_s;
int fy_http_target_parse(const fy_str_t *target, uint16_t defport,
                         struct fy_dns_addr_s *a, const u_char **name,
                         size_t *len, uint16_t *port);
fy_http_upstream_t *fy_http_upstream_own(fy_pool_t *pool,
    const fy_str_t *name, const struct fy_dns_addr_s *addrs, unsigned n,
    uint16_t port);

/* ---- configuration ---- */

/* One proxy_set_header or add_header line (fy_http_headers.c). */
typedef struct {
    fy_str_t             name;
    fy_http_cv_t        *value;
    unsigned             always:1;      /* add_header ... always */
} fy_http_header_conf_t;

/* One code of an error_page line (fy_http_error_page.c). */
typedef struct {
    int                  status;        /* the error it catches */
    int                  overwrite;     /* =CODE; 0: "=" alone (the new
                                           answer's own); -1: none */
    fy_http_cv_t        *uri;           /* /uri, @name or a URL */
} fy_http_error_page_t;

/* A size with where it was set, for checks made after the merge. */
typedef struct {
    size_t               size;          /* FY_CONF_UNSET_SIZE: not set */
    const char          *file;
    unsigned             line;
} fy_http_size_at_t;

/* *_busy_buffers_size, *_temp_file_write_size, *_max_temp_file_size,
 * *_temp_path of proxy_* and of the three CGI-style modules: accepted
 * without effect (fy_http_temp_conf.c), kept only to check them as
 * nginx does. */
typedef struct {
    fy_http_size_at_t    busy;
    fy_http_size_at_t    write;
    fy_http_size_at_t    max;
    size_t               buffer_size_conf;  /* *_buffer_size as set, 0: not */
    unsigned             path_seen;         /* for "is duplicate" */
} fy_http_temp_conf_t;

/* The *_cache directives of one module (proxy_, fastcgi_, uwsgi_,
 * scgi_; fy_http_cache_conf.c): the zone (NULL: none, or "off" when
 * set), the key (NULL: proxy_cache's zone's default; the others have
 * none), *_cache_valid (fy_http_cache_valid_t), *_cache_methods
 * (1 << FY_HTTP_*, 0: unset), *_cache_bypass and *_no_cache
 * (fy_http_cv_t *, NULL: none here), *_cache_use_stale
 * (FY_CACHE_STALE_*, 0: unset); lock (flag), lock_timeout, lock_age
 * (ms), min_uses, revalidate, background_update, max_range_offset
 * (bytes; SIZE_MAX: none), convert_head (proxy_cache's only):
 * FY_CONF_UNSET* until merged.  file and line: where the zone was set, for the checks made
 * after the merge. */
typedef struct {
    struct fy_http_limit_zone_s *zone;
    unsigned             set:1;
    fy_http_cv_t        *key;
    fy_array_t          *valid;
    unsigned             methods;
    fy_array_t          *bypass;
    fy_array_t          *no_cache;
    unsigned             use_stale;
    int                  lock;
    int64_t              lock_timeout;
    int64_t              lock_age;
    int                  min_uses;
    int                  revalidate;
    int                  background_update;
    size_t               max_range_offset;
    int                  convert_head;
    const char          *file;
    unsigned             line;
} fy_http_cache_conf_t;

/* The fastcgi_* directives of a level (fy_http_fastcgi_conf.c), merged
 * down like the others; a fastcgi_pass location hands its timeouts,
 * buffers, header lists and retry rules to the proxy fields the proxy
 * code reads (fy_http_cgi_apply).  The uwsgi_* and scgi_* directives
 * (fy_http_cgi_conf.c) fill two more of these: index, split and
 * keep_conn are FastCGI's only, modifier1 and modifier2 uwsgi's. */
typedef struct {
    fy_array_t          *params;        /* fy_http_fastcgi_param_t, NULL:
                                           the parent's (nginx: a level
                                           with its own replaces them) */
    fy_str_t             index;         /* data NULL: unset */
    fy_http_regex_t     *split;         /* fastcgi_split_path_info */
    unsigned             split_set:1;
    int64_t              connect_timeout;
    int64_t              send_timeout;
    int64_t              read_timeout;
    int                  intercept_errors;
    int                  keep_conn;
    int                  buffering;
    size_t               buffer_size;
    unsigned             buffers_num;
    size_t               buffers_size;
    fy_array_t          *hide_headers;  /* fy_str_t, NULL: inherited */
    fy_array_t          *pass_headers;
    unsigned             ignore_headers;     /* FY_HTTP_IGN_*, 0: unset */
    unsigned             next_upstream;      /* FY_HTTP_NEXT_*, 0: unset */
    int                  next_upstream_tries;
    int64_t              next_upstream_timeout;
    int                  modifier1;     /* uwsgi_modifier1, 2 (0-255) */
    int                  modifier2;
    fy_str_t             uwsgi_string;  /* data NULL: unset */
    /* the twins of proxy_* settings, read by the same handlers and
     * handed to the proxy_* fields by fy_http_cgi_apply */
    struct fy_http_proxy_bind_s *bind;  /* *_bind, NULL: inherited */
    size_t               limit_rate;    /* *_limit_rate */
    int                  force_ranges;  /* *_force_ranges */
    struct fy_http_store_s *store;      /* *_store, NULL: inherited */
    int                  store_access;  /* *_store_access */
    int                  socket_keepalive;
    int                  ignore_client_abort;
    int                  request_buffering;
    int                  pass_request_body;
    int                  pass_request_headers;
    fy_http_temp_conf_t  temp;          /* checked, no effect */
    fy_array_t          *catch_stderr;  /* fastcgi_catch_stderr: fy_str_t */
    fy_http_cache_conf_t cache;         /* fastcgi_cache & co. */
} fy_http_fastcgi_conf_t;

/* One fastcgi_param (uwsgi_param, scgi_param) line. */
typedef struct {
    fy_str_t             name;
    fy_http_cv_t        *value;
    unsigned             if_not_empty:1;
} fy_http_fastcgi_param_t;

/* The memcached_* directives of a level (fy_http_memcached.c), merged
 * down like the others; a memcached_pass location hands them to the
 * proxy fields the proxy code reads (fy_http_memcached_apply). */
typedef struct {
    int64_t              connect_timeout;
    int64_t              send_timeout;
    int64_t              read_timeout;
    size_t               buffer_size;
    unsigned             next_upstream;      /* FY_HTTP_NEXT_*, 0: unset */
    int                  next_upstream_tries;
    int64_t              next_upstream_timeout;
    int                  gzip_flag;          /* 0: none */
    int                  socket_keepalive;
    struct fy_http_proxy_bind_s *bind;       /* NULL: inherited */
    fy_http_cv_t        *key;                /* $memcached_key, compiled
                                                by memcached_pass */
} fy_http_memcached_conf_t;

/* userid (fy_http_userid.c): the modes, and a level's settings */
#define FY_HTTP_USERID_OFF  0
#define FY_HTTP_USERID_LOG  1
#define FY_HTTP_USERID_V1   2
#define FY_HTTP_USERID_ON   3

typedef struct {
    int        enable;      /* FY_HTTP_USERID_* */
    int        flags;       /* userid_flags bits */
    int        mark;        /* 0: none */
    int64_t    service;     /* FY_CONF_UNSET: the server's address */
    int64_t    expires;     /* seconds, 0: a session cookie, -2: max */
    fy_str_t   name;
    fy_str_t   domain;      /* "; domain=NAME" or "" */
    fy_str_t   path;        /* "; path=PATH" */
    fy_str_t   p3p;         /* "" : none */
} fy_http_userid_conf_t;

/* auth_basic and auth_basic_user_file of a level or of its
 * limit_except block (fy_http_auth_basic.c): the WWW-Authenticate value
 * made at load (data NULL: unset, len 0: "off"), or realm_cv when the
 * realm has variables; the password file (NULL: unset), file_cv when
 * its name has variables (evaluated per request). */
typedef struct {
    fy_str_t              challenge;
    char                 *file;
    struct fy_http_cv_s  *realm_cv;
    struct fy_http_cv_s  *file_cv;
} fy_http_auth_conf_t;

typedef struct fy_http_loc_conf_s {
    fy_str_t             name;          /* location prefix or regex */
    unsigned             exact:1;       /* location = /x */
    unsigned             noregex:1;     /* location ^~ /x */
    fy_http_regex_t     *regex;         /* location ~ RE, ~* RE */
    fy_array_t          *locations;     /* nested prefix ones, or NULL */
    fy_array_t          *regex_locations;  /* nested regex ones, or NULL */
    fy_array_t          *ifs;           /* the confs of its "if" blocks
                                           (fy_http_location_if), NULL:
                                           none; merged with it */
    unsigned             noname:1;      /* this is an "if" block's conf */

    /* rewrite, set, if, break, return in the order written
     * (fy_http_rewrite*.c), NULL: none; not inherited.  A server's own
     * moves to fy_http_srv_conf_t.rewrite at init. */
    struct fy_http_rw_script_s *rewrite;
    struct fy_http_rw_script_s *rw_cur;  /* config time: where the next
                                            directive goes (an if's) */
    int                  rewrite_log;    /* flag */
    int                  uninitialized_variable_warn;  /* flag */

    fy_http_upstream_t  *upstream;      /* proxy_pass target, NULL: none */
    fy_str_t             proxy_host;    /* Host sent upstream */
    fy_str_t             proxy_uri;     /* URI part of proxy_pass, or empty */
    fy_str_t             proxy_url;     /* proxy_pass as written, for
                                           proxy_redirect default; empty
                                           with variables */
    unsigned             proxy_uri_set:1;
    unsigned             proxy_https:1; /* proxy_pass https:// */
    /* proxy_ssl_* (fy_http_proxy_ssl.c); NULL: none at this level, the
     * parent's is shared */
    struct fy_http_proxy_ssl_conf_s *proxy_ssl;
    /* uwsgi_ssl_* (the same code), made proxy_ssl by fy_http_cgi_apply
     * in a "uwsgi_pass suwsgi://" location (suwsgi set) */
    struct fy_http_proxy_ssl_conf_s *uwsgi_ssl;
    unsigned             named:1;       /* location @name */
    unsigned             internal:1;    /* "internal": a client's own
                                           request gets 404 here */
    /* limit_except (fy_http_limit_except.c), NULL: none here or above */
    struct fy_http_limit_except_s *limit_except;
    /* limit_rate, limit_rate_after (fy_http_limit_rate.c), NULL: none */
    struct fy_http_limit_rate_conf_s *limit_rate;
    fy_http_cv_t        *proxy_pass_cv; /* proxy_pass with variables */
    unsigned             fastcgi_pass:1;  /* the upstream speaks FastCGI
                                           (fastcgi_pass) */
    unsigned             uwsgi_pass:1;  /* uwsgi (uwsgi_pass) */
    unsigned             suwsgi:1;      /* ... over TLS (suwsgi://) */
    unsigned             scgi_pass:1;   /* SCGI (scgi_pass) */
    unsigned             memcached_pass:1;  /* memcached's text protocol */
    fy_http_memcached_conf_t memcached;
    fy_http_fastcgi_conf_t  fastcgi;
    fy_http_fastcgi_conf_t  uwsgi;
    fy_http_fastcgi_conf_t  scgi;
    fy_array_t          *proxy_upstreams;  /* where its upstream is
                                           looked up (the http block's) */

    int64_t              proxy_connect_timeout;
    int64_t              proxy_read_timeout;
    int64_t              proxy_send_timeout;
    size_t               proxy_buffer_size;
    /* proxy_store (fy_http_proxy_store.c), NULL: unset; its access */
    struct fy_http_store_s *proxy_store;
    int                  proxy_store_access;
    int                  proxy_force_ranges; /* flag: ferry's byte ranges
                                                of a 200 it does not
                                                cache */
    size_t               slice_size;         /* slice: bytes a ranged
                                                request asks for, 0: off
                                                (fy_http_slice.c) */
    size_t               proxy_limit_rate;   /* bytes/s of a buffered
                                                response read from the
                                                upstream, 0: no limit */
    int                  proxy_buffering;    /* flag: read ahead of a
                                                slow client */
    unsigned             proxy_buffers_num;  /* proxy_buffers N size */
    size_t               proxy_buffers_size;
    size_t               client_body_buffer_size;
    int                  proxy_request_buffering;  /* flag: read the start
                                                of a chunked body first */
    int64_t              client_body_timeout;
    int64_t              keepalive_timeout;
    int                  keepalive_requests;
    int64_t              send_timeout;
    int                  sendfile;       /* flag: files by sendfile() */
    int                  tcp_nopush;     /* flag: TCP_CORK around a file's
                                            header and sendfile() */
    int                  tcp_nodelay;    /* flag: fy_http_nodelay() */
    /* reading files (fy_http_tuning.c, fy_http_static_read.c) */
    size_t               sendfile_max_chunk;  /* per sendfile(), 0: any */
    unsigned             output_buffers_num;  /* output_buffers N SIZE */
    size_t               output_buffers_size;
    int64_t              directio;       /* O_DIRECT from this size on;
                                            FY_HTTP_DIRECTIO_OFF: never */
    size_t               directio_alignment;
    size_t               read_ahead;     /* > 0: POSIX_FADV_SEQUENTIAL */
    unsigned             tuning_seen;    /* fy_http_tuning.c: duplicates
                                            of those without effect */
    /* redirects ferry makes (fy_http_absolute_location) */
    int                  absolute_redirect;
    int                  server_name_in_redirect;
    int                  port_in_redirect;
    int                  log_not_found;  /* flag: static 404s logged */
    int                  chunked_transfer_encoding;  /* flag: see
                                            fy_http_chunked_out() */
    int                  lingering_close;    /* FY_HTTP_LINGERING_* */
    int64_t              lingering_time;
    int64_t              lingering_timeout;
    size_t               client_max_body_size;
    fy_str_t             default_type;

    /* accepted without effect (fy_http_temp_conf.c): kept only to
     * check them as nginx does */
    fy_http_temp_conf_t  proxy_temp;
    int                  body_single_buffer;
    unsigned             body_temp_path_seen;
    unsigned             body_in_file_only_seen;
    /* open_file_cache* (fy_http_open_file_cache.c): checked, no effect */
    unsigned             open_file_cache_seen;
    int64_t              open_file_cache_valid;
    int                  open_file_cache_min_uses;
    int                  open_file_cache_errors;
    int                  keepalive_disable;  /* fy_http_keepalive.c */
    int64_t              keepalive_time;
    int                  reset_timedout_connection;
    fy_array_t           access_logs;   /* fy_http_log_t */
    unsigned             access_log_off:1;
    fy_alog_cache_conf_t log_cache;     /* open_log_file_cache */
    fy_log_t            *error_log;     /* error_log here or inherited,
                                           NULL: the main one */
    /* Content handler set by a directive (status, stub_status,
     * empty_gif: fy_http_handler_set); runs after allow/deny.  Not
     * inherited by nested levels. */
    fy_http_handler_pt   handler;
    unsigned             status_format;  /* "status" argument, see
                                            fy_http_status.h */
    fy_array_t          *access;         /* allow/deny rules, NULL: none
                                            here (inherited) */
    unsigned             next_upstream;       /* FY_HTTP_NEXT_* mask */
    int                  next_upstream_tries; /* 0: as many as servers */
    int64_t              next_upstream_timeout;  /* ms, 0: none */
    struct fy_http_static_conf_s *static_conf;  /* root, alias, index,
                                    types (fy_http_static.h), NULL: none */

    /* Headers (fy_http_headers.c, fy_http_error_page.c).  An array
     * left NULL is inherited whole from the level above, as nginx
     * inherits these lists only by a level that has none of its own. */
    fy_array_t          *proxy_set_headers;  /* fy_http_header_conf_t */
    fy_array_t          *add_headers;        /* fy_http_header_conf_t */
    fy_array_t          *add_trailers;       /* fy_http_header_conf_t */
    unsigned             add_headers_sent:1; /* one reads $sent_http_ */
    fy_array_t          *hide_headers;       /* fy_str_t */
    fy_array_t          *pass_headers;       /* fy_str_t */
    fy_array_t          *error_pages;        /* fy_http_error_page_t */
    fy_http_cv_t        *proxy_method;       /* NULL: the client's */
    fy_http_cv_t        *proxy_set_body;     /* NULL: the client's body */
    int                  proxy_http_version; /* 1000, 1001; unset: 1.1
                                                with upstream keepalive,
                                                else 1.0 */
    int                  pass_request_headers;
    int                  pass_request_body;
    int                  server_tokens;
    int                  intercept_errors;
    int                  recursive_error_pages;  /* flag: error_page
                                            again for an error page's
                                            own error */
    int                  if_modified_since;  /* FY_HTTP_IMS_* */
    int                  max_ranges;     /* 0: no Range; else one range
                                            is all ferry serves */
    fy_http_gzip_conf_t  gzip;          /* gzip* directives (fy_http_gzip.h) */
    /* try_files (fy_http_try_files.c), NULL: none; not inherited */
    struct fy_http_try_files_s *try_files;
    /* proxy_redirect (fy_http_proxy_redirect.c), NULL: none here or
     * above, the default of the location's own proxy_pass */
    struct fy_http_proxy_redirect_s *proxy_redirect;
    /* proxy_cookie_domain, proxy_cookie_path (fy_http_proxy_cookie.c),
     * NULL: none here or above */
    struct fy_http_proxy_cookie_s *proxy_cookie_domain;
    struct fy_http_proxy_cookie_s *proxy_cookie_path;
    struct fy_http_proxy_cookie_s *proxy_cookie_flags;
    /* set_real_ip_from & co. (fy_http_realip.c), NULL: none here */
    struct fy_http_realip_conf_s *realip;
    /* valid_referers (fy_http_referer.c), NULL: none here or above */
    struct fy_http_referer_conf_s *referers;
    /* modern_browser & co. (fy_http_browser.c), NULL: none here or
     * above */
    struct fy_http_browser_conf_s *browser;
    fy_http_userid_conf_t userid;       /* fy_http_userid.c */
    /* secure_link, secure_link_md5, secure_link_secret
     * (fy_http_secure_link.c), NULL: none here or above */
    struct fy_http_cv_s *secure_link;
    struct fy_http_cv_s *secure_link_md5;
    fy_str_t             secure_link_secret;
    /* the http2_* directives given at this level, one bit each
     * (fy_http_http2.c): only for "is duplicate" */
    unsigned             http2_seen;
    /* limit_req, limit_conn (fy_http_limit_*.c): the lines of this
     * level, NULL: none here, the parent's apply (nginx: a level with
     * its own lines replaces the inherited ones) */
    fy_array_t          *limit_reqs;         /* fy_http_limit_req_t */
    fy_array_t          *limit_conns;        /* fy_http_limit_conn_t */
    int                  limit_req_status;   /* 503 */
    int                  limit_req_log_level;  /* FY_LOG_ERR */
    int                  limit_req_dry_run;
    int                  limit_conn_status;
    int                  limit_conn_log_level;
    int                  limit_conn_dry_run;
    /* auth_basic, auth_basic_user_file (fy_http_auth_basic.c);
     * satisfy (FY_HTTP_SATISFY_*); auth_on: both set */
    fy_http_auth_conf_t  auth;
    int                  satisfy;
    unsigned             auth_on:1;
    /* auth_request (fy_http_auth_request.c): the subrequest's URI, data
     * NULL: unset, len 0: "off"; auth_request_set lines
     * (fy_http_auth_set_t), NULL: none here, the parent's apply */
    fy_str_t             auth_request;
    fy_array_t          *auth_request_set;
    int64_t              auth_delay;    /* msec; auth_delay (0s) */
    size_t               subrequest_output_buffer_size;  /* page size */
    /* mirror (fy_http_mirror.c): the URIs (fy_str_t), NULL: unset, no
     * elements: "off"; mirror_request_body; log_subrequest (flags) */
    fy_array_t          *mirrors;
    int                  mirror_request_body;
    int                  log_subrequest;
    /* post_action (fy_http_post_action.c): a URI or "@name"; data NULL:
     * unset, len 0: "off" */
    fy_str_t             post_action;
    /* expires (fy_http_expires.c): FY_HTTP_EXPIRES_*, and its time in
     * seconds (the time of day for "@") */
    int                  expires;
    int64_t              expires_time;
    int                  etag;          /* flag: static files' ETag */
    /* charset, source_charset, charset_types, override_charset
     * (fy_http_charset.c); NULL: none at this level */
    struct fy_http_charset_conf_s *charset;
    unsigned             charset_on:1;  /* a "charset" other than off */
    unsigned             charset_recodes:1; /* and bodies may be recoded:
                                           source_charset another charset,
                                           or override_charset on */
    /* expires or charset may change a proxied response's header: the
     * one test fy_proxy_process_header makes when neither is on */
    unsigned             header_filters:1;
    /* sub_filter* (fy_http_sub.c); NULL: none here or above */
    fy_http_sub_conf_t  *sub;
    fy_http_ssi_conf_t  *ssi;           /* NULL: no ssi directive */
    /* add_before_body, add_after_body, addition_types
     * (fy_http_addition.c); NULL: none here or above */
    fy_http_addition_conf_t *addition;
    /* fy_http_proxy_accel.c: proxy_ignore_headers, FY_HTTP_IGN_* (0:
     * not given here, inherited) */
    unsigned             proxy_ignore_headers;
    /* fy_http_proxy_conn.c: proxy_ignore_client_abort,
     * proxy_socket_keepalive (flags), proxy_bind (NULL: not given
     * here, inherited; its "off" is a bind of nothing) */
    int                  proxy_ignore_client_abort;
    int                  proxy_socket_keepalive;
    struct fy_http_proxy_bind_s *proxy_bind;
    /* dav_methods (FY_CONF_UNSET_INT: unset), dav_access (mode bits),
     * create_full_put_path, min_delete_depth (fy_http_dav.c); dav: the
     * methods in effect, 0 where no files are served */
    int                  dav_methods;
    int                  dav_access;
    int                  create_full_put_path;
    int                  min_delete_depth;
    unsigned             dav;
    int                  random_index;  /* flag (fy_http_random_index.c) */
    /* flv, mp4 (fy_http_flv.c, fy_http_mp4.c): the files of this
     * location are served as media (FY_HTTP_MEDIA_*, 0: not); a
     * location's own, never inherited, as nginx's content handlers */
    unsigned             media;
    /* mp4_buffer_size, mp4_max_buffer_size (FY_CONF_UNSET_SIZE: unset),
     * mp4_start_key_frame (fy_http_mp4.c) */
    size_t               mp4_buffer_size;
    size_t               mp4_max_buffer_size;
    int                  mp4_start_key_frame;
    /* fy_http_resolver.c: resolver (NULL: none), resolver_timeout
     * (ms); inherited */
    struct fy_resolver_s *resolver;
    int64_t              resolver_timeout;
    /* proxy_cache & co. (fy_http_cache_conf.c); a fastcgi_pass,
     * uwsgi_pass or scgi_pass location gets its module's here
     * (fy_http_cgi_apply), the one set the cache code reads */
    fy_http_cache_conf_t cache;
} fy_http_loc_conf_t;

/* fy_http_conf.c: a directive of a module whose settings a level makes
 * on first use (ssi, sub_filter, charset, addition): its row's post is
 * one of these, and `set` runs on the settings `conf` gives, as if its
 * row's post were `post` */
typedef struct {
    void          *(*conf)(fy_conf_t *cf, fy_http_loc_conf_t *lcf);
    fy_conf_set_pt   set;
    const void      *post;
} fy_http_module_set_t;
const char *fy_http_module_set(fy_conf_t *cf, const fy_command_t *cmd,
                               void *conf);

/* fy_http_conf.c: a directive that makes its location answer with the
 * fy_http_handler_pt at cmd->post (status, stub_status, empty_gif):
 * once per location, not beside proxy_pass */
const char *fy_http_handler_set(fy_conf_t *cf, const fy_command_t *cmd,
                                void *conf);

#define FY_HTTP_SATISFY_ALL  0
#define FY_HTTP_SATISFY_ANY  1

#define FY_HTTP_EXPIRES_OFF       0
#define FY_HTTP_EXPIRES_EPOCH     1
#define FY_HTTP_EXPIRES_MAX       2
#define FY_HTTP_EXPIRES_ACCESS    3
#define FY_HTTP_EXPIRES_MODIFIED  4
#define FY_HTTP_EXPIRES_DAILY     5

/* proxy_ignore_headers: the upstream response fields ferry does not act
 * on.  Only X-Accel-Redirect, X-Accel-Buffering and X-Accel-Limit-Rate
 * change what ferry
 * does; the others steer nginx's cache, rate limit or charset, which
 * ferry does not have (docs/configuration.md). */
#define FY_HTTP_IGN_XA_REDIRECT   0x0001
#define FY_HTTP_IGN_XA_EXPIRES    0x0002
#define FY_HTTP_IGN_XA_LIMIT_RATE 0x0004
#define FY_HTTP_IGN_XA_BUFFERING  0x0008
#define FY_HTTP_IGN_XA_CHARSET    0x0010
#define FY_HTTP_IGN_EXPIRES       0x0020
#define FY_HTTP_IGN_CACHE_CONTROL 0x0040
#define FY_HTTP_IGN_SET_COOKIE    0x0080
#define FY_HTTP_IGN_VARY          0x0100
#define FY_HTTP_IGN_SET           0x8000  /* given (perhaps empty) */

/* Does the location proxy (proxy_pass, with or without variables)? */
#define fy_http_proxied(lcf)  ((lcf)->upstream || (lcf)->proxy_pass_cv)

/* if_modified_since (fy_http_static_send.c) */
#define FY_HTTP_IMS_OFF      0
#define FY_HTTP_IMS_EXACT    1
#define FY_HTTP_IMS_BEFORE   2
extern const fy_conf_enum_t  fy_http_ims_values[];

/* lingering_close (fy_http_lingering.c) */
#define FY_HTTP_LINGERING_OFF     0
#define FY_HTTP_LINGERING_ON      1
#define FY_HTTP_LINGERING_ALWAYS  2
extern const fy_conf_enum_t  fy_http_lingering_values[];

/* proxy_next_upstream: when a request goes on to the next server. */
#define FY_HTTP_NEXT_ERROR           0x0001
#define FY_HTTP_NEXT_TIMEOUT         0x0002
#define FY_HTTP_NEXT_INVALID_HEADER  0x0004
#define FY_HTTP_NEXT_HTTP_500        0x0008
#define FY_HTTP_NEXT_HTTP_502        0x0010
#define FY_HTTP_NEXT_HTTP_503        0x0020
#define FY_HTTP_NEXT_HTTP_504        0x0040
#define FY_HTTP_NEXT_HTTP_403        0x0080
#define FY_HTTP_NEXT_HTTP_404        0x0100
#define FY_HTTP_NEXT_HTTP_429        0x0200
#define FY_HTTP_NEXT_NON_IDEMPOTENT  0x0400
#define FY_HTTP_NEXT_OFF             0x8000  /* "off": set, but nothing */

typedef struct {
    fy_array_t           addr;          /* sockaddr_in6 + len, see below */
    unsigned             default_server:1;
} fy_http_listen_opt_t;

typedef struct fy_http_srv_conf_s {
    fy_http_loc_conf_t  *loc;           /* server-level defaults */
    /* its rewrite module directives, run before the location is
     * searched (nginx's server rewrite phase); NULL: none */
    struct fy_http_rw_script_s *rewrite;
    fy_array_t           locations;     /* fy_http_loc_conf_t *, longest first */
    fy_array_t           regex_locations;  /* fy_http_loc_conf_t *, in order */
    fy_http_names_t      sn;            /* server_name */
    fy_array_t           named;         /* fy_http_loc_conf_t *, @name */
    fy_array_t           listens;       /* fy_http_listen_t */
    int64_t              client_header_timeout;
    /* Reading the request header, from the listener's default server
     * (fy_http_request_header.c): the first buffer, then at most
     * large_header_buffers more of large_header_buffer bytes, each
     * holding whole lines (client_header_buffer_size,
     * large_client_header_buffers). */
    size_t               client_header_buffer;
    size_t               large_header_buffer;
    int                  large_header_buffers;
    int                  ignore_invalid_headers;
    int                  underscores_in_headers;
    int                  max_headers;       /* header lines (1000) */
    int                  merge_slashes;     /* flag: "//" read as "/" */
    fy_tls_conf_t        tls;           /* ssl_* directives */
    unsigned             http2_seen;    /* as in fy_http_loc_conf_t */
    const char          *file;
    unsigned             line;
} fy_http_srv_conf_t;

typedef struct {
    fy_sockaddr_t        addr;
    socklen_t            addrlen;
    fy_listen_opts_t     sock;          /* backlog=, rcvbuf=, ... */
    unsigned             default_server:1;
    unsigned             ssl:1;
    unsigned             proxy_protocol:1;
    unsigned             line;
} fy_http_listen_t;

typedef struct fy_http_main_conf_s {
    fy_array_t           servers;       /* fy_http_srv_conf_t * */
    fy_array_t           upstreams;     /* fy_http_upstream_t * */
    fy_http_srv_conf_t  *srv;           /* http-level server defaults */
    fy_http_loc_conf_t  *loc;           /* http-level location defaults */

    fy_array_t           log_formats;   /* access log formats */
    void                *combined;      /* the predefined "combined" */
    struct fy_http_error_log_s *error_logs; /* every error_log file of
                                           http, server, location */
    fy_http_regex_t     *regexes;       /* every regex, latest first */
    struct fy_http_map_s *maps;         /* map variables, latest first */
    struct fy_http_charset_map_s *charset_maps; /* charset_map blocks,
                                           latest first */
    const struct fy_http_charset_conf_s *charset_missing; /* a level whose
                                           source_charset has no map to
                                           its charset */
    fy_array_t           charset_names; /* the charset and source_charset
                                           names given (fy_str_t): with
                                           the maps', the charsets an
                                           X-Accel-Charset may name */
    unsigned             nmaps;
    unsigned             maps_checked:1; /* every reference resolved */
    fy_tls_tickets_t     tickets;       /* session-ticket keys, all servers */
    struct fy_http_limit_zone_s *limit_zones;  /* limit_req_zone,
                                           limit_conn_zone, latest first */
    unsigned             upstream_fields_used:1;  /* $upstream_http_
                                           is named somewhere */
} fy_http_main_conf_t;

extern const fy_command_t  fy_http_commands[];
extern const fy_command_t  fy_http_log_commands[];
extern const fy_command_t  fy_http_status_commands[];
extern const fy_command_t  fy_http_access_commands[];
extern const fy_command_t  fy_http_ssl_commands[];
/* fy_http_ssl_cert.c: ssl_certificate's names with variables, compiled
 * (only the connection's variables) and evaluated at the handshake */
extern const fy_tls_values_t  fy_http_ssl_cert_values;
/* After reading: the maps those names use read only the connection's
 * variables too (FY_OK, or FY_ERROR logged with the directive's file
 * and line). */
int  fy_http_ssl_cert_check(const fy_tls_conf_t *t);
extern const fy_command_t  fy_http_http2_commands[];  /* fy_http_http2.c */
extern const fy_command_t  fy_http_tuning_commands[];  /* fy_http_tuning.c */

#define FY_HTTP_DIRECTIO_OFF  INT64_MAX
/* The warning for HTTP/2 asked for where ferry speaks HTTP/1.1:
 * `what` is the directive or parameter, logged with cf's file:line. */
void fy_http_http2_ignored(fy_conf_t *cf, const char *what);
extern const fy_command_t  fy_http_static_commands[];
/* fy_http_autoindex.c: autoindex, autoindex_format, _exact_size,
 * _localtime */
extern const fy_command_t  fy_http_autoindex_commands[];
extern const fy_command_t  fy_http_proxy_ssl_commands[];
extern const fy_command_t  fy_http_gzip_commands[];  /* fy_http_gzip_conf.c */
extern const fy_command_t  fy_http_gunzip_commands[];  /* fy_http_gunzip.c */
/* fy_http_proxy_accel.c: proxy_ignore_headers; fy_http_proxy_conn.c:
 * proxy_bind, proxy_socket_keepalive, proxy_ignore_client_abort;
 * fy_http_resolver.c: resolver, resolver_timeout */
extern const fy_command_t  fy_http_proxy_accel_commands[];
extern const fy_command_t  fy_http_proxy_conn_commands[];
extern const fy_command_t  fy_http_resolver_commands[];
/* fy_http_resolver.c: the setters of resolver and resolver_timeout,
 * for stream's rows too: the row's offset is that of a level's
 * struct fy_resolver_s * and int64_t (FY_CONF_UNSET_MSEC: unset) */
const char *fy_http_resolver(fy_conf_t *cf, const fy_command_t *cmd,
                             void *conf);
const char *fy_http_resolver_timeout(fy_conf_t *cf, const fy_command_t *cmd,
                                     void *conf);
void fy_http_proxy_conn_merge(fy_http_loc_conf_t *prev,
                              fy_http_loc_conf_t *conf);
/* proxy_bind, memcached_bind: the bind at cmd->offset */
const char *fy_http_proxy_bind(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
/* fy_http_memcached.c: the memcached_* directives, a level's defaults
 * and merge, a memcached_pass location's values put where the proxy
 * code reads them (after its nested locations were merged) */
extern const fy_command_t  fy_http_memcached_commands[];
void fy_http_memcached_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_memcached_merge(fy_http_loc_conf_t *prev,
                             fy_http_loc_conf_t *conf);
void fy_http_memcached_apply(fy_http_loc_conf_t *lcf);
/* setters the fastcgi_* twins of proxy_* directives share with them:
 * each sets the field at cmd->offset */
const char *fy_http_proxy_bind(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
/* fy_http_proxy_store.c: proxy_store, proxy_store_access (the field at
 * cmd->offset, for the CGI twins too) */
const char *fy_http_proxy_store(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_proxy_store_access(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
const char *fy_http_ignore_headers(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_next_upstream(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_next_upstream_of(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf, const fy_conf_enum_t *cases);
const char *fy_http_header_list(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
/* fy_http_fastcgi_conf.c: the fastcgi_* directives; their merge; a
 * fastcgi_pass location's settings put where the proxy code reads them
 * (after its nested locations were merged) */
extern const fy_command_t  fy_http_fastcgi_commands[];
/* fy_http_cgi_conf.c: the uwsgi_* and scgi_* directives, and what the
 * three share: fastcgi_pass, uwsgi_pass and scgi_pass; the *_param
 * and *_buffers setters (the fy_http_fastcgi_conf_t at cmd->offset);
 * a level's defaults and merge; a location's values put where the
 * proxy code reads them */
extern const fy_command_t  fy_http_cgi_commands[];
const char *fy_http_cgi_pass(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_cgi_param(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_cgi_buffers(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
void fy_http_cgi_conf_init(fy_http_fastcgi_conf_t *fc);
void fy_http_cgi_conf_merge(fy_http_fastcgi_conf_t *p,
                            fy_http_fastcgi_conf_t *c);
void fy_http_cgi_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_cgi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
int fy_http_cgi_apply(fy_http_loc_conf_t *lcf);
/* a location proxied to FastCGI, uwsgi or SCGI rather than HTTP */
#define fy_http_cgi_loc(lcf) \
    ((lcf)->fastcgi_pass || (lcf)->uwsgi_pass || (lcf)->scgi_pass)
/* proxy_set_body replaces the body of an HTTP proxy_pass (only: it is
 * nginx's proxy module's, not FastCGI's, uwsgi's, SCGI's, memcached's) */
#define fy_http_sets_body(lcf) \
    ((lcf)->proxy_set_body && !fy_http_cgi_loc(lcf) && !(lcf)->memcached_pass)
/* fy_http_conf_upstream.c: the upstream called name, an implicit one
 * (host:port, unix:path) made if there is none yet; NULL: logged */
struct fy_http_main_conf_s;
fy_http_upstream_t *fy_http_upstream_get(fy_conf_t *cf,
                                         struct fy_http_main_conf_s *hmcf,
                                         const fy_str_t *name);
/* an upstream block of u begins (refused if it is the second one),
 * ends (refused without servers, or with "backup" ones its balancer
 * does not take): http's and stream's */
int fy_http_upstream_define(fy_conf_t *cf, fy_http_upstream_t *u);
int fy_http_upstream_check(fy_conf_t *cf, fy_http_upstream_t *u);
void fy_http_fastcgi_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_fastcgi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* fy_http_regex.c: the number of capture groups of re */
unsigned fy_http_regex_captures(const fy_http_regex_t *re);
int fy_http_regex_split(const fy_http_regex_t *re, const fy_str_t *subject,
                        fy_str_t *one, fy_str_t *two);

/* Merge levels, resolve upstream names, build cycle->listening. */
int fy_http_init_cycle(fy_cycle_t *cycle);

/* fy_http_peer.c: give every upstream server of the cycle its slot in
 * shared memory (master only, after the shared memory exists; again on
 * each reload).  FY_OK, or FY_ERROR (logged) if the table is full. */
int  fy_http_peers_register(fy_cycle_t *cycle);
/* Count one finished response time in a server's histogram. */
void fy_http_peer_response_time(fy_shm_peer_t *sp, uint64_t ms);
/* Passive health: a try failed (as proxy_next_upstream counts
 * failures) or got the answer the client will see. */
void fy_http_peer_failed(fy_http_upstream_t *u, fy_http_upstream_peer_t *peer);
void fy_http_peer_succeeded(fy_http_upstream_t *u,
                            fy_http_upstream_peer_t *peer);

/* fy_http_health.c: the health_check directive, and the checker
 * process (forked by the master; one for the whole proxy). */
const char *fy_http_health_conf(fy_conf_t *cf, const fy_command_t *cmd,
                                void *conf);
/* After reading: the TLS client context of each "health_check ssl"
 * (FY_ERROR, logged with file and line, if it cannot be built), and a
 * [warn] for a plain health_check of an upstream reached only with
 * proxy_pass https://. */
int  fy_http_health_init_cycle(fy_cycle_t *cycle);
/* 1 if some upstream of the cycle has health_check. */
int  fy_http_health_wanted(fy_cycle_t *cycle);
/* The checker's main loop, in the forked process; never returns. */
void fy_http_health_run(fy_cycle_t *cycle) __attribute__((noreturn));

/* ---- connections and requests ---- */

/* A client connection.  Lives from accept to close; requests come and
 * go on it. */
struct fy_http_conn_s {
    fy_conn_t           *c;
    fy_listen_t         *ls;
    fy_buf_t             in;            /* request headers, early body,
                                           pipelined requests */
    fy_http_request_t   *r;             /* current request, or NULL */
    unsigned             requests;      /* served on this connection */
    uint64_t             serial;        /* $connection */
    char                 addr_text[48]; /* "127.0.0.1" */
    unsigned             port;          /* peer port */

    /* Output in flight: iovecs pointing at memory owned by the request
     * (header text) or by the proxy (body buffer).  When they are all
     * written, out_done runs. */
    struct iovec         out[4];
    int                  nout;
    void               (*out_done)(fy_http_request_t *r);

    fy_http_conn_t      *idle_next;     /* idle keep-alive list */
    fy_http_conn_t      *idle_prev;
    unsigned             idle:1;
    unsigned             nodelay:1;     /* TCP_NODELAY is set */
    unsigned             corked:1;      /* TCP_CORK is set (tcp_nopush) */
    unsigned             plain_on_tls:1;/* plain HTTP came to a TLS port */
    unsigned             lingering:1;   /* write side shut, reading what
                                           the client still sends */
    uint64_t             linger_until;  /* fy_current_msec: lingering_time */
    uint64_t             linger_timeout;
    uint64_t             start_msec;    /* accepted (or handed over):
                                           keepalive_time */
    struct fy_pp_s      *pp;            /* listen ... proxy_protocol: what
                                           the PROXY header said (malloc),
                                           NULL before it or without */
};

struct fy_http_request_s {
    fy_pool_t            *pool;         /* freed when the request ends */
    fy_http_conn_t       *hc;
    fy_http_parser_t      parser;

    fy_str_t              request_line;
    fy_str_t              method_name;
    fy_str_t              uri;          /* request-target as received */
    fy_str_t              path;         /* target without "?args" */
    fy_str_t              args;
    fy_str_t              host;         /* Host without port, lowercased */
    int                   method;
    unsigned              http_version; /* 1000 or 1001 */
    fy_array_t            headers;      /* fy_http_header_t, in order */

    int64_t               content_length;   /* -1: no body header */
    uint64_t              body_rest;        /* body bytes still unread */
    fy_http_chunked_t     chunked_body;     /* decoder of a chunked body */
    uint64_t              body_received;    /* body bytes read, decoded */
    unsigned              seen;         /* header flags, see request_header.c */
    unsigned              keepalive:1;
    unsigned              body_dropped:1;   /* a body left unread: the
                                               client may still send it */
    unsigned              host_from_target:1;  /* absolute-form */
    unsigned              header_sent:1;
    unsigned              cache_bg:1;       /* proxy_cache_background_update:
                                               once the answer is sent, the
                                               request fetches the new
                                               entry (fy_http_cache_bg.c) */
    unsigned              slicing:1;        /* r->slice is set: next to
                                               cache_bg, so that
                                               fy_http_finalize tests both
                                               at once */
    unsigned              head:1;           /* HEAD: no body in response */
    unsigned              chunked:1;        /* the body is chunked and its
                                               end has not been read yet */
    unsigned              stat:2;           /* FY_HTTP_STAT_*: counted in
                                               the slot as reading/writing */
    unsigned              error_page:1;     /* went through error_page
                                               (never twice, as nginx's
                                               recursive_error_pages off) */
    unsigned              internal:1;       /* path changed by an internal
                                               redirect: send it, not uri */
    unsigned              limit_rate_set:1; /* by set $limit_rate or
                                               X-Accel-Limit-Rate */
    unsigned              limit_delayed:1;  /* the write timer waits for
                                               limit_rate, not the client */
    size_t                limit_rate;       /* bytes/s, 0: none */
    uint64_t              limit_rate_after; /* bytes sent before */
    unsigned              redirected:1;     /* URI made by an internal
                                               redirect or a rewrite: may
                                               enter "internal" locations */
    int                   err_status;       /* error_page: the status to
                                               answer with; 0: as made */
    unsigned              redirects:4;      /* internal redirects so far
                                               (FY_HTTP_MAX_REDIRECTS) */
    unsigned              uri_changed:1;    /* rewrite: search the
                                               location again */
    unsigned              rewritten:1;      /* rewrite ... break: the URI
                                               is no longer the location's
                                               (proxy_pass sends it whole) */

    fy_http_srv_conf_t   *srv;
    fy_http_loc_conf_t   *loc;
    fy_http_captures_t   *captures;         /* of the location regex */
    fy_http_captures_t   *srv_captures;     /* of the server_name regex */
    void                 *map_values;       /* the maps' values so far */
    int                   status;           /* answered with */
    fy_http_proxy_t      *proxy;
    /* slice: the response assembled from ranged requests, NULL: not
     * sliced (fy_http_slice.c) */
    struct fy_http_slice_s *slice;
    fy_http_tunnel_t     *tunnel;          /* after a 101 */
    fy_str_t              upgrade;         /* Upgrade header, if the
                                              client asked to upgrade */
    uint64_t              bytes_out;       /* header and body sent */
    uint64_t              header_out;      /* response header bytes */
    uint64_t              gzip_in;         /* $gzip_ratio: the body's bytes
                                              before and after gzip, once
                                              the stream ended (0: none) */
    uint64_t              gzip_out;
    u_char               *request_id;      /* $request_id's 32 hex digits
                                              once read, else NULL */
    unsigned              pipelined:1;     /* $pipe: read behind the
                                              request before */
    unsigned              completed:1;     /* $request_completion: the
                                              response is all sent */
    fy_str_t              header_text;     /* the response header sent
                                              ($sent_http_), empty
                                              until it is made */
    fy_str_t              trailer_text;    /* the last chunk with
                                              add_trailer's fields, for
                                              $sent_trailer_ (empty: none) */
    uint64_t              request_length;  /* header and body received */
    uint64_t              start_msec;      /* monotonic, for $request_time */
    uint64_t              start_wall;      /* wall clock ms */
    unsigned              number;          /* on its connection, from 1 */
    struct fy_http_realip_s *realip;       /* the peer's own address once
                                              realip replaced it, or NULL */
    /* Reading the header (fy_http_large_header_buffer): where the line
     * being parsed starts in hc->in, the large buffers taken so far,
     * the header bytes in the buffers given up before hc->in. */
    u_char               *line_start;
    unsigned              large_buffers;
    size_t                header_before;
    struct fy_http_static_file_s *file;    /* a static file being sent */
    /* limit_req, limit_conn: $limit_req_status, $limit_conn_status
     * (FY_LIMIT_*, 0: not checked) and the counts held */
    unsigned              limit_req_status:3;
    unsigned              limit_conn_status:3;
    struct fy_http_limit_held_s *limit_held;
    const fy_str_t       *auth_challenge;  /* auth_basic refused: its
                                              WWW-Authenticate value */
    fy_str_t              auth_lines;      /* auth_request answered 401:
                                              its WWW-Authenticate lines
                                              ("Name: value\r\n"...) */
    /* a subrequest (fy_http_subrequest.c): the request it was made
     * for, NULL for a client's request; what its answer goes to
     * instead of the client; auth_sub: auth_request's */
    fy_http_request_t    *parent;
    void                (*sub_done)(fy_http_request_t *sr, int status);
    unsigned              auth_sub:1;
    fy_http_capture_t    *capture;         /* ssi's include: the body
                                              kept for the parent */
    unsigned              continued:1;     /* 100 Continue was sent */
    /* mirror (fy_http_mirror.c): mirror subrequests still running;
     * fy_http_finalize waiting for them;
     * the location whose mirrors were started */
    unsigned              mirrors_running;
    unsigned              mirror_finalize:1;
    /* post_action (fy_http_post_action.c): this is its subrequest (its
     * variables of the finished response read the parent's); it was
     * started; it runs; fy_http_finalize waits for it, and closes the
     * connection after it */
    unsigned              post_action:1;
    unsigned              post_acted:1;
    unsigned              post_action_running:1;
    unsigned              post_action_finalize:1;
    unsigned              post_action_close:1;
    /* the content phase began (main request, a location with
     * post_action): what it holds is the cleanups added since
     * content_cleanups, stopped when the response cannot be finished
     * (fy_http_post_action_abort) */
    unsigned              content_mark:1;
    struct fy_pool_cleanup_s *content_cleanups;
    fy_http_loc_conf_t   *mirrored;
    /* the whole body read into memory (mirror): the bytes not sent yet,
     * in place of hc->in's (fy_http_body_src); start NULL: none */
    fy_buf_t              body_mem;
    int64_t               last_modified;   /* of what is answered, for
                                              "expires modified": the
                                              file's mtime or the
                                              upstream's Last-Modified */
    unsigned              has_last_modified:1;
    /* userid's state (fy_http_userid.c), made on first use */
    struct fy_http_userid_ctx_s *userid;
    /* fy_http_send_response writes last_modified as Last-Modified on a
     * 200 or 304 (empty_gif) */
    unsigned              send_last_modified:1;
    unsigned              ssi_done:1;      /* ssi processed its body */
    /* fields of a proxied response that ferry answers itself, once
     * processed (ssi over a proxied page, fy_http_proxy_ssi.c):
     * "Name: value\r\n" lines fy_http_send_response adds */
    fy_str_t              pass_lines;
    /* sub_filter's strings apply to the body being sent (not only the
     * addition module's texts): its validators go (fy_http_sub_begin) */
    unsigned              sub_strings:1;
    /* and the filter keeps the body's length (fy_http_sub_same_length) */
    unsigned              sub_same_len:1;
    /* the filter is a single-byte recoding alone: every byte stays at
     * its offset (fy_http_sub_bytewise; ranges, Accept-Ranges, ETag) */
    unsigned              sub_bytewise:1;
    /* charset (fy_http_charset.c): an upstream's X-Accel-Charset (len 0:
     * none), and the values of "charset $var" and "source_charset $var"
     * once evaluated */
    fy_str_t              accel_charset;
    fy_str_t              charset_dst;
    const void           *charset_of;   /* the "charset" it is of */
    fy_str_t              charset_src;  /* a "source_charset $var"'s */
    const void           *charset_src_of;
    /* the addition module's bodies (fy_http_addition.c), NULL: none */
    fy_http_addition_ctx_t *addition;
    /* a Range the file could not satisfy: the 416, and what an
     * error_page 416 answers, carry a Content-Range with "*" for the
     * range and range_size for the length, as nginx's do */
    unsigned              range_unsat:1;
    int64_t               range_size;
    /* after an upstream's X-Accel-Redirect, the fields of its response
     * the final answer keeps (fy_http_proxy_accel.c), else NULL */
    struct fy_http_accel_s *accel;
    /* a PUT's body being written to its file (fy_http_dav.c) */
    struct fy_http_dav_put_s *dav_put;
    /* a body being read whole (fy_http_body_read.c): by whom, and the
     * buffer its first bytes come from */
    const struct fy_http_body_reader_s *body_reader;
    fy_buf_t             *body_from;
};

/* What an X-Accel-Redirect keeps of the upstream's response, as nginx:
 * its Content-Type in place of the one the final answer would have
 * (a static file's, a return's), and Set-Cookie, Content-Disposition,
 * Cache-Control and Expires, as lines "Name: value\r\n" that
 * fy_http_add_headers adds to every answer but an error. */
typedef struct fy_http_accel_s {
    fy_str_t              type;             /* empty: none */
    fy_str_t              lines;
} fy_http_accel_t;

typedef struct {
    fy_str_t   name;
    fy_str_t   value;
} fy_http_header_t;

/* The client side: fy_http_request.c, fy_http_request_header.c,
 * fy_http_request_route.c, fy_http_response.c */
/* Start serving a connection.  A new one has data NULL and requests 0;
 * one handed over from a draining worker brings what that worker had
 * read (len bytes) and how many requests it served. */
void fy_http_init_connection(fy_conn_t *c, fy_listen_t *ls,
                             const u_char *data, size_t len,
                             unsigned requests);
/* The connection is ready for HTTP (after the TLS handshake): wait for
 * the first request. */
void fy_http_start_connection(fy_http_conn_t *hc);
/* fy_http_pp.c: "listen ... proxy_protocol": read the PROXY header of
 * a new connection, then go on to TLS or the request. */
void fy_http_pp_start(fy_http_conn_t *hc);
size_t fy_http_pp_var_addr(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_pp_var_port(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_pp_var_server_addr(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_pp_var_server_port(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_pp_var_tlv(fy_http_request_t *r, const fy_str_t *arg,
                          u_char *buf, size_t size);
/* fy_http_proxy_send.c: $request_body */
size_t fy_http_proxy_var_request_body(fy_http_request_t *r, u_char *buf,
                                      size_t size);
/* The response is done (all sent) or failed: keep alive or close. */
void fy_http_finalize(fy_http_request_t *r, int close_connection);
/* Its end, once r is answered and counted (post_action's subrequest
 * over): keep-alive, lingering close or close. */
void fy_http_finalize_conn(fy_http_request_t *r, int close_connection);
/* Send a complete response with a small body (errors, return). */
void fy_http_send_response(fy_http_request_t *r, int status,
                           const fy_str_t *type, const u_char *body,
                           size_t len, const fy_str_t *location);
void fy_http_send_error(fy_http_request_t *r, int status);
/* Search r->srv for the location of r->path (r->loc, r->captures). */
void fy_http_find_location_of(fy_http_request_t *r);
/* Serve r by r->loc: its rewrite directives, allow/deny, try_files,
 * content handler, proxy_pass, else 404.  Also the second half of an internal redirect. */
void fy_http_run_location(fy_http_request_t *r);
/* The location r answers by (the server's own before one is chosen). */
fy_http_loc_conf_t *fy_http_req_loc(fy_http_request_t *r);
/* Write hc->out; FY_OK when all is written, FY_AGAIN (write handler
 * armed, out_done will be called later), FY_ERROR (connection dead). */
int  fy_http_write_out(fy_http_request_t *r);
void fy_http_close_connection(fy_http_conn_t *hc);
/* A read event on a client connection whose request waits (a limit_req
 * delay, the upstream): 1 when the client closed or reset it, 0 for
 * pipelined bytes, which stay in the socket. */
int fy_http_client_closed(fy_event_t *rev);
/* TCP_NODELAY once, if lcf's tcp_nodelay is on; TCP_CORK on or off
 * (tcp_nopush) */
void fy_http_nodelay(fy_http_conn_t *hc, const fy_http_loc_conf_t *lcf);
void fy_http_cork(fy_http_conn_t *hc, int on);
const char *fy_http_status_line(int status, size_t *len);
/* The first lines of an answer at q: "HTTP/1.1 " line, the Server line
 * (server, slen: fy_http_server_line) and Date; the new end.  Copied,
 * not printed (docs/performance.md). */
char *fy_http_header_start(char *q, const char *line, size_t llen,
                           const char *server, size_t slen);
const char *fy_http_connection_header(fy_http_request_t *r);
/* A Location that starts with "/" made scheme://host[:port]/... when
 * absolute_redirect is on (nginx's header filter); *loc is replaced in
 * r's pool.  FY_OK or FY_ERROR (no memory). */
int  fy_http_absolute_location(fy_http_request_t *r, fy_str_t *loc);
/* May a body of unknown length go to r's client in chunks?  HTTP/1.1
 * and chunked_transfer_encoding on; otherwise the close ends it. */
int  fy_http_chunked_out(fy_http_request_t *r);
/* Is token one of the comma-separated tokens of v (any case)? */
int  fy_http_token_in(const fy_str_t *v, const char *token);
/* Check a Host value (or the authority of an absolute-form target) and
 * set *host to it lowercased, without port or trailing dot, in place
 * in h's bytes.  FY_OK, or FY_ERROR for an invalid host (*host is then
 * untouched).  Pure: no request, no state. */
int  fy_http_validate_host(fy_str_t *h, fy_str_t *host);
extern unsigned fy_http_quitting;   /* worker is shutting down gracefully */
/* Draining: hand every idle keep-alive connection back to the master
 * (or close it when that is not possible).  Returns how many are left
 * because the channel was full; try again later. */
unsigned fy_http_drain_idle(void);

/* fy_http_handoff.c: give an idle connection (no request; hc->in holds
 * at most the bytes of its next request) back to the master.  FY_OK:
 * sent, and hc is freed; FY_AGAIN: the channel is full, try later;
 * FY_DECLINED: not possible (master stopping, too many bytes read);
 * FY_ERROR: the channel is broken. */
int  fy_http_handback(fy_http_conn_t *hc);

/* fy_http_headers.c: proxy_set_header, add_header, proxy_hide_header,
 * proxy_pass_header, proxy_method, proxy_http_version,
 * proxy_pass_request_headers/_body, proxy_intercept_errors,
 * server_tokens. */
extern const fy_command_t  fy_http_headers_commands[];
void fy_http_headers_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* A header value with variables, evaluated for r, with every control
 * byte (CR, LF, NUL ...; not HTAB) %-escaped so that no variable can
 * split a header.  NULL on allocation failure. */
u_char *fy_http_header_value(fy_http_request_t *r, const fy_http_cv_t *cv,
                             size_t *len);
/* The same escaping of a value already made; returns s itself when
 * nothing needs escaping, else a copy in pool (NULL: no memory). */
u_char *fy_http_header_escape(fy_pool_t *pool, u_char *s, size_t *len);
/* s with every byte escape() says yes to %-escaped (a copy from pool),
 * or s itself when there is none; *len is updated. */
u_char *fy_http_escape_bytes(fy_pool_t *pool, u_char *s, size_t *len,
    int (*escape)(u_char c));
/* "Server: ferry/0.1.0\r\n" or, with server_tokens off, "Server:
 * ferry\r\n"; and the signature for error pages. */
const char *fy_http_server_line(fy_http_request_t *r, size_t *len);
const char *fy_http_signature(fy_http_request_t *r);
/* The add_header lines ("Name: value\r\n"...) for an answer with this
 * status, in r's pool; FY_OK (out may be empty) or FY_ERROR. */
int  fy_http_add_headers(fy_http_request_t *r, int status, fy_str_t *out);
/* The same for a location whose add_header values read $sent_http_
 * (lcf->add_headers_sent): the lines inserted at offset at of the
 * header the writer made without them, each add_header value made
 * while the header so far is r->header_text (a new buffer: *hdr, *n,
 * *size updated).  FY_OK or FY_ERROR. */
int  fy_http_add_headers_into(fy_http_request_t *r, int status, char **hdr,
                              size_t *n, size_t *size, size_t at);
/* 1 for the statuses add_header (without "always") and expires touch */
int  fy_http_add_header_status(int status);
/* fy_http_trailers.c: add_trailer.  1 when a response of r with this
 * status goes chunked for its trailers (an HTTP/1.1 client, a body, an
 * add_trailer that applies to the status). */
int  fy_http_trailers_expected(fy_http_request_t *r, int status);
/* The last chunk of r's body: ["\r\n"]"0\r\n", the trailers for
 * r->status, "\r\n" (the leading CRLF, ending the previous chunk's
 * data, when crlf); static when there are none.  FY_OK or FY_ERROR. */
int  fy_http_trailers_last_chunk(fy_http_request_t *r, int crlf,
                                 fy_str_t *out);

/* fy_http_expires.c: expires */
extern const fy_command_t  fy_http_expires_commands[];
void fy_http_expires_merge(fy_http_loc_conf_t *prev,
                           fy_http_loc_conf_t *conf);
#define FY_HTTP_EXPIRES_LEN  128    /* the longest fy_http_expires_lines */
size_t fy_http_expires_lines(fy_http_request_t *r, u_char *buf);
int  fy_http_expires_hides(const fy_str_t *name);

/* fy_http_charset.c: charset, charset_types, source_charset,
 * override_charset */
extern const fy_command_t  fy_http_charset_commands[];
/* fy_http_charset_map.c: charset_map */
extern const fy_command_t  fy_http_charset_map_commands[];
/* fy_http_sub.c: sub_filter, sub_filter_once, sub_filter_types,
 * sub_filter_last_modified */
extern const fy_command_t  fy_http_sub_commands[];
void fy_http_sub_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* fy_http_ssi.c: ssi, ssi_types, ssi_silent_errors, ssi_value_length,
 * ssi_last_modified, ssi_min_file_chunk */
extern const fy_command_t  fy_http_ssi_commands[];
void fy_http_ssi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);

/* fy_http_addition.c: add_before_body, add_after_body, addition_types */
extern const fy_command_t  fy_http_addition_commands[];
void fy_http_addition_merge(fy_http_loc_conf_t *prev,
                            fy_http_loc_conf_t *conf);
/* Before r's content handler: FY_OK (go on), FY_AGAIN (the subrequests
 * run; fy_http_run_content follows), or a status to answer. */
int  fy_http_addition_fetch(fy_http_request_t *r);
/* fy_http_send_response's answer (body, type) gets the bodies and
 * they are not fetched yet: FY_OK (they run; the answer is sent again
 * once they are in), FY_DECLINED (send it now), FY_ERROR. */
int  fy_http_addition_response(fy_http_request_t *r, int status,
                               const fy_str_t *type, const u_char *body,
                               size_t len);
/* 1 when r's response (status, type) gets the bodies: *before, *after
 * (either may be empty); 0: sent as it is. */
int  fy_http_addition_texts(fy_http_request_t *r, int status,
                            const fy_str_t *type, fy_str_t *before,
                            fy_str_t *after);
void fy_http_charset_merge(fy_http_loc_conf_t *prev,
                           fy_http_loc_conf_t *conf);
int  fy_http_charset_type(fy_http_request_t *r, const fy_str_t *type,
                          fy_str_t *out);
size_t fy_http_charset_room(fy_http_request_t *r);
/* The recoder of r's response body, of Content-Type type (NULL: from
 * the response header fields headers), NULL when it is not recoded. */
const struct fy_http_recode_s *fy_http_charset_recode(fy_http_request_t *r,
    const fy_str_t *type, const fy_array_t *headers);
/* After the merge: FY_ERROR (logged with file and line) when a
 * source_charset has no charset_map to its charset. */
int  fy_http_charset_check(fy_http_main_conf_t *hmcf);
/* A charset name the configuration gives (charset, source_charset,
 * charset_map): one X-Accel-Charset may name.  FY_ERROR: no memory. */
int  fy_http_charset_register(fy_conf_t *cf, const fy_str_t *name);
/* Is name a valid header field name (an RFC 9110 token)? */
int  fy_http_is_token(const u_char *name, size_t len);
/* The value of the first field called name (any case) in headers
 * (fy_http_header_t: a request's, a response's), or NULL; headers may
 * be NULL. */
fy_str_t *fy_http_header_find(const fy_array_t *headers, const char *name);

/* fy_http_error_page.c: error_page and named locations. */
extern const fy_command_t  fy_http_error_page_commands[];
/* The error_page of lcf for status, or NULL. */
const fy_http_error_page_t *fy_http_error_page_find(fy_http_loc_conf_t *lcf,
                                                    int status);
/* Answer status through r's error_page if it has one for it: FY_OK
 * (handled: internal redirect or redirect sent) or FY_DECLINED. */
int  fy_http_error_page(fy_http_request_t *r, int status);
/* Internal redirects (error_page, try_files).  At most
 * FY_HTTP_MAX_REDIRECTS per request (nginx's limit); one more is a
 * cycle, logged and answered 500. */
#define FY_HTTP_MAX_REDIRECTS  10
/* r, method and body as they are, to uri (len bytes; a "?" splits off
 * the new arguments, none: no arguments): the path normalised, the
 * location searched again and run.  FY_OK: done (served, or answered);
 * FY_ERROR: uri is not a valid path, nothing done (the caller answers). */
int  fy_http_internal_redirect(fy_http_request_t *r, u_char *uri, size_t len);
/* the same to a path already decoded and normalised (kept, not copied)
 * and its arguments; FY_OK */
int  fy_http_internal_redirect_to(fy_http_request_t *r, const fy_str_t *path,
    const fy_str_t *args);
/* r served by the server's location @name (name with its "@"); 500 if
 * there is none. */
void fy_http_named_redirect(fy_http_request_t *r, const u_char *name,
                            size_t len);
/* The server's location @name (name with its "@"), or NULL. */
fy_http_loc_conf_t *fy_http_named_find(fy_http_srv_conf_t *srv,
                                       const u_char *name, size_t len);
/* What an internal redirect does to the request body: the new location
 * does not get it; what is still on its way closes the connection
 * after the answer. */
void fy_http_drop_body(fy_http_request_t *r);

/* fy_http_rewrite.c, fy_http_rewrite_conf.c: rewrite, set, if,
 * break, return, rewrite_log, uninitialized_variable_warn. */
typedef struct fy_http_rw_script_s  fy_http_rw_script_t;
extern const fy_command_t  fy_http_rewrite_commands[];
/* Run script for r, lcf's rewrite_log and uninitialized_variable_warn
 * applying.  FY_DECLINED: go on (r->path, r->args may be new);
 * FY_AGAIN: search the location again ("last", or the URI changed in
 * a location); FY_DONE: answered (return, a redirect, an error). */
/* fy_http_conf_server.c: the block of an "if" in a location, read
 * into a conf of its own that is merged with parent's (nginx's "if in
 * location"); its rewrite directives go to `block`.  *out is the new
 * conf. */
const char *fy_http_location_if(fy_conf_t *cf, fy_http_loc_conf_t *parent,
    fy_http_rw_script_t *block, fy_http_loc_conf_t **out);
int  fy_http_rewrite_run(fy_http_request_t *r, fy_http_rw_script_t *script,
                         fy_http_loc_conf_t *lcf);
/* fy_http_request_route.c: answer r with code as "return CODE TEXT"
 * does (text NULL: none; a URL for redirects, escaped here), or close
 * it for 444.  The request body is skipped first. */
void fy_http_return_text(fy_http_request_t *r, int code, u_char *text,
                         size_t len);
/* Server rewrites of r->srv, then the location for r->path, and run it
 * (a request, and an internal redirect to a URI, start here). */
void fy_http_route(fy_http_request_t *r);

/* fy_http_try_files.c: try_files */
typedef struct fy_http_try_files_s  fy_http_try_files_t;
extern const fy_command_t  fy_http_try_files_commands[];
/* Run r->loc's try_files (the location has one).  FY_DECLINED: go on
 * with the location's handler, r->path may be a file found; FY_OK: the
 * request was handed on or answered; a status (> 0): "=CODE", to be
 * answered as "return CODE;". */
int  fy_http_try_files(fy_http_request_t *r);

/* fy_http_proxy_redirect.c: proxy_redirect */
typedef struct fy_http_proxy_redirect_s  fy_http_proxy_redirect_t;
extern const fy_command_t  fy_http_proxy_redirect_commands[];
void fy_http_proxy_redirect_merge(fy_http_loc_conf_t *prev,
                                  fy_http_loc_conf_t *conf);
/* Rewrite the Location and Refresh fields among an upstream's response
 * headers by r->loc's proxy_redirect (values replaced by copies in r's
 * pool): FY_OK, or FY_ERROR when memory ran out. */
int  fy_http_proxy_redirect(fy_http_request_t *r, fy_array_t *headers);

/* fy_http_proxy_cookie.c: proxy_cookie_domain, proxy_cookie_path,
 * proxy_cookie_flags */
typedef struct fy_http_proxy_cookie_s  fy_http_proxy_cookie_t;
extern const fy_command_t  fy_http_proxy_cookie_commands[];
void fy_http_proxy_cookie_merge(fy_http_loc_conf_t *prev,
                                fy_http_loc_conf_t *conf);
/* Rewrite the Domain and Path attributes and set the flags of the
 * Set-Cookie fields among an upstream's response headers by r->loc's
 * rules (values replaced by copies in r's pool): FY_OK, or FY_ERROR
 * (no memory). */
int  fy_http_proxy_cookie(fy_http_request_t *r, fy_array_t *headers);

/* fy_http_uri.c: decode %XX, resolve "." and "..", merge slashes.
 * path may be replaced by a copy in pool.  FY_ERROR: invalid (400). */
int    fy_http_normalize_path(fy_pool_t *pool, fy_str_t *path);
/* the same; merge 0 (merge_slashes off): empty segments are kept */
int    fy_http_normalize_path_as(fy_pool_t *pool, fy_str_t *path,
                                 int merge);
/* %-escape what a path sent upstream cannot carry raw; with dst NULL,
 * returns the length needed. */
size_t fy_http_escape_path(u_char *dst, const u_char *src, size_t len);

/* fy_http_log.c: the access log */
void fy_http_log_request(fy_http_request_t *r);
/* End of the http block: the default access_log if none was given. */
const char *fy_http_log_http_done(fy_conf_t *cf, fy_http_main_conf_t *hmcf);

/* fy_http_keepalive.c: keepalive_disable, keepalive_time,
 * reset_timedout_connection */
extern const fy_command_t  fy_http_keepalive_commands[];
void fy_http_keepalive_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_keepalive_merge(fy_http_loc_conf_t *prev,
                             fy_http_loc_conf_t *conf);
/* May r's connection be kept after its response (keepalive_time, and
 * keepalive_disable by User-Agent)?  1 or 0. */
int  fy_http_keepalive_allowed(fy_http_request_t *r, fy_http_loc_conf_t *lcf);
/* The connection is about to be closed because the client timed out
 * (or "return 444"): with reset_timedout_connection, SO_LINGER 0 so
 * that close() resets it; 1 if so. */
int  fy_http_reset_timedout(fy_http_conn_t *hc);

/* fy_http_temp_conf.c: proxy_temp_path & co., without effect; the
 * setters and merge serve the fastcgi_, uwsgi_ and scgi_ twins too
 * (cmd->offset in a fy_http_temp_conf_t) */
extern const fy_command_t  fy_http_temp_conf_commands[];
const char *fy_http_temp_path(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
const char *fy_http_temp_size(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
void fy_http_temp_conf_init(fy_http_temp_conf_t *t);
void fy_http_temp_conf_merge(fy_http_temp_conf_t *p, fy_http_temp_conf_t *c,
    size_t buffer_size);
void fy_http_temp_init_conf(fy_http_loc_conf_t *lcf);
/* before proxy_buffer_size is merged */
void fy_http_temp_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* nginx's checks on a merged level: FY_OK, or FY_ERROR (logged) */
int  fy_http_temp_check(fy_http_loc_conf_t *lcf);

/* fy_http_open_file_cache.c: open_file_cache*, without effect */
extern const fy_command_t  fy_http_open_file_cache_commands[];
void fy_http_open_file_cache_init_conf(fy_http_loc_conf_t *lcf);

/* fy_http_error_log.c: error_log in http, server, location */
extern const fy_command_t  fy_http_error_log_commands[];
void fy_http_error_log_merge(fy_http_loc_conf_t *prev,
                             fy_http_loc_conf_t *conf);
/* r->loc (or r->srv) is chosen (or changed): its error logs take what
 * is logged for the connection from now on, for the rest of this
 * handler too.  Inline: three calls on every request's path. */
static inline void
fy_http_error_log_set(fy_http_request_t *r)
{
    fy_log_t  *log = r->loc ? r->loc->error_log : r->srv->loc->error_log;

    r->hc->c->read.log = r->hc->c->write.log = log;
    fy_log_cur = log;
}
/* Read "error_log FILE [LEVEL]" (cf->args) onto the level's chain;
 * a file goes on the list `files` (reopened on SIGUSR1).  Also the
 * stream block's error_log. */
const char *fy_http_error_log_add(fy_conf_t *cf, fy_log_t **chain,
    struct fy_http_error_log_s **files);
void fy_http_error_log_init_process(fy_cycle_t *cycle);
void fy_http_error_log_reopen(int uid);

/* fy_http_tunnel.c: copy bytes both ways after a 101.  Takes over uc;
 * pending: what the upstream sent after its header. */
int  fy_http_tunnel_start(fy_http_request_t *r, fy_conn_t *uc,
                          const u_char *pending, size_t len);

/* fy_http_upcache.c: the per-worker cache of idle upstream
 * connections ("keepalive N" in an upstream block). */
extern const fy_command_t  fy_http_upcache_commands[];
/* An idle connection to server `peer` of u, or NULL; its `requests`
 * says how many it has carried. */
fy_conn_t *fy_http_upcache_get(fy_http_upstream_t *u, unsigned peer,
                               unsigned *requests);
/* The same for a request that needs a connection made with the TLS
 * context tls_ctx (NULL: plain TCP) for tls_name. */
fy_conn_t *fy_http_upcache_get_tls(fy_http_upstream_t *u, unsigned peer,
                                   const void *tls_ctx, const char *tls_name,
                                   unsigned *requests);
/* Keep c (idle, the response read to its end) for later, or close it
 * when the cache is full or the connection has served enough. */
/* Close this worker's idle connections to server peer of u (its
 * address changed: fy_http_upstream_resolve.c). */
void       fy_http_upcache_drop(fy_http_upstream_t *u, unsigned peer);
void       fy_http_upcache_put(fy_http_upstream_t *u, unsigned peer,
                               fy_conn_t *c, unsigned requests);

/* TLS on client connections (fy_http_ssl*.c) */
/* fy_http_ssl_init.c: resolve the TLS settings of every server, build
 * the contexts of servers on "ssl" listeners.  FY_OK or FY_ERROR
 * (logged). */
int  fy_http_ssl_init_cycle(fy_cycle_t *cycle);
/* fy_http_ssl_conn.c: a new connection on an "ssl" listener:
 * handshake, then HTTP. */
void fy_http_ssl_init_connection(fy_http_conn_t *hc);
/* nginx's answer to plain HTTP on a TLS port (400, then close). */
void fy_http_ssl_plain_error(fy_http_request_t *r);
/* fy_http_ssl_var.c: $https, $ssl_protocol, $ssl_cipher,
 * $ssl_server_name, $ssl_session_reused */
size_t fy_http_ssl_var_https(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_ssl_var_protocol(fy_http_request_t *r, u_char *buf,
                                size_t size);
size_t fy_http_ssl_var_cipher(fy_http_request_t *r, u_char *buf,
                              size_t size);
size_t fy_http_ssl_var_server_name(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_ssl_var_early_data(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_ssl_var_session_reused(fy_http_request_t *r, u_char *buf,
                                      size_t size);
/* fy_http_ssl_conn.c: a request on a server with ssl_verify_client:
 * FY_OK, or FY_ERROR with nginx's 400 for a failed verification or a
 * missing certificate sent. */
int    fy_http_ssl_verify(fy_http_request_t *r);
/* fy_http_ssl_var.c: $ssl_client_verify, _s_dn, _i_dn, _serial,
 * _fingerprint, _raw_cert, _cert, _escaped_cert, _s_dn_legacy,
 * _i_dn_legacy, _v_start, _v_end, _v_remain */
size_t fy_http_ssl_var_client_verify(fy_http_request_t *r, u_char *buf,
                                     size_t size);
size_t fy_http_ssl_var_client_s_dn(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_ssl_var_client_i_dn(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_ssl_var_client_serial(fy_http_request_t *r, u_char *buf,
                                     size_t size);
size_t fy_http_ssl_var_client_fingerprint(fy_http_request_t *r, u_char *buf,
                                          size_t size);
size_t fy_http_ssl_var_client_raw_cert(fy_http_request_t *r, u_char *buf,
                                       size_t size);
size_t fy_http_ssl_var_client_cert(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_ssl_var_client_escaped_cert(fy_http_request_t *r, u_char *buf,
                                           size_t size);
size_t fy_http_ssl_var_client_s_dn_legacy(fy_http_request_t *r, u_char *buf,
                                          size_t size);
size_t fy_http_ssl_var_client_i_dn_legacy(fy_http_request_t *r, u_char *buf,
                                          size_t size);
size_t fy_http_ssl_var_client_v_start(fy_http_request_t *r, u_char *buf,
                                      size_t size);
size_t fy_http_ssl_var_client_v_end(fy_http_request_t *r, u_char *buf,
                                    size_t size);
size_t fy_http_ssl_var_client_v_remain(fy_http_request_t *r, u_char *buf,
                                       size_t size);
/* $ssl_ciphers, $ssl_curve, $ssl_curves, $ssl_session_id */
size_t fy_http_ssl_var_ciphers(fy_http_request_t *r, u_char *buf,
                               size_t size);
size_t fy_http_ssl_var_curve(fy_http_request_t *r, u_char *buf,
                             size_t size);
size_t fy_http_ssl_var_curves(fy_http_request_t *r, u_char *buf,
                              size_t size);
size_t fy_http_ssl_var_session_id(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_ssl_var_alpn_protocol(fy_http_request_t *r, u_char *buf,
                                     size_t size);
/* fy_http_ssi_cmd.c: $date_local, $date_gmt outside SSI pages */
size_t fy_http_ssi_var_date_local(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_ssi_var_date_gmt(fy_http_request_t *r, u_char *buf,
                                size_t size);

/* fy_http_proxy_ssl.c: TLS to upstreams.  Merge conf's proxy_ssl_*
 * settings with prev's; after all levels are merged, build the client
 * contexts of the locations that proxy_pass to https:// (FY_OK, or
 * FY_ERROR logged with file and line). */
void fy_http_proxy_ssl_merge(fy_http_loc_conf_t *prev,
                             fy_http_loc_conf_t *conf);
int  fy_http_proxy_ssl_init_cycle(fy_cycle_t *cycle);

/* fy_http_proxy.c */
void fy_http_proxy_handler(fy_http_request_t *r);
/* $upstream_addr, $upstream_status, $upstream_connect_time,
 * $upstream_header_time, $upstream_response_time (fy_http_variable_pt) */
size_t fy_http_proxy_upstream_addr(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_proxy_upstream_status(fy_http_request_t *r, u_char *buf,
                                     size_t size);
size_t fy_http_proxy_upstream_connect_time(fy_http_request_t *r, u_char *buf,
                                           size_t size);
size_t fy_http_proxy_upstream_header_time(fy_http_request_t *r, u_char *buf,
                                          size_t size);
size_t fy_http_proxy_upstream_response_time(fy_http_request_t *r,
                                            u_char *buf, size_t size);
/* $upstream_bytes_received, $upstream_bytes_sent,
 * $upstream_response_length: one value per try, as $upstream_status */
size_t fy_http_proxy_upstream_bytes_received(fy_http_request_t *r,
                                             u_char *buf, size_t size);
size_t fy_http_proxy_upstream_bytes_sent(fy_http_request_t *r, u_char *buf,
                                         size_t size);
size_t fy_http_proxy_upstream_response_length(fy_http_request_t *r,
                                              u_char *buf, size_t size);
/* $proxy_host of a request being proxied (r->proxy set) */
size_t fy_http_proxy_host(fy_http_request_t *r, u_char *buf, size_t size);

/* fy_http_access.c: allow/deny of the request's location.  FY_OK when
 * an "allow" rule matches, FY_DECLINED when there are no rules or none
 * matches, 403 when a "deny" does (logged when log is 1, as nginx does
 * under "satisfy all" only). */
int  fy_http_access_check(fy_http_request_t *r, int log);

/* Where r's body bytes not read yet are (what body_rest counts):
 * those that came with the header in hc->in (then the socket), or all
 * of them in memory once mirror read the body whole. */
static inline fy_buf_t *
fy_http_body_src(fy_http_request_t *r)
{
    return r->body_mem.start ? &r->body_mem : &r->hc->in;
}

/* fy_http_body_read.c: read r's body whole, from the buffer from (its
 * bytes that are there already: fy_http_body_src, or hc->in for the
 * reader that fills body_mem) then the socket.  room() gives where the
 * socket's next bytes may go (size > 0), piece() takes n decoded bytes
 * of the body (in the room given, at or after its start, for a chunked
 * body decoded there), each FY_OK or a status (logged); done() runs
 * when all of it is there.  A failure is answered (or the connection
 * closed) without done(). */
typedef struct fy_http_body_reader_s {
    int    (*room)(fy_http_request_t *r, u_char **buf, size_t *size);
    int    (*piece)(fy_http_request_t *r, u_char *p, size_t n);
    void   (*done)(fy_http_request_t *r);
} fy_http_body_reader_t;

void fy_http_body_read(fy_http_request_t *r, fy_buf_t *from,
                       const fy_http_body_reader_t *br);

/* fy_http_subrequest.c: a subrequest of r for path, in r's pool, size
 * bytes (at least a fy_http_request_t, which must come first) zeroed
 * and the request part filled from r (GET, no body); done gets its
 * answer.  NULL: no memory.  fy_http_subrequest_run searches its
 * location and runs it; fy_http_subrequest_done is what the response
 * writers call for a request with r->parent instead of writing. */
void *fy_http_subrequest_create(fy_http_request_t *r, size_t size,
    const fy_str_t *path, void (*done)(fy_http_request_t *sr, int status));
void fy_http_subrequest_run(fy_http_request_t *sr);
void fy_http_subrequest_done(fy_http_request_t *sr, int status);

/* fy_http_proxy_send.c: make room for need more bytes at the end of
 * hc->in (where the bytes read after a chunked body go) */
int  fy_http_in_room(fy_http_request_t *r, size_t need);

/* fy_http_dav.c: dav_methods, dav_access, create_full_put_path,
 * min_delete_depth.  fy_http_dav: before the file handler of r's
 * location (lcf->dav set): FY_DECLINED for a method not in
 * dav_methods, else FY_DONE (answered, or the body is being read). */
typedef struct fy_http_dav_put_s  fy_http_dav_put_t;
extern const fy_command_t  fy_http_dav_commands[];
void fy_http_dav_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_dav_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
int  fy_http_dav(fy_http_request_t *r);
/* fy_http_random_index.c: random_index */
extern const fy_command_t  fy_http_random_index_commands[];
/* fy_http_flv.c: flv */
extern const fy_command_t  fy_http_flv_commands[];
/* fy_http_mp4.c: mp4, mp4_buffer_size, mp4_max_buffer_size,
 * mp4_start_key_frame */
extern const fy_command_t  fy_http_mp4_commands[];
/* fy_http_request_route.c: drop the body bytes already read of a
 * request that does not want them; the answer's end closes the
 * connection if more are on their way */
void fy_http_skip_body(fy_http_request_t *r);

/* fy_http_post_action.c: post_action */
extern const fy_command_t  fy_http_post_action_commands[];
void fy_http_post_action_merge(fy_http_loc_conf_t *prev,
                               fy_http_loc_conf_t *conf);
/* From fy_http_finalize of a client's request whose location has a
 * post_action, the response sent: start it (once).  FY_AGAIN: it runs,
 * fy_http_finalize_conn(r, close_connection) follows when it ends;
 * FY_OK: go on now (ended at once, or could not start). */
int  fy_http_post_action(fy_http_request_t *r, int close_connection);
/* From fy_http_close_connection, for a client's request whose content
 * phase began in a location with post_action (r->content_mark): the
 * response could not be finished.  What the content phase holds is
 * stopped, and the post_action runs, $request_completion empty, as
 * nginx's.  FY_AGAIN: it runs, the close follows when it ends; FY_OK:
 * close now. */
int  fy_http_post_action_abort(fy_http_request_t *r);

/* fy_http_mirror.c: mirror, mirror_request_body */
extern const fy_command_t  fy_http_mirror_commands[];
void fy_http_mirror_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* Before try_files and the content handler of r (its location has
 * mirrors): read the body whole if there is one and start the mirror
 * subrequests.  FY_OK: go on now; FY_AGAIN: the body is being read,
 * fy_http_run_content follows; FY_DONE: answered (an error). */
int  fy_http_mirror(fy_http_request_t *r);
/* fy_http_finalize of r while mirror subrequests run: FY_AGAIN, they
 * finalize it when the last one ends. */
int  fy_http_mirror_wait(fy_http_request_t *r, int close_connection);

/* fy_http_request_route.c: try_files, the content handler, the proxy
 * (after the access phase, and after mirror read the body); sending
 * 100 Continue once to a client that expects it. */
void fy_http_run_content(fy_http_request_t *r);
void fy_http_send_continue(fy_http_request_t *r);

/* fy_http_auth_request.c: auth_request, auth_request_set */
extern const fy_command_t  fy_http_auth_request_commands[];
void fy_http_auth_request_merge(fy_http_loc_conf_t *prev,
                                fy_http_loc_conf_t *conf);
/* The access phase's last step for r (its location has auth_request):
 * start the subrequest.  code: the refusal so far under "satisfy any"
 * (401, 403, 0).  FY_AGAIN: it runs, fy_http_access_done follows;
 * else the status to answer. */
int  fy_http_auth_request_start(fy_http_request_t *r, int code);
/* The subrequest sr has its answer (status): the response writers call
 * this instead of writing to the client. */
void fy_http_auth_request_done(fy_http_request_t *sr, int status);
/* fy_http_request_route.c: the access phase of r is over: 0 goes on
 * with try_files and the content handler, a status is answered. */
void fy_http_access_done(fy_http_request_t *r, int rc);

/* fy_http_auth_delay.c: auth_delay */
extern const fy_command_t  fy_http_auth_delay_commands[];
int  fy_http_auth_delay(fy_http_request_t *r);

/* fy_http_auth_basic.c: auth_basic, auth_basic_user_file, satisfy */
extern const fy_command_t  fy_http_auth_basic_commands[];
void fy_http_auth_basic_merge(fy_http_loc_conf_t *prev,
                              fy_http_loc_conf_t *conf);
/* conf's unset auth_basic and auth_basic_user_file from prev's (a
 * level's, a limit_except block's from its location) */
void fy_http_auth_inherit(const fy_http_auth_conf_t *prev,
                          fy_http_auth_conf_t *conf);
int  fy_http_access_phase(fy_http_request_t *r);
/* the user and password of "Authorization: Basic", decoded: FY_OK,
 * FY_DECLINED (none or malformed), FY_ERROR */
int  fy_http_auth_credentials(fy_http_request_t *r, fy_str_t *user,
                              fy_str_t *pw);
size_t fy_http_auth_basic_header(fy_http_request_t *r, int status,
                                 u_char *buf);
/* fy_http_auth_crypt.c */
ssize_t fy_http_base64_decode(const u_char *in, size_t len, u_char *out);
ssize_t fy_http_base64url_decode(const u_char *in, size_t len, u_char *out);
/* standard base64 with "=" padding; out needs (len + 2) / 3 * 4 bytes */
size_t fy_http_base64_encode(const u_char *in, size_t len, u_char *out);
int  fy_http_auth_check_password(const u_char *pw, size_t pwlen,
                                 const char *stored);
/* fy_http_limit_except.c: the allow/deny rules for r's method in lcf
 * (which has a limit_except): the block's for a method it does not
 * list, else rules. */
fy_array_t *fy_http_limit_except_rules(fy_http_request_t *r,
    fy_http_loc_conf_t *lcf, fy_array_t *rules);
/* after lcf's own access is merged: a block without rules of its own
 * takes the location's */
/* ... and whether the location's rewrite directives are skipped for
 * r's method (one the block does not list), as in nginx */
int fy_http_limit_except_skips_rewrite(fy_http_request_t *r,
                                       fy_http_loc_conf_t *lcf);
void fy_http_limit_except_merge(fy_http_loc_conf_t *prev,
    fy_http_loc_conf_t *lcf);
/* The auth_basic realm (as a challenge) and file for r: the block's
 * for a method limit_except does not list; else left as given (the
 * location's). */
void fy_http_limit_except_auth(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
    const fy_http_auth_conf_t **auth);
extern const fy_command_t  fy_http_limit_except_commands[];

/* fy_http_limit_rate.c: limit_rate, limit_rate_after */
extern const fy_command_t  fy_http_limit_rate_commands[];
void fy_http_limit_rate_merge(fy_http_loc_conf_t *prev,
    fy_http_loc_conf_t *conf);
/* the rate and what goes before it for the location chosen (a rate
 * set by "set $limit_rate" stays) */
void fy_http_limit_rate_start(fy_http_request_t *r, fy_http_loc_conf_t *lcf);
/* set $limit_rate VALUE; X-Accel-Limit-Rate from the upstream */
void fy_http_limit_rate_assign(fy_http_request_t *r, const u_char *p,
    size_t len);
void fy_http_limit_rate_header(fy_http_request_t *r, const fy_str_t *value);
/* r->limit_rate set: the bytes r may send now, or 0 and in *delay the
 * milliseconds to wait before asking again */
uint64_t fy_http_limit_rate_allow(fy_http_request_t *r, uint64_t *delay);
/* the same for cnt iovecs, cut to what may go; 0: wait *delay ms */
int fy_http_limit_rate_iov(fy_http_request_t *r, struct iovec *iov, int cnt,
    uint64_t *delay);
/* An address with a prefix (allow/deny, set_real_ip_from). */
typedef struct {
    int       family;       /* AF_INET, AF_INET6 (0: allow/deny's "all") */
    uint8_t   addr[16];     /* network part, already masked */
    uint8_t   mask[16];
} fy_http_cidr_t;
int  fy_http_cidr_parse(fy_conf_t *cf, const fy_str_t *arg,
                        fy_http_cidr_t *cidr);
const uint8_t *fy_http_cidr_addr(const struct sockaddr_in6 *sa, int *family,
                                 unsigned *n);
int  fy_http_cidr_match(const fy_http_cidr_t *cidr, int family,
                        const uint8_t *addr, unsigned n);

/* fy_http_referer.c: valid_referers and $invalid_referer */
extern const fy_command_t  fy_http_referer_commands[];
void fy_http_referer_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
size_t fy_http_referer_var(fy_http_request_t *r, u_char *buf, size_t size);
/* fy_http_userid.c: userid*, $uid_got, $uid_set, $uid_reset */
extern const fy_command_t  fy_http_userid_commands[];
void fy_http_userid_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_userid_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
void fy_http_userid_init_process(void);
int  fy_http_userid_lines(fy_http_request_t *r, fy_str_t *out);
void fy_http_userid_reset_assign(fy_http_request_t *r, const u_char *v,
                                 size_t len);
size_t fy_http_userid_got_var(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_userid_set_var(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_userid_reset_var(fy_http_request_t *r, u_char *buf,
                                size_t size);
size_t fy_http_cookie_value(fy_http_request_t *r, const fy_str_t *arg,
                            u_char *buf, size_t size);
/* fy_http_empty_gif.c: empty_gif */
extern const fy_command_t  fy_http_empty_gif_commands[];
void fy_http_empty_gif_handler(fy_http_request_t *r);
/* fy_http_browser.c: modern_browser, ancient_browser, $modern_browser,
 * $ancient_browser, $msie */
extern const fy_command_t  fy_http_browser_commands[];
void fy_http_browser_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
size_t fy_http_browser_modern_var(fy_http_request_t *r, u_char *buf,
                                  size_t size);
size_t fy_http_browser_ancient_var(fy_http_request_t *r, u_char *buf,
                                   size_t size);
size_t fy_http_browser_msie_var(fy_http_request_t *r, u_char *buf,
                                size_t size);
/* fy_http_secure_link.c: secure_link*, $secure_link, $secure_link_expires */
extern const fy_command_t  fy_http_secure_link_commands[];
void fy_http_secure_link_merge(fy_http_loc_conf_t *prev,
                               fy_http_loc_conf_t *conf);
size_t fy_http_secure_link_var(fy_http_request_t *r, u_char *buf, size_t size);
size_t fy_http_secure_link_expires_var(fy_http_request_t *r, u_char *buf,
                                       size_t size);

/* fy_http_realip.c: set_real_ip_from, real_ip_header, real_ip_recursive */
/* The client address X-Forwarded-For gives for a peer that is one of
 * trusted (fy_http_cidr_t): its last element, or with recursive the
 * last one not trusted.  FY_OK with *sa, or FY_DECLINED (no field, or
 * its last element is no address). */
int  fy_http_realip_forwarded(fy_http_request_t *r, const fy_array_t *trusted,
                              int recursive, struct sockaddr_in6 *sa);
extern const fy_command_t  fy_http_realip_commands[];
/* Shared with stream's realip: set_real_ip_from's argument (cf->args[1],
 * "unix:" or an address or CIDR) added to *from (made when NULL); 1 if
 * an address (family and bytes, fy_http_cidr_addr; AF_UNIX with none)
 * is one of from; an address text ("1.2.3.4", "1.2.3.4:80", "::1",
 * "[::1]:80") into *sa, port 0 when none: FY_OK or FY_DECLINED. */
const char *fy_http_realip_from_add(fy_conf_t *cf, fy_array_t **from);
int  fy_http_realip_trusted(const fy_array_t *from, int family,
                            const uint8_t *addr, unsigned n);
int  fy_http_realip_parse(const u_char *p, size_t len,
                          struct sockaddr_in6 *sa, socklen_t *salen);
void fy_http_realip_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* Replace the client address by the header's of a trusted peer, with
 * lcf's settings, once per request (later calls do nothing once it is
 * done); restored when the request ends. */
void fy_http_realip(fy_http_request_t *r, fy_http_loc_conf_t *lcf);
size_t fy_http_realip_var_addr(fy_http_request_t *r, u_char *buf,
                               size_t size);
size_t fy_http_realip_var_port(fy_http_request_t *r, u_char *buf,
                               size_t size);
size_t fy_http_static_var_filename(fy_http_request_t *r, u_char *buf,
                                   size_t size);
const fy_str_t *fy_http_static_uri_type(fy_http_request_t *r);
size_t fy_http_static_var_root(fy_http_request_t *r, u_char *buf,
                               size_t size);

/* fy_http_limit_zone.c, fy_http_limit_req.c, fy_http_limit_conn.c:
 * limit_req_zone, limit_req, limit_conn_zone, limit_conn and their
 * _status, _log_level, _dry_run */
extern const fy_command_t  fy_http_limit_req_commands[];
extern const fy_command_t  fy_http_limit_conn_commands[];
void fy_http_limit_init_conf(fy_http_loc_conf_t *lcf);
void fy_http_limit_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);
/* End of the http block: FY_CONF_OK, or an error for a zone used and
 * never defined (at the line of its first use). */
const char *fy_http_limit_http_done(fy_conf_t *cf, fy_http_main_conf_t *hmcf);
/* Master, before forking a cycle's workers: map its zones, keeping the
 * state of those unchanged since the previous cycle.  FY_OK or
 * FY_ERROR (logged; nothing changed). */
int  fy_http_limit_zones_map(fy_cycle_t *cycle);
/* fy_http_limit_stats.c, a worker starting: the zones of its cycle are
 * the ones its status page shows. */
void fy_http_limit_init_process(fy_cycle_t *cycle);
/* The pre-access phase: FY_OK (go on), FY_AGAIN (limit_req delays the
 * request; fy_http_run_access runs later) or a status to answer. */
int  fy_http_limit_req(fy_http_request_t *r);
int  fy_http_limit_conn(fy_http_request_t *r);
/* A worker exiting at once: give back every count it holds. */
void fy_http_limit_conn_release_all(void);
/* Master: a worker process pid has exited; give back the limit_conn
 * counts it still held (it was killed, or crashed). */
void fy_http_limit_reap(pid_t pid);
/* fy_http_cache_conf.c: proxy_cache_path & co. (fy_http_cache.h) */
extern const fy_command_t  fy_http_cache_commands[];
void fy_http_cache_init_conf(fy_http_cache_conf_t *cc);
void fy_http_cache_merge(fy_http_cache_conf_t *prev, fy_http_cache_conf_t *conf);
/* A *_cache without its *_cache_key (prefix "fastcgi" ...): logged
 * with the file and line of the *_cache line, FY_ERROR. */
int fy_http_cache_check(fy_http_cache_conf_t *cc, const char *prefix);
size_t fy_http_cache_var_status(fy_http_request_t *r, u_char *buf,
                                size_t size);
/* fy_http_cache.c: master, before the zones are mapped (load 0): make
 * each cache path's directory (FY_OK, or FY_ERROR logged); after
 * (load 1): index the files a fresh zone finds on disk (FY_OK) */
int fy_http_cache_paths_init(fy_cycle_t *cycle, int load);
/* fy_http_cache_bg.c: proxy_cache_background_update, from
 * fy_http_finalize when r->cache_bg: the answer (the expired entry) is
 * sent, the upstream is asked for the new one now */
void fy_http_cache_bg_start(fy_http_request_t *r);
/* fy_http_slice.c: $slice_range (made on its first use in a location
 * with slice, as nginx makes its context); from fy_http_finalize when
 * r->slice: FY_AGAIN when the next slice goes on (the request is not
 * over), FY_DECLINED when the response is complete */
size_t fy_http_slice_var_range(fy_http_request_t *r, u_char *buf,
                               size_t size);
int fy_http_slice_next(fy_http_request_t *r, int close_connection);
/* an answer's Content-Range "bytes START-LAST/TOTAL" (v NULL: none):
 * FY_OK (START <= LAST < TOTAL), FY_DECLINED without a total (a "*"),
 * FY_ERROR */
int fy_http_slice_parse(const fy_str_t *v, uint64_t *start, uint64_t *last,
                        uint64_t *total);
size_t fy_http_limit_var_req_status(fy_http_request_t *r, u_char *buf,
                                    size_t size);
size_t fy_http_limit_var_conn_status(fy_http_request_t *r, u_char *buf,
                                     size_t size);
/* fy_http_request_route.c: the request after its pre-access limits:
 * limit_conn, allow/deny, try_files, the content handler or proxy. */
void fy_http_run_access(fy_http_request_t *r);

/* What a connection is doing, as stub_status counts it (r->stat). */
#define FY_HTTP_STAT_NONE     0   /* no request: "Waiting" */
#define FY_HTTP_STAT_READING  1   /* reading the request header */
#define FY_HTTP_STAT_WRITING  2   /* serving the request */

#endif /* FY_HTTP_H */
