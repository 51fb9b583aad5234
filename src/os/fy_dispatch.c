/*
 * fy_dispatch.c -- the table of worker-dispatch strategies.
 *
 * Each strategy lives in its own file (fy_dispatch_rr.c, _lc.c, _lm.c);
 * this file maps the worker_dispatch directive value to one of them, so
 * adding a strategy is one new file and one row here, and keeps full
 * workers out of every strategy's way (fy_dispatch_pick).
 */

#include "fy_core.h"
#include "fy_dispatch.h"
#include "fy_shm.h"


static const fy_dispatch_ops_t  *fy_dispatch_strategies[] = {
    &fy_dispatch_round_robin,
    &fy_dispatch_least_conn,
    &fy_dispatch_least_mem,
};


int
fy_dispatch_full(const fy_dispatch_cand_t *c)
{
    uint64_t  load = c->used + c->inflight;

    /* a wrapped sum (a miscounted inflight) is as full as it gets */
    return c->limit != 0 && (load >= c->limit || load < c->used);
}


int
fy_dispatch_pick(const fy_dispatch_ops_t *ops, fy_dispatch_state_t *st,
    const fy_dispatch_cand_t *c, int n)
{
    int                 i, room, full;
    fy_dispatch_cand_t  only[FY_MAX_WORKERS];

    room = full = 0;

    for (i = 0; i < n; i++) {
        if (c[i].usable) {
            if (fy_dispatch_full(&c[i])) {
                full++;
            } else {
                room++;
            }
        }
    }

    /* Nobody full: the usual case, no copy.  Everybody full: the
     * connection goes where the strategy says and that worker closes
     * it, logging "worker_connections are not enough" -- better than
     * the master closing it silently, and no worse than before. */
    if (full == 0 || room == 0 || n > FY_MAX_WORKERS) {
        return ops->pick(st, c, n);
    }

    /* the strategy sees the full ones as unusable; their indexes stay
     * where they are, so the cursor means the same */
    memcpy(only, c, (size_t) n * sizeof(fy_dispatch_cand_t));

    for (i = 0; i < n; i++) {
        if (only[i].usable && fy_dispatch_full(&only[i])) {
            only[i].usable = 0;
        }
    }

    return ops->pick(st, only, n);
}


/*
 * Accepts a counted name (not necessarily NUL-terminated, as it comes
 * from the config parser).  Returns the strategy whose name matches
 * exactly (case-sensitive, like every other directive value), or NULL.
 */
const fy_dispatch_ops_t *
fy_dispatch_find(const char *name, size_t len)
{
    size_t                    i;
    const fy_dispatch_ops_t  *ops;

    if (name == NULL) {
        return NULL;
    }

    for (i = 0; i < fy_nelems(fy_dispatch_strategies); i++) {
        ops = fy_dispatch_strategies[i];

        if (strlen(ops->name) == len && memcmp(ops->name, name, len) == 0) {
            return ops;
        }
    }

    return NULL;
}
