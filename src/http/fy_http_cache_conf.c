/*
 * fy_http_cache_conf.c -- the cache's directives (proxy_cache_path,
 * proxy_cache, proxy_cache_key, proxy_cache_valid, proxy_cache_methods,
 * proxy_cache_bypass, proxy_no_cache, proxy_cache_use_stale, ..._lock,
 * ..._min_uses, ..._revalidate, ..._background_update), their
 * inheritance, and $upstream_cache_status.
 *
 * fastcgi_cache*, uwsgi_cache* and scgi_cache* are the same rows
 * (FY_CACHE_COMMANDS) setting another fy_http_cache_conf_t of the
 * location (fy_http_fastcgi_conf_t.cache), which a location passed to
 * that module copies into the one the cache code reads
 * (fy_http_cgi_apply): one cache, four sets of directives, as nginx's
 * four modules each have theirs.
 *
 * A proxy_cache_path is a shared zone of the limit zones' kind
 * (fy_http_limit_zone.c) whose "key" is the path: the master maps it
 * with the others, and keeps the mapping across a reload while the
 * name, size and path stay the same.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

static const char *fy_http_cache_path(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_cache_conf(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_cache_key(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_cache_valid(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_cache_methods(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_cache_cond(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_cache_use_stale(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_CACHE_LOC  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

/* uses are counted in 15 bits of the index node */
static const fy_conf_bounds_t  fy_http_cache_uses_bounds = { 1, 32767 };

static fy_array_t *
fy_array_create(fy_pool_t *pool, unsigned n, size_t size)
{
    fy_array_t  *a = fy_palloc(pool, sizeof(fy_array_t));

    if (a) {
        fy_array_init(a, pool, n, size);
    }
    return a;
}

/* The rows each module has alike: prefix "proxy", "fastcgi", "uwsgi"
 * or "scgi", field the fy_http_cache_conf_t of the location it sets,
 * kind its zones' FY_LIMIT_* (the *_cache_path row's offset).  One
 * cache: the handlers below set whichever struct the row points at. */
#define FY_CACHE_OFF(field, f) \
    (offsetof(fy_http_loc_conf_t, field) + offsetof(fy_http_cache_conf_t, f))
#define FY_CACHE_COMMANDS(prefix, field, kind)                             \
    { prefix "_cache_path", FY_CONF_HTTP, 0, 2, 8,                         \
      fy_http_cache_path, FY_CONF_LOC_OFF, kind, NULL },                   \
    { prefix "_cache", FY_CACHE_LOC, 0, 1, 1,                              \
      fy_http_cache_conf, FY_CONF_LOC_OFF,                                 \
      offsetof(fy_http_loc_conf_t, field), &fy_http_cache_kinds[kind] },   \
    { prefix "_cache_key", FY_CACHE_LOC, 0, 1, 1,                          \
      fy_http_cache_key, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, key), NULL },\
    { prefix "_cache_valid", FY_CACHE_LOC, 0, 1, 16,                       \
      fy_http_cache_valid, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, valid),    \
      NULL },                                                              \
    { prefix "_cache_methods", FY_CACHE_LOC, 0, 1, 8,                      \
      fy_http_cache_methods, FY_CONF_LOC_OFF,                              \
      FY_CACHE_OFF(field, methods), NULL },                                \
    { prefix "_cache_bypass", FY_CACHE_LOC, 0, 1, 16,                      \
      fy_http_cache_cond, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, bypass),    \
      NULL },                                                              \
    { prefix "_no_cache", FY_CACHE_LOC, 0, 1, 16,                          \
      fy_http_cache_cond, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, no_cache),  \
      NULL },                                                              \
    { prefix "_cache_use_stale", FY_CACHE_LOC, 0, 1, 8,                    \
      fy_http_cache_use_stale, FY_CONF_LOC_OFF,                            \
      FY_CACHE_OFF(field, use_stale), NULL },                              \
    { prefix "_cache_lock", FY_CACHE_LOC, 0, 1, 1,                         \
      fy_conf_set_flag, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, lock), NULL },\
    { prefix "_cache_lock_timeout", FY_CACHE_LOC, 0, 1, 1,                 \
      fy_conf_set_msec, FY_CONF_LOC_OFF,                                   \
      FY_CACHE_OFF(field, lock_timeout), NULL },                           \
    { prefix "_cache_lock_age", FY_CACHE_LOC, 0, 1, 1,                     \
      fy_conf_set_msec, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, lock_age),    \
      NULL },                                                              \
    { prefix "_cache_revalidate", FY_CACHE_LOC, 0, 1, 1,                   \
      fy_conf_set_flag, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, revalidate),  \
      NULL },                                                              \
    { prefix "_cache_background_update", FY_CACHE_LOC, 0, 1, 1,            \
      fy_conf_set_flag, FY_CONF_LOC_OFF,                                   \
      FY_CACHE_OFF(field, background_update), NULL },                      \
    { prefix "_cache_min_uses", FY_CACHE_LOC, 0, 1, 1,                     \
      fy_conf_set_int, FY_CONF_LOC_OFF, FY_CACHE_OFF(field, min_uses),     \
      &fy_http_cache_uses_bounds },                                        \
    { prefix "_cache_max_range_offset", FY_CACHE_LOC, 0, 1, 1,             \
      fy_conf_set_size, FY_CONF_LOC_OFF,                                   \
      FY_CACHE_OFF(field, max_range_offset), NULL }

/* the *_cache rows' post: their zones' kind (indexed by that kind) */
static const unsigned  fy_http_cache_kinds[] = {
    0, 0, 0, FY_LIMIT_CACHE, FY_LIMIT_FASTCGI_CACHE, FY_LIMIT_UWSGI_CACHE,
    FY_LIMIT_SCGI_CACHE
};

const fy_command_t  fy_http_cache_commands[] = {

    FY_CACHE_COMMANDS("proxy", cache, FY_LIMIT_CACHE),
    /* nginx has it for proxy_pass alone: FastCGI and the others pass
     * the client's method in a param, whatever the cache wants */
    { "proxy_cache_convert_head", FY_CACHE_LOC, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_CACHE_OFF(cache, convert_head), NULL },
    FY_CACHE_COMMANDS("fastcgi", fastcgi.cache, FY_LIMIT_FASTCGI_CACHE),
    FY_CACHE_COMMANDS("uwsgi", uwsgi.cache, FY_LIMIT_UWSGI_CACHE),
    FY_CACHE_COMMANDS("scgi", scgi.cache, FY_LIMIT_SCGI_CACHE),

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* "levels=1:2": one to three levels of one or two characters */
static int
fy_http_cache_levels(const u_char *s, size_t len, unsigned *levels)
{
    unsigned  n = 0;
    size_t    i;

    for (i = 0; i < len; i++) {
        if (n == FY_CACHE_LEVELS_MAX || (s[i] != '1' && s[i] != '2')) {
            return FY_ERROR;
        }
        levels[n++] = (unsigned) (s[i] - '0');
        if (i + 1 < len) {
            if (s[++i] != ':' || i + 1 == len) {
                return FY_ERROR;
            }
        }
    }
    return n ? FY_OK : FY_ERROR;
}

/* proxy_cache_path PATH [levels=] keys_zone=NAME:SIZE [inactive=]
 * [max_size=] [use_temp_path=] */
static const char *
fy_http_cache_path(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_cache_path_t  *cp;
    fy_http_limit_zone_t  *z = NULL;
    fy_str_t              *a, v, key;
    int64_t                n;
    unsigned               i;

    fy_unused(conf);

    cp = fy_pcalloc(cf->pool, sizeof(*cp));
    if (cp == NULL) {
        return "cannot allocate memory";
    }
    cp->inactive = 600;                 /* nginx: 10 minutes */
    a = &cf->args[1];
    if (a->len == 0 || memchr(a->data, '$', a->len)) {
        fy_conf_error(cf, "invalid cache path \"%.*s\"", (int) a->len,
                      a->data);
        return FY_CONF_ERROR;
    }
    v = *a;
    while (v.len > 1 && v.data[v.len - 1] == '/') {
        v.len--;
    }
    cp->path = fy_conf_full_name(cf, cf->prefix, &v);
    if (cp->path == NULL) {
        return "cannot allocate memory";
    }
    if (strlen(cp->path) > FY_CACHE_PATH_MAX) {
        /* an entry's name is the path, three levels and 33 bytes: it
         * must fit in PATH_MAX (fy_http_cache_file_name) */
        fy_conf_error(cf, "cache path is too long (%zu bytes, at most %d)",
                      strlen(cp->path), FY_CACHE_PATH_MAX);
        return FY_CONF_ERROR;
    }

    for (i = 2; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 7 && memcmp(a->data, "levels=", 7) == 0) {
            if (fy_http_cache_levels(a->data + 7, a->len - 7, cp->levels)
                != FY_OK)
            {
                fy_conf_error(cf, "invalid \"levels\" \"%.*s\"",
                              (int) (a->len - 7), a->data + 7);
                return FY_CONF_ERROR;
            }
        } else if (a->len > 10 && memcmp(a->data, "keys_zone=", 10) == 0) {
            v.data = a->data + 10;
            v.len = a->len - 10;
            /* duplicate names: nginx's message (a zone of another
             * kind: fy_http_limit_zone_define's "different use") */
            for (z = ((fy_cycle_t *) cf->cycle)->http->limit_zones; z;
                 z = z->next)
            {
                if (z->kind == (unsigned) cmd->offset
                    && memchr(v.data, ':', v.len)
                    && z->name.len == (size_t) ((u_char *) memchr(v.data,
                                                   ':', v.len) - v.data)
                    && memcmp(z->name.data, v.data, z->name.len) == 0)
                {
                    fy_conf_error(cf, "duplicate zone \"%.*s\"",
                                  (int) z->name.len, z->name.data);
                    return FY_CONF_ERROR;
                }
            }
            /* the zone's "key" is the path: a new path, a new index */
            key = cf->args[1];
            cf->args[1].data = (u_char *) cp->path;
            cf->args[1].len = strlen(cp->path);
            z = fy_http_limit_zone_define(cf, &v, (unsigned) cmd->offset);
            cf->args[1] = key;
            if (z == NULL) {
                return FY_CONF_ERROR;
            }
            z->cache = cp;
        } else if (a->len > 9 && memcmp(a->data, "inactive=", 9) == 0) {
            v.data = a->data + 9;
            v.len = a->len - 9;
            n = fy_conf_parse_msec(&v);
            if (n < 1000) {
                fy_conf_error(cf, "invalid inactive value \"%.*s\"",
                              (int) a->len, a->data);
                return FY_CONF_ERROR;
            }
            cp->inactive = n / 1000;
        } else if (a->len > 9 && memcmp(a->data, "max_size=", 9) == 0) {
            v.data = a->data + 9;
            v.len = a->len - 9;
            n = fy_conf_parse_size(&v);
            if (n < 0) {
                fy_conf_error(cf, "invalid max_size value \"%.*s\"",
                              (int) a->len, a->data);
                return FY_CONF_ERROR;
            }
            cp->max_size = (uint64_t) n;
        } else if (fy_str_eq(a, "use_temp_path=on")
                   || fy_str_eq(a, "use_temp_path=off"))
        {
            /* the temporary file is always written in the cache's own
             * directory (see docs/configuration.md) */
        } else {
            fy_conf_error(cf, "invalid parameter \"%.*s\"", (int) a->len,
                          a->data);
            return FY_CONF_ERROR;
        }
    }
    if (z == NULL) {
        fy_conf_error(cf, "\"%s\" must have \"keys_zone\" parameter",
                      cmd->name);
        return FY_CONF_ERROR;
    }
    if (cmd->offset != FY_LIMIT_CACHE) {
        return FY_CONF_OK;      /* fastcgi_cache_key & co. have none */
    }
    v.data = (u_char *) "$scheme$proxy_host$request_uri";
    v.len = strlen((char *) v.data);
    cp->default_key = fy_http_cv_compile(cf, &v);
    return cp->default_key ? FY_CONF_OK : FY_CONF_ERROR;
}

/* proxy_cache ZONE | off (fastcgi_cache ...: the same) */
static const char *
fy_http_cache_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_cache_conf_t  *cc = (void *) ((char *) conf + cmd->offset);

    if (cc->set) {
        return "is duplicate";
    }
    cc->set = 1;
    cc->file = cf->file ? cf->file->name : NULL;
    cc->line = cf->line;
    if (fy_str_eq(&cf->args[1], "off")) {
        return FY_CONF_OK;
    }
    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        fy_conf_error(cf, "variables in \"%s\" are not supported",
                      cmd->name);
        return FY_CONF_ERROR;
    }
    /* a zone defined further down is fine (nginx); the end of the http
     * block reports one never defined, at this line; one of another
     * module's *_cache_path (or a limit zone) is an error, as in nginx */
    cc->zone = fy_http_limit_zone_get(cf, &cf->args[1],
                                      *(const unsigned *) cmd->post);
    return cc->zone ? FY_CONF_OK : FY_CONF_ERROR;
}

static const char *
fy_http_cache_key(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_cv_t  **key = (void *) ((char *) conf + cmd->offset);

    if (*key) {
        return "is duplicate";
    }
    *key = fy_http_cv_compile(cf, &cf->args[1]);
    return *key ? FY_CONF_OK : FY_CONF_ERROR;
}

/* proxy_cache_valid [code ...] time: only a time is 200 301 302 */
static const char *
fy_http_cache_valid(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const int        dflt[] = { 200, 301, 302 };
    fy_array_t            **list = (void *) ((char *) conf + cmd->offset);
    fy_http_cache_valid_t  *v;
    fy_str_t               *a;
    int64_t                 t;
    int                     code;
    unsigned                i;

    a = &cf->args[cf->nargs - 1];
    t = fy_conf_parse_msec(a);
    if (t < 0) {
        fy_conf_error(cf, "invalid time value \"%.*s\"", (int) a->len,
                      a->data);
        return FY_CONF_ERROR;
    }
    if (*list == NULL) {
        *list = fy_array_create(cf->pool, 4, sizeof(fy_http_cache_valid_t));
        if (*list == NULL) {
            return "cannot allocate memory";
        }
    }
    for (i = 1; i < (cf->nargs == 2 ? 4 : cf->nargs - 1); i++) {
        if (cf->nargs == 2) {
            code = dflt[i - 1];
        } else if (fy_str_eq(&cf->args[i], "any")) {
            code = 0;
        } else {
            a = &cf->args[i];
            code = (int) fy_atoi(a->data, a->len);
            if (a->len != 3 || code < 100 || code > 599) {
                fy_conf_error(cf, "invalid status \"%.*s\"", (int) a->len,
                              a->data);
                return FY_CONF_ERROR;
            }
        }
        v = fy_array_push(*list);
        if (v == NULL) {
            return "cannot allocate memory";
        }
        v->status = code;
        v->valid = t / 1000;
    }
    return FY_CONF_OK;
}

/* proxy_cache_methods GET | HEAD | POST ...: GET and HEAD always are */
static const char *
fy_http_cache_methods(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned  *methods = (void *) ((char *) conf + cmd->offset);
    unsigned   i, mask = (1u << FY_HTTP_GET) | (1u << FY_HTTP_HEAD);

    if (*methods) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "POST")) {
            mask |= 1u << FY_HTTP_POST;
        } else if (!fy_str_eq(&cf->args[i], "GET")
                   && !fy_str_eq(&cf->args[i], "HEAD"))
        {
            fy_conf_error(cf, "invalid value \"%.*s\"",
                          (int) cf->args[i].len, cf->args[i].data);
            return FY_CONF_ERROR;
        }
    }
    *methods = mask;
    return FY_CONF_OK;
}

/* proxy_cache_bypass / proxy_no_cache STRING ...: lines add up */
static const char *
fy_http_cache_cond(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_array_t    **list = (fy_array_t **) ((char *) conf + cmd->offset);
    fy_http_cv_t  **cv;
    unsigned        i;

    if (*list == NULL) {
        *list = fy_array_create(cf->pool, 2, sizeof(fy_http_cv_t *));
        if (*list == NULL) {
            return "cannot allocate memory";
        }
    }
    for (i = 1; i < cf->nargs; i++) {
        cv = fy_array_push(*list);
        if (cv == NULL) {
            return "cannot allocate memory";
        }
        *cv = fy_http_cv_compile(cf, &cf->args[i]);
        if (*cv == NULL) {
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

/* proxy_cache_use_stale error | timeout | invalid_header | updating |
 * http_500 | http_502 | http_503 | http_504 | http_403 | http_404 |
 * http_429 | off ... */
static const char *
fy_http_cache_use_stale(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const fy_conf_enum_t  names[] = {
        { "error",    FY_CACHE_STALE_ERROR },
        { "timeout",  FY_CACHE_STALE_TIMEOUT },
        { "invalid_header", FY_CACHE_STALE_INVALID },
        { "http_500", FY_CACHE_STALE_500 },
        { "http_502", FY_CACHE_STALE_502 },
        { "http_503", FY_CACHE_STALE_503 },
        { "http_504", FY_CACHE_STALE_504 },
        { "http_403", FY_CACHE_STALE_403 },
        { "http_404", FY_CACHE_STALE_404 },
        { "http_429", FY_CACHE_STALE_429 },
        { "updating", FY_CACHE_STALE_UPDATING },
        { "off",      0 },
        { NULL, 0 }
    };
    unsigned              *use_stale = (void *) ((char *) conf + cmd->offset);
    const fy_conf_enum_t  *e;
    unsigned               i, mask = FY_CACHE_STALE_SET;

    if (*use_stale) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (e = names; e->name; e++) {
            if (fy_str_eq(&cf->args[i], e->name)) {
                break;
            }
        }
        if (e->name == NULL || (e->value == 0 && cf->nargs > 2)) {
            fy_conf_error(cf, "invalid value \"%.*s\"",
                          (int) cf->args[i].len, cf->args[i].data);
            return FY_CONF_ERROR;
        }
        mask |= (unsigned) e->value;
    }
    *use_stale = mask;
    return FY_CONF_OK;
}

void
fy_http_cache_init_conf(fy_http_cache_conf_t *cc)
{
    cc->lock = FY_CONF_UNSET_INT;
    cc->lock_timeout = FY_CONF_UNSET_MSEC;
    cc->lock_age = FY_CONF_UNSET_MSEC;
    cc->min_uses = FY_CONF_UNSET_INT;
    cc->revalidate = FY_CONF_UNSET_INT;
    cc->background_update = FY_CONF_UNSET_INT;
    cc->max_range_offset = FY_CONF_UNSET_SIZE;
    cc->convert_head = FY_CONF_UNSET_INT;
}

/* A level without its own settings takes its parent's, one by one. */
void
fy_http_cache_merge(fy_http_cache_conf_t *prev, fy_http_cache_conf_t *conf)
{
    fy_conf_merge(conf->lock, prev->lock, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->lock_timeout, prev->lock_timeout, FY_CONF_UNSET_MSEC,
                  5000);
    fy_conf_merge(conf->lock_age, prev->lock_age, FY_CONF_UNSET_MSEC, 5000);
    fy_conf_merge(conf->min_uses, prev->min_uses, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->revalidate, prev->revalidate, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->background_update, prev->background_update,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->max_range_offset, prev->max_range_offset,
                  FY_CONF_UNSET_SIZE, SIZE_MAX);
    fy_conf_merge(conf->convert_head, prev->convert_head, FY_CONF_UNSET_INT,
                  1);
    if (!conf->set) {
        conf->zone = prev->zone;
        conf->set = prev->set;
        conf->file = prev->file;
        conf->line = prev->line;
    }
    if (conf->key == NULL) {
        conf->key = prev->key;
    }
    if (conf->valid == NULL) {
        conf->valid = prev->valid;
    }
    if (conf->methods == 0) {
        conf->methods = prev->methods;
    }
    if (conf->bypass == NULL) {
        conf->bypass = prev->bypass;
    }
    if (conf->no_cache == NULL) {
        conf->no_cache = prev->no_cache;
    }
    if (conf->use_stale == 0) {
        conf->use_stale = prev->use_stale;
    }
}

/* nginx: fastcgi_cache_key, uwsgi_cache_key and scgi_cache_key have
 * no default, and a cache without one is an error */
int
fy_http_cache_check(fy_http_cache_conf_t *cc, const char *prefix)
{
    if (cc->zone == NULL || cc->key != NULL) {
        return FY_OK;
    }
    fy_log_error(FY_LOG_EMERG, 0, "no \"%s_cache_key\" for \"%s_cache\" "
                 "in %s:%u", prefix, prefix, cc->file ? cc->file : "-",
                 cc->line);
    return FY_ERROR;
}

int
fy_http_cache_test(fy_http_request_t *r, fy_array_t *list)
{
    fy_http_cv_t  **cv;
    u_char         *v;
    size_t          len;
    unsigned        i;

    if (list == NULL) {
        return 0;
    }
    for (i = 0; i < list->nelts; i++) {
        cv = fy_array_elt(list, fy_http_cv_t *, i);
        v = fy_http_cv_eval(r, *cv, &len);
        if (v && len && !(len == 1 && v[0] == '0')) {
            return 1;
        }
    }
    return 0;
}

/* $upstream_cache_status */
size_t
fy_http_cache_var_status(fy_http_request_t *r, u_char *buf, size_t size)
{
    static const fy_str_t  names[] = {
        fy_null_string,
        fy_string("MISS"),
        fy_string("BYPASS"),
        fy_string("EXPIRED"),
        fy_string("STALE"),
        fy_string("UPDATING"),
        fy_string("REVALIDATED"),
        fy_string("HIT")
    };
    const fy_str_t  *s;

    if (r->proxy == NULL || r->proxy->cache == NULL) {
        return 0;
    }
    s = &names[r->proxy->cache->status];
    if (buf && s->len) {
        memcpy(buf, s->data, fy_min(size, s->len));
    }
    return s->len;
}
