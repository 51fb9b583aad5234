/*
 * fy_http_peer.c -- upstream servers' slots in shared memory.
 *
 * Every upstream server of the running configuration has a slot in
 * fy_shm->peers where all workers count its requests and responses.
 * The master assigns the slots when a configuration is loaded and on
 * every reload; a server that stays (same upstream name, same address)
 * keeps its slot, so its counters survive the reload.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"

static int
fy_peer_match(fy_shm_peer_t *sp, const char *up, const char *addr)
{
    return strcmp(sp->upstream, up) == 0 && strcmp(sp->addr, addr) == 0;
}

/* A slot for (up, addr): the one it had, else one never used, else
 * any free one -- so a freed slot is reused as late as possible and an
 * old worker still counting into it is unlikely to meet a newcomer. */
static int
fy_peer_slot(const char *up, const char *addr, const uint8_t *taken)
{
    unsigned  i;
    int       never = -1, freed = -1;

    for (i = 0; i < FY_MAX_PEERS; i++) {
        fy_shm_peer_t *sp = &fy_shm->peers[i];

        if (taken[i]) {
            continue;
        }
        if (sp->upstream[0] && fy_peer_match(sp, up, addr)) {
            return (int) i;
        }
        if (sp->upstream[0] == '\0' && never == -1) {
            never = (int) i;
        }
        if (!fy_shm_get(sp->in_use) && freed == -1) {
            freed = (int) i;
        }
    }
    return never != -1 ? never : freed;
}

int
fy_http_peers_register(fy_cycle_t *cycle)
{
    static uint8_t            taken[FY_MAX_PEERS];
    fy_http_main_conf_t      *hmcf = cycle->http;
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_shm_peer_t            *sp;
    char                      addr[48], up[48];
    unsigned                  i, j;
    int                       slot;

    memset(taken, 0, sizeof(taken));

    for (i = 0; hmcf && i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        snprintf(up, sizeof(up), "%.*s", (int) u->name.len,
                 (char *) u->name.data);

        for (j = 0; j < u->peers.nelts; j++) {
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, j);
            fy_sockaddr_text((struct sockaddr *) &peer->addr, addr,
                             sizeof(addr), 1);
            slot = fy_peer_slot(up, addr, taken);
            if (slot < 0) {
                fy_log_error(FY_LOG_EMERG, 0, "more than %d upstream servers "
                             "in all upstreams", FY_MAX_PEERS);
                return FY_ERROR;
            }
            taken[slot] = 1;
            peer->shm = (unsigned) slot;

            sp = &fy_shm->peers[slot];
            if (!fy_peer_match(sp, up, addr)) {
                /* a new server: its counters start from zero */
                memset(sp, 0, sizeof(*sp));
                snprintf(sp->upstream, sizeof(sp->upstream), "%s", up);
                snprintf(sp->addr, sizeof(sp->addr), "%s", addr);
            }
            fy_shm_set(sp->weight, 1);
        }
    }

    /* Only now, when nothing can fail any more: servers the new
     * configuration dropped are no longer in use. */
    for (i = 0; i < FY_MAX_PEERS; i++) {
        fy_shm_set(fy_shm->peers[i].in_use, (uint64_t) taken[i]);
    }
    return FY_OK;
}

void
fy_http_peer_response_time(unsigned peer, uint64_t ms)
{
    fy_shm_peer_t  *sp = &fy_shm->peers[peer];
    unsigned        b;

    for (b = 0; b < FY_RT_BUCKETS - 1 && ms > fy_rt_bounds_ms[b]; b++) {
        /* find the first bucket whose bound holds ms */
    }
    fy_shm_add(sp->rt_buckets[b], 1);
    fy_shm_add(sp->rt_sum_ms, ms);
    fy_shm_add(sp->rt_count, 1);
}
