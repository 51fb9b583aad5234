/*
 * fy_http_map.c -- nginx's "map STRING $variable { ... }": a variable
 * whose value is chosen by matching STRING, evaluated per request,
 * against the block's sources.
 *
 * Matching goes as nginx documents it: an exact string (ignoring
 * case); with "hostnames", then the longest "*.example.com" or
 * ".example.com" mask, then the longest "www.example.*" mask; then the
 * regexes in the order written; else "default" (empty if none).  A
 * regex that matches sets $1..$9 and its named groups for the value
 * and for whatever reads them later, as in nginx.
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

#include <ctype.h>

typedef struct {
    fy_str_t        key;        /* lowercase; a mask keeps its '*' / '.' */
    fy_http_cv_t   *value;
    const char     *file;       /* where it was written, for errors */
    unsigned        line;
} fy_http_map_entry_t;

typedef struct {
    fy_http_regex_t  *re;
    fy_http_cv_t     *value;
} fy_http_map_regex_t;

struct fy_http_map_s {
    fy_str_t         name;           /* without '$' */
    fy_http_cv_t    *source;
    fy_array_t       exact;          /* fy_http_map_entry_t, sorted */
    fy_array_t       head;           /* "*.example.com", ".example.com" */
    fy_array_t       tail;           /* "www.example.*" */
    fy_array_t       regexes;        /* fy_http_map_regex_t, as written */
    fy_http_cv_t    *deflt;          /* NULL: the empty string */
    unsigned         index;          /* slot in r->map_values */
    unsigned         defined:1;      /* its block has been read */
    unsigned         assigned:1;     /* a "set" writes it */
    unsigned         hostnames:1;
    unsigned         is_volatile:1;
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
    fy_array_init(&map->exact, cf->pool, 8, sizeof(fy_http_map_entry_t));
    fy_array_init(&map->head, cf->pool, 2, sizeof(fy_http_map_entry_t));
    fy_array_init(&map->tail, cf->pool, 2, sizeof(fy_http_map_entry_t));
    fy_array_init(&map->regexes, cf->pool, 2, sizeof(fy_http_map_regex_t));
    map->next = hmcf->maps;
    hmcf->maps = map;
    return map;
}

/* Report an error at where an entry or a use was written (cf is past
 * it by now). */
static void
fy_http_map_error_at(fy_conf_t *cf, const char *file, unsigned line,
                     const char *what, const fy_str_t *name)
{
    fy_conf_file_t  *saved_file = cf->file, at;
    unsigned         saved_line = cf->line;

    memset(&at, 0, sizeof(at));
    at.name = file;
    cf->file = file ? &at : NULL;
    cf->line = line;
    fy_conf_error(cf, what, (int) name->len, name->data);
    cf->file = saved_file;
    cf->line = saved_line;
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

/* ---- reading a block ---- */

static int
fy_http_map_entry_cmp(const void *a, const void *b)
{
    const fy_http_map_entry_t  *x = a, *y = b;
    size_t                      n = fy_min(x->key.len, y->key.len);
    int                         rc = n ? memcmp(x->key.data, y->key.data, n)
                                       : 0;

    if (rc) {
        return rc;
    }
    return (x->key.len > y->key.len) - (x->key.len < y->key.len);
}

/* Is key a mask nginx takes with "hostnames": "*.a.b", ".a.b" or
 * "a.b.*", with no other '*'?  -1: it has a '*' but is not one. */
static int
fy_http_map_mask(const fy_str_t *key)
{
    const u_char  *star = memchr(key->data, '*', key->len);

    if (key->len > 2 && key->data[0] == '*' && key->data[1] == '.') {
        return memchr(key->data + 1, '*', key->len - 1) ? -1 : 1;
    }
    if (key->len > 2 && key->data[key->len - 1] == '*'
        && key->data[key->len - 2] == '.')
    {
        return star == key->data + key->len - 1 ? 2 : -1;
    }
    if (star) {
        return -1;
    }
    return key->len > 1 && key->data[0] == '.' ? 1 : 0;
}

/* One "SOURCE VALUE;" (or "default", "hostnames", "volatile") line of
 * a map block; cf->handler_data is the map. */
static int
fy_http_map_line(fy_conf_t *cf)
{
    fy_http_map_t        *map = cf->handler_data;
    fy_str_t              key = cf->args[0];
    fy_http_map_entry_t  *e;
    fy_http_map_regex_t  *mr;
    fy_http_cv_t         *value;
    size_t                i;
    int                   caseless;

    if (cf->nargs == 1 && fy_str_eq(&key, "hostnames")) {
        map->hostnames = 1;
        return FY_OK;
    }
    if (cf->nargs == 1 && fy_str_eq(&key, "volatile")) {
        map->is_volatile = 1;
        return FY_OK;
    }
    if (cf->nargs != 2) {
        fy_conf_error(cf, "invalid number of the map parameters");
        return FY_ERROR;
    }

    if (key.len > 1 && key.data[0] == '~') {
        caseless = key.len > 2 && key.data[1] == '*';
        key.data += 1 + caseless;
        key.len -= 1 + caseless;
        mr = fy_array_push(&map->regexes);
        if (mr == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_ERROR;
        }
        /* the regex first: its named groups are variables of the value */
        mr->re = fy_http_regex_compile(cf, &key, caseless);
        if (mr->re == NULL) {
            return FY_ERROR;
        }
        mr->value = fy_http_cv_compile(cf, &cf->args[1]);
        return mr->value ? FY_OK : FY_ERROR;
    }

    value = fy_http_cv_compile(cf, &cf->args[1]);
    if (value == NULL) {
        return FY_ERROR;
    }

    if (fy_str_eq(&key, "default")) {
        if (map->deflt) {
            fy_conf_error(cf, "duplicate default map parameter");
            return FY_ERROR;
        }
        map->deflt = value;
        return FY_OK;
    }

    /* "\~abc", "\default": the string itself */
    if (key.len && key.data[0] == '\\') {
        key.data++;
        key.len--;
    }
    for (i = 0; i < key.len; i++) {
        key.data[i] = (u_char) tolower(key.data[i]);
    }

    e = fy_array_push(&map->exact);
    if (e == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    e->key = key;
    e->value = value;
    e->file = cf->file ? cf->file->name : NULL;
    e->line = cf->line;
    return FY_OK;
}

/* A mask given twice in one list ("conflicting parameter", at the
 * later one, as nginx).  The lists are short and kept in the order
 * written, so a quadratic look is enough. */
static int
fy_http_map_masks_unique(fy_conf_t *cf, fy_array_t *masks)
{
    fy_http_map_entry_t  *e;
    unsigned              i, j;

    for (i = 0; i < masks->nelts; i++) {
        e = fy_array_elt(masks, fy_http_map_entry_t, i);
        for (j = 0; j < i; j++) {
            if (fy_http_map_entry_cmp(fy_array_elt(masks, fy_http_map_entry_t,
                                                   j), e) == 0)
            {
                fy_http_map_error_at(cf, e->file, e->line,
                                     "conflicting parameter \"%.*s\"",
                                     &e->key);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

/* End of a block: sort the strings out into exact ones and masks, sort
 * the exact ones for the binary search, refuse a source given twice. */
static int
fy_http_map_finish(fy_conf_t *cf, fy_http_map_t *map)
{
    fy_array_t            all = map->exact;
    fy_http_map_entry_t  *e, *to;
    unsigned              i;
    int                   kind;

    fy_array_init(&map->exact, cf->pool, all.nelts ? all.nelts : 1,
                  sizeof(fy_http_map_entry_t));
    for (i = 0; i < all.nelts; i++) {
        e = fy_array_elt(&all, fy_http_map_entry_t, i);
        kind = map->hostnames ? fy_http_map_mask(&e->key) : 0;
        if (kind < 0) {
            fy_http_map_error_at(cf, e->file, e->line,
                                 "invalid hostname or wildcard \"%.*s\"",
                                 &e->key);
            return FY_ERROR;
        }
        to = fy_array_push(kind == 0 ? &map->exact
                           : kind == 1 ? &map->head : &map->tail);
        if (to == NULL) {
            fy_conf_error(cf, "cannot allocate memory");
            return FY_ERROR;
        }
        *to = *e;
    }

    if (map->exact.nelts > 1) {
        qsort(map->exact.elts, map->exact.nelts, sizeof(fy_http_map_entry_t),
              fy_http_map_entry_cmp);
    }
    for (i = 1; i < map->exact.nelts; i++) {
        e = fy_array_elt(&map->exact, fy_http_map_entry_t, i);
        if (fy_http_map_entry_cmp(e - 1, e) == 0) {
            /* the later of the two, as nginx reports it */
            to = (e - 1)->file == e->file && (e - 1)->line > e->line
                 ? e - 1 : e;
            fy_http_map_error_at(cf, to->file, to->line,
                                 "conflicting parameter \"%.*s\"", &to->key);
            return FY_ERROR;
        }
    }
    if (fy_http_map_masks_unique(cf, &map->head) != FY_OK
        || fy_http_map_masks_unique(cf, &map->tail) != FY_OK)
    {
        return FY_ERROR;
    }
    return FY_OK;
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
    int                   rc;

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

    cf->handler = fy_http_map_line;
    cf->handler_data = map;
    rc = fy_conf_parse(cf, NULL);
    cf->handler = NULL;
    cf->handler_data = NULL;

    if (rc != FY_OK || fy_http_map_finish(cf, map) != FY_OK) {
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* ---- per request ---- */

/* The longest mask of masks that host matches, or NULL. */
static const fy_http_map_entry_t *
fy_http_map_mask_find(const fy_array_t *masks, const fy_str_t *host,
                      int leading)
{
    const fy_http_map_entry_t  *e, *best = NULL;
    const fy_str_t             *k;
    unsigned                    i;
    int                         match;

    for (i = 0; i < masks->nelts; i++) {
        e = fy_array_elt(masks, fy_http_map_entry_t, i);
        k = &e->key;
        if (leading) {
            /* "*.a.b" and ".a.b": names ending in ".a.b"; ".a.b" is
             * also "a.b" itself */
            size_t  skip = k->data[0] == '*';

            match = (host->len > k->len - skip
                     && memcmp(host->data + host->len - (k->len - skip),
                               k->data + skip, k->len - skip) == 0)
                    || (k->data[0] == '.' && host->len == k->len - 1
                        && memcmp(host->data, k->data + 1, k->len - 1) == 0);
        } else {
            /* "www.a.*": names starting with "www.a." */
            match = host->len > k->len - 1
                    && memcmp(host->data, k->data, k->len - 1) == 0;
        }
        if (match && (best == NULL || k->len > best->key.len)) {
            best = e;
        }
    }
    return best;
}

/* The value map gives for r: its cv, evaluated into *len bytes. */
static u_char *
fy_http_map_eval(fy_http_request_t *r, fy_http_map_t *map, size_t *len)
{
    const fy_http_map_entry_t  *e = NULL;
    fy_http_map_entry_t         probe;
    const fy_http_map_regex_t  *mr;
    const fy_http_cv_t         *value = map->deflt;
    fy_http_captures_t         *caps;
    fy_str_t                    subject, low;
    unsigned                    i;
    int                         rc;

    if (map->eval) {
        return map->eval(r, map->eval_data, len);
    }
    subject.data = fy_http_cv_eval(r, map->source, &subject.len);
    if (subject.data == NULL) {
        return NULL;
    }
    if (map->hostnames && subject.len && subject.data[subject.len - 1] == '.') {
        subject.len--;                  /* "example.com." (nginx) */
    }

    low.len = subject.len;
    low.data = fy_palloc(r->pool, subject.len + 1);
    if (low.data == NULL) {
        return NULL;
    }
    for (i = 0; i < subject.len; i++) {
        low.data[i] = (u_char) tolower(subject.data[i]);
    }

    probe.key = low;
    if (map->exact.nelts) {
        e = bsearch(&probe, map->exact.elts, map->exact.nelts,
                    sizeof(fy_http_map_entry_t), fy_http_map_entry_cmp);
    }
    if (e == NULL && map->hostnames) {
        e = fy_http_map_mask_find(&map->head, &low, 1);
        if (e == NULL) {
            e = fy_http_map_mask_find(&map->tail, &low, 0);
        }
    }
    if (e) {
        value = e->value;
    } else {
        for (i = 0; i < map->regexes.nelts; i++) {
            mr = fy_array_elt(&map->regexes, fy_http_map_regex_t, i);
            caps = NULL;
            rc = fy_http_regex_exec(r, mr->re, &subject, &caps);
            if (rc == FY_ERROR) {
                return NULL;
            }
            if (rc == FY_OK) {
                /* $1..$9 and the named groups are this match's from
                 * now on, for the value and after it (nginx) */
                if (caps) {
                    r->captures = caps;
                }
                value = mr->value;
                break;
            }
        }
    }

    if (value == NULL) {
        *len = 0;
        return (u_char *) "";
    }
    return fy_http_cv_eval(r, value, len);
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
        v->state = !map->is_volatile ? FY_MAP_KNOWN
                   : buf ? FY_MAP_UNKNOWN : FY_MAP_SIZED;
    }

    if (buf && len) {
        memcpy(buf, data, fy_min(size, len));
    }
    return len;
}
