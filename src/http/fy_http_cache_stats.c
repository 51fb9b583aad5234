/*
 * fy_http_cache_stats.c -- the proxy_cache_path zones on the status
 * page: each zone's entries, their size on disk, its max_size, and its
 * requests by $upstream_cache_status, copied into the status snapshot.
 *
 * All of it lives in the zone's shared mapping (fy_http_limit.h):
 * cache_entries and cache_bytes kept under the zone's lock as entries
 * come and go (fy_http_cache.c), cache_results[] added to by every
 * worker as each request that used the cache ends.  As everything on
 * the status page, read with relaxed atomic loads and without the
 * lock; kept across a reload that keeps the zone.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"
#include "fy_http_cache.h"
#include "fy_http_status.h"

const char *const  fy_http_status_cache_results[FY_STATUS_NCACHE] = {
    "miss", "bypass", "expired", "stale", "updating", "revalidated", "hit"
};

static void
fy_http_cache_stats_copy(fy_http_status_cache_t *sc, fy_http_limit_zone_t *z,
    fy_pool_t *pool)
{
    fy_http_limit_shm_t  *shm = z->shm;
    unsigned              i;

    sc->name = fy_pstrndup(pool, (char *) z->name.data, z->name.len);
    sc->entries = fy_shm_get(shm->cache_entries);
    sc->bytes = fy_shm_get(shm->cache_bytes);
    sc->max_size = z->cache->max_size;
    for (i = 0; i < FY_STATUS_NCACHE; i++) {
        sc->results[i] = fy_shm_get(shm->cache_results[FY_CACHE_MISS + i]);
    }
}

int
fy_http_cache_status(fy_pool_t *pool, fy_http_status_cache_t **caches)
{
    fy_http_limit_zone_t    *z;
    fy_http_status_cache_t  *sc, tmp;
    unsigned                 n = 0, i, j;

    for (z = fy_http_limit_stats_zones; z; z = z->next) {
        n += z->shm != NULL && fy_http_limit_is_cache(z->kind);
    }
    *caches = fy_pcalloc(pool, (n ? n : 1) * sizeof(fy_http_status_cache_t));
    if (*caches == NULL) {
        return -1;
    }
    sc = *caches;
    for (i = 0, z = fy_http_limit_stats_zones; z && i < n; z = z->next) {
        if (z->shm == NULL || !fy_http_limit_is_cache(z->kind)) {
            continue;
        }
        fy_http_cache_stats_copy(&sc[i], z, pool);
        if (sc[i].name == NULL) {
            return -1;
        }
        i++;
    }

    /* by name: a few zones, so an insertion sort */
    for (i = 1; i < n; i++) {
        tmp = sc[i];
        for (j = i; j > 0 && strcmp(sc[j - 1].name, tmp.name) > 0; j--) {
            sc[j] = sc[j - 1];
        }
        sc[j] = tmp;
    }
    return (int) n;
}
