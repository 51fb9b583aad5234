/*
 * fy_dispatch_lc.c -- least_conn: the worker with the fewest
 * connections.
 *
 * A worker's load is active + inflight: "active" is what the worker
 * itself reports in shared memory, "inflight" is what the master has
 * handed over but the worker has not taken off its channel yet.
 * Without inflight, a burst of accepts between two shared-memory
 * updates would all go to the same worker.
 *
 * Ties are broken by rotation (the first minimum at or after the
 * cursor), so equally loaded workers, e.g. all idle at start-up, share
 * the work exactly like round_robin instead of the first one getting
 * everything.
 */

#include "fy_core.h"
#include "fy_dispatch.h"


/*
 * Accepts the rotation state and n candidates (n may be 0).  Returns
 * the index of the usable candidate with the smallest active +
 * inflight, the first such at or after the cursor when several tie,
 * and moves the cursor just past it; -1 (cursor untouched) when none
 * is usable.
 */
static int
fy_dispatch_lc_pick(fy_dispatch_state_t *st, const fy_dispatch_cand_t *c,
    int n)
{
    int       i, k, start, best;
    uint64_t  load, best_load;

    if (n <= 0) {
        return -1;
    }

    start = (int) (st->cursor % (unsigned) n);
    best = -1;
    best_load = 0;

    /* walking from the cursor and keeping only a strictly smaller
     * load makes the first minimum after the cursor win a tie */
    for (k = 0; k < n; k++) {
        i = (start + k) % n;

        if (!c[i].usable) {
            continue;
        }

        load = c[i].active + c[i].inflight;

        /* a wrapped sum (an inflight count gone below zero) must not
         * look like the idlest worker */
        if (load < c[i].active) {
            load = UINT64_MAX;
        }

        if (best == -1 || load < best_load) {
            best = i;
            best_load = load;
        }
    }

    if (best != -1) {
        st->cursor = (unsigned) best + 1;
    }

    return best;
}


const fy_dispatch_ops_t  fy_dispatch_least_conn = {
    "least_conn",
    fy_dispatch_lc_pick
};
