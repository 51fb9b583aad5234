/*
 * fy_http_request.h -- what the files of the client side share: the
 * steps one file hands to another.
 *
 *   fy_http_request.c         the connection's life: wait for and read
 *                             a request, finalize, keep-alive, drain
 *   fy_http_request_header.c  parse and check the request header
 *   fy_http_request_route.c   choose server and location, run the
 *                             location's handler
 *   fy_http_response.c        responses and error pages, writing them
 *
 * Private to src/http/fy_http_request*.c and fy_http_response.c.
 */
#ifndef FY_HTTP_REQUEST_H
#define FY_HTTP_REQUEST_H

#include "fy_core.h"
#include "fy_http.h"

/* The default server of a listen socket (its first, or the one marked
 * default_server): the one whose settings apply until Host has chosen
 * another, and that answers unknown hosts. */
static inline fy_http_srv_conf_t *
fy_http_default_server(fy_listen_t *ls)
{
    return ls->default_server;
}

/* fy_http_request_header.c: parse what hc->in holds of r's header,
 * then hand a complete one to fy_http_handler. */
void fy_http_process_header(fy_http_request_t *r);

/* fy_http_request_route.c: the header is complete; seen holds the
 * framing flags fy_http_process_header noted. */
void fy_http_handler(fy_http_request_t *r, unsigned seen);

/* fy_http_request.c: move r between stub_status's Reading and
 * Writing (and neither). */
void fy_http_set_stat(fy_http_request_t *r, unsigned stat);
/* fy_http_request.c: put a connection on the idle list, which a
 * worker that stops gracefully empties. */
void fy_http_idle_add(fy_http_conn_t *hc);

/* fy_http_lingering.c: whether r's connection, about to be closed,
 * should first shut its write side and read what the client still
 * sends (lingering_close); and doing so, r already freed. */
int  fy_http_lingering_wanted(fy_http_request_t *r);
void fy_http_lingering_start(fy_http_conn_t *hc, int64_t time,
                             int64_t timeout);

#endif /* FY_HTTP_REQUEST_H */
