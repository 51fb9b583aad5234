/*
 * fy_http_var_response.c -- the variables of a response's header
 * fields: $upstream_http_NAME, a field of the upstream's response (its
 * last try's, as nginx), $upstream_cookie_NAME, a cookie its Set-Cookie
 * fields set, and $sent_http_NAME, a field of the header ferry sent the
 * client.
 *
 * Both cost nothing unless a configuration names one.  The upstream's
 * fields are parsed in place in the buffer the body is relayed through
 * afterwards, so they would be good only while the header is being
 * built (add_header), not when the access log reads them after the
 * body.  So when the configuration names $upstream_http_ or
 * $upstream_cookie_ anywhere, the
 * fields of the answer that is passed on are copied into the request
 * pool (fy_http_var_keep_upstream), before proxy_redirect and
 * proxy_cookie_* change them, and the variable reads the copy.
 * $sent_http_ reads the header text ferry wrote (r->header_text),
 * which lives in the request pool anyway.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

/* this process's configuration names $upstream_http_ somewhere */
static unsigned  fy_http_var_upstream_used;

/* Does field name (the header's) match the variable's free part arg:
 * any case, "_" for "-"? */
static int
fy_var_name_is(const u_char *name, size_t len, const fy_str_t *arg)
{
    size_t  k;
    u_char  a, b;

    if (len != arg->len) {
        return 0;
    }
    for (k = 0; k < len; k++) {
        a = arg->data[k];
        b = name[k] == '-' ? '_' : name[k];
        if ((a | 0x20) != (b | 0x20)) {
            return 0;
        }
    }
    return 1;
}

/* Append (", " first unless it is the first) value at n in buf. */
static size_t
fy_var_join(u_char *buf, size_t size, size_t n, const u_char *v, size_t len)
{
    if (n) {
        if (buf && n + 2 <= size) {
            memcpy(buf + n, ", ", 2);
        }
        n += 2;
    }
    if (buf && n < size) {
        memcpy(buf + n, v, fy_min(len, size - n));
    }
    return n + len;
}

/* $upstream_http_NAME: the fields so named of the upstream's response,
 * joined by ", " (nginx since 1.23), empty before one came. */
static size_t
fy_pvar_upstream_http(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
                      size_t size)
{
    fy_http_proxy_t   *p = r->proxy;
    fy_http_header_t  *h;
    size_t             n = 0;
    unsigned           i;

    for (i = 0; p && i < p->nkept_fields; i++) {
        h = &p->kept_fields[i];
        if (fy_var_name_is(h->name.data, h->name.len, arg)) {
            n = fy_var_join(buf, size, n, h->value.data, h->value.len);
        }
    }
    return n;
}

/* The fields named arg of text as sent ("Name: value\r\n" lines after
 * a first one, the status line or the last chunk's "0"), joined. */
static size_t
fy_var_sent_fields(const fy_str_t *text, const fy_str_t *arg, u_char *buf,
                   size_t size)
{
    u_char  *p, *end, *eol, *colon, *v;
    size_t   n = 0;

    p = text->data;
    end = p + text->len;
    /* past the first line, then one "Name: value\r\n" at a time */
    eol = p ? memchr(p, '\n', (size_t) (end - p)) : NULL;
    for (p = eol ? eol + 1 : end; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            break;
        }
        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon == NULL
            || !fy_var_name_is(p, (size_t) (colon - p), arg))
        {
            continue;
        }
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* the value starts after the blanks */
        }
        n = fy_var_join(buf, size, n, v,
                        (size_t) (eol - v) - (eol[-1] == '\r'));
    }
    return n;
}

/* $sent_http_NAME: the fields so named of the header sent to the
 * client, as written there (after proxy_redirect, charset, gzip and
 * add_header); empty until it is made, so an add_header or a map read
 * there does not see it. */
static size_t
fy_pvar_sent_http(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
                  size_t size)
{
    return fy_var_sent_fields(&r->header_text, arg, buf, size);
}

/* $sent_trailer_NAME: a field add_trailer sent after the body (for the
 * access log); empty before, and for a response without trailers. */
static size_t
fy_pvar_sent_trailer(fy_http_request_t *r, const fy_str_t *arg,
                     u_char *buf, size_t size)
{
    return fy_var_sent_fields(&r->trailer_text, arg, buf, size);
}

/* $upstream_cookie_NAME: the value the first of the upstream's
 * Set-Cookie fields that sets NAME (any case, as nginx compares it)
 * gives it, up to its ";". */
static size_t
fy_pvar_upstream_cookie(fy_http_request_t *r, const fy_str_t *arg,
                        u_char *buf, size_t size)
{
    static const fy_str_t  set_cookie = fy_string("set_cookie");
    fy_http_proxy_t       *p = r->proxy;
    fy_http_header_t      *h;
    u_char                *v, *end, *semi;
    unsigned               i;

    for (i = 0; p && i < p->nkept_fields; i++) {
        h = &p->kept_fields[i];
        if (!fy_var_name_is(h->name.data, h->name.len, &set_cookie)
            || h->value.len <= arg->len
            || strncasecmp((char *) h->value.data, (char *) arg->data,
                           arg->len) != 0
            || h->value.data[arg->len] != '=')
        {
            continue;
        }
        v = h->value.data + arg->len + 1;
        end = h->value.data + h->value.len;
        semi = memchr(v, ';', (size_t) (end - v));
        return fy_var_join(buf, size, 0, v,
                           (size_t) ((semi ? semi : end) - v));
    }
    return 0;
}

/* $upstream_trailer_NAME: a field of the trailer section of the
 * upstream's chunked body (the relay's parser kept its lines, "Name:
 * value\n", fy_http_var_keep_trailers), joined as $upstream_http_'s;
 * empty until the body has ended. */
static size_t
fy_pvar_upstream_trailer(fy_http_request_t *r, const fy_str_t *arg,
                         u_char *buf, size_t size)
{
    fy_http_proxy_t  *p = r->proxy;
    u_char           *l, *end, *eol, *colon, *v, *ve;
    size_t            n = 0;

    if (p == NULL || p->chunked.keep == NULL) {
        return 0;
    }
    end = p->chunked.keep + p->chunked.keep_len;
    for (l = p->chunked.keep; l < end; l = eol + 1) {
        eol = memchr(l, '\n', (size_t) (end - l));
        if (eol == NULL) {
            break;                  /* cut by the room kept */
        }
        colon = memchr(l, ':', (size_t) (eol - l));
        if (colon == NULL || !fy_var_name_is(l, (size_t) (colon - l), arg)) {
            continue;
        }
        for (v = colon + 1; v < eol && (*v == ' ' || *v == '\t'); v++) {
            /* the value starts after the blanks */
        }
        for (ve = eol; ve > v && (ve[-1] == ' ' || ve[-1] == '\t'); ve--) {
            /* and ends before them */
        }
        n = fy_var_join(buf, size, n, v, (size_t) (ve - v));
    }
    return n;
}

/* [0], [2] and [4] need the upstream's fields kept (fy_http_cv_compile),
 * [1] is looked for by add_header (fy_http_headers.c) */
const fy_http_pvariable_t  fy_http_var_response_pvariables[] = {
    { "upstream_http_", fy_pvar_upstream_http },
    { "sent_http_",     fy_pvar_sent_http },
    { "upstream_cookie_", fy_pvar_upstream_cookie },
    { "sent_trailer_",  fy_pvar_sent_trailer },
    { "upstream_trailer_", fy_pvar_upstream_trailer },
    { NULL, NULL }
};

void
fy_http_var_upstream_fields_used(fy_conf_t *cf)
{
    fy_cycle_t  *cycle = cf->cycle;

    if (cycle && cycle->http) {
        cycle->http->upstream_fields_used = 1;
    }
}

void
fy_http_var_init_process(fy_cycle_t *cycle)
{
    fy_http_var_upstream_used = cycle->http
                                && cycle->http->upstream_fields_used;
}

/* The response p passes on is chosen: when the configuration names
 * $upstream_http_, its fields are copied out of the buffer the body
 * will overwrite, before proxy_redirect and proxy_cookie_* change
 * them (nginx's are the upstream's own).  FY_OK or FY_ERROR (no
 * memory). */
int
fy_http_var_keep_upstream(fy_http_proxy_t *p)
{
    fy_http_header_t  *h, *copy;
    u_char            *mem;
    size_t             size = 0;
    unsigned           i;

    if (!fy_http_var_upstream_used) {
        return FY_OK;
    }
    for (i = 0; i < p->headers.nelts; i++) {
        h = fy_array_elt(&p->headers, fy_http_header_t, i);
        size += h->name.len + h->value.len;
    }
    copy = fy_palloc(p->r->pool, p->headers.nelts * sizeof(*copy) + size);
    if (copy == NULL) {
        return FY_ERROR;
    }
    mem = (u_char *) (copy + p->headers.nelts);
    for (i = 0; i < p->headers.nelts; i++) {
        h = fy_array_elt(&p->headers, fy_http_header_t, i);
        copy[i].name.data = memcpy(mem, h->name.data, h->name.len);
        copy[i].name.len = h->name.len;
        mem += h->name.len;
        copy[i].value.data = memcpy(mem, h->value.data, h->value.len);
        copy[i].value.len = h->value.len;
        mem += h->value.len;
    }
    p->kept_fields = copy;
    p->nkept_fields = p->headers.nelts;
    return FY_OK;
}

/* A chunked body comes: when the configuration names $upstream_http_
 * (or _cookie_, _trailer_), the parser keeps its trailer section's lines
 * (the first FY_PROXY_TRAILER_KEEP bytes) for $upstream_trailer_.
 * FY_OK or FY_ERROR (no memory). */
int
fy_http_var_keep_trailers(fy_http_proxy_t *p)
{
    if (!fy_http_var_upstream_used) {
        return FY_OK;
    }
    if (p->chunked.keep == NULL) {
        p->chunked.keep = fy_palloc(p->r->pool, FY_PROXY_TRAILER_KEEP);
        if (p->chunked.keep == NULL) {
            return FY_ERROR;
        }
        p->chunked.keep_size = FY_PROXY_TRAILER_KEEP;
    }
    p->chunked.keep_len = 0;            /* this try's */
    return FY_OK;
}
