/*
 * fy_http_cgi.c -- what fastcgi_pass, uwsgi_pass and scgi_pass share
 * of a request: its variables (the *_param lines evaluated, the
 * request headers as HTTP_*), and its response's status from a CGI
 * header; and the request headers of uwsgi_pass and scgi_pass, built
 * from those variables (fy_http_cgi.h says how the rest of such a
 * request runs on the proxy code).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cgi.h"
#include "fy_http_cache.h"

#include <ctype.h>

/* Append n bytes at q (src may be NULL when n is 0); the new end. */
static u_char *
fy_http_cgi_cpy(u_char *q, const u_char *src, size_t n)
{
    if (n) {
        memcpy(q, src, n);
    }
    return q + n;
}

/* Is name (a request header's) sent by a param as HTTP_NAME already?
 * Then the header is not (nginx). */
static int
fy_http_cgi_param_set(fy_array_t *params, const fy_str_t *name)
{
    fy_http_fastcgi_param_t  *fp;
    unsigned                  i;
    size_t                    k;
    u_char                    c;

    for (i = 0; params && i < params->nelts; i++) {
        fp = fy_array_elt(params, fy_http_fastcgi_param_t, i);
        if (fp->name.len != name->len + 5
            || memcmp(fp->name.data, "HTTP_", 5) != 0)
        {
            continue;
        }
        for (k = 0; k < name->len; k++) {
            c = name->data[k] == '-' ? '_' : (u_char) toupper(name->data[k]);
            if (fp->name.data[5 + k] != c) {
                break;
            }
        }
        if (k == name->len) {
            return 1;
        }
    }
    return 0;
}

ssize_t
fy_http_cgi_vars(fy_http_proxy_t *p, fy_array_t *params,
                 fy_http_cgi_var_t **vars)
{
    fy_http_request_t        *r = p->r;
    fy_http_fastcgi_param_t  *fp;
    fy_http_header_t         *h;
    fy_http_cgi_var_t        *v;
    unsigned                  i, nparams = params ? params->nelts : 0;
    ssize_t                   n = 0;
    u_char                    num[24];

    v = fy_palloc(r->pool, (nparams + r->headers.nelts + 3) * sizeof(*v));
    if (v == NULL) {
        return -1;
    }
    for (i = 0; i < nparams; i++) {
        fp = fy_array_elt(params, fy_http_fastcgi_param_t, i);
        v[n].name = fp->name;
        v[n].header = 0;
        v[n].value.data = fy_http_cv_eval(r, fp->value, &v[n].value.len);
        if (v[n].value.data == NULL) {
            return -1;
        }
        if (v[n].value.len == 0 && p->content_length >= 0
            && r->content_length < 0
            && fy_str_eq(&fp->name, "CONTENT_LENGTH"))
        {
            /* a chunked body, read whole (fy_proxy_read_body): its
             * length, as nginx's $content_length gives it then */
            v[n].value.len = (size_t) snprintf((char *) num, sizeof(num),
                                               "%lld",
                                               (long long) p->content_length);
            v[n].value.data = fy_palloc(r->pool, v[n].value.len);
            if (v[n].value.data == NULL) {
                return -1;
            }
            memcpy(v[n].value.data, num, v[n].value.len);
        }
        if (v[n].value.len == 0 && fp->if_not_empty) {
            continue;
        }
        n++;
    }

    /* every request header as HTTP_NAME with *_pass_request_headers
     * on (nginx's default; fy_http_cgi_apply put it in the proxy's
     * field) */
    for (i = 0; r->loc->pass_request_headers && i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_http_cgi_param_set(params, &h->name)
            || (p->cache && !p->cache->pass_cond
                && fy_proxy_cache_skip_header(&h->name)))
        {
            continue;
        }
        v[n].name = h->name;
        v[n].value = h->value;
        v[n].header = 1;
        n++;
    }
    /* *_cache_revalidate: the expired entry's validators, as nginx's
     * HTTP_IF_NONE_MATCH $upstream_cache_etag and
     * HTTP_IF_MODIFIED_SINCE $upstream_cache_last_modified */
    if (p->cache && p->cache->revalidate) {
        if (p->cache->rv_etag.len) {
            fy_str_set(&v[n].name, "If-None-Match");
            v[n].value = p->cache->rv_etag;
            v[n].header = 1;
            n++;
        }
        if (p->cache->rv_lm.len) {
            fy_str_set(&v[n].name, "If-Modified-Since");
            v[n].value = p->cache->rv_lm;
            v[n].header = 1;
            n++;
        }
    }
    *vars = v;
    return n;
}

u_char *
fy_http_cgi_name_put(u_char *q, const fy_http_cgi_var_t *v)
{
    size_t  k;

    if (!v->header) {
        return fy_http_cgi_cpy(q, v->name.data, v->name.len);
    }
    memcpy(q, "HTTP_", 5);
    q += 5;
    for (k = 0; k < v->name.len; k++) {
        *q++ = v->name.data[k] == '-'
               ? '_' : (u_char) toupper(v->name.data[k]);
    }
    return q;
}

/* The uwsgi packet of n variables, then uwsgi_string as it is, into
 * p->req.  Its size is a 16-bit number: bigger variables are refused
 * as nginx refuses them (500). */
static int
fy_http_uwsgi_request(fy_http_proxy_t *p, fy_http_cgi_var_t *v, size_t n)
{
    fy_http_fastcgi_conf_t  *uc = &p->r->loc->uwsgi;
    size_t                   len = 0, i;
    u_char                  *q;

    /* a name or value over 65535 bytes makes the sum bigger too */
    for (i = 0; i < n; i++) {
        len += fy_uwsgi_var_len(fy_http_cgi_name_len(&v[i]),
                                v[i].value.len);
    }
    len += uc->uwsgi_string.len;
    if (len > FY_UWSGI_MAX_SIZE) {
        fy_log_error(FY_LOG_ERR, 0, "uwsgi request is too big: %zu bytes of "
                     "variables, the uwsgi packet holds at most 65535"
                     FY_PROXY_CTX_FMT, len, FY_PROXY_CTX(p));
        return FY_ERROR;
    }
    if (fy_buf_alloc(&p->req, FY_UWSGI_HEADER_LEN + len) != FY_OK) {
        return FY_ERROR;
    }
    q = p->req.last;
    fy_uwsgi_header(q, (unsigned) uc->modifier1, len,
                    (unsigned) uc->modifier2);
    q += FY_UWSGI_HEADER_LEN;
    for (i = 0; i < n; i++) {
        q = fy_uwsgi_put_len(q, fy_http_cgi_name_len(&v[i]));
        q = fy_http_cgi_name_put(q, &v[i]);
        q = fy_uwsgi_put_len(q, v[i].value.len);
        q = fy_http_cgi_cpy(q, v[i].value.data, v[i].value.len);
    }
    q = fy_http_cgi_cpy(q, uc->uwsgi_string.data, uc->uwsgi_string.len);
    p->req.last = q;
    return FY_OK;
}

/* The SCGI netstring of n variables into p->req: CONTENT_LENGTH first,
 * always, with the body's length (as nginx sends it, whatever the
 * params say); an scgi_param CONTENT_LENGTH is not sent again (SCGI
 * forbids a name twice). */
static int
fy_http_scgi_request(fy_http_proxy_t *p, fy_http_cgi_var_t *v, size_t n)
{
    size_t   len, i, cl_len;
    u_char  *q, cl[24];

    cl_len = (size_t) snprintf((char *) cl, sizeof(cl), "%lld",
                               (long long) (p->content_length > 0
                                            ? p->content_length : 0));
    len = fy_scgi_var_len(sizeof("CONTENT_LENGTH") - 1, cl_len);
    for (i = 0; i < n; i++) {
        if (!v[i].header && fy_str_eq(&v[i].name, "CONTENT_LENGTH")) {
            v[i].name.len = 0;      /* left out below */
            continue;
        }
        len += fy_scgi_var_len(fy_http_cgi_name_len(&v[i]), v[i].value.len);
    }
    if (fy_buf_alloc(&p->req, fy_scgi_netstring_len(len)) != FY_OK) {
        return FY_ERROR;
    }
    q = fy_scgi_netstring_start(p->req.last, len);
    q = fy_scgi_var_put(q, (u_char *) "CONTENT_LENGTH",
                        sizeof("CONTENT_LENGTH") - 1, cl, cl_len);
    for (i = 0; i < n; i++) {
        if (v[i].name.len == 0) {
            continue;
        }
        q = fy_http_cgi_name_put(q, &v[i]);
        *q++ = '\0';
        q = fy_http_cgi_cpy(q, v[i].value.data, v[i].value.len);
        *q++ = '\0';
    }
    *q++ = ',';
    p->req.last = q;
    return FY_OK;
}

int
fy_http_cgi_create_request(fy_http_proxy_t *p)
{
    fy_http_loc_conf_t  *lcf = p->r->loc;
    fy_http_cgi_var_t   *v;
    ssize_t              n;

    n = fy_http_cgi_vars(p, lcf->uwsgi_pass ? lcf->uwsgi.params
                                            : lcf->scgi.params, &v);
    if (n < 0) {
        return FY_ERROR;
    }
    /* the application closes the connection after the response (uWSGI,
     * SCGI): no connection is kept, as nginx keeps none */
    p->keep_conn = 0;
    return lcf->uwsgi_pass ? fy_http_uwsgi_request(p, v, (size_t) n)
                           : fy_http_scgi_request(p, v, (size_t) n);
}

int
fy_http_cgi_status_line(fy_buf_t *b)
{
    size_t  n = fy_min(fy_buf_size(b), (size_t) 5);

    if (memcmp(b->pos, "HTTP/", n) != 0) {
        return FY_DECLINED;
    }
    return n < 5 ? FY_AGAIN : FY_OK;
}

int
fy_http_cgi_status(fy_http_proxy_t *p)
{
    fy_array_t        *headers = &p->headers;
    fy_http_header_t  *h;
    unsigned           i, status = 0, location = 0;
    u_char            *v;

    p->parser.status_text_start = p->parser.status_text_end = NULL;
    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Location")) {
            location = 1;
            continue;
        }
        if (!fy_str_eq_ci(&h->name, "Status")) {
            continue;
        }
        /* "Status: 404 Not Found": three digits, the rest the reason */
        v = h->value.data;
        if (h->value.len < 3 || !isdigit(v[0]) || !isdigit(v[1])
            || !isdigit(v[2]) || (h->value.len > 3 && v[3] != ' '))
        {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid status "
                         "\"%.*s\"" FY_PROXY_CTX_FMT, (int) h->value.len,
                         (char *) v, FY_PROXY_CTX(p));
            return FY_ERROR;
        }
        status = (unsigned) ((v[0] - '0') * 100 + (v[1] - '0') * 10
                             + (v[2] - '0'));
        if (status < 100) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid status "
                         "\"%.*s\"" FY_PROXY_CTX_FMT, (int) h->value.len,
                         (char *) v, FY_PROXY_CTX(p));
            return FY_ERROR;
        }
        if (h->value.len > 4) {
            p->parser.status_text_start = v + 4;
            p->parser.status_text_end = v + h->value.len;
        }
        /* the field itself does not reach the client */
        memmove(h, h + 1, (headers->nelts - i - 1) * sizeof(*h));
        headers->nelts--;
        i--;
    }
    if (status == 0) {
        /* a Location alone is a redirect (nginx), passed as it is */
        status = location ? 302 : 200;
    }
    p->parser.status = status;
    p->parser.http_major = 1;
    p->parser.http_minor = 1;
    return FY_OK;
}
