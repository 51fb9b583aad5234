/*
 * fy_http_limit_stats.c -- the limit_req and limit_conn zones on the
 * status page: each zone's counters (requests by result, counted by
 * fy_http_limit_req.c and fy_http_limit_conn.c in the zone's header)
 * and how full it is, copied into the status snapshot.
 *
 * As everything on the status page, read with relaxed atomic loads and
 * without the zone's lock: a status request never waits for a worker
 * that holds it.  The counters live in the zone's mapping, so they are
 * as old as the zone: kept across a reload that keeps the zone, zero
 * in a zone made afresh.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"
#include "fy_http_status.h"

/* The zones of this worker's cycle (fy_http_limit_init_process);
 * fy_http_cache_stats.c shows the proxy_cache_path ones. */
fy_http_limit_zone_t  *fy_http_limit_stats_zones;

void
fy_http_limit_init_process(fy_cycle_t *cycle)
{
    fy_http_limit_stats_zones = cycle->http ? cycle->http->limit_zones
                                            : NULL;
}

static void
fy_http_limit_stats_copy(fy_http_status_zone_t *sz, fy_http_limit_zone_t *z,
    fy_pool_t *pool)
{
    fy_http_limit_shm_t  *shm = z->shm;
    uint64_t              used, holds;
    unsigned              i;

    sz->name = fy_pstrndup(pool, (char *) z->name.data, z->name.len);
    sz->kind = z->kind == FY_LIMIT_REQ ? FY_HTTP_STATUS_LIMIT_REQ
                                       : FY_HTTP_STATUS_LIMIT_CONN;
    for (i = 0; i < FY_STATUS_NRESULTS; i++) {
        sz->results[i] = fy_shm_get(shm->results[FY_LIMIT_PASSED + i]);
    }
    sz->capacity = shm->nnodes;

    /* used counts a limit_conn zone's hold nodes (one per connection)
     * with its keys; the two loads may be a moment apart, so never
     * show more holds than nodes */
    used = fy_shm_get(shm->used);
    if (z->kind == FY_LIMIT_CONN) {
        holds = fy_shm_get(shm->holds);
        sz->active = holds;
        sz->keys = used > holds ? used - holds : 0;
    } else {
        sz->keys = used;
    }
}

int
fy_http_limit_status(fy_pool_t *pool, fy_http_status_zone_t **zones)
{
    fy_http_limit_zone_t   *z;
    fy_http_status_zone_t  *sz, tmp;
    unsigned                n = 0, i, j;

    for (z = fy_http_limit_stats_zones; z; z = z->next) {
        /* proxy_cache_path zones are no request limits */
        n += z->shm != NULL && !fy_http_limit_is_cache(z->kind);
    }
    *zones = fy_pcalloc(pool, (n ? n : 1) * sizeof(fy_http_status_zone_t));
    if (*zones == NULL) {
        return -1;
    }
    sz = *zones;
    for (i = 0, z = fy_http_limit_stats_zones; z && i < n; z = z->next) {
        if (z->shm == NULL || fy_http_limit_is_cache(z->kind)) {
            continue;
        }
        fy_http_limit_stats_copy(&sz[i], z, pool);
        if (sz[i].name == NULL) {
            return -1;
        }
        i++;
    }

    /* limit_req zones first, each kind by name: a few zones, so an
     * insertion sort */
    for (i = 1; i < n; i++) {
        tmp = sz[i];
        for (j = i; j > 0; j--) {
            if (sz[j - 1].kind < tmp.kind
                || (sz[j - 1].kind == tmp.kind
                    && strcmp(sz[j - 1].name, tmp.name) <= 0))
            {
                break;
            }
            sz[j] = sz[j - 1];
        }
        sz[j] = tmp;
    }
    return (int) n;
}
