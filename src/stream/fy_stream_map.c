/*
 * fy_stream_map.c -- "map STRING $variable { ... }" in the stream
 * block (nginx's ngx_stream_map_module): a variable whose value is
 * chosen by matching STRING, made of stream variables, against the
 * block's sources.  The block's lines and the matching are http's
 * (fy_http_map_table.c); here the values are texts of stream
 * variables, and a session keeps each map's value once evaluated
 * (unless "volatile").
 *
 * A map's variable may be used before its block, as in nginx: the
 * first use (fy_stream_cv_compile) makes the map, its block fills it,
 * and the end of the stream block reports a use no block filled.  Its
 * variable index is FY_STREAM_VAR_N + its place in smcf->maps.
 *
 * The other variables the config defines (geo, split_clients, set)
 * live in the same list: fy_stream_var_define makes one, with the
 * function that computes its value (a map's is fy_stream_map_eval;
 * none for "set", whose value is only what fy_stream_var_store put),
 * and fy_stream_map_get keeps every value for the session alike (a
 * "set" of a map's variable stores the session's value: the map is
 * then not evaluated, as in nginx).
 *
 * For "proxy_pass $var": the plain values of all of them that are
 * addresses are made upstreams when the block ends
 * (fy_stream_map_addresses), so that a session only ever looks an
 * upstream up by name.
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_worker.h"

struct fy_stream_map_s {
    fy_str_t              name;         /* without '$' */
    fy_stream_cv_t       *source;
    fy_http_map_table_t   table;        /* values: fy_stream_cv_t */
    fy_stream_var_eval_pt eval;         /* map's, geo's, split_clients' */
    fy_stream_var_each_pt each;         /* its plain values, or NULL */
    void                 *data;         /* theirs */
    unsigned              index;        /* in smcf->maps */
    unsigned              defined:1;    /* its block was read */
    unsigned              is_volatile:1;
    unsigned              is_set:1;     /* "set": only what set stores */
    const char           *file;         /* first use, or the block */
    unsigned              line;
};

/* A session's value of one map. */
struct fy_stream_map_value_s {
    u_char    *data;
    size_t     len;
    unsigned   state;
};

#define FY_SMAP_UNKNOWN     0
#define FY_SMAP_EVALUATING  1
#define FY_SMAP_KNOWN       2

static const char *fy_stream_map_block(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_stream_map_commands[] = {

    { "map", FY_CONF_STREAM, FY_CONF_BLOCK, 2, 2, fy_stream_map_block,
      FY_CONF_MAIN_OFF, 0, NULL },

    /* as http's: nginx sizes hash tables with these, ferry's maps are
     * sorted arrays (checked, no effect) */
    { "map_hash_max_size", FY_CONF_STREAM, 0, 1, 1, fy_http_hash_size,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "map_hash_bucket_size", FY_CONF_STREAM, 0, 1, 1, fy_http_hash_size,
      FY_CONF_MAIN_OFF, 0, NULL },

    /* nginx's stream core (1.11.2): ferry looks stream variables up
     * when the configuration is read, in no hash (checked, no effect) */
    { "variables_hash_max_size", FY_CONF_STREAM, 0, 1, 1,
      fy_http_hash_size, FY_CONF_MAIN_OFF, 0, NULL },

    { "variables_hash_bucket_size", FY_CONF_STREAM, 0, 1, 1,
      fy_http_hash_size, FY_CONF_MAIN_OFF, 0, NULL },

    /* nginx 1.25.5's, for stream server_name: ferry's names are sorted
     * arrays (fy_http_names_t), nothing to size (checked, no effect) */
    { "server_names_hash_max_size", FY_CONF_STREAM, 0, 1, 1,
      fy_http_hash_size, FY_CONF_MAIN_OFF, 0, NULL },

    { "server_names_hash_bucket_size", FY_CONF_STREAM, 0, 1, 1,
      fy_http_hash_size, FY_CONF_MAIN_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static size_t fy_stream_map_eval(fy_stream_session_t *s, void *data,
    u_char *buf, size_t size);
static int fy_stream_map_each(void *data,
    int (*fn)(const fy_str_t *value, void *arg), void *arg);

/* A value of a map block: a text of stream variables. */
static void *
fy_stream_map_value(fy_conf_t *cf, const fy_str_t *text)
{
    return fy_stream_cv_compile(cf, text);
}

int
fy_stream_map_group(fy_conf_t *cf, const u_char *name, size_t len)
{
    fy_cycle_t             *cycle = cf->cycle;
    fy_stream_main_conf_t  *smcf = cycle ? cycle->stream : NULL;
    fy_stream_map_t        *map;
    unsigned                i;

    for (i = 0; smcf && i < smcf->maps.nelts; i++) {
        map = *fy_array_elt(&smcf->maps, fy_stream_map_t *, i);
        if (fy_http_map_table_regex_name(&map->table, name, len)) {
            return 1;
        }
    }
    return 0;
}

int
fy_stream_map_reference(fy_conf_t *cf, const u_char *name, size_t len)
{
    fy_cycle_t             *cycle = cf->cycle;
    fy_stream_main_conf_t  *smcf = cycle ? cycle->stream : NULL;
    fy_stream_map_t        *map, **pmap;
    unsigned                i;

    if (smcf == NULL || smcf->maps_checked) {
        return -1;
    }
    for (i = 0; i < smcf->maps.nelts; i++) {
        map = *fy_array_elt(&smcf->maps, fy_stream_map_t *, i);
        if (map->name.len == len && memcmp(map->name.data, name, len) == 0) {
            return FY_STREAM_VAR_N + (int) i;
        }
    }
    map = fy_pcalloc(cf->pool, sizeof(fy_stream_map_t));
    pmap = fy_array_push(&smcf->maps);
    if (map == NULL || pmap == NULL) {
        return -1;
    }
    map->name.data = (u_char *) fy_pstrndup(cf->pool, name, len);
    if (map->name.data == NULL) {
        return -1;
    }
    map->name.len = len;
    map->index = smcf->maps.nelts - 1;
    map->file = cf->file ? cf->file->name : NULL;
    map->line = cf->line;
    fy_http_map_table_init(cf, &map->table, fy_stream_map_value);
    *pmap = map;
    return FY_STREAM_VAR_N + (int) map->index;
}

int
fy_stream_map_done(fy_conf_t *cf, fy_stream_main_conf_t *smcf)
{
    fy_stream_map_t  *map;
    unsigned          i;

    smcf->maps_checked = 1;
    for (i = 0; i < smcf->maps.nelts; i++) {
        map = *fy_array_elt(&smcf->maps, fy_stream_map_t *, i);
        if (!map->defined) {
            fy_http_map_error_at(cf, map->file, map->line,
                                 "unknown \"%.*s\" variable", &map->name);
            return FY_ERROR;
        }
    }
    return FY_OK;
}

int
fy_stream_map_each_value(fy_stream_main_conf_t *smcf,
                         int (*fn)(const fy_str_t *value, void *data),
                         void *data)
{
    fy_stream_map_t  *map;
    unsigned          i;

    for (i = 0; i < smcf->maps.nelts; i++) {
        map = *fy_array_elt(&smcf->maps, fy_stream_map_t *, i);
        if (map->each && map->each(map->data, fn, data) != FY_OK) {
            return FY_ERROR;
        }
    }
    return fy_stream_set_each_value(smcf, fn, data);
}

typedef struct {
    fy_conf_t              *cf;
    fy_stream_main_conf_t  *smcf;
} fy_stream_addr_ctx_t;

/* A value (of a map, geo, split_clients) that is plain text and an
 * address with a port, and no upstream's name: made an upstream of one
 * server now, so that proxy_pass $var finds it in the session as it
 * finds an upstream block (its shared-memory slot is made with the
 * others, no upstream is ever made while running). */
static int
fy_stream_map_address(const fy_str_t *text, void *data)
{
    fy_stream_addr_ctx_t   *ctx = data;
    fy_stream_upstream_t   *su;
    fy_sockaddr_t           sa;
    socklen_t               len;
    unsigned                i;

    if (text->len == 0 || text->len > FY_UPSTREAM_NAME_MAX) {
        return FY_OK;
    }
    for (i = 0; i < ctx->smcf->upstreams.nelts; i++) {
        su = fy_array_elt(&ctx->smcf->upstreams, fy_stream_upstream_t, i);
        if (su->u->name.len == text->len
            && strncasecmp((char *) su->u->name.data, (char *) text->data,
                           text->len) == 0)
        {
            return FY_OK;
        }
    }
    if (fy_parse_addr_port(text->data, text->len, 1, &sa, &len) != FY_OK) {
        return FY_OK;           /* not an address: maps have other uses */
    }
    return fy_stream_upstream_get(ctx->cf, ctx->smcf, text) ? FY_OK
                                                             : FY_ERROR;
}

/* With a "proxy_pass $var" anywhere, every plain value of a map, geo
 * or split_clients that is an address becomes an upstream
 * (fy_stream_map_address). */
int
fy_stream_map_addresses(fy_conf_t *cf, fy_stream_main_conf_t *smcf)
{
    fy_stream_addr_ctx_t   ctx = { cf, smcf };
    fy_stream_srv_conf_t  *scf;
    unsigned               i;

    for (i = 0; i < smcf->servers.nelts; i++) {
        scf = *fy_array_elt(&smcf->servers, fy_stream_srv_conf_t *, i);
        if (scf->upstream_cv) {
            return fy_stream_map_each_value(smcf, fy_stream_map_address,
                                            &ctx);
        }
    }
    return FY_OK;
}

int
fy_stream_var_define(fy_conf_t *cf, const fy_str_t *arg,
                     fy_stream_var_eval_pt eval, fy_stream_var_each_pt each,
                     void *data)
{
    fy_cycle_t             *cycle = cf->cycle;
    fy_stream_main_conf_t  *smcf = cycle->stream;
    fy_stream_map_t        *map;
    fy_str_t                name = *arg;
    size_t                  i;
    int                     var;

    /* "$name" or "${name}", letters, digits and '_' */
    if (name.len < 2 || name.data[0] != '$') {
        fy_conf_error(cf, "invalid variable name \"%.*s\"", (int) arg->len,
                      arg->data);
        return FY_ERROR;
    }
    name.data++;
    name.len--;
    if (name.data[0] == '{' && name.len > 2 && name.data[name.len - 1] == '}')
    {
        name.data++;
        name.len -= 2;
    }
    for (i = 0; i < name.len; i++) {
        u_char  ch = name.data[i];

        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_'))
        {
            fy_conf_error(cf, "invalid variable name \"%.*s\"",
                          (int) arg->len, arg->data);
            return FY_ERROR;
        }
    }
    if (fy_stream_var_builtin(name.data, name.len) >= 0
        || (name.data[0] >= '0' && name.data[0] <= '9'))
    {
        fy_conf_error(cf, "the duplicate \"%.*s\" variable", (int) name.len,
                      name.data);
        return FY_ERROR;
    }

    var = fy_stream_map_reference(cf, name.data, name.len);
    if (var < 0) {
        fy_conf_error(cf, "cannot allocate memory");
        return FY_ERROR;
    }
    map = *fy_array_elt(&smcf->maps, fy_stream_map_t *,
                        var - FY_STREAM_VAR_N);
    /* nginx's map, geo and split_clients variables are changeable: a
     * "set" may set one (its value then wins in that session), and
     * several "set"s one variable; two blocks of one name are an
     * error here (nginx lets the later one win silently) */
    if (map->defined && eval == NULL) {
        return var;
    }
    if (map->defined && !map->is_set) {
        fy_conf_error(cf, "the duplicate \"%.*s\" variable", (int) name.len,
                      name.data);
        return FY_ERROR;
    }
    map->defined = 1;
    map->is_set = eval == NULL;
    map->eval = eval;
    map->each = each;
    map->data = data;
    map->file = cf->file ? cf->file->name : NULL;
    map->line = cf->line;
    return var;
}

/* map STRING $variable { ... } */
static const char *
fy_stream_map_block(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_main_conf_t  *smcf = conf;
    fy_stream_map_t        *map;
    int                     var;

    fy_unused(cmd);

    var = fy_stream_var_define(cf, &cf->args[2], fy_stream_map_eval,
                               fy_stream_map_each, NULL);
    if (var < 0) {
        return FY_CONF_ERROR;
    }
    map = *fy_array_elt(&smcf->maps, fy_stream_map_t *,
                        var - FY_STREAM_VAR_N);
    map->data = map;
    map->source = fy_stream_cv_compile(cf, &cf->args[1]);
    if (map->source == NULL
        || fy_http_map_table_read(cf, &map->table) != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    map->is_volatile = map->table.is_volatile;
    return FY_CONF_OK;
}

typedef struct {
    int   (*fn)(const fy_str_t *value, void *arg);
    void   *arg;
} fy_stream_each_ctx_t;

/* The values of a map block that are plain text (no variables). */
static int
fy_stream_map_each_plain(void *value, void *data)
{
    fy_stream_cv_t        *cv = value;
    fy_stream_each_ctx_t  *ctx = data;

    /* variables in it: found when it is used */
    return cv->n == 1 ? ctx->fn(&cv->parts[0].lit, ctx->arg) : FY_OK;
}

static int
fy_stream_map_each(void *data, int (*fn)(const fy_str_t *value, void *arg),
                   void *arg)
{
    fy_stream_map_t       *map = data;
    fy_stream_each_ctx_t   ctx = { fn, arg };

    return fy_http_map_table_each(&map->table, fy_stream_map_each_plain,
                                  &ctx);
}

/* ---- per session ---- */

/* A map block's value: the source matched against the block. */
static size_t
fy_stream_map_eval(fy_stream_session_t *s, void *data, u_char *buf,
                   size_t size)
{
    fy_stream_map_t       *map = data;
    const fy_stream_cv_t  *value;
    fy_http_captures_t    *caps = NULL;
    fy_str_t               subject;
    u_char                 src[FY_STREAM_VALUE_MAX];
    u_char                 low[FY_STREAM_VALUE_MAX];
    void                  *found;

    subject.data = src;
    subject.len = fy_stream_cv_eval(s, map->source, src, sizeof(src));
    if (map->table.regexes.nelts) {
        /* a regex's groups point into the subject, and are read after
         * this (the value, and later texts: nginx), so it goes into the
         * session's pool */
        subject.data = fy_palloc(s->pool, subject.len + 1);
        if (subject.data == NULL) {
            return FY_STREAM_VAR_FAILED;
        }
        memcpy(subject.data, src, subject.len);
    }
    if (fy_http_map_table_find(&map->table, subject, low, s->pool, &caps,
                               &found) != FY_OK)
    {
        return FY_STREAM_VAR_FAILED;    /* PCRE2 failed: logged */
    }
    if (caps) {
        /* $1..$9 and the named groups are this match's from now on,
         * for the value and after it, as in nginx */
        s->captures = caps;
    }
    value = found;
    return value ? fy_stream_cv_eval(s, value, buf, size) : 0;
}

size_t
fy_stream_var_text(const fy_str_t *v, u_char *buf, size_t size)
{
    size_t  len = v ? fy_min(v->len, size) : 0;

    if (len) {
        memcpy(buf, v->data, len);
    }
    return len;
}

/* The session's slot of var, made when first needed; NULL: no memory. */
static fy_stream_map_value_t *
fy_stream_map_slot(fy_stream_session_t *s, fy_stream_map_t *map)
{
    fy_stream_main_conf_t  *smcf = fy_worker_cycle->stream;

    if (s->map_values == NULL) {
        s->map_values = fy_pcalloc(s->pool, smcf->maps.nelts
                                            * sizeof(fy_stream_map_value_t));
        if (s->map_values == NULL) {
            return NULL;
        }
    }
    return &s->map_values[map->index];
}

int
fy_stream_var_store(fy_stream_session_t *s, int var, const u_char *data,
                    size_t len)
{
    fy_stream_main_conf_t  *smcf = fy_worker_cycle->stream;
    fy_stream_map_value_t  *v;

    v = fy_stream_map_slot(s, *fy_array_elt(&smcf->maps, fy_stream_map_t *,
                                            var - FY_STREAM_VAR_N));
    if (v == NULL || (v->data = fy_palloc(s->pool, len + 1)) == NULL) {
        return FY_ERROR;
    }
    memcpy(v->data, data, len);
    v->len = len;
    v->state = FY_SMAP_KNOWN;
    return FY_OK;
}

size_t
fy_stream_map_get(fy_stream_session_t *s, int var, u_char *buf, size_t size)
{
    fy_stream_main_conf_t      *smcf = fy_worker_cycle->stream;
    fy_stream_map_t            *map;
    fy_stream_map_value_t      *v;
    u_char                      val[FY_STREAM_VALUE_MAX];
    size_t                      len;

    map = *fy_array_elt(&smcf->maps, fy_stream_map_t *,
                        var - FY_STREAM_VAR_N);
    v = fy_stream_map_slot(s, map);
    if (v == NULL) {
        return 0;
    }

    if (v->state == FY_SMAP_KNOWN) {
        len = fy_min(v->len, size);
        memcpy(buf, v->data, len);
        return len;
    }
    if (map->is_set) {
        return 0;               /* no "set" of it ran in this session */
    }
    if (v->state == FY_SMAP_EVALUATING) {
        fy_log_error(FY_LOG_ERR, 0, "cycle while evaluating variable \"%.*s\""
                     ", client: %s", (int) map->name.len, map->name.data,
                     s->addr_text);
        return 0;
    }

    v->state = FY_SMAP_EVALUATING;
    len = map->eval(s, map->data, val, sizeof(val));

    v->state = FY_SMAP_UNKNOWN;
    if (len == FY_STREAM_VAR_FAILED) {
        return 0;               /* not kept: the next use tries again */
    }
    if (!map->is_volatile) {
        v->data = fy_palloc(s->pool, len + 1);
        if (v->data) {
            memcpy(v->data, val, len);
            v->len = len;
            v->state = FY_SMAP_KNOWN;
        }
    }
    len = fy_min(len, size);
    memcpy(buf, val, len);
    return len;
}
