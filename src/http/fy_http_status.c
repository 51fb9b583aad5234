/*
 * fy_http_status.c -- the "status" and "stub_status" directives, the
 * snapshot of shared memory every page is rendered from, and choosing
 * the format of a status request.
 *
 *     location /status { status; }              HTML, JSON, Prometheus
 *     location = /metrics { status prometheus; }
 *     location = /basic_status { stub_status; }
 *
 * Everything shown comes from shared memory, read with atomic loads:
 * a status request never waits for, nor asks, another process, so a
 * busy or dead worker cannot stall the page.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_status.h"
#include "fy_times.h"

const fy_http_status_event_t  fy_http_status_events[FY_STATUS_NEVENTS] = {
    { "worker_spawns",          offsetof(fy_shm_t, worker_spawns) },
    { "worker_respawns",        offsetof(fy_shm_t, worker_respawns) },
    { "worker_crashes",         offsetof(fy_shm_t, worker_crashes) },
    { "worker_hang_kills",      offsetof(fy_shm_t, worker_hang_kills) },
    { "worker_memory_recycles", offsetof(fy_shm_t, worker_memory_recycles) },
    { "worker_shutdown_kills",  offsetof(fy_shm_t, worker_shutdown_kills) },
    { "worker_disabled",        offsetof(fy_shm_t, worker_disabled) },
    { "handbacks",              offsetof(fy_shm_t, handbacks) },
    { "handbacks_failed",       offsetof(fy_shm_t, handbacks_failed) },
};

const fy_http_status_result_t
    fy_http_status_limit_results[FY_STATUS_NRESULTS] = {
    { "passed", 1 },
    { "delayed", 0 },
    { "rejected", 1 },
    { "delayed_dry_run", 0 },
    { "rejected_dry_run", 1 },
};

static const char *fy_http_status_set(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static void fy_http_status_handler(fy_http_request_t *r);

const fy_command_t  fy_http_status_commands[] = {

    { "status", FY_CONF_SRV | FY_CONF_LOC, 0, 0, 1, fy_http_status_set,
      FY_CONF_LOC_OFF, 0,
      &(const fy_http_handler_pt) { fy_http_status_handler } },

    { "stub_status", FY_CONF_SRV | FY_CONF_LOC, 0, 0, 0,
      fy_http_handler_set, FY_CONF_LOC_OFF, 0,
      &(const fy_http_handler_pt) { fy_http_stub_status_handler } },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_conf_enum_t  fy_http_status_formats[] = {
    { "html", FY_HTTP_STATUS_HTML },
    { "json", FY_HTTP_STATUS_JSON },
    { "prometheus", FY_HTTP_STATUS_PROMETHEUS },
    { NULL, 0 }
};


static const char *
fy_http_status_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t    *lcf = conf;
    const fy_conf_enum_t  *e;
    const char            *rv;

    rv = fy_http_handler_set(cf, cmd, conf);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    lcf->status_format = FY_HTTP_STATUS_HTML;

    if (cf->nargs == 2) {
        for (e = fy_http_status_formats; e->name; e++) {
            if (fy_str_eq(&cf->args[1], e->name)) {
                lcf->status_format = (unsigned) e->value;
                return FY_CONF_OK;
            }
        }
        fy_conf_error(cf, "invalid format \"%s\" in \"status\", expected "
                      "html, json or prometheus", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* ---- the snapshot ---- */

const char *
fy_http_status_worker_state(uint64_t state)
{
    static const char *const  names[] = {
        "free", "starting", "running", "draining", "exited", "disabled"
    };

    return state < fy_nelems(names) ? names[state] : "unknown";
}

const char *
fy_http_status_peer_state(uint64_t state)
{
    static const char *const  names[] = {
        "up", "down", "unavailable", "draining", "backup"
    };

    return state < fy_nelems(names) ? names[state] : "unknown";
}

static void
fy_http_status_copy_worker(fy_http_status_worker_t *w, unsigned slot,
    fy_shm_worker_t *sw)
{
    uint64_t  busy;

    w->slot = slot;
    w->state = fy_shm_get(sw->state);
    w->pid = fy_shm_get(sw->pid);
    w->generation = fy_shm_get(sw->generation);
    w->started_ms = fy_shm_get(sw->started_ms);
    w->heartbeat_ms = fy_shm_get(sw->heartbeat_ms);
    w->restarts = fy_shm_get(sw->restarts);
    w->exit_status = fy_shm_get(sw->exit_status);
    w->exited_ms = fy_shm_get(sw->exited_ms);
    w->handled = fy_shm_get(sw->handled);
    w->requests = fy_shm_get(sw->requests);
    w->bytes_in = fy_shm_get(sw->bytes_in);
    w->bytes_out = fy_shm_get(sw->bytes_out);
    w->dispatched = fy_shm_get(sw->dispatched);

    if (w->state == FY_WORKER_EXITED || w->state == FY_WORKER_DISABLED
        || w->pid == 0)
    {
        /* A dead slot has no connections and no memory, whatever its
         * process last wrote: show it dead, not frozen. */
        w->pid = 0;
        return;
    }

    w->active = fy_shm_get(sw->active);
    w->reading = fy_shm_get(sw->reading);
    w->writing = fy_shm_get(sw->writing);
    w->rss = fy_shm_get(sw->rss);
    w->accepted = fy_shm_get(sw->accepted);

    /* The three gauges are read one after the other while the worker
     * moves connections between them: never show a negative rest. */
    busy = w->reading + w->writing;
    w->waiting = w->active > busy ? w->active - busy : 0;
}

static void
fy_http_status_copy_peer(fy_http_status_peer_t *p, fy_shm_peer_t *sp,
    fy_pool_t *pool)
{
    unsigned  i;

    p->upstream = fy_pstrndup(pool, sp->upstream,
                              strnlen(sp->upstream, sizeof(sp->upstream)));
    p->addr = fy_pstrndup(pool, sp->addr, strnlen(sp->addr,
                                                  sizeof(sp->addr)));
    p->state = fy_shm_get(sp->state);
    p->weight = fy_shm_get(sp->weight);
    p->active = fy_shm_get(sp->active);
    p->requests = fy_shm_get(sp->requests);
    for (i = 0; i < 5; i++) {
        p->responses[i] = fy_shm_get(sp->responses[i]);
    }
    p->failures = fy_shm_get(sp->failures);
    p->retries = fy_shm_get(sp->retries);
    p->bytes_in = fy_shm_get(sp->bytes_in);
    p->bytes_out = fy_shm_get(sp->bytes_out);
    p->check_ms = fy_shm_get(sp->check_ms);
    p->check_ok = fy_shm_get(sp->check_ok);
    p->check_code = fy_shm_get(sp->check_code);
    p->rt_sum_ms = fy_shm_get(sp->rt_sum_ms);

    /* The count is taken as the buckets' sum, not read on its own: a
     * response counted between two loads would otherwise make the
     * histogram disagree with itself (Prometheus wants +Inf == count). */
    p->rt_count = 0;
    for (i = 0; i < FY_RT_BUCKETS; i++) {
        p->rt_buckets[i] = fy_shm_get(sp->rt_buckets[i]);
        p->rt_count += p->rt_buckets[i];
    }
}

static int
fy_http_status_peer_cmp(const void *a, const void *b)
{
    const fy_http_status_peer_t *pa = a, *pb = b;

    /* upstreams by name; servers keep their slot order within one */
    return strcmp(pa->upstream, pb->upstream);
}

fy_http_status_t *
fy_http_status_snapshot(fy_pool_t *pool, int with_peers)
{
    fy_http_status_t         *st;
    fy_http_status_worker_t  *w;
    fy_shm_peer_t            *sp;
    unsigned                  i, n;

    st = fy_pcalloc(pool, sizeof(fy_http_status_t));
    if (st == NULL) {
        return NULL;
    }

    /* the loop's clock of this turn: updating it here would move time
     * under the timers of everything else in the turn */
    st->now_ms = fy_wall_msec;
    st->master_pid = fy_shm_get(fy_shm->master_pid);
    st->start_ms = fy_shm_get(fy_shm->start_ms);
    st->generation = fy_shm_get(fy_shm->generation);
    st->reloads = fy_shm_get(fy_shm->reloads);
    st->reloads_failed = fy_shm_get(fy_shm->reloads_failed);
    st->reload_ms = fy_shm_get(fy_shm->reload_ms);
    st->reload_ok = fy_shm_get(fy_shm->reload_ok);
    st->accepted = fy_shm_get(fy_shm->accepted);
    st->dispatched = fy_shm_get(fy_shm->dispatched);
    st->dispatch_failed = fy_shm_get(fy_shm->dispatch_failed);
    for (i = 0; i < FY_STATUS_NEVENTS; i++) {
        st->events[i] = __atomic_load_n((uint64_t *) ((char *) fy_shm
                                        + fy_http_status_events[i].offset),
                                        __ATOMIC_RELAXED);
    }

    st->workers = fy_pcalloc(pool, FY_MAX_WORKERS
                                   * sizeof(fy_http_status_worker_t));
    if (st->workers == NULL) {
        return NULL;
    }
    for (i = 0; i < FY_MAX_WORKERS; i++) {
        if (fy_shm_get(fy_shm->workers[i].state) == FY_WORKER_FREE) {
            continue;
        }
        w = &st->workers[st->nworkers++];
        fy_http_status_copy_worker(w, i, &fy_shm->workers[i]);

        st->active += w->active;
        st->reading += w->reading;
        st->writing += w->writing;
        st->waiting += w->waiting;
        st->handled += w->handled;
        st->requests += w->requests;
    }

    if (!with_peers) {
        return st;
    }

    n = (unsigned) fy_http_limit_status(pool, &st->zones);
    if ((int) n < 0) {
        return NULL;
    }
    st->nzones = n;

    n = (unsigned) fy_http_cache_status(pool, &st->caches);
    if ((int) n < 0) {
        return NULL;
    }
    st->ncaches = n;

    n = 0;
    for (i = 0; i < FY_MAX_PEERS; i++) {
        /* a slot kept for a "resolve" name's address, without one
         * now, is no server */
        n += fy_shm_get(fy_shm->peers[i].in_use) != 0
             && !fy_shm_get(fy_shm->peers[i].absent);
    }
    st->peers = fy_pcalloc(pool, (n ? n : 1) * sizeof(fy_http_status_peer_t));
    if (st->peers == NULL) {
        return NULL;
    }
    for (i = 0; i < FY_MAX_PEERS && st->npeers < n; i++) {
        sp = &fy_shm->peers[i];
        if (!fy_shm_get(sp->in_use) || fy_shm_get(sp->absent)) {
            continue;
        }
        fy_http_status_copy_peer(&st->peers[st->npeers], sp, pool);
        if (st->peers[st->npeers].upstream == NULL
            || st->peers[st->npeers].addr == NULL)
        {
            return NULL;
        }
        st->npeers++;
    }
    /* a stable sort is not needed for a short list: insertion sort
     * keeps slot order within an upstream, which qsort would not */
    for (i = 1; i < st->npeers; i++) {
        fy_http_status_peer_t  tmp = st->peers[i];
        unsigned               j = i;

        while (j > 0 && fy_http_status_peer_cmp(&st->peers[j - 1], &tmp) > 0)
        {
            st->peers[j] = st->peers[j - 1];
            j--;
        }
        st->peers[j] = tmp;
    }
    return st;
}


/* ---- output ---- */

static int
fy_http_status_reserve(fy_http_status_out_t *o, size_t n)
{
    u_char  *p;
    size_t   size;

    if (o->failed) {
        return FY_ERROR;
    }
    if (o->len + n < o->size) {
        return FY_OK;
    }
    size = o->size ? o->size : 16384;
    while (size <= o->len + n) {
        size *= 2;
    }
    p = fy_palloc(o->pool, size);
    if (p == NULL) {
        o->failed = 1;
        return FY_ERROR;
    }
    if (o->len) {
        memcpy(p, o->data, o->len);
    }
    o->data = p;
    o->size = size;
    return FY_OK;
}

void
fy_http_status_write(fy_http_status_out_t *o, const char *s, size_t n)
{
    if (fy_http_status_reserve(o, n) != FY_OK) {
        return;
    }
    memcpy(o->data + o->len, s, n);
    o->len += n;
}

void
fy_http_status_printf(fy_http_status_out_t *o, const char *fmt, ...)
{
    va_list  ap;
    int      n;

    if (fy_http_status_reserve(o, 256) != FY_OK) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf((char *) o->data + o->len, o->size - o->len, fmt, ap);
    va_end(ap);
    if (n < 0) {
        o->failed = 1;
        return;
    }
    if ((size_t) n >= o->size - o->len) {
        /* longer than the room left: make room and print again */
        if (fy_http_status_reserve(o, (size_t) n + 1) != FY_OK) {
            return;
        }
        va_start(ap, fmt);
        vsnprintf((char *) o->data + o->len, o->size - o->len, fmt, ap);
        va_end(ap);
    }
    o->len += (size_t) n;
}


/* ---- the request ---- */

/*
 * ?format= first; then an Accept that asks for JSON or for the
 * Prometheus text format (what a Prometheus server sends when it
 * scrapes); then the location's default.  "text/html" in Accept does
 * not override a "status prometheus;" location.  -1: unknown format.
 */
static int
fy_http_status_format(fy_http_request_t *r)
{
    fy_http_header_t      *h;
    const fy_conf_enum_t  *e;
    fy_str_t               v;
    unsigned               i;

    if (fy_http_arg(r, (u_char *) "format", 6, &v)) {
        for (e = fy_http_status_formats; e->name; e++) {
            if (fy_str_eq(&v, e->name)) {
                return e->value;
            }
        }
        return -1;
    }

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (!fy_str_eq_ci(&h->name, "Accept")) {
            continue;
        }
        if (memmem(h->value.data, h->value.len, "application/json", 16)) {
            return FY_HTTP_STATUS_JSON;
        }
        if (memmem(h->value.data, h->value.len, "openmetrics-text", 16)
            || memmem(h->value.data, h->value.len, "version=0.0.4", 13))
        {
            return FY_HTTP_STATUS_PROMETHEUS;
        }
    }
    return (int) r->loc->status_format;
}

static void
fy_http_status_handler(fy_http_request_t *r)
{
    static fy_str_t  types[] = {
        fy_string("text/html; charset=utf-8"),
        fy_string("application/json"),
        fy_string("text/plain; version=0.0.4; charset=utf-8")
    };
    fy_http_status_out_t  out;
    fy_http_status_t     *st;
    int                   format;

    if (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD) {
        fy_http_send_error(r, 405);
        return;
    }

    format = fy_http_status_format(r);
    if (format < 0) {
        fy_http_send_error(r, 400);
        return;
    }

    st = fy_http_status_snapshot(r->pool, 1);
    if (st == NULL) {
        fy_http_send_error(r, 500);
        return;
    }

    memset(&out, 0, sizeof(out));
    out.pool = r->pool;

    switch (format) {
    case FY_HTTP_STATUS_JSON:
        fy_http_status_json(&out, st);
        break;
    case FY_HTTP_STATUS_PROMETHEUS:
        fy_http_status_prom(&out, st);
        break;
    default:
        fy_http_status_html(&out, st);
    }

    if (out.failed) {
        fy_log_error(FY_LOG_ALERT, 0, "cannot allocate the status page, "
                     "client %s", r->hc->addr_text);
        fy_http_send_error(r, 500);
        return;
    }

    fy_http_send_response(r, 200, &types[format], out.data, out.len, NULL);
}
