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
#include "fy_http_parse.h"
#include <sys/uio.h>

typedef struct fy_http_request_s  fy_http_request_t;
typedef struct fy_http_conn_s     fy_http_conn_t;
typedef struct fy_http_proxy_s    fy_http_proxy_t;

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

/* A text with $variables, compiled once at config time into a list of
 * literal and variable parts. */
typedef struct {
    fy_str_t                    lit;     /* literal part, or ... */
    const fy_http_variable_t   *var;     /* ... a variable */
} fy_http_cv_part_t;

typedef struct {
    fy_http_cv_part_t  *parts;
    unsigned            nparts;
    unsigned            has_vars:1;
    fy_str_t            text;            /* the source text */
} fy_http_cv_t;

/* Compile text; on an unknown variable logs the config error and
 * returns NULL. */
fy_http_cv_t *fy_http_cv_compile(fy_conf_t *cf, const fy_str_t *text);
/* Evaluate into the request pool; NULL on allocation failure. */
u_char *fy_http_cv_eval(fy_http_request_t *r, const fy_http_cv_t *cv,
                        size_t *len);
const fy_http_variable_t *fy_http_variable_find(const u_char *name,
                                                size_t len);

/* ---- upstreams ---- */

typedef struct {
    fy_str_t              name;       /* as written: "127.0.0.1:8081" */
    struct sockaddr_in6   addr;
    socklen_t             addrlen;
    unsigned              shm;        /* index in fy_shm->peers */
} fy_http_upstream_peer_t;

typedef struct {
    fy_str_t     name;
    fy_array_t   peers;               /* fy_http_upstream_peer_t */
    unsigned     index;               /* slot of its shared cursor */
    unsigned     implicit:1;          /* made by proxy_pass host:port */
    unsigned     defined:1;           /* an upstream {} block exists */
    const char  *file;                /* first reference, for errors */
    unsigned     line;
} fy_http_upstream_t;

/* ---- configuration ---- */

typedef struct fy_http_loc_conf_s {
    fy_str_t             name;          /* location prefix */
    unsigned             exact:1;       /* location = /x */

    int                  return_code;   /* -1: no return */
    fy_http_cv_t        *return_text;   /* body, or URL for redirects */

    fy_http_upstream_t  *upstream;      /* proxy_pass target, NULL: none */
    fy_str_t             proxy_host;    /* Host sent upstream */
    fy_str_t             proxy_uri;     /* URI part of proxy_pass, or empty */
    unsigned             proxy_uri_set:1;

    int64_t              proxy_connect_timeout;
    int64_t              proxy_read_timeout;
    int64_t              proxy_send_timeout;
    size_t               proxy_buffer_size;
    int64_t              keepalive_timeout;
    int                  keepalive_requests;
    int64_t              send_timeout;
    size_t               client_max_body_size;
    fy_str_t             default_type;
} fy_http_loc_conf_t;

typedef struct {
    fy_array_t           addr;          /* sockaddr_in6 + len, see below */
    unsigned             default_server:1;
} fy_http_listen_opt_t;

typedef struct fy_http_srv_conf_s {
    fy_http_loc_conf_t  *loc;           /* server-level defaults */
    fy_array_t           locations;     /* fy_http_loc_conf_t *, longest first */
    fy_array_t           names;         /* fy_str_t, lowercased */
    fy_array_t           listens;       /* fy_http_listen_t */
    int64_t              client_header_timeout;
    size_t               large_header_buffer;
    const char          *file;
    unsigned             line;
} fy_http_srv_conf_t;

typedef struct {
    struct sockaddr_in6  addr;
    socklen_t            addrlen;
    unsigned             default_server:1;
    unsigned             line;
} fy_http_listen_t;

typedef struct fy_http_main_conf_s {
    fy_array_t           servers;       /* fy_http_srv_conf_t * */
    fy_array_t           upstreams;     /* fy_http_upstream_t * */
    fy_http_srv_conf_t  *srv;           /* http-level server defaults */
    fy_http_loc_conf_t  *loc;           /* http-level location defaults */
} fy_http_main_conf_t;

extern const fy_command_t  fy_http_commands[];

/* Merge levels, resolve upstream names, build cycle->listening. */
int fy_http_init_cycle(fy_cycle_t *cycle);

/* fy_http_peer.c: give every upstream server of the cycle its slot in
 * shared memory (master only, after the shared memory exists; again on
 * each reload).  FY_OK, or FY_ERROR (logged) if the table is full. */
int  fy_http_peers_register(fy_cycle_t *cycle);
/* Count one finished response time in a server's histogram. */
void fy_http_peer_response_time(unsigned peer, uint64_t ms);

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
    unsigned              seen;         /* header flags, see request.c */
    unsigned              keepalive:1;
    unsigned              host_from_target:1;  /* absolute-form */
    unsigned              header_sent:1;
    unsigned              head:1;           /* HEAD: no body in response */

    fy_http_srv_conf_t   *srv;
    fy_http_loc_conf_t   *loc;
    int                   status;           /* answered with */
    fy_http_proxy_t      *proxy;
    uint64_t              bytes_out;
};

typedef struct {
    fy_str_t   name;
    fy_str_t   value;
} fy_http_header_t;

/* fy_http_request.c */
void fy_http_init_connection(fy_conn_t *c, fy_listen_t *ls);
/* The response is done (all sent) or failed: keep alive or close. */
void fy_http_finalize(fy_http_request_t *r, int close_connection);
/* Send a complete response with a small body (errors, return). */
void fy_http_send_response(fy_http_request_t *r, int status,
                           const fy_str_t *type, const u_char *body,
                           size_t len, const fy_str_t *location);
void fy_http_send_error(fy_http_request_t *r, int status);
/* Write hc->out; FY_OK when all is written, FY_AGAIN (write handler
 * armed, out_done will be called later), FY_ERROR (connection dead). */
int  fy_http_write_out(fy_http_request_t *r);
void fy_http_close_connection(fy_http_conn_t *hc);
const char *fy_http_status_line(int status, size_t *len);
const char *fy_http_connection_header(fy_http_request_t *r);
/* Check a Host value (or the authority of an absolute-form target) and
 * set r->host to it lowercased, without port or trailing dot, in place
 * in h's bytes.  FY_OK, or FY_ERROR for an invalid host.  Uses nothing
 * of r but r->host. */
int  fy_http_validate_host(fy_http_request_t *r, fy_str_t *h);
extern unsigned fy_http_quitting;   /* worker is shutting down gracefully */
void fy_http_close_idle(void);

/* fy_http_proxy.c */
void fy_http_proxy_handler(fy_http_request_t *r);

#endif /* FY_HTTP_H */
