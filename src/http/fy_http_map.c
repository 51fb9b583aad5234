/*
 * fy_http_map.c -- nginx's "map STRING $variable { ... }": a variable
 * whose value is chosen by matching STRING, evaluated per request,
 * against the block's sources.
 *
 * The block's lines and the matching are fy_http_map_table.c's (the
 * stream block's map shares them): an exact string, masks with
 * "hostnames", regexes, "default".  A regex that matches sets $1..$9
 * and its named groups for the value and for whatever reads them
 * later, as in nginx.
 *
 * A map is evaluated when its variable is first used in a request and
 * the value is kept in the request for later uses, unless the map is
 * "volatile".  Its variable may be used in the configuration before
 * its block (nginx resolves variables after reading everything): the
 * first use makes an empty map that the block fills later, and the end
 * of the http block reports uses no block filled.
 *
 * A variable of the rewrite module's "set" is one of these too, with
 * or without a block: "set" writes the request's value (as nginx's map
 * variables are changeable), and one no block defines is empty until
 * a "set" ran (fy_http_map_assign).
 */
#include "fy_core.h"
#include "fy_http.h"

struct fy_http_map_s {
    fy_str_t         name;           /* without '$' */
    fy_http_cv_t    *source;
    fy_http_map_table_t  table;      /* values: fy_http_cv_t */
    unsigned         index;          /* slot in r->map_values */
    unsigned         defined:1;      /* its block has been read */
    unsigned         assigned:1;     /* a "set" writes it */
    const char      *file;           /* first use, or the block */
    unsigned         line;
    fy_http_main_conf_t  *hmcf;
    fy_http_map_t   *next;
    /* geo, split_clients: another module's block defines the value */
    fy_http_map_eval_pt  eval;
    void            *eval_data;
};

/* A request's value of one map. */
typedef struct {
    u_char    *data;
    size_t     len;
    unsigned   state;            /* FY_MAP_* */
} fy_http_map_value_t;

#define FY_MAP_UNKNOWN     0
#define FY_MAP_EVALUATING  1     /* a map that needs its own value */
#define FY_MAP_KNOWN       2
#define FY_MAP_SIZED       3     /* volatile: sized, to be written once */

static const char *fy_http_map_block(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);

const fy_command_t  fy_http_map_commands[] = {

    { "map", FY_CONF_HTTP, FY_CONF_BLOCK, 2, 2, fy_http_map_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    /* nginx sizes the maps' hash tables with these; ferry's maps are
     * sorted arrays, so they are checked and have no effect */
    { "map_hash_max_size", FY_CONF_HTTP, 0, 1, 1, fy_http_hash_size,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "map_hash_bucket_size", FY_CONF_HTTP, 0, 1, 1, fy_http_hash_size,
      FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* A value of a map block: a text of http variables. */
static void *
fy_http_map_value(fy_conf_t *cf, const fy_str_t *text)
{
    return fy_http_cv_compile(cf, text);
}

static fy_http_map_t *
fy_http_map_find(fy_http_main_conf_t *hmcf, const u_char *name, size_t len)
{
    fy_http_map_t  *map;

    for (map = hmcf->maps; map; map = map->next) {
        if (map->name.len == len && memcmp(map->name.data, name, len) == 0) {
            return map;
        }
    }
    return NULL;
}

fy_http_map_t *
fy_http_map_reference(fy_conf_t *cf, const u_char *name, size_t len)
{
    fy_cycle_t           *cycle = cf->cycle;
    fy_http_main_conf_t  *hmcf = cycle ? cycle->http : NULL;
    fy_http_map_t        *map;

    if (hmcf == NULL || hmcf->maps_checked) {
        return NULL;
    }
    map = fy_http_map_find(hmcf, name, len);
    if (map) {
        return map;
    }

    map = fy_pcalloc(cf->pool, sizeof(fy_http_map_t));
    if (map == NULL) {
        return NULL;
    }
    map->name.data = (u_char *) fy_pstrndup(cf->pool, name, len);
    if (map->name.data == NULL) {
        return NULL;
    }
    map->name.len = len;
    map->file = cf->file ? cf->file->name : NULL;
    map->line = cf->line;
    map->hmcf = hmcf;
    map->index = hmcf->nmaps++;
    fy_http_map_table_init(cf, &map->table, fy_http_map_value);
    map->next = hmcf->maps;
    hmcf->maps = map;
    return map;
}

const char *
fy_http_map_http_done(fy_conf_t *cf, fy_http_main_conf_t *hmcf)
{
    fy_http_map_t  *map;

    hmcf->maps_checked = 1;
    for (map = hmcf->maps; map; map = map->next) {
        if (!map->defined && !map->assigned) {
            fy_http_map_error_at(cf, map->file, map->line,
                                 "unknown \"%.*s\" variable", &map->name);
            return FY_CONF_ERROR;
        }
    }
    return FY_CONF_OK;
}

/* The variable name of a block directive's "$name" (or "${name}")
 * argument in *name, checked as nginx checks it; NULL after logging
 * the error. */
static const char *
fy_http_map_name(fy_conf_t *cf, const fy_str_t *arg, fy_str_t *name)
{
    size_t  i;

    *name = *arg;
    if (name->len < 2 || name->data[0] != '$') {
        fy_conf_error(cf, "invalid variable name \"%s\"", arg->data);
        return FY_CONF_ERROR;
    }
    name->data++;
    name->len--;
    if (name->data[0] == '{' && name->len > 2
        && name->data[name->len - 1] == '}')
    {
        name->data++;
        name->len -= 2;
    }
    for (i = 0; i < name->len; i++) {
        u_char  ch = name->data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_'))
        {
            fy_conf_error(cf, "invalid variable name \"%s\"", arg->data);
            return FY_CONF_ERROR;
        }
    }

    /* A name ferry already has (or one of its prefixes covers) cannot
     * be a map's. */
    if (fy_http_variable_find(name->data, name->len)
        || (name->data[0] >= '0' && name->data[0] <= '9'))
    {
        fy_conf_error(cf, "the duplicate \"%.*s\" variable",
                      (int) name->len, name->data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

fy_http_map_t *
fy_http_map_define(fy_conf_t *cf, const fy_str_t *arg,
                   fy_http_map_eval_pt eval, void *data)
{
    fy_str_t        name;
    fy_http_map_t  *map;

    if (fy_http_map_name(cf, arg, &name) != FY_CONF_OK) {
        return NULL;
    }
    map = fy_http_map_reference(cf, name.data, name.len);
    if (map == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    if (map->defined) {
        fy_conf_error(cf, "the duplicate \"%.*s\" variable",
                      (int) name.len, name.data);
        return NULL;
    }
    map->defined = 1;
    map->eval = eval;
    map->eval_data = data;
    map->file = cf->file ? cf->file->name : NULL;
    map->line = cf->line;
    return map;
}

/* map STRING $variable { ... } */
static const char *
fy_http_map_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_cv_t         *source;
    fy_http_map_t        *map;

    fy_unused(cmd);
    fy_unused(conf);

    map = fy_http_map_define(cf, &cf->args[2], NULL, NULL);
    if (map == NULL) {
        return FY_CONF_ERROR;
    }
    source = fy_http_cv_compile(cf, &cf->args[1]);
    if (source == NULL) {
        return FY_CONF_ERROR;
    }
    map->source = source;
    return fy_http_map_table_read(cf, &map->table) == FY_OK
           ? FY_CONF_OK : FY_CONF_ERROR;
}

/* ---- per request ---- */

/* The value map gives for r: its cv, evaluated into *len bytes. */
static u_char *
fy_http_map_eval(fy_http_request_t *r, fy_http_map_t *map, size_t *len)
{
    const fy_http_cv_t  *value;
    fy_http_captures_t  *caps = NULL;
    fy_str_t             subject;
    u_char              *low;
    void                *v;

    if (map->eval) {
        return map->eval(r, map->eval_data, len);
    }
    subject.data = fy_http_cv_eval(r, map->source, &subject.len);
    if (subject.data == NULL) {
        return NULL;
    }
    low = fy_palloc(r->pool, subject.len + 1);
    if (low == NULL
        || fy_http_map_table_find(&map->table, subject, low, r->pool, &caps,
                                  &v) != FY_OK)
    {
        return NULL;
    }
    if (caps) {
        /* $1..$9 and the named groups are this match's from now on,
         * for the value and after it (nginx) */
        r->captures = caps;
    }
    value = v;
    if (value == NULL) {
        *len = 0;
        return (u_char *) "";
    }
    return fy_http_cv_eval(r, value, len);
}

int
fy_http_map_each_cv(const fy_http_map_t *map,
                    int (*fn)(void *cv, void *data), void *data)
{
    if (map->eval || !map->defined) {
        return FY_DECLINED;
    }
    if (fn(map->source, data) != FY_OK) {
        return FY_ERROR;
    }
    return fy_http_map_table_each(&map->table, fn, data);
}

const fy_str_t *
fy_http_map_var_name(const fy_http_map_t *map)
{
    return &map->name;
}

/* r's value slot of map, NULL when memory ran out. */
static fy_http_map_value_t *
fy_http_map_slot(fy_http_request_t *r, fy_http_map_t *map)
{
    fy_http_map_value_t  *vals = r->map_values;

    if (vals == NULL && r->parent) {
        /* an auth_request subrequest shares its request's values, as
         * nginx's subrequests share variables: made there if need be */
        if (fy_http_map_slot(r->parent, map) == NULL) {
            return NULL;
        }
        vals = r->map_values = r->parent->map_values;
    }
    if (vals == NULL) {
        vals = fy_pcalloc(r->pool, map->hmcf->nmaps * sizeof(*vals));
        if (vals == NULL) {
            return NULL;
        }
        r->map_values = vals;
    }
    return &vals[map->index];
}

fy_http_map_t *
fy_http_map_assignable(fy_conf_t *cf, const u_char *name, size_t len)
{
    fy_http_map_t  *map = fy_http_map_reference(cf, name, len);

    if (map) {
        map->assigned = 1;
    }
    return map;
}

int
fy_http_map_assign(fy_http_request_t *r, fy_http_map_t *map, u_char *data,
                   size_t len)
{
    fy_http_map_value_t  *v = fy_http_map_slot(r, map);

    if (v == NULL) {
        return FY_ERROR;
    }
    v->data = data;
    v->len = len;
    v->state = FY_MAP_KNOWN;
    return FY_OK;
}

size_t
fy_http_map_get(fy_http_request_t *r, fy_http_map_t *map, u_char *buf,
                size_t size)
{
    fy_http_map_value_t  *v;
    u_char               *data;
    size_t                len;

    v = fy_http_map_slot(r, map);
    if (v == NULL) {
        return 0;
    }

    if (!map->defined && v->state != FY_MAP_KNOWN) {
        /* a "set" variable no "set" has written yet: empty */
        if (buf && r->loc && r->loc->uninitialized_variable_warn == 1) {
            fy_log_error(FY_LOG_WARN, 0, "using uninitialized \"%.*s\" "
                         "variable, client %s", (int) map->name.len,
                         map->name.data, r->hc->addr_text);
        }
        return 0;
    }

    if (v->state == FY_MAP_KNOWN || (v->state == FY_MAP_SIZED && buf)) {
        /* a volatile map is evaluated once per use all the same: the
         * text that sized it (buf NULL) is the one written */
        len = v->len;
        data = v->data;
        if (v->state == FY_MAP_SIZED) {
            v->state = FY_MAP_UNKNOWN;
        }

    } else if (v->state == FY_MAP_EVALUATING) {
        fy_log_error(FY_LOG_ERR, 0, "cycle while evaluating variable \"%.*s\""
                     ", client %s", (int) map->name.len, map->name.data,
                     r->hc->addr_text);
        return 0;

    } else {
        v->state = FY_MAP_EVALUATING;
        data = fy_http_map_eval(r, map, &len);
        if (data == NULL) {
            v->state = FY_MAP_UNKNOWN;
            return 0;           /* out of memory, or PCRE2 failed: logged */
        }
        v->data = data;
        v->len = len;
        v->state = !map->table.is_volatile ? FY_MAP_KNOWN
                   : buf ? FY_MAP_UNKNOWN : FY_MAP_SIZED;
    }

    if (buf && len) {
        memcpy(buf, data, fy_min(size, len));
    }
    return len;
}
