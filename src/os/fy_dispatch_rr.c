/*
 * fy_dispatch_rr.c -- round_robin: strict rotation over the workers
 * that can take work now.
 *
 * The cursor names the first candidate to try next time.  Unusable
 * candidates are stepped over without costing anyone a turn, so with
 * every candidate usable, n picks give each exactly one connection.
 */

#include "fy_core.h"
#include "fy_dispatch.h"


/*
 * Accepts the rotation state and n candidates (n may be 0).  Returns
 * the index of the first usable candidate at or after the cursor,
 * wrapping around, and moves the cursor just past it; -1 (cursor
 * untouched) when none is usable.
 */
static int
fy_dispatch_rr_pick(fy_dispatch_state_t *st, const fy_dispatch_cand_t *c,
    int n)
{
    int  i, k, start;

    if (n <= 0) {
        return -1;
    }

    /* the worker count can shrink between picks (a reload), so the
     * saved cursor may be past the end */
    start = (int) (st->cursor % (unsigned) n);

    for (k = 0; k < n; k++) {
        i = (start + k) % n;

        if (c[i].usable) {
            st->cursor = (unsigned) i + 1;
            return i;
        }
    }

    return -1;
}


const fy_dispatch_ops_t  fy_dispatch_round_robin = {
    "round_robin",
    fy_dispatch_rr_pick
};
