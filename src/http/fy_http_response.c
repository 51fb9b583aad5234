/*
 * fy_http_response.c -- answers that ferry makes itself: the status
 * line, the Connection header that settles keep-alive, a whole
 * response from memory (fy_http_send_response), nginx-style error
 * pages, and writing the queued iovecs out to the client
 * (fy_http_write_out, which the proxy relay and static files use for
 * their responses too) until fy_http_finalize.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"
#include "fy_worker.h"
#include "fy_shm.h"

#include <sys/uio.h>
#include <time.h>

static void fy_http_write_handler(fy_event_t *wev);

typedef struct {
    int          code;
    const char  *line;
} fy_http_status_t;

static const fy_http_status_t  fy_http_statuses[] = {
    { 100, "100 Continue" },
    { 101, "101 Switching Protocols" },
    { 200, "200 OK" },
    { 201, "201 Created" },
    { 202, "202 Accepted" },
    { 204, "204 No Content" },
    { 206, "206 Partial Content" },
    { 301, "301 Moved Permanently" },
    { 302, "302 Moved Temporarily" },
    { 303, "303 See Other" },
    { 304, "304 Not Modified" },
    { 307, "307 Temporary Redirect" },
    { 308, "308 Permanent Redirect" },
    { 400, "400 Bad Request" },
    { 401, "401 Unauthorized" },
    { 403, "403 Forbidden" },
    { 404, "404 Not Found" },
    { 405, "405 Not Allowed" },
    { 408, "408 Request Time-out" },
    { 409, "409 Conflict" },
    { 411, "411 Length Required" },
    { 412, "412 Precondition Failed" },
    { 413, "413 Request Entity Too Large" },
    { 414, "414 Request-URI Too Large" },
    { 415, "415 Unsupported Media Type" },
    { 416, "416 Requested Range Not Satisfiable" },
    { 429, "429 Too Many Requests" },
    { 494, "400 Bad Request" },
    { 500, "500 Internal Server Error" },
    { 501, "501 Not Implemented" },
    { 502, "502 Bad Gateway" },
    { 503, "503 Service Temporarily Unavailable" },
    { 504, "504 Gateway Time-out" },
    { 505, "505 HTTP Version Not Supported" },
    { 507, "507 Insufficient Storage" },
    { 0, NULL }
};

const char *
fy_http_status_line(int status, size_t *len)
{
    const fy_http_status_t  *s;

    for (s = fy_http_statuses; s->code; s++) {
        if (s->code == status) {
            *len = strlen(s->line);
            return s->line;
        }
    }
    *len = 0;
    return NULL;
}

char *
fy_http_header_start(char *q, const char *line, size_t llen,
                     const char *server, size_t slen)
{
    q = fy_cpylit(q, "HTTP/1.1 ");
    q = fy_cpymem(q, line, llen);
    q = fy_cpylit(q, "\r\n");
    q = fy_cpymem(q, server, slen);
    q = fy_cpylit(q, "Date: ");
    q = fy_cpymem(q, fy_http_date, fy_http_date_len);
    return fy_cpylit(q, "\r\n");
}

fy_http_loc_conf_t *
fy_http_req_loc(fy_http_request_t *r)
{
    return r->loc ? r->loc : r->srv->loc;
}

/* The Connection header we answer with; also settles keep-alive. */
const char *
fy_http_connection_header(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);

    /* a draining worker keeps connections alive when it can hand them
     * back to the master after the response */
    if ((fy_http_quitting
         && (!fy_worker_can_handback() || r->hc->c->ssl))
        || lcf->keepalive_timeout == 0
        || r->hc->requests + 1 >= (unsigned) lcf->keepalive_requests
        || (r->keepalive && !fy_http_keepalive_allowed(r, lcf)))
    {
        r->keepalive = 0;
    }
    return r->keepalive ? "keep-alive" : "close";
}

/*
 * Every Location ferry makes goes through here: the static handler's
 * directory 301, "return 3xx URL", error_page's redirects, and a proxied
 * Location that proxy_redirect rewrote.  As nginx's header filter, a
 * value that starts with "/" gets "scheme://host[:port]" in front when
 * absolute_redirect is on.  The host: the first server_name with
 * server_name_in_redirect on, else the request's Host (without its
 * port), else the connection's local address.  The port: the
 * listener's, left out when it is the scheme's (80, 443) or with
 * port_in_redirect off.  Anything else is left as it is.
 */
int
fy_http_absolute_location(fy_http_request_t *r, fy_str_t *loc)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);
    fy_http_conn_t      *hc = r->hc;
    fy_sockaddr_t        sa;
    socklen_t            salen = sizeof(sa);
    fy_str_t             host;
    const char          *scheme;
    char                 addr[FY_SOCKADDR_STRLEN + 2], port[8];
    unsigned             lport;
    size_t               len;
    u_char              *p;
    int                  v6;

    if (!lcf->absolute_redirect || loc->len == 0 || loc->data[0] != '/') {
        return FY_OK;
    }
    if (hc->ls->addr.sa.sa_family == AF_UNIX) {
        /* no port, and no address a client could go to: a Host, or
         * the server's name, or the Location stays relative */
        lport = 0;
    } else {
        lport = ntohs(hc->ls->addr.sin6.sin6_port);
    }

    host.len = 0;
    if (lcf->server_name_in_redirect && r->srv && r->srv->sn.names.nelts) {
        host = *fy_array_elt(&r->srv->sn.names, fy_str_t, 0);
    }
    if (host.len == 0 && r->host.len) {
        host = r->host;
    }
    if (host.len == 0 && r->srv && r->srv->sn.names.nelts
        && hc->ls->addr.sa.sa_family == AF_UNIX)
    {
        host = *fy_array_elt(&r->srv->sn.names, fy_str_t, 0);
    }
    if (host.len == 0) {
        if (hc->ls->addr.sa.sa_family == AF_UNIX
            || getsockname(hc->c->fd, &sa.sa, &salen) != 0)
        {
            return FY_OK;
        }
        /* an IPv6 address in brackets, as a URL wants it (nginx
         * leaves them out here) */
        v6 = sa.sa.sa_family == AF_INET6;
        fy_sockaddr_text(&sa.sa, salen, addr + v6, sizeof(addr) - 2, 0);
        if (v6) {
            addr[0] = '[';
            len = strlen(addr);
            addr[len] = ']';
            addr[len + 1] = '\0';
        }
        host.data = (u_char *) addr;
        host.len = strlen(addr);
    }

    scheme = hc->c->ssl ? "https://" : "http://";
    if (!lcf->port_in_redirect || lport == (hc->c->ssl ? 443u : 80u)) {
        lport = 0;
    }
    port[0] = '\0';
    if (lport) {
        snprintf(port, sizeof(port), ":%u", lport);
    }

    len = strlen(scheme) + host.len + strlen(port) + loc->len;
    p = fy_palloc(r->pool, len);
    if (p == NULL) {
        return FY_ERROR;
    }
    memcpy(p, scheme, strlen(scheme));
    memcpy(p + strlen(scheme), host.data, host.len);
    memcpy(p + strlen(scheme) + host.len, port, strlen(port));
    memcpy(p + len - loc->len, loc->data, loc->len);
    loc->data = p;
    loc->len = len;
    return FY_OK;
}

/* chunked_transfer_encoding: is the chunked coding ours to use? */
int
fy_http_chunked_out(fy_http_request_t *r)
{
    return r->http_version >= 1001
           && fy_http_req_loc(r)->chunked_transfer_encoding;
}

void
fy_http_send_response(fy_http_request_t *r, int status, const fy_str_t *type,
                      const u_char *body, size_t len,
                      const fy_str_t *location)
{
    fy_http_conn_t  *hc = r->hc;
    const char      *line, *conn, *server, *gzip = "";
    char            *hdr, code[8], *chunk, lm[FY_TIME_HTTP_MAX];
    u_char          *z;
    char            *q;
    size_t           llen, size, slen, zlen, lm_len;
    fy_str_t         add, abs, ctype, last;
    fy_http_sub_stream_t  *s;
    size_t           hsize, hlen;
    int              n, how, chunked, sent;

    if (r->err_status) {
        status = r->err_status;     /* error_page 404 /x: still a 404 */
    }
    if (r->parent) {
        if (r->capture) {
            /* ssi's include: the body is kept for the document */
            if (type) {
                r->capture->type = *type;
            }
            if (status != 204 && status != 304
                && fy_http_capture_add(r->pool, r->capture, body, len)
                   != FY_OK)
            {
                status = 500;
            }
        }
        fy_http_subrequest_done(r, status);     /* a subrequest's answer */
        return;
    }
    if (len && r->loc && r->loc->ssi && !r->ssi_done && location == NULL
        && status != 204 && status != 304 && fy_http_ssi_applies(r, type))
    {
        /* ssi: the body is processed first, then answered here again */
        fy_http_ssi_response(r, status, type, body, len);
        return;
    }
    r->status = status;
    fy_http_set_stat(r, FY_HTTP_STAT_WRITING);
    line = fy_http_status_line(status, &llen);
    if (line == NULL) {
        /* a code we have no reason phrase for: "299 " -- the space
         * after the code is required even with an empty phrase */
        n = snprintf(code, sizeof(code), "%03d ", status);
        line = code;
        llen = (size_t) n;
    }
    conn = fy_http_connection_header(r);
    if (status == 204 || status == 304 || (status >= 100 && status < 200)) {
        len = 0;        /* these never carry a body (RFC 9110 6.4.1) */
    }
    if (r->accel && r->accel->type.len && type && status < 400) {
        /* after X-Accel-Redirect: the upstream's type, as nginx's
         * "return" keeps a type already set */
        type = &r->accel->type;
    }
    if (len && r->loc && r->loc->addition && location == NULL && type) {
        /* add_before_body, add_after_body: fetched first if not yet */
        switch (fy_http_addition_response(r, status, type, body, len)) {
        case FY_OK:
            return;         /* sent again once they are in */
        case FY_ERROR:
            fy_http_close_connection(hc);
            return;
        }
    }
    if (len && r->loc && fy_http_sub_wanted(r->loc)) {
        /* sub_filter: the whole body is here, substituted in one go;
         * its new length is known (a HEAD's too) */
        switch (fy_http_sub_begin(r, status, type, NULL, (int64_t) len, &s)) {
        case FY_OK:
            if (fy_http_sub_buffer(s, r, body, len, &z, &zlen) != FY_OK) {
                fy_http_close_connection(hc);
                return;
            }
            body = z;
            len = zlen;
            break;
        case FY_ERROR:
            fy_http_close_connection(hc);
            return;
        }
    }
    if (len) {
        /* the whole body is here: compressed in one go, with its length */
        how = fy_http_gzip_decide(r, status, type, (int64_t) len, NULL, 0);
        if (how == FY_HTTP_GZIP_YES) {
            if (fy_http_gzip_buffer(r, body, len, &z, &zlen) == FY_OK) {
                body = z;
                len = zlen;
            } else {
                how = FY_HTTP_GZIP_VARY;
            }
        }
        gzip = fy_http_gzip_header_lines(r, how);
    }
    lm_len = 0;
    if (r->send_last_modified && (status == 200 || status == 304)) {
        /* empty_gif's date (nginx sends none on other statuses) */
        lm_len = fy_time_http(lm, (time_t) r->last_modified);
    }
    /* add_trailer: chunked, its trailers in the last chunk (nginx) */
    chunked = fy_http_trailers_expected(r, status);
    if (type && len) {
        switch (fy_http_charset_type(r, type, &ctype)) {
        case 1:
            type = &ctype;
            break;
        case -1:
            fy_http_close_connection(hc);
            return;
        }
    }
    server = fy_http_server_line(r, &slen);
    sent = fy_http_req_loc(r)->add_headers_sent;
    add.len = 0;
    add.data = NULL;
    if (!sent && fy_http_add_headers(r, status, &add) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }

    if (location) {
        abs = *location;
        if (fy_http_absolute_location(r, &abs) != FY_OK) {
            fy_http_close_connection(hc);
            return;
        }
        location = &abs;
    }

    /* the fixed lines, Content-Range's (64), Last-Modified's, ... */
    size = 320 + 64 + sizeof(lm) + llen + slen + fy_http_date_len
           + (type ? type->len : 0) + (location ? location->len : 0)
           + add.len + r->pass_lines.len;
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_http_close_connection(hc);
        return;
    }

    /* No printf here: it cost more than the rest of the answer
     * (callgrind, docs/performance.md); every line's room is in size. */
    q = fy_http_header_start(hdr, line, llen, server, slen);
    if (type && len) {
        q = fy_cpylit(q, "Content-Type: ");
        q = fy_cpymem(q, type->data, type->len);
        q = fy_cpylit(q, "\r\n");
    }
    if (status != 204 && status != 304) {
        if (chunked) {
            q = fy_cpylit(q, "Transfer-Encoding: chunked\r\n");
        } else {
            q = fy_cpylit(q, "Content-Length: ");
            q += fy_utoa((u_char *) q, len);
            q = fy_cpylit(q, "\r\n");
        }
    }
    if (location) {
        q = fy_cpylit(q, "Location: ");
        q = fy_cpymem(q, location->data, location->len);
        q = fy_cpylit(q, "\r\n");
    }
    if (lm_len) {
        q = fy_cpylit(q, "Last-Modified: ");
        q = fy_cpymem(q, lm, lm_len);
        q = fy_cpylit(q, "\r\n");
    }
    if (r->range_unsat && status == 416) {
        /* nginx's 416 and what its error_page answers as 416 */
        q = fy_cpylit(q, "Content-Range: bytes */");
        q += fy_utoa((u_char *) q, (uint64_t) r->range_size);
        q = fy_cpylit(q, "\r\n");
    }
    if (r->pass_lines.len) {
        q = fy_cpymem(q, r->pass_lines.data, r->pass_lines.len);
    }
    q = fy_cpymem(q, gzip, strlen(gzip));
    if (add.len) {
        q = fy_cpymem(q, add.data, add.len);
    }
    q = fy_cpylit(q, "Connection: ");
    q = fy_cpymem(q, conn, strlen(conn));
    q = fy_cpylit(q, "\r\n\r\n");
    n = (int) (q - hdr);
    if (sent) {
        /* add_header reads $sent_http_: made now, before Connection */
        hsize = size;
        hlen = (size_t) n;
        if (fy_http_add_headers_into(r, status, &hdr, &hlen, &hsize,
                                     hlen - strlen(conn)
                                     - (sizeof("Connection: \r\n\r\n") - 1))
            != FY_OK)
        {
            fy_http_close_connection(hc);
            return;
        }
        n = (int) hlen;
    }

    hc->out[0].iov_base = hdr;
    hc->out[0].iov_len = (size_t) n;
    r->header_out = (uint64_t) n;
    r->header_text.data = (u_char *) hdr;
    r->header_text.len = (size_t) n;
    hc->out[1].iov_base = (void *) body;
    hc->out[1].iov_len = r->head ? 0 : len;
    hc->nout = 2;
    if (chunked) {
        /* one chunk of all the body, then the last with the trailers */
        if (fy_http_trailers_last_chunk(r, len != 0, &last) != FY_OK
            || (chunk = fy_palloc(r->pool, 24)) == NULL)
        {
            fy_http_close_connection(hc);
            return;
        }
        hc->out[1].iov_base = chunk;
        hc->out[1].iov_len = len ? (size_t) snprintf(chunk, 24, "%zx\r\n", len)
                                 : 0;
        hc->out[2].iov_base = (void *) body;
        hc->out[2].iov_len = len;
        hc->out[3].iov_base = last.data;
        hc->out[3].iov_len = last.len;
        hc->nout = 4;
    }
    hc->out_done = NULL;
    r->header_sent = 1;

    switch (fy_http_write_out(r)) {
    case FY_OK:
        fy_http_finalize(r, 0);
        return;
    case FY_AGAIN:
        return;
    default:
        fy_http_close_connection(hc);
    }
}

/* nginx-style error pages: small HTML that says what happened. */
void
fy_http_send_error(fy_http_request_t *r, int status)
{
    static fy_str_t  html = fy_string("text/html");
    const char      *line, *sig;
    char            *body, code[8];
    size_t           llen, size;
    int              n;

    /* the status of the last error is the one answered, whatever an
     * error_page said about the first; an upstream's fields kept for a
     * processed page are not the error page's */
    r->err_status = 0;
    r->pass_lines.len = 0;
    if (r->capture) {
        /* ssi's include: the error page is the body, not what came
         * before the failure */
        r->capture->len = 0;
        r->capture->too_big = 0;
    }
    if (r->parent && r->capture == NULL) {
        /* a subrequest's answer, after its location's error_page (as
         * nginx: "error_page 401 = /x" in the auth location answers
         * for it); no page is made */
        if (fy_http_error_page(r, status) != FY_OK) {
            fy_http_subrequest_done(r, status);
        }
        return;
    }
    line = fy_http_status_line(status, &llen);
    if (status == 494) {
        line = "400 Request Header Or Cookie Too Large";
        llen = strlen(line);
    } else if (status == 401) {
        line = "401 Authorization Required";    /* nginx's page */
        llen = strlen(line);
    }
    if (line == NULL) {
        /* "return 418;": the code stands alone, as nginx shows it */
        snprintf(code, sizeof(code), "%03d", status);
        line = code;
        llen = strlen(code);
    }

    if (status >= 400 && status != 408 && status < 500 && status != 404
        && status != 403 && status != 405 && status != 401 && status != 416)
    {
        /* A request we could not make sense of: the byte stream after
         * it cannot be trusted to start a new request. */
        r->keepalive = 0;
    }

    if (fy_http_error_page(r, status) == FY_OK) {
        return;
    }

    sig = fy_http_signature(r);
    size = 2 * llen + 128 + strlen(sig);
    body = fy_palloc(r->pool, size);
    if (body == NULL) {
        fy_http_close_connection(r->hc);
        return;
    }
    n = snprintf(body, size,
                 "<html>\r\n<head><title>%.*s</title></head>\r\n<body>\r\n"
                 "<center><h1>%.*s</h1></center>\r\n"
                 "<hr><center>%s</center>\r\n</body>\r\n</html>\r\n",
                 (int) llen, line, (int) llen, line, sig);

    /* 494 is nginx's own code: the client sees, and the access log
     * shows, 400 (nginx's err_status) with the 494 text */
    fy_http_send_response(r, status == 494 ? 400 : status, &html,
                          (u_char *) body, (size_t) n, NULL);
}

/* Advance an iovec array past `n` written bytes. */
static void
fy_iov_advance(struct iovec *iov, int cnt, size_t n)
{
    int  i;

    for (i = 0; i < cnt && n; i++) {
        size_t k = fy_min(n, iov[i].iov_len);
        iov[i].iov_base = (char *) iov[i].iov_base + k;
        iov[i].iov_len -= k;
        n -= k;
    }
}

int
fy_http_write_out(fy_http_request_t *r)
{
    fy_http_conn_t      *hc = r->hc;
    fy_conn_t           *c = hc->c;
    struct iovec         iov[4];
    ssize_t              n;
    uint64_t             delay;
    int                  i, cnt;

    for ( ;; ) {
        cnt = 0;
        for (i = 0; i < hc->nout; i++) {
            if (hc->out[i].iov_len) {
                iov[cnt++] = hc->out[i];
            }
        }
        if (cnt == 0) {
            hc->nout = 0;
            fy_timer_del(&c->write);
            c->write.handler = fy_event_ignore;
            return FY_OK;
        }

        if (r->limit_rate) {
            cnt = fy_http_limit_rate_iov(r, iov, cnt, &delay);
            if (cnt == 0) {
                /* limit_rate: on when the timer says */
                r->limit_delayed = 1;
                c->write.handler = fy_http_write_handler;
                fy_timer_add(&c->write, delay);
                return FY_AGAIN;
            }
        }

        n = fy_conn_writev(c, iov, cnt);
        if (n > 0) {
            fy_iov_advance(hc->out, hc->nout, (size_t) n);
            fy_shm_add(fy_worker_slot->bytes_out, (uint64_t) n);
            r->bytes_out += (uint64_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
            c->write.handler = fy_http_write_handler;
            r->limit_delayed = 0;       /* this timer is send_timeout */
            fy_timer_add(&c->write,
                         (uint64_t) fy_http_req_loc(r)->send_timeout);
            return FY_AGAIN;
        }
        fy_log_error(FY_LOG_INFO, errno,
                     "send() or writev() failed, client %s", hc->addr_text);
        return FY_ERROR;
    }
}

static void
fy_http_write_handler(fy_event_t *wev)
{
    fy_conn_t          *c = wev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;
    void              (*done)(fy_http_request_t *r);

    if (r->limit_delayed) {
        if (!wev->timedout) {
            return;         /* woken before the limit_rate timer */
        }
        r->limit_delayed = 0;
        wev->timedout = 0;
    } else if (wev->timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out while sending "
                     "response, client %s", hc->addr_text);
        fy_http_reset_timedout(hc);
        fy_http_close_connection(hc);
        return;
    }

    switch (fy_http_write_out(r)) {
    case FY_AGAIN:
        return;
    case FY_OK:
        done = hc->out_done;
        hc->out_done = NULL;
        if (done) {
            done(r);
        } else {
            fy_http_finalize(r, 0);
        }
        return;
    default:
        fy_http_close_connection(hc);
    }
}
