/*
 * fy_dispatch.c -- the table of worker-dispatch strategies.
 *
 * Each strategy lives in its own file (fy_dispatch_rr.c, _lc.c, _lm.c);
 * this file only maps the worker_dispatch directive value to one of
 * them, so adding a strategy is one new file and one row here.
 */

#include "fy_core.h"
#include "fy_dispatch.h"


static const fy_dispatch_ops_t  *fy_dispatch_strategies[] = {
    &fy_dispatch_round_robin,
    &fy_dispatch_least_conn,
    &fy_dispatch_least_mem,
};


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
