/*
 * fy_http_limit_req.c -- nginx's limit_req module: the rate of requests
 * per key (a client address, typically), as a leaky bucket.
 *
 *     limit_req_zone $binary_remote_addr zone=one:10m rate=10r/s;
 *     limit_req zone=one burst=20 delay=5;   # or nodelay
 *
 * Each key has an "excess" in 1/1000 requests: every request adds
 * 1000, time takes away rate * elapsed.  An excess above burst is
 * rejected (limit_req_status, 503); the excess above "delay" (0 by
 * default: all of it, "nodelay": none) is served late, by excess/rate:
 * the connection waits on a timer, the worker goes on.  Several
 * limit_req lines of one level all apply: each is checked, the last is
 * accounted at once and the others after all passed, and the longest
 * delay wins (nginx's order).  Runs once per request, after "return"
 * and before allow/deny (nginx's pre-access phase), before limit_conn.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"

/* nginx's value for "nodelay": an excess never delayed */
#define FY_LIMIT_NODELAY  ((uint64_t) INT64_MAX / 1000)

typedef struct {
    fy_event_t          ev;            /* the delay's timer */
    fy_http_request_t  *r;
} fy_http_limit_delay_t;

static const char *fy_http_limit_req_zone(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_limit_req_conf(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_conf_bounds_t  fy_http_limit_status_bounds = { 400, 599 };

const fy_conf_enum_t  fy_http_limit_log_levels[] = {
    { "info",   FY_LOG_INFO },
    { "notice", FY_LOG_NOTICE },
    { "warn",   FY_LOG_WARN },
    { "error",  FY_LOG_ERR },
    { NULL, 0 }
};

const fy_command_t  fy_http_limit_req_commands[] = {

    { "limit_req_zone", FY_CONF_HTTP, 0, 3, 4,
      fy_http_limit_req_zone, FY_CONF_LOC_OFF, 0, NULL },

    { "limit_req", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 3,
      fy_http_limit_req_conf, FY_CONF_LOC_OFF, 0, NULL },

    { "limit_req_status", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_int, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_req_status),
      &fy_http_limit_status_bounds },

    { "limit_req_log_level", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_conf_set_enum, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_req_log_level),
      fy_http_limit_log_levels },

    { "limit_req_dry_run", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_req_dry_run), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- the directives ---- */

/* limit_req_zone KEY zone=NAME:SIZE rate=Nr/s|Nr/m [sync] */
static const char *
fy_http_limit_req_zone(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_limit_zone_t  *z = NULL;
    fy_str_t              *arg, v;
    int64_t                rate = 0, scale = 1;
    unsigned               i;

    fy_unused(cmd);
    fy_unused(conf);

    for (i = 2; i < cf->nargs; i++) {
        arg = &cf->args[i];
        if (arg->len > 5 && memcmp(arg->data, "zone=", 5) == 0) {
            if (z) {
                return "is duplicate";     /* two zone= */
            }
            v.data = arg->data + 5;
            v.len = arg->len - 5;
            z = fy_http_limit_zone_define(cf, &v, FY_LIMIT_REQ);
            if (z == NULL) {
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (arg->len > 5 && memcmp(arg->data, "rate=", 5) == 0) {
            v.data = arg->data + 5;
            v.len = arg->len - 5;
            if (v.len > 3 && memcmp(v.data + v.len - 3, "r/s", 3) == 0) {
                v.len -= 3;
            } else if (v.len > 3
                       && memcmp(v.data + v.len - 3, "r/m", 3) == 0)
            {
                v.len -= 3;
                scale = 60;
            }
            rate = fy_atoi(v.data, v.len);
            if (rate <= 0 || rate > INT32_MAX) {
                fy_conf_error(cf, "invalid rate \"%.*s\"", (int) arg->len,
                              arg->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (fy_str_eq(arg, "sync")) {
            /* nginx Plus's zone_sync between servers: not in ferry */
            fy_conf_error(cf, "the \"sync\" parameter is not supported "
                          "(it needs nginx Plus's zone_sync)");
            return FY_CONF_ERROR;
        }
        fy_conf_error(cf, "invalid parameter \"%.*s\"", (int) arg->len,
                      arg->data);
        return FY_CONF_ERROR;
    }
    if (z == NULL) {
        fy_conf_error(cf, "\"limit_req_zone\" must have \"zone\" parameter");
        return FY_CONF_ERROR;
    }
    if (rate == 0) {
        fy_conf_error(cf, "\"limit_req_zone\" must have \"rate\" parameter");
        return FY_CONF_ERROR;
    }
    z->rate = (uint64_t) (rate * 1000 / scale);
    if (z->rate == 0) {
        z->rate = 1;      /* "1r/m" is 16 per 1000 s: never 0 */
    }
    return FY_CONF_OK;
}

/* limit_req zone=NAME [burst=N] [nodelay | delay=N] */
static const char *
fy_http_limit_req_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t    *lcf = conf;
    fy_http_limit_req_t   *lim, *old;
    fy_http_limit_zone_t  *z = NULL;
    fy_str_t              *arg, v;
    int64_t                burst = 0, delay = 0;
    unsigned               i;

    fy_unused(cmd);

    for (i = 1; i < cf->nargs; i++) {
        arg = &cf->args[i];
        if (arg->len > 5 && memcmp(arg->data, "zone=", 5) == 0) {
            v.data = arg->data + 5;
            v.len = arg->len - 5;
            z = fy_http_limit_zone_get(cf, &v, FY_LIMIT_REQ);
            if (z == NULL) {
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (arg->len > 6 && memcmp(arg->data, "burst=", 6) == 0) {
            burst = fy_atoi(arg->data + 6, arg->len - 6);
            if (burst <= 0 || burst > INT32_MAX) {
                fy_conf_error(cf, "invalid burst value \"%.*s\"",
                              (int) arg->len, arg->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (arg->len > 6 && memcmp(arg->data, "delay=", 6) == 0) {
            delay = fy_atoi(arg->data + 6, arg->len - 6);
            if (delay <= 0 || delay > INT32_MAX) {
                fy_conf_error(cf, "invalid delay value \"%.*s\"",
                              (int) arg->len, arg->data);
                return FY_CONF_ERROR;
            }
            continue;
        }
        if (fy_str_eq(arg, "nodelay")) {
            delay = -1;
            continue;
        }
        fy_conf_error(cf, "invalid parameter \"%.*s\"", (int) arg->len,
                      arg->data);
        return FY_CONF_ERROR;
    }
    if (z == NULL) {
        fy_conf_error(cf, "\"limit_req\" must have \"zone\" parameter");
        return FY_CONF_ERROR;
    }

    if (lcf->limit_reqs == NULL) {
        lcf->limit_reqs = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (lcf->limit_reqs == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(lcf->limit_reqs, cf->pool, 2,
                      sizeof(fy_http_limit_req_t));
    }
    for (i = 0; i < lcf->limit_reqs->nelts; i++) {
        old = fy_array_elt(lcf->limit_reqs, fy_http_limit_req_t, i);
        if (old->zone == z) {
            return "is duplicate";
        }
    }
    lim = fy_array_push(lcf->limit_reqs);
    if (lim == NULL) {
        return "cannot allocate memory";
    }
    lim->zone = z;
    lim->burst = (uint64_t) burst * 1000;
    lim->delay = delay == -1 ? FY_LIMIT_NODELAY : (uint64_t) delay * 1000;
    return FY_CONF_OK;
}


/* ---- the check ---- */

/* ms since the node's last accounted request, as nginx bounds it: a
 * clock that went back a little counts as 0, a lot as 1 */
static int64_t
fy_http_limit_req_elapsed(fy_http_limit_node_t *n, uint64_t now)
{
    int64_t  ms = (int64_t) (now - n->last);

    if (ms < -60000) {
        return 1;
    }
    return ms < 0 ? 0 : ms;
}

/* What rate (per 1000 s) lets out in ms, in 1/1000 requests; never
 * overflows (a node untouched since boot has last 0). */
static int64_t
fy_http_limit_req_leak(uint64_t rate, int64_t ms)
{
    if (ms > 0 && (uint64_t) ms > (uint64_t) INT64_MAX / rate) {
        return INT64_MAX / 2;
    }
    return (int64_t) (rate * (uint64_t) ms / 1000);
}

/* Under the lock: make room.  With force 0, the least recently used
 * node goes whatever its state, then (as with force 1) at most two
 * more that have been idle for a minute and whose excess has leaked
 * away.  A node held between check and accounting stops the walk. */
static void
fy_http_limit_req_expire(fy_http_limit_zone_t *z, int force)
{
    fy_http_limit_shm_t   *shm = z->shm;
    fy_http_limit_node_t  *n;
    int64_t                ms, excess;
    int                    i = force ? 1 : 0;

    while (i < 3 && shm->lru_tail != FY_LIMIT_NIL) {
        n = fy_http_limit_node(shm, shm->lru_tail);
        if (n->count) {
            return;
        }
        if (i++ != 0) {
            ms = (int64_t) (fy_current_msec - n->last);
            if (ms < 0) {
                ms = -ms;
            }
            if (ms < 60000) {
                return;
            }
            excess = n->excess - fy_http_limit_req_leak(z->rate, ms);
            if (excess > 0) {
                return;
            }
        }
        fy_http_limit_free(shm, n);
    }
}

/*
 * Accepts a limit and its key.  Under the zone's lock, checks the key
 * against the limit: FY_OK (passed and accounted, when account),
 * FY_AGAIN (passed, the node held for fy_http_limit_req_account: *held
 * set), FY_LIMIT_BUSY (over the burst), FY_ERROR (no room in the zone,
 * logged).  *excess is the excess this request would make.
 */
static int
fy_http_limit_req_lookup(fy_http_limit_req_t *lim, const u_char *key,
                         size_t len, uint32_t hash, uint64_t *excess,
                         int account, fy_http_limit_node_t **held)
{
    fy_http_limit_zone_t  *z = lim->zone;
    fy_http_limit_shm_t   *shm = z->shm;
    fy_http_limit_node_t  *n;
    uint64_t               now = fy_current_msec;
    int64_t                ms, e;
    int                    rc;

    fy_shm_lock(&shm->lock);

    n = fy_http_limit_find(shm, key, len, hash);
    if (n) {
        fy_http_limit_touch(shm, n);
        ms = fy_http_limit_req_elapsed(n, now);
        e = n->excess - fy_http_limit_req_leak(z->rate, ms) + 1000;
        if (e < 0) {
            e = 0;
        }
        *excess = (uint64_t) e;
        if ((uint64_t) e > lim->burst) {
            rc = FY_LIMIT_BUSY;
        } else if (account) {
            n->excess = e;
            if (ms) {
                n->last = now;
            }
            rc = FY_OK;
        } else {
            n->count++;
            *held = n;
            rc = FY_AGAIN;
        }
        fy_shm_unlock(&shm->lock);
        return rc;
    }

    *excess = 0;
    fy_http_limit_req_expire(z, 1);
    n = fy_http_limit_alloc(shm, key, len, hash);
    if (n == NULL) {
        fy_http_limit_req_expire(z, 0);
        n = fy_http_limit_alloc(shm, key, len, hash);
    }
    if (n == NULL) {
        fy_shm_unlock(&shm->lock);
        fy_log_error(FY_LOG_ALERT, 0, "could not allocate node in "
                     "limit_req zone \"%.*s\"", (int) z->name.len,
                     z->name.data);
        return FY_ERROR;
    }
    n->excess = 0;
    if (account) {
        n->last = now;
        rc = FY_OK;
    } else {
        /* last 0: the accounting's leak empties it, so that a new key
         * starts at excess 1 request, not more (nginx) */
        n->last = 0;
        n->count = 1;
        *held = n;
        rc = FY_AGAIN;
    }
    fy_shm_unlock(&shm->lock);
    return rc;
}

/* Let go of a node held by lookup without accounting (a later limit
 * rejected the request). */
static void
fy_http_limit_req_unhold(fy_http_limit_zone_t *z, fy_http_limit_node_t *n)
{
    fy_shm_lock(&z->shm->lock);
    n->count--;
    fy_shm_unlock(&z->shm->lock);
}

/* A request passed a zone: counted there as passed, or as delayed
 * when the zone's own excess over its "delay" makes a wait of at least
 * a millisecond (the request waits the longest of the zones' waits). */
static void
fy_http_limit_req_count(fy_http_limit_req_t *lim, uint64_t excess, int dry)
{
    unsigned  result = FY_LIMIT_PASSED;

    if (excess > lim->delay
        && (excess - lim->delay) * 1000 / lim->zone->rate > 0)
    {
        result = dry ? FY_LIMIT_DELAYED_DRY_RUN : FY_LIMIT_DELAYED;
    }
    fy_http_limit_count(lim->zone->shm, result);
}

/* All limits passed: account the held nodes; return the longest delay
 * (ms) and, in *excess and *which, the excess and limit that make it.
 * The last limit's excess (already accounted) comes in *excess, with
 * *which; when it is not one of held's, accounted is 1 and it is
 * counted for the status page here. */
static uint64_t
fy_http_limit_req_account(fy_array_t *limits, fy_http_limit_node_t **held,
                          unsigned last, uint64_t *excess,
                          fy_http_limit_req_t **which, int accounted,
                          int dry)
{
    fy_http_limit_req_t   *lim = *which;
    fy_http_limit_node_t  *n;
    fy_http_limit_shm_t   *shm;
    uint64_t               max_delay, delay, now = fy_current_msec;
    int64_t                ms, e;
    unsigned               i;

    if (accounted) {
        fy_http_limit_req_count(lim, *excess, dry);
    }
    max_delay = *excess <= lim->delay
                ? 0 : (*excess - lim->delay) * 1000 / lim->zone->rate;

    for (i = 0; i < last; i++) {
        n = held[i];
        if (n == NULL) {
            continue;
        }
        lim = fy_array_elt(limits, fy_http_limit_req_t, i);
        shm = lim->zone->shm;

        fy_shm_lock(&shm->lock);
        n->count--;
        ms = fy_http_limit_req_elapsed(n, now);
        e = n->excess - fy_http_limit_req_leak(lim->zone->rate, ms) + 1000;
        if (e < 0) {
            e = 0;
        }
        if (ms) {
            n->last = now;
        }
        n->excess = e;
        fy_shm_unlock(&shm->lock);

        fy_http_limit_req_count(lim, (uint64_t) e, dry);
        if ((uint64_t) e <= lim->delay) {
            continue;
        }
        delay = ((uint64_t) e - lim->delay) * 1000 / lim->zone->rate;
        if (delay > max_delay) {
            max_delay = delay;
            *excess = (uint64_t) e;
            *which = lim;
        }
    }
    return max_delay;
}

/* The delay is over: on to limit_conn and allow/deny. */
static void
fy_http_limit_req_delayed(fy_event_t *ev)
{
    fy_http_limit_delay_t  *d = ev->data;
    fy_http_request_t      *r = d->r;

    r->hc->c->read.handler = fy_event_ignore;
    fy_http_run_access(r);
}

/* The client closed while its request waits: nginx's 499. */
static void
fy_http_limit_req_check_client(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;

    if (fy_http_client_closed(rev)) {
        fy_log_error(FY_LOG_INFO, 0, "client %s prematurely closed "
                     "connection while its request was delayed",
                     hc->addr_text);
        if (hc->r) {
            hc->r->status = 499;
        }
        fy_http_close_connection(hc);
    }
}

static void
fy_http_limit_req_delay_cleanup(void *data)
{
    fy_http_limit_delay_t  *d = data;

    fy_timer_del(&d->ev);
}

/*
 * Accepts a request whose location has limit_req lines.  Returns FY_OK
 * (go on now), FY_AGAIN (delayed: fy_http_run_access runs when the
 * delay is over) or the status to answer with (rejected).  Sets
 * $limit_req_status.
 */
int
fy_http_limit_req(fy_http_request_t *r)
{
    fy_http_loc_conf_t     *lcf = r->loc;
    fy_array_t             *limits = lcf->limit_reqs;
    fy_http_limit_req_t    *lim = NULL;
    fy_http_limit_node_t   *stack[8], **held = stack;
    fy_http_limit_delay_t  *d;
    u_char                  key[FY_LIMIT_KEY_MAX];
    uint64_t                excess = 0, delay;
    uint32_t                hash;
    unsigned                i, n = limits->nelts, last = 0;
    size_t                  len;
    int                     rc = FY_DECLINED, level;
    char                    text[256];

    if (r->limit_req_status) {
        return FY_OK;       /* once per request, not after a redirect */
    }
    if (n > sizeof(stack) / sizeof(stack[0])) {
        held = fy_palloc(r->pool, n * sizeof(*held));
        if (held == NULL) {
            return 500;
        }
    }
    memset(held, 0, n * sizeof(*held));

    for (i = 0; i < n; i++) {
        lim = fy_array_elt(limits, fy_http_limit_req_t, i);
        len = fy_http_limit_key(r, lim->zone, key, &hash);
        if (len == 0) {
            continue;
        }
        r->limit_req_status = FY_LIMIT_PASSED;
        last = i;
        rc = fy_http_limit_req_lookup(lim, key, len, hash, &excess,
                                      i == n - 1, &held[i]);
        if (rc != FY_AGAIN) {
            break;
        }
    }

    if (rc == FY_DECLINED) {
        return FY_OK;       /* every key was empty */
    }

    if (rc == FY_LIMIT_BUSY || rc == FY_ERROR) {
        /* counted in the zone that rejects it only: the zones it was
         * held in are let go without accounting it (nginx) */
        fy_http_limit_count(lim->zone->shm, lcf->limit_req_dry_run
                                            ? FY_LIMIT_REJECTED_DRY_RUN
                                            : FY_LIMIT_REJECTED);
        if (rc == FY_LIMIT_BUSY) {
            snprintf(text, sizeof(text), "limiting requests%s, excess: "
                     "%llu.%03llu by zone \"%.*s\"",
                     lcf->limit_req_dry_run ? ", dry run" : "",
                     (unsigned long long) (excess / 1000),
                     (unsigned long long) (excess % 1000),
                     (int) lim->zone->name.len, lim->zone->name.data);
            fy_http_limit_log(r, lcf->limit_req_log_level, text);
        }
        for (i = 0; i < last; i++) {
            if (held[i]) {
                lim = fy_array_elt(limits, fy_http_limit_req_t, i);
                fy_http_limit_req_unhold(lim->zone, held[i]);
            }
        }
        if (lcf->limit_req_dry_run) {
            r->limit_req_status = FY_LIMIT_REJECTED_DRY_RUN;
            return FY_OK;
        }
        r->limit_req_status = FY_LIMIT_REJECTED;
        return lcf->limit_req_status;
    }

    /* FY_OK: the last limit with a key was the last line, accounted;
     * FY_AGAIN: the last lines had empty keys, nothing accounted yet */
    lim = fy_array_elt(limits, fy_http_limit_req_t, last);
    if (rc == FY_AGAIN) {
        excess = 0;
        last = n;
    }
    delay = fy_http_limit_req_account(limits, held, last, &excess, &lim,
                                      rc == FY_OK, lcf->limit_req_dry_run);
    if (delay == 0) {
        r->limit_req_status = FY_LIMIT_PASSED;
        return FY_OK;
    }

    /* nginx logs a delay one level below a rejection */
    level = lcf->limit_req_log_level == FY_LOG_INFO
            ? FY_LOG_DEBUG : lcf->limit_req_log_level + 1;
    if (fy_log.level >= level) {
        snprintf(text, sizeof(text), "delaying request%s, excess: "
                 "%llu.%03llu, by zone \"%.*s\"",
                 lcf->limit_req_dry_run ? ", dry run" : "",
                 (unsigned long long) (excess / 1000),
                 (unsigned long long) (excess % 1000),
                 (int) lim->zone->name.len, lim->zone->name.data);
        fy_http_limit_log(r, level, text);
    }
    if (lcf->limit_req_dry_run) {
        r->limit_req_status = FY_LIMIT_DELAYED_DRY_RUN;
        return FY_OK;
    }
    r->limit_req_status = FY_LIMIT_DELAYED;

    d = fy_pcalloc(r->pool, sizeof(*d));
    if (d == NULL
        || fy_pool_cleanup_add(r->pool, fy_http_limit_req_delay_cleanup, d)
           != FY_OK)
    {
        return 500;
    }
    d->r = r;
    d->ev.data = d;
    d->ev.handler = fy_http_limit_req_delayed;
    d->ev.timer_index = -1;
    fy_timer_add(&d->ev, delay);
    r->hc->c->read.handler = fy_http_limit_req_check_client;
    return FY_AGAIN;
}
