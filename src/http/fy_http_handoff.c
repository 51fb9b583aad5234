/*
 * fy_http_handoff.c -- the worker's side of moving a keep-alive
 * connection to another worker: a draining worker gives each
 * connection that is between requests back to the master, with the
 * bytes of the next request it may already have read.  The receiving
 * side is fy_http_init_connection() with those bytes.
 *
 * Only plain HTTP connections between requests can move (a TLS one, or
 * one that began with a PROXY header, answers "Connection: close" while
 * its worker drains): all their state is the socket, the bytes read
 * and the request count.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"
#include "fy_channel.h"

int
fy_http_handback(fy_http_conn_t *hc)
{
    /* 16 KiB of data room: static, not on the stack */
    static fy_channel_msg_t  msg;
    fy_channel_handoff_t    *h = &msg.handoff;
    fy_conn_t               *c = hc->c;
    size_t                   len;
    int                      rc;

    /* TLS state lives in this process's memory: it cannot move; nor
     * can what a PROXY header said (the header is read once) */
    if (!fy_worker_can_handback() || c->ssl || hc->pp) {
        return FY_DECLINED;
    }

    len = hc->in.start ? fy_buf_size(&hc->in) : 0;
    if (len > FY_CHANNEL_MAX_DATA) {
        return FY_DECLINED;
    }

    memset(&msg, 0, offsetof(fy_channel_msg_t, handoff)
                    + offsetof(fy_channel_handoff_t, data));
    msg.cmd = FY_CHANNEL_HANDBACK;
    msg.nfds = 1;
    h->conn.listener = hc->ls->index;
    h->conn.addrlen = (uint32_t) fy_min((size_t) c->addrlen,
                                        sizeof(h->conn.addr));
    memcpy(&h->conn.addr, &c->addr, h->conn.addrlen);
    memcpy(&h->local, &hc->ls->addr, sizeof(h->local));
    h->local_len = hc->ls->addrlen;
    h->requests = hc->requests;
    h->len = (uint32_t) len;
    if (len) {
        memcpy(h->data, hc->in.pos, len);
    }

    rc = fy_worker_handback(&msg, c->fd);
    if (rc != FY_OK) {
        return rc;
    }

    fy_log_debug("connection of client %s:%u handed back to the master "
                 "(%zu bytes pending)", hc->addr_text, hc->port, len);

    /* The record holds its own reference to the socket: closing ours
     * closes nothing for the client, and so would not take it out of
     * this worker's epoll either. */
    fy_conn_unregister(c);
    fy_http_close_connection(hc);
    return FY_OK;
}
