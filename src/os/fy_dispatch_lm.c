/*
 * fy_dispatch_lm.c -- least_mem: the worker with the smallest resident
 * set, as it last reported in shared memory.
 *
 * rss == 0 means the worker has not reported yet (it was just
 * started; workers report about once a second).  Such a worker counts
 * as equal to the smallest reported rss among the usable candidates:
 *
 *  - not as 0, the true minimum: its report can be up to a second
 *    away and the number does not move between picks, so a fresh
 *    worker would receive every connection accepted in that time,
 *    which is exactly the flood after a respawn or reload we want to
 *    avoid;
 *  - not as "infinite" either: then it would get nothing until it
 *    reported, and if no one had reported (all fresh after start-up)
 *    that would be meaningless anyway.
 *
 * Equal to the smallest means it joins the rotation of the least
 * loaded workers: it gets its fair turn straight away but no more,
 * and when no worker has reported yet every candidate ties and
 * least_mem behaves like round_robin.
 *
 * Ties are broken by rotation, as in least_conn.
 */

#include "fy_core.h"
#include "fy_dispatch.h"


/*
 * Accepts the rotation state and n candidates (n may be 0).  Returns
 * the index of the usable candidate with the smallest rss (unreported
 * ones counted as the smallest reported rss, see above), the first
 * such at or after the cursor when several tie, and moves the cursor
 * just past it; -1 (cursor untouched) when none is usable.
 */
static int
fy_dispatch_lm_pick(fy_dispatch_state_t *st, const fy_dispatch_cand_t *c,
    int n)
{
    int       i, k, start, best;
    uint64_t  rss, floor, best_rss;

    if (n <= 0) {
        return -1;
    }

    /* the smallest reported rss: what an unreported worker counts as;
     * stays 0 when nobody has reported, so then everyone ties */
    floor = 0;

    for (i = 0; i < n; i++) {
        if (c[i].usable && c[i].rss != 0
            && (floor == 0 || c[i].rss < floor))
        {
            floor = c[i].rss;
        }
    }

    start = (int) (st->cursor % (unsigned) n);
    best = -1;
    best_rss = 0;

    for (k = 0; k < n; k++) {
        i = (start + k) % n;

        if (!c[i].usable) {
            continue;
        }

        rss = c[i].rss ? c[i].rss : floor;

        if (best == -1 || rss < best_rss) {
            best = i;
            best_rss = rss;
        }
    }

    if (best != -1) {
        st->cursor = (unsigned) best + 1;
    }

    return best;
}


const fy_dispatch_ops_t  fy_dispatch_least_mem = {
    "least_mem",
    fy_dispatch_lm_pick
};
