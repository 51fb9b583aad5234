/*
 * fy_http_balancer_random.c -- random [two [least_conn]]: a server
 * chosen at random in proportion to its weight; with "two", two
 * different servers are drawn and the one with fewer requests in
 * progress (all workers) wins -- the power of two choices, which keeps
 * a slow server from piling up work without every worker having to
 * agree on one order.
 */
#include "fy_core.h"
#include "fy_http_balancer.h"


static const char *
fy_http_random_conf(fy_conf_t *cf, fy_http_upstream_t *u)
{
    if (cf->nargs >= 2) {
        if (!fy_str_eq(&cf->args[1], "two")) {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[1].data);
            return FY_CONF_ERROR;
        }
        u->random_two = 1;
    }
    if (cf->nargs == 3 && !fy_str_eq(&cf->args[2], "least_conn")) {
        fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[2].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* The server in whose weight range r falls, skipping server skip. */
static int
fy_http_random_walk(fy_http_bal_ctx_t *bc, uint64_t r, int skip)
{
    uint64_t  w;
    unsigned  i;

    for (i = 0; i < bc->u->peers.nelts; i++) {
        if ((int) i == skip) {
            continue;
        }
        w = (uint64_t) fy_http_bal_weight(bc, i);
        if (r < w) {
            return (int) i;
        }
        r -= w;
    }
    return -1;
}

static int
fy_http_random_pick(fy_http_bal_ctx_t *bc)
{
    uint64_t  total, w1, a1, a2;
    int       i1, i2;

    total = fy_http_bal_total(bc);
    if (total == 0) {
        return -1;
    }
    i1 = fy_http_random_walk(bc, fy_http_bal_random(bc) % total, -1);
    if (!bc->u->random_two) {
        return i1;
    }

    /* the second draw is among the others */
    w1 = (uint64_t) fy_http_bal_weight(bc, (unsigned) i1);
    if (total == w1) {
        return i1;
    }
    i2 = fy_http_random_walk(bc, fy_http_bal_random(bc) % (total - w1), i1);

    a1 = fy_shm_get(fy_http_bal_slot(bc, (unsigned) i1)->active);
    a2 = fy_shm_get(fy_http_bal_slot(bc, (unsigned) i2)->active);
    return a2 < a1 ? i2 : i1;
}


const fy_http_balancer_t  fy_http_balancer_random = {
    "random", 0, fy_http_random_conf, NULL, fy_http_random_pick, NULL
};
