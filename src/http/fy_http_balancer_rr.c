/*
 * fy_http_balancer_rr.c -- round robin, the default: smooth weighted
 * round robin over the usable servers, one rotation for all workers
 * (the current weights are in shared memory).
 */
#include "fy_core.h"
#include "fy_http_balancer.h"


static int
fy_http_rr_pick(fy_http_bal_ctx_t *bc)
{
    return fy_http_bal_smooth(bc, NULL);
}


const fy_http_balancer_t  fy_http_balancer_rr = {
    "round_robin", 1, NULL, NULL, fy_http_rr_pick, NULL
};
