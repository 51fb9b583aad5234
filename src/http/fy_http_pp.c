/*
 * fy_http_pp.c -- "listen ... proxy_protocol" for http: a load
 * balancer in front of ferry (HAProxy, an AWS NLB, another ferry's
 * stream proxy_protocol) sends a PROXY protocol header before the
 * client's bytes.  It is read first (fy_pp_read, shared with stream),
 * within client_header_timeout, before the TLS handshake of a
 * "listen ... ssl proxy_protocol" or the first request; what it said is
 * kept in hc->pp for the connection's life: $proxy_protocol_addr,
 * _port, _server_addr, _server_port, and "real_ip_header
 * proxy_protocol" (fy_http_realip.c).  A connection without a valid
 * header is closed without an answer, as nginx does.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_request.h"
#include "fy_pp.h"

static void fy_http_pp_handler(fy_event_t *rev);

void
fy_http_pp_start(fy_http_conn_t *hc)
{
    fy_conn_t           *c = hc->c;
    fy_http_srv_conf_t  *scf = fy_http_default_server(hc->ls);

    c->read.handler = fy_http_pp_handler;
    c->write.handler = fy_event_ignore;
    fy_timer_add(&c->read, (uint64_t) scf->client_header_timeout);
    /* usually here already, as a request is (fy_http_start_connection) */
    fy_http_pp_handler(&c->read);
}

static void
fy_http_pp_handler(fy_event_t *rev)
{
    fy_conn_t       *c = rev->data;
    fy_http_conn_t  *hc = c->data;
    int              rc;

    if (rev->timedout) {
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading PROXY protocol header, client: %s",
                     hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }
    if (hc->pp == NULL) {
        hc->pp = calloc(1, sizeof(fy_pp_t));
        if (hc->pp == NULL) {
            fy_log_error(FY_LOG_ALERT, errno, "cannot allocate memory");
            fy_http_close_connection(hc);
            return;
        }
    }
    rc = fy_pp_read(c->fd, hc->pp, hc->addr_text);
    if (rc == FY_AGAIN) {
        return;             /* in epoll at the end of the turn */
    }
    if (rc != FY_OK) {
        fy_http_close_connection(hc);       /* logged */
        return;
    }
    fy_timer_del(rev);
    if (hc->ls->ssl) {
        fy_http_ssl_init_connection(hc);
        return;
    }
    fy_http_start_connection(hc);
}

static size_t
fy_http_pp_text(u_char *buf, size_t size, const char *text)
{
    size_t  len = strlen(text);

    if (buf && len) {
        memcpy(buf, text, fy_min(size, len));
    }
    return len;
}

static size_t
fy_http_pp_port(u_char *buf, size_t size, fy_pp_t *pp, unsigned port)
{
    char  text[8];

    if (pp == NULL || pp->addr[0] == '\0') {
        return 0;           /* no header, UNKNOWN or LOCAL: empty */
    }
    snprintf(text, sizeof(text), "%u", port);
    return fy_http_pp_text(buf, size, text);
}

/* $proxy_protocol_addr and the others: empty without a header */
size_t
fy_http_pp_var_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_pp_t  *pp = r->hc->pp;

    return pp ? fy_http_pp_text(buf, size, pp->addr) : 0;
}

size_t
fy_http_pp_var_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_pp_t  *pp = r->hc->pp;

    return fy_http_pp_port(buf, size, pp, pp ? pp->port : 0);
}

size_t
fy_http_pp_var_server_addr(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_pp_t  *pp = r->hc->pp;

    return pp ? fy_http_pp_text(buf, size, pp->server_addr) : 0;
}

size_t
fy_http_pp_var_server_port(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_pp_t  *pp = r->hc->pp;

    return fy_http_pp_port(buf, size, pp, pp ? pp->server_port : 0);
}

/* $proxy_protocol_tlv_NAME: the TLV's value as the header carried it;
 * empty without a header, without the TLV, or over version 1 */
size_t
fy_http_pp_var_tlv(fy_http_request_t *r, const fy_str_t *arg, u_char *buf,
                   size_t size)
{
    fy_pp_t   *pp = r->hc->pp;
    fy_str_t   v;
    char       verify[11];

    if (pp == NULL || fy_pp_tlv(pp, arg->data, arg->len, &v, verify)
                      != FY_OK)
    {
        return 0;
    }
    if (buf) {
        memcpy(buf, v.data, fy_min(v.len, size));
    }
    return v.len;
}
