/*
 * fy_tls_ocsp_fetch.c -- asking an OCSP responder and checking its
 * answer, for stapling (fy_tls_ocsp.c) and for client certificates
 * (fy_tls_ocsp_client.c): the responder's URL and address, the
 * request, the non-blocking fetch on the worker's loop, the HTTP
 * answer's parser and the OCSP response's checks.  See fy_tls_ocsp.h.
 */
#include "fy_core.h"
#include "fy_tls_ocsp.h"
#include "fy_log.h"

#include <stdarg.h>
#include <strings.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <openssl/err.h>

const char *
fy_tls_ocsp_url_parse(const char *url, fy_tls_ocsp_url_t *u)
{
    const char  *h, *e, *p;
    size_t       hlen, plen, k;

    if (strncasecmp(url, "http://", 7) != 0) {
        return "invalid URL prefix";
    }
    h = url + 7;
    p = h + strcspn(h, "/?#");
    u->hostport = h;
    u->hostport_len = (size_t) (p - h);
    u->path = *p == '/' ? p : "/";
    u->port = 80;

    if (*h == '[') {                  /* [IPv6]:port */
        e = memchr(h, ']', (size_t) (p - h));
        if (e == NULL) {
            return "invalid host";
        }
        h++;
        hlen = (size_t) (e - h);
        e++;
    } else {
        e = memchr(h, ':', (size_t) (p - h));
        if (e == NULL) {
            e = p;
        }
        hlen = (size_t) (e - h);
    }
    if (e < p) {
        if (*e != ':') {
            return "invalid host";
        }
        plen = (size_t) (p - e - 1);
        if (plen < 1 || plen > 5) {
            return "invalid port";
        }
        u->port = 0;
        for (k = 1; k <= plen; k++) {
            if (e[k] < '0' || e[k] > '9') {
                return "invalid port";
            }
            u->port = u->port * 10 + (unsigned) (e[k] - '0');
        }
        if (u->port < 1 || u->port > 65535) {
            return "invalid port";
        }
    }
    if (hlen == 0) {
        return "no host";
    }
    if (hlen >= sizeof(u->host)) {
        return "invalid host";
    }
    memcpy(u->host, h, hlen);
    u->host[hlen] = '\0';
    return NULL;
}

/* f->peer: the text of the address tried, addrs[naddr], for the
 * logs. */
static void
fy_tls_fetch_use(fy_tls_fetch_t *f)
{
    fy_sockaddr_text(&f->addrs[f->naddr].sa, f->addrlens[f->naddr],
                     f->peer, sizeof(f->peer), 1);
}

const char *
fy_tls_fetch_addr(fy_tls_fetch_t *f, const fy_tls_ocsp_url_t *u,
                  int resolve)
{
    struct addrinfo  hints, *res, *ai;
    char             port[8];

    if (u->hostport_len >= sizeof(f->responder)) {
        return "invalid host";
    }
    memcpy(f->responder, u->hostport, u->hostport_len);
    f->responder[u->hostport_len] = '\0';
    f->port = (uint16_t) u->port;
    f->host[0] = '\0';
    f->peer[0] = '\0';
    f->naddrs = 0;
    f->naddr = 0;

    memset(&f->addrs[0], 0, sizeof(f->addrs[0]));
    if (inet_pton(AF_INET, u->host, &f->addrs[0].sin.sin_addr) == 1) {
        f->addrs[0].sin.sin_family = AF_INET;
        f->addrs[0].sin.sin_port = htons(f->port);
        f->addrlens[0] = sizeof(struct sockaddr_in);
        f->naddrs = 1;
    } else if (inet_pton(AF_INET6, u->host, &f->addrs[0].sin6.sin6_addr)
               == 1)
    {
        f->addrs[0].sin6.sin6_family = AF_INET6;
        f->addrs[0].sin6.sin6_port = htons(f->port);
        f->addrlens[0] = sizeof(struct sockaddr_in6);
        f->naddrs = 1;
    } else {
        snprintf(f->host, sizeof(f->host), "%s", u->host);
        if (!resolve) {
            return NULL;            /* the resolver's at each fetch */
        }
        snprintf(port, sizeof(port), "%u", u->port);
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo(u->host, port, &hints, &res) != 0 || res == NULL) {
            return "host not found";
        }
        for (ai = res; ai && f->naddrs < FY_TLS_FETCH_ADDRS;
             ai = ai->ai_next)
        {
            if (ai->ai_addrlen > sizeof(f->addrs[0])) {
                continue;
            }
            memcpy(&f->addrs[f->naddrs], ai->ai_addr, ai->ai_addrlen);
            f->addrlens[f->naddrs++] = ai->ai_addrlen;
        }
        freeaddrinfo(res);
        if (f->naddrs == 0) {
            return "host not found";
        }
    }
    fy_tls_fetch_use(f);
    return NULL;
}

int
fy_tls_fetch_request(fy_tls_fetch_t *f, OCSP_CERTID *cid, const char *path)
{
    OCSP_REQUEST  *req;
    OCSP_CERTID   *id;
    u_char        *der = NULL;
    int            n, head;

    req = OCSP_REQUEST_new();
    id = OCSP_CERTID_dup(cid);
    if (req == NULL || id == NULL || OCSP_request_add0_id(req, id) == NULL) {
        OCSP_CERTID_free(id);
        OCSP_REQUEST_free(req);
        return FY_ERROR;
    }
    n = i2d_OCSP_REQUEST(req, &der);
    OCSP_REQUEST_free(req);
    if (n <= 0) {
        return FY_ERROR;
    }
    head = snprintf(NULL, 0, "POST %s HTTP/1.0\r\nHost: %s\r\n"
                    "Content-Type: application/ocsp-request\r\n"
                    "Content-Length: %d\r\n\r\n", path, f->responder, n);
    free(f->req);
    f->req = malloc((size_t) head + (size_t) n + 1);
    if (f->req == NULL) {
        OPENSSL_free(der);
        return FY_ERROR;
    }
    snprintf((char *) f->req, (size_t) head + 1, "POST %s HTTP/1.0\r\n"
             "Host: %s\r\nContent-Type: application/ocsp-request\r\n"
             "Content-Length: %d\r\n\r\n", path, f->responder, n);
    memcpy(f->req + head, der, (size_t) n);
    f->req_len = (size_t) head + (size_t) n;
    OPENSSL_free(der);
    return FY_OK;
}


/* ---- the fetch (workers) ---- */

static void
fy_tls_fetch_vlog(fy_tls_fetch_t *f, int level, int err, const char *fmt,
                  va_list ap)
{
    char  msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* no peer before the resolver has answered (nginx's neither) */
    fy_log_error(level, err, "%s while requesting certificate status, "
                 "responder: %s%s%s%s", msg, f->responder,
                 f->peer[0] ? ", peer: " : "", f->peer,
                 f->tail ? f->tail : "");
    ERR_clear_error();
}

void
fy_tls_fetch_error(fy_tls_fetch_t *f, int err, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fy_tls_fetch_vlog(f, FY_LOG_ERR, err, fmt, ap);
    va_end(ap);
}

static void __attribute__((format(printf, 2, 3)))
fy_tls_fetch_warn(fy_tls_fetch_t *f, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    fy_tls_fetch_vlog(f, FY_LOG_WARN, 0, fmt, ap);
    va_end(ap);
}

void
fy_tls_fetch_cancel(fy_tls_fetch_t *f)
{
    fy_resolver_cancel(&f->w);
    if (f->c) {
        fy_conn_close(f->c);
        f->c = NULL;
    }
    free(f->buf);
    f->buf = NULL;
}

/* The end: the connection closed and the buffer let go before the
 * handler runs (it may start again, or free f); body is in buf. */
static void
fy_tls_fetch_done(fy_tls_fetch_t *f, const u_char *body, size_t len)
{
    u_char  *buf = f->buf;

    f->buf = NULL;
    fy_tls_fetch_cancel(f);
    f->handler(f, body, len);
    free(buf);
}

static int fy_tls_fetch_connect_from(fy_tls_fetch_t *f);

/* A failure before the answer is whole: logged, then the responder's
 * next address is tried, as nginx does (ngx_ssl_ocsp_next); after the
 * last one the handler learns that the fetch failed. */
static void
fy_tls_fetch_fail(fy_tls_fetch_t *f, int err, const char *what)
{
    fy_tls_fetch_error(f, err, "%s", what);
    fy_tls_fetch_cancel(f);
    f->naddr++;
    if (fy_tls_fetch_connect_from(f) == FY_OK) {
        return;
    }
    fy_tls_fetch_done(f, NULL, 0);
}

/* A header field's name is `name` (without case). */
static int
fy_tls_ocsp_field(const char *line, size_t n, const char *name)
{
    size_t  len = strlen(name);

    return n > len && line[len] == ':' && strncasecmp(line, name, len) == 0;
}

int
fy_tls_ocsp_http_parse(const u_char *buf, size_t len, int eof,
                       const u_char **body, size_t *body_len, char *err,
                       size_t err_size)
{
    const char  *b = (const char *) buf, *hend, *line, *eol, *v, *vend;
    long long    clen = -1;
    size_t       avail;
    unsigned     code;

    hend = memmem(b, len, "\r\n\r\n", 4);
    if (hend == NULL) {
        if (!eof) {
            return FY_AGAIN;
        }
        snprintf(err, err_size, len ? "OCSP responder sent invalid response"
                 : "OCSP responder prematurely closed connection");
        return FY_ERROR;
    }
    /* "HTTP/1.x DDD ..." */
    if (hend - b < 12 || strncmp(b, "HTTP/1.", 7) != 0 || b[8] != ' '
        || b[9] < '1' || b[9] > '9' || b[10] < '0' || b[10] > '9'
        || b[11] < '0' || b[11] > '9')
    {
        snprintf(err, err_size, "OCSP responder sent invalid response");
        return FY_ERROR;
    }
    code = (unsigned) ((b[9] - '0') * 100 + (b[10] - '0') * 10
                       + (b[11] - '0'));
    if (code != 200) {
        snprintf(err, err_size, "OCSP responder sent status %u", code);
        return FY_ERROR;
    }

    /* the header lines, up to the empty one (hend ends the last) */
    eol = memmem(b, (size_t) (hend + 2 - b), "\r\n", 2);
    for (line = eol + 2; line < hend; line = eol + 2) {
        eol = memmem(line, (size_t) (hend + 2 - line), "\r\n", 2);
        v = memchr(line, ':', (size_t) (eol - line));
        if (v == NULL) {
            continue;
        }
        for (v++; v < eol && (*v == ' ' || *v == '\t'); v++) { /* void */ }
        for (vend = eol; vend > v && (vend[-1] == ' ' || vend[-1] == '\t');
             vend--)
        { /* void */ }

        if (fy_tls_ocsp_field(line, (size_t) (eol - line),
                              "Content-Length"))
        {
            if (v == vend || vend - v > 9) {
                snprintf(err, err_size, "OCSP responder sent invalid "
                         "\"Content-Length\" header: \"%.*s\"",
                         (int) (vend - v), v);
                return FY_ERROR;
            }
            for (clen = 0; v < vend; v++) {
                if (*v < '0' || *v > '9') {
                    snprintf(err, err_size, "OCSP responder sent invalid "
                             "\"Content-Length\" header");
                    return FY_ERROR;
                }
                clen = clen * 10 + (*v - '0');
            }
        } else if (fy_tls_ocsp_field(line, (size_t) (eol - line),
                                     "Content-Type")
                   && !((vend - v == 25
                         || (vend - v > 25 && (v[25] == ';' || v[25] == ' ')))
                        && strncasecmp(v, "application/ocsp-response", 25)
                           == 0))
        {
            snprintf(err, err_size, "OCSP responder sent invalid "
                     "\"Content-Type\" header: \"%.*s\"", (int) (vend - v), v);
            return FY_ERROR;
        }
    }

    *body = (const u_char *) hend + 4;
    avail = len - (size_t) (hend + 4 - b);
    if (clen >= 0 && avail >= (unsigned long long) clen) {
        *body_len = (size_t) clen;
        return FY_OK;
    }
    if (!eof) {
        return FY_AGAIN;
    }
    if (clen >= 0) {
        snprintf(err, err_size, "OCSP responder prematurely closed "
                 "connection");
        return FY_ERROR;
    }
    *body_len = avail;
    return FY_OK;
}

/* The answer so far: FY_AGAIN (more to read), else the fetch is over. */
static int
fy_tls_fetch_parse(fy_tls_fetch_t *f, int eof)
{
    const u_char  *body;
    size_t         len;
    char           err[256];
    int            rc;

    rc = fy_tls_ocsp_http_parse(f->buf, f->len, eof, &body, &len, err,
                                sizeof(err));
    if (rc == FY_AGAIN) {
        return FY_AGAIN;
    }
    if (rc == FY_ERROR) {
        fy_tls_fetch_fail(f, 0, err);
        return FY_OK;
    }
    fy_tls_fetch_done(f, body, len);
    return FY_OK;
}

static void
fy_tls_fetch_read(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_tls_fetch_t  *f = c->data;
    ssize_t          n;

    if (rev->timedout) {
        fy_tls_fetch_fail(f, ETIMEDOUT, "OCSP responder timed out");
        return;
    }
    for ( ;; ) {
        if (f->len == FY_OCSP_MAX) {
            fy_tls_fetch_fail(f, 0, "OCSP responder sent too long response");
            return;
        }
        n = recv(c->fd, f->buf + f->len, FY_OCSP_MAX - f->len, 0);
        if (n > 0) {
            f->len += (size_t) n;
            if (fy_tls_fetch_parse(f, 0) == FY_AGAIN) {
                continue;
            }
            return;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n == -1) {
            fy_tls_fetch_fail(f, errno, "recv() failed");
            return;
        }
        fy_tls_fetch_parse(f, 1);
        return;
    }
}

static void
fy_tls_fetch_write(fy_event_t *wev)
{
    fy_conn_t       *c = wev->data;
    fy_tls_fetch_t  *f = c->data;
    int              err = 0;
    socklen_t        len = sizeof(err);
    ssize_t          n;

    if (wev->timedout || c->read.timedout) {
        fy_tls_fetch_fail(f, ETIMEDOUT, "OCSP responder timed out");
        return;
    }
    if (f->sent == 0) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }
        if (err) {
            fy_tls_fetch_fail(f, err, "connect() failed");
            return;
        }
    }
    while (f->sent < f->req_len) {
        n = send(c->fd, f->req + f->sent, f->req_len - f->sent,
                 MSG_NOSIGNAL);
        if (n > 0) {
            f->sent += (size_t) n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        fy_tls_fetch_fail(f, errno, "send() failed");
        return;
    }
    c->write.handler = fy_event_ignore;
    c->read.handler = fy_tls_fetch_read;
    fy_tls_fetch_read(&c->read);
}

/* Before the request is sent, a read event is a close or an error:
 * let the write side find out which. */
static void
fy_tls_fetch_early_read(fy_event_t *rev)
{
    fy_conn_t  *c = rev->data;

    fy_tls_fetch_write(&c->write);
}

/* Connect to addrs[naddr] and send the request: FY_OK, the handler runs
 * later; FY_ERROR, logged, nothing held. */
static int
fy_tls_fetch_connect(fy_tls_fetch_t *f)
{
    fy_conn_t   *c;
    const char  *what;
    int          fd, err = 0;

    f->len = 0;
    f->sent = 0;
    f->buf = malloc(FY_OCSP_MAX);
    if (f->buf == NULL) {
        err = errno;
        what = "malloc() failed";
        goto failed;
    }
    fd = socket(f->addrs[f->naddr].sa.sa_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        err = errno;
        what = "socket() failed";
        goto failed;
    }
    c = fy_conn_get(fd);
    if (c == NULL) {
        close(fd);
        what = "no free connection";
        goto failed;
    }
    c->data = f;
    f->c = c;
    if (connect(fd, &f->addrs[f->naddr].sa, f->addrlens[f->naddr]) == -1
        && errno != EINPROGRESS)
    {
        err = errno;
        what = "connect() failed";
        goto failed;
    }
    if (fy_conn_register(c) != FY_OK) {
        what = "epoll registration failed";
        goto failed;
    }
    c->read.handler = fy_tls_fetch_early_read;
    c->write.handler = fy_tls_fetch_write;
    fy_timer_add(&c->read, FY_OCSP_TIMEOUT);
    return FY_OK;

failed:
    fy_tls_fetch_error(f, err, "%s", what);
    fy_tls_fetch_cancel(f);
    return FY_ERROR;
}

/* Connect to the responder's addresses from f->naddr on until a
 * connect() gets under way: FY_OK, or FY_ERROR when none is left (each
 * failure logged, nothing held). */
static int
fy_tls_fetch_connect_from(fy_tls_fetch_t *f)
{
    for ( ; f->naddr < f->naddrs; f->naddr++) {
        fy_tls_fetch_use(f);
        if (fy_tls_fetch_connect(f) == FY_OK) {
            return FY_OK;
        }
    }
    return FY_ERROR;
}

/* The resolver's answer for f->host into f->addrs (its first eight
 * addresses, at f->port): FY_OK, or FY_ERROR logged in nginx's words. */
static int
fy_tls_fetch_answer(fy_tls_fetch_t *f)
{
    unsigned  i;

    if (f->w.error || f->w.naddrs == 0) {
        fy_tls_fetch_error(f, 0, "%s could not be resolved (%d: %s)",
                           f->host, f->w.error,
                           fy_resolver_strerror(f->w.error));
        return FY_ERROR;
    }
    for (i = 0; i < f->w.naddrs && i < FY_TLS_FETCH_ADDRS; i++) {
        f->addrlens[i] = fy_resolver_sockaddr(&f->w.addrs[i], f->port,
                                              &f->addrs[i]);
    }
    f->naddrs = i;
    f->naddr = 0;
    return FY_OK;
}

/* The resolver answered on the loop (or its wait timed out). */
static void
fy_tls_fetch_resolved(fy_resolver_wait_t *w)
{
    fy_tls_fetch_t  *f = w->data;

    if (fy_tls_fetch_answer(f) != FY_OK
        || fy_tls_fetch_connect_from(f) != FY_OK)
    {
        f->handler(f, NULL, 0);     /* logged; nothing held */
    }
}

int
fy_tls_fetch_start(fy_tls_fetch_t *f)
{
    int  rc;

    f->naddr = 0;
    if (f->host[0] == '\0') {
        return fy_tls_fetch_connect_from(f);
    }
    if (f->resolver == NULL) {
        /* nginx: the addresses found when the configuration was read,
         * with a warning at each fetch; none (a name in a client's
         * certificate), an error */
        if (f->naddrs == 0) {
            fy_tls_fetch_error(f, 0, "no resolver defined to resolve %s",
                               f->host);
            return FY_ERROR;
        }
        fy_tls_fetch_warn(f, "no resolver defined to resolve %s", f->host);
        return fy_tls_fetch_connect_from(f);
    }

    f->peer[0] = '\0';
    f->w.handler = fy_tls_fetch_resolved;
    f->w.data = f;
    rc = fy_resolver_resolve(f->resolver, (u_char *) f->host,
                             strlen(f->host), f->resolver_timeout, &f->w);
    if (rc == FY_AGAIN) {
        return FY_OK;
    }
    if (rc != FY_OK || fy_tls_fetch_answer(f) != FY_OK) {
        return FY_ERROR;            /* logged */
    }
    return fy_tls_fetch_connect_from(f);    /* from the resolver's cache */
}


/* ---- the response ---- */

static time_t
fy_tls_ocsp_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm  tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return timegm(&tm);
}

int
fy_tls_ocsp_verify(fy_tls_fetch_t *f, const u_char *body, size_t len,
                   OCSP_CERTID *id, STACK_OF(X509) *chain, X509_STORE *store,
                   unsigned long flags, int *status, time_t *valid)
{
    OCSP_RESPONSE          *resp;
    OCSP_BASICRESP         *basic = NULL;
    ASN1_GENERALIZEDTIME   *this_up = NULL, *next_up = NULL;
    const u_char           *p = body;
    int                     n, reason, rc = FY_ERROR;

    resp = d2i_OCSP_RESPONSE(NULL, &p, (long) len);
    if (resp == NULL) {
        fy_tls_fetch_error(f, 0, "d2i_OCSP_RESPONSE() failed");
        return FY_ERROR;
    }
    n = OCSP_response_status(resp);
    if (n != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        fy_tls_fetch_error(f, 0, "OCSP response not successful (%d: %s)", n,
                           OCSP_response_status_str(n));
        goto done;
    }
    basic = OCSP_response_get1_basic(resp);
    if (basic == NULL) {
        fy_tls_fetch_error(f, 0, "OCSP_response_get1_basic() failed");
        goto done;
    }
    if (OCSP_basic_verify(basic, chain, store, flags) != 1) {
        fy_tls_fetch_error(f, 0, "OCSP_basic_verify() failed (%s)",
                           fy_tls_error());
        goto done;
    }
    if (OCSP_resp_find_status(basic, id, status, &reason, NULL, &this_up,
                              &next_up) != 1)
    {
        fy_tls_fetch_error(f, 0, "certificate status not found in the OCSP "
                           "response");
        goto done;
    }
    if (OCSP_check_validity(this_up, next_up, FY_OCSP_RETRY, -1) != 1) {
        fy_tls_fetch_error(f, 0, "OCSP_check_validity() failed (%s)",
                           fy_tls_error());
        goto done;
    }
    *valid = next_up ? fy_tls_ocsp_time(next_up) : 0;
    rc = FY_OK;
done:
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
    return rc;
}
