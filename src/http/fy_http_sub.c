/*
 * fy_http_sub.c -- nginx's sub module: the directives and, per
 * response, whether its body is filtered and what its header loses.
 *
 *     sub_filter               '<a href="http://a/' '<a href="https://$host/';
 *     sub_filter_once          on | off;       # on
 *     sub_filter_types         text/css ...;   # text/html, always; or *
 *     sub_filter_last_modified on | off;       # off
 *
 * The matching itself is fy_http_sub_stream.c.  The sub_filter lines of
 * a level replace those of the levels above (nginx: inherited only by a
 * level without any); the other three are inherited one by one.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_charset.h"

#include <ctype.h>

static const char *fy_http_sub_filter(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static void *fy_http_sub_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf);

#define FY_SUB_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
/* a row's setter runs on the level's sub_filter settings
 * (fy_http_module_set) */
#define FY_SUB_SET(set)                                                    \
    &(const fy_http_module_set_t) { fy_http_sub_conf, set, NULL }

/* nginx keeps at most 255 strings per level */
#define FY_SUB_MAX_LINES  255

const fy_command_t  fy_http_sub_commands[] = {

    { "sub_filter", FY_SUB_ANY, 0, 2, 2, fy_http_sub_filter,
      FY_CONF_LOC_OFF, 0, NULL },

    { "sub_filter_once", FY_SUB_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_sub_conf_t, once),
      FY_SUB_SET(fy_conf_set_flag) },

    { "sub_filter_types", FY_SUB_ANY, 0, 1, FY_CONF_MANY,
      fy_http_module_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_sub_conf_t, types), FY_SUB_SET(fy_http_types_set) },

    { "sub_filter_last_modified", FY_SUB_ANY, 0, 1, 1, fy_http_module_set,
      FY_CONF_LOC_OFF, offsetof(fy_http_sub_conf_t, last_modified),
      FY_SUB_SET(fy_conf_set_flag) },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* The level's own settings, made on first use. */
static void *
fy_http_sub_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->sub == NULL) {
        lcf->sub = fy_pcalloc(cf->pool, sizeof(fy_http_sub_conf_t));
        if (lcf->sub) {
            lcf->sub->once = FY_CONF_UNSET_INT;
            lcf->sub->last_modified = FY_CONF_UNSET_INT;
        }
    }
    return lcf->sub;
}

/* sub_filter STRING REPLACEMENT; both may hold variables. */
static const char *
fy_http_sub_filter(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_sub_conf_t  *sc = fy_http_sub_conf(cf, conf);
    fy_http_sub_line_t  *line;
    fy_str_t             find = cf->args[1];
    size_t               i;

    fy_unused(cmd);

    if (sc == NULL) {
        return "cannot allocate memory";
    }
    if (find.len == 0) {
        fy_conf_error(cf, "empty search pattern");
        return FY_CONF_ERROR;
    }
    if (sc->lines == NULL) {
        sc->lines = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (sc->lines == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(sc->lines, cf->pool, 2, sizeof(fy_http_sub_line_t));
    }
    if (sc->lines->nelts == FY_SUB_MAX_LINES) {
        fy_conf_error(cf, "number of search patterns exceeds %d",
                      FY_SUB_MAX_LINES);
        return FY_CONF_ERROR;
    }
    line = fy_array_push(sc->lines);
    if (line == NULL) {
        return "cannot allocate memory";
    }
    line->find = fy_http_cv_compile(cf, &find);
    line->repl = fy_http_cv_compile(cf, &cf->args[2]);
    if (line->find == NULL || line->repl == NULL) {
        return FY_CONF_ERROR;               /* logged */
    }
    if (!line->find->has_vars) {
        /* matched ignoring case: compared with lowercased body bytes */
        find.data = (u_char *) fy_pstrndup(cf->pool, find.data, find.len);
        if (find.data == NULL) {
            return "cannot allocate memory";
        }
        for (i = 0; i < find.len; i++) {
            find.data[i] = (u_char) tolower(find.data[i]);
        }
        line->find->text = find;
    }
    return FY_CONF_OK;
}

/* Called from fy_http_merge_loc for every level, parent first: a level
 * without any sub_filter directive shares its parent's settings. */
void
fy_http_sub_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_sub_conf_t  *c = conf->sub, *p = prev->sub;

    if (c == NULL) {
        conf->sub = p;
        return;
    }
    if (c == p) {
        p = NULL;               /* the http level merged with itself */
    }
    if (c->lines == NULL && p) {
        c->lines = p->lines;
    }
    if (c->types.list == NULL && p) {
        c->types = p->types;
    }
    if (c->once == FY_CONF_UNSET_INT) {
        c->once = p ? p->once : 1;
    }
    if (c->last_modified == FY_CONF_UNSET_INT) {
        c->last_modified = p ? p->last_modified : 0;
    }
}


int
fy_http_sub_begin(fy_http_request_t *r, int status, const fy_str_t *type,
                  const fy_array_t *headers, int64_t length,
                  fy_http_sub_stream_t **out)
{
    const fy_http_sub_conf_t  *sc;
    const fy_http_sub_line_t  *line;
    const fy_str_t            *encoding;
    fy_http_sub_pair_t        *pairs = NULL;
    fy_str_t                   before, after;
    const fy_http_recode_t    *recode;
    unsigned                   i, n = 0, lines;
    size_t                     k;
    int                        add;

    if (r->loc == NULL
        || (!fy_http_sub_wanted(r->loc) && !r->accel_charset.len))
    {
        return FY_DECLINED;
    }
    sc = r->loc->sub;
    encoding = fy_http_header_find(headers, "Content-Encoding");
    if (type == NULL) {
        type = fy_http_header_find(headers, "Content-Type");
    }
    if (status == 204 || status == 304 || (status >= 100 && status < 200)
        || length == 0 || (encoding && encoding->len))
    {
        return FY_DECLINED;
    }
    /* the addition module's bodies ride on the same stream */
    add = r->loc->addition
          && fy_http_addition_texts(r, status, type, &before, &after);
    lines = sc && sc->lines
            && fy_http_types_match(&sc->types, type)
            ? sc->lines->nelts : 0;
    /* and the charset module's recoding comes after the strings */
    recode = (r->loc->charset_recodes || r->accel_charset.len) && type
             ? fy_http_charset_recode(r, type, NULL) : NULL;
    if (lines == 0 && !add && recode == NULL) {
        return FY_DECLINED;
    }

    if (lines) {
        pairs = fy_palloc(r->pool, lines * sizeof(fy_http_sub_pair_t));
        if (pairs == NULL) {
            return FY_ERROR;
        }
    }
    for (i = 0; i < lines; i++) {
        line = fy_array_elt(sc->lines, fy_http_sub_line_t, i);
        pairs[n].find.data = fy_http_cv_eval(r, line->find,
                                             &pairs[n].find.len);
        pairs[n].repl.data = fy_http_cv_eval(r, line->repl,
                                             &pairs[n].repl.len);
        if (pairs[n].find.data == NULL || pairs[n].repl.data == NULL) {
            return FY_ERROR;
        }
        if (pairs[n].find.len == 0) {
            continue;               /* a variable made it empty: no string */
        }
        if (line->find->has_vars) {
            /* evaluated into r's pool: ours to lowercase */
            for (k = 0; k < pairs[n].find.len; k++) {
                u_char  *c = &pairs[n].find.data[k];

                *c = (u_char) tolower(*c);
            }
        }
        n++;
    }
    if (n == 0 && !add && recode == NULL) {
        return FY_DECLINED;
    }
    r->sub_strings = n > 0;
    /* a single-byte recoding alone: as long as it was (add_trailer's
     * fields need the chunked coding) */
    r->sub_bytewise = n == 0 && !add && recode
                      && recode->kind == FY_RECODE_BYTE;
    r->sub_same_len = r->sub_bytewise && length > 0
                      && !r->loc->add_trailers;
    *out = fy_http_sub_stream_create(r->pool, pairs, n, sc ? sc->once : 1,
                                     FY_HTTP_SUB_OUT);
    if (*out == NULL) {
        return FY_ERROR;
    }
    if (add) {
        fy_http_sub_stream_wrap(*out, before.data, before.len, after.data,
                                after.len);
    }
    if (recode && fy_http_sub_stream_recode(*out, r->pool, recode) != FY_OK) {
        return FY_ERROR;
    }
    return FY_OK;
}

int
fy_http_sub_header(fy_http_request_t *r, const fy_str_t *name)
{
    if (fy_str_eq_ci(name, "Content-Length")) {
        return r->sub_same_len ? FY_HTTP_SUB_KEEP : FY_HTTP_SUB_DROP;
    }
    /* a single-byte recoding moves no byte: the upstream's ranges are
     * ranges of the recoded body too, and nginx's charset filter keeps
     * both fields then */
    if (fy_str_eq_ci(name, "Accept-Ranges")) {
        return r->sub_bytewise ? FY_HTTP_SUB_KEEP : FY_HTTP_SUB_DROP;
    }
    if (r->sub_bytewise && fy_str_eq_ci(name, "ETag")) {
        return FY_HTTP_SUB_KEEP;
    }
    /* the addition module alone keeps both, the ETag weak (nginx) */
    if (fy_str_eq_ci(name, "Last-Modified")) {
        return fy_http_sub_keeps_validators(r) ? FY_HTTP_SUB_KEEP
                                               : FY_HTTP_SUB_DROP;
    }
    if (fy_str_eq_ci(name, "ETag")) {
        return fy_http_sub_keeps_validators(r) ? FY_HTTP_SUB_WEAKEN
                                               : FY_HTTP_SUB_DROP;
    }
    return FY_HTTP_SUB_KEEP;
}

int
fy_http_sub_buffer(fy_http_sub_stream_t *s, fy_http_request_t *r,
                   const u_char *in, size_t len, u_char **out,
                   size_t *out_len)
{
    u_char  *buf, *nbuf, *data;
    size_t   size = len + 64, n = 0, k;

    buf = fy_palloc(r->pool, size);
    if (buf == NULL) {
        return FY_ERROR;
    }
    fy_http_sub_stream_input(s, in, len);
    fy_http_sub_stream_finish(s);
    while (fy_http_sub_stream_out(s, &data, &k)) {
        if (n + k > size) {
            size = (n + k) * 2;
            nbuf = fy_palloc(r->pool, size);
            if (nbuf == NULL) {
                return FY_ERROR;
            }
            memcpy(nbuf, buf, n);
            buf = nbuf;
        }
        memcpy(buf + n, data, k);
        n += k;
    }
    *out = buf;
    *out_len = n;
    return FY_OK;
}
