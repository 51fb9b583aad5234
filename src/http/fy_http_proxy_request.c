/*
 * fy_http_proxy_request.c -- the request on its way up: the header
 * built from the client's (fy_proxy_create_request) and sent, then
 * the body streamed from the client through one bounded buffer.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_balancer.h"
#include "fy_http_proxy.h"
#include "fy_worker.h"
#include "fy_shm.h"

int
fy_proxy_skip_header(const fy_str_t *name)
{
    /* hop-by-hop headers and the ones nginx's proxy sets itself; the
     * lengths are known, so most names are passed over without a look
     * at their bytes */
    static const fy_str_t  skip[] = {
        fy_string("Host"), fy_string("Connection"), fy_string("Keep-Alive"),
        fy_string("Proxy-Connection"), fy_string("TE"), fy_string("Upgrade"),
        fy_string("Expect"), fy_string("Transfer-Encoding")
    };
    size_t  i;

    for (i = 0; i < sizeof(skip) / sizeof(skip[0]); i++) {
        if (name->len == skip[i].len
            && fy_mem_eq_ci(name->data, (const char *) skip[i].data,
                            name->len))
        {
            return 1;
        }
    }
    return 0;
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
 *   re-escaped, and the arguments follow (nginx);
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
    if (lcf->proxy_uri_set && !lcf->proxy_pass_cv) {
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
 *   Content-Length: N             the client's body, if it goes up
 *   <the client's fields, minus hop-by-hop, Content-Length and the
 *    ones proxy_set_header names; none with
 *    proxy_pass_request_headers off>
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
    size_t                  size;
    unsigned                i, nset = set ? set->nelts : 0, conn_fields = 0;
    int                     version, upgrade = r->upgrade.len != 0;
    u_char                 *q;

    method = r->method_name;
    if (lcf->proxy_method) {
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
           + sizeof("Transfer-Encoding: chunked\r\n") + 2;
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
    if (p->content_length >= 0 && lcf->pass_request_body) {
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
            || (conn_fields
                && fy_proxy_connection_option(&r->headers, &h->name)))
        {
            continue;
        }
        fy_field(h->name.data, h->name.len, h->value);
    }
    fy_cpy("\r\n", 2);

#undef fy_field
#undef fy_cpy

    p->req.last = q;
    return FY_OK;
}

/* proxy_pass with variables: evaluate the URL; its host names an
 * upstream (an upstream block, or a host:port another proxy_pass
 * made one of); its URI part, if any, is the target, as is.  FY_OK,
 * or the status to answer with (logged). */
int
fy_proxy_eval_pass(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_upstream_t  *u;
    fy_str_t             host;
    u_char              *url, *slash;
    size_t               len;
    unsigned             i;

    url = fy_http_cv_eval(r, lcf->proxy_pass_cv, &len);
    if (url == NULL) {
        return 500;
    }
    if (len <= 7 || strncasecmp((char *) url, "http://", 7) != 0) {
        fy_log_error(FY_LOG_ERR, 0, "invalid URL prefix in \"%.*s\" from "
                     "\"proxy_pass\", client %s", (int) fy_min(len, 256),
                     url, r->hc->addr_text);
        return 500;
    }
    host.data = url + 7;
    slash = memchr(host.data, '/', len - 7);
    host.len = slash ? (size_t) (slash - host.data) : len - 7;

    for (i = 0; i < lcf->proxy_upstreams->nelts; i++) {
        u = *fy_array_elt(lcf->proxy_upstreams, fy_http_upstream_t *, i);
        if (u->peers.nelts && u->name.len == host.len
            && strncasecmp((char *) u->name.data, (char *) host.data,
                           host.len) == 0)
        {
            p->u = u;
            p->host = u->name;
            if (slash) {
                p->uri.data = slash;
                p->uri.len = (size_t) (url + len - slash);
                p->uri.data = fy_proxy_escape_target(r->pool, p->uri.data,
                                                     &p->uri.len);
                if (p->uri.data == NULL) {
                    return 500;
                }
            }
            return FY_OK;
        }
    }
    /* nginx would ask its resolver; ferry resolves names only when the
     * configuration is read */
    fy_log_error(FY_LOG_ERR, 0, "no upstream \"%.*s\" for \"proxy_pass\" "
                 "with variables (ferry resolves no names at run time), "
                 "client %s, request: \"%.*s\"", (int) fy_min(host.len, 256),
                 host.data, r->hc->addr_text, (int) r->request_line.len,
                 r->request_line.data);
    return 502;
}

/*
 * The request body.  Whatever its framing from the client, it is read
 * decoded into p->body (client_body_buffer_size) and sent from there,
 * so what the upstream gets is framed by ferry alone:
 *
 *   Content-Length       -> the same Content-Length
 *   chunked, whole body  -> Content-Length: the body was read first
 *     within the buffer     (fy_proxy_read_body), as nginx sends it
 *   chunked, bigger      -> HTTP/1.1 and chunked again, one chunk per
 *                           read; the client's chunk sizes, extensions
 *                           and trailers are not passed on
 *
 * The buffer is emptied for more only once it is full and sent; until
 * then it holds every body byte read and the request can be sent to
 * another server (p->body_lost).  The client is read only when
 * everything read so far is up, so a slow upstream slows the client.
 */

/* fy_proxy_body_in results besides FY_OK, FY_AGAIN, FY_DONE, FY_ERROR */
#define FY_PROXY_BODY_INVALID    400
#define FY_PROXY_BODY_TOO_LARGE  413
#define FY_PROXY_BODY_NO_MEMORY  500

static int fy_proxy_in_room(fy_http_proxy_t *p, size_t need);
static int fy_proxy_dechunk(fy_http_proxy_t *p, fy_buf_t *in);
static int fy_proxy_body_in(fy_http_proxy_t *p);
static int fy_proxy_body_end(fy_http_proxy_t *p);
static void fy_proxy_body_failed(fy_http_proxy_t *p, int status);
static void fy_proxy_read_body_handler(fy_event_t *rev);
static int fy_proxy_body_iov(fy_http_proxy_t *p, struct iovec *iov);
static void fy_proxy_body_sent(fy_http_proxy_t *p, size_t n);

static const char  fy_proxy_last_chunk[] = "\r\n0\r\n\r\n";

/* Make room for need more bytes at the end of hc->in, where the bytes
 * read after a chunked body go (the next request).  Its start holds
 * this request's header, which the request points into: when it is
 * full, its unread bytes move to a new buffer and the old one lives on
 * until the request ends. */
static int
fy_proxy_in_room(fy_http_proxy_t *p, size_t need)
{
    fy_http_request_t  *r = p->r;
    fy_buf_t           *in = &r->hc->in;
    fy_buf_t            b;
    size_t              n = fy_buf_size(in);

    if (fy_buf_free(in) >= need) {
        return FY_OK;
    }
    if (fy_buf_alloc(&b, fy_max((size_t) (in->end - in->start), n + need))
        != FY_OK)
    {
        return FY_ERROR;
    }
    if (fy_pool_cleanup_add(r->pool, free, in->start) != FY_OK) {
        fy_buf_release(&b);
        return FY_ERROR;
    }
    memcpy(b.last, in->pos, n);
    b.last += n;
    *in = b;
    return FY_OK;
}

/* Decode the chunked bytes of in, appending the data to p->body
 * (in may lie in p->body's free space: data only moves down). */
static int
fy_proxy_dechunk(fy_http_proxy_t *p, fy_buf_t *in)
{
    fy_http_request_t  *r = p->r;
    fy_http_chunked_t  *c = &r->chunked_body;
    size_t              max = r->loc->client_max_body_size;
    int                 rc;

    for ( ;; ) {
        rc = fy_http_parse_chunked(c, in);

        if (rc == FY_OK) {
            memmove(p->body.last, c->data, c->len);
            p->body.last += c->len;
            r->body_received += c->len;
        } else if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        } else if (rc != FY_AGAIN) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_INVALID;
        }

        /* the decoded size counts, and a chunk is refused by the size
         * it announces, before its data arrives */
        if (max && r->body_received + c->size > max) {
            fy_log_error(FY_LOG_ERR, 0, "client intended to send too large "
                         "chunked body: %llu+%llu bytes" FY_PROXY_CTX_FMT,
                         (unsigned long long) r->body_received,
                         (unsigned long long) c->size, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_TOO_LARGE;
        }
        if (rc == FY_AGAIN) {
            return FY_OK;
        }
    }
}

/* Append body bytes to p->body, which has free space: those that came
 * with the header first, then from the client's socket.  FY_DONE when
 * the body is complete (possibly with bytes appended), FY_OK, FY_AGAIN
 * (the socket is drained), FY_ERROR (the client is gone; logged), or a
 * status to refuse the body with (logged). */
static int
fy_proxy_body_in(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    fy_buf_t            in;
    size_t              size, k;
    ssize_t             n;
    int                 rc;

    if (r->body_rest == 0 && !r->chunked) {
        return FY_DONE;
    }
    size = fy_buf_free(&p->body);

    if (!r->chunked) {
        k = fy_min(fy_min(fy_buf_size(&hc->in), r->body_rest), size);
        if (k) {
            memcpy(p->body.last, hc->in.pos, k);
            hc->in.pos += k;
            n = (ssize_t) k;
        } else {
            n = fy_conn_recv(hc->c, p->body.last,
                             (size_t) fy_min((uint64_t) size, r->body_rest));
            if (n <= 0) {
                goto failed;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
        }
        r->request_length += (uint64_t) n;
        r->body_received += (uint64_t) n;
        p->body.last += n;
        r->body_rest -= (uint64_t) n;
        return r->body_rest ? FY_OK : FY_DONE;
    }

    if (fy_buf_size(&hc->in)) {
        /* no more coded bytes than there is room for their data */
        in = hc->in;
        in.last = in.pos + fy_min(fy_buf_size(&hc->in), size);
        rc = fy_proxy_dechunk(p, &in);
        r->request_length += (uint64_t) (in.pos - hc->in.pos);
        hc->in.pos = in.pos;
        return rc;
    }

    /* coded bytes from the socket land in the free space and are
     * decoded in place; bytes after the body's end are the next
     * request's, and go back to hc->in */
    n = fy_conn_recv(hc->c, p->body.last, size);
    if (n <= 0) {
        goto failed;
    }
    fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);

    in.start = in.pos = p->body.last;
    in.last = in.end = p->body.last + n;
    rc = fy_proxy_dechunk(p, &in);
    r->request_length += (uint64_t) (in.pos - in.start);
    if (rc == FY_DONE && in.pos < in.last) {
        k = (size_t) (in.last - in.pos);
        if (fy_proxy_in_room(p, k) != FY_OK) {
            return FY_PROXY_BODY_NO_MEMORY;
        }
        memcpy(hc->in.last, in.pos, k);
        hc->in.last += k;
    }
    return rc;

failed:

    if (n == FY_AGAIN) {
        return FY_AGAIN;
    }
    fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely "
                 "closed connection while sending request body"
                 FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
    return FY_ERROR;
}

/* p->body is full of a chunked body: does the body end right there?
 * What follows is read into hc->in and parsed with a copy of the
 * decoder, kept only if no data came (the last-chunk, a trailer).
 * FY_DONE, FY_OK (data follows), FY_AGAIN, FY_ERROR (logged) or 400. */
static int
fy_proxy_body_end(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;
    fy_http_chunked_t   c;
    fy_buf_t            in;
    ssize_t             n;
    int                 rc;

    if (r->chunked_body.size) {
        return FY_OK;           /* chunk data is due */
    }

    for ( ;; ) {
        if (fy_buf_size(&hc->in) == 0) {
            if (fy_proxy_in_room(p, 1024) != FY_OK) {
                return FY_PROXY_BODY_NO_MEMORY;
            }
            n = fy_conn_recv(hc->c, hc->in.last, fy_buf_free(&hc->in));
            if (n == FY_AGAIN) {
                return FY_AGAIN;
            }
            if (n <= 0) {
                fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client "
                             "prematurely closed connection while sending "
                             "request body" FY_PROXY_CTX_FMT,
                             FY_PROXY_CTX(p));
                return FY_ERROR;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            hc->in.last += n;
        }

        c = r->chunked_body;
        in = hc->in;
        rc = fy_http_parse_chunked(&c, &in);
        if (rc == FY_OK) {
            return FY_OK;
        }
        if (rc != FY_AGAIN && rc != FY_DONE) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body"
                         FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
            return FY_PROXY_BODY_INVALID;
        }
        r->request_length += (uint64_t) (in.pos - hc->in.pos);
        r->chunked_body = c;
        hc->in.pos = in.pos;
        if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        }
    }
}

/* The body cannot go on: the upstream connection is closed before it
 * got a complete body (for a chunked one, no last-chunk), and the
 * client gets status, or just the close when there is none to give. */
static void
fy_proxy_body_failed(fy_http_proxy_t *p, int status)
{
    fy_http_request_t  *r = p->r;
    fy_http_conn_t     *hc = r->hc;

    fy_proxy_close_upstream(p);
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;
    r->keepalive = 0;
    if (status == 0 || r->header_sent) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_send_error(r, status);
}

/*
 * A chunked body: read up to a buffer of it before connecting.  If it
 * ends there, it goes up with a Content-Length as nginx sends it
 * (backends that cannot read chunked requests work, and it can be sent
 * again on a retry); otherwise it is streamed up chunked.  Then
 * fy_proxy_start.
 */
void
fy_proxy_read_body(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    int                  rc;

    if (p->body.start == NULL
        && fy_buf_alloc(&p->body, lcf->client_body_buffer_size) != FY_OK)
    {
        fy_proxy_body_failed(p, 500);
        return;
    }

    do {
        if (fy_buf_free(&p->body) == 0) {
            rc = fy_proxy_body_end(p);
            break;
        }
        rc = fy_proxy_body_in(p);
    } while (rc == FY_OK);

    if (rc == FY_AGAIN) {
        hc->c->read.handler = fy_proxy_read_body_handler;
        fy_timer_add(&hc->c->read, (uint64_t) lcf->client_body_timeout);
        return;
    }
    if (rc != FY_OK && rc != FY_DONE) {
        fy_proxy_body_failed(p, rc == FY_ERROR ? 0 : rc);
        return;
    }
    fy_timer_del(&hc->c->read);

    if (rc == FY_DONE) {
        p->body_done = 1;
        p->content_length = (int64_t) fy_buf_size(&p->body);
    } else {
        p->body_chunked = 1;
    }
    fy_proxy_start(p);
}

static void
fy_proxy_read_body_handler(fy_event_t *rev)
{
    fy_conn_t        *c = rev->data;
    fy_http_proxy_t  *p = ((fy_http_conn_t *) c->data)->r->proxy;

    if (rev->timedout) {
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_body_failed(p, 408);
        return;
    }
    fy_proxy_read_body(p);
}

/* Point iov (4 entries) at what goes up next: the rest of the header,
 * then body bytes, as chunks when the body goes up chunked, then the
 * last-chunk once the body is complete.  Returns the count. */
static int
fy_proxy_body_iov(fy_http_proxy_t *p, struct iovec *iov)
{
    size_t  n;
    int     i = 0;

    if (fy_buf_size(&p->req)) {
        iov[i].iov_base = p->req.pos;
        iov[i++].iov_len = fy_buf_size(&p->req);
    }

    if (!p->body_chunked) {
        if (fy_buf_size(&p->body)) {
            iov[i].iov_base = p->body.pos;
            iov[i++].iov_len = fy_buf_size(&p->body);
        }
        return i;
    }

    if (p->frame_pos == p->frame_len && p->chunk_rest == 0) {
        /* between chunks: what has been read and not sent is the next
         * (its size line carries the previous chunk's CRLF), and the
         * last-chunk leaves with it when the body is complete, so that
         * no small segment waits alone for an ACK */
        n = fy_buf_size(&p->body);
        if (n) {
            p->frame_len = (uint8_t) snprintf(p->frame, sizeof(p->frame),
                                              "%s%zx\r\n",
                                              p->chunk_open ? "\r\n" : "",
                                              n);
            p->frame_pos = 0;
            p->chunk_rest = n;
            p->chunk_open = 1;
        }
        if (p->body_done && !p->last_chunk) {
            p->last_chunk = 1;
            p->tail_pos = p->chunk_open ? 0 : 2;
            p->tail_len = sizeof(fy_proxy_last_chunk) - 1;
        }
    }

    if (p->frame_pos < p->frame_len) {
        iov[i].iov_base = p->frame + p->frame_pos;
        iov[i++].iov_len = (size_t) (p->frame_len - p->frame_pos);
    }
    if (p->chunk_rest) {
        iov[i].iov_base = p->body.pos;
        iov[i++].iov_len = p->chunk_rest;
    }
    if (p->tail_pos < p->tail_len) {
        iov[i].iov_base = (char *) fy_proxy_last_chunk + p->tail_pos;
        iov[i++].iov_len = (size_t) (p->tail_len - p->tail_pos);
    }
    return i;
}

/* n bytes of what fy_proxy_body_iov pointed at went up. */
static void
fy_proxy_body_sent(fy_http_proxy_t *p, size_t n)
{
    size_t  k;

    k = fy_min(n, fy_buf_size(&p->req));
    p->req.pos += k;
    n -= k;

    if (!p->body_chunked) {
        p->body.pos += n;
        return;
    }
    k = fy_min(n, (size_t) (p->frame_len - p->frame_pos));
    p->frame_pos += (uint8_t) k;
    n -= k;
    k = fy_min(n, p->chunk_rest);
    p->body.pos += k;
    p->chunk_rest -= k;
    n -= k;
    p->tail_pos += (uint8_t) n;
}

/* Another try: the header and the body (all of it is in p->body, as
 * p->body_lost is not set) go again from their start. */
void
fy_proxy_rewind(fy_http_proxy_t *p)
{
    p->req.pos = p->req.start;
    p->body.pos = p->body.start;
    p->frame_pos = 0;
    p->frame_len = 0;
    p->chunk_rest = 0;
    p->chunk_open = 0;
    p->last_chunk = 0;
    p->tail_pos = 0;
    p->tail_len = 0;
}

/* Called when the upstream is writable or the client readable while
 * the request (header, then body) goes up. */
void
fy_proxy_send_handler(fy_event_t *ev)
{
    fy_conn_t        *c = ev->data;
    fy_http_proxy_t  *p;

    /* ev is either the upstream's write event or the client's read */
    if (c->data && ev->write) {
        p = c->data;
    } else {
        p = ((fy_http_conn_t *) c->data)->r->proxy;
    }

    if (ev->timedout) {
        if (ev->write) {
            fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                         "sending request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
            return;
        }
        /* client_body_timeout: nothing came between two reads */
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body" FY_PROXY_CTX_FMT,
                     FY_PROXY_CTX(p));
        fy_proxy_body_failed(p, 408);
        return;
    }
    fy_proxy_send_request(p);
}

void
fy_proxy_send_request(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_conn_t           *uc = p->uc;
    struct iovec         iov[4];
    ssize_t              n;
    int                  cnt, rc;

    for ( ;; ) {
        cnt = fy_proxy_body_iov(p, iov);

        if (cnt) {
            /* writev(), or SSL_write()s to an https upstream */
            n = fy_conn_writev(uc, iov, cnt);
            if (n > 0) {
                fy_proxy_body_sent(p, (size_t) n);
                p->request_sent = 1;
                fy_shm_add(p->stats->bytes_out, (uint64_t) n);
                continue;
            }
            if (n == FY_AGAIN) {
                /* the client waits while the upstream does */
                fy_timer_del(&hc->c->read);
                fy_timer_add(&uc->write, (uint64_t) lcf->proxy_send_timeout);
                return;
            }
            fy_log_error(fy_proxy_err_level(p), n == 0 ? 0 : errno,
                         "writev() failed while sending "
                         "request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
            return;
        }

        if (p->body_done) {
            break;
        }
        if (r->body_rest == 0 && !r->chunked) {
            p->body_done = 1;       /* no body, or all of it read */
            continue;
        }

        /* everything read is up: read more, into a buffer emptied
         * only when full */
        if (p->body.start == NULL) {
            if (fy_buf_alloc(&p->body, lcf->client_body_buffer_size)
                != FY_OK)
            {
                fy_proxy_body_failed(p, 500);
                return;
            }
        } else if (fy_buf_free(&p->body) == 0) {
            fy_buf_reset(&p->body);
            p->body_lost = 1;
        }

        rc = fy_proxy_body_in(p);
        if (rc == FY_OK) {
            continue;
        }
        if (rc == FY_DONE) {
            p->body_done = 1;
            continue;
        }
        if (rc == FY_AGAIN) {
            hc->c->read.handler = fy_proxy_send_handler;
            fy_timer_add(&hc->c->read, (uint64_t) lcf->client_body_timeout);
            fy_timer_del(&uc->write);
            return;
        }
        fy_proxy_body_failed(p, rc == FY_ERROR ? 0 : rc);
        return;
    }

    /* everything is up: wait for the response */
    fy_timer_del(&uc->write);
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_proxy_check_client;
    uc->write.handler = fy_event_ignore;
    uc->read.handler = fy_proxy_read_header;
    fy_timer_add(&uc->read, (uint64_t) lcf->proxy_read_timeout);

    if (p->buf.start == NULL
        && fy_buf_alloc(&p->buf, lcf->proxy_buffer_size) != FY_OK)
    {
        fy_proxy_fail(p, 500);
        return;
    }
    fy_http_parser_init(&p->parser);
    fy_buf_reset(&p->buf);
    p->status_done = 0;
    fy_array_init(&p->headers, p->r->pool, 16, sizeof(fy_http_header_t));

    if (uc->read.ready) {
        fy_proxy_read_header(&uc->read);
    }
}

/* A client that closes while we wait for the upstream: nginx's
 * "client prematurely closed connection" (status 499 in its logs). */
void
fy_proxy_check_client(fy_event_t *rev)
{
    fy_conn_t        *c = rev->data;
    fy_http_conn_t   *hc = c->data;
    char              ch;
    ssize_t           n;

    if (!rev->eof && !rev->error) {
        return;     /* pipelined bytes: they wait in the socket */
    }
    n = fy_conn_peek(c, (u_char *) &ch, 1);
    if (n == 0 || n == FY_ERROR) {
        fy_log_error(FY_LOG_INFO, 0, "client %s prematurely closed "
                     "connection while waiting for upstream",
                     hc->addr_text);
        if (hc->r && !hc->r->header_sent) {
            hc->r->status = 499;    /* nginx's code for this, in the log */
        }
        fy_http_close_connection(hc);
    }
}
