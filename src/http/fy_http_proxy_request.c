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
    /* hop-by-hop headers and the ones nginx's proxy sets itself */
    static const char *const  skip[] = {
        "Host", "Connection", "Keep-Alive", "Proxy-Connection", "TE",
        "Upgrade", "Expect", "Transfer-Encoding", NULL
    };
    const char *const  *s;

    for (s = skip; *s; s++) {
        if (fy_str_eq_ci(name, *s)) {
            return 1;
        }
    }
    return 0;
}

/* Build "METHOD URI HTTP/1.0" + headers into p->req. */
int
fy_proxy_create_request(fy_http_proxy_t *p)
{
    fy_http_request_t   *r = p->r;
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_header_t    *h;
    fy_str_t             uri_tail;
    size_t               size;
    unsigned             i;
    u_char              *q;

    /* Without a URI part the request URI goes up as the client sent
     * it.  With one, the URI part replaces the part of the normalised
     * path the location matched (nothing of it for an exact location),
     * re-escaped, and the arguments follow (nginx). */
    uri_tail = r->uri;
    if (lcf->proxy_uri_set) {
        fy_str_t  rest = r->path;
        size_t    n;

        if (lcf->exact || rest.len < lcf->name.len) {
            rest.len = 0;
        } else {
            rest.data += lcf->name.len;
            rest.len -= lcf->name.len;
        }
        n = fy_http_escape_path(NULL, rest.data, rest.len);
        uri_tail.data = fy_palloc(r->pool, n + 1 + r->args.len);
        if (uri_tail.data == NULL) {
            return FY_ERROR;
        }
        uri_tail.len = fy_http_escape_path(uri_tail.data, rest.data,
                                           rest.len);
        if (r->args.data) {
            uri_tail.data[uri_tail.len++] = '?';
            memcpy(uri_tail.data + uri_tail.len, r->args.data, r->args.len);
            uri_tail.len += r->args.len;
        }
    }

    size = r->method_name.len + 1 + lcf->proxy_uri.len + uri_tail.len
           + sizeof(" HTTP/1.0\r\n") + sizeof("Host: \r\n")
           + lcf->proxy_host.len + sizeof("Connection: upgrade\r\n")
           + sizeof("Upgrade: \r\n") + r->upgrade.len
           + sizeof("Content-Length: \r\n") + 20 + 2;
    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        size += h->name.len + h->value.len + 4;
    }

    if (fy_buf_alloc(&p->req, size) != FY_OK) {
        return FY_ERROR;
    }
    q = p->req.last;

#define fy_cpy(s, n)  (memcpy(q, (s), (n)), q += (n))

    fy_cpy(r->method_name.data, r->method_name.len);
    *q++ = ' ';
    if (lcf->proxy_uri_set) {
        fy_cpy(lcf->proxy_uri.data, lcf->proxy_uri.len);
    }
    fy_cpy(uri_tail.data, uri_tail.len);
    if (r->upgrade.len) {
        /* an upgrade needs HTTP/1.1 and its two headers passed on */
        fy_cpy(" HTTP/1.1\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\nConnection: upgrade\r\nUpgrade: ", 32);
        fy_cpy(r->upgrade.data, r->upgrade.len);
        fy_cpy("\r\n", 2);
    } else if (p->u->keepalive) {
        /* kept-alive upstream connections need HTTP/1.1, whose default
         * is to stay open (nginx needs proxy_http_version 1.1 and an
         * empty Connection header set by hand for this) */
        fy_cpy(" HTTP/1.1\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\n", 2);
    } else {
        fy_cpy(" HTTP/1.0\r\nHost: ", 17);
        fy_cpy(lcf->proxy_host.data, lcf->proxy_host.len);
        fy_cpy("\r\nConnection: close\r\n", 21);
    }

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_proxy_skip_header(&h->name)
            || fy_str_eq_ci(&h->name, "Content-Length"))
        {
            continue;
        }
        fy_cpy(h->name.data, h->name.len);
        fy_cpy(": ", 2);
        fy_cpy(h->value.data, h->value.len);
        fy_cpy("\r\n", 2);
    }
    if (r->content_length >= 0) {
        q += sprintf((char *) q, "Content-Length: %lld\r\n",
                     (long long) r->content_length);
    }
    fy_cpy("\r\n", 2);

#undef fy_cpy

    p->req.last = q;
    return FY_OK;
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
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "%s timed out while sending "
                     "request to upstream" FY_PROXY_CTX_FMT,
                     ev->write ? "upstream" : "client", FY_PROXY_CTX(p));
        if (ev->write) {
            fy_proxy_next(p, FY_HTTP_NEXT_TIMEOUT);
        } else {
            fy_http_close_connection(p->r->hc);
        }
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
    fy_buf_t            *out;
    ssize_t              n;
    size_t               k;

    for ( ;; ) {
        /* what to write: the header first, then buffered body bytes */
        out = fy_buf_size(&p->req) ? &p->req : &p->body;

        if (fy_buf_size(out)) {
            /* plain send(), or SSL_write() to an https upstream */
            n = fy_conn_send(uc, out->pos, fy_buf_size(out));
            if (n > 0) {
                out->pos += n;
                p->request_sent = 1;
                fy_shm_add(p->stats->bytes_out, (uint64_t) n);
                continue;
            }
            if (n == FY_AGAIN) {
                fy_timer_add(&uc->write, (uint64_t) lcf->proxy_send_timeout);
                return;
            }
            fy_log_error(fy_proxy_err_level(p), n == 0 ? 0 : errno,
                         "send() failed while sending "
                         "request to upstream" FY_PROXY_CTX_FMT,
                         FY_PROXY_CTX(p));
            fy_proxy_next(p, FY_HTTP_NEXT_ERROR);
            return;
        }

        if (r->body_rest == 0) {
            break;
        }

        /* refill the body buffer: bytes that came with the header
         * first, then from the client socket */
        if (p->body.start == NULL
            && fy_buf_alloc(&p->body, FY_PROXY_BODY_BUFFER) != FY_OK)
        {
            fy_proxy_fail(p, 500);
            return;
        }
        if (!p->body_keep) {
            fy_buf_reset(&p->body);
        }
        p->body_started = 1;

        k = fy_min(fy_buf_size(&hc->in), r->body_rest);
        if (k) {
            k = fy_min(k, fy_buf_free(&p->body));
            memcpy(p->body.last, hc->in.pos, k);
            hc->in.pos += k;
            r->request_length += k;
            p->body.last += k;
            r->body_rest -= k;
            continue;
        }

        n = fy_conn_recv(hc->c, p->body.last,
                         fy_min(fy_buf_free(&p->body), r->body_rest));
        if (n > 0) {
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            r->request_length += (uint64_t) n;
            p->body.last += n;
            r->body_rest -= (uint64_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
            hc->c->read.handler = fy_proxy_send_handler;
            fy_timer_add(&hc->c->read, 60000);
            fy_timer_del(&uc->write);
            return;
        }
        /* the client went away in the middle of its body */
        fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely "
                     "closed connection while sending request body"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        fy_http_close_connection(hc);
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
