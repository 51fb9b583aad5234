/*
 * fy_tls_upstream.h -- TLS towards upstream servers (proxy_pass
 * https://): client contexts built from the proxy_ssl_* settings, the
 * client handshake with certificate and name verification, and the
 * sessions remembered per server for the next connection.
 *
 * The I/O itself goes through the wrappers of fy_tls.h (fy_conn_recv,
 * fy_conn_send, fy_conn_peek), which serve both ends: an upstream
 * connection is just a fy_conn_t whose c->ssl is a client SSL.
 */
#ifndef FY_TLS_UPSTREAM_H
#define FY_TLS_UPSTREAM_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_event.h"
#include "fy_array.h"

/* A directive's value (a path made absolute, or a cipher list), with
 * where it was written, for messages. */
typedef struct {
    char        *value;           /* NULL: unset */
    const char  *file;            /* configuration file */
    unsigned     line;
} fy_tls_up_arg_t;

/* The proxy_ssl_* settings of one configuration level.  Unset values
 * are -1 / 0 / NULL until merged. */
typedef struct {
    int               verify;         /* proxy_ssl_verify */
    int               verify_depth;   /* proxy_ssl_verify_depth */
    int               server_name;    /* proxy_ssl_server_name (SNI) */
    int               session_reuse;  /* proxy_ssl_session_reuse */
    unsigned          protocols;      /* FY_TLS_* bits */
    fy_tls_up_arg_t   ciphers;        /* proxy_ssl_ciphers */
    fy_tls_up_arg_t   trusted;        /* proxy_ssl_trusted_certificate */
    fy_tls_up_arg_t   cert;           /* proxy_ssl_certificate */
    fy_tls_up_arg_t   key;            /* proxy_ssl_certificate_key */
    fy_tls_up_arg_t   crl;            /* proxy_ssl_crl */
    fy_array_t       *passwords;      /* proxy_ssl_password_file:
                                         fy_str_t, NULL: unset */
    fy_array_t       *conf_commands;  /* proxy_ssl_conf_command:
                                         fy_tls_conf_cmd_t, NULL: unset */
    const char       *verify_file;    /* where "proxy_ssl_verify on" */
    unsigned          verify_line;    /* was written */
    const char       *prefix;         /* of the directives' names in
                                         messages, NULL: "proxy"
                                         ("uwsgi" for uwsgi_ssl_*) */
    void             *ctx;            /* SSL_CTX *, once built */
} fy_tls_up_conf_t;

/* The session a worker remembers for one upstream server: offered on
 * the next new connection made with the same context and name. */
typedef struct {
    void        *sess;            /* SSL_SESSION *, or NULL */
    const void  *ctx;             /* SSL_CTX it was made with */
    char        *name;            /* the name it was made for (malloc) */
} fy_tls_up_session_t;

void fy_tls_up_conf_init(fy_tls_up_conf_t *conf);
/* Unset values of conf take prev's (prev may be NULL), then nginx's
 * defaults: verify off, depth 1, no SNI, session reuse on, TLSv1.2
 * TLSv1.3, ciphers DEFAULT, no conf commands. */
void fy_tls_up_conf_merge(const fy_tls_up_conf_t *prev,
                          fy_tls_up_conf_t *conf);
/* 1 if a and b (both merged) would build the same context. */
int  fy_tls_up_conf_same(const fy_tls_up_conf_t *a,
                         const fy_tls_up_conf_t *b);
/* Build conf->ctx (freed with pool): trusted certificates, client
 * certificate and key (checked to match), protocols, ciphers,
 * verification, the session callback, then the conf commands.  Errors are logged at emerg with
 * the file and line of the directive; `what` names the user.  FY_OK or
 * FY_ERROR. */
int  fy_tls_up_ctx_create(fy_pool_t *pool, fy_tls_up_conf_t *conf,
                          const char *what);

/* Start TLS on a connected upstream socket: name is sent as SNI when
 * conf says so and is not an IP address, and is what the certificate
 * must match when verifying; slot's session is offered and new ones
 * are kept there when session reuse is on (slot may be NULL).
 * FY_OK or FY_ERROR (logged). */
int  fy_tls_up_conn_create(fy_conn_t *c, fy_tls_up_conf_t *conf,
                           const char *name, fy_tls_up_session_t *slot);
/* One step of the client handshake: FY_OK, FY_AGAIN (the ready flag of
 * the direction to wait for is cleared) or FY_ERROR with the reason in
 * err (nginx's words: "upstream SSL certificate verify error: (N:...)",
 * "upstream SSL certificate does not match \"NAME\"", ...). */
int  fy_tls_up_handshake(fy_conn_t *c, char *err, size_t size);
/* May a kept connection c carry a request that wants ctx (NULL: plain
 * TCP) and name? */
int  fy_tls_up_conn_matches(fy_conn_t *c, const void *ctx, const char *name);
/* 1 if c's handshake resumed a session. */
int  fy_tls_up_session_reused(fy_conn_t *c);

#endif /* FY_TLS_UPSTREAM_H */
