/*
 * fy_http_charset.c -- nginx's charset module, without recoding:
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
 * nginx can also recode a body from one charset to another with the
 * tables of charset_map.  ferry has no charset_map and recodes nothing,
 * so it does what nginx does for two charsets without a map between
 * them: it logs "no "charset_map" between the charsets ..." and leaves
 * the response as it is.  That happens when source_charset names
 * another charset than "charset", and, with override_charset on, when a
 * proxied response names another charset.  When they name the same one
 * the response is marked as nginx marks it.
 */
#include "fy_core.h"
#include "fy_http.h"


struct fy_http_charset_conf_s {
    fy_str_t     charset;           /* data NULL: unset; len 0: off */
    fy_str_t     source_charset;    /* data NULL: unset; len 0: off */
    fy_http_types_t  types;         /* charset_types */
    int          override_charset;
};

static const char *fy_http_charset_name(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void *fy_http_charset_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf);

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

    if (cc == NULL) {
        return "cannot allocate memory";
    }
    field = (fy_str_t *) ((char *) cc + cmd->offset);
    if (field->data) {
        return "is duplicate";
    }
    if (fy_str_eq(v, "off")) {
        field->data = (u_char *) "";
        field->len = 0;
        return FY_CONF_OK;
    }
    if (memchr(v->data, '$', v->len)) {
        fy_conf_error(cf, "variables in \"%s\" are not supported",
                      cmd->name);
        return FY_CONF_ERROR;
    }
    if (!fy_http_is_token(v->data, v->len)) {
        fy_conf_error(cf, "invalid charset name \"%s\"", v->data);
        return FY_CONF_ERROR;
    }
    *field = *v;
    return FY_CONF_OK;
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
        return;
    }
    if (c == p) {
        p = NULL;               /* the http level merged with itself:
                                   the defaults */
    }
    if (c->charset.data == NULL) {
        c->charset = p ? p->charset : (fy_str_t) { 0, (u_char *) "" };
    }
    if (c->source_charset.data == NULL) {
        c->source_charset = p ? p->source_charset
                              : (fy_str_t) { 0, (u_char *) "" };
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
 * The Content-Type r's response should carry instead of type, as
 * nginx's charset filter decides (see above).  1 with *out set (from
 * r's pool), 0 to leave type as it is, -1 when out of memory.
 */
int
fy_http_charset_type(fy_http_request_t *r, const fy_str_t *type,
                     fy_str_t *out)
{
    fy_http_loc_conf_t                   *lcf = fy_http_req_loc(r);
    const struct fy_http_charset_conf_s  *cc = lcf->charset;
    const fy_str_t                       *dst;
    fy_str_t                              src;
    size_t                                keep;
    u_char                               *p;

    if (!lcf->charset_on || type->len == 0) {
        return 0;
    }
    dst = &cc->charset;
    keep = type->len;
    if (fy_http_charset_param(type, &src, &keep)) {
        /* it names its charset already: left alone, unless
         * override_charset says to convert from that one */
        if (!cc->override_charset) {
            return 0;
        }
    } else {
        if (!fy_http_types_match(&cc->types, type)) {
            return 0;
        }
        src = cc->source_charset;
    }
    if (src.len && !fy_http_charset_eq(&src, dst)) {
        fy_log_error(FY_LOG_ERR, 0, "no \"charset_map\" between the "
                     "charsets \"%.*s\" and \"%.*s\", client: %s, "
                     "request: \"%.*s\"", (int) src.len, (char *) src.data,
                     (int) dst->len, (char *) dst->data, r->hc->addr_text,
                     (int) r->request_line.len,
                     (char *) r->request_line.data);
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

/* How much longer fy_http_charset_type can make a Content-Type. */
size_t
fy_http_charset_room(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);

    return lcf->charset_on ? sizeof("; charset=") - 1
                             + lcf->charset->charset.len : 0;
}
