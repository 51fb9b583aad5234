/*
 * fy_http_gzip.c -- gzip compression of responses, as nginx's gzip and
 * gzip_static modules:
 *
 *     gzip on;  gzip_types text/css application/json;
 *     gzip_min_length 1000;  gzip_proxied expired no-cache auth;
 *     gzip_vary on;  gzip_disable msie6;  gzip_static on;
 *
 * This file decides (fy_http_gzip_decide), once per response, from its
 * status, type, length and headers and the request's Accept-Encoding,
 * version, Via and User-Agent.  The directives are in
 * fy_http_gzip_conf.c; the deflate stream that the proxy relay, the
 * static file sender and whole bodies use is in fy_http_gzip_stream.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_gzip.h"

#include <strings.h>
#include <time.h>

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
        && fy_http_header_find(req, "Authorization"))
    {
        return 1;
    }
    e = fy_http_header_find(resp, "Expires");
    if ((p & FY_HTTP_GZIP_PROXIED_EXPIRED) && e) {
        expires = fy_time_parse_http(e->data, e->len);
        d = fy_http_header_find(resp, "Date");
        date = d ? fy_time_parse_http(d->data, d->len) : -1;
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
        && !fy_http_header_find(resp, "Last-Modified"))
    {
        return 1;
    }
    if ((p & FY_HTTP_GZIP_PROXIED_NO_ETAG) && !(flags & FY_HTTP_GZIP_HAS_ETAG)
        && !fy_http_header_find(resp, "ETag"))
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

    ae = fy_http_header_find(&r->headers, "Accept-Encoding");
    if (ae == NULL || fy_http_gzip_accept(ae->data, ae->len) == 0) {
        return 0;
    }
    if (r->http_version < (unsigned) g->http_version) {
        return 0;
    }
    if (fy_http_header_find(&r->headers, "Via")
        && !fy_http_gzip_proxied_ok(r, g, &r->headers, headers, flags))
    {
        return 0;
    }
    ua = fy_http_header_find(&r->headers, "User-Agent");
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
    ce = fy_http_header_find(headers, "Content-Encoding");
    if (ce && ce->len) {
        return FY_HTTP_GZIP_NO;     /* already encoded */
    }
    if (length != -1 && (uint64_t) length < g->min_length) {
        return FY_HTTP_GZIP_NO;
    }
    if (!fy_http_types_match(&g->types, type ? type
                                      : fy_http_header_find(headers,
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
