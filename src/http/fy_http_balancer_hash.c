/*
 * fy_http_balancer_hash.c -- hash KEY [consistent]: requests with the
 * same key (any text with $variables, evaluated per request) go to the
 * same server.
 *
 * Plain: the key's hash picks a point in the total configured weight;
 * adding or removing a server moves most keys.
 *
 * consistent: a ketama-style ring built when the configuration is
 * read.  Each server owns 160 points per unit of weight, placed by
 * hashing its address; a key goes to the first point at or after its
 * own hash.  Removing one of N servers moves only the keys that were
 * on it, about 1/N.
 *
 * Either way, when the chosen server cannot take the request the walk
 * goes on (the next ring point, or a stirred hash), so a failed server
 * sheds only its own keys.
 */
#include "fy_core.h"
#include "fy_http_balancer.h"

#define FY_HASH_POINTS  160     /* ring points per unit of weight */
#define FY_HASH_TRIES   20

typedef struct {
    uint32_t   hash;
    unsigned   peer;
} fy_http_hash_point_t;

typedef struct {
    fy_http_hash_point_t  *points;
    unsigned               n;
} fy_http_hash_ring_t;


static const char *
fy_http_hash_conf(fy_conf_t *cf, fy_http_upstream_t *u)
{
    if (cf->nargs < 2 || cf->nargs > 3) {
        return "takes a key and optionally \"consistent\"";
    }
    if (cf->nargs == 3) {
        if (!fy_str_eq(&cf->args[2], "consistent")) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
        u->hash_consistent = 1;
    }
    u->hash_key = fy_http_cv_compile(cf, &cf->args[1]);
    return u->hash_key ? FY_CONF_OK : FY_CONF_ERROR;
}

static int
fy_http_hash_point_cmp(const void *a, const void *b)
{
    const fy_http_hash_point_t  *pa = a, *pb = b;

    if (pa->hash != pb->hash) {
        return pa->hash < pb->hash ? -1 : 1;
    }
    /* equal hashes: a fixed order, so every process builds one ring */
    return pa->peer < pb->peer ? -1 : pa->peer > pb->peer;
}

static void fy_http_hash_fill(fy_http_upstream_t *u);

static int
fy_http_hash_init(fy_pool_t *pool, fy_http_upstream_t *u)
{
    fy_http_hash_ring_t      *ring;
    fy_http_upstream_peer_t  *peer;
    unsigned                  i, n = 0;

    if (!u->hash_consistent) {
        return FY_OK;
    }
    for (i = 0; i < u->peers.nelts; i++) {
        peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
        n += FY_HASH_POINTS * peer->weight;
    }

    ring = fy_pcalloc(pool, sizeof(fy_http_hash_ring_t));
    if (ring == NULL
        || (ring->points = fy_palloc(pool, (n ? n : 1)
                                           * sizeof(*ring->points))) == NULL)
    {
        fy_log_error(FY_LOG_EMERG, 0, "cannot allocate the hash ring of "
                     "upstream \"%.*s\"", (int) u->name.len, u->name.data);
        return FY_ERROR;
    }
    u->bal_data = ring;
    fy_http_hash_fill(u);
    return FY_OK;
}

/* The ring's points, of the servers that have an address (all but the
 * absent ones of "resolve" lines: room for them all was made). */
static void
fy_http_hash_fill(fy_http_upstream_t *u)
{
    fy_http_hash_ring_t      *ring = u->bal_data;
    fy_http_upstream_peer_t  *peer;
    unsigned                  i, j;

    if (ring == NULL) {
        return;
    }
    ring->n = 0;
    /* A server's points depend only on its address, not on the other
     * servers: that is what keeps the others' keys in place. */
    for (i = 0; i < u->peers.nelts; i++) {
        peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
        if (peer->absent) {
            continue;
        }
        for (j = 0; j < FY_HASH_POINTS * peer->weight; j++) {
            ring->points[ring->n].hash =
                fy_http_bal_hash(peer->name.data, peer->name.len,
                                 j * 0x9e3779b9u);
            ring->points[ring->n].peer = i;
            ring->n++;
        }
    }
    qsort(ring->points, ring->n, sizeof(*ring->points),
          fy_http_hash_point_cmp);
}

static int
fy_http_hash_ring_pick(fy_http_bal_ctx_t *bc, uint32_t h)
{
    fy_http_hash_ring_t  *ring = bc->u->bal_data;
    unsigned              lo = 0, hi = ring->n, k, p;

    if (ring->n == 0) {
        return -1;      /* only "resolve" servers, none with an address */
    }
    /* the first point at or after h */
    while (lo < hi) {
        k = lo + (hi - lo) / 2;
        if (ring->points[k].hash < h) {
            lo = k + 1;
        } else {
            hi = k;
        }
    }
    for (k = 0; k < ring->n; k++) {
        p = ring->points[(lo + k) % ring->n].peer;
        if (fy_http_bal_weight(bc, p)) {
            return (int) p;
        }
    }
    return -1;
}

static int
fy_http_hash_pick(fy_http_bal_ctx_t *bc)
{
    fy_http_upstream_peer_t  *peer;
    uint64_t                  total = 0, w;
    unsigned                  i, tries, n = bc->u->peers.nelts;
    uint32_t                  h;

    h = fy_http_bal_hash(bc->key, bc->key_len, 0);
    if (bc->u->hash_consistent) {
        return fy_http_hash_ring_pick(bc, h);
    }

    for (i = 0; i < n; i++) {
        peer = fy_http_bal_peer(bc, i);
        total += peer->absent ? 0 : peer->weight;
    }
    if (total == 0) {
        return -1;
    }
    for (tries = 0; tries < FY_HASH_TRIES; tries++) {
        if (tries) {
            h = fy_http_bal_hash(bc->key, bc->key_len, tries);
        }
        w = h % total;
        for (i = 0; i < n; i++) {
            peer = fy_http_bal_peer(bc, i);
            if (peer->absent) {
                continue;
            }
            if (w < peer->weight) {
                break;
            }
            w -= peer->weight;
        }
        if (fy_http_bal_weight(bc, i)) {
            return (int) i;
        }
    }
    return fy_http_bal_smooth(bc, NULL);
}


const fy_http_balancer_t  fy_http_balancer_hash = {
    "hash", 0, fy_http_hash_conf, fy_http_hash_init, fy_http_hash_pick,
    fy_http_hash_fill
};
