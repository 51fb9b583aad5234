/*
 * fy_http_gzip.c -- gzip compression of responses, as nginx's gzip and
 * gzip_static modules:
 *
 *     gzip on;  gzip_types text/css application/json;
 *     gzip_min_length 1000;  gzip_proxied expired no-cache auth;
 *     gzip_vary on;  gzip_disable msie6;  gzip_static on;
 *
 * Three parts: the directives; the decision (fy_http_gzip_decide), made
 * once per response from its status, type, length and headers and the
 * request's Accept-Encoding, version, Via and User-Agent; and the
 * deflate stream (fy_http_gzip_t) that the proxy relay and the static
 * file sender feed piece by piece.
 *
 * Memory.  zlib's deflate takes (1 << (windowBits + 2)) + (1 <<
 * (memLevel + 9)) bytes plus its state (about 6 KiB).  nginx's values
 * (32 KiB window, memLevel 8) cost 256 KiB per response; ferry's
 * defaults, gzip_window 8k and gzip_hash 16k (windowBits 13, memLevel
 * 6), cost 64 KiB, about 5% less compression at level 1 on text.  With
 * the 16 KiB output buffer (gzip_buffers 4 4k) that is about 86 KiB per
 * response being compressed: 10,000 at once take about 860 MB.  A body
 * of known small length gets a smaller window and hash (nginx does the
 * same).  All of it is allocated from the request's pool: the pool's
 * cleanup ends the stream and frees it whatever way the request ends.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

struct fy_http_gzip_s {
    z_stream             z;
    fy_http_request_t   *r;
    u_char              *out;          /* output buffer */
    size_t               size;
    int                  flush;        /* Z_NO_FLUSH, Z_SYNC_FLUSH, Z_FINISH */
    unsigned             chunked:1;    /* HTTP/1.1: output as chunks */
    unsigned             holds:1;      /* input taken since the last flush */
    unsigned             handed:1;     /* out was handed out: reuse it */
    unsigned             end:1;        /* Z_STREAM_END seen */
    unsigned             done:1;       /* ... and its output handed out */
    unsigned             live:1;       /* deflateEnd still to call */
    char                 chunk[24];    /* "%zx\r\n" */
};

static const char *fy_http_gzip_set_types(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_gzip_set_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
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

    { "gzip", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      FY_GZIP_OFF(enable), NULL },

    { "gzip_static", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_enum, FY_CONF_LOC_OFF,
      FY_GZIP_OFF(static_mode), fy_http_gzip_static_modes },

    { "gzip_types", FY_GZIP_ANY, 0, 1, FY_CONF_MANY, fy_http_gzip_set_types,
      FY_CONF_LOC_OFF, 0, NULL },

    { "gzip_min_length", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(min_length), NULL },

    { "gzip_comp_level", FY_GZIP_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_GZIP_OFF(level), &fy_http_gzip_level_bounds },

    { "gzip_buffers", FY_GZIP_ANY, 0, 2, 2, fy_http_gzip_set_buffers,
      FY_CONF_LOC_OFF, 0, NULL },

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

static const char *
fy_http_gzip_set_types(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_gzip_conf_t  *gcf = fy_http_gzip_conf_of(conf);
    fy_str_t             *t;
    unsigned              i;
    size_t                k;

    fy_unused(cmd);

    if (gcf->types) {
        return "is duplicate";
    }
    gcf->types = fy_palloc(cf->pool, sizeof(fy_array_t));
    if (gcf->types == NULL) {
        return "out of memory";
    }
    fy_array_init(gcf->types, cf->pool, cf->nargs, sizeof(fy_str_t));

    for (i = 1; i < cf->nargs; i++) {
        if (fy_str_eq(&cf->args[i], "*")) {
            gcf->types_any = 1;
            continue;
        }
        if (cf->args[i].len == 0 || !memchr(cf->args[i].data, '/',
                                            cf->args[i].len))
        {
            fy_conf_error(cf, "invalid MIME type \"%.*s\" in \"gzip_types\"",
                          (int) cf->args[i].len, cf->args[i].data);
            return FY_CONF_ERROR;
        }
        t = fy_array_push(gcf->types);
        if (t == NULL) {
            return "out of memory";
        }
        t->data = (u_char *) fy_pstrndup(cf->pool, cf->args[i].data,
                                         cf->args[i].len);
        if (t->data == NULL) {
            return "out of memory";
        }
        t->len = cf->args[i].len;
        for (k = 0; k < t->len; k++) {
            t->data[k] = (u_char) tolower(t->data[k]);
        }
    }
    return FY_CONF_OK;
}

static const char *
fy_http_gzip_set_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_gzip_conf_t  *gcf = fy_http_gzip_conf_of(conf);
    int64_t               n, size;

    fy_unused(cmd);

    if (gcf->bufs_num != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    n = fy_atoi(cf->args[1].data, cf->args[1].len);
    size = fy_conf_parse_size(&cf->args[2]);
    if (n < 1 || size < 512 || n * size > 16 * 1024 * 1024) {
        fy_conf_error(cf, "invalid value \"%s %s\" in \"gzip_buffers\": a "
                      "number of at least 1 and a size of at least 512 "
                      "bytes, 16m in all at most", cf->args[1].data,
                      cf->args[2].data);
        return FY_CONF_ERROR;
    }
    gcf->bufs_num = (int) n;
    gcf->bufs_size = (size_t) size;
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
    conf->bufs_num = FY_CONF_UNSET_INT;
    conf->http_version = FY_CONF_UNSET_INT;
    conf->vary = FY_CONF_UNSET_INT;
    conf->window = FY_CONF_UNSET_SIZE;
    conf->hash = FY_CONF_UNSET_SIZE;
}

#define fy_gzip_merge(child, parent, unset, dflt)                          \
    do {                                                                   \
        if ((child) == (unset)) {                                          \
            (child) = ((parent) == (unset)) ? (dflt) : (parent);           \
        }                                                                  \
    } while (0)

void
fy_http_gzip_merge_conf(const fy_http_gzip_conf_t *prev,
                        fy_http_gzip_conf_t *conf)
{
    fy_gzip_merge(conf->enable, prev->enable, FY_CONF_UNSET_INT, 0);
    fy_gzip_merge(conf->static_mode, prev->static_mode, FY_CONF_UNSET_INT,
                  FY_HTTP_GZIP_STATIC_OFF);
    fy_gzip_merge(conf->min_length, prev->min_length, FY_CONF_UNSET_SIZE, 20);
    fy_gzip_merge(conf->level, prev->level, FY_CONF_UNSET_INT, 1);
    if (conf->bufs_num == FY_CONF_UNSET_INT) {
        /* prev may be conf itself (the http level) */
        conf->bufs_size = prev->bufs_num != FY_CONF_UNSET_INT
                          ? prev->bufs_size : 4096;
        conf->bufs_num = prev->bufs_num != FY_CONF_UNSET_INT
                         ? prev->bufs_num : 4;
    }
    fy_gzip_merge(conf->http_version, prev->http_version, FY_CONF_UNSET_INT,
                  1001);
    if (conf->proxied == 0) {
        conf->proxied = prev->proxied ? prev->proxied
                                      : FY_HTTP_GZIP_PROXIED_OFF;
    }
    fy_gzip_merge(conf->vary, prev->vary, FY_CONF_UNSET_INT, 0);
    if (conf->types == NULL && !conf->types_any) {
        conf->types = prev->types;
        conf->types_any = prev->types_any;
    }
    if (conf->disable == NULL) {
        conf->disable = prev->disable;
        conf->disable_msie6 = prev->disable_msie6;
    }
    fy_gzip_merge(conf->window, prev->window, FY_CONF_UNSET_SIZE, 8192);
    fy_gzip_merge(conf->hash, prev->hash, FY_CONF_UNSET_SIZE, 16384);
}


/* ---- Accept-Encoding ---- */

/* RFC 9110 5.6.2 tchar */
static int
fy_http_gzip_tchar(u_char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), as
 * thousandths; -1 if malformed.  Moves *pp past it. */
static int
fy_http_gzip_qvalue(const u_char **pp, const u_char *last)
{
    const u_char  *p = *pp;
    int            q, scale = 100, n = 0;

    if (p == last || (*p != '0' && *p != '1')) {
        return -1;
    }
    q = (*p++ - '0') * 1000;
    if (p < last && *p == '.') {
        p++;
        while (p < last && *p >= '0' && *p <= '9' && n < 3) {
            q += (*p++ - '0') * scale;
            scale /= 10;
            n++;
        }
    }
    if (q > 1000) {
        return -1;                  /* "1.5" */
    }
    *pp = p;
    return q;
}

unsigned
fy_http_gzip_accept(const u_char *v, size_t len)
{
    const u_char  *p = v, *last = v + len, *tok;
    size_t         tlen;
    int            q, gzip = -1, any = -1;

    for ( ;; ) {
        /* OWS and empty list elements */
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        if (p == last) {
            break;
        }

        tok = p;
        while (p < last && fy_http_gzip_tchar(*p)) {
            p++;
        }
        tlen = (size_t) (p - tok);
        if (tlen == 0) {
            return 0;
        }
        while (p < last && (*p == ' ' || *p == '\t')) {
            p++;
        }

        q = 1000;
        if (p < last && *p == ';') {
            p++;
            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }
            if (last - p < 2 || (p[0] != 'q' && p[0] != 'Q') || p[1] != '=') {
                return 0;
            }
            p += 2;
            q = fy_http_gzip_qvalue(&p, last);
            if (q < 0) {
                return 0;
            }
            while (p < last && (*p == ' ' || *p == '\t')) {
                p++;
            }
        }
        if (p < last && *p != ',') {
            return 0;
        }

        if ((tlen == 4 && strncasecmp((const char *) tok, "gzip", 4) == 0)
            || (tlen == 6 && strncasecmp((const char *) tok, "x-gzip", 6) == 0))
        {
            gzip = gzip == -1 ? q : fy_min(gzip, q);
        } else if (tlen == 1 && *tok == '*') {
            any = any == -1 ? q : fy_min(any, q);
        }
    }

    if (gzip != -1) {
        return (unsigned) gzip;
    }
    return any != -1 ? (unsigned) any : 0;
}


/* ---- the decision ---- */

static const fy_str_t *
fy_http_gzip_find(const fy_array_t *headers, const char *name)
{
    const fy_http_header_t  *h;
    unsigned                 i;

    for (i = 0; headers && i < headers->nelts; i++) {
        h = (const fy_http_header_t *) headers->elts + i;
        if (fy_str_eq_ci(&h->name, name)) {
            return &h->value;
        }
    }
    return NULL;
}

/* Is `token` among the comma-separated directives of every
 * Cache-Control field of headers? */
static int
fy_http_gzip_cache_control(const fy_array_t *headers, const char *token)
{
    const fy_http_header_t  *h;
    unsigned                 i;

    for (i = 0; i < headers->nelts; i++) {
        h = (const fy_http_header_t *) headers->elts + i;
        if (fy_str_eq_ci(&h->name, "Cache-Control")
            && fy_http_token_in(&h->value, token))
        {
            return 1;
        }
    }
    return 0;
}

static time_t
fy_http_gzip_date(const fy_str_t *v)
{
    char       buf[64];
    struct tm  tm;
    char      *end;

    if (v->len == 0 || v->len >= sizeof(buf)) {
        return -1;
    }
    memcpy(buf, v->data, v->len);
    buf[v->len] = '\0';
    memset(&tm, 0, sizeof(tm));
    end = strptime(buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == NULL || *end != '\0') {
        return -1;
    }
    return timegm(&tm);
}

/*
 * gzip_proxied for a request with Via: compress when one of the listed
 * conditions holds, as nginx documents them.  An Expires that cannot be
 * parsed ("0") counts as in the past (RFC 9111 5.3).
 */
static int
fy_http_gzip_proxied_ok(fy_http_request_t *r, const fy_http_gzip_conf_t *g,
                        const fy_array_t *req, const fy_array_t *resp,
                        unsigned flags)
{
    const fy_str_t  *e, *d;
    time_t           expires, date;
    unsigned         p = g->proxied;

    if (p & FY_HTTP_GZIP_PROXIED_OFF) {
        return 0;
    }
    if (p & FY_HTTP_GZIP_PROXIED_ANY) {
        return 1;
    }
    if ((p & FY_HTTP_GZIP_PROXIED_AUTH)
        && fy_http_gzip_find(req, "Authorization"))
    {
        return 1;
    }
    e = fy_http_gzip_find(resp, "Expires");
    if ((p & FY_HTTP_GZIP_PROXIED_EXPIRED) && e) {
        expires = fy_http_gzip_date(e);
        d = fy_http_gzip_find(resp, "Date");
        date = d ? fy_http_gzip_date(d) : -1;
        if (date == -1) {
            date = (time_t) (r->start_wall / 1000);
        }
        if (expires == -1 || expires <= date) {
            return 1;
        }
    }
    if (resp && (((p & FY_HTTP_GZIP_PROXIED_NO_CACHE)
                  && fy_http_gzip_cache_control(resp, "no-cache"))
                 || ((p & FY_HTTP_GZIP_PROXIED_NO_STORE)
                     && fy_http_gzip_cache_control(resp, "no-store"))
                 || ((p & FY_HTTP_GZIP_PROXIED_PRIVATE)
                     && fy_http_gzip_cache_control(resp, "private"))))
    {
        return 1;
    }
    if ((p & FY_HTTP_GZIP_PROXIED_NO_LM) && !(flags & FY_HTTP_GZIP_HAS_LM)
        && !fy_http_gzip_find(resp, "Last-Modified"))
    {
        return 1;
    }
    if ((p & FY_HTTP_GZIP_PROXIED_NO_ETAG) && !(flags & FY_HTTP_GZIP_HAS_ETAG)
        && !fy_http_gzip_find(resp, "ETag"))
    {
        return 1;
    }
    return 0;
}

/* gzip_disable msie6: "MSIE [4-6]\." but not "MSIE 6.0; ... SV1". */
static int
fy_http_gzip_msie6(const fy_str_t *ua)
{
    const u_char  *p, *last = ua->data + ua->len;

    for (p = ua->data; last - p >= 7; p++) {
        if (memcmp(p, "MSIE ", 5) == 0 && p[5] >= '4' && p[5] <= '6'
            && p[6] == '.')
        {
            if (p[5] == '6') {
                /* IE6 SP2 ("SV1") handles gzip */
                for (p += 7; last - p >= 3; p++) {
                    if (memcmp(p, "SV1", 3) == 0) {
                        return 0;
                    }
                }
            }
            return 1;
        }
    }
    return 0;
}

int
fy_http_gzip_request_ok(fy_http_request_t *r, const fy_array_t *headers,
                        unsigned flags)
{
    const fy_http_gzip_conf_t  *g = &r->loc->gzip;
    const fy_str_t             *ae, *ua;
    fy_http_regex_t           **re;
    unsigned                    i;

    ae = fy_http_gzip_find(&r->headers, "Accept-Encoding");
    if (ae == NULL || fy_http_gzip_accept(ae->data, ae->len) == 0) {
        return 0;
    }
    if (r->http_version < (unsigned) g->http_version) {
        return 0;
    }
    if (fy_http_gzip_find(&r->headers, "Via")
        && !fy_http_gzip_proxied_ok(r, g, &r->headers, headers, flags))
    {
        return 0;
    }
    ua = fy_http_gzip_find(&r->headers, "User-Agent");
    if (ua && g->disable) {
        if (g->disable_msie6 && fy_http_gzip_msie6(ua)) {
            return 0;
        }
        re = g->disable->elts;
        for (i = 0; i < g->disable->nelts; i++) {
            if (fy_http_regex_exec(r, re[i], ua, NULL) != FY_DECLINED) {
                return 0;           /* a match, or an error: as is */
            }
        }
    }
    return 1;
}

/* Is the media type of Content-Type value v among gzip_types? */
static int
fy_http_gzip_type_ok(const fy_http_gzip_conf_t *g, const fy_str_t *v)
{
    const fy_str_t  *t;
    size_t           len = 0;
    unsigned         i;

    if (g->types_any) {
        return 1;
    }
    if (v == NULL) {
        return 0;
    }
    while (len < v->len && v->data[len] != ';' && v->data[len] != ' '
           && v->data[len] != '\t')
    {
        len++;
    }
    if (len == 9 && strncasecmp((const char *) v->data, "text/html", 9) == 0) {
        return 1;                   /* always, as nginx */
    }
    for (i = 0; g->types && i < g->types->nelts; i++) {
        t = (const fy_str_t *) g->types->elts + i;
        if (t->len == len
            && strncasecmp((const char *) t->data, (const char *) v->data,
                           len) == 0)
        {
            return 1;
        }
    }
    return 0;
}

int
fy_http_gzip_decide(fy_http_request_t *r, int status, const fy_str_t *type,
                    int64_t length, const fy_array_t *headers,
                    unsigned flags)
{
    const fy_http_gzip_conf_t  *g;
    const fy_str_t             *ce;

    if (r->loc == NULL) {
        return FY_HTTP_GZIP_NO;     /* answered before a location */
    }
    g = &r->loc->gzip;
    if (!g->enable || r->head
        || (status != 200 && status != 403 && status != 404))
    {
        return FY_HTTP_GZIP_NO;
    }
    ce = fy_http_gzip_find(headers, "Content-Encoding");
    if (ce && ce->len) {
        return FY_HTTP_GZIP_NO;     /* already encoded */
    }
    if (length != -1 && (uint64_t) length < g->min_length) {
        return FY_HTTP_GZIP_NO;
    }
    if (!fy_http_gzip_type_ok(g, type ? type
                                      : fy_http_gzip_find(headers,
                                                          "Content-Type")))
    {
        return FY_HTTP_GZIP_NO;
    }
    return fy_http_gzip_request_ok(r, headers, flags) ? FY_HTTP_GZIP_YES
                                                      : FY_HTTP_GZIP_VARY;
}

const char *
fy_http_gzip_header_lines(fy_http_request_t *r, int decision)
{
    int  vary = r->loc && r->loc->gzip.vary == 1;

    switch (decision) {
    case FY_HTTP_GZIP_YES:
        return vary ? "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\n"
                    : "Content-Encoding: gzip\r\n";
    case FY_HTTP_GZIP_VARY:
        return vary ? "Vary: Accept-Encoding\r\n" : "";
    default:
        return "";
    }
}

fy_str_t
fy_http_gzip_weak_etag(fy_http_request_t *r, const fy_str_t *etag)
{
    fy_str_t  w = *etag;

    if (etag->len && etag->data[0] == '"') {
        w.data = fy_palloc(r->pool, etag->len + 2);
        if (w.data == NULL) {
            w.len = 0;              /* better none than a strong one */
            return w;
        }
        w.data[0] = 'W';
        w.data[1] = '/';
        memcpy(w.data + 2, etag->data, etag->len);
        w.len = etag->len + 2;
    }
    return w;
}


/* ---- the deflate stream ---- */

/* zlib's memory comes from the request's pool: freed with it. */
static voidpf
fy_http_gzip_alloc(voidpf opaque, uInt items, uInt size)
{
    if (size && items > SIZE_MAX / size) {
        return Z_NULL;
    }
    return fy_palloc(opaque, (size_t) items * size);
}

static void
fy_http_gzip_free(voidpf opaque, voidpf address)
{
    fy_unused(opaque);
    fy_unused(address);
}

static void
fy_http_gzip_cleanup(void *data)
{
    fy_http_gzip_t  *gz = data;

    if (gz->live) {
        gz->live = 0;
        deflateEnd(&gz->z);
    }
}

/* windowBits and memLevel for g, smaller for a known small body: the
 * window need not be larger than the body plus zlib's lookahead (262
 * bytes), and the hash shrinks with it. */
static void
fy_http_gzip_params(const fy_http_gzip_conf_t *g, int64_t length,
                    int *wbits, int *memlevel)
{
    int  w = 9, m = 1;

    while ((1 << w) < (int) g->window) {
        w++;
    }
    while ((1 << (m + 8)) < (int) g->hash) {
        m++;
    }
    if (length >= 0) {
        while (w > 9 && length < (1 << (w - 1)) - 262) {
            w--;
            if (m > 1) {
                m--;
            }
        }
    }
    *wbits = w;
    *memlevel = m;
}

static int
fy_http_gzip_init(fy_http_request_t *r, z_stream *z, int64_t length)
{
    const fy_http_gzip_conf_t  *g = &r->loc->gzip;
    int                         wbits, memlevel, rc;

    fy_http_gzip_params(g, length, &wbits, &memlevel);
    memset(z, 0, sizeof(*z));
    z->zalloc = fy_http_gzip_alloc;
    z->zfree = fy_http_gzip_free;
    z->opaque = r->pool;
    /* windowBits + 16: a gzip header and trailer around the deflate
     * data (RFC 1952) */
    rc = deflateInit2(z, g->level, Z_DEFLATED, wbits + 16, memlevel,
                      Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        fy_log_error(FY_LOG_ALERT, 0, "deflateInit2() failed: %d", rc);
        return FY_ERROR;
    }
    return FY_OK;
}

fy_http_gzip_t *
fy_http_gzip_start(fy_http_request_t *r, int64_t length)
{
    const fy_http_gzip_conf_t  *g = &r->loc->gzip;
    fy_http_gzip_t             *gz;

    gz = fy_pcalloc(r->pool, sizeof(fy_http_gzip_t));
    if (gz == NULL) {
        return NULL;
    }
    gz->size = (size_t) g->bufs_num * g->bufs_size;
    gz->out = fy_palloc(r->pool, gz->size);
    if (gz->out == NULL
        || fy_pool_cleanup_add(r->pool, fy_http_gzip_cleanup, gz) != FY_OK
        || fy_http_gzip_init(r, &gz->z, length) != FY_OK)
    {
        return NULL;
    }
    gz->live = 1;
    gz->r = r;
    gz->chunked = r->http_version >= 1001;
    gz->flush = Z_NO_FLUSH;
    gz->z.next_out = gz->out;
    gz->z.avail_out = (uInt) gz->size;
    return gz;
}

void
fy_http_gzip_input(fy_http_gzip_t *gz, const u_char *data, size_t len)
{
    /* z_stream wants a non-const pointer; deflate only reads it */
    gz->z.next_in = (Bytef *) (uintptr_t) data;
    gz->z.avail_in = (uInt) len;
    if (len) {
        gz->holds = 1;
    }
}

int
fy_http_gzip_wants_input(const fy_http_gzip_t *gz)
{
    return gz->z.avail_in == 0 && gz->flush == Z_NO_FLUSH && !gz->end;
}

int
fy_http_gzip_holds(const fy_http_gzip_t *gz)
{
    return gz->holds && gz->flush == Z_NO_FLUSH && !gz->end;
}

void
fy_http_gzip_flush(fy_http_gzip_t *gz)
{
    if (gz->flush == Z_NO_FLUSH) {
        gz->flush = Z_SYNC_FLUSH;
    }
}

void
fy_http_gzip_finish(fy_http_gzip_t *gz)
{
    gz->flush = Z_FINISH;
}

int
fy_http_gzip_done(const fy_http_gzip_t *gz)
{
    return gz->done;
}

int
fy_http_gzip_deflate(fy_http_gzip_t *gz, struct iovec *iov)
{
    static char  crlf[] = "\r\n", crlf_last[] = "\r\n0\r\n\r\n",
                 last[] = "0\r\n\r\n";
    size_t       n;
    int          rc, i = 0, full;

    if (gz->done) {
        return 0;
    }
    if (gz->handed) {
        /* what was handed out last time has been written */
        gz->handed = 0;
        gz->z.next_out = gz->out;
        gz->z.avail_out = (uInt) gz->size;
    }

    if (!gz->end) {
        /* until the input is used up or the buffer is full: bounded
         * work per call, and the caller writes between calls */
        rc = deflate(&gz->z, gz->flush);
        if (rc == Z_STREAM_END) {
            gz->end = 1;
            fy_http_gzip_cleanup(gz);   /* all is in gz->out */
        } else if (rc != Z_OK
                   && !(rc == Z_BUF_ERROR && gz->z.avail_in == 0
                        && gz->flush == Z_NO_FLUSH))
        {
            /* Z_BUF_ERROR with work to do and room to do it in: no
             * progress is possible, and calling again would spin */
            fy_log_error(FY_LOG_ALERT, 0, "deflate() failed: %d, client %s",
                         rc, gz->r->hc->addr_text);
            return FY_ERROR;
        }
    }

    n = (size_t) (gz->z.next_out - gz->out);
    full = gz->z.avail_out == 0;

    if (!gz->end && !full) {
        if (gz->flush == Z_NO_FLUSH) {
            return 0;               /* all input taken; keep collecting */
        }
        if (gz->flush == Z_SYNC_FLUSH) {
            /* complete: deflate left room in the buffer */
            gz->flush = Z_NO_FLUSH;
            gz->holds = 0;
        }
    }
    if (n == 0 && !gz->end) {
        return 0;
    }

    if (gz->chunked && n) {
        iov[i].iov_base = gz->chunk;
        iov[i++].iov_len = (size_t) snprintf(gz->chunk, sizeof(gz->chunk),
                                             "%zx\r\n", n);
    }
    if (n) {
        iov[i].iov_base = gz->out;
        iov[i++].iov_len = n;
    }
    if (gz->chunked) {
        if (n && gz->end) {
            iov[i].iov_base = crlf_last;
            iov[i++].iov_len = sizeof(crlf_last) - 1;
        } else if (n) {
            iov[i].iov_base = crlf;
            iov[i++].iov_len = sizeof(crlf) - 1;
        } else {
            iov[i].iov_base = last;
            iov[i++].iov_len = sizeof(last) - 1;
        }
    }
    gz->handed = 1;
    if (gz->end) {
        gz->done = 1;
    }
    return i;
}

int
fy_http_gzip_buffer(fy_http_request_t *r, const u_char *in, size_t len,
                    u_char **out, size_t *out_len)
{
    z_stream  z;
    size_t    size;
    int       rc;

    if (len > UINT32_MAX / 2 || fy_http_gzip_init(r, &z, (int64_t) len)
                                != FY_OK)
    {
        return FY_ERROR;
    }
    size = deflateBound(&z, (uLong) len);
    *out = fy_palloc(r->pool, size);
    if (*out == NULL) {
        deflateEnd(&z);
        return FY_ERROR;
    }
    z.next_in = (Bytef *) (uintptr_t) in;
    z.avail_in = (uInt) len;
    z.next_out = *out;
    z.avail_out = (uInt) size;
    rc = deflate(&z, Z_FINISH);
    *out_len = size - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        fy_log_error(FY_LOG_ALERT, 0, "deflate() failed: %d", rc);
        return FY_ERROR;
    }
    return FY_OK;
}
