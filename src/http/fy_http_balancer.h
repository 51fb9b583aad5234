/*
 * fy_http_balancer.h -- how a request picks its upstream server.
 *
 * A balancer is a row of operations, one small file each:
 *   round_robin   fy_http_balancer_rr.c       (the default)
 *   least_conn    fy_http_balancer_lc.c
 *   ip_hash       fy_http_balancer_ip_hash.c
 *   hash          fy_http_balancer_hash.c     (KEY [consistent])
 *   random        fy_http_balancer_random.c   ([two [least_conn]])
 *
 * The state that makes all workers balance as one proxy lives in
 * shared memory: each server's current weight (smooth round robin) and
 * active count (least_conn, max_conns).  fy_http_balancer_get() takes
 * the upstream's lock in shared memory, asks the balancer for a server
 * and counts the pick as active before letting go, so two workers never
 * decide on the same stale picture.
 *
 * The balancers see servers only through fy_http_bal_ctx_t: the
 * configured servers, a base of shared slots and the servers already
 * tried; unit tests hand them fake slots (t/unit/test_balancer.c).
 */
#ifndef FY_HTTP_BALANCER_H
#define FY_HTTP_BALANCER_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"

/* Weights are kept scaled so that slow_start can ramp a weight of 1
 * smoothly; scaling every weight alike leaves the sequence unchanged. */
#define FY_BAL_SCALE  100

typedef struct {
    fy_http_upstream_t  *u;
    fy_shm_peer_t       *shm;       /* slot base: server i's slot is
                                       shm[peer->shm] */
    const uint8_t       *tried;     /* per server; 1: already tried */
    const u_char        *key;       /* hash key, or the client address */
    size_t               key_len;
    uint64_t             now;       /* wall clock, ms */
    uint64_t            *rnd;       /* random state (xorshift64) */
    unsigned             backup;    /* choose among the backup servers */
} fy_http_bal_ctx_t;

struct fy_http_balancer_s {
    const char  *name;             /* the directive */
    unsigned     backup:1;         /* "backup" servers allowed with it */
    /* Read the directive's arguments (cf->args[1..]) into u.  NULL when
     * the directive takes none. */
    const char *(*conf)(fy_conf_t *cf, fy_http_upstream_t *u);
    /* Called once all servers of u are known (build a ring...).
     * NULL if nothing to build.  FY_OK / FY_ERROR (logged). */
    int         (*init)(fy_pool_t *pool, fy_http_upstream_t *u);
    /* With the upstream's lock held: index of the chosen server in
     * u->peers, or -1 if none can take the request. */
    int         (*pick)(fy_http_bal_ctx_t *bc);
    /* The servers of a "resolve" line came or went (peer->absent):
     * rebuild what init built, in its memory.  NULL if nothing to do. */
    void        (*update)(fy_http_upstream_t *u);
};

extern const fy_http_balancer_t  fy_http_balancer_rr;
extern const fy_http_balancer_t  fy_http_balancer_lc;
extern const fy_http_balancer_t  fy_http_balancer_ip_hash;
extern const fy_http_balancer_t  fy_http_balancer_hash;
extern const fy_http_balancer_t  fy_http_balancer_random;

/* The directives naming a balancer, for the upstream command table. */
const fy_http_balancer_t *fy_http_balancer_find(const fy_str_t *name);

/* Prepare u's balancer after reading its block (default round robin). */
int fy_http_balancer_init(fy_pool_t *pool, fy_http_upstream_t *u);

/* Take lock, pick, count the pick as active and as a request, let go.
 * Falls back to the backup servers when no primary can take it.
 * Returns the index in u->peers or -1. */
int fy_http_balancer_get(fy_http_bal_ctx_t *bc, fy_shm_lock_t *lock);

/* ---- helpers for the balancers (fy_http_balancer.c) ---- */

fy_http_upstream_peer_t *fy_http_bal_peer(fy_http_bal_ctx_t *bc, unsigned i);
fy_shm_peer_t *fy_http_bal_slot(fy_http_bal_ctx_t *bc, unsigned i);
/* Server i's effective weight now (scaled, slow_start applied), or 0
 * when it cannot take a request (tried, down, failed, at max_conns, or
 * not in the tier being chosen from). */
int64_t fy_http_bal_weight(fy_http_bal_ctx_t *bc, unsigned i);
/* Smooth weighted round robin (nginx's) over the usable servers, or
 * over those with among[i] set when among is not NULL. */
int fy_http_bal_smooth(fy_http_bal_ctx_t *bc, const uint8_t *among);
/* The sum of the usable servers' weights. */
uint64_t fy_http_bal_total(fy_http_bal_ctx_t *bc);
uint64_t fy_http_bal_random(fy_http_bal_ctx_t *bc);
uint32_t fy_http_bal_hash(const u_char *p, size_t len, uint32_t seed);

#endif /* FY_HTTP_BALANCER_H */
