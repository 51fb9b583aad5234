/*
 * fy_http_tunnel.c -- after "101 Switching Protocols": bytes both ways.
 *
 * When a client asks to upgrade (WebSocket: "Connection: upgrade" and
 * "Upgrade: websocket") and the upstream agrees with 101, HTTP is over
 * on that connection.  The proxy hands both sockets here and this file
 * copies bytes in each direction through one bounded buffer each until
 * either side closes, an error happens, or nothing moves for
 * proxy_read_timeout -- nginx's WebSocket behaviour.
 *
 * Each direction is a small pump: write out what the buffer holds,
 * and only when it is empty read more.  A slow reader therefore stops
 * its writer (backpressure) and memory stays at two buffers.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_worker.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#define FY_TUNNEL_BUFFER  16384

struct fy_http_tunnel_s {
    fy_http_request_t  *r;
    fy_conn_t          *c;        /* client */
    fy_conn_t          *uc;       /* upstream */
    fy_buf_t            up;       /* client -> upstream */
    fy_buf_t            down;     /* upstream -> client */
    int64_t             timeout;  /* idle limit, ms */
};

static void fy_tunnel_handler(fy_event_t *ev);

static void
fy_tunnel_cleanup(void *data)
{
    fy_http_tunnel_t  *t = data;

    if (t->uc) {
        fy_conn_close(t->uc);
        t->uc = NULL;
    }
    fy_buf_release(&t->up);
    fy_buf_release(&t->down);
}

/* Move bytes from src to dst through b.  FY_AGAIN: nothing more can
 * move now; FY_DONE: src closed and all it sent was delivered;
 * FY_ERROR: a socket failed.  *moved is set when a byte moved. */
static int
fy_tunnel_pump(fy_conn_t *src, fy_conn_t *dst, fy_buf_t *b, int *moved)
{
    ssize_t  n;

    for ( ;; ) {
        if (fy_buf_size(b)) {
            n = fy_conn_send(dst, b->pos, fy_buf_size(b));
            if (n > 0) {
                b->pos += n;
                *moved = 1;
                continue;
            }
            return n == FY_AGAIN ? FY_AGAIN : FY_ERROR;
        }

        fy_buf_reset(b);
        n = fy_conn_recv(src, b->last, fy_buf_free(b));
        if (n > 0) {
            b->last += n;
            *moved = 1;
            continue;
        }
        if (n == 0) {
            return FY_DONE;
        }
        return n == FY_AGAIN ? FY_AGAIN : FY_ERROR;
    }
}

static void
fy_tunnel_run(fy_http_tunnel_t *t)
{
    fy_http_conn_t  *hc = t->r->hc;
    int              rc_up, rc_down, moved = 0;

    rc_up = fy_tunnel_pump(t->c, t->uc, &t->up, &moved);
    rc_down = fy_tunnel_pump(t->uc, t->c, &t->down, &moved);

    if (rc_up != FY_AGAIN || rc_down != FY_AGAIN) {
        /* one side closed (or failed): like nginx, end both */
        if (rc_up == FY_ERROR || rc_down == FY_ERROR) {
            fy_log_error(FY_LOG_INFO, errno, "upgraded connection failed, "
                         "client %s", hc->addr_text);
        }
        fy_http_finalize(t->r, 1);
        return;
    }
    if (moved) {
        fy_timer_add(&t->uc->read, (uint64_t) t->timeout);
    }
}

static void
fy_tunnel_handler(fy_event_t *ev)
{
    fy_conn_t          *c = ev->data;
    fy_http_tunnel_t   *t;

    /* a client connection came in on a listener and its data is the
     * HTTP connection; the upstream one's data is the tunnel itself */
    if (c->listening) {
        t = ((fy_http_conn_t *) c->data)->r->tunnel;
    } else {
        t = c->data;
    }

    if (ev->timedout) {
        fy_log_error(FY_LOG_INFO, 0, "upgraded connection idle for %lld ms, "
                     "closing, client %s", (long long) t->timeout,
                     t->r->hc->addr_text);
        fy_http_finalize(t->r, 1);
        return;
    }
    fy_tunnel_run(t);
}

int
fy_http_tunnel_start(fy_http_request_t *r, fy_conn_t *uc,
                     const u_char *pending, size_t len)
{
    fy_http_conn_t    *hc = r->hc;
    fy_http_tunnel_t  *t;
    size_t             early;

    t = fy_pcalloc(r->pool, sizeof(fy_http_tunnel_t));
    if (t == NULL
        || fy_buf_alloc(&t->up, FY_TUNNEL_BUFFER) != FY_OK
        || fy_buf_alloc(&t->down, fy_max(FY_TUNNEL_BUFFER, len)) != FY_OK
        || fy_pool_cleanup_add(r->pool, fy_tunnel_cleanup, t) != FY_OK)
    {
        if (t) {
            fy_buf_release(&t->up);
            fy_buf_release(&t->down);
        }
        return FY_ERROR;
    }
    t->r = r;
    t->c = hc->c;
    t->uc = uc;
    t->timeout = r->loc->proxy_read_timeout;
    r->tunnel = t;
    uc->data = t;

    /* what the upstream sent after its 101, and what the client sent
     * after its request, go first */
    memcpy(t->down.last, pending, len);
    t->down.last += len;
    early = fy_min(fy_buf_size(&hc->in), fy_buf_free(&t->up));
    memcpy(t->up.last, hc->in.pos, early);
    t->up.last += early;
    hc->in.pos += early;

    /* as nginx: both sides, as a tunnel's small writes (WebSocket
     * frames) must not wait for the peer's delayed ACK */
    fy_http_nodelay(hc, r->loc);
    if (r->loc->tcp_nodelay) {
        int  one = 1;

        if (setsockopt(uc->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))
            == -1 && errno != EOPNOTSUPP)
        {
            fy_log_error(FY_LOG_INFO, errno, "setsockopt(TCP_NODELAY) "
                         "failed on the upstream of a tunnel, client %s",
                         hc->addr_text);
        }
    }

    t->c->read.handler = fy_tunnel_handler;
    t->c->write.handler = fy_tunnel_handler;
    uc->read.handler = fy_tunnel_handler;
    uc->write.handler = fy_tunnel_handler;
    fy_timer_del(&t->c->write);
    fy_timer_del(&uc->write);
    fy_timer_add(&uc->read, (uint64_t) t->timeout);

    fy_tunnel_run(t);
    return FY_OK;
}
