/*
 * fy_http_balancer_ip_hash.c -- ip_hash: a client address always goes
 * to the same server while that server is usable.  nginx's formula: the
 * first three octets of an IPv4 address (a /24 sticks together), all
 * sixteen of IPv6; the hash picks a point in the total weight.  When
 * the chosen server cannot take the request the hash is stirred and
 * tried again, 20 times, then round robin decides.  A unix-domain
 * client has no address: round robin, as in nginx.
 */
#include "fy_core.h"
#include "fy_http_balancer.h"


static int
fy_http_ip_hash_pick(fy_http_bal_ctx_t *bc)
{
    fy_http_upstream_peer_t  *peer;
    uint64_t                  total, w;
    uint32_t                  hash = 89;
    size_t                    len, k;
    unsigned                  tries, i, n = bc->u->peers.nelts;

    if (bc->key_len == 0) {
        return fy_http_bal_smooth(bc, NULL);    /* a unix-domain client */
    }
    len = bc->key_len == 4 ? 3 : bc->key_len;

    /* walk the configured weights (all servers, usable or not), so a
     * server going down moves only its own clients */
    total = 0;
    for (i = 0; i < n; i++) {
        peer = fy_http_bal_peer(bc, i);
        total += peer->backup || peer->absent ? 0 : peer->weight;
    }
    if (total == 0) {
        return -1;
    }

    for (tries = 0; tries < 20; tries++) {
        for (k = 0; k < len; k++) {
            hash = (hash * 113 + bc->key[k]) % 6271;
        }
        w = hash % total;
        for (i = 0; i < n; i++) {
            peer = fy_http_bal_peer(bc, i);
            if (peer->backup || peer->absent) {
                continue;
            }
            if (w < peer->weight) {
                break;
            }
            w -= peer->weight;
        }
        if (i < n && fy_http_bal_weight(bc, i)) {
            return (int) i;
        }
    }
    return fy_http_bal_smooth(bc, NULL);
}


const fy_http_balancer_t  fy_http_balancer_ip_hash = {
    "ip_hash", 0, NULL, NULL, fy_http_ip_hash_pick, NULL
};
