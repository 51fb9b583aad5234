/*
 * fy_http_upstream_resolve.c -- "server NAME resolve" in upstream
 * blocks, http's and stream's (nginx >= 1.27.3):
 *
 *   resolver 127.0.0.53 valid=30s;
 *   upstream app {
 *       zone app 64k;
 *       server app.internal:8080 resolve weight=2;
 *   }
 *
 * The name is not resolved when the configuration is read: each
 * worker asks the upstream's resolver (fy_resolver.c, on its event
 * loop) at start and again whenever the answer's TTL (or valid=) runs
 * out.  The servers of the line are the answer's addresses, each with
 * the line's parameters; a name that does not resolve leaves the line
 * without servers (requests get 502 while the group has no other).
 *
 * Each line reserves FY_UPRESOLVE_MAX peers at load, each with its own
 * slot in shared memory (fy_shm->peers): the peer arrays the balancers
 * walk never grow, move or free anything, so a request holding a peer
 * pointer keeps a valid one.  A reserved peer without an address is
 * "absent" and every balancer passes over it.
 *
 * The shared slots are the truth: a worker with a new answer takes the
 * upstream's lock, writes the new addresses into free reserved slots
 * (counters from zero), empties those whose address went away, and
 * bumps the upstream's resolve_gen.  Every process reads the slots
 * again (fy_http_upstream_resolve_sync) at its next pick, under the
 * same lock, when the generation it saw last differs -- one compare
 * on that path, and only for upstreams with such lines.  So all
 * workers, the health checker and the status page agree on which
 * address a slot holds.  A request in flight to an address that went
 * away finishes on its connection; a slot is given a new address only
 * once no request of any process uses it (its shared active count is
 * 0), and each worker closes its idle keep-alive connections to a peer
 * whose address went or changed when it reads the slots.
 *
 * On reload the master gives a line the slots that held its addresses
 * in the old configuration (same upstream, same server text), so the
 * new workers start with them instead of with an empty group.
 *
 * "service=NAME" (nginx's SRV records): the worker asks for the SRV
 * records of "_NAME._tcp.HOST" (or "NAME.HOST" when NAME has a dot),
 * then for the addresses of every record's target; the line's servers
 * are those addresses with the record's port and weight, those of the
 * lowest priority value primary, the others backup servers (with
 * "backup" on the line: the lowest are backups, the others left out).
 * The slots then carry each address's weight and role too.  Asked
 * again when the first of those answers leaves the cache.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_resolver.h"
#include "fy_shm.h"
#include "fy_stream.h"
#include "fy_http_upresolve.h"

#include <arpa/inet.h>



/* ---- configuration ---- */

const fy_command_t  fy_http_upstream_resolve_commands[] = {

    /* the upstream's own, before the http or stream block's (rows of
     * their own for each, as http's and stream's contexts share none) */
    { "resolver", FY_CONF_UPS, 0, 1, FY_CONF_MANY, fy_http_resolver,
      FY_CONF_SRV_OFF, offsetof(fy_http_upstream_t, resolver), NULL },

    { "resolver_timeout", FY_CONF_UPS, 0, 1, 1, fy_http_resolver_timeout,
      FY_CONF_SRV_OFF, offsetof(fy_http_upstream_t, resolver_timeout),
      NULL },

    { "resolver", FY_CONF_STREAM_UPS, 0, 1, FY_CONF_MANY, fy_http_resolver,
      FY_CONF_SRV_OFF, offsetof(fy_http_upstream_t, resolver), NULL },

    { "resolver_timeout", FY_CONF_STREAM_UPS, 0, 1, 1,
      fy_http_resolver_timeout, FY_CONF_SRV_OFF,
      offsetof(fy_http_upstream_t, resolver_timeout), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* The line's key: its server text, and its service if any (the same
 * name with and without service= are two lines). */
static uint64_t
fy_upresolve_key(const fy_str_t *s, const fy_str_t *service)
{
    uint64_t  h = 14695981039346656037ULL;
    size_t    i;

    for (i = 0; i < s->len; i++) {
        h = (h ^ (s->data[i] | 0x20)) * 1099511628211ULL;
    }
    for (i = 0; service && i < service->len; i++) {
        h = (h ^ (service->data[i] | 0x20)) * 1099511628211ULL;
    }
    return h | 1;       /* never 0: 0 is "not a resolve slot" */
}

int
fy_http_upstream_resolve_add(fy_conf_t *cf, fy_http_upstream_t *u,
                             const fy_http_upstream_peer_t *tpl,
                             const fy_str_t *server, const u_char *host,
                             size_t host_len, uint16_t port,
                             const fy_str_t *service)
{
    fy_http_upresolve_t      *r, **pr;
    fy_http_upstream_peer_t  *peer;
    unsigned                  i;

    r = fy_pcalloc(cf->pool, sizeof(fy_http_upresolve_t));
    if (r == NULL) {
        return FY_ERROR;
    }
    r->names = fy_pcalloc(cf->pool, 2 * FY_UPRESOLVE_MAX * FY_SOCKADDR_STRLEN);
    r->server.data = (u_char *) fy_pstrndup(cf->pool, server->data,
                                            server->len);
    if (r->names == NULL || r->server.data == NULL) {
        return FY_ERROR;
    }
    r->server.len = server->len;
    r->u = u;
    r->host = r->server.data + (host - server->data);
    r->host_len = host_len;
    r->port = port;
    r->weight = tpl->weight;
    r->backup = tpl->backup;
    r->key = fy_upresolve_key(server, service);

    if (service) {
        /* nginx: "_http._tcp.HOST" for "http", "NAME.HOST" for a NAME
         * with a dot in it */
        r->service.data = (u_char *) fy_pstrndup(cf->pool,
                                                 (char *) service->data,
                                                 service->len);
        r->srvname.data = fy_pcalloc(cf->pool, service->len + host_len + 8);
        r->targets = fy_pcalloc(cf->pool, FY_DNS_MAX_SRVS
                                          * sizeof(fy_upresolve_target_t));
        if (r->service.data == NULL || r->srvname.data == NULL
            || r->targets == NULL)
        {
            return FY_ERROR;
        }
        r->service.len = service->len;
        r->srvname.len = (size_t) snprintf((char *) r->srvname.data,
                                           service->len + host_len + 8,
                                           memchr(service->data, '.',
                                                  service->len)
                                           ? "%.*s.%.*s" : "_%.*s._tcp.%.*s",
                                           (int) service->len, service->data,
                                           (int) host_len, host);
        u->has_service = 1;
    }
    r->first = u->peers.nelts;
    r->n = FY_UPRESOLVE_MAX;

    for (i = 0; i < r->n; i++) {
        peer = fy_array_push(&u->peers);
        if (peer == NULL) {
            return FY_ERROR;
        }
        *peer = *tpl;
        peer->name = r->server;
        peer->resolved = 1;
        peer->absent = 1;
    }

    for (pr = &u->resolves; *pr; pr = &(*pr)->next) { /* keep the order */ }
    *pr = r;
    return FY_OK;
}

int
fy_http_upstream_resolve_check(fy_http_upstream_t *u, fy_resolver_t *res,
                               int64_t timeout)
{
    if (u->resolves == NULL) {
        return FY_OK;
    }
    /* nginx's words; ferry's groups are always shared, but a config
     * that works here must work in nginx */
    if (!u->zone) {
        fy_log_error(FY_LOG_EMERG, 0, "resolving names at run time requires "
                     "upstream \"%s\" in %s:%u to be in shared memory",
                     u->name.data, u->file, u->line);
        return FY_ERROR;
    }
    if (u->resolver == NULL) {
        u->resolver = res;
    }
    if (u->resolver == NULL) {
        fy_log_error(FY_LOG_EMERG, 0, "no resolver defined to resolve names "
                     "at run time in upstream \"%s\" in %s:%u",
                     u->name.data, u->file, u->line);
        return FY_ERROR;
    }
    if (u->resolver_timeout == FY_CONF_UNSET_MSEC) {
        u->resolver_timeout = timeout != FY_CONF_UNSET_MSEC ? timeout : 30000;
    }
    if (u->has_service && (u->balancer == NULL || u->balancer->backup)) {
        /* SRV records of a higher priority value may make backups (a
         * balancer without backups leaves them out, as nginx's hash) */
        u->has_backup = 1;
    }
    u->nlive = 0;
    return FY_OK;
}


/* ---- this process's peers from the shared slots ---- */

/* After peers of u changed: the count the balancers use for "a group
 * of one server", and the balancer's own tables. */
static void
fy_upresolve_changed(fy_http_upstream_t *u)
{
    fy_http_upstream_peer_t  *peer;
    unsigned                  i, n = 0;

    for (i = 0; i < u->peers.nelts; i++) {
        peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, i);
        n += !peer->absent;
    }
    u->nlive = n;
    if (u->balancer && u->balancer->update) {
        u->balancer->update(u);
    }
}

/* Peer k of r takes the address of its slot sp (text "a.b.c.d:port"
 * or "[v6]:port", written by fy_upresolve_write): 1 if it changed. */
static int
fy_upresolve_read(fy_http_upresolve_t *r, unsigned k, fy_shm_peer_t *sp)
{
    fy_http_upstream_peer_t  *peer;
    fy_sockaddr_t             sa;
    socklen_t                 salen;
    char                     *buf;
    size_t                    len;
    unsigned                  weight, backup;

    peer = fy_array_elt(&r->u->peers, fy_http_upstream_peer_t, r->first + k);
    weight = (unsigned) fy_shm_get(sp->weight);
    backup = fy_shm_get(sp->resolve_backup) != 0;

    if (fy_shm_get(sp->absent) || sp->addr[0] == '\0') {
        if (peer->absent) {
            return 0;
        }
        peer->absent = 1;
        return 1;
    }
    len = strnlen(sp->addr, sizeof(sp->addr));
    if (len >= FY_SOCKADDR_STRLEN) {
        return 0;       /* never written so: a read torn by a writer */
    }
    if (!peer->absent && peer->name.len == len
        && memcmp(peer->name.data, sp->addr, len) == 0)
    {
        if (peer->weight == weight && peer->backup == backup) {
            return 0;
        }
        /* the SRV record's weight or priority changed */
        peer->weight = weight;
        peer->backup = backup;
        return 1;
    }
    if (fy_parse_addr_port((u_char *) sp->addr, len, 1, &sa, &salen)
        != FY_OK)
    {
        return 0;       /* only ever numeric text of ours */
    }
    /* the buffer the peer's name is not in now */
    buf = r->names + (2 * k) * FY_SOCKADDR_STRLEN;
    if ((u_char *) buf == peer->name.data) {
        buf += FY_SOCKADDR_STRLEN;
    }
    memcpy(buf, sp->addr, len + 1);
    peer->name.data = (u_char *) buf;
    peer->name.len = len;
    peer->addr = sa;
    peer->addrlen = salen;
    peer->weight = weight;
    peer->backup = backup;
    peer->absent = 0;
    return 1;
}

int
fy_http_upstream_resolve_sync(fy_http_upstream_t *u)
{
    fy_http_upresolve_t  *r;
    fy_shm_peer_t        *slots = fy_http_up_slots(u), *sp;
    unsigned              k;
    int                   changed = 0;

    u->resolve_gen = fy_shm_get(fy_http_up_shared(u)->resolve_gen);
    for (r = u->resolves; r; r = r->next) {
        for (k = 0; k < r->n; k++) {
            sp = &slots[fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                     r->first + k)->shm];
            if (fy_upresolve_read(r, k, sp)) {
                /* idle connections to its old address go */
                fy_http_upcache_drop(u, r->first + k);
                changed = 1;
            }
        }
    }
    if (changed) {
        fy_upresolve_changed(u);
    }
    return changed;
}


/* ---- the master: slots at load and reload ---- */

/* A slot newly given to peer of upstream up, for key: empty. */
static void
fy_upresolve_slot_init(fy_shm_peer_t *sp, const char *up, uint64_t key,
                       const fy_http_upstream_peer_t *peer)
{
    memset(sp, 0, sizeof(*sp));
    snprintf(sp->upstream, sizeof(sp->upstream), "%s", up);
    sp->resolve_key = key;
    sp->absent = 1;
    sp->weight = peer->weight;
    sp->resolve_backup = peer->backup;
    sp->state = peer->down ? FY_PEER_DOWN
                : peer->backup ? FY_PEER_BACKUP : FY_PEER_UP;
}

int
fy_http_upstream_resolve_register(fy_http_upstream_t *u, const char *up,
                                  uint8_t *taken)
{
    fy_http_upresolve_t      *r;
    fy_http_upstream_peer_t  *peer;
    fy_shm_peer_t            *sp;
    unsigned                  i, k;
    int                       slot;

    for (r = u->resolves; r; r = r->next) {
        k = 0;
        /* the addresses the line had in the configuration before */
        for (i = 0; i < FY_MAX_PEERS && k < r->n; i++) {
            sp = &fy_shm->peers[i];
            if (taken[i] || !fy_shm_get(sp->in_use)
                || sp->resolve_key != r->key || fy_shm_get(sp->absent)
                || strcmp(sp->upstream, up) != 0)
            {
                continue;
            }
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                r->first + k);
            taken[i] = 1;
            peer->shm = i;
            if (r->srvname.len == 0) {
                /* the line's, which a reload may have changed; an SRV
                 * record's stay until the next answer */
                fy_shm_set(sp->weight, r->weight);
                fy_shm_set(sp->resolve_backup, r->backup);
            }
            fy_upresolve_read(r, k, sp);
            k++;
        }
        for (; k < r->n; k++) {
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                r->first + k);
            slot = fy_http_peer_slot(up, "", taken);
            if (slot < 0) {
                fy_log_error(FY_LOG_EMERG, 0, "more than %d upstream servers "
                             "in all upstreams (each \"server ... resolve\" "
                             "reserves %d)", FY_MAX_PEERS, FY_UPRESOLVE_MAX);
                return FY_ERROR;
            }
            taken[slot] = 1;
            peer->shm = (unsigned) slot;
            fy_upresolve_slot_init(&fy_shm->peers[slot], up, r->key, peer);
        }
    }
    if (u->resolves) {
        /* every process re-reads; those started from this
         * configuration begin where the master is now */
        u->resolve_gen = fy_shm_add(fy_shm->upstreams[u->index].resolve_gen,
                                    1) + 1;
        fy_upresolve_changed(u);
    }
    return FY_OK;
}


/* ---- a worker: resolving and writing the slots ---- */

static void fy_upresolve_timer(fy_event_t *ev);
static void fy_upresolve_done(fy_resolver_wait_t *w);

/* The entry of addrs (n) with address text, or NULL. */
static const fy_upresolve_addr_t *
fy_upresolve_find(const fy_upresolve_addr_t *addrs, unsigned n,
                  const char *text)
{
    unsigned  i;

    for (i = 0; i < n; i++) {
        if (strcmp(addrs[i].text, text) == 0) {
            return &addrs[i];
        }
    }
    return NULL;
}

/* Slot sp (holding an address) takes weight and role a: 1 if that
 * changed them.  The state follows the role unless the server is out
 * (down, failed: that ends by itself). */
static int
fy_upresolve_role(fy_shm_peer_t *sp, const fy_upresolve_addr_t *a)
{
    uint64_t  state;

    if (fy_shm_get(sp->weight) == a->weight
        && fy_shm_get(sp->resolve_backup) == a->backup)
    {
        return 0;
    }
    fy_shm_set(sp->weight, a->weight);
    fy_shm_set(sp->resolve_backup, a->backup);
    state = fy_shm_get(sp->state);
    if (state == FY_PEER_UP || state == FY_PEER_BACKUP) {
        fy_shm_set(sp->state, a->backup ? FY_PEER_BACKUP : FY_PEER_UP);
    }
    return 1;
}

/*
 * The answer for r is the n addresses of addrs: under the upstream's
 * lock, slots whose address is not among them are emptied, and the
 * new ones go to empty slots -- only to one without requests in
 * progress (its active count is every process's): a request, in any
 * worker, never sees the address of the peer it holds change under it,
 * and its last counts go to the address it used.  A new address that
 * finds only slots still busy waits for the next answer.  An address
 * kept takes its new weight and role ("service=").  Logs what changed,
 * once: the worker that saw it first.
 */
void
fy_upresolve_write(fy_http_upresolve_t *r, const fy_upresolve_addr_t *addrs,
                   unsigned n)
{
    fy_http_upstream_t        *u = r->u;
    fy_http_upstream_peer_t   *peer;
    fy_shm_upstream_t         *su = fy_http_up_shared(u);
    fy_shm_peer_t             *sp, *free_sp;
    const fy_upresolve_addr_t *a;
    uint64_t                   in_use;
    size_t                     len;
    unsigned                   i, k, added = 0, removed = 0, lost = 0;
    unsigned                   busy, changed = 0;
    char                       up[FY_UPSTREAM_NAME_MAX + 1];

    fy_shm_lock(&su->lock);

    if (fy_shm_get(fy_shm->generation) != r->generation) {
        /* reloaded: the slots are the new workers' to write now (they
         * may lock them under another index) */
        fy_shm_unlock(&su->lock);
        return;
    }

    for (k = 0; k < r->n; k++) {
        sp = &fy_shm->peers[fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                         r->first + k)->shm];
        if (fy_shm_get(sp->absent)) {
            continue;
        }
        a = fy_upresolve_find(addrs, n, sp->addr);
        if (a) {
            changed += fy_upresolve_role(sp, a);
            continue;
        }
        fy_log_error(FY_LOG_NOTICE, 0, "upstream \"%.*s\": server "
                     "\"%.*s\" no longer has address %s",
                     (int) u->name.len, u->name.data,
                     (int) r->server.len, r->server.data, sp->addr);
        fy_shm_set(sp->absent, 1);
        removed++;
    }

    for (i = 0; i < n; i++) {
        free_sp = NULL;
        busy = 0;
        for (k = 0; k < r->n; k++) {
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                r->first + k);
            sp = &fy_shm->peers[peer->shm];
            if (!fy_shm_get(sp->absent)) {
                if (strcmp(sp->addr, addrs[i].text) == 0) {
                    break;                      /* has it already */
                }
                continue;
            }
            if (fy_shm_get(sp->active)) {
                busy++;
            } else if (free_sp == NULL) {
                free_sp = sp;
            }
        }
        if (k < r->n) {
            continue;
        }
        if (free_sp == NULL) {
            lost += busy == 0;
            continue;
        }
        /* a new server: counters from zero */
        snprintf(up, sizeof(up), "%s", free_sp->upstream);
        in_use = fy_shm_get(free_sp->in_use);
        peer = NULL;
        for (k = 0; k < r->n; k++) {
            peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t,
                                r->first + k);
            if (&fy_shm->peers[peer->shm] == free_sp) {
                break;
            }
        }
        fy_upresolve_slot_init(free_sp, up, r->key, peer);
        fy_shm_set(free_sp->in_use, in_use);
        fy_shm_set(free_sp->weight, addrs[i].weight);
        fy_shm_set(free_sp->resolve_backup, addrs[i].backup);
        if (!peer->down) {
            fy_shm_set(free_sp->state, addrs[i].backup ? FY_PEER_BACKUP
                                                       : FY_PEER_UP);
        }
        /* "[v6]:port" at most: fits */
        len = strnlen(addrs[i].text, sizeof(free_sp->addr) - 1);
        memcpy(free_sp->addr, addrs[i].text, len);
        free_sp->addr[len] = '\0';
        fy_shm_set(free_sp->up_since_ms, fy_wall_msec);
        fy_shm_set(free_sp->absent, 0);
        added++;
        fy_log_error(FY_LOG_NOTICE, 0, "upstream \"%.*s\": server \"%.*s\" "
                     "has address %s", (int) u->name.len, u->name.data,
                     (int) r->server.len, r->server.data, addrs[i].text);
    }

    if (added || removed || changed) {
        fy_shm_add(su->resolve_gen, 1);
        fy_http_upstream_resolve_sync(u);
    } else if (fy_http_upstream_resolve_sync(u)) {
        /* the slots had changed without the generation moving (written
         * around a reload): every process reads them again */
        fy_shm_add(su->resolve_gen, 1);
        u->resolve_gen = fy_shm_get(su->resolve_gen);
    }
    fy_shm_unlock(&su->lock);

    if (lost && !r->overflow) {
        r->overflow = 1;
        fy_log_error(FY_LOG_WARN, 0, "upstream \"%.*s\": server \"%.*s\" "
                     "resolved to more than %d addresses; the others are "
                     "not used", (int) u->name.len, u->name.data,
                     (int) r->server.len, r->server.data, FY_UPRESOLVE_MAX);
    }
}

void
fy_upresolve_next(fy_http_upresolve_t *r, uint64_t ms)
{
    r->timer.data = r;
    r->timer.handler = fy_upresolve_timer;
    fy_timer_add(&r->timer, ms);
}

static void
fy_upresolve_done(fy_resolver_wait_t *w)
{
    fy_http_upresolve_t  *r = w->data;
    fy_sockaddr_t         sa;
    socklen_t             salen;
    unsigned              i, n = 0;
    uint64_t              ms;
    fy_upresolve_addr_t   addrs[2 * FY_DNS_MAX_ADDRS];
    char                  text[FY_SOCKADDR_STRLEN];

    if (w->error && w->error != FY_DNS_NXDOMAIN) {
        /* nginx: a failure that says nothing about the name (timeout,
         * SERVFAIL) keeps the addresses, and asks again soon */
        fy_log_error(FY_LOG_ERR, 0, "%.*s could not be resolved (%d: %s) "
                     "for upstream \"%.*s\"", (int) r->host_len, r->host,
                     w->error, fy_resolver_strerror(w->error),
                     (int) r->u->name.len, r->u->name.data);
        fy_upresolve_next(r, (uint64_t) fy_max(r->u->resolver_timeout,
                                               FY_UPRESOLVE_RETRY));
        return;
    }
    if (w->error) {
        fy_log_error(FY_LOG_ERR, 0, "%.*s could not be resolved (%d: %s) "
                     "for upstream \"%.*s\"", (int) r->host_len, r->host,
                     w->error, fy_resolver_strerror(w->error),
                     (int) r->u->name.len, r->u->name.data);
    }
    for (i = 0; !w->error && i < w->naddrs && n < fy_nelems(addrs); i++) {
        salen = fy_resolver_sockaddr(&w->addrs[i], r->port, &sa);
        fy_sockaddr_text(&sa.sa, salen, text, sizeof(text), 1);
        if (fy_upresolve_find(addrs, n, text) == NULL) {
            memcpy(addrs[n].text, text, sizeof(text));
            addrs[n].weight = r->weight;
            addrs[n].backup = r->backup;
            n++;
        }
    }
    fy_upresolve_write(r, addrs, n);

    /* again when the answer leaves the cache: its TTL, or valid= */
    ms = w->expires > fy_current_msec ? w->expires - fy_current_msec : 0;
    fy_upresolve_next(r, fy_max(ms, (uint64_t) FY_UPRESOLVE_RETRY));
}

static void
fy_upresolve_timer(fy_event_t *ev)
{
    fy_http_upresolve_t  *r = ev->data;
    int                   rc;

    if (fy_http_quitting
        || fy_shm_get(fy_shm->generation) != r->generation)
    {
        return;     /* the next generation's workers watch the name */
    }
    if (r->srvname.len) {
        fy_upresolve_srv_resolve(r);
        return;
    }
    r->wait.handler = fy_upresolve_done;
    r->wait.data = r;
    rc = fy_resolver_resolve(r->u->resolver, r->host, r->host_len,
                             r->u->resolver_timeout, &r->wait);
    if (rc == FY_OK) {
        fy_upresolve_done(&r->wait);
    } else if (rc == FY_ERROR) {
        fy_upresolve_next(r, FY_UPRESOLVE_RETRY);
    }
}

static void
fy_upresolve_start(fy_http_upstream_t *u, uint64_t generation)
{
    fy_http_upresolve_t  *r;

    for (r = u->resolves; r; r = r->next) {
        r->generation = generation;
        r->timer.timer_index = -1;
        fy_upresolve_next(r, 0);
    }
}

void
fy_http_upstream_resolve_init_process(fy_cycle_t *cycle)
{
    fy_array_t  *sups = fy_stream_upstreams(cycle);
    unsigned     i;

    for (i = 0; cycle->http && i < cycle->http->upstreams.nelts; i++) {
        fy_upresolve_start(*fy_array_elt(&cycle->http->upstreams,
                                         fy_http_upstream_t *, i),
                           cycle->generation);
    }
    for (i = 0; sups && i < sups->nelts; i++) {
        fy_upresolve_start(fy_array_elt(sups, fy_stream_upstream_t, i)->u,
                           cycle->generation);
    }
}
