/*
 * fy_resolver.h -- a worker's DNS stub client: the names a request
 * meets at run time (proxy_pass with variables) asked of the
 * "resolver" servers over UDP, on the worker's event loop, while the
 * worker serves other connections; answers kept for their TTL (or
 * valid=) in a per-worker cache.
 *
 * One fy_resolver_t per "resolver" directive, made when the
 * configuration is read; its run-time state (queries in flight, the
 * cache) starts empty in each worker, which forks with it.
 */
#ifndef FY_RESOLVER_H
#define FY_RESOLVER_H

#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_event.h"
#include "fy_dns.h"

typedef struct fy_resolver_s        fy_resolver_t;
typedef struct fy_resolver_query_s  fy_resolver_query_t;
typedef struct fy_resolver_node_s   fy_resolver_node_t;
typedef struct fy_resolver_wait_s   fy_resolver_wait_t;

#define FY_RESOLVER_BUCKETS  64
#define FY_RESOLVER_MAX_NODES 4096   /* cached names per resolver */

struct fy_resolver_s {
    /* configuration (fy_http_resolver.c) */
    fy_sockaddr_t        *servers;      /* port 53 unless given */
    socklen_t            *server_lens;
    char                **server_names; /* "127.0.0.1:53", for logs */
    unsigned              nservers;
    int64_t               valid;        /* ms; -1: the answer's TTL */
    unsigned              ipv4:1;       /* ask for A records */
    unsigned              ipv6:1;       /* ask for AAAA records */

    /* the worker's */
    fy_resolver_query_t  *queries;      /* in flight */
    unsigned              next;         /* server a new query starts at */
    fy_resolver_node_t   *cache[FY_RESOLVER_BUCKETS];
    unsigned              nnodes;
};

/* Called once the name is resolved, has failed, or the wait timed
 * out: w->error and w->addrs tell which. */
typedef void (*fy_resolver_done_pt)(fy_resolver_wait_t *w);

struct fy_resolver_wait_s {
    fy_resolver_done_pt   handler;
    void                 *data;         /* the caller's */
    /* the result: error 0 and naddrs addresses (port 0; valid only
     * until the handler, or the caller of a FY_OK resolve, returns),
     * or a DNS code (FY_DNS_NXDOMAIN...) or FY_DNS_TIMEDOUT */
    int                   error;
    const fy_dns_addr_t  *addrs;
    unsigned              naddrs;
    /* the SRV records of fy_resolver_resolve_srv (in the order of the
     * answer; valid as long as addrs) */
    const fy_dns_srv_t   *srvs;
    unsigned              nsrvs;
    /* until when (fy_current_msec) the answer is kept in the cache, by
     * its TTL or valid=: when to ask again for a name watched (the
     * upstream "resolve" servers); 0 for a timeout */
    uint64_t              expires;

    /* the resolver's */
    fy_event_t            timer;        /* resolver_timeout */
    fy_resolver_query_t  *query;
    fy_resolver_wait_t   *next;
};

/* Resolve name (len bytes) for w within timeout ms.  FY_OK: answered
 * now, from the cache (w->error, w->addrs set; the handler is not
 * called); FY_AGAIN: w->handler will be called from the loop, unless
 * fy_resolver_cancel(w) comes first; FY_ERROR: no query could be made
 * (logged).  w is the caller's memory, and must stay until one of
 * those. */
int  fy_resolver_resolve(fy_resolver_t *res, const u_char *name,
                         size_t len, int64_t timeout, fy_resolver_wait_t *w);
/* The same for the SRV records of name ("_http._tcp.app.test"):
 * w->srvs, w->nsrvs; an answer without records is FY_DNS_NXDOMAIN. */
int  fy_resolver_resolve_srv(fy_resolver_t *res, const u_char *name,
                             size_t len, int64_t timeout,
                             fy_resolver_wait_t *w);
/* Stop waiting (the request ended): the handler will not be called.
 * Harmless for a w that is not waiting. */
void fy_resolver_cancel(fy_resolver_wait_t *w);
/* Free the cached answers (a pool cleanup of the configuration that
 * holds res: a worker's cache goes with its cycle). */
void fy_resolver_free_cache(void *res);
/* nginx's text for w->error: "Host not found", "Operation timed out" */
const char *fy_resolver_strerror(int error);
/* An address of an answer as a socket address with port (host order)
 * into sa: returns its length. */
socklen_t   fy_resolver_sockaddr(const fy_dns_addr_t *a, uint16_t port,
                                 fy_sockaddr_t *sa);

#endif /* FY_RESOLVER_H */
