/*
 * fy_http_proxy_accel.c -- the X-Accel-* fields of an upstream's
 * response, and proxy_ignore_headers.
 *
 *   X-Accel-Redirect: /files/a.pdf   the upstream names a URI of this
 *                    server (or @name) that answers instead: an
 *                    internal redirect, typically to a location that
 *                    serves files the application has checked access to
 *   X-Accel-Buffering: yes | no      proxy_buffering for this response
 *   X-Accel-Charset: windows-1251    the charset the response is marked
 *                    with and recoded to (fy_http_charset.c), over the
 *                    location's "charset"
 *
 * As nginx: the redirect comes after proxy_next_upstream and
 * proxy_intercept_errors had their say; the method becomes GET (HEAD
 * stays HEAD), except for a named location; the upstream's body is not
 * read (its connection is kept for the next request when the body was
 * already read to its end -- as nginx, typically an empty one -- else
 * closed); the final answer keeps the upstream's Content-Type,
 * Set-Cookie, Content-Disposition, Cache-Control and Expires
 * (fy_http_accel_t).  A URI that leaves the root ("..", also %-encoded)
 * or holds a NUL is refused with 404, as nginx's "unsafe URI".
 *
 * X-Accel-* fields never reach the client (fy_proxy_hidden).  What
 * costs the keep-alive path is one prefix test per response field,
 * done in the loop that reads the framing fields anyway.
 */
#include "fy_core.h"
#include <ctype.h>
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

const fy_command_t  fy_http_proxy_accel_commands[] = {

    { "proxy_ignore_headers", FY_HTTP_ANY, 0, 1, FY_CONF_MANY,
      fy_http_ignore_headers, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, proxy_ignore_headers), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* proxy_ignore_headers FIELD ...: nginx's list of fields, any case;
 * the mask at cmd->offset (fastcgi_ignore_headers too) */
const char *
fy_http_ignore_headers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const fy_conf_enum_t  fields[] = {
        { "X-Accel-Redirect",   FY_HTTP_IGN_XA_REDIRECT },
        { "X-Accel-Expires",    FY_HTTP_IGN_XA_EXPIRES },
        { "X-Accel-Limit-Rate", FY_HTTP_IGN_XA_LIMIT_RATE },
        { "X-Accel-Buffering",  FY_HTTP_IGN_XA_BUFFERING },
        { "X-Accel-Charset",    FY_HTTP_IGN_XA_CHARSET },
        { "Expires",            FY_HTTP_IGN_EXPIRES },
        { "Cache-Control",      FY_HTTP_IGN_CACHE_CONTROL },
        { "Set-Cookie",         FY_HTTP_IGN_SET_COOKIE },
        { "Vary",               FY_HTTP_IGN_VARY },
        { NULL, 0 }
    };
    unsigned              *set = (unsigned *) ((char *) conf + cmd->offset);
    const fy_conf_enum_t  *e;
    unsigned               i, mask = FY_HTTP_IGN_SET;

    if (*set) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (e = fields; e->name; e++) {
            if (fy_str_eq_ci(&cf->args[i], e->name)) {
                break;
            }
        }
        if (e->name == NULL) {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        mask |= (unsigned) e->value;
    }
    *set = mask;
    return FY_CONF_OK;
}

void
fy_proxy_accel_field(fy_http_proxy_t *p, fy_http_header_t *h)
{
    fy_str_t  rest;

    rest.data = h->name.data + 8;
    rest.len = h->name.len - 8;
    if (fy_str_eq_ci(&rest, "Redirect")) {
        p->xa_redirect = h;
    } else if (fy_str_eq_ci(&rest, "Buffering")) {
        p->xa_buffering = h;
    } else if (fy_str_eq_ci(&rest, "Charset")) {
        p->xa_charset = h;
    }
}

void
fy_proxy_accel_buffering(fy_http_proxy_t *p)
{
    fy_str_t  *v = &p->xa_buffering->value;

    if (p->r->loc->proxy_ignore_headers & FY_HTTP_IGN_XA_BUFFERING) {
        return;
    }
    /* nginx looks at the first letters only */
    if (v->len >= 3 && fy_mem_eq_ci(v->data, "yes", 3)) {
        p->buffering = 1;
    } else if (v->len >= 2 && fy_mem_eq_ci(v->data, "no", 2)) {
        p->buffering = 0;
    }
}

/* Is the path of uri (up to a "?") one that must not be served: empty,
 * with a NUL, or with a ".." segment, raw or once %-decoded? */
static int
fy_proxy_accel_unsafe(const u_char *uri, size_t len)
{
    size_t  i, seg = 0, n = 0;
    u_char  c, prev2 = '/', prev1 = '/';
    int     hex, k;

    if (len == 0 || uri[0] == '?') {
        return 1;
    }
    for (i = 0; i <= len; i++) {
        if (i == len || uri[i] == '?') {
            c = '/';
        } else if (uri[i] == '%' && i + 2 < len
                   && isxdigit(uri[i + 1]) && isxdigit(uri[i + 2]))
        {
            hex = 0;
            for (k = 1; k <= 2; k++) {
                hex = hex * 16 + (isdigit(uri[i + k])
                                  ? uri[i + k] - '0'
                                  : (uri[i + k] | 0x20) - 'a' + 10);
            }
            c = (u_char) hex;
            i += 2;
        } else {
            c = uri[i];
        }
        if (c == '\0') {
            return 1;
        }
        if (c == '/' || c == '\\') {
            /* the segment that ends here: ".."? */
            if (n - seg == 2 && prev1 == '.' && prev2 == '.') {
                return 1;
            }
            seg = n + 1;
        }
        prev2 = prev1;
        prev1 = c;
        n++;
        if (i == len || uri[i] == '?') {
            break;
        }
    }
    return 0;
}

/* The fields the final answer keeps, copied into r's pool. */
static int
fy_proxy_accel_keep(fy_http_proxy_t *p)
{
    static const char * const  kept[] = {
        "Set-Cookie", "Content-Disposition", "Cache-Control", "Expires",
        NULL
    };
    fy_http_request_t  *r = p->r;
    fy_http_accel_t    *a;
    fy_http_header_t   *h;
    size_t              size = 0;
    unsigned            i, k, pass;
    u_char             *q = NULL;

    a = fy_pcalloc(r->pool, sizeof(fy_http_accel_t));
    if (a == NULL) {
        return FY_ERROR;
    }
    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < p->headers.nelts; i++) {
            h = fy_array_elt(&p->headers, fy_http_header_t, i);
            if (pass == 0 && fy_str_eq_ci(&h->name, "Content-Type")) {
                a->type.data = (u_char *) fy_pstrndup(r->pool, (char *) h->value.data,
                                           h->value.len);
                if (a->type.data == NULL) {
                    return FY_ERROR;
                }
                a->type.len = h->value.len;
                continue;
            }
            for (k = 0; kept[k]; k++) {
                if (fy_str_eq_ci(&h->name, kept[k])) {
                    break;
                }
            }
            if (kept[k] == NULL) {
                continue;
            }
            if (pass == 0) {
                size += h->name.len + 2 + h->value.len + 2;
                continue;
            }
            memcpy(q, h->name.data, h->name.len);
            q += h->name.len;
            *q++ = ':';
            *q++ = ' ';
            memcpy(q, h->value.data, h->value.len);
            q += h->value.len;
            *q++ = '\r';
            *q++ = '\n';
        }
        if (pass == 0) {
            if (size == 0) {
                break;
            }
            q = a->lines.data = fy_palloc(r->pool, size);
            if (q == NULL) {
                return FY_ERROR;
            }
            a->lines.len = size;
        }
    }
    r->accel = a;
    return FY_OK;
}

int
fy_proxy_accel_redirect(fy_http_proxy_t *p)
{
    static const char    get[] = "GET";
    fy_http_request_t   *r = p->r;
    fy_str_t            *v = &p->xa_redirect->value;
    u_char              *uri;
    size_t               len = v->len;

    if (r->loc->proxy_ignore_headers & FY_HTTP_IGN_XA_REDIRECT) {
        return FY_DECLINED;
    }
    fy_log_debug("X-Accel-Redirect \"%.*s\"" FY_PROXY_CTX_FMT, (int) len,
                 (char *) v->data, FY_PROXY_CTX(p));

    /* the value lives in p->buf, which the next proxying may not
     * outlive: a copy */
    uri = (u_char *) fy_pstrndup(r->pool, (char *) v->data, len);
    if (uri == NULL || fy_proxy_accel_keep(p) != FY_OK) {
        fy_proxy_fail(p, 500);
        return FY_DONE;
    }

    /* the upstream's part is over; its body is not wanted */
    fy_proxy_release_upstream(p);
    r->hc->c->read.handler = fy_event_ignore;
    r->status = 0;
    fy_http_drop_body(r);

    if (len && uri[0] == '@') {
        /* method and body as they are (nginx) */
        fy_http_named_redirect(r, uri, len);
        return FY_DONE;
    }
    if (fy_proxy_accel_unsafe(uri, len)) {
        fy_log_error(FY_LOG_ERR, 0, "unsafe URI \"%.*s\" was detected"
                     FY_PROXY_CTX_FMT, (int) len, (char *) uri,
                     FY_PROXY_CTX(p));
        fy_http_send_error(r, 404);
        return FY_DONE;
    }
    if (!r->head) {
        r->method = FY_HTTP_GET;
        r->method_name.data = (u_char *) get;
        r->method_name.len = sizeof(get) - 1;
    }
    r->content_length = -1;
    if (fy_http_internal_redirect(r, uri, len) != FY_OK) {
        fy_http_send_error(r, 404);
    }
    return FY_DONE;
}
