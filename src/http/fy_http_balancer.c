/*
 * fy_http_balancer.c -- the table of balancers, the locked pick every
 * request goes through, and the helpers the balancers share: which
 * servers can take a request now and with what weight, smooth weighted
 * round robin, weighted walks, hashing and a cheap random source.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"

#include <time.h>


static const fy_http_balancer_t  *fy_http_balancers[] = {
    &fy_http_balancer_lc,
    &fy_http_balancer_ip_hash,
    &fy_http_balancer_hash,
    &fy_http_balancer_random,
};


/* Accepts a directive name; returns the balancer it selects or NULL.
 * Round robin has no directive: it is what an upstream has without one. */
const fy_http_balancer_t *
fy_http_balancer_find(const fy_str_t *name)
{
    size_t  i;

    for (i = 0; i < fy_nelems(fy_http_balancers); i++) {
        if (fy_str_eq(name, fy_http_balancers[i]->name)) {
            return fy_http_balancers[i];
        }
    }
    return NULL;
}

int
fy_http_balancer_init(fy_pool_t *pool, fy_http_upstream_t *u)
{
    if (u->balancer == NULL) {
        u->balancer = &fy_http_balancer_rr;
    }
    return u->balancer->init ? u->balancer->init(pool, u) : FY_OK;
}

/*
 * Accepts a filled context (backup is set here) and the upstream's lock.
 * Returns the chosen server's index, counted in its slot as one request
 * and one active, or -1 when no server can take the request.  The
 * backup servers are asked only when no primary server can.
 */
int
fy_http_balancer_get(fy_http_bal_ctx_t *bc, fy_shm_lock_t *lock)
{
    fy_http_upstream_t  *u = bc->u;
    fy_shm_peer_t       *sp;
    int                  i;

    fy_shm_lock(lock);

    if (u->resolves
        && fy_shm_get(fy_http_up_shared(u)->resolve_gen) != u->resolve_gen)
    {
        /* a "resolve" server's addresses changed */
        fy_http_upstream_resolve_sync(u);
    }
    bc->backup = 0;
    i = u->balancer->pick(bc);
    if (i < 0 && u->has_backup) {
        /* as nginx: backups always take turns by weight */
        bc->backup = 1;
        i = fy_http_bal_smooth(bc, NULL);
    }
    if (i >= 0) {
        sp = fy_http_bal_slot(bc, (unsigned) i);
        fy_shm_add(sp->active, 1);
        fy_shm_add(sp->requests, 1);
    }

    fy_shm_unlock(lock);
    return i;
}

fy_http_upstream_peer_t *
fy_http_bal_peer(fy_http_bal_ctx_t *bc, unsigned i)
{
    return fy_array_elt(&bc->u->peers, fy_http_upstream_peer_t, i);
}

fy_shm_peer_t *
fy_http_bal_slot(fy_http_bal_ctx_t *bc, unsigned i)
{
    return &bc->shm[fy_http_bal_peer(bc, i)->shm];
}

int64_t
fy_http_bal_weight(fy_http_bal_ctx_t *bc, unsigned i)
{
    fy_http_upstream_peer_t  *peer = fy_http_bal_peer(bc, i);
    fy_shm_peer_t            *sp = &bc->shm[peer->shm];
    uint64_t                  since;
    int64_t                   w;

    if ((bc->tried && bc->tried[i]) || peer->down || peer->absent
        || peer->backup != bc->backup || fy_shm_get(sp->check_down))
    {
        return 0;
    }
    /* nginx: a group of one server never marks it unavailable, as
     * there is nothing better to send the request to */
    if (fy_http_up_many(bc->u)
        && fy_shm_get(sp->unavailable_until_ms) > bc->now)
    {
        return 0;
    }
    if (peer->max_conns && fy_shm_get(sp->active) >= peer->max_conns) {
        return 0;
    }

    w = (int64_t) peer->weight * FY_BAL_SCALE;

    since = fy_shm_get(sp->up_since_ms);
    if (peer->slow_start && since
        && bc->now < since + (uint64_t) peer->slow_start)
    {
        /* back from failure: the weight grows linearly from near zero */
        w = w * (int64_t) (bc->now - since) / peer->slow_start;
        if (w < 1) {
            w = 1;
        }
    }
    return w;
}

/*
 * nginx's smooth weighted round robin: every usable server's current
 * weight grows by its weight, the largest wins and gives back the
 * total.  Weights 5/1/1 give a a b a c a a, spreading the heavy server
 * instead of sending it five in a row.  The current weights are in
 * shared memory (the caller holds the lock), so the rotation is one for
 * all workers.
 */
int
fy_http_bal_smooth(fy_http_bal_ctx_t *bc, const uint8_t *among)
{
    fy_shm_peer_t  *sp, *best_sp = NULL;
    int64_t         w, total = 0;
    unsigned        i;
    int             best = -1;

    for (i = 0; i < bc->u->peers.nelts; i++) {
        if (among && !among[i]) {
            continue;
        }
        w = fy_http_bal_weight(bc, i);
        if (w == 0) {
            continue;
        }
        sp = fy_http_bal_slot(bc, i);
        sp->current_weight += w;
        total += w;
        if (best_sp == NULL || sp->current_weight > best_sp->current_weight) {
            best_sp = sp;
            best = (int) i;
        }
    }
    if (best_sp) {
        best_sp->current_weight -= total;
    }
    return best;
}

uint64_t
fy_http_bal_total(fy_http_bal_ctx_t *bc)
{
    uint64_t  total = 0;
    unsigned  i;

    for (i = 0; i < bc->u->peers.nelts; i++) {
        total += (uint64_t) fy_http_bal_weight(bc, i);
    }
    return total;
}

/* xorshift64*: plenty for spreading load, and the tests can seed it. */
uint64_t
fy_http_bal_random(fy_http_bal_ctx_t *bc)
{
    uint64_t  x = *bc->rnd;

    if (x == 0) {
        x = (uint64_t) getpid() * 0x9e3779b97f4a7c15ULL
            ^ (uint64_t) time(NULL);
        x |= 1;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *bc->rnd = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* FNV-1a, then murmur3's finaliser so that near keys ("a1", "a2") land
 * far apart on the ring. */
uint32_t
fy_http_bal_hash(const u_char *p, size_t len, uint32_t seed)
{
    uint32_t  h = 2166136261u ^ seed;
    size_t    i;

    for (i = 0; i < len; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    h ^= h >> 16;
    h *= 0x85ebca6bu;
    h ^= h >> 13;
    h *= 0xc2b2ae35u;
    h ^= h >> 16;
    return h;
}
