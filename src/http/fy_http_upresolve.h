/*
 * fy_http_upresolve.h -- what the two files of "server NAME resolve"
 * share: fy_http_upstream_resolve.c (the lines, the shared slots, A
 * and AAAA answers) and fy_http_upstream_srv.c ("service=": SRV
 * records and their targets).  Not for other modules.
 */
#ifndef FY_HTTP_UPRESOLVE_H
#define FY_HTTP_UPRESOLVE_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_resolver.h"

/* Addresses one "resolve" line may have at once; further ones of an
 * answer are left out, with a warning. */
#define FY_UPRESOLVE_MAX    16
/* ms between tries after a failure other than "no such name" */
#define FY_UPRESOLVE_RETRY  1000

/* One SRV record of a "service=" line while its target is resolved. */
typedef struct {
    struct fy_http_upresolve_s  *r;
    fy_resolver_wait_t           wait;
    uint16_t                     priority;
    uint16_t                     weight;
    uint16_t                     port;
    int                          error;
    unsigned                     naddrs;
    uint64_t                     expires;
    fy_dns_addr_t                addrs[2 * FY_DNS_MAX_ADDRS];
    char                         name[FY_DNS_NAME_MAX + 1];
} fy_upresolve_target_t;

/* An address the answer gives the line, with its weight and role. */
typedef struct {
    char                         text[FY_SOCKADDR_STRLEN];
    unsigned                     weight;
    unsigned                     backup;
} fy_upresolve_addr_t;

struct fy_http_upresolve_s {
    fy_http_upstream_t          *u;
    struct fy_http_upresolve_s  *next;
    fy_str_t                     server;     /* as written: "app:8080" */
    const u_char                *host;       /* the name in it */
    size_t                       host_len;
    uint16_t                     port;
    unsigned                     weight;     /* the line's */
    unsigned                     backup;
    /* "service=": the SRV name asked ("_http._tcp.app.test"), the
     * service as written, the records of the last answer, how many
     * targets are still being resolved, until when the SRV answer
     * is good */
    fy_str_t                     srvname;
    fy_str_t                     service;
    fy_upresolve_target_t       *targets;
    unsigned                     ntargets;
    unsigned                     pending;
    uint64_t                     srv_expires;
    unsigned                     first;      /* u->peers[first..first+n) */
    unsigned                     n;
    uint64_t                     key;        /* fy_shm_peer_t.resolve_key */
    /* two name buffers per peer, used in turn: $upstream_addr of a
     * request still running keeps the text of the address it used */
    char                        *names;
    unsigned                     overflow:1; /* the warning was logged */
    uint64_t                     generation; /* the worker's configuration */
    fy_resolver_wait_t           wait;
    fy_event_t                   timer;
};

typedef struct fy_http_upresolve_s  fy_http_upresolve_t;

/* The answer for r is the n addresses of addrs: the line's slots
 * follow it (fy_http_upstream_resolve.c). */
void fy_upresolve_write(fy_http_upresolve_t *r,
                        const fy_upresolve_addr_t *addrs, unsigned n);
/* Ask again for r's name in ms. */
void fy_upresolve_next(fy_http_upresolve_t *r, uint64_t ms);
/* A "service=" line's turn: its SRV records, then their targets; the
 * slots are written, and the next turn set, when all have answered
 * (fy_http_upstream_srv.c). */
void fy_upresolve_srv_resolve(fy_http_upresolve_t *r);

#endif /* FY_HTTP_UPRESOLVE_H */
