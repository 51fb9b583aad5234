/*
 * fy_http_peer.c -- upstream servers' slots in shared memory.
 *
 * Every upstream server of the running configuration has a slot in
 * fy_shm->peers where all workers count its requests and responses.
 * The master assigns the slots when a configuration is loaded and on
 * every reload; a server that stays (same upstream name, same address)
 * keeps its slot, so its counters survive the reload.
 *
 * Passive health lives here too: a worker that sees a server fail
 * counts it in the slot, and max_fails failures within fail_timeout
 * take the server out of every worker's choice for fail_timeout.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_stream.h"

/* Whatever fy_sockaddr_text() writes fits the slot whole. */
_Static_assert(sizeof(((fy_shm_peer_t *) 0)->addr) >= FY_SOCKADDR_STRLEN,
               "fy_shm_peer_t.addr cannot hold every address");

static int
fy_peer_match(fy_shm_peer_t *sp, const char *up, const char *addr)
{
    return strcmp(sp->upstream, up) == 0 && strcmp(sp->addr, addr) == 0;
}

/* A slot for (up, addr): the one it had, else one never used, else
 * any free one -- so a freed slot is reused as late as possible and an
 * old worker still counting into it is unlikely to meet a newcomer. */
int
fy_http_peer_slot(const char *up, const char *addr, const uint8_t *taken)
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
    fy_array_t               *sups = fy_stream_upstreams(cycle);
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_shm_peer_t            *sp;
    char                      addr[FY_SOCKADDR_STRLEN];
    char                      up[FY_UPSTREAM_NAME_MAX + 1];
    unsigned                  i, j, nhttp;
    int                       slot;

    memset(taken, 0, sizeof(taken));

    /* http's upstreams, then the stream block's (fy_stream.h) */
    nhttp = hmcf ? hmcf->upstreams.nelts : 0;
    for (i = 0; i < nhttp + (sups ? sups->nelts : 0); i++) {
        u = i < nhttp
            ? *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i)
            : fy_array_elt(sups, fy_stream_upstream_t, i - nhttp)->u;
        if (u->name.len > FY_UPSTREAM_NAME_MAX) {
            /* the configuration refuses these (fy_http_upstream_get);
             * a name cut short could merge two upstreams' counters */
            fy_log_error(FY_LOG_EMERG, 0, "upstream name \"%.*s\" is too "
                         "long", (int) u->name.len, (char *) u->name.data);
            return FY_ERROR;
        }
        snprintf(up, sizeof(up), "%.*s", (int) u->name.len,
                 (char *) u->name.data);

        for (j = 0; j < u->peers.nelts; j++) {
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, j);
            if (peer->resolved) {
                continue;       /* below: fy_http_upstream_resolve.c */
            }
            fy_sockaddr_text(&peer->addr.sa, peer->addrlen, addr,
                             sizeof(addr), 1);
            slot = fy_http_peer_slot(up, addr, taken);
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
            if (u->health == NULL) {
                /* checks were removed: their verdict goes with them */
                fy_shm_set(sp->check_down, 0);
            }
            fy_shm_set(sp->weight, peer->weight);
            fy_shm_set(sp->state, peer->down ? FY_PEER_DOWN
                                  : fy_shm_get(sp->check_down) ? FY_PEER_DOWN
                                  : peer->backup ? FY_PEER_BACKUP
                                  : FY_PEER_UP);
        }
        if (fy_http_upstream_resolve_register(u, up, taken) != FY_OK) {
            return FY_ERROR;
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
fy_http_peer_response_time(fy_shm_peer_t *sp, uint64_t ms)
{
    unsigned        b;

    for (b = 0; b < FY_RT_BUCKETS - 1 && ms > fy_rt_bounds_ms[b]; b++) {
        /* find the first bucket whose bound holds ms */
    }
    fy_shm_add(sp->rt_buckets[b], 1);
    fy_shm_add(sp->rt_sum_ms, ms);
    fy_shm_add(sp->rt_count, 1);
}

/*
 * Accepts the upstream and the server that failed.  Counts the failure;
 * with max_fails set, the max_fails-th failure within fail_timeout (or
 * the first one after a server's time out, before any success: nginx's
 * "one more try") makes it unavailable to all workers for
 * fail_timeout, logged once by the worker that saw it happen.
 */
void
fy_http_peer_failed(fy_http_upstream_t *u, fy_http_upstream_peer_t *peer)
{
    fy_shm_peer_t  *sp = &fy_http_up_slots(u)[peer->shm];
    fy_shm_lock_t  *lock = &fy_http_up_shared(u)->lock;
    uint64_t        now = fy_wall_msec, fails;
    uint64_t        timeout = (uint64_t) peer->fail_timeout;
    int             disabled = 0;

    fy_shm_add(sp->failures, 1);
    if (peer->max_fails == 0) {
        return;
    }

    fy_shm_lock(lock);
    fails = fy_shm_get(sp->fails);
    if (fails < peer->max_fails
        && now - fy_shm_get(sp->fail_window_ms) > timeout)
    {
        /* the old failures are too old to count with this one */
        fails = 0;
        fy_shm_set(sp->fail_window_ms, now);
    }
    fails++;
    fy_shm_set(sp->fails, fails);
    if (fails >= peer->max_fails
        && fy_shm_get(sp->unavailable_until_ms) <= now)
    {
        fy_shm_set(sp->unavailable_until_ms, now + timeout);
        /* with slow_start it ramps up from when it is tried again */
        fy_shm_set(sp->up_since_ms, now + timeout);
        fy_shm_set(sp->state, FY_PEER_UNAVAILABLE);
        disabled = 1;
    }
    fy_shm_unlock(lock);

    if (disabled && fy_http_up_many(u)) {
        fy_log_error(FY_LOG_WARN, 0, "upstream server %.*s in upstream "
                     "\"%.*s\" temporarily disabled for %lld ms after %llu "
                     "failure(s)", (int) peer->name.len, peer->name.data,
                     (int) u->name.len, u->name.data,
                     (long long) peer->fail_timeout,
                     (unsigned long long) fails);
    }
}

/* A server answered: its failure count starts again. */
void
fy_http_peer_succeeded(fy_http_upstream_t *u, fy_http_upstream_peer_t *peer)
{
    fy_shm_peer_t  *sp = &fy_http_up_slots(u)[peer->shm];

    if (fy_shm_get(sp->fails)) {
        fy_shm_set(sp->fails, 0);
        if (fy_shm_get(sp->state) == FY_PEER_UNAVAILABLE) {
            fy_shm_set(sp->state, peer->backup ? FY_PEER_BACKUP : FY_PEER_UP);
        }
    }
}
