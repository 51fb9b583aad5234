/*
 * fy_http_gzip_conf.c -- the gzip directives (nginx's names and values),
 * stored in fy_http_loc_conf_t.gzip and merged down the levels.  What
 * they do: fy_http_gzip.c (the decision) and fy_http_gzip_stream.c
 * (compressing).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"


static const char *fy_http_gzip_set_proxied(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_gzip_set_disable(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_gzip_set_pow2(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_GZIP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_GZIP_OFF(field) \
    offsetof(fy_http_loc_conf_t, gzip) + offsetof(fy_http_gzip_conf_t, field)

static const fy_conf_bounds_t  fy_http_gzip_level_bounds = { 1, 9 };
static const fy_conf_bounds_t  fy_http_gzip_window_bounds = { 512, 32768 };
static const fy_conf_bounds_t  fy_http_gzip_hash_bounds = { 512, 131072 };

static const fy_conf_enum_t  fy_http_gzip_versions[] = {
    { "1.0", 1000 },
    { "1.1", 1001 },
    { NULL, 0 }
};

static const fy_conf_enum_t  fy_http_gzip_static_modes[] = {
    { "off", FY_HTTP_GZIP_STATIC_OFF },
    { "on", FY_HTTP_GZIP_STATIC_ON },
    { "always", FY_HTTP_GZIP_STATIC_ALWAYS },
    { NULL, 0 }
};

const fy_command_t  fy_http_gzip_commands[] = {

    { "gzip", FY_GZIP_ANY | FY_CONF_LIF, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(enable), NULL },

    { "gzip_static", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_enum, FY_CONF_LOC_OFF,
      FY_GZIP_OFF(static_mode), fy_http_gzip_static_modes },

    { "gzip_types", FY_GZIP_ANY, 0, 1, FY_CONF_MANY, fy_http_types_set,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(types), NULL },

    { "gzip_min_length", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(min_length), NULL },

    { "gzip_comp_level", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(level), &fy_http_gzip_level_bounds },

    { "gzip_buffers", FY_GZIP_ANY, 0, 2, 2, fy_http_gzip_set_buffers,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(bufs), NULL },

    { "gzip_http_version", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_enum,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(http_version), fy_http_gzip_versions },

    { "gzip_proxied", FY_GZIP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_gzip_set_proxied, FY_CONF_LOC_OFF, 0, NULL },

    { "gzip_vary", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      FY_GZIP_OFF(vary), NULL },

    { "gzip_disable", FY_GZIP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_gzip_set_disable, FY_CONF_LOC_OFF, 0, NULL },

    { "gzip_window", FY_GZIP_ANY, 0, 1, 1, fy_http_gzip_set_pow2,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(window), &fy_http_gzip_window_bounds },

    { "gzip_hash", FY_GZIP_ANY, 0, 1, 1, fy_http_gzip_set_pow2,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(hash), &fy_http_gzip_hash_bounds },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- directives ---- */

static fy_http_gzip_conf_t *
fy_http_gzip_conf_of(void *conf)
{
    return &((fy_http_loc_conf_t *) conf)->gzip;
}

const char *
fy_http_gzip_set_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_gzip_bufs_t  *b;
    int64_t               n, size;

    b = (fy_http_gzip_bufs_t *) ((char *) conf + cmd->offset);
    if (b->num != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    size = fy_conf_parse_size(&cf->args[2]);
    if (n < 1 || size < 512 || n * size > 16 * 1024 * 1024) {
        fy_conf_error(cf, "invalid value \"%s %s\" in \"%s\": a "
                      "number of at least 1 and a size of at least 512 "
                      "bytes, 16m in all at most", cf->args[1].data,
                      cf->args[2].data, cmd->name);
        return FY_CONF_ERROR;
    }
    b->num = (int) n;
    b->size = (size_t) size;
    return FY_CONF_OK;
}

static const char *
fy_http_gzip_set_proxied(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const struct {
        const char  *name;
        unsigned     mask;
    } values[] = {
        { "off", FY_HTTP_GZIP_PROXIED_OFF },
        { "expired", FY_HTTP_GZIP_PROXIED_EXPIRED },
        { "no-cache", FY_HTTP_GZIP_PROXIED_NO_CACHE },
        { "no-store", FY_HTTP_GZIP_PROXIED_NO_STORE },
        { "private", FY_HTTP_GZIP_PROXIED_PRIVATE },
        { "no_last_modified", FY_HTTP_GZIP_PROXIED_NO_LM },
        { "no_etag", FY_HTTP_GZIP_PROXIED_NO_ETAG },
        { "auth", FY_HTTP_GZIP_PROXIED_AUTH },
        { "any", FY_HTTP_GZIP_PROXIED_ANY },
    };
    fy_http_gzip_conf_t  *gcf = fy_http_gzip_conf_of(conf);
    unsigned              i, j;

    fy_unused(cmd);

    if (gcf->proxied) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (j = 0; j < fy_nelems(values); j++) {
            if (fy_str_eq(&cf->args[i], values[j].name)) {
                break;
            }
        }
        if (j == fy_nelems(values)) {
            fy_conf_error(cf, "invalid value \"%s\" in \"gzip_proxied\"",
                          cf->args[i].data);
            return FY_CONF_ERROR;
        }
        gcf->proxied |= values[j].mask;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_gzip_set_disable(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_gzip_conf_t   *gcf = fy_http_gzip_conf_of(conf);
    fy_http_regex_t      **re;
    unsigned               i;

    fy_unused(cmd);

    if (gcf->disable) {
        return "is duplicate";
    }
    gcf->disable = fy_palloc(cf->pool, sizeof(fy_array_t));
    if (gcf->disable == NULL) {
        return "out of memory";
    }
    fy_array_init(gcf->disable, cf->pool, cf->nargs,
                  sizeof(fy_http_regex_t *));

    for (i = 1; i < cf->nargs; i++) {
        if (fy_str_eq_ci(&cf->args[i], "msie6")) {
            gcf->disable_msie6 = 1;
            continue;
        }
        re = fy_array_push(gcf->disable);
        if (re == NULL) {
            return "out of memory";
        }
        /* caseless, as nginx compiles gzip_disable regexes */
        *re = fy_http_regex_compile(cf, &cf->args[i], 1);
        if (*re == NULL) {
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

/* gzip_window, gzip_hash: a size that is a power of two in bounds. */
static const char *
fy_http_gzip_set_pow2(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    const fy_conf_bounds_t  *b = cmd->post;
    size_t                  *field;
    int64_t                  v;

    field = (size_t *) ((char *) conf + cmd->offset);
    if (*field != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    v = fy_conf_parse_size(&cf->args[1]);
    if (v < b->min || v > b->max || (v & (v - 1)) != 0) {
        fy_conf_error(cf, "invalid value \"%s\" in \"%s\": it must be a "
                      "power of two from 512 to %lldk", cf->args[1].data,
                      cmd->name, (long long) b->max / 1024);
        return FY_CONF_ERROR;
    }
    *field = (size_t) v;
    return FY_CONF_OK;
}

void
fy_http_gzip_init_conf(fy_http_gzip_conf_t *conf)
{
    memset(conf, 0, sizeof(*conf));
    conf->enable = FY_CONF_UNSET_INT;
    conf->static_mode = FY_CONF_UNSET_INT;
    conf->min_length = FY_CONF_UNSET_SIZE;
    conf->level = FY_CONF_UNSET_INT;
    conf->bufs.num = FY_CONF_UNSET_INT;
    conf->gunzip = FY_CONF_UNSET_INT;
    conf->gunzip_bufs.num = FY_CONF_UNSET_INT;
    conf->http_version = FY_CONF_UNSET_INT;
    conf->vary = FY_CONF_UNSET_INT;
    conf->window = FY_CONF_UNSET_SIZE;
    conf->hash = FY_CONF_UNSET_SIZE;
}

static void
fy_http_gzip_merge_bufs(const fy_http_gzip_bufs_t *prev,
                        fy_http_gzip_bufs_t *conf, int num, size_t size)
{
    if (conf->num == FY_CONF_UNSET_INT) {
        /* prev may be conf itself (the http level) */
        *conf = prev->num != FY_CONF_UNSET_INT ? *prev
                : (fy_http_gzip_bufs_t) { num, size };
    }
}

void
fy_http_gzip_merge_conf(const fy_http_gzip_conf_t *prev,
                        fy_http_gzip_conf_t *conf)
{
    fy_conf_merge(conf->enable, prev->enable, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->static_mode, prev->static_mode, FY_CONF_UNSET_INT,
                  FY_HTTP_GZIP_STATIC_OFF);
    fy_conf_merge(conf->min_length, prev->min_length, FY_CONF_UNSET_SIZE, 20);
    fy_conf_merge(conf->level, prev->level, FY_CONF_UNSET_INT, 1);
    fy_http_gzip_merge_bufs(&prev->bufs, &conf->bufs, 4, 4096);
    fy_conf_merge(conf->gunzip, prev->gunzip, FY_CONF_UNSET_INT, 0);
    /* nginx: 32 4k (allocated as needed); ferry's one buffer of the
     * whole size: 16 KiB, as gzip_buffers' default */
    fy_http_gzip_merge_bufs(&prev->gunzip_bufs, &conf->gunzip_bufs, 4,
                            4096);
    fy_conf_merge(conf->http_version, prev->http_version, FY_CONF_UNSET_INT,
                  1001);
    if (conf->proxied == 0) {
        conf->proxied = prev->proxied ? prev->proxied
                                      : FY_HTTP_GZIP_PROXIED_OFF;
    }
    fy_conf_merge(conf->vary, prev->vary, FY_CONF_UNSET_INT, 0);
    if (conf->types.list == NULL) {
        conf->types = prev->types;
    }
    if (conf->disable == NULL) {
        conf->disable = prev->disable;
        conf->disable_msie6 = prev->disable_msie6;
    }
    fy_conf_merge(conf->window, prev->window, FY_CONF_UNSET_SIZE, 8192);
    fy_conf_merge(conf->hash, prev->hash, FY_CONF_UNSET_SIZE, 16384);
}
