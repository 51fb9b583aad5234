/*
 * fy_http_proxy_request.c -- the request header that goes up, built
 * from the client's (fy_proxy_create_request): the target, the fields
 * passed on, dropped and set; and the URL of a proxy_pass with
 * variables (fy_proxy_eval_pass).  Sending it, and the body, is
 * fy_http_proxy_send.c's.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"

/* Is name one of the n names of set (any case)?  The lengths are
 * compared first, so most names are passed over without a look at
 * their bytes. */
static int
fy_proxy_name_in(const fy_str_t *name, const fy_str_t *set, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (name->len == set[i].len
            && fy_mem_eq_ci(name->data, (const char *) set[i].data,
                            name->len))
        {
            return 1;
        }
    }
    return 0;
}

/* hop-by-hop headers and the ones nginx's proxy sets itself: Host,
 * Connection, Keep-Alive, Proxy-Connection, TE, Upgrade, Expect,
 * Transfer-Encoding.  By length first, as this runs for each field of
 * each request and response: most names have no length in the set. */
int
fy_proxy_skip_header(const fy_str_t *name)
{
    const u_char  *d = name->data;

    switch (name->len) {
    case 2:
        return fy_mem_eq_ci(d, "TE", 2);
    case 4:
        return fy_mem_eq_ci(d, "Host", 4);
    case 6:
        return fy_mem_eq_ci(d, "Expect", 6);
    case 7:
        return fy_mem_eq_ci(d, "Upgrade", 7);
    case 10:
        return fy_mem_eq_ci(d, "Connection", 10)
               || fy_mem_eq_ci(d, "Keep-Alive", 10);
    case 16:
        return fy_mem_eq_ci(d, "Proxy-Connection", 16);
    case 17:
        return fy_mem_eq_ci(d, "Transfer-Encoding", 17);
    default:
        return 0;
    }
}

/* A request the proxy cache may answer or store (p->cache) asks the
 * upstream for the whole response, as nginx's proxy does with a cache:
 * the client's conditions and range are not passed, so that what
 * comes back is a 200 worth storing (a 206 or a 304 made for one
 * client is not), and a HIT answers them from the entry.  The
 * revalidation's own If-None-Match / If-Modified-Since are ferry's.  A
 * proxy_set_header of one of these still sends it.  The HTTP_* params
 * of fastcgi_pass, uwsgi_pass and scgi_pass skip them too
 * (fy_http_cgi.c). */
int
fy_proxy_cache_skip_header(const fy_str_t *name)
{
    static const fy_str_t  skip[] = {
        fy_string("If-Modified-Since"), fy_string("If-Unmodified-Since"),
        fy_string("If-None-Match"), fy_string("If-Match"),
        fy_string("Range"), fy_string("If-Range")
    };

    return fy_proxy_name_in(name, skip, sizeof(skip) / sizeof(skip[0]));
}

/* Is name one of the options of the Connection fields of headers?
 * Those fields are hop-by-hop too (RFC 9110 7.6.1): the sender meant
 * them for this connection only. */
int
fy_proxy_connection_option(fy_array_t *headers, const fy_str_t *name)
{
    fy_http_header_t  *h;
    u_char            *p, *end, *start;
    unsigned           i;

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (!fy_str_eq_ci(&h->name, "Connection")) {
            continue;
        }
        p = h->value.data;
        end = p + h->value.len;
        while (p < end) {
            while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
                p++;
            }
            start = p;
            while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
                p++;
            }
            if ((size_t) (p - start) == name->len
                && fy_mem_eq_ci(start, (char *) name->data, name->len))
            {
                return 1;
            }
        }
    }
    return 0;
}

/* %-escape what a request target used as is cannot carry raw: a
 * capture or $uri in "proxy_pass http://up/$1" is decoded, and a space,
 * CR or LF in it would split the request line.  '%' and '?' stay, so
 * the target means what the configuration wrote. */
static int
fy_proxy_target_escapes(u_char c)
{
    return c <= 0x20 || c >= 0x7f || c == '#';
}

static u_char *
fy_proxy_escape_target(fy_pool_t *pool, u_char *s, size_t *len)
{
    return fy_http_escape_bytes(pool, s, len, fy_proxy_target_escapes);
}

/*
 * The request target sent up, as two pieces (prefix, tail):
 * - proxy_pass with variables and a URI part: that URI, as is;
 * - a URI part: it replaces the part of the normalised path the
 *   location matched (nothing of it for an exact location), the rest
 *   re-escaped, and the arguments follow (nginx); but after "rewrite
 *   ... break" the new URI is sent whole, as nginx does;
 * - no URI part: the client's target as received, or, after an
 *   internal redirect (error_page), the new path re-escaped and its
 *   arguments.
 */
static int
fy_proxy_target(fy_http_proxy_t *p, fy_str_t *prefix, fy_str_t *tail)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_str_t             rest = r->path;
    size_t               n;

    prefix->len = 0;
    prefix->data = NULL;
    *tail = r->uri;

    if (p->uri.len) {
        *tail = p->uri;
        return FY_OK;
    }
    if (lcf->proxy_uri_set && !lcf->proxy_pass_cv && !r->rewritten) {
        *prefix = lcf->proxy_uri;
        if (lcf->exact || rest.len < lcf->name.len) {
            rest.len = 0;
        } else {
            rest.data += lcf->name.len;
            rest.len -= lcf->name.len;
        }
    } else if (!r->internal) {
        return FY_OK;
    }

    n = fy_http_escape_path(NULL, rest.data, rest.len);
    tail->data = fy_palloc(r->pool, n + 1 + r->args.len);
    if (tail->data == NULL) {
        return FY_ERROR;
    }
    tail->len = fy_http_escape_path(tail->data, rest.data, rest.len);
    if (r->args.data) {
        tail->data[tail->len++] = '?';
        memcpy(tail->data + tail->len, r->args.data, r->args.len);
        tail->len += r->args.len;
    }
    return FY_OK;
}

/* Is name among the proxy_set_header fields of the location? */
static int
fy_proxy_is_set(fy_array_t *set, const fy_str_t *name)
{
    fy_http_header_conf_t  *sh;
    unsigned                i;

    for (i = 0; set && i < set->nelts; i++) {
        sh = fy_array_elt(set, fy_http_header_conf_t, i);
        if (sh->name.len == name->len
            && strncasecmp((char *) sh->name.data, (char *) name->data,
                           name->len) == 0)
        {
            return 1;
        }
    }
    return 0;
}

/*
 * Build the request header into p->req:
 *
 *   METHOD TARGET HTTP/1.x        proxy_method, fy_proxy_target,
 *                                 proxy_http_version
 *   Host: ...                     proxy_set_header Host, else $proxy_host
 *   Connection: ...               proxy_set_header Connection, else
 *                                 "close" (none on a kept connection)
 *   <proxy_set_header fields, in order; empty values left out>
 *   Content-Length: N             the client's body, if it goes up,
 *                                 or proxy_set_body's
 *   <the client's fields, minus hop-by-hop, Content-Length and the
 *    ones proxy_set_header names; none with
 *    proxy_pass_request_headers off>
 *   <proxy_set_body's value, evaluated now>
 *
 * An upgrade (WebSocket) always goes as HTTP/1.1 with "Connection:
 * upgrade" and the client's Upgrade, whatever the configuration says
 * about those two fields.
 */
int
fy_proxy_create_request(fy_http_proxy_t *p)
{
    fy_http_request_t      *r = p->r;
    fy_http_loc_conf_t     *lcf = r->loc;
    fy_array_t             *set = lcf->proxy_set_headers;
    fy_http_header_conf_t  *sh;
    fy_http_header_t       *h;
    fy_str_t                method, prefix, tail, host, conn, *vals = NULL;
    fy_str_t                body = fy_null_string;
    fy_http_cache_t        *rv = NULL;
    size_t                  size;
    unsigned                i, nset = set ? set->nelts : 0, conn_fields = 0;
    int                     version, upgrade = r->upgrade.len != 0;
    u_char                 *q;

    method = r->method_name;
    if (p->head_get) {
        fy_str_set(&method, "GET");     /* before proxy_method (nginx) */
    } else if (lcf->proxy_method) {
        method.data = fy_http_cv_eval(r, lcf->proxy_method, &method.len);
        if (method.data == NULL) {
            return FY_ERROR;
        }
        if (!fy_http_is_token(method.data, method.len)) {
            fy_log_error(FY_LOG_ERR, 0, "invalid method \"%.*s\" from "
                         "\"proxy_method\", client %s",
                         (int) fy_min(method.len, 64), method.data,
                         r->hc->addr_text);
            return FY_ERROR;
        }
    }
    if (fy_proxy_target(p, &prefix, &tail) != FY_OK) {
        return FY_ERROR;
    }
    if (fy_http_sets_body(lcf) && !upgrade) {
        /* the client's body was dropped (fy_proxy_go) */
        body.data = fy_http_cv_eval(r, lcf->proxy_set_body, &body.len);
        if (body.data == NULL) {
            if (lcf->proxy_set_body->has_vars) {
                return FY_ERROR;
            }
            body.data = (u_char *) "";      /* proxy_set_body ""; */
        }
    }

    /* HTTP/1.1 for an upgrade or a body streamed up chunked; else
     * proxy_http_version; else 1.1 when the upstream keeps connections
     * (nginx needs proxy_http_version 1.1 and proxy_set_header
     * Connection "" for that), 1.0 otherwise (nginx's default) */
    version = upgrade || p->body_chunked ? 1001
              : lcf->proxy_http_version ? lcf->proxy_http_version
              : p->u->keepalive ? 1001 : 1000;

    host = p->host;
    fy_str_set(&conn, "close");
    if (p->u->keepalive && version == 1001) {
        conn.len = 0;           /* HTTP/1.1 stays open by default */
    }

    size = method.len + 1 + prefix.len + tail.len + sizeof(" HTTP/1.x\r\n")
           + sizeof("Content-Length: \r\n") + 20
           + sizeof("Transfer-Encoding: chunked\r\n") + 2 + body.len;
    if (nset) {
        vals = fy_palloc(r->pool, nset * sizeof(fy_str_t));
        if (vals == NULL) {
            return FY_ERROR;
        }
    }
    for (i = 0; i < nset; i++) {
        sh = fy_array_elt(set, fy_http_header_conf_t, i);
        vals[i].data = fy_http_header_value(r, sh->value, &vals[i].len);
        if (vals[i].data == NULL) {
            return FY_ERROR;
        }
        if (fy_str_eq_ci(&sh->name, "Host")) {
            host = vals[i];
            vals[i].len = 0;
        } else if (fy_str_eq_ci(&sh->name, "Connection")) {
            conn = vals[i];
            vals[i].len = 0;
        } else if (fy_str_eq_ci(&sh->name, "Content-Length")
                   || fy_str_eq_ci(&sh->name, "Transfer-Encoding")
                   || (upgrade && fy_str_eq_ci(&sh->name, "Upgrade")))
        {
            vals[i].len = 0;    /* framing and upgrades are ferry's */
        }
        size += sh->name.len + vals[i].len + 4;
    }
    if (upgrade) {
        fy_str_set(&conn, "upgrade");
        size += sizeof("Upgrade: \r\n") + r->upgrade.len;
    }
    size += sizeof("Host: \r\n") + host.len
            + sizeof("Connection: \r\n") + conn.len;
    if (p->cache && p->cache->revalidate) {
        /* proxy_cache_revalidate: the stored entry's validators */
        rv = p->cache;
        size += sizeof("If-None-Match: \r\n") + rv->rv_etag.len
                + sizeof("If-Modified-Since: \r\n") + rv->rv_lm.len;
    }

    /* A connection goes back to the upstream's keepalive cache only if
     * this request let it stay open. */
    p->keep_conn = !upgrade && p->u->keepalive && version == 1001
                   && !fy_http_token_in(&conn, "close");

    if (lcf->pass_request_headers) {
        for (i = 0; i < r->headers.nelts; i++) {
            h = fy_array_elt(&r->headers, fy_http_header_t, i);
            size += h->name.len + h->value.len + 4;
            conn_fields |= fy_str_eq_ci(&h->name, "Connection");
        }
    }

    if (fy_buf_alloc(&p->req, size) != FY_OK) {
        return FY_ERROR;
    }
    q = p->req.last;

#define fy_cpy(s, n)  (memcpy(q, (s), (n)), q += (n))
#define fy_field(name, nlen, v)                                            \
    do {                                                                   \
        fy_cpy(name, nlen);                                                \
        fy_cpy(": ", 2);                                                   \
        fy_cpy((v).data, (v).len);                                         \
        fy_cpy("\r\n", 2);                                                 \
    } while (0)

    fy_cpy(method.data, method.len);
    *q++ = ' ';
    if (prefix.len) {
        fy_cpy(prefix.data, prefix.len);
    }
    fy_cpy(tail.data, tail.len);
    fy_cpy(version == 1001 ? " HTTP/1.1\r\n" : " HTTP/1.0\r\n", 11);

    if (host.len) {
        fy_field("Host", 4, host);
    }
    if (conn.len) {
        fy_field("Connection", 10, conn);
    }
    if (upgrade) {
        fy_field("Upgrade", 7, r->upgrade);
    }
    for (i = 0; i < nset; i++) {
        sh = fy_array_elt(set, fy_http_header_conf_t, i);
        if (vals[i].len) {
            fy_field(sh->name.data, sh->name.len, vals[i]);
        }
    }
    if (rv && rv->rv_etag.len) {
        fy_field("If-None-Match", 13, rv->rv_etag);
    }
    if (rv && rv->rv_lm.len) {
        fy_field("If-Modified-Since", 17, rv->rv_lm);
    }
    if (body.data) {
        q += sprintf((char *) q, "Content-Length: %zu\r\n", body.len);
    } else if (p->content_length >= 0 && lcf->pass_request_body) {
        q += sprintf((char *) q, "Content-Length: %lld\r\n",
                     (long long) p->content_length);
    } else if (p->body_chunked) {
        fy_cpy("Transfer-Encoding: chunked\r\n", 28);
    }

    for (i = 0; lcf->pass_request_headers && i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_proxy_skip_header(&h->name)
            || fy_str_eq_ci(&h->name, "Content-Length")
            || fy_proxy_is_set(set, &h->name)
            || (p->cache && !p->cache->pass_cond
                && fy_proxy_cache_skip_header(&h->name))
            || (conn_fields
                && fy_proxy_connection_option(&r->headers, &h->name)))
        {
            continue;
        }
        fy_field(h->name.data, h->name.len, h->value);
    }
    fy_cpy("\r\n", 2);
    if (body.len) {
        fy_cpy(body.data, body.len);
    }

#undef fy_field
#undef fy_cpy

    p->req.last = q;
    return FY_OK;
}

/* proxy_pass with variables: evaluate the URL; its scheme, http:// or
 * https://, sets p->https for this request; its host names an
 * upstream (an upstream block, or a host:port another proxy_pass
 * made one of), or else is an address or a name to resolve
 * (fy_proxy_pass_target); its URI part, if any, is the target, as is.
 * fastcgi_pass, uwsgi_pass, scgi_pass and memcached_pass with
 * variables: the whole value is the address (uwsgi_pass's may start
 * with "uwsgi://"), with no default port.  FY_OK, FY_AGAIN (waiting
 * for the resolver), or the status to answer with (logged). */
int
fy_proxy_eval_pass(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_str_t             host;
    u_char              *url, *slash;
    size_t               len, skip;

    url = fy_http_cv_eval(r, lcf->proxy_pass_cv, &len);
    if (url == NULL) {
        return 500;
    }
    if (fy_http_cgi_loc(lcf) || lcf->memcached_pass) {
        host.data = url;
        host.len = len;
        if (lcf->uwsgi_pass && len >= 8
            && strncasecmp((char *) url, "uwsgi://", 8) == 0)
        {
            host.data += 8;
            host.len -= 8;
        }
        p->https = 0;
        return fy_proxy_pass_target(p, &host, 0);
    }
    if (len > 7 && strncasecmp((char *) url, "http://", 7) == 0) {
        skip = 7;
        p->https = 0;
    } else if (len > 8 && strncasecmp((char *) url, "https://", 8) == 0) {
        skip = 8;
        p->https = 1;
    } else {
        fy_log_error(FY_LOG_ERR, 0, "invalid URL prefix in \"%.*s\" from "
                     "\"proxy_pass\", client %s", (int) fy_min(len, 256),
                     url, r->hc->addr_text);
        return 500;
    }
    slash = fy_http_url_host(url + skip, url + len, &host);
    if (slash) {
        p->uri.data = slash;
        p->uri.len = (size_t) (url + len - slash);
        p->uri.data = fy_proxy_escape_target(r->pool, p->uri.data,
                                             &p->uri.len);
        if (p->uri.data == NULL) {
            return 500;
        }
    }
    return fy_proxy_pass_target(p, &host, p->https ? 443 : 80);
}
