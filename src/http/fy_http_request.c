/*
 * fy_http_request.c -- the client side of HTTP/1.1: reading and
 * checking requests, choosing the server and location, writing
 * responses, keep-alive and pipelining.
 *
 * A connection moves through these handlers:
 *
 *   wait_request --(first bytes)--> read_header --(headers done)-->
 *   location handler (return / proxy) --(response written)-->
 *   finalize --> keep-alive: wait_request again (or the next
 *   pipelined request at once), or close.
 *
 * The request's headers are parsed in place in hc->in; its fields point
 * into that buffer, which therefore never moves while a request is
 * being served.  Bytes after the headers are the start of the body or
 * of the next pipelined request.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"
#include "fy_shm.h"

#include <sys/uio.h>
#include <netinet/tcp.h>

unsigned  fy_http_quitting;

/* Idle keep-alive connections, so a graceful stop can close them. */
static fy_http_conn_t  *fy_http_idle;

static void fy_http_wait_request(fy_event_t *rev);
static void fy_http_read_header(fy_event_t *rev);
static void fy_http_process_header(fy_http_request_t *r);
static void fy_http_write_handler(fy_event_t *wev);
static void fy_http_set_keepalive(fy_http_conn_t *hc);
static void fy_http_free_request(fy_http_request_t *r);
static void fy_http_idle_del(fy_http_conn_t *hc);
static void fy_http_set_stat(fy_http_request_t *r, unsigned stat);
static void fy_http_idle_add(fy_http_conn_t *hc);
static void fy_http_keepalive_handler(fy_event_t *rev);
static int fy_http_drain_one(fy_http_conn_t *hc);
static void fy_http_need_more(fy_http_conn_t *hc);

static fy_http_srv_conf_t *
fy_http_default_server(fy_listen_t *ls)
{
    return *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, 0);
}

void
fy_http_init_connection(fy_conn_t *c, fy_listen_t *ls, const u_char *data,
                        size_t len, unsigned requests)
{
    fy_http_conn_t      *hc;
    fy_http_srv_conf_t  *scf = fy_http_default_server(ls);

    hc = calloc(1, sizeof(fy_http_conn_t));
    if (hc == NULL) {
        fy_log_error(FY_LOG_ALERT, errno, "cannot allocate connection");
        fy_conn_close(c);
        return;
    }
    hc->c = c;
    hc->ls = ls;
    c->data = hc;
    fy_sockaddr_text((struct sockaddr *) &c->addr, c->addrlen, hc->addr_text,
                     sizeof(hc->addr_text), 0);
    /* same offset in sockaddr_in; a unix client has none */
    hc->port = c->addr.sin6_family == AF_UNIX ? 0 : ntohs(c->addr.sin6_port);

    fy_shm_add(fy_worker_slot->active, 1);
    hc->serial = fy_shm_add(fy_shm->connection_serial, 1) + 1;

    if (fy_conn_register(c) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }
    fy_shm_add(fy_worker_slot->handled, 1);

    /* Handed over by a draining worker: carry on where it stopped. */
    hc->requests = requests;
    if (len) {
        if (fy_buf_alloc(&hc->in, fy_max(len, scf->client_header_buffer))
            != FY_OK)
        {
            fy_http_close_connection(hc);
            return;
        }
        memcpy(hc->in.last, data, len);
        hc->in.last += len;

    } else if (requests) {
        /* between two requests: idle here as it was there */
        c->read.handler = fy_http_keepalive_handler;
        c->write.handler = fy_event_ignore;
        fy_timer_add(&c->read, (uint64_t) scf->loc->keepalive_timeout);
        fy_http_idle_add(hc);
        /* the next request may be in the socket already */
        c->read.ready = 1;
        fy_event_post(&c->read);
        return;

    } else if (ls->ssl) {
        /* TLS connections are never handed over: this one is new */
        fy_http_ssl_init_connection(hc);
        return;
    }

    fy_http_start_connection(hc);
}

void
fy_http_start_connection(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);

    c->read.handler = fy_http_wait_request;
    c->write.handler = fy_event_ignore;
    fy_timer_add(&c->read, (uint64_t) scf->client_header_timeout);

    /* The client has usually sent its request by the time the master
     * handed us the socket: try now instead of waiting a turn. */
    c->read.ready = 1;
    fy_http_wait_request(&c->read);
}

void
fy_http_close_connection(fy_http_conn_t *hc)
{
    fy_http_idle_del(hc);
    if (hc->r) {
        fy_http_free_request(hc->r);
    }
    if (hc->c) {
        /* Count the connection gone before the peer can see it closed:
         * a dispatcher reading "active" must not see a stale value
         * after the client already observed the close. */
        fy_shm_add(fy_worker_slot->active, (uint64_t) -1);
        fy_conn_close(hc->c);
    }
    fy_buf_release(&hc->in);
    free(hc);
}

static fy_http_request_t *
fy_http_create_request(fy_http_conn_t *hc)
{
    fy_pool_t          *pool;
    fy_http_request_t  *r;

    pool = fy_pool_create(4096);
    if (pool == NULL) {
        return NULL;
    }
    r = fy_pcalloc(pool, sizeof(fy_http_request_t));
    if (r == NULL) {
        fy_pool_destroy(pool);
        return NULL;
    }
    r->pool = pool;
    r->hc = hc;
    r->content_length = -1;
    r->start_msec = fy_current_msec;
    r->number = hc->requests + 1;
    r->start_wall = fy_wall_msec;
    r->srv = fy_http_default_server(hc->ls);
    fy_http_parser_init(&r->parser);
    /* names nginx would call invalid are ignored or passed, not 400 */
    r->parser.lenient_names = 1;
    fy_array_init(&r->headers, pool, 16, sizeof(fy_http_header_t));
    hc->r = r;
    fy_http_set_stat(r, FY_HTTP_STAT_READING);
    return r;
}

static void
fy_http_free_request(fy_http_request_t *r)
{
    /* every request that got as far as a request line or an answer is
     * logged once, however it ended */
    if (r->request_line.len || r->status) {
        fy_http_log_request(r);
    }
    fy_http_set_stat(r, FY_HTTP_STAT_NONE);
    r->hc->r = NULL;
    /* Pool cleanups close what the request still holds (upstream). */
    fy_pool_destroy(r->pool);
}

/*
 * Read what the socket has into hc->in.  Returns bytes read, 0 on EOF,
 * FY_AGAIN, or FY_ERROR.
 */
static ssize_t
fy_http_recv(fy_http_conn_t *hc)
{
    fy_conn_t  *c = hc->c;
    size_t      size = fy_buf_free(&hc->in);
    ssize_t     n;

    for ( ;; ) {
        n = fy_conn_recv(c, hc->in.last, size);
        if (n > 0) {
            /* a short read cleared c->read.ready (fy_conn_recv) */
            hc->in.last += n;
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            return n;
        }
        if (n == 0 || n == FY_AGAIN) {
            return n;
        }
        fy_log_error(FY_LOG_INFO, errno, "recv() failed, client %s",
                     hc->addr_text);
        return FY_ERROR;
    }
}

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

static void
fy_http_wait_request(fy_event_t *rev)
{
    fy_conn_t           *c = rev->data;
    fy_http_conn_t      *hc = c->data;
    fy_http_request_t   *r;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);
    ssize_t              n;

    if (rev->timedout) {
        fy_http_close_connection(hc);
        return;
    }

    if (hc->in.start == NULL
        && fy_buf_alloc(&hc->in, scf->client_header_buffer) != FY_OK)
    {
        fy_http_close_connection(hc);
        return;
    }

    if (hc->in.last == hc->in.pos) {
        n = fy_http_recv(hc);
        if (n == FY_AGAIN) {
            if (hc->requests && hc->in.pos == hc->in.last) {
                /* idle keep-alive: give the buffer back while waiting */
                fy_buf_release(&hc->in);
            }
            return;
        }
        if (n <= 0) {
            fy_http_close_connection(hc);
            return;
        }
    }

    r = fy_http_create_request(hc);
    if (r == NULL) {
        fy_http_close_connection(hc);
        return;
    }

    /* A request has started: from now on the header timeout applies. */
    fy_timer_add(rev, (uint64_t) scf->client_header_timeout);
    rev->handler = fy_http_read_header;
    fy_http_process_header(r);
}

static void
fy_http_read_header(fy_event_t *rev)
{
    fy_conn_t          *c = rev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;
    ssize_t             n;

    if (rev->timedout) {
        /* nginx answers a client too slow with its headers with 408
         * only in the log; the connection is simply closed. */
        fy_log_error(FY_LOG_INFO, 0, "client timed out while reading "
                     "request header, client %s", hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }

    n = fy_http_recv(hc);
    if (n == FY_AGAIN) {
        return;
    }
    if (n <= 0) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_process_header(r);
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

/* Check and normalise Host: lowercase, no port, no trailing dot.
 * FY_OK or FY_ERROR for an invalid host.  A pure function of its
 * arguments (only h's bytes are lowercased in place), so that
 * t/fuzz/fuzz_http_host.c can call it alone. */
int
fy_http_validate_host(fy_str_t *h, fy_str_t *host)
{
    u_char  *p, *dot = NULL, *host_end;
    size_t   i;
    int      in_brackets = 0;

    if (h->len == 0) {
        host->len = 0;
        return FY_OK;
    }

    host_end = h->data + h->len;
    for (p = h->data; p < h->data + h->len; p++) {
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
    for (i = 0; i < host->len; i++) {
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

    } else if (fy_str_eq_ci(&h->name, "Expect")) {
        if (fy_str_eq_ci(&h->value, "100-continue")) {
            *seen |= 16;
        }
    }
    return 0;
}

/* "*.example.com" matches any name ending in ".example.com";
 * ".example.com" matches those and "example.com" itself (nginx). */
static int
fy_http_wildcard_match(const fy_str_t *name, const fy_str_t *host)
{
    const u_char  *suffix;
    size_t         slen;

    if (name->len < 2 || (name->data[0] != '*' && name->data[0] != '.')) {
        return 0;
    }
    suffix = name->data + (name->data[0] == '*');   /* ".example.com" */
    slen = name->len - (name->data[0] == '*');

    if (host->len > slen
        && memcmp(host->data + host->len - slen, suffix, slen) == 0)
    {
        return 1;
    }
    return name->data[0] == '.' && host->len == slen - 1
           && memcmp(host->data, suffix + 1, slen - 1) == 0;
}

/* "www.example.*" matches any name starting with "www.example." */
static int
fy_http_trailing_wildcard_match(const fy_str_t *name, const fy_str_t *host)
{
    return name->len > 2 && name->data[name->len - 1] == '*'
           && name->data[name->len - 2] == '.'
           && host->len > name->len - 1
           && memcmp(host->data, name->data, name->len - 1) == 0;
}

/* server_name in nginx's order: the exact name, the longest leading
 * wildcard, the longest trailing wildcard, the first regex that
 * matches (servers and names in the order written).  host is
 * lowercased.  NULL: none matches (the default server answers).  r may
 * be NULL (SNI, before any request): a regex's captures are then not
 * kept. */
fy_http_srv_conf_t *
fy_http_find_server(fy_listen_t *ls, const fy_str_t *host,
                    fy_http_request_t *r)
{
    fy_array_t          *servers = &ls->servers;
    fy_http_srv_conf_t  *scf, *lead = NULL, *trail = NULL;
    fy_http_regex_t     *re;
    fy_str_t            *name;
    size_t               lead_len = 0, trail_len = 0;
    unsigned             i, j;

    for (i = 0; i < servers->nelts; i++) {
        scf = *fy_array_elt(servers, fy_http_srv_conf_t *, i);
        for (j = 0; j < scf->names.nelts; j++) {
            name = fy_array_elt(&scf->names, fy_str_t, j);
            if (name->len == host->len
                && memcmp(name->data, host->data, name->len) == 0)
            {
                return scf;
            }
            if (name->len > lead_len && fy_http_wildcard_match(name, host))
            {
                lead = scf;
                lead_len = name->len;
            }
            if (name->len > trail_len
                && fy_http_trailing_wildcard_match(name, host))
            {
                trail = scf;
                trail_len = name->len;
            }
        }
    }
    if (lead || trail) {
        return lead ? lead : trail;
    }
    for (i = 0; i < servers->nelts; i++) {
        scf = *fy_array_elt(servers, fy_http_srv_conf_t *, i);
        for (j = 0; j < scf->regex_names.nelts; j++) {
            re = *fy_array_elt(&scf->regex_names, fy_http_regex_t *, j);
            if (fy_http_regex_exec(r, re, host,
                                   r ? &r->srv_captures : NULL) == FY_OK)
            {
                return scf;
            }
        }
    }
    return NULL;
}

/* location in nginx's order, among the locations of one level: an "="
 * location equal to the path wins; else the longest prefix is
 * remembered and the locations nested in it are searched the same way;
 * unless that prefix is "^~", the first regex location of this level
 * (in the order written) that matches wins, and its nested locations
 * are searched; else the remembered prefix.  FY_OK: final; FY_AGAIN: a
 * prefix was found; FY_DECLINED: nothing matched.  r->loc is the best
 * found. */
static int
fy_http_find_location(fy_http_request_t *r, fy_array_t *prefixes,
                      fy_array_t *regexes)
{
    fy_http_loc_conf_t  *lcf;
    unsigned             i, noregex = 0;
    int                  rc = FY_DECLINED;

    /* Sorted longest first, "=" before a prefix of the same name: the
     * first match is the best one. */
    for (i = 0; prefixes && i < prefixes->nelts; i++) {
        lcf = *fy_array_elt(prefixes, fy_http_loc_conf_t *, i);
        if (r->path.len >= lcf->name.len
            && (!lcf->exact || r->path.len == lcf->name.len)
            && memcmp(r->path.data, lcf->name.data, lcf->name.len) == 0)
        {
            r->loc = lcf;
            if (lcf->exact) {
                return FY_OK;
            }
            noregex = lcf->noregex;
            if (fy_http_find_location(r, lcf->locations, lcf->regex_locations)
                == FY_OK)
            {
                return FY_OK;
            }
            rc = FY_AGAIN;
            break;
        }
    }
    for (i = 0; !noregex && regexes && i < regexes->nelts; i++) {
        lcf = *fy_array_elt(regexes, fy_http_loc_conf_t *, i);
        if (fy_http_regex_exec(r, lcf->regex, &r->path, &r->captures)
            == FY_OK)
        {
            r->loc = lcf;
            (void) fy_http_find_location(r, lcf->locations,
                                         lcf->regex_locations);
            return FY_OK;
        }
    }
    return rc;
}

void
fy_http_find_location_of(fy_http_request_t *r)
{
    fy_http_srv_conf_t  *scf = r->srv;

    r->loc = scf->loc;
    (void) fy_http_find_location(r, &scf->locations, &scf->regex_locations);
}

static void
fy_http_find_config(fy_http_request_t *r)
{
    fy_listen_t         *ls = r->hc->ls;
    fy_http_srv_conf_t  *scf;

    scf = *fy_array_elt(&ls->servers, fy_http_srv_conf_t *, 0);
    if ((ls->servers.nelts > 1 || scf->regex_names.nelts) && r->host.len) {
        scf = fy_http_find_server(ls, &r->host, r);
        if (scf) {
            r->srv = scf;
        }
    }

    fy_http_find_location_of(r);
}

static void
fy_http_return_handler(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_str_t             location;
    u_char              *text = NULL;
    size_t               len = 0;
    int                  code = lcf->return_code;

    if (code == 444) {
        /* nginx's "close the connection without a response" */
        fy_http_close_connection(r->hc);
        return;
    }

    if (lcf->return_text) {
        text = fy_http_cv_eval(r, lcf->return_text, &len);
        if (text == NULL) {
            fy_http_send_error(r, 500);
            return;
        }
    }

    if (code == 301 || code == 302 || code == 303 || code == 307
        || code == 308)
    {
        /* $uri and captures are decoded: "%0d%0a" in them must not
         * end the Location line */
        location.data = fy_http_header_escape(r->pool, text, &len);
        location.len = len;
        if (location.data == NULL) {
            fy_http_send_error(r, 500);
            return;
        }
        r->status = code;
        fy_http_send_response(r, code, NULL, NULL, 0, &location);
        return;
    }

    if (text == NULL && code >= 400) {
        fy_http_send_error(r, code);
        return;
    }

    fy_http_send_response(r, code, &lcf->default_type, text, len, NULL);
}

/* Drop the body bytes already read for a request that does not want
 * them; finalize closes the connection if more are on their way. */
static void
fy_http_skip_body(fy_http_request_t *r)
{
    fy_http_conn_t  *hc = r->hc;
    size_t           have;
    int              rc;

    have = fy_min(fy_buf_size(&hc->in), r->body_rest);
    hc->in.pos += have;
    r->body_rest -= have;

    /* a chunked body wholly read with the header ends here (what
     * follows is the next request); otherwise r->chunked stays set */
    while (r->chunked && fy_buf_size(&hc->in)) {
        rc = fy_http_parse_chunked(&r->chunked_body, &hc->in);
        if (rc == FY_DONE) {
            r->chunked = 0;
        } else if (rc != FY_OK) {
            break;      /* FY_AGAIN: all read; invalid: closed at the end */
        }
    }
}

/* Headers are complete: decide what to do with the request. */
static void
fy_http_handler(fy_http_request_t *r, unsigned seen)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf;

    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;
    fy_http_set_stat(r, FY_HTTP_STAT_WRITING);

    if (hc->plain_on_tls) {
        fy_http_ssl_plain_error(r);
        return;
    }

    if (r->http_version >= 1001) {
        r->keepalive = !(seen & 4);
        if (!(seen & 1)) {
            fy_http_send_error(r, 400);     /* HTTP/1.1 needs Host */
            return;
        }
    } else {
        r->keepalive = (seen & 8) && !(seen & 4);
    }

    if ((seen & 2) && (r->content_length != -1 || r->http_version < 1001))
    {
        /* Both framings at once is the classic smuggling attempt, and
         * HTTP/1.0 has no chunked coding (RFC 9112 6.1, nginx): refused,
         * the connection closed. */
        r->keepalive = 0;
        fy_http_send_error(r, 400);
        return;
    }

    /* An upgrade (WebSocket) is only honoured as the RFC asks: HTTP/1.1,
     * with "upgrade" among the Connection options and no body. */
    if (!((seen & 32) && r->http_version >= 1001
          && r->content_length <= 0 && !r->chunked))
    {
        r->upgrade.len = 0;
    }

    fy_http_find_config(r);
    lcf = r->loc;

    /* ssl_verify_client of the server the Host chose, as nginx */
    if (fy_http_ssl_verify(r) != FY_OK) {
        return;
    }

    if (r->content_length > 0) {
        if ((uint64_t) r->content_length > lcf->client_max_body_size
            && lcf->client_max_body_size != 0)
        {
            r->keepalive = 0;
            fy_http_send_error(r, 413);
            return;
        }
        r->body_rest = (uint64_t) r->content_length;
    }

    fy_http_run_location(r);
}

void
fy_http_run_location(fy_http_request_t *r)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_loc_conf_t  *lcf = r->loc;
    size_t               have;
    static const char    cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if (lcf->return_code != FY_CONF_UNSET_INT) {
        /* The body is not wanted: skip what we have; a body still on
         * its way makes the connection unusable afterwards. */
        fy_http_skip_body(r);
        fy_http_return_handler(r);
        return;
    }

    /* After "return", as nginx's access phase follows its rewrite
     * phase. */
    if (fy_http_access_check(r) != FY_OK) {
        fy_http_skip_body(r);
        fy_http_send_error(r, 403);
        return;
    }

    if (lcf->handler) {
        fy_http_skip_body(r);
        lcf->handler(r);
        return;
    }

    if (fy_http_proxied(lcf)) {
        have = fy_buf_size(&hc->in);
        if ((r->seen & 16) && r->http_version >= 1001
            && (r->chunked ? have == 0 : have < r->body_rest)
            && !r->error_page && lcf->pass_request_body)
        {
            /* The client waits for this before sending the body, and
             * only a proxied request wants the body.  A short write
             * here only delays the client until its own timeout. */
            if (fy_conn_send(hc->c, (const u_char *) cont, sizeof(cont) - 1)
                < 0)
            {
                fy_log_error(FY_LOG_INFO, errno, "send() of 100 Continue "
                             "failed, client %s", hc->addr_text);
            }
        }
        fy_http_proxy_handler(r);
        return;
    }

    fy_http_send_error(r, 404);
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
    /* locations match what the path means, not how it is spelled */
    return fy_http_normalize_path(r->pool, &r->path);
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

static void
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

/* ---- responses ---- */

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
    { 411, "411 Length Required" },
    { 413, "413 Request Entity Too Large" },
    { 414, "414 Request-URI Too Large" },
    { 429, "429 Too Many Requests" },
    { 494, "400 Bad Request" },
    { 500, "500 Internal Server Error" },
    { 501, "501 Not Implemented" },
    { 502, "502 Bad Gateway" },
    { 503, "503 Service Temporarily Unavailable" },
    { 504, "504 Gateway Time-out" },
    { 505, "505 HTTP Version Not Supported" },
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
        || r->hc->requests + 1 >= (unsigned) lcf->keepalive_requests)
    {
        r->keepalive = 0;
    }
    return r->keepalive ? "keep-alive" : "close";
}

void
fy_http_send_response(fy_http_request_t *r, int status, const fy_str_t *type,
                      const u_char *body, size_t len,
                      const fy_str_t *location)
{
    fy_http_conn_t  *hc = r->hc;
    const char      *line, *conn, *server, *gzip = "";
    char            *hdr, code[8], clen[24];
    u_char          *z;
    size_t           llen, size, slen, zlen;
    fy_str_t         add;
    int              n, how;

    if (r->err_status) {
        status = r->err_status;     /* error_page 404 /x: still a 404 */
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
    snprintf(clen, sizeof(clen), "%zu", len);
    server = fy_http_server_line(r, &slen);
    if (fy_http_add_headers(r, status, &add) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }

    size = 320 + llen + slen + fy_http_date_len + (type ? type->len : 0)
           + (location ? location->len : 0) + add.len;
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_http_close_connection(hc);
        return;
    }

    n = snprintf(hdr, size,
                 "HTTP/1.1 %.*s\r\n"
                 "%.*s"
                 "Date: %s\r\n"
                 "%s%.*s%s"
                 "%s%s%s"
                 "%s%.*s%s"
                 "%s%.*s"
                 "Connection: %s\r\n"
                 "\r\n",
                 (int) llen, line, (int) slen, server, fy_http_date,
                 type && len ? "Content-Type: " : "",
                 type && len ? (int) type->len : 0,
                 type && len ? (char *) type->data : "",
                 type && len ? "\r\n" : "",
                 status == 204 || status == 304 ? "" : "Content-Length: ",
                 status == 204 || status == 304 ? "" : clen,
                 status == 204 || status == 304 ? "" : "\r\n",
                 location ? "Location: " : "",
                 location ? (int) location->len : 0,
                 location ? (char *) location->data : "",
                 location ? "\r\n" : "",
                 gzip, (int) add.len, add.data ? (char *) add.data : "",
                 conn);

    hc->out[0].iov_base = hdr;
    hc->out[0].iov_len = (size_t) n;
    r->header_out = (uint64_t) n;
    hc->out[1].iov_base = (void *) body;
    hc->out[1].iov_len = r->head ? 0 : len;
    hc->nout = 2;
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
     * error_page said about the first */
    r->err_status = 0;
    line = fy_http_status_line(status, &llen);
    if (status == 494) {
        line = "400 Request Header Or Cookie Too Large";
        llen = strlen(line);
    }
    if (line == NULL) {
        /* "return 418;": the code stands alone, as nginx shows it */
        snprintf(code, sizeof(code), "%03d", status);
        line = code;
        llen = strlen(code);
    }

    if (status >= 400 && status != 408 && status < 500 && status != 404
        && status != 403 && status != 405)
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

        n = fy_conn_writev(c, iov, cnt);
        if (n > 0) {
            fy_iov_advance(hc->out, hc->nout, (size_t) n);
            fy_shm_add(fy_worker_slot->bytes_out, (uint64_t) n);
            r->bytes_out += (uint64_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
            c->write.handler = fy_http_write_handler;
            fy_timer_add(&c->write,
                         (uint64_t) fy_http_req_loc(r)->send_timeout);
            return FY_AGAIN;
        }
        fy_log_error(FY_LOG_INFO, errno, "writev() failed, client %s",
                     hc->addr_text);
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

    if (wev->timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out while sending "
                     "response, client %s", hc->addr_text);
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

void
fy_http_finalize(fy_http_request_t *r, int close_connection)
{
    fy_http_conn_t  *hc = r->hc;

    fy_shm_add(fy_worker_slot->requests, 1);
    hc->requests++;

    if (close_connection || !r->keepalive || r->body_rest || r->chunked) {
        fy_http_close_connection(hc);
        return;
    }
    fy_http_set_keepalive(hc);
}

static void
fy_http_idle_add(fy_http_conn_t *hc)
{
    /* A request answered at once inside the keep-alive handler lists
     * the connection from set_keepalive; the handler must not list it
     * a second time, which would make the list loop on itself. */
    if (hc->idle) {
        return;
    }
    hc->idle = 1;
    hc->idle_prev = NULL;
    hc->idle_next = fy_http_idle;
    if (fy_http_idle) {
        fy_http_idle->idle_prev = hc;
    }
    fy_http_idle = hc;
}

static void
fy_http_idle_del(fy_http_conn_t *hc)
{
    if (!hc->idle) {
        return;
    }
    hc->idle = 0;
    if (hc->idle_prev) {
        hc->idle_prev->idle_next = hc->idle_next;
    } else {
        fy_http_idle = hc->idle_next;
    }
    if (hc->idle_next) {
        hc->idle_next->idle_prev = hc->idle_prev;
    }
}

/* The keep-alive wait: like wait_request, but leaves the idle list. */
static void
fy_http_keepalive_handler(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;

    fy_http_idle_del(hc);
    rev->handler = fy_http_wait_request;
    fy_http_wait_request(rev);
    /*
     * Still idle (nothing arrived: the buffer was given back and the
     * handler left in place): list it again.  Not when a request was
     * answered meanwhile: set_keepalive has then listed it already, or
     * posted a pipelined request; listing it twice links it to itself,
     * and once it is freed the list points at freed memory.
     */
    if (c->fd != -1 && c->data == hc && hc->r == NULL && !hc->idle
        && rev->handler == fy_http_wait_request && hc->in.start == NULL)
    {
        rev->handler = fy_http_keepalive_handler;
        fy_http_idle_add(hc);
    }
}

static void
fy_http_set_keepalive(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(hc->r);
    size_t               rest;

    fy_http_free_request(hc->r);

    /* A connection that stays open gets TCP_NODELAY, once, as in
     * nginx: a response whose header and body leave in two writes
     * must not wait for the client's delayed ACK (Nagle).  Connections
     * closed after one response never pay for the system call. */
    if (!hc->nodelay && c->addr.sin6_family != AF_UNIX) {
        int  one = 1;

        hc->nodelay = 1;
        if (setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
            == -1)
        {
            fy_log_error(FY_LOG_INFO, errno, "setsockopt(TCP_NODELAY) "
                         "failed, client %s", hc->addr_text);
        }
    }

    rest = fy_buf_size(&hc->in);
    if (rest) {
        /* A pipelined request is already here.  Move it to the start
         * so it has the whole buffer, and run it from the posted
         * queue: epoll will not report these bytes again, and running
         * it now would recurse once per pipelined request. */
        memmove(hc->in.start, hc->in.pos, rest);
        hc->in.pos = hc->in.start;
        hc->in.last = hc->in.start + rest;
        if (fy_http_quitting && fy_http_drain_one(hc)) {
            return;
        }
        c->read.handler = fy_http_wait_request;
        fy_timer_add(&c->read, (uint64_t) lcf->keepalive_timeout);
        fy_event_post(&c->read);
        return;
    }

    fy_buf_release(&hc->in);
    if (fy_http_quitting && fy_http_drain_one(hc)) {
        return;
    }
    c->read.handler = fy_http_keepalive_handler;
    fy_timer_add(&c->read, (uint64_t) lcf->keepalive_timeout);
    fy_http_idle_add(hc);

    if (c->read.ready) {
        /* More may have arrived while we answered. */
        fy_event_post(&c->read);
    }
}

/*
 * Move r's connection between stub_status's Reading and Writing (and
 * neither: Waiting).  Called at each change so the slot's gauges are
 * exact at any moment; every request ends in FY_HTTP_STAT_NONE.
 */
static void
fy_http_set_stat(fy_http_request_t *r, unsigned stat)
{
    if (r->stat == stat) {
        return;
    }
    if (r->stat == FY_HTTP_STAT_READING) {
        fy_shm_add(fy_worker_slot->reading, (uint64_t) -1);
    } else if (r->stat == FY_HTTP_STAT_WRITING) {
        fy_shm_add(fy_worker_slot->writing, (uint64_t) -1);
    }
    if (stat == FY_HTTP_STAT_READING) {
        fy_shm_add(fy_worker_slot->reading, 1);
    } else if (stat == FY_HTTP_STAT_WRITING) {
        fy_shm_add(fy_worker_slot->writing, 1);
    }
    r->stat = stat;
}

/*
 * Draining: one connection between requests leaves this worker, handed
 * back to the master (or closed if it cannot be).  Returns 1 if it is
 * gone, 0 if it stays here: the channel was full (the drain timer tries
 * again), or it holds more read bytes than a hand-off carries (it is
 * served here, and the next response says whether to go on).
 */
static int
fy_http_drain_one(fy_http_conn_t *hc)
{
    int  rc;

    rc = fy_http_handback(hc);
    if (rc == FY_OK) {
        return 1;
    }
    if (rc == FY_AGAIN) {
        return 0;
    }
    if (rc == FY_DECLINED && hc->in.start && fy_buf_size(&hc->in)) {
        return 0;
    }
    fy_http_close_connection(hc);
    return 1;
}

unsigned
fy_http_drain_idle(void)
{
    fy_http_conn_t  *hc, *next;
    unsigned         left = 0;

    for (hc = fy_http_idle; hc; hc = next) {
        next = hc->idle_next;
        if (!fy_http_drain_one(hc)) {
            left++;
        }
    }
    return left;
}
