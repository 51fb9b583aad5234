/*
 * fy_tls_ocsp.h -- what the two users of an OCSP responder share:
 * stapling (fy_tls_ocsp.c, ssl_stapling) and the validation of client
 * certificates (fy_tls_ocsp_client.c, ssl_ocsp).  Both ask the
 * responder with one fetch (fy_tls_ocsp_fetch.c) and check its answer
 * the same way (fy_tls_ocsp_verify).
 *
 * A fetch is one POST over HTTP/1.0 on the worker's event loop, 60 s at
 * most; nothing waits for it but its owner.  A responder named by a
 * host name is asked of the server's "resolver" first, at each fetch
 * (fy_resolver.c: on the loop too, its answers cached per worker), as
 * nginx does; without one, the address found when the configuration
 * was read is used, with nginx's warning "no resolver defined to
 * resolve NAME" (an error, and no fetch, where there is none: a name
 * in a client's certificate).  Its owner fills the responder, the
 * request and the handler, then starts it; the handler is
 * called once, with the response's body, or with NULL after a failure
 * that is already logged (at "error", nginx's words: "... while
 * requesting certificate status, responder: R, peer: P" and the
 * owner's tail).  The fetch has let go of its connection and buffer
 * before it calls the handler, so the handler may start it again or
 * free it.
 */
#ifndef FY_TLS_OCSP_H
#define FY_TLS_OCSP_H

#include "fy_core.h"
#include "fy_tls.h"
#include "fy_cycle.h"
#include "fy_resolver.h"

#include <openssl/ocsp.h>
#include <openssl/x509.h>

#define FY_OCSP_TIMEOUT    60000      /* ms for a whole fetch (nginx) */
#define FY_OCSP_MAX        16384      /* the largest response read */
#define FY_OCSP_RETRY      300        /* s: the clock skew allowed in
                                         thisUpdate/nextUpdate (and
                                         stapling's retry delay) */

typedef struct fy_tls_fetch_s  fy_tls_fetch_t;

/* body NULL: the fetch failed (logged) */
typedef void (*fy_tls_fetch_pt)(fy_tls_fetch_t *f, const u_char *body,
                                size_t len);

/* A responder's addresses tried in turn, as nginx does: a name's first
 * eight (getaddrinfo's, or the resolver's answer). */
#define FY_TLS_FETCH_ADDRS  8

struct fy_tls_fetch_s {
    /* the owner's (fy_tls_fetch_addr fills the first seven) */
    fy_sockaddr_t     addrs[FY_TLS_FETCH_ADDRS];
    socklen_t         addrlens[FY_TLS_FETCH_ADDRS];
    unsigned          naddrs;         /* 0: none (a name not resolved) */
    char              responder[264]; /* host[:port] as in the URL */
    char              peer[280];      /* address:port, "": none yet */
    char              host[256];      /* a host name, asked of resolver
                                         at each fetch; "": an address */
    uint16_t          port;
    fy_resolver_t    *resolver;       /* the server's; NULL: none */
    int64_t           resolver_timeout;
    const char       *tail;           /* after the messages: ",
                                         certificate: ..." */
    u_char           *req;            /* the whole HTTP request */
    size_t            req_len;
    fy_tls_fetch_pt   handler;
    void             *data;

    /* the fetch's own */
    unsigned          naddr;          /* the one tried: addrs[naddr] */
    fy_resolver_wait_t  w;            /* asking resolver for host */
    fy_conn_t        *c;
    u_char           *buf;            /* the answer read (malloc) */
    size_t            len;
    size_t            sent;
};

/* The responder of URL u into f: its host[:port], port, and address:
 * an IP address as it is; a host name kept in f->host for the
 * resolver, and found with getaddrinfo() now if `resolve` (when the
 * configuration is read: it blocks), the address used without a
 * resolver.  NULL, or why not ("invalid host", "host not found"). */
const char *fy_tls_fetch_addr(fy_tls_fetch_t *f, const fy_tls_ocsp_url_t *u,
                              int resolve);
/* The HTTP request that asks for id's status from f's responder at
 * path, into f->req (malloc; the owner frees it).  FY_OK or FY_ERROR
 * (OpenSSL's error queued). */
int  fy_tls_fetch_request(fy_tls_fetch_t *f, OCSP_CERTID *id,
                          const char *path);
/* Start the fetch (a name first asked of f->resolver): FY_OK, its
 * handler runs later, from the loop; or FY_ERROR, it could not start
 * (logged: no resolver and no address, a name that does not resolve
 * from the resolver's cache...) and its handler never runs. */
int  fy_tls_fetch_start(fy_tls_fetch_t *f);
/* Stop a fetch under way (or its wait for the resolver), without
 * calling its handler. */
void fy_tls_fetch_cancel(fy_tls_fetch_t *f);
/* Log a failure of f's request in nginx's words (see above). */
void fy_tls_fetch_error(fy_tls_fetch_t *f, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Check the responder's answer body for id: a successful OCSP response
 * whose signature checks (flags: OCSP_basic_verify's; the signer found
 * among the response's certificates and chain, trusted by store),
 * which answers for id and is current (thisUpdate/nextUpdate, 5
 * minutes of skew).  FY_OK with *status (V_OCSP_CERTSTATUS_*) and
 * *valid (nextUpdate, 0 if none), else FY_ERROR, logged on f. */
int  fy_tls_ocsp_verify(fy_tls_fetch_t *f, const u_char *body, size_t len,
                        OCSP_CERTID *id, STACK_OF(X509) *chain,
                        X509_STORE *store, unsigned long flags,
                        int *status, time_t *valid);

#endif /* FY_TLS_OCSP_H */
