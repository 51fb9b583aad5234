/*
 * fy_http_fastcgi.c -- one request to a FastCGI responder
 * (fastcgi_pass), on the proxy's machinery (fy_http_proxy*.c): the
 * params evaluated and sent in PARAMS records, and the response's
 * records decoded as they are read, so that the proxy's header parser
 * and body relay see the CGI response that STDOUT carries:
 *
 *   BEGIN_REQUEST, PARAMS..., empty PARAMS     built here into p->req
 *                                              (the params and headers
 *                                              by fy_http_cgi_vars)
 *   STDIN records, empty STDIN                 framed by the proxy's
 *                                              body sender
 *                                              (fy_proxy_body_iov)
 *   STDOUT -> CGI header + body                fy_http_fastcgi_recv
 *                                              (its Status:
 *                                              fy_http_cgi_status)
 *   STDERR -> the error log
 *   END_REQUEST -> the end of the response     (read as a close)
 *
 * $fastcgi_script_name and $fastcgi_path_info are computed from the
 * URI and the location's fastcgi_split_path_info and fastcgi_index
 * whenever they are read: they also serve try_files, before any
 * FastCGI request exists.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_fastcgi.h"
#include "fy_http_cgi.h"

static void fy_http_fastcgi_stderr(void *ctx, const u_char *data,
    size_t len, int last);

/* The script name and path info of r's URI: the split's two groups,
 * or the whole URI and nothing. */
static void
fy_http_fastcgi_split_uri(fy_http_request_t *r, fy_str_t *script,
                          fy_str_t *info)
{
    fy_http_fastcgi_conf_t  *fc = &r->loc->fastcgi;

    *script = r->path;
    info->data = r->path.data;
    info->len = 0;
    if (fc->split
        && fy_http_regex_split(fc->split, &r->path, script, info) != FY_OK)
    {
        *script = r->path;
        info->len = 0;
    }
}

size_t
fy_http_fastcgi_var_script_name(fy_http_request_t *r, u_char *buf,
                                size_t size)
{
    fy_str_t   script, info, *index = &r->loc->fastcgi.index;
    size_t     n, len;

    fy_http_fastcgi_split_uri(r, &script, &info);
    len = script.len;
    /* a directory: fastcgi_index names the script (nginx) */
    if (len && script.data[len - 1] == '/' && index->len) {
        len += index->len;
    }
    if (buf) {
        n = fy_min(size, script.len);
        memcpy(buf, script.data, n);
        if (len > script.len && size > n) {
            memcpy(buf + n, index->data, fy_min(size - n, index->len));
        }
    }
    return len;
}

size_t
fy_http_fastcgi_var_path_info(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_str_t  script, info;

    fy_http_fastcgi_split_uri(r, &script, &info);
    if (buf) {
        memcpy(buf, info.data, fy_min(size, info.len));
    }
    return info.len;
}

int
fy_http_fastcgi_init(fy_http_proxy_t *p)
{
    fy_http_fastcgi_t  *f;

    f = fy_pcalloc(p->r->pool, sizeof(fy_http_fastcgi_t));
    if (f == NULL) {
        return FY_ERROR;
    }
    fy_fcgi_parser_init(&f->parser, fy_http_fastcgi_stderr, p);
    fy_fcgi_header(f->stdin_end, FY_FCGI_STDIN, FY_FCGI_REQUEST_ID, 0, 0);
    p->fcgi = f;
    return FY_OK;
}

void
fy_http_fastcgi_stdin(u_char *h, size_t n)
{
    fy_fcgi_header(h, FY_FCGI_STDIN, FY_FCGI_REQUEST_ID, n, 0);
}

int
fy_http_fastcgi_create_request(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_cgi_var_t  *v;
    ssize_t             nvars, i;
    u_char             *pairs, *q, *src;
    size_t              len = 0, size, nrec, n;

    /* the params and request headers (fy_http_cgi.c), as name-value
     * pairs */
    nvars = fy_http_cgi_vars(p, r->loc->fastcgi.params, &v);
    if (nvars < 0) {
        return FY_ERROR;
    }
    for (i = 0; i < nvars; i++) {
        len += fy_fcgi_pair_len(fy_http_cgi_name_len(&v[i]), v[i].value.len);
    }
    pairs = fy_palloc(r->pool, len + 1);
    if (pairs == NULL) {
        return FY_ERROR;
    }
    q = pairs;
    for (i = 0; i < nvars; i++) {
        q = fy_fcgi_pair_lens(q, fy_http_cgi_name_len(&v[i]), v[i].value.len);
        q = fy_http_cgi_name_put(q, &v[i]);
        if (v[i].value.len) {
            memcpy(q, v[i].value.data, v[i].value.len);
        }
        q += v[i].value.len;
    }

    /* BEGIN_REQUEST, the pairs in records of at most 65535 bytes, the
     * empty PARAMS that ends them */
    nrec = (len + FY_FCGI_MAX_CONTENT - 1) / FY_FCGI_MAX_CONTENT;
    size = 16 + len + nrec * FY_FCGI_HEADER_LEN + FY_FCGI_HEADER_LEN;
    if (fy_buf_alloc(&p->req, size) != FY_OK) {
        return FY_ERROR;
    }
    p->keep_conn = r->loc->fastcgi.keep_conn && p->u->keepalive;
    q = p->req.last;
    fy_fcgi_begin_request(q, r->loc->fastcgi.keep_conn);
    q += 16;
    for (src = pairs; src < pairs + len; src += n) {
        n = fy_min((size_t) (pairs + len - src), (size_t) FY_FCGI_MAX_CONTENT);
        fy_fcgi_header(q, FY_FCGI_PARAMS, FY_FCGI_REQUEST_ID, n, 0);
        memcpy(q + FY_FCGI_HEADER_LEN, src, n);
        q += FY_FCGI_HEADER_LEN + n;
    }
    fy_fcgi_header(q, FY_FCGI_PARAMS, FY_FCGI_REQUEST_ID, 0, 0);
    q += FY_FCGI_HEADER_LEN;
    p->req.last = q;
    return FY_OK;
}

void
fy_http_fastcgi_reset(fy_http_proxy_t *p)
{
    fy_fcgi_parser_init(&p->fcgi->parser, fy_http_fastcgi_stderr, p);
    p->fcgi->err_len = 0;
    p->fcgi->caught = 0;
}

int
fy_http_fastcgi_ended(fy_http_proxy_t *p)
{
    return p->fcgi->parser.ended && !p->fcgi->parser.extra;
}

/* Does text hold one of the fastcgi_catch_stderr strings? */
static int
fy_http_fastcgi_catch(fy_array_t *catch, const u_char *text, size_t len)
{
    fy_str_t  *s;
    unsigned   i;

    for (i = 0; i < catch->nelts; i++) {
        s = fy_array_elt(catch, fy_str_t, i);
        if (memmem(text, len, s->data, s->len)) {
            return 1;
        }
    }
    return 0;
}

/* What the application wrote to STDERR goes to the error log, a
 * record (or 1 KiB of one) per line, as nginx logs it; with
 * fastcgi_catch_stderr each such piece is searched for the strings
 * (as nginx searches what it read of a record), and a match makes the
 * response invalid (fy_http_fastcgi_recv). */
static void
fy_http_fastcgi_stderr(void *ctx, const u_char *data, size_t len, int last)
{
    fy_http_proxy_t    *p = ctx;
    fy_http_fastcgi_t  *f = p->fcgi;
    size_t              k, n;

    for ( ;; ) {
        k = fy_min(len, sizeof(f->err) - f->err_len);
        if (k) {                /* the record's end comes without data */
            memcpy(f->err + f->err_len, data, k);
        }
        f->err_len += k;
        data += k;
        len -= k;
        if (f->err_len < sizeof(f->err) && !(last && len == 0)) {
            return;
        }
        n = f->err_len;
        while (n && (f->err[n - 1] == '\n' || f->err[n - 1] == '\r')) {
            n--;
        }
        if (n) {
            fy_log_error(FY_LOG_ERR, 0, "FastCGI sent in stderr: \"%.*s\""
                         FY_PROXY_CTX_FMT, (int) n, (char *) f->err,
                         FY_PROXY_CTX(p));
            if (p->r->loc->fastcgi.catch_stderr
                && fy_http_fastcgi_catch(p->r->loc->fastcgi.catch_stderr,
                                         f->err, n))
            {
                f->caught = 1;
            }
        }
        f->err_len = 0;
        if (len == 0) {
            return;
        }
    }
}

ssize_t
fy_http_fastcgi_recv(fy_http_proxy_t *p, u_char *buf, size_t size)
{
    fy_fcgi_parser_t  *ps = &p->fcgi->parser;
    ssize_t            n, k;

    for ( ;; ) {
        if (ps->ended) {
            return 0;           /* the response's end, seen as a close */
        }
        if (!p->uc->read.ready) {
            return FY_AGAIN;
        }
        n = fy_conn_recv(p->uc, buf, size);
        if (n == FY_AGAIN) {
            return FY_AGAIN;
        }
        if (n <= 0) {
            /* closed (or failed) before END_REQUEST: the response is
             * not complete */
            if (n == 0) {
                errno = 0;
            }
            return -1;
        }
        k = fy_fcgi_parse(ps, buf, (size_t) n);
        if (k < 0) {
            fy_log_error(FY_LOG_ERR, 0, "upstream sent invalid FastCGI "
                         "record" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            errno = EPROTO;
            return -1;
        }
        if (ps->extra) {
            p->up_extra = 1;    /* the connection is not reused */
        }
        if (p->fcgi->caught) {
            /* nginx: an invalid header before the response's header
             * ended (the next server, or 502), an error after it */
            fy_log_error(FY_LOG_ERR, 0, "FastCGI stderr holds a "
                         "\"fastcgi_catch_stderr\" string"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            p->up_extra = 1;
            errno = EPROTO;
            return -1;
        }
        if (k > 0) {
            return k;
        }
    }
}
