/*
 * fy_stream_limit_conn.c -- nginx's ngx_stream_limit_conn_module: how
 * many sessions per key (a client address, a server name) are open at
 * once, all workers together.
 *
 *     limit_conn_zone $binary_remote_addr zone=addr:10m;
 *     server { listen 5432; limit_conn addr 4; proxy_pass db; }
 *
 * Everything but the key is http's limit_conn (fy_http_limit_zone.c,
 * fy_http_limit_conn.c): the zones' mappings and reload, the shared
 * table, the count with its hold node for the master to give back if
 * a worker dies, the worker's list given back on a fast exit.  Here:
 * the directives, the zones' list of the stream block, and the check
 * in the session's preaccess phase (after a PROXY protocol header,
 * before allow/deny, as nginx's phases go), counted until the session
 * ends (a cleanup of its pool).
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_http_limit.h"

static const char *fy_stream_limit_conn_zone(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_stream_limit_conn_conf(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_STREAM_BOTH  (FY_CONF_STREAM | FY_CONF_STREAM_SRV)

const fy_command_t  fy_stream_limit_conn_commands[] = {

    { "limit_conn_zone", FY_CONF_STREAM, 0, 2, 3,
      fy_stream_limit_conn_zone, FY_CONF_MAIN_OFF, 0, NULL },

    { "limit_conn", FY_STREAM_BOTH, 0, 2, 2, fy_stream_limit_conn_conf,
      FY_CONF_SRV_OFF, 0, NULL },

    { "limit_conn_log_level", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, limit_conn_log_level),
      fy_http_limit_log_levels },

    { "limit_conn_dry_run", FY_STREAM_BOTH, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_SRV_OFF, offsetof(fy_stream_srv_conf_t, limit_conn_dry_run),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* limit_conn_zone KEY zone=NAME:SIZE [sync] */
static const char *
fy_stream_limit_conn_zone(fy_conf_t *cf, const fy_command_t *cmd,
                          void *conf)
{
    fy_stream_main_conf_t  *smcf = conf;
    fy_http_limit_zone_t   *z;

    fy_unused(cmd);

    z = fy_http_limit_conn_zone_read(cf, &smcf->limit_zones);
    if (z == NULL) {
        return FY_CONF_ERROR;
    }
    z->stream_key = fy_stream_cv_compile(cf, &cf->args[1]);
    return z->stream_key ? FY_CONF_OK : FY_CONF_ERROR;
}

/* limit_conn ZONE N */
static const char *
fy_stream_limit_conn_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t   *scf = conf;
    fy_stream_main_conf_t  *smcf = cf->ctx->main;
    fy_http_limit_zone_t   *z;

    fy_unused(cmd);

    z = fy_http_limit_zone_get_in(cf, &smcf->limit_zones, &cf->args[1],
                                  FY_LIMIT_CONN);
    if (z == NULL) {
        return FY_CONF_ERROR;
    }
    return fy_http_limit_conn_add(cf, &scf->limit_conns, z);
}

int
fy_stream_limit_conn_done(fy_conf_t *cf, fy_stream_main_conf_t *smcf)
{
    return fy_http_limit_zones_check(cf, smcf->limit_zones) == FY_CONF_OK
           ? FY_OK : FY_ERROR;
}

int
fy_stream_limit_conn_check_names(fy_cycle_t *cycle)
{
    fy_http_limit_zone_t  *z, *hz;

    if (cycle->http == NULL) {
        return FY_OK;
    }
    /* one namespace of shared zones, as nginx's */
    for (z = cycle->stream->limit_zones; z; z = z->next) {
        for (hz = cycle->http->limit_zones; hz; hz = hz->next) {
            if (hz->name.len == z->name.len
                && memcmp(hz->name.data, z->name.data, z->name.len) == 0)
            {
                fy_log_error(FY_LOG_EMERG, 0, "the shared memory zone "
                             "\"%.*s\" is already declared for a different "
                             "use in %s:%u", (int) z->name.len,
                             z->name.data, z->file ? z->file : "",
                             z->line);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

static void
fy_stream_limit_conn_cleanup(void *data)
{
    fy_http_limit_conn_release(data);
}

static void
fy_stream_limit_conn_release_session(fy_stream_session_t *s)
{
    fy_http_limit_held_t  *h;

    for (h = s->limit_held; h; h = h->rnext) {
        fy_http_limit_conn_release(h);
    }
    s->limit_held = NULL;
}

unsigned
fy_stream_limit_conn(fy_stream_session_t *s)
{
    fy_stream_srv_conf_t  *scf = s->scf;
    fy_http_limit_conn_t  *lim = NULL;
    fy_http_limit_held_t  *h;
    u_char                 val[257], key[FY_LIMIT_KEY_MAX];
    uint32_t               hash;
    size_t                 n, len;
    unsigned               i;
    int                    rc;

    for (i = 0; i < scf->limit_conns->nelts; i++) {
        lim = fy_array_elt(scf->limit_conns, fy_http_limit_conn_t, i);
        /* one byte over nginx's 255 is enough to know it is over */
        n = fy_stream_cv_eval(s, lim->zone->stream_key, val, sizeof(val));
        len = fy_http_limit_key_value(lim->zone, val, n, key, &hash);
        if (len == 0) {
            continue;       /* an empty key is not counted (nginx) */
        }
        s->limit_conn_status = FY_LIMIT_PASSED;

        /* the record first: nothing may fail once the count is taken */
        h = fy_pcalloc(s->pool, sizeof(*h));
        if (h == NULL
            || fy_pool_cleanup_add(s->pool, fy_stream_limit_conn_cleanup, h)
               != FY_OK)
        {
            fy_stream_limit_conn_release_session(s);
            return 500;
        }
        rc = fy_http_limit_conn_take(h, lim->zone, key, len, hash,
                                     lim->conns);
        if (rc == FY_DECLINED) {
            fy_log_error(scf->limit_conn_log_level, 0, "limiting "
                         "connections%s by zone \"%.*s\", client: %s, "
                         "server: %s",
                         scf->limit_conn_dry_run ? ", dry run," : "",
                         (int) lim->zone->name.len, lim->zone->name.data,
                         s->addr_text, s->ls->text);
        }
        if (rc != FY_OK) {
            goto rejected;
        }
        h->rnext = s->limit_held;
        s->limit_held = h;
    }
    for (h = s->limit_held; h; h = h->rnext) {
        fy_http_limit_count(h->zone->shm, FY_LIMIT_PASSED);
    }
    return 0;

rejected:
    fy_http_limit_count(lim->zone->shm, scf->limit_conn_dry_run
                                        ? FY_LIMIT_REJECTED_DRY_RUN
                                        : FY_LIMIT_REJECTED);
    fy_stream_limit_conn_release_session(s);
    if (scf->limit_conn_dry_run) {
        s->limit_conn_status = FY_LIMIT_REJECTED_DRY_RUN;
        return 0;
    }
    s->limit_conn_status = FY_LIMIT_REJECTED;
    return 503;     /* nginx's NGX_STREAM_SERVICE_UNAVAILABLE */
}

size_t
fy_stream_limit_conn_var(fy_stream_session_t *s, u_char *buf, size_t size)
{
    const fy_str_t  *name = &fy_http_limit_status_names[s->limit_conn_status];
    size_t           n = fy_min(name->len, size);

    memcpy(buf, name->data, n);
    return n;
}
