/*
 * fy_http_ssl_conn.c -- TLS on a client connection: the handshake
 * before HTTP starts (plain HTTP on the TLS port noticed from its first
 * byte), the wait for the OCSP responder's word on a client
 * certificate (ssl_ocsp) after it, the 400 for that plain request, and
 * the client-certificate check (ssl_verify_client) with its 400s.
 */
#include "fy_core.h"
#include "fy_http.h"


static void fy_http_ssl_handshake_handler(fy_event_t *ev);
static void fy_http_ssl_ocsp_wait(fy_event_t *ev);
static void fy_http_ssl_ocsp_done(fy_conn_t *c);

void
fy_http_ssl_init_connection(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_srv_conf_t  *scf;

    scf = hc->ls->default_server;
    c->read.handler = fy_http_ssl_handshake_handler;
    c->write.handler = fy_http_ssl_handshake_handler;
    /* the handshake has client_header_timeout, as in nginx */
    fy_timer_add(&c->read, (uint64_t) scf->client_header_timeout);
    c->read.ready = 1;
    fy_http_ssl_handshake_handler(&c->read);
}

static void
fy_http_ssl_handshake_handler(fy_event_t *ev)
{
    fy_conn_t           *c = ev->data;
    fy_http_conn_t      *hc = c->data;
    fy_http_srv_conf_t  *scf;
    char                 who[80];
    u_char               first;
    ssize_t              n;
    int                  rc;

    if (c->read.timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out in SSL handshake, "
                     "client %s", hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }

    if (c->ssl == NULL) {
        /* A TLS record starts with 0x16 (handshake); anything else
         * here is someone speaking plain HTTP to the TLS port. */
        n = fy_conn_peek(c, &first, 1);
        if (n == FY_AGAIN) {
            c->read.ready = 0;
            return;
        }
        if (n <= 0) {
            fy_http_close_connection(hc);
            return;
        }
        if (first != 0x16) {
            hc->plain_on_tls = 1;
            fy_timer_del(&c->read);
            fy_http_start_connection(hc);
            return;
        }
        scf = hc->ls->default_server;
        if (fy_tls_conn_create(c, scf->tls.ctx) != FY_OK) {
            fy_http_close_connection(hc);
            return;
        }
        c->tls_buffer = (uint32_t) scf->tls.buffer_size;
        /* as nginx: the default server's tcp_nodelay, before the
         * server's first flight */
        fy_http_nodelay(hc, scf->loc);
    }

    snprintf(who, sizeof(who), "client %s", hc->addr_text);
    rc = fy_tls_handshake(c, who);
    if (rc == FY_AGAIN) {
        return;
    }
    if (rc != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }
    /* ssl_ocsp: the request is read once the responder has answered
     * (nginx), the handshake's timeout still running */
    rc = fy_tls_ocsp_validate(c, fy_http_ssl_ocsp_done, who);
    if (rc == FY_AGAIN) {
        c->read.handler = fy_http_ssl_ocsp_wait;
        c->write.handler = fy_http_ssl_ocsp_wait;
        return;
    }
    if (rc != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }
    fy_timer_del(&c->read);
    fy_http_start_connection(hc);
}

/* While the responder is asked: only the timeout matters; what the
 * client sends stays for the request's reader (c->read.ready). */
static void
fy_http_ssl_ocsp_wait(fy_event_t *ev)
{
    fy_conn_t       *c = ev->data;
    fy_http_conn_t  *hc = c->data;

    if (c->read.timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out in SSL handshake, "
                     "client %s", hc->addr_text);
        fy_http_close_connection(hc);
    }
}

static void
fy_http_ssl_ocsp_done(fy_conn_t *c)
{
    fy_http_conn_t  *hc = c->data;

    fy_timer_del(&c->read);
    fy_http_start_connection(hc);
}

void
fy_http_ssl_plain_error(fy_http_request_t *r)
{
    static fy_str_t    html = fy_string("text/html");
    static const char  body[] =
        "<html>\r\n<head><title>400 The plain HTTP request was sent to "
        "HTTPS port</title></head>\r\n<body>\r\n"
        "<center><h1>400 Bad Request</h1></center>\r\n"
        "<center>The plain HTTP request was sent to HTTPS port</center>\r\n"
        "<hr><center>ferry</center>\r\n</body>\r\n</html>\r\n";

    r->keepalive = 0;
    fy_http_send_response(r, 400, &html, (const u_char *) body,
                          sizeof(body) - 1, NULL);
}

static void
fy_http_ssl_cert_error(fy_http_request_t *r, const char *what)
{
    static fy_str_t  html = fy_string("text/html");
    u_char          *body;
    int              n;

    /* nginx's 495 and 496, answered as 400 */
    body = fy_palloc(r->pool, 512);
    if (body == NULL) {
        fy_http_send_error(r, 500);
        return;
    }
    n = snprintf((char *) body, 512,
                 "<html>\r\n<head><title>400 %s</title></head>\r\n<body>\r\n"
                 "<center><h1>400 Bad Request</h1></center>\r\n"
                 "<center>%s</center>\r\n"
                 "<hr><center>ferry</center>\r\n</body>\r\n</html>\r\n",
                 what, what);
    r->keepalive = 0;
    fy_http_send_response(r, 400, &html, body, (size_t) n, NULL);
}

int
fy_http_ssl_verify(fy_http_request_t *r)
{
    char  who[80];

    if (r->hc->c->ssl == NULL || r->srv->tls.verify == FY_TLS_VERIFY_OFF) {
        return FY_OK;
    }
    snprintf(who, sizeof(who), "client %s", r->hc->addr_text);
    switch (fy_tls_verify_client(r->hc->c, r->srv->tls.verify, who)) {
    case FY_TLS_CLIENT_FAILED:
        fy_http_ssl_cert_error(r, "The SSL certificate error");
        return FY_ERROR;
    case FY_TLS_CLIENT_NONE:
        fy_http_ssl_cert_error(r, "No required SSL certificate was sent");
        return FY_ERROR;
    }
    return FY_OK;
}
