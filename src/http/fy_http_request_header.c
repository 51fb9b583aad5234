/*
 * fy_http_request_header.c -- the request header: parse the request
 * line and the header lines as they arrive, check and normalise Host
 * and the target, note the framing headers (Content-Length,
 * Transfer-Encoding, Connection, Expect), and grow into the large
 * header buffers when a line does not fit.  When the header is
 * complete, fy_http_handler (fy_http_request_route.c) takes over.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"

/*
 * The header is incomplete.  If the last read left `ready` set (the
 * peer's FIN came with the bytes, or TLS read up to a close_notify),
 * no new edge will be reported: read again from the posted queue,
 * where the end of the stream is seen and the connection closed.
 */
static void
fy_http_need_more(fy_http_conn_t *hc)
{
    if (hc->c->read.ready) {
        fy_event_post(&hc->c->read);
    }
}

/* Is token the last of the comma-separated list v (any case)? */
static int
fy_http_token_last_is(const fy_str_t *v, const char *token)
{
    size_t  tlen = strlen(token), n = v->len;

    while (n && (v->data[n - 1] == ' ' || v->data[n - 1] == '\t')) {
        n--;
    }
    return n >= tlen
           && strncasecmp((char *) v->data + n - tlen, token, tlen) == 0
           && (n == tlen || v->data[n - tlen - 1] == ','
               || v->data[n - tlen - 1] == ' '
               || v->data[n - tlen - 1] == '\t');
}

int
fy_http_token_in(const fy_str_t *v, const char *token)
{
    size_t   tlen = strlen(token);
    u_char  *p = v->data, *end = v->data + v->len, *start;

    /* A comma-separated list of tokens, compared case-insensitively. */
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        start = p;
        while (p < end && *p != ',' && *p != ' ' && *p != '\t') {
            p++;
        }
        if ((size_t) (p - start) == tlen
            && strncasecmp((char *) start, token, tlen) == 0)
        {
            return 1;
        }
    }
    return 0;
}

/* Host bytes fy_http_validate_host has nothing to do for but look at the
 * next one: visible ASCII or obs-text but the ones it acts on; 2 for
 * the upper-case letters, which are lowered at the end. */
static const uint8_t  fy_http_host_plain[256] = {
    ['!' ... '-'] = 1, ['0' ... '9'] = 1, [';' ... '@'] = 1,
    ['A' ... 'Z'] = 2, ['^' ... '~'] = 1, [0x80 ... 0xff] = 1,
};

/* Check and normalise Host: lowercase, no port, no trailing dot.
 * FY_OK or FY_ERROR for an invalid host, an empty one included (RFC
 * 9110 4.2.1: an http URI's host is never empty; nginx: 400).  A pure function of its
 * arguments (only h's bytes are lowercased in place), so that
 * t/fuzz/fuzz_http_host.c can call it alone. */
int
fy_http_validate_host(fy_str_t *h, fy_str_t *host)
{
    u_char    *p, *dot = NULL, *host_end;
    size_t     i;
    int        in_brackets = 0;
    unsigned   cls = 0;

    host_end = h->data + h->len;
    for (p = h->data; p < h->data + h->len; p++) {
        if (fy_http_host_plain[*p]) {
            cls |= fy_http_host_plain[*p];
            continue;
        }
        switch (*p) {
        case '[':
            if (p != h->data) {
                return FY_ERROR;
            }
            in_brackets = 1;
            break;
        case ']':
            /* only closing an IP literal, and then the port or nothing
             * follows: "[::1]x" and "x]" are no hosts */
            if (!in_brackets
                || (p + 1 < h->data + h->len && p[1] != ':'))
            {
                return FY_ERROR;
            }
            in_brackets = 0;
            break;
        case ':':
            if (!in_brackets) {
                host_end = p;
                p = h->data + h->len - 1;   /* the rest is the port */
            }
            break;
        case '.':
            if (dot == p - 1) {
                return FY_ERROR;            /* ".." */
            }
            dot = p;
            break;
        case '/': case '\\': case '\0': case ' ':
            return FY_ERROR;
        default:
            if (*p < 0x21 || *p == 0x7f) {
                return FY_ERROR;
            }
        }
    }
    if (in_brackets) {
        return FY_ERROR;
    }
    /* the port, if any, must be digits */
    for (p = host_end + 1; p < h->data + h->len; p++) {
        if (*p < '0' || *p > '9') {
            return FY_ERROR;
        }
    }
    if (host_end > h->data && host_end[-1] == '.') {
        host_end--;
    }
    if (host_end == h->data) {
        return FY_ERROR;
    }

    host->data = h->data;
    host->len = (size_t) (host_end - h->data);
    for (i = 0; (cls & 2) && i < host->len; i++) {
        if (host->data[i] >= 'A' && host->data[i] <= 'Z') {
            host->data[i] |= 0x20;
        }
    }
    return FY_OK;
}

/* Called for each header as it is parsed.  Returns 0 or the status to
 * reject the request with. */
static int
fy_http_process_one_header(fy_http_request_t *r, fy_http_header_t *h,
                           unsigned *seen)
{
    int64_t  n;

    if (fy_str_eq_ci(&h->name, "Host")) {
        if (*seen & 1) {
            return 400;             /* two Host headers: RFC 9112 3.2 */
        }
        *seen |= 1;
        if (r->host_from_target) {
            return 0;           /* the absolute-form target's host wins */
        }
        if (fy_http_validate_host(&h->value, &r->host) != FY_OK) {
            return 400;
        }

    } else if (fy_str_eq_ci(&h->name, "Content-Length")) {
        n = fy_atoi(h->value.data, h->value.len);
        if (n < 0 || (r->content_length != -1 && r->content_length != n)) {
            return 400;             /* malformed or differing values */
        }
        r->content_length = n;

    } else if (fy_str_eq_ci(&h->name, "Transfer-Encoding")) {
        /* One header whose only coding is chunked (any case, RFC 9112
         * 7).  Two headers are refused as nginx does; a list whose
         * final coding is not chunked leaves the body without a frame
         * (RFC 9112 6.3: 400); other codings before chunked are not
         * implemented (nginx: 501).  Both close the connection. */
        if (*seen & 2) {
            return 400;
        }
        *seen |= 2;
        if (!fy_str_eq_ci(&h->value, "chunked")) {
            r->keepalive = 0;
            return fy_http_token_last_is(&h->value, "chunked") ? 501 : 400;
        }
        r->chunked = 1;

    } else if (fy_str_eq_ci(&h->name, "Connection")) {
        if (fy_http_token_in(&h->value, "close")) {
            *seen |= 4;
        }
        if (fy_http_token_in(&h->value, "keep-alive")) {
            *seen |= 8;
        }
        if (fy_http_token_in(&h->value, "upgrade")) {
            *seen |= 32;
        }

    } else if (fy_str_eq_ci(&h->name, "Upgrade")) {
        r->upgrade = h->value;

    } else if (fy_str_eq_ci(&h->name, "Authorization")) {
        /* one set of credentials: nginx refuses a second line as a
         * "duplicate header line" (400), whether or not auth_basic is
         * on, so neither ferry nor a backend has to pick one */
        if (*seen & 64) {
            return 400;
        }
        *seen |= 64;

    } else if (fy_str_eq_ci(&h->name, "Expect")) {
        if (fy_str_eq_ci(&h->value, "100-continue")) {
            *seen |= 16;
        }
    }
    return 0;
}

/*
 * The request target.  In absolute-form ("GET http://host/p HTTP/1.1")
 * only the path and query are what a backend expects to see, and the
 * target's host takes the place of the Host header (RFC 9112 3.2.2).
 */
static int
fy_http_set_uri(fy_http_request_t *r)
{
    fy_http_parser_t  *p = &r->parser;
    fy_str_t           host;
    u_char            *u;
    size_t             len;

    r->uri.data = p->uri_start;
    r->uri.len = (size_t) (p->uri_end - p->uri_start);

    if (p->host_start && p->path_start) {
        host.data = p->host_start;
        host.len = (size_t) ((p->port_end ? p->port_end : p->host_end)
                             - p->host_start);
        if (fy_http_validate_host(&host, &r->host) != FY_OK) {
            return FY_ERROR;
        }
        r->host_from_target = 1;

        len = (size_t) (p->uri_end - p->path_start);
        if (len == 0 || *p->path_start != '/') {
            /* "http://h" or "http://h?q": the path is "/" */
            u = fy_palloc(r->pool, len + 1);
            if (u == NULL) {
                return FY_ERROR;
            }
            u[0] = '/';
            memcpy(u + 1, p->path_start, len);
            r->uri.data = u;
            r->uri.len = len + 1;
        } else {
            r->uri.data = p->path_start;
            r->uri.len = len;
        }
    }

    r->path = r->uri;
    u = memchr(r->uri.data, '?', r->uri.len);
    if (u) {
        r->path.len = (size_t) (u - r->uri.data);
        r->args.data = u + 1;
        r->args.len = (size_t) (r->uri.data + r->uri.len - u - 1);
    }
    /* locations match what the path means, not how it is spelled;
     * merge_slashes of the address's default server, as nginx (the
     * path is read before Host chooses the server) */
    return fy_http_normalize_path_as(r->pool, &r->path,
                                     r->srv->merge_slashes);
}

/*
 * The header buffer is full in the middle of the request line or of a
 * header line: as nginx's large_client_header_buffers, move the
 * unfinished line to a new buffer of the large size.  The old buffer
 * holds the lines parsed so far, which the request points into: the
 * request's pool frees it.  FY_OK, or the status to refuse the request
 * with: 414 for the request line, 494 for a header line, when the line
 * is already as long as a large buffer or the request has taken all of
 * them; 500 without memory.  So a request header never holds more than
 * client_header_buffer_size + NUMBER x SIZE bytes.
 */
static int
fy_http_large_header_buffer(fy_http_request_t *r)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);
    fy_http_parser_t    *p = &r->parser;
    u_char              *line = r->line_start, **ptr;
    fy_buf_t             nb;
    size_t               len = (size_t) (hc->in.last - line);
    unsigned             i;
    int                  status = r->method_name.data ? 494 : 414;
    u_char             **ptrs[] = {
        &p->request_start, &p->request_end, &p->method_end, &p->uri_start,
        &p->uri_end, &p->args_start, &p->host_start, &p->host_end,
        &p->port_start, &p->port_end, &p->path_start,
        &p->header_name_start, &p->header_name_end, &p->header_start,
        &p->header_end
    };

    if (len >= scf->large_header_buffer
        || r->large_buffers == (unsigned) scf->large_header_buffers)
    {
        fy_log_error(FY_LOG_INFO, 0, "client sent too %s, client %s",
                     status == 414 ? "long URI"
                     : len >= scf->large_header_buffer ? "long header line"
                     : "large request", hc->addr_text);
        return status;
    }

    if (fy_buf_alloc(&nb, scf->large_header_buffer) != FY_OK) {
        return 500;
    }
    if (fy_pool_cleanup_add(r->pool, free, hc->in.start) != FY_OK) {
        fy_buf_release(&nb);
        return 500;
    }
    r->large_buffers++;

    /* The parser's pointers into the unfinished line move with it;
     * those into earlier lines stay where the old buffer keeps them. */
    memcpy(nb.start, line, len);
    for (i = 0; i < sizeof(ptrs) / sizeof(ptrs[0]); i++) {
        ptr = ptrs[i];
        if (*ptr && *ptr >= line && *ptr <= hc->in.last) {
            *ptr = nb.start + (*ptr - line);
        }
    }
    r->header_before += (size_t) (line - hc->in.start);
    r->line_start = nb.start;
    nb.pos = nb.start + (hc->in.pos - line);
    nb.last = nb.start + len;
    hc->in = nb;
    return FY_OK;
}

/* The parser wants more bytes: make room if the buffer is full, and
 * read again.  FY_OK or the status to refuse the request with. */
static int
fy_http_header_more(fy_http_request_t *r)
{
    fy_http_conn_t  *hc = r->hc;
    int              status;

    /* the header timeout runs from the first bytes that did not make a
     * whole header (fy_http_wait_request), not from each read */
    if (!fy_timer_is_set(&hc->c->read)) {
        fy_timer_add(&hc->c->read, (uint64_t)
                     fy_http_default_server(hc->ls)->client_header_timeout);
    }
    if (r->parser.state == 0) {
        r->line_start = hc->in.last;    /* between lines: nothing to keep */
    }
    if (fy_buf_free(&hc->in) == 0) {
        status = fy_http_large_header_buffer(r);
        if (status != FY_OK) {
            return status;
        }
    }
    fy_http_need_more(hc);
    return FY_OK;
}

void
fy_http_process_header(fy_http_request_t *r)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_parser_t    *p = &r->parser;
    fy_http_header_t    *h;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);
    int                  rc, status;
    unsigned            *seen = &r->seen;

    if (r->method_name.data == NULL) {
        if (p->state == 0) {
            r->line_start = hc->in.pos;
        }
        rc = fy_http_parse_request_line(p, &hc->in);

        if (rc == FY_AGAIN) {
            status = fy_http_header_more(r);
            if (status != FY_OK) {
                r->keepalive = 0;
                fy_http_send_error(r, status);
            }
            return;
        }
        if (rc != FY_OK) {
            r->keepalive = 0;
            fy_http_send_error(r, rc == FY_HTTP_PARSE_INVALID_VERSION
                                  ? 505 : 400);
            return;
        }

        r->request_line.data = p->request_start;
        r->request_line.len = (size_t) (p->request_end - p->request_start);
        r->method_name.data = p->request_start;
        r->method_name.len = (size_t) (p->method_end - p->request_start);
        r->method = p->method;
        r->head = p->method == FY_HTTP_HEAD;
        r->http_version = p->http_major * 1000 + p->http_minor;

        if (p->method == FY_HTTP_CONNECT) {
            /* ferry is not a forward proxy */
            r->keepalive = 0;
            fy_http_send_error(r, 405);
            return;
        }
        if (p->method == FY_HTTP_TRACE) {
            /* as nginx: a TRACE echoes the request back, the headers a
             * proxy or the browser added (cookies, credentials) with
             * it (cross-site tracing); no backend should see one */
            fy_log_error(FY_LOG_INFO, 0, "client sent TRACE method, "
                         "client %s", hc->addr_text);
            r->keepalive = 0;
            fy_http_send_error(r, 405);
            return;
        }
        if (fy_http_set_uri(r) != FY_OK) {
            r->keepalive = 0;
            fy_http_send_error(r, 400);
            return;
        }
    }

    for ( ;; ) {
        if (p->state == 0) {
            r->line_start = hc->in.pos;
        }
        rc = fy_http_parse_header_line(p, &hc->in);

        if (rc == FY_OK) {
            if ((p->name_invalid
                 || (p->name_underscore && !scf->underscores_in_headers))
                && scf->ignore_invalid_headers)
            {
                /* nginx: not an error, but the field does not exist
                 * for anything after this (upstream, $http_) */
                fy_log_error(FY_LOG_INFO, 0, "client sent invalid header "
                             "line: \"%.*s\", client %s",
                             (int) fy_min(p->header_name_end
                                          - p->header_name_start, 256),
                             (char *) p->header_name_start, hc->addr_text);
                continue;
            }
            if (r->headers.nelts >= (unsigned) scf->max_headers) {
                /* max_headers: nginx's 494, answered as its 400
                 * "Request Header Or Cookie Too Large" */
                fy_log_error(FY_LOG_INFO, 0, "client sent too many header "
                             "lines, client %s", hc->addr_text);
                r->keepalive = 0;
                fy_http_send_error(r, 494);
                return;
            }
            h = fy_array_push(&r->headers);
            if (h == NULL) {
                fy_http_send_error(r, 500);
                return;
            }
            h->name.data = p->header_name_start;
            h->name.len = (size_t) (p->header_name_end - p->header_name_start);
            h->value.data = p->header_start;
            h->value.len = (size_t) (p->header_end - p->header_start);
            status = fy_http_process_one_header(r, h, seen);
            if (status) {
                r->keepalive = 0;
                fy_http_send_error(r, status);
                return;
            }
            continue;
        }

        if (rc == FY_HTTP_PARSE_HEADER_DONE) {
            r->request_length = (uint64_t) (r->header_before
                                            + (size_t) (hc->in.pos
                                                        - hc->in.start));
            fy_http_handler(r, *seen);
            return;
        }

        if (rc == FY_AGAIN) {
            status = fy_http_header_more(r);
            if (status != FY_OK) {
                /* 494: nginx's 400 "Request Header Or Cookie Too Large" */
                r->keepalive = 0;
                fy_http_send_error(r, status);
            }
            return;
        }

        r->keepalive = 0;
        fy_http_send_error(r, 400);
        return;
    }
}
