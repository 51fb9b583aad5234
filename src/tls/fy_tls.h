/*
 * fy_tls.h -- TLS with OpenSSL: server contexts built from the ssl_*
 * directives, shared session-ticket keys, the non-blocking handshake
 * and the connection I/O wrappers every reader and writer goes through.
 *
 * fy_conn_recv / fy_conn_send / fy_conn_writev are recv/send/writev on
 * a plain connection and SSL_read/SSL_write on one with c->ssl.  Both
 * return bytes moved, 0 at end of stream (recv only), FY_AGAIN with
 * the `ready` flag of the direction that must wait cleared, or
 * FY_ERROR (errno set; EPROTO for a TLS failure, already logged).
 *
 * A TLS read fills the buffer until it is full or the socket has no
 * whole record left, so "fewer bytes than asked" means the socket is
 * drained, as for recv(): with edge-triggered epoll no decrypted byte
 * may be left waiting in OpenSSL's buffer unnoticed.  fy_conn_recv
 * therefore clears c->read.ready after a short read (unless the peer's
 * FIN came with it, c->read.eof), as nginx's recv does: whoever checks
 * `ready` before reading saves the recv() that would only say EAGAIN.
 */
#ifndef FY_TLS_H
#define FY_TLS_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_array.h"
#include "fy_event.h"
#include "fy_conf_file.h"
#include <sys/uio.h>

/* ssl_protocols bits */
#define FY_TLS_V1    0x01
#define FY_TLS_V1_1  0x02
#define FY_TLS_V1_2  0x04
#define FY_TLS_V1_3  0x08

/* ssl_session_cache: bits of fy_tls_conf_t.cache */
#define FY_TLS_CACHE_OFF      0x01
#define FY_TLS_CACHE_NONE     0x02
#define FY_TLS_CACHE_BUILTIN  0x04
#define FY_TLS_CACHE_SHARED   0x08

/* ssl_verify_client */
enum {
    FY_TLS_VERIFY_OFF = 0,
    FY_TLS_VERIFY_ON,
    FY_TLS_VERIFY_OPTIONAL,
    FY_TLS_VERIFY_OPTIONAL_NO_CA
};

/* ssl_ocsp */
enum {
    FY_TLS_OCSP_OFF = 0,
    FY_TLS_OCSP_ON,             /* the chain, but its root */
    FY_TLS_OCSP_LEAF            /* the client's own certificate only */
};

/* Where a directive was given, for messages about its value. */
typedef struct {
    const char  *file;
    unsigned     line;
} fy_tls_where_t;

/* ssl_certificate and ssl_certificate_key with variables: how http
 * and stream compile such a value (NULL after logging the
 * configuration error) and evaluate it for connection c during its
 * handshake (the value's length; at most size bytes of it in buf; a
 * length of size or more means the value did not fit). */
typedef struct {
    void    *(*compile)(fy_conf_t *cf, const fy_str_t *text);
    size_t   (*eval)(fy_conn_t *c, const void *cv, u_char *buf,
                     size_t size);
} fy_tls_values_t;

/* ssl_certificate_cache (fy_tls_certcache.c) and what it keeps: a
 * certificate (X509 *) with its chain (STACK_OF(X509) *), or a key
 * (EVP_PKEY *). */
typedef struct fy_tls_certcache_s  fy_tls_certcache_t;
typedef struct {
    void  *cert;
    void  *chain;
    void  *key;
} fy_tls_certobj_t;

/* Per server (and at http level, inherited by servers). */
typedef struct {
    fy_array_t   certs;           /* char *, absolute paths (with
                                     variables: the text as written) */
    fy_array_t   keys;            /* char *, absolute paths (idem) */
    /* with variables (fy_tls_certvar.c): one compiled value per entry
     * of certs and keys (NULL: a file name without variables); both
     * NULL when no name has variables, and then the files are loaded
     * once, into the context */
    fy_array_t             *cert_values;
    fy_array_t             *key_values;
    const fy_tls_values_t  *values;
    const char             *conf_dir;     /* relative names are its */
    fy_tls_certcache_t     *cert_cache;   /* NULL: off */
    int                     cert_cache_set;
    const char  *file;            /* where the first certificate was */
    unsigned     line;            /* given, for messages */
    unsigned     protocols;       /* FY_TLS_*, 0: unset */
    char        *ciphers;         /* NULL: unset */
    int          prefer_server_ciphers;   /* -1: unset */
    int          session_tickets;         /* -1: unset */
    int64_t      session_timeout;         /* ms, -1: unset */
    void        *ctx;             /* SSL_CTX *, once built */

    /* session cache, curves, client certificates, rejection
     * (fy_tls_srv.c) */
    unsigned        cache;                /* FY_TLS_CACHE_*, 0: unset */
    int             cache_builtin;        /* builtin:N sessions */
    char           *cache_name;           /* shared:NAME:SIZE */
    size_t          cache_size;
    fy_tls_where_t  cache_where;
    char           *ecdh_curve;           /* NULL: unset */
    fy_tls_where_t  ecdh_where;
    int             verify;               /* FY_TLS_VERIFY_*, -1: unset */
    fy_tls_where_t  verify_where;
    int             verify_depth;         /* -1: unset */
    char           *client_cert;          /* ssl_client_certificate */
    fy_tls_where_t  client_cert_where;
    char           *trusted_cert;         /* ssl_trusted_certificate */
    fy_tls_where_t  trusted_where;
    int             reject_handshake;     /* -1: unset */

    /* files and options loaded into the context beyond the
     * certificates (fy_tls_load.c) */
    char           *dhparam;              /* ssl_dhparam */
    fy_tls_where_t  dhparam_where;
    char           *crl;                  /* ssl_crl */
    fy_tls_where_t  crl_where;
    fy_array_t     *passwords;            /* fy_str_t, ssl_password_file;
                                             NULL: unset */
    fy_tls_where_t  passwords_where;
    size_t          buffer_size;          /* ssl_buffer_size */
    int             stapling;             /* -1: unset */
    fy_tls_where_t  stapling_where;
    int             stapling_verify;      /* -1: unset */
    char           *stapling_file;        /* DER OCSP response */
    fy_tls_where_t  stapling_file_where;
    char           *stapling_responder;   /* http://... or NULL: the
                                             certificate's AIA */
    fy_tls_where_t  stapling_responder_where;
    /* client certificates checked with OCSP (fy_tls_ocsp_client.c) */
    int             ocsp;                 /* FY_TLS_OCSP_*, -1: unset */
    fy_tls_where_t  ocsp_where;
    char           *ocsp_responder;       /* http://... or NULL: the
                                             certificate's AIA */
    fy_tls_where_t  ocsp_responder_where;
    int             ocsp_cache;           /* 1: a zone, 0: off, -1:
                                             unset */
    char           *ocsp_cache_name;
    size_t          ocsp_cache_size;
    fy_tls_where_t  ocsp_cache_where;
    /* the server's resolver and resolver_timeout, for the OCSP
     * responders' names (set by http and stream before the context is
     * built; not directives of their own) */
    struct fy_resolver_s  *resolver;      /* NULL: none */
    int64_t                resolver_timeout;
    int             early_data;           /* -1: unset */
    fy_array_t     *conf_commands;        /* fy_tls_conf_cmd_t, NULL:
                                             unset */
} fy_tls_conf_t;

/* One ssl_conf_command: an OpenSSL SSL_CONF_cmd name and value. */
typedef struct {
    char            *name;
    char            *value;
    fy_tls_where_t   where;
} fy_tls_conf_cmd_t;

/* One session-ticket key: 16 bytes of name, then the HMAC and AES
 * keys (32 bytes each for an 80-byte file, 16 for a 48-byte one). */
typedef struct {
    u_char    name[16];
    u_char    hmac_key[32];
    u_char    aes_key[32];
    unsigned  size;               /* 16 or 32 */
} fy_tls_ticket_key_t;

/* The keys of one cycle; the first one encrypts new tickets. */
typedef struct {
    fy_array_t   files;           /* char *, ssl_session_ticket_key */
    fy_array_t   keys;            /* fy_tls_ticket_key_t */
} fy_tls_tickets_t;

void fy_tls_conf_init(fy_pool_t *pool, fy_tls_conf_t *conf);
void fy_tls_tickets_init(fy_pool_t *pool, fy_tls_tickets_t *t);
/* Unset values of conf take prev's, then the defaults. */
void fy_tls_conf_merge(const fy_tls_conf_t *prev, fy_tls_conf_t *conf);
/* Read the ssl_session_ticket_key files, or use the key this master
 * made once (the same in every worker and across reloads).  FY_OK or
 * FY_ERROR (logged). */
int  fy_tls_tickets_load(fy_tls_tickets_t *t);
/* Build conf->ctx: certificates and keys loaded and checked to match,
 * protocols, ciphers, tickets, ALPN.  `what` names the server in
 * messages.  The context is freed with pool.  FY_OK or FY_ERROR. */
int  fy_tls_ctx_create(fy_pool_t *pool, fy_tls_conf_t *conf,
                       fy_tls_tickets_t *tickets, const char *what);
/* Limit ctx (SSL_CTX *) to the FY_TLS_* protocols p; 1 on success.
 * Also used for upstream contexts (fy_tls_upstream.c). */
int  fy_tls_set_protocols(void *ctx, unsigned p);
/* The newest OpenSSL error as text ("" if none); empties the queue. */
const char *fy_tls_error(void);

/* fy_tls_srv.c: the server options above.  Init and merge are
 * called by fy_tls_conf_init/merge; fy_tls_ctx_srv by
 * fy_tls_ctx_create on the context it builds (FY_OK or FY_ERROR,
 * logged with the directive's file and line). */
void fy_tls_conf_init_srv(fy_tls_conf_t *conf);
void fy_tls_conf_merge_srv(const fy_tls_conf_t *prev, fy_tls_conf_t *conf);
int  fy_tls_ctx_srv(fy_pool_t *pool, fy_tls_conf_t *conf, void *ctx,
                    const char *what);
/* ssl_verify_client optional_no_ca lets these verification results
 * pass (the issuer is unknown). */
int  fy_tls_verify_error_optional(long rc);

/* fy_tls_cert.c: the client certificate of connection c.  The
 * verdict of ssl_verify_client `mode` (FY_TLS_VERIFY_*) on it: a
 * failed verification, or no certificate where "on" requires one, is
 * logged at info with `who` ("client: ..., server: ...") and returned
 * for the caller to refuse the client (http's 400, stream's close). */
enum {
    FY_TLS_CLIENT_OK,
    FY_TLS_CLIENT_FAILED,       /* verification failed */
    FY_TLS_CLIENT_NONE          /* no certificate, one required */
};
int  fy_tls_verify_client(fy_conn_t *c, int mode, const char *who);
/* fy_tls_ocsp_client.c: ssl_ocsp.  fy_tls_ocsp_client_init, when
 * the configuration is read, hangs what the checks need on ctx
 * (SSL_CTX *): the responder of ssl_ocsp_responder (resolved now) and
 * the cache zone; FY_OK or FY_ERROR (logged at emerg with file and
 * line).  fy_tls_ocsp_validate, once c's handshake is done: FY_OK when
 * there is nothing to wait for (no ssl_ocsp on the context, no client
 * certificate or one that failed verification, every status known
 * from the cache), FY_AGAIN while the responder is asked: `done(c)` is
 * called when the result is known, unless c is closed first (the
 * fetch then stops).  `who` names the client in messages.
 * fy_tls_ocsp_result: NULL when c's certificate passed (or was not
 * checked), else nginx's reason: "certificate revoked", "certificate
 * status unknown", "certificate status request failed". */
int  fy_tls_ocsp_client_init(fy_pool_t *pool, void *ctx,
                             fy_tls_conf_t *conf);
int  fy_tls_ocsp_validate(fy_conn_t *c, void (*done)(fy_conn_t *c),
                          const char *who);
const char *fy_tls_ocsp_result(fy_conn_t *c);
/* The $ssl_client_* value `what` of c into buf (at most size bytes;
 * buf NULL: none) and its whole length; 0 for a plain connection or
 * one without a client certificate ($ssl_client_verify: "NONE"). */
enum {
    FY_TLS_CERT_VERIFY,         /* SUCCESS, FAILED:reason, NONE */
    FY_TLS_CERT_S_DN,           /* subject, RFC 2253 */
    FY_TLS_CERT_I_DN,           /* issuer, RFC 2253 */
    FY_TLS_CERT_SERIAL,         /* hex */
    FY_TLS_CERT_FINGERPRINT,    /* SHA-1, hex */
    FY_TLS_CERT_RAW,            /* PEM */
    FY_TLS_CERT_CERT,           /* PEM, a tab after each inner newline */
    FY_TLS_CERT_ESCAPED,        /* PEM, URI-component escaped */
    FY_TLS_CERT_S_DN_LEGACY,    /* subject, "/C=../CN=.." */
    FY_TLS_CERT_I_DN_LEGACY,    /* issuer, the same */
    FY_TLS_CERT_V_START,        /* notBefore, "Nov 26 10:00:00 2026 GMT" */
    FY_TLS_CERT_V_END,          /* notAfter, the same */
    FY_TLS_CERT_V_REMAIN        /* whole days left, 0 when expired */
};
size_t fy_tls_cert_var(fy_conn_t *c, unsigned what, u_char *buf,
                       size_t size);

/* fy_tls_certvar.c: ssl_certificate with variables.  On a context
 * whose conf has cert_values or key_values, instead of loading the
 * files: a certificate callback that, at each handshake (after the
 * ClientHello callbacks moved the connection to the server its SNI
 * names), evaluates the names and loads those files (or "data:" PEM
 * text) into the connection; one that cannot be loaded fails the
 * handshake, logged at error.  FY_OK or FY_ERROR. */
int  fy_tls_certvar_init(void *ctx, fy_tls_conf_t *conf, const char *what);
/* The certificate (with the chain after it) or the key (type
 * FY_TLS_CERTCACHE_*) of name, a file or "data:" PEM text, into obj (a
 * key opened with each of passwords in turn, NULL: none, never a
 * prompt): 1, or 0 with the OpenSSL error queued and obj empty.  Also
 * for "data:" names without variables, at load (fy_tls.c). */
int  fy_tls_pem_read(const char *name, int type, fy_array_t *passwords,
                     fy_tls_certobj_t *obj);

/* fy_tls_certcache.c: a worker's ssl_certificate_cache.  _create
 * (when the configuration is read; emptied with pool): max entries,
 * inactive and valid in ms; NULL when out of memory.  _find: the
 * entry of type (FY_TLS_CERTCACHE_*) and name, or NULL (none, or its
 * file changed once it was `valid` no more).  _add: obj's objects now
 * the cache's (obj emptied), the entry returned (NULL: out of memory,
 * obj left as it was).  fy_tls_certobj_free frees what obj holds. */
enum {
    FY_TLS_CERTCACHE_CERT,
    FY_TLS_CERTCACHE_KEY
};
fy_tls_certcache_t *fy_tls_certcache_create(fy_pool_t *pool, unsigned max,
                                            int64_t inactive, int64_t valid);
const fy_tls_certobj_t *fy_tls_certcache_find(fy_tls_certcache_t *cache,
                                              int type, const char *name);
const fy_tls_certobj_t *fy_tls_certcache_add(fy_tls_certcache_t *cache,
                                             int type, const char *name,
                                             fy_tls_certobj_t *obj);
void fy_tls_certobj_free(fy_tls_certobj_t *obj);

/* fy_tls_load.c: the files of ssl_dhparam, ssl_crl,
 * ssl_password_file, ssl_stapling_file and the ssl_conf_command
 * list.  Each returns FY_OK or FY_ERROR (logged at emerg with the
 * directive's file and line). */
/* Read a passphrase file into an array of fy_str_t (one per line,
 * nginx's way); NULL with *err set on failure. */
fy_array_t *fy_tls_read_passwords(fy_pool_t *pool, const char *path,
                                  const char **err);
/* Load key (PEM) into ctx (SSL_CTX *), trying each passphrase of
 * passwords in turn (NULL: none; an encrypted key then fails, never
 * prompts).  1 on success, 0 with the OpenSSL error queued. */
int  fy_tls_use_key(void *ctx, const char *key, fy_array_t *passwords);
/* OpenSSL's passphrase callback: data is the fy_str_t tried now, or
 * NULL (none: an encrypted key then fails, never prompts). */
int  fy_tls_password_cb(char *buf, int size, int rwflag, void *data);
/* Never ask a terminal for a passphrase: ctx's callback gives none. */
void fy_tls_no_prompt(void *ctx);
int  fy_tls_load_dhparam(void *ctx, const char *path,
                         const fy_tls_where_t *where);
/* Add the CRLs of path to ctx's trust store and check every
 * certificate of a chain against them (nginx's flags); `what` names
 * the directive in messages. */
int  fy_tls_load_crl(void *ctx, const char *path, const char *what,
                     const fy_tls_where_t *where);
/* ssl_stapling on a server context: the response of ssl_stapling_file,
 * else fy_tls_ocsp_init's fetched ones. */
int  fy_tls_load_stapling(fy_pool_t *pool, void *ctx, fy_tls_conf_t *conf);
/* fy_tls_ocsp.c: stapling of responses fetched from the OCSP
 * responder (ssl_stapling on without a file).  fy_tls_ocsp_name
 * remembers that the certificate ctx (SSL_CTX *) has just loaded came
 * from path (for messages); fy_tls_ocsp_init, once ssl_trusted_
 * certificate is in ctx's store, prepares each certificate's request
 * (a certificate without issuer or responder is left unstapled with a
 * warning) and sets the status callback that staples the response the
 * worker holds and starts its fetch.  FY_OK or FY_ERROR (logged). */
void fy_tls_ocsp_name(void *ctx, const char *path);
int  fy_tls_ocsp_init(fy_pool_t *pool, void *ctx, fy_tls_conf_t *conf);
/* fy_tls_ocsp_fetch.c (shared by stapling and ssl_ocsp, see also
 * fy_tls_ocsp.h): the parts of an OCSP responder URL,
 * "http://host[:port][/path]"
 * (host may be an [IPv6] address): NULL, or why it cannot be used
 * ("invalid URL prefix", "invalid host", "invalid port", "no host"). */
typedef struct {
    char         host[256];       /* without brackets */
    unsigned     port;            /* 80 if none */
    const char  *path;            /* into the URL; "/" if none */
    const char  *hostport;        /* host[:port] as written, for Host: */
    size_t       hostport_len;
} fy_tls_ocsp_url_t;
const char *fy_tls_ocsp_url_parse(const char *url, fy_tls_ocsp_url_t *u);
/* The responder's answer read so far (len bytes of buf; eof: it has
 * closed the connection): FY_AGAIN, more is needed; FY_OK, a 200 with
 * its body at *body, *body_len bytes (Content-Length, or up to the
 * close); FY_ERROR, err says why in nginx's words ("OCSP responder
 * sent status 500" ...).  buf is not changed, so it may be called
 * again as more arrives. */
int  fy_tls_ocsp_http_parse(const u_char *buf, size_t len, int eof,
                            const u_char **body, size_t *body_len,
                            char *err, size_t err_size);
/* ssl_conf_command (client 0) and proxy_ssl_conf_command (client 1):
 * SSL_CONF_cmd on ctx, in order; an error is logged at emerg with the
 * command's file and line. */
int  fy_tls_conf_commands(void *ctx, fy_array_t *cmds, int client);

/* fy_tls_conf.c: setters shared by http's and stream's ssl_* rows;
 * the row's offset is that of the fy_tls_conf_t in the conf the row
 * receives (of a fy_tls_tickets_t for the ticket key, of the unsigned
 * FY_TLS_* bits for the protocols, of a fy_tls_up_arg_t for
 * fy_tls_conf_set_up_arg, whose row's post is non-NULL for a path). */
const char *fy_tls_conf_set_file(fy_conf_t *cf, const fy_command_t *cmd,
                                 void *conf);
/* ssl_certificate_cache off | max=N [inactive=TIME] [valid=TIME]: the
 * row's offset is the fy_tls_conf_t's */
const char *fy_tls_conf_set_cert_cache(fy_conf_t *cf,
                                       const fy_command_t *cmd, void *conf);
const char *fy_tls_conf_set_protocols(fy_conf_t *cf, const fy_command_t *cmd,
                                      void *conf);
const char *fy_tls_conf_set_up_arg(fy_conf_t *cf, const fy_command_t *cmd,
                                   void *conf);
const char *fy_tls_conf_set_up_command(fy_conf_t *cf,
                                       const fy_command_t *cmd, void *conf);
/* proxy_ssl_password_file: the row's offset is a fy_array_t * (the
 * passphrases, fy_tls_read_passwords). */
const char *fy_tls_conf_set_up_passwords(fy_conf_t *cf,
                                         const fy_command_t *cmd, void *conf);
const char *fy_tls_conf_set_ciphers(fy_conf_t *cf, const fy_command_t *cmd,
                                    void *conf);
const char *fy_tls_conf_set_ticket_key(fy_conf_t *cf,
                                       const fy_command_t *cmd, void *conf);
const char *fy_tls_conf_set_session_cache(fy_conf_t *cf,
                                          const fy_command_t *cmd,
                                          void *conf);
/* ssl_client_certificate, ssl_trusted_certificate, ssl_crl,
 * ssl_dhparam ... (a path) and ssl_ecdh_curve: the row's offset is the
 * char * field's, followed by its fy_tls_where_t. */
const char *fy_tls_conf_set_where_str(fy_conf_t *cf, const fy_command_t *cmd,
                                      void *conf);
/* ssl_verify_client and ssl_ocsp: offset of tls.verify or tls.ocsp,
 * post fy_tls_verify_modes or fy_tls_ocsp_modes */
const char *fy_tls_conf_set_mode(fy_conf_t *cf, const fy_command_t *cmd,
                                 void *conf);
/* ssl_password_file (read at once) and ssl_conf_command: offset of
 * the fy_tls_conf_t */
const char *fy_tls_conf_set_password_file(fy_conf_t *cf,
                                          const fy_command_t *cmd,
                                          void *conf);
const char *fy_tls_conf_set_conf_command(fy_conf_t *cf,
                                         const fy_command_t *cmd, void *conf);
/* ssl_stapling (the flag and where it was given) on the fy_tls_conf_t
 * at cmd->offset; ssl_stapling_responder and ssl_ocsp_responder
 * (http:// only) on the char * at cmd->offset, its fy_tls_where_t
 * after it; ssl_ocsp_cache on the fy_tls_conf_t at cmd->offset */
const char *fy_tls_conf_set_stapling(fy_conf_t *cf, const fy_command_t *cmd,
                                     void *conf);
const char *fy_tls_conf_set_responder(fy_conf_t *cf,
                                      const fy_command_t *cmd, void *conf);
const char *fy_tls_conf_set_ocsp_cache(fy_conf_t *cf,
                                       const fy_command_t *cmd, void *conf);
extern const fy_conf_enum_t    fy_tls_ocsp_modes[];
extern const fy_conf_enum_t    fy_tls_verify_modes[];
/* ssl_verify_depth's range (fy_conf_set_int) */
extern const fy_conf_bounds_t  fy_tls_depth_bounds;
/* Where the directive being read is, for later messages. */
void fy_tls_conf_where(fy_conf_t *cf, fy_tls_where_t *w);
/* FY_ERROR (logged, with both places) when t and o name one shared
 * session cache, or one OCSP cache, with two sizes, else FY_OK. */
int  fy_tls_conf_cache_conflict(const fy_tls_conf_t *t,
                                const fy_tls_conf_t *o);

/* fy_tls_sni.c, in a ClientHello callback: the server name the
 * client sent (SNI), lowercased without a final dot, into buf (size
 * bytes) and *host: FY_OK, or FY_DECLINED (none, or too long); the
 * connection moved to conf's context (certificates, options, ciphers,
 * client verification), if not there already. */
int  fy_tls_sni_name(void *ssl, u_char *buf, size_t size, fy_str_t *host);
/* The same for a name read elsewhere (ssl_preread's ClientHello) */
int  fy_tls_sni_host(const u_char *name, size_t len, u_char *buf,
                     size_t size, fy_str_t *host);
void fy_tls_sni_switch(void *ssl, const fy_tls_conf_t *conf);

/* Start TLS on an accepted connection with ctx (SSL_CTX *); the
 * handshake's app data is c.  FY_OK or FY_ERROR. */
int  fy_tls_conn_create(fy_conn_t *c, void *ctx);
/* One step of the server handshake: FY_OK (done), FY_AGAIN (ready
 * flags say which way), FY_ERROR (logged at info with `who`). */
int  fy_tls_handshake(fy_conn_t *c, const char *who);
/* The TLS values of connection c that http's and stream's $ssl_*
 * variables give: a static or OpenSSL-owned text, NULL for none (a
 * plain connection: empty; before the handshake ended, unless its
 * early data was accepted, all but the server name, known from the
 * ClientHello on, and $ssl_early_data). */
enum {
    FY_TLS_VAR_PROTOCOL,        /* $ssl_protocol: "TLSv1.3" */
    FY_TLS_VAR_CIPHER,          /* $ssl_cipher: OpenSSL's name */
    FY_TLS_VAR_SERVER_NAME,     /* $ssl_server_name: the SNI name */
    FY_TLS_VAR_SESSION_REUSED,  /* $ssl_session_reused: "r" or "." */
    FY_TLS_VAR_EARLY_DATA       /* $ssl_early_data: "1" while the
                                   handshake has not ended */
};
const char *fy_tls_var(fy_conn_t *c, unsigned what);
/* fy_tls_early.c: TLS 1.3 early data (ssl_early_data on).
 * fy_tls_early_ctx sets ctx (SSL_CTX *) up for it when conf has it on
 * (FY_OK, or FY_ERROR logged at emerg); the first such context maps
 * the table of tickets used for early data, shared by the workers.
 * fy_tls_early_handshake is fy_tls_handshake's step while
 * c->tls_early_hs: FY_OK (early data came: HTTP may start),
 * FY_DECLINED (none or rejected: go on with SSL_do_handshake),
 * FY_ERROR (SSL_get_error(ssl, 0) says why).  fy_tls_early_read is
 * SSL_read_ex while c->tls_early (1: *n bytes read, 0: failed, see
 * SSL_get_error; 2: the early data has ended, read with SSL_read from
 * now on).  fy_tls_agreed: the handshake has ended, or has chosen
 * everything and accepted early data (the session's values are
 * known). */
int  fy_tls_early_ctx(void *ctx, const fy_tls_conf_t *conf,
                      const char *what);
int  fy_tls_early_handshake(fy_conn_t *c);
int  fy_tls_early_read(fy_conn_t *c, u_char *buf, size_t size, size_t *n);
int  fy_tls_agreed(fy_conn_t *c);
/* fy_tls_info.c: the $ssl_* value `what` of c that is made into buf
 * (at most size bytes; buf NULL: none) and its whole length; 0 for a
 * plain connection or before the handshake ended. */
enum {
    FY_TLS_INFO_CIPHERS,        /* the client's, ":" between */
    FY_TLS_INFO_CURVE,          /* the group agreed: "X25519" */
    FY_TLS_INFO_CURVES,         /* the client's groups, ":" between */
    FY_TLS_INFO_SESSION_ID,     /* hex */
    FY_TLS_INFO_ALPN            /* the protocol ALPN agreed: "http/1.1" */
};
size_t fy_tls_info_var(fy_conn_t *c, unsigned what, u_char *buf,
                       size_t size);
/* A half-close passed on to c: close_notify first on a TLS connection
 * (one try, as fy_tls_conn_free), then shutdown(SHUT_WR).  FY_OK or
 * FY_ERROR (errno). */
int  fy_conn_shutdown_write(fy_conn_t *c);
/* Send close_notify if possible and free the TLS state. */
void fy_tls_conn_free(fy_conn_t *c);

ssize_t fy_conn_recv(fy_conn_t *c, u_char *buf, size_t size);
ssize_t fy_conn_send(fy_conn_t *c, const u_char *buf, size_t size);
/* Look at the next bytes without taking them (a client gone?) */
ssize_t fy_conn_peek(fy_conn_t *c, u_char *buf, size_t size);
ssize_t fy_conn_writev(fy_conn_t *c, const struct iovec *iov, int cnt);
/* The largest TLS record fy_conn_send makes by default (and the
 * default of ssl_buffer_size): OpenSSL's maximum. */
#define FY_TLS_BUFFER   16384

/* The most a plain fy_conn_writev copies together to send() it in one
 * piece; larger writes are a writev(). */
#define FY_CONN_GATHER  8192

#endif /* FY_TLS_H */
