/*
 * fy_http_limit_conn.c -- nginx's limit_conn module: how many requests
 * per key (a client address, a server name) are in progress at once,
 * all workers together.
 *
 *     limit_conn_zone $binary_remote_addr zone=addr:10m;
 *     limit_conn addr 10;
 *
 * As nginx, a connection counts while a request of it is being served:
 * from after its header is read (after limit_req, and after its delay)
 * until the request ends, however it ends.  Each count is a record in
 * the request's pool whose cleanup gives it back (after the access log
 * line); the records are also on a list of the worker, so that a worker
 * told to exit at once (SIGTERM) gives back what its open requests hold
 * before it goes.  Each count also has a "hold" node in the zone with
 * the worker's pid: when a worker dies without giving its counts back
 * (SIGKILL, a crash), the master gives them back as it reaps it
 * (fy_http_limit_reap), where nginx would keep them for ever.
 *
 * The stream block's limit_conn (fy_stream_limit_conn.c) counts with
 * the same fy_http_limit_conn_take / _release.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"

static fy_http_limit_held_t  *fy_http_limit_held;

static const char *fy_http_limit_conn_zone(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_limit_conn_conf(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_limit_conn_commands[] = {

    { "limit_conn_zone", FY_CONF_HTTP, 0, 2, 3,
      fy_http_limit_conn_zone, FY_CONF_LOC_OFF, 0, NULL },

    { "limit_conn", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 2, 2,
      fy_http_limit_conn_conf, FY_CONF_LOC_OFF, 0, NULL },

    { "limit_conn_status", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_int, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_conn_status),
      &fy_http_limit_status_bounds },

    { "limit_conn_log_level", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_conf_set_enum, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_conn_log_level),
      fy_http_limit_log_levels },

    { "limit_conn_dry_run", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, limit_conn_dry_run), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- the directives ---- */

/* The parameters of "limit_conn_zone KEY zone=NAME:SIZE [sync]", for
 * http and stream: the zone, defined in *list, or NULL (said). */
fy_http_limit_zone_t *
fy_http_limit_conn_zone_read(fy_conf_t *cf, fy_http_limit_zone_t **list)
{
    fy_http_limit_zone_t  *z = NULL;
    fy_str_t              *arg, v;
    unsigned               i;

    for (i = 2; i < cf->nargs; i++) {
        arg = &cf->args[i];
        if (arg->len > 5 && memcmp(arg->data, "zone=", 5) == 0 && z == NULL) {
            v.data = arg->data + 5;
            v.len = arg->len - 5;
            z = fy_http_limit_zone_define_in(cf, list, &v, FY_LIMIT_CONN);
            if (z == NULL) {
                return NULL;
            }
            continue;
        }
        if (fy_str_eq(arg, "sync")) {
            fy_conf_error(cf, "the \"sync\" parameter is not supported "
                          "(it needs nginx Plus's zone_sync)");
            return NULL;
        }
        fy_conf_error(cf, "invalid parameter \"%.*s\"", (int) arg->len,
                      arg->data);
        return NULL;
    }
    if (z == NULL) {
        fy_conf_error(cf, "\"limit_conn_zone\" must have \"zone\" parameter");
    }
    return z;
}

/* limit_conn_zone KEY zone=NAME:SIZE [sync] */
static const char *
fy_http_limit_conn_zone(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_limit_zone_t  *z;

    fy_unused(cmd);
    fy_unused(conf);

    z = fy_http_limit_conn_zone_read(cf,
            &((fy_cycle_t *) cf->cycle)->http->limit_zones);
    if (z == NULL) {
        return FY_CONF_ERROR;
    }
    z->key = fy_http_cv_compile(cf, &cf->args[1]);
    return z->key ? FY_CONF_OK : FY_CONF_ERROR;
}

/* The rest of a "limit_conn ZONE N" line, for http and stream: N,
 * checked as nginx checks it, and the pair added to *conns (made on
 * first use) unless ZONE is there already. */
const char *
fy_http_limit_conn_add(fy_conf_t *cf, fy_array_t **conns,
    fy_http_limit_zone_t *z)
{
    fy_http_limit_conn_t  *lim, *old;
    int64_t                n;
    unsigned               i;

    n = fy_atoi(cf->args[2].data, cf->args[2].len);
    if (n <= 0) {
        fy_conf_error(cf, "invalid number of connections \"%.*s\"",
                      (int) cf->args[2].len, cf->args[2].data);
        return FY_CONF_ERROR;
    }
    if (n > 65535) {
        fy_conf_error(cf, "connection limit must be less 65536");
        return FY_CONF_ERROR;
    }
    if (*conns == NULL) {
        *conns = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (*conns == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*conns, cf->pool, 2, sizeof(fy_http_limit_conn_t));
    }
    for (i = 0; i < (*conns)->nelts; i++) {
        old = fy_array_elt(*conns, fy_http_limit_conn_t, i);
        if (old->zone == z) {
            return "is duplicate";
        }
    }
    lim = fy_array_push(*conns);
    if (lim == NULL) {
        return "cannot allocate memory";
    }
    lim->zone = z;
    lim->conns = (unsigned) n;
    return FY_CONF_OK;
}

/* limit_conn ZONE N */
static const char *
fy_http_limit_conn_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t    *lcf = conf;
    fy_http_limit_zone_t  *z;

    fy_unused(cmd);

    z = fy_http_limit_zone_get(cf, &cf->args[1], FY_LIMIT_CONN);
    if (z == NULL) {
        return FY_CONF_ERROR;
    }
    return fy_http_limit_conn_add(cf, &lcf->limit_conns, z);
}


/* ---- counting ---- */

void
fy_http_limit_conn_release(fy_http_limit_held_t *h)
{
    fy_http_limit_shm_t   *shm;

    if (h->zone == NULL) {
        return;
    }
    shm = h->zone->shm;
    fy_shm_lock(&shm->lock);
    fy_http_limit_unhold(shm, fy_http_limit_node(shm, h->hold));
    fy_shm_unlock(&shm->lock);
    h->zone = NULL;

    if (h->prev) {
        h->prev->next = h->next;
    } else {
        fy_http_limit_held = h->next;
    }
    if (h->next) {
        h->next->prev = h->prev;
    }
}

static void
fy_http_limit_conn_cleanup(void *data)
{
    fy_http_limit_conn_release(data);
}

/* Give back every count the request holds (it is rejected). */
static void
fy_http_limit_conn_release_request(fy_http_request_t *r)
{
    fy_http_limit_held_t  *h;

    for (h = r->limit_held; h; h = h->rnext) {
        fy_http_limit_conn_release(h);
    }
    r->limit_held = NULL;
}

void
fy_http_limit_conn_release_all(void)
{
    while (fy_http_limit_held) {
        fy_http_limit_conn_release(fy_http_limit_held);
    }
}

int
fy_http_limit_conn_take(fy_http_limit_held_t *h, fy_http_limit_zone_t *z,
                        const u_char *key, size_t len, uint32_t hash,
                        unsigned max)
{
    fy_http_limit_shm_t   *shm = z->shm;
    fy_http_limit_node_t  *n, *hold;

    fy_shm_lock(&shm->lock);
    n = fy_http_limit_find(shm, key, len, hash);
    if (n && n->conns >= max) {
        fy_shm_unlock(&shm->lock);
        return FY_DECLINED;
    }
    if (n == NULL) {
        n = fy_http_limit_alloc(shm, key, len, hash);
    }
    /* the count is recorded with this process's pid in a node of its
     * own, for the master if this worker dies holding it */
    hold = n ? fy_http_limit_hold(shm, fy_http_limit_index(shm, n),
                                  (uint64_t) fy_getpid())
             : NULL;
    if (hold == NULL) {
        if (n && n->conns == 0) {
            fy_http_limit_free(shm, n);     /* just made */
        }
        fy_shm_unlock(&shm->lock);
        fy_log_error(FY_LOG_ALERT, 0, "could not allocate node in "
                     "limit_conn zone \"%.*s\"", (int) z->name.len,
                     z->name.data);
        return FY_ERROR;
    }
    n->conns++;
    fy_shm_unlock(&shm->lock);

    h->zone = z;
    h->hold = fy_http_limit_index(shm, hold);
    h->prev = NULL;
    h->next = fy_http_limit_held;
    if (h->next) {
        h->next->prev = h;
    }
    fy_http_limit_held = h;
    return FY_OK;
}

/*
 * Accepts a request whose location has limit_conn lines.  Returns FY_OK
 * (counted in every zone whose key is not empty) or the status to
 * answer with (over a limit; nothing stays counted).  Sets
 * $limit_conn_status.
 */
int
fy_http_limit_conn(fy_http_request_t *r)
{
    fy_http_loc_conf_t     *lcf = r->loc;
    fy_array_t             *limits = lcf->limit_conns;
    fy_http_limit_conn_t   *lim;
    fy_http_limit_held_t   *h;
    u_char                  key[FY_LIMIT_KEY_MAX];
    uint32_t                hash;
    unsigned                i;
    size_t                  len;
    int                     rc;
    char                    text[160];

    if (r->limit_conn_status) {
        return FY_OK;       /* once per request, not after a redirect */
    }

    for (i = 0; i < limits->nelts; i++) {
        lim = fy_array_elt(limits, fy_http_limit_conn_t, i);
        len = fy_http_limit_key(r, lim->zone, key, &hash);
        if (len == 0) {
            continue;
        }
        r->limit_conn_status = FY_LIMIT_PASSED;

        /* the record first: nothing may fail once the count is taken */
        h = fy_pcalloc(r->pool, sizeof(*h));
        if (h == NULL
            || fy_pool_cleanup_add(r->pool, fy_http_limit_conn_cleanup, h)
               != FY_OK)
        {
            fy_http_limit_conn_release_request(r);
            return 500;
        }

        rc = fy_http_limit_conn_take(h, lim->zone, key, len, hash,
                                     lim->conns);
        if (rc == FY_DECLINED) {
            snprintf(text, sizeof(text), "limiting connections%s by zone "
                     "\"%.*s\"", lcf->limit_conn_dry_run ? ", dry run," : "",
                     (int) lim->zone->name.len, lim->zone->name.data);
            fy_http_limit_log(r, lcf->limit_conn_log_level, text);
            goto rejected;
        }
        if (rc != FY_OK) {
            goto rejected;
        }
        h->rnext = r->limit_held;
        r->limit_held = h;
    }
    /* passed: counted (status page) in every zone that counts it */
    for (h = r->limit_held; h; h = h->rnext) {
        fy_http_limit_count(h->zone->shm, FY_LIMIT_PASSED);
    }
    return FY_OK;

rejected:
    /* only in the zone that rejects it: those that counted it give
     * their count back at once */
    fy_http_limit_count(lim->zone->shm, lcf->limit_conn_dry_run
                                        ? FY_LIMIT_REJECTED_DRY_RUN
                                        : FY_LIMIT_REJECTED);
    fy_http_limit_conn_release_request(r);
    if (lcf->limit_conn_dry_run) {
        r->limit_conn_status = FY_LIMIT_REJECTED_DRY_RUN;
        return FY_OK;
    }
    r->limit_conn_status = FY_LIMIT_REJECTED;
    return lcf->limit_conn_status;
}
