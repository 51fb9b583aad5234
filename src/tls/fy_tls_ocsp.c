/*
 * fy_tls_ocsp.c -- OCSP stapling with responses fetched from the
 * certificate's OCSP responder: "ssl_stapling on" without
 * ssl_stapling_file (the file's response is fy_tls_load.c's).
 *
 * As nginx (ngx_event_openssl_stapling.c):
 *
 *   configuration (master)  for each certificate of the context: its
 *       issuer (the certificate's chain, else ssl_trusted_certificate),
 *       the responder (ssl_stapling_responder, else the certificate's
 *       Authority Information Access), its address (resolved here, once:
 *       ferry has no run-time resolver) and the OCSP request, made once.
 *       A certificate without one of these is served without a staple,
 *       with nginx's "ssl_stapling" ignored warning.
 *
 *   handshakes (each worker)  a client that asks for the status
 *       (status_request) gets the response this worker holds, if it is
 *       still valid; if none is held or it is time to refresh, the
 *       handshake starts a fetch and goes on (without a staple the
 *       first time): a non-blocking POST over HTTP/1.0 on the worker's
 *       event loop, 60 s at most.  So nothing ever waits for the
 *       responder, and each worker asks it once per refresh.
 *
 *   the response  HTTP 200, application/ocsp-response, a successful
 *       OCSP response whose signature checks (ssl_stapling_verify on:
 *       and whose signer chains to the context's trusted certificates),
 *       with the certificate's status "good" and thisUpdate/nextUpdate
 *       current.  It is then stapled until its nextUpdate and fetched
 *       again after an hour (at most 5 minutes before nextUpdate, at
 *       least 5 minutes later); after an error, again 5 minutes later,
 *       the response held before still stapled while valid.  Errors go
 *       to the error log at "error" with the responder, the peer and
 *       the certificate, as nginx logs them.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_log.h"
#include "fy_cycle.h"

#include <stdarg.h>
#include <strings.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#define FY_OCSP_TIMEOUT    60000      /* ms for a whole fetch (nginx) */
#define FY_OCSP_MAX        16384      /* the largest response read */
#define FY_OCSP_REFRESH    3600       /* s: fetch again after this */
#define FY_OCSP_RETRY      300        /* s: after an error; also the
                                         margin before nextUpdate and
                                         the clock skew allowed */

typedef struct {
    SSL_CTX          *ctx;        /* its store checks the signer */
    STACK_OF(X509)   *chain;      /* the certificate's chain (ctx's) */
    OCSP_CERTID      *id;         /* what the response must answer */
    X509             *issuer;
    const char       *cert_name;  /* path, for messages */
    char             *responder;  /* host[:port] as in the URL */
    char              peer[280];  /* address:port, for messages */
    fy_sockaddr_t     addr;
    socklen_t         addrlen;
    u_char           *req;        /* the whole HTTP request */
    size_t            req_len;
    unsigned          verify:1;

    /* the worker's state */
    unsigned          loading:1;
    u_char           *staple;     /* DER response (malloc), or NULL */
    size_t            staple_len;
    time_t            valid;      /* staple good until */
    time_t            refresh;    /* no fetch before */
    fy_conn_t        *c;
    u_char           *buf;        /* the answer read (malloc) */
    size_t            len;
    size_t            sent;
} fy_tls_ocsp_t;

static int  fy_tls_ocsp_index = -1;     /* X509 ex_data: fy_tls_ocsp_t */
static int  fy_tls_ocsp_name_index = -1;/* X509 ex_data: its file */

static void fy_tls_ocsp_write(fy_event_t *wev);
static void fy_tls_ocsp_read(fy_event_t *rev);

void
fy_tls_ocsp_name(void *ctx, const char *path)
{
    X509  *cert = SSL_CTX_get0_certificate(ctx);

    if (fy_tls_ocsp_name_index == -1) {
        fy_tls_ocsp_name_index = X509_get_ex_new_index(0, NULL, NULL, NULL,
                                                       NULL);
    }
    if (cert) {
        X509_set_ex_data(cert, fy_tls_ocsp_name_index, (void *) path);
    }
}


/* ---- configuration ---- */

static void
fy_tls_ocsp_cleanup(void *data)
{
    fy_tls_ocsp_t  *st = data;

    OCSP_CERTID_free(st->id);
    X509_free(st->issuer);
}

/* The issuer of cert: in its chain, else among the trusted ones. */
static X509 *
fy_tls_ocsp_issuer(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain)
{
    X509_STORE_CTX  *sctx;
    X509            *issuer = NULL;
    int              i;

    for (i = 0; chain && i < sk_X509_num(chain); i++) {
        if (X509_check_issued(sk_X509_value(chain, i), cert) == X509_V_OK) {
            issuer = sk_X509_value(chain, i);
            X509_up_ref(issuer);
            return issuer;
        }
    }
    sctx = X509_STORE_CTX_new();
    if (sctx && X509_STORE_CTX_init(sctx, SSL_CTX_get_cert_store(ctx), NULL,
                                    NULL) == 1
        && X509_STORE_CTX_get1_issuer(&issuer, sctx, cert) != 1)
    {
        issuer = NULL;
    }
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return issuer;
}

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

/* The responder URL into st: its host[:port] and address; *path.
 * NULL or the reason it cannot be used. */
static const char *
fy_tls_ocsp_url(fy_pool_t *pool, fy_tls_ocsp_t *st, const char *url,
                const char **path)
{
    fy_tls_ocsp_url_t   u;
    struct addrinfo     hints, *res;
    const char         *why;
    char                port[8], text[INET6_ADDRSTRLEN];

    why = fy_tls_ocsp_url_parse(url, &u);
    if (why) {
        return why;
    }
    *path = u.path;
    st->responder = fy_pstrndup(pool, (u_char *) u.hostport, u.hostport_len);
    if (st->responder == NULL) {
        return "cannot allocate memory";
    }

    /* once, now: ferry has no resolver at run time ("resolver" has no
     * effect), as nginx without one */
    snprintf(port, sizeof(port), "%u", u.port);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(u.host, port, &hints, &res) != 0 || res == NULL) {
        return "host not found";
    }
    memcpy(&st->addr, res->ai_addr, res->ai_addrlen);
    st->addrlen = res->ai_addrlen;
    freeaddrinfo(res);

    if (st->addr.sa.sa_family == AF_INET6) {
        inet_ntop(AF_INET6, &st->addr.sin6.sin6_addr, text, sizeof(text));
        snprintf(st->peer, sizeof(st->peer), "[%s]:%u", text, u.port);
    } else {
        inet_ntop(AF_INET, &st->addr.sin.sin_addr, text, sizeof(text));
        snprintf(st->peer, sizeof(st->peer), "%s:%u", text, u.port);
    }
    return NULL;
}

/* The HTTP request that asks for st->id's status. */
static int
fy_tls_ocsp_request(fy_pool_t *pool, fy_tls_ocsp_t *st, const char *path)
{
    OCSP_REQUEST  *req;
    OCSP_CERTID   *id;
    u_char        *der = NULL;
    int            n, head;

    req = OCSP_REQUEST_new();
    id = OCSP_CERTID_dup(st->id);
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
                    "Content-Length: %d\r\n\r\n", path, st->responder, n);
    st->req = fy_palloc(pool, (size_t) head + (size_t) n + 1);
    if (st->req == NULL) {
        OPENSSL_free(der);
        return FY_ERROR;
    }
    snprintf((char *) st->req, (size_t) head + 1, "POST %s HTTP/1.0\r\n"
             "Host: %s\r\nContent-Type: application/ocsp-request\r\n"
             "Content-Length: %d\r\n\r\n", path, st->responder, n);
    memcpy(st->req + head, der, (size_t) n);
    st->req_len = (size_t) head + (size_t) n;
    OPENSSL_free(der);
    return FY_OK;
}

/* The certificate ctx's current slot holds: FY_OK (stapled, or
 * ignored with a warning) or FY_ERROR. */
static int
fy_tls_ocsp_cert(fy_pool_t *pool, SSL_CTX *ctx, fy_tls_conf_t *conf,
                 int *any)
{
    fy_tls_ocsp_t             *st;
    X509                      *cert = SSL_CTX_get0_certificate(ctx);
    STACK_OF(OPENSSL_STRING)  *aia = NULL;
    const char                *name, *url, *path, *why;

    if (cert == NULL) {
        return FY_OK;
    }
    name = X509_get_ex_data(cert, fy_tls_ocsp_name_index);
    if (name == NULL) {
        name = "?";
    }
    st = fy_pcalloc(pool, sizeof(fy_tls_ocsp_t));
    if (st == NULL || fy_pool_cleanup_add(pool, fy_tls_ocsp_cleanup, st)
                      != FY_OK)
    {
        return FY_ERROR;
    }
    st->ctx = ctx;
    st->cert_name = name;
    st->verify = conf->stapling_verify == 1;
    SSL_CTX_get0_chain_certs(ctx, &st->chain);

    st->issuer = fy_tls_ocsp_issuer(ctx, cert, st->chain);
    if (st->issuer == NULL) {
        fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, issuer "
                     "certificate not found for certificate \"%s\" in %s:%u",
                     name, conf->stapling_where.file,
                     conf->stapling_where.line);
        return FY_OK;
    }

    url = conf->stapling_responder;
    if (url == NULL) {
        aia = X509_get1_ocsp(cert);
        if (aia == NULL || sk_OPENSSL_STRING_num(aia) == 0) {
            X509_email_free(aia);
            fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, no OCSP "
                         "responder URL in the certificate \"%s\" in %s:%u",
                         name, conf->stapling_where.file,
                         conf->stapling_where.line);
            return FY_OK;
        }
        url = sk_OPENSSL_STRING_value(aia, 0);
    }
    why = fy_tls_ocsp_url(pool, st, url, &path);
    if (why) {
        fy_log_error(FY_LOG_WARN, 0, "\"ssl_stapling\" ignored, %s in OCSP "
                     "responder \"%s\" (certificate \"%s\") in %s:%u", why,
                     url, name, conf->stapling_responder
                                ? conf->stapling_responder_where.file
                                : conf->stapling_where.file,
                     conf->stapling_responder
                     ? conf->stapling_responder_where.line
                     : conf->stapling_where.line);
        X509_email_free(aia);
        return FY_OK;
    }

    st->id = OCSP_cert_to_id(NULL, cert, st->issuer);
    if (st->id == NULL || fy_tls_ocsp_request(pool, st, path) != FY_OK) {
        fy_log_error(FY_LOG_EMERG, 0, "cannot make the OCSP request for "
                     "certificate \"%s\": %s", name, fy_tls_error());
        X509_email_free(aia);
        return FY_ERROR;
    }
    X509_email_free(aia);

    X509_set_ex_data(cert, fy_tls_ocsp_index, st);
    *any = 1;
    return FY_OK;
}

static int fy_tls_ocsp_status_cb(SSL *ssl, void *arg);

int
fy_tls_ocsp_init(fy_pool_t *pool, void *data, fy_tls_conf_t *conf)
{
    SSL_CTX  *ctx = data;
    int       rc, any = 0;

    if (fy_tls_ocsp_index == -1) {
        fy_tls_ocsp_index = X509_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    }
    /* every certificate (RSA, ECDSA ...) has its own response */
    rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_FIRST);
    while (rc == 1) {
        if (fy_tls_ocsp_cert(pool, ctx, conf, &any) != FY_OK) {
            return FY_ERROR;
        }
        rc = SSL_CTX_set_current_cert(ctx, SSL_CERT_SET_NEXT);
    }
    ERR_clear_error();
    if (any) {
        SSL_CTX_set_tlsext_status_cb(ctx, fy_tls_ocsp_status_cb);
        SSL_CTX_set_tlsext_status_arg(ctx, NULL);
    }
    return FY_OK;
}


/* ---- the fetch (workers) ---- */

/* A failed fetch: logged as nginx logs it, retried in 5 minutes. */
static void
fy_tls_ocsp_fail(fy_tls_ocsp_t *st, int err, const char *fmt, ...)
{
    char     msg[512];
    va_list  ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fy_log_error(FY_LOG_ERR, err, "%s while requesting certificate status, "
                 "responder: %s, peer: %s, certificate: \"%s\"", msg,
                 st->responder, st->peer, st->cert_name);
    ERR_clear_error();
    st->refresh = (time_t) (fy_wall_msec / 1000) + FY_OCSP_RETRY;
}

static void
fy_tls_ocsp_end(fy_tls_ocsp_t *st)
{
    if (st->c) {
        fy_conn_close(st->c);
        st->c = NULL;
    }
    free(st->buf);
    st->buf = NULL;
    st->loading = 0;
}

static time_t
fy_tls_ocsp_time(const ASN1_GENERALIZEDTIME *t)
{
    struct tm  tm;

    if (ASN1_TIME_to_tm(t, &tm) != 1) {
        return 0;
    }
    return timegm(&tm);
}

/* The DER response body: checked, then held for stapling. */
static void
fy_tls_ocsp_check(fy_tls_ocsp_t *st, const u_char *body, size_t len)
{
    OCSP_RESPONSE          *resp;
    OCSP_BASICRESP         *basic = NULL;
    ASN1_GENERALIZEDTIME   *this_up = NULL, *next_up = NULL;
    const u_char           *p = body;
    u_char                 *copy;
    time_t                  now = (time_t) (fy_wall_msec / 1000), valid;
    int                     n, status = -1, reason;

    resp = d2i_OCSP_RESPONSE(NULL, &p, (long) len);
    if (resp == NULL) {
        fy_tls_ocsp_fail(st, 0, "d2i_OCSP_RESPONSE() failed");
        return;
    }
    n = OCSP_response_status(resp);
    if (n != OCSP_RESPONSE_STATUS_SUCCESSFUL) {
        fy_tls_ocsp_fail(st, 0, "OCSP response not successful (%d: %s)", n,
                         OCSP_response_status_str(n));
        goto done;
    }
    basic = OCSP_response_get1_basic(resp);
    if (basic == NULL) {
        fy_tls_ocsp_fail(st, 0, "OCSP_response_get1_basic() failed");
        goto done;
    }
    /* verify off: the signature is still checked, not who signed */
    if (OCSP_basic_verify(basic, st->chain, SSL_CTX_get_cert_store(st->ctx),
                          st->verify ? OCSP_TRUSTOTHER : OCSP_NOVERIFY)
        != 1)
    {
        fy_tls_ocsp_fail(st, 0, "OCSP_basic_verify() failed (%s)",
                         fy_tls_error());
        goto done;
    }
    if (OCSP_resp_find_status(basic, st->id, &status, &reason, NULL,
                              &this_up, &next_up) != 1)
    {
        fy_tls_ocsp_fail(st, 0, "certificate status not found in the OCSP "
                         "response");
        goto done;
    }
    if (status != V_OCSP_CERTSTATUS_GOOD) {
        fy_tls_ocsp_fail(st, 0, "certificate status \"%s\" in the OCSP "
                         "response", OCSP_cert_status_str(status));
        goto done;
    }
    if (OCSP_check_validity(this_up, next_up, FY_OCSP_RETRY, -1) != 1) {
        fy_tls_ocsp_fail(st, 0, "OCSP_check_validity() failed (%s)",
                         fy_tls_error());
        goto done;
    }
    valid = next_up ? fy_tls_ocsp_time(next_up) : (time_t) INT64_MAX;

    copy = malloc(len);
    if (copy == NULL) {
        fy_tls_ocsp_fail(st, errno, "malloc() failed");
        goto done;
    }
    memcpy(copy, body, len);
    free(st->staple);
    st->staple = copy;
    st->staple_len = len;
    st->valid = valid;
    /* an hour from now, but before the response expires, and not
     * sooner than 5 minutes (nginx) */
    st->refresh = fy_max(fy_min(valid - FY_OCSP_RETRY, now + FY_OCSP_REFRESH),
                         now + FY_OCSP_RETRY);
    fy_log_debug("OCSP response for certificate \"%s\" stapled, good until "
                 "%lld", st->cert_name, (long long) valid);
done:
    OCSP_BASICRESP_free(basic);
    OCSP_RESPONSE_free(resp);
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

/* The answer so far: FY_AGAIN (more to read), else handled. */
static int
fy_tls_ocsp_parse(fy_tls_ocsp_t *st, int eof)
{
    const u_char  *body;
    size_t         len;
    char           err[256];
    int            rc;

    rc = fy_tls_ocsp_http_parse(st->buf, st->len, eof, &body, &len, err,
                                sizeof(err));
    if (rc == FY_AGAIN) {
        return FY_AGAIN;
    }
    if (rc == FY_ERROR) {
        fy_tls_ocsp_fail(st, 0, "%s", err);
        return FY_OK;
    }
    fy_tls_ocsp_check(st, body, len);
    return FY_OK;
}

static void
fy_tls_ocsp_read(fy_event_t *rev)
{
    fy_conn_t      *c = rev->data;
    fy_tls_ocsp_t  *st = c->data;
    ssize_t         n;

    if (rev->timedout) {
        fy_tls_ocsp_fail(st, ETIMEDOUT, "OCSP responder timed out");
        fy_tls_ocsp_end(st);
        return;
    }
    for ( ;; ) {
        if (st->len == FY_OCSP_MAX) {
            fy_tls_ocsp_fail(st, 0, "OCSP responder sent too long response");
            break;
        }
        n = recv(c->fd, st->buf + st->len, FY_OCSP_MAX - st->len, 0);
        if (n > 0) {
            st->len += (size_t) n;
            if (fy_tls_ocsp_parse(st, 0) == FY_AGAIN) {
                continue;
            }
            break;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        if (n == -1) {
            fy_tls_ocsp_fail(st, errno, "recv() failed");
            break;
        }
        fy_tls_ocsp_parse(st, 1);
        break;
    }
    fy_tls_ocsp_end(st);
}

static void
fy_tls_ocsp_write(fy_event_t *wev)
{
    fy_conn_t      *c = wev->data;
    fy_tls_ocsp_t  *st = c->data;
    int             err = 0;
    socklen_t       len = sizeof(err);
    ssize_t         n;

    if (wev->timedout || c->read.timedout) {
        fy_tls_ocsp_fail(st, ETIMEDOUT, "OCSP responder timed out");
        fy_tls_ocsp_end(st);
        return;
    }
    if (st->sent == 0) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }
        if (err) {
            fy_tls_ocsp_fail(st, err, "connect() failed");
            fy_tls_ocsp_end(st);
            return;
        }
    }
    while (st->sent < st->req_len) {
        n = send(c->fd, st->req + st->sent, st->req_len - st->sent,
                 MSG_NOSIGNAL);
        if (n > 0) {
            st->sent += (size_t) n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        fy_tls_ocsp_fail(st, errno, "send() failed");
        fy_tls_ocsp_end(st);
        return;
    }
    c->write.handler = fy_event_ignore;
    c->read.handler = fy_tls_ocsp_read;
    fy_tls_ocsp_read(&c->read);
}

/* Before the response is sent, a read event is a close or an error:
 * let the write side find out which. */
static void
fy_tls_ocsp_early_read(fy_event_t *rev)
{
    fy_conn_t  *c = rev->data;

    fy_tls_ocsp_write(&c->write);
}

static void
fy_tls_ocsp_start(fy_tls_ocsp_t *st)
{
    fy_conn_t  *c;
    int         fd;

    st->loading = 1;
    st->len = 0;
    st->sent = 0;
    st->buf = malloc(FY_OCSP_MAX);
    if (st->buf == NULL) {
        fy_tls_ocsp_fail(st, errno, "malloc() failed");
        fy_tls_ocsp_end(st);
        return;
    }
    fd = socket(st->addr.sa.sa_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_tls_ocsp_fail(st, errno, "socket() failed");
        fy_tls_ocsp_end(st);
        return;
    }
    c = fy_conn_get(fd);
    if (c == NULL) {
        close(fd);
        fy_tls_ocsp_fail(st, 0, "no free connection");
        fy_tls_ocsp_end(st);
        return;
    }
    c->data = st;
    st->c = c;
    if (connect(fd, &st->addr.sa, st->addrlen) == -1
        && errno != EINPROGRESS)
    {
        fy_tls_ocsp_fail(st, errno, "connect() failed");
        fy_tls_ocsp_end(st);
        return;
    }
    if (fy_conn_register(c) != FY_OK) {
        fy_tls_ocsp_fail(st, 0, "epoll registration failed");
        fy_tls_ocsp_end(st);
        return;
    }
    c->read.handler = fy_tls_ocsp_early_read;
    c->write.handler = fy_tls_ocsp_write;
    fy_timer_add(&c->read, FY_OCSP_TIMEOUT);
}

/* A handshake with status_request: the response held, if still valid;
 * a fetch started when none is held or it is time to refresh. */
static int
fy_tls_ocsp_status_cb(SSL *ssl, void *arg)
{
    fy_tls_ocsp_t  *st;
    X509           *cert = SSL_get_certificate(ssl);
    time_t          now = (time_t) (fy_wall_msec / 1000);
    u_char         *p;
    int             rc = SSL_TLSEXT_ERR_NOACK;

    fy_unused(arg);
    st = cert ? X509_get_ex_data(cert, fy_tls_ocsp_index) : NULL;
    if (st == NULL) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    if (st->staple && st->valid >= now
        && (p = OPENSSL_memdup(st->staple, st->staple_len)) != NULL)
    {
        /* OpenSSL frees the copy with the connection */
        if (SSL_set_tlsext_status_ocsp_resp(ssl, p, (long) st->staple_len)
            == 1)
        {
            rc = SSL_TLSEXT_ERR_OK;
        } else {
            OPENSSL_free(p);
        }
    }
    if (!st->loading && st->refresh <= now) {
        fy_tls_ocsp_start(st);
    }
    return rc;
}
