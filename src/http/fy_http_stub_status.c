/*
 * fy_http_stub_status.c -- nginx's stub_status page, byte for byte:
 *
 *     Active connections: 291 \n
 *     server accepts handled requests\n
 *      16630948 16630948 31070465 \n
 *     Reading: 6 Writing: 179 Waiting: 106 \n
 *
 * (the trailing spaces are nginx's, and the agents that parse it
 * expect them).  In ferry:
 *   Active    client connections open in all workers now
 *   accepts   connections the master accepted
 *   handled   connections a worker took and set up; fewer than accepts
 *             when no worker could take one or a worker ran out of
 *             connections
 *   requests  requests answered (counted when the response is done,
 *             so this request is not in its own page)
 *   Reading   connections reading a request header
 *   Writing   connections with a request being served: proxied,
 *             answered, or its response being written
 *   Waiting   the rest: idle keep-alive connections, and new ones
 *             whose first bytes have not arrived
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_status.h"

void
fy_http_stub_status_handler(fy_http_request_t *r)
{
    static fy_str_t    type = fy_string("text/plain");
    fy_http_status_t  *st;
    u_char            *body;
    size_t             size = 256;
    int                n;

    if (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD) {
        fy_http_send_error(r, 405);
        return;
    }

    st = fy_http_status_snapshot(r->pool, 0);
    body = fy_palloc(r->pool, size);
    if (st == NULL || body == NULL) {
        fy_http_send_error(r, 500);
        return;
    }

    n = snprintf((char *) body, size,
                 "Active connections: %llu \n"
                 "server accepts handled requests\n"
                 " %llu %llu %llu \n"
                 "Reading: %llu Writing: %llu Waiting: %llu \n",
                 (unsigned long long) st->active,
                 (unsigned long long) st->accepted,
                 (unsigned long long) st->handled,
                 (unsigned long long) st->requests,
                 (unsigned long long) st->reading,
                 (unsigned long long) st->writing,
                 (unsigned long long) st->waiting);

    fy_http_send_response(r, 200, &type, body, (size_t) n, NULL);
}
