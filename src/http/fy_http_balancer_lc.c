/*
 * fy_http_balancer_lc.c -- least_conn: the server with the fewest
 * requests in progress for its weight, counted across all workers
 * (fy_shm_peer_t.active); ties are broken by smooth round robin among
 * the tied servers, as nginx does.
 */
#include "fy_core.h"
#include "fy_http_balancer.h"


static int
fy_http_lc_pick(fy_http_bal_ctx_t *bc)
{
    uint8_t    tied[FY_MAX_PEERS];
    uint64_t   a, best_a = 0;
    int64_t    w, best_w = 0;
    unsigned   i, n = bc->u->peers.nelts, ntied = 0;
    int        best = -1;

    /* a/w < best_a/best_w, compared without division */
    for (i = 0; i < n; i++) {
        w = fy_http_bal_weight(bc, i);
        if (w == 0) {
            continue;
        }
        a = fy_shm_get(fy_http_bal_slot(bc, i)->active);
        if (best == -1 || a * (uint64_t) best_w < best_a * (uint64_t) w) {
            best = (int) i;
            best_a = a;
            best_w = w;
            ntied = 1;
        } else if (a * (uint64_t) best_w == best_a * (uint64_t) w) {
            ntied++;
        }
    }
    if (ntied <= 1) {
        return best;
    }

    for (i = 0; i < n; i++) {
        w = fy_http_bal_weight(bc, i);
        a = w ? fy_shm_get(fy_http_bal_slot(bc, i)->active) : 0;
        tied[i] = w && a * (uint64_t) best_w == best_a * (uint64_t) w;
    }
    return fy_http_bal_smooth(bc, tied);
}


const fy_http_balancer_t  fy_http_balancer_lc = {
    "least_conn", 1, NULL, NULL, fy_http_lc_pick, NULL
};
