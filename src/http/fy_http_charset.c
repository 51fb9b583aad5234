/*
 * fy_http_charset.c -- nginx's charset module, its decisions:
 *
 *     charset          utf-8;          # or off (the default)
 *     charset_types    text/html text/css;   # or *
 *     source_charset   utf-8;
 *     override_charset off;
 *
 * "charset" adds "; charset=NAME" to the Content-Type of responses
 * whose type is one of charset_types (default text/html, text/xml,
 * text/plain, text/vnd.wap.wml, application/javascript,
 * application/rss+xml) and that name no charset yet: static files,
 * ferry's own answers and error pages, proxied responses.
 *
 * When the body's charset (source_charset, or with override_charset on
 * a proxied response's own) is another than "charset", the body is
 * recoded with the charset_map between the two (fy_http_charset_map.c,
 * fy_http_charset_recode.c; the bytes go through sub_filter's stream).
 * A source_charset without a map to its charset is a configuration
 * error, as in nginx; a proxied response's charset without one is
 * logged, "no "charset_map" between the charsets ...", and the response
 * passes as it is.  When the two name the same charset the response is
 * marked as nginx marks it.
 *
 * Both may have variables ("charset $cs;", typically a map's), their
 * values evaluated once per request; then the map is looked for per
 * response.  An upstream's X-Accel-Charset names the charset instead
 * (r->accel_charset, fy_http_proxy_accel.c), when the configuration
 * names that charset somewhere (fy_http_charset_register).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_charset.h"


struct fy_http_charset_conf_s {
    fy_str_t     charset;           /* data NULL: unset; len 0: off */
    fy_http_cv_t *charset_cv;       /* charset $var: evaluated per
                                       request (charset: its text) */
    fy_str_t     source_charset;    /* data NULL: unset; len 0: off */
    fy_http_cv_t *source_cv;        /* source_charset $var, as charset's */
    fy_http_types_t  types;         /* charset_types */
    int          override_charset;
    /* source_charset to charset, when they differ (the merge finds it) */
    const fy_http_recode_t  *recode;
    fy_http_main_conf_t     *hmcf;  /* its charset_map blocks */
    const char  *source_file;       /* where source_charset was given */
    unsigned     source_line;
};

static const char *fy_http_charset_name(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void *fy_http_charset_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf);
static int fy_http_charset_eq(const fy_str_t *a, const fy_str_t *b);
static int fy_http_charset_known(const struct fy_http_charset_conf_s *cc,
    const fy_str_t *name);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
/* a row's setter runs on the level's charset settings
 * (fy_http_module_set) */
#define FY_CHARSET_SET(set)                                                \
    &(const fy_http_module_set_t) { fy_http_charset_conf, set, NULL }

const fy_command_t  fy_http_charset_commands[] = {

    { "charset", FY_HTTP_ANY | FY_CONF_LIF, 0, 1, 1, fy_http_charset_name,
      FY_CONF_LOC_OFF, offsetof(struct fy_http_charset_conf_s, charset),
      NULL },

    { "source_charset", FY_HTTP_ANY | FY_CONF_LIF, 0, 1, 1,
      fy_http_charset_name, FY_CONF_LOC_OFF,
      offsetof(struct fy_http_charset_conf_s, source_charset), NULL },

    { "charset_types", FY_HTTP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_module_set, FY_CONF_LOC_OFF,
      offsetof(struct fy_http_charset_conf_s, types),
      FY_CHARSET_SET(fy_http_types_set) },

    { "override_charset", FY_HTTP_ANY | FY_CONF_LIF, 0, 1, 1,
      fy_http_module_set, FY_CONF_LOC_OFF,
      offsetof(struct fy_http_charset_conf_s, override_charset),
      FY_CHARSET_SET(fy_conf_set_flag) },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static fy_str_t  fy_http_charset_default_types[] = {
    fy_string("text/html"),
    fy_string("text/xml"),
    fy_string("text/plain"),
    fy_string("text/vnd.wap.wml"),
    fy_string("application/javascript"),
    fy_string("application/rss+xml"),
};


/* The level's own settings, made on first use. */
static void *
fy_http_charset_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->charset == NULL) {
        lcf->charset = fy_pcalloc(cf->pool,
                                  sizeof(struct fy_http_charset_conf_s));
        if (lcf->charset) {
            lcf->charset->override_charset = FY_CONF_UNSET_INT;
            lcf->charset->hmcf = ((fy_cycle_t *) cf->cycle)->http;
        }
    }
    return lcf->charset;
}

/* charset NAME | off; source_charset NAME | off.  A name goes into a
 * header as it is: a token (RFC 9110 5.6.2), as IANA's names are. */
static const char *
fy_http_charset_name(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    struct fy_http_charset_conf_s  *cc = fy_http_charset_conf(cf, conf);
    fy_str_t                       *field, *v = &cf->args[1];
    fy_http_cv_t                   *cv;

    if (cc == NULL) {
        return "cannot allocate memory";
    }
    field = (fy_str_t *) ((char *) cc + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }
    if (field == &cc->source_charset) {
        cc->source_file = cf->file ? cf->file->name : NULL;
        cc->source_line = cf->line;
    }
    if (fy_str_eq(v, "off")) {
        field->data = (u_char *) "";
        field->len = 0;
        return FY_CONF_OK;
    }
    if (memchr(v->data, '$', v->len)) {
        /* as nginx: evaluated per response, whether a map joins the two
         * known then only */
        cv = fy_http_cv_compile(cf, v);
        if (cv == NULL) {
            return FY_CONF_ERROR;
        }
        if (field == &cc->charset) {
            cc->charset_cv = cv;
        } else {
            cc->source_cv = cv;
        }
        *field = *v;
        return FY_CONF_OK;
    }
    if (!fy_http_is_token(v->data, v->len)) {
        fy_conf_error(cf, "invalid charset name \"%s\"", v->data);
        return FY_CONF_ERROR;
    }
    *field = *v;
    return fy_http_charset_register(cf, v) == FY_OK
           ? FY_CONF_OK : "cannot allocate memory";
}

/*
 * A charset named in the configuration (charset, source_charset,
 * charset_map): one an upstream's X-Accel-Charset may name, as nginx
 * knows no other.  The http level gets charset settings of its own
 * (all defaults), so that every location reaches the list.
 */
int
fy_http_charset_register(fy_conf_t *cf, const fy_str_t *name)
{
    fy_http_main_conf_t  *hmcf = ((fy_cycle_t *) cf->cycle)->http;
    fy_str_t             *n;

    if (fy_http_charset_conf(cf, hmcf->loc) == NULL) {
        return FY_ERROR;
    }
    if (hmcf->charset_names.elts == NULL) {
        fy_array_init(&hmcf->charset_names, cf->pool, 8, sizeof(fy_str_t));
    }
    n = fy_array_push(&hmcf->charset_names);
    if (n == NULL) {
        return FY_ERROR;
    }
    *n = *name;
    return FY_OK;
}

static int
fy_http_charset_known(const struct fy_http_charset_conf_s *cc,
                      const fy_str_t *name)
{
    const fy_array_t  *names;
    unsigned           i;

    if (cc == NULL) {
        return 0;
    }
    names = &cc->hmcf->charset_names;
    for (i = 0; i < names->nelts; i++) {
        if (fy_http_charset_eq(fy_array_elt(names, fy_str_t, i), name)) {
            return 1;
        }
    }
    return 0;
}

/* Called from fy_http_merge_loc for every level, parent first: a level
 * without any charset directive shares its parent's settings. */
void
fy_http_charset_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    struct fy_http_charset_conf_s  *c = conf->charset, *p = prev->charset;
    static fy_array_t               defaults;

    if (c == NULL) {
        conf->charset = p;
        conf->charset_on = prev->charset_on;
        conf->charset_recodes = prev->charset_recodes;
        return;
    }
    if (c == p) {
        p = NULL;               /* the http level merged with itself:
                                   the defaults */
    }
    if (c->charset.data == NULL) {
        c->charset = p ? p->charset : (fy_str_t) { 0, (u_char *) "" };
        c->charset_cv = p ? p->charset_cv : NULL;
    }
    if (c->source_charset.data == NULL) {
        c->source_charset = p ? p->source_charset
                              : (fy_str_t) { 0, (u_char *) "" };
        c->source_cv = p ? p->source_cv : NULL;
        if (p) {
            c->source_file = p->source_file;
            c->source_line = p->source_line;
        }
    }
    if (c->types.list == NULL) {
        if (p) {
            c->types = p->types;
        } else {
            defaults.elts = fy_http_charset_default_types;
            defaults.nelts = fy_nelems(fy_http_charset_default_types);
            defaults.size = sizeof(fy_str_t);
            c->types.list = &defaults;
        }
    }
    if (c->override_charset == FY_CONF_UNSET_INT) {
        c->override_charset = p ? p->override_charset : 0;
    }
    conf->charset_on = c->charset.len != 0;
    conf->charset_recodes = conf->charset_on
        && (c->override_charset
            || (c->source_charset.len
                && (c->charset_cv || c->source_cv
                    || !fy_http_charset_eq(&c->source_charset,
                                           &c->charset))));
    /* with a variable, which map is known per response only */
    if (c->charset.len && c->charset_cv == NULL && c->source_cv == NULL
        && c->source_charset.len
        && !fy_http_charset_eq(&c->source_charset, &c->charset))
    {
        c->recode = fy_http_charset_recoder(c->hmcf->charset_maps,
                                            &c->source_charset, &c->charset);
        if (c->recode == NULL && c->hmcf->charset_missing == NULL) {
            c->hmcf->charset_missing = c;   /* fy_http_charset_check */
        }
    }
}

int
fy_http_charset_check(fy_http_main_conf_t *hmcf)
{
    const struct fy_http_charset_conf_s  *c = hmcf->charset_missing;

    if (c == NULL) {
        return FY_OK;
    }
    fy_log_error(FY_LOG_EMERG, 0, "no \"charset_map\" between the charsets "
                 "\"%.*s\" and \"%.*s\" in %s:%u",
                 (int) c->source_charset.len, (char *) c->source_charset.data,
                 (int) c->charset.len, (char *) c->charset.data,
                 c->source_file ? c->source_file : "?", c->source_line);
    return FY_ERROR;
}

/* The value of a "charset=" parameter of type (quotes taken off), and
 * where the parameters begin (*params: the ';' before it); 0 if none. */
static int
fy_http_charset_param(const fy_str_t *type, fy_str_t *name, size_t *params)
{
    u_char  *p = type->data, *last = type->data + type->len, *semi;

    for (p = type->data; p < last; p++) {
        if (*p != ';') {
            continue;
        }
        semi = p;
        while (p + 1 < last && p[1] == ' ') {
            p++;
        }
        if (last - (p + 1) < 8 || strncasecmp((char *) p + 1, "charset=", 8)) {
            continue;
        }
        p += 9;
        if (p < last && *p == '"') {
            p++;
        }
        if (last > p && last[-1] == '"') {
            last--;
        }
        name->data = p;
        name->len = (size_t) (last - p);
        *params = (size_t) (semi - type->data);
        return 1;
    }
    return 0;
}

static int
fy_http_charset_eq(const fy_str_t *a, const fy_str_t *b)
{
    return a->len == b->len
           && strncasecmp((char *) a->data, (char *) b->data, a->len) == 0;
}


/*
 * The charset of a "source_charset $var": the value, evaluated once per
 * request (r->charset_src); empty: as "off".  NULL: no memory.
 */
static const fy_str_t *
fy_http_charset_src(fy_http_request_t *r,
                    const struct fy_http_charset_conf_s *cc)
{
    fy_str_t  v;

    if (cc->source_cv == NULL) {
        return &cc->source_charset;
    }
    if (r->charset_src_of != cc->source_cv) {
        v.data = fy_http_cv_eval(r, cc->source_cv, &v.len);
        if (v.data == NULL) {
            return NULL;
        }
        r->charset_src = v;
        r->charset_src_of = cc->source_cv;
    }
    return &r->charset_src;
}

/*
 * The charset of a "charset $var": the value, evaluated once per
 * request (r->charset_dst; a map's value, typically); len 0 (empty, or
 * not a token: logged) leaves the response as it is.  NULL: no memory.
 */
static const fy_str_t *
fy_http_charset_dst(fy_http_request_t *r,
                    const struct fy_http_charset_conf_s *cc)
{
    fy_str_t  v;

    if (cc->charset_cv == NULL) {
        return &cc->charset;
    }
    if (r->charset_of == cc->charset_cv) {
        return &r->charset_dst;
    }
    v.data = fy_http_cv_eval(r, cc->charset_cv, &v.len);
    if (v.data == NULL) {
        return NULL;
    }
    if (v.len && !fy_http_is_token(v.data, v.len)) {
        /* it goes into a header: nothing that is not a token */
        fy_log_error(FY_LOG_ERR, 0, "invalid charset name \"%.*s\" of "
                     "\"charset %.*s\", client: %s, request: \"%.*s\"",
                     (int) v.len, (char *) v.data,
                     (int) cc->charset.len, (char *) cc->charset.data,
                     r->hc->addr_text, (int) r->request_line.len,
                     (char *) r->request_line.data);
        v.len = 0;
    }
    r->charset_dst = v;
    r->charset_of = cc->charset_cv;
    return &r->charset_dst;
}

/*
 * What nginx's charset filter does with a response of Content-Type
 * type: 0 leave it, 1 mark it with *dst (*keep: the bytes of type kept
 * before "; charset=NAME"; *rc: the recoder of its body, or NULL when
 * it is in that charset already).  The charset is an upstream's
 * X-Accel-Charset when the configuration names it (for any type, even
 * with "charset off", as nginx), else the location's.  log: a missing
 * map is logged (once per response: by the header's writer).
 */
static int
fy_http_charset_decide(fy_http_request_t *r, const fy_str_t *type,
                       size_t *keep, const fy_http_recode_t **rc,
                       const fy_str_t **dst, int log)
{
    fy_http_loc_conf_t                   *lcf = fy_http_req_loc(r);
    const struct fy_http_charset_conf_s  *cc = lcf->charset;
    const fy_str_t                       *sc;
    fy_str_t                              src;
    int                                   own;

    if ((!lcf->charset_on && r->accel_charset.len == 0) || type->len == 0) {
        return 0;
    }
    *keep = type->len;
    *rc = NULL;
    /* a charset the response names already: left alone, unless
     * override_charset (or X-Accel-Charset) says to convert from it */
    own = fy_http_charset_param(type, &src, keep);
    if (r->accel_charset.len) {
        *dst = &r->accel_charset;
        if (!fy_http_charset_known(cc, *dst)) {
            if (log) {
                fy_log_error(FY_LOG_ERR, 0, "unknown charset \"%.*s\" to "
                             "override, client: %s, request: \"%.*s\"",
                             (int) (*dst)->len, (char *) (*dst)->data,
                             r->hc->addr_text, (int) r->request_line.len,
                             (char *) r->request_line.data);
            }
            return 0;
        }
        if (!own) {
            if ((sc = fy_http_charset_src(r, cc)) == NULL) {
                return 0;
            }
            src = *sc;
        }
    } else {
        if (own ? !cc->override_charset
                : !fy_http_types_match(&cc->types, type))
        {
            return 0;
        }
        *dst = fy_http_charset_dst(r, cc);
        if (*dst == NULL || (*dst)->len == 0) {
            return 0;
        }
        if (!own) {
            if ((sc = fy_http_charset_src(r, cc)) == NULL) {
                return 0;
            }
            src = *sc;
            if (src.len && cc->charset_cv == NULL && cc->source_cv == NULL
                && !fy_http_charset_eq(&src, *dst))
            {
                *rc = cc->recode;   /* there is one: fy_http_charset_check */
                return 1;
            }
        }
    }
    if (src.len == 0 || fy_http_charset_eq(&src, *dst)) {
        return 1;
    }
    *rc = fy_http_charset_recoder(cc->hmcf->charset_maps, &src, *dst);
    if (*rc == NULL) {
        if (!log) {
            return 0;
        }
        fy_log_error(FY_LOG_ERR, 0, "no \"charset_map\" between the "
                     "charsets \"%.*s\" and \"%.*s\", client: %s, "
                     "request: \"%.*s\"", (int) src.len, (char *) src.data,
                     (int) (*dst)->len, (char *) (*dst)->data,
                     r->hc->addr_text,
                     (int) r->request_line.len,
                     (char *) r->request_line.data);
        return 0;
    }
    return 1;
}

/*
 * The Content-Type r's response should carry instead of type, as
 * nginx's charset filter decides (see above).  1 with *out set (from
 * r's pool), 0 to leave type as it is, -1 when out of memory.
 */
int
fy_http_charset_type(fy_http_request_t *r, const fy_str_t *type,
                     fy_str_t *out)
{
    const fy_http_recode_t  *rc;
    const fy_str_t          *dst;
    size_t                   keep;
    u_char                  *p;

    if (fy_http_charset_decide(r, type, &keep, &rc, &dst, 1) == 0) {
        return 0;
    }
    p = fy_palloc(r->pool, keep + sizeof("; charset=") - 1 + dst->len);
    if (p == NULL) {
        return -1;
    }
    out->data = p;
    memcpy(p, type->data, keep);
    p += keep;
    memcpy(p, "; charset=", sizeof("; charset=") - 1);
    p += sizeof("; charset=") - 1;
    memcpy(p, dst->data, dst->len);
    out->len = keep + sizeof("; charset=") - 1 + dst->len;
    return 1;
}

const fy_http_recode_t *
fy_http_charset_recode(fy_http_request_t *r, const fy_str_t *type,
                       const fy_array_t *headers)
{
    const fy_http_recode_t  *rc;
    const fy_str_t          *dst;
    size_t                   keep;

    if (!fy_http_req_loc(r)->charset_on && r->accel_charset.len == 0) {
        return NULL;
    }
    if (type == NULL) {
        type = fy_http_header_find(headers, "Content-Type");
        if (type == NULL) {
            return NULL;
        }
    }
    /* the header writer asked already and logged a missing map */
    if (fy_http_charset_decide(r, type, &keep, &rc, &dst, 0) == 0) {
        return NULL;
    }
    return rc;
}

/* How much longer fy_http_charset_type can make a Content-Type. */
size_t
fy_http_charset_room(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);
    const fy_str_t      *dst;

    if (r->accel_charset.len) {
        return sizeof("; charset=") - 1 + r->accel_charset.len;
    }
    if (!lcf->charset_on) {
        return 0;
    }
    dst = fy_http_charset_dst(r, lcf->charset);
    return dst ? sizeof("; charset=") - 1 + dst->len : 0;
}
