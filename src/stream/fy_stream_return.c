/*
 * fy_stream_return.c -- "return VALUE" in a stream server (nginx's
 * ngx_stream_return_module): the server's content is the value, text
 * with variables ("return $remote_addr;"), sent to the client (over
 * TLS on a "listen ... ssl"), and the session ends with status 200.
 * It takes the place of proxy_pass: a server has one or the other.
 * The value is made in the session's server-to-client buffer
 * (proxy_buffer_size) and sent within proxy_timeout.
 *
 * On a "listen ... udp" address the value is one datagram, sent from
 * the listening socket to the client when its first datagram makes the
 * session (fy_stream_udp.c), as nginx does; an empty value sends none.
 */
#include "fy_core.h"
#include "fy_stream.h"

#include <sys/socket.h>

static const char *fy_stream_return_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_stream_return_handler(fy_event_t *ev);
static void fy_stream_return_datagram(fy_stream_session_t *s);

const fy_command_t  fy_stream_return_commands[] = {

    { "return", FY_CONF_STREAM_SRV, 0, 1, 1, fy_stream_return_set,
      FY_CONF_SRV_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const char *
fy_stream_return_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_stream_srv_conf_t  *scf = conf;

    fy_unused(cmd);

    /* one content per server, as nginx: return or proxy_pass */
    if (scf->ret || scf->upstream || scf->upstream_cv) {
        return "is duplicate";
    }
    scf->ret = fy_stream_cv_compile(cf, &cf->args[1]);
    return scf->ret ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_stream_return(fy_stream_session_t *s)
{
    fy_buf_t  *b = &s->down;

    /* a UDP session has no buffers of its own (nothing is relayed) */
    if (s->udp && fy_buf_alloc(b, s->scf->buffer_size) != FY_OK) {
        fy_stream_finalize(s, 500);
        return;
    }
    b->pos = b->start;
    b->last = b->start + fy_stream_cv_eval(s, s->scf->ret, b->start,
                                           (size_t) (b->end - b->start));
    if (s->udp) {
        fy_stream_return_datagram(s);
        return;
    }
    s->c->write.handler = fy_stream_return_handler;
    s->c->read.handler = fy_event_ignore;
    fy_timer_add(&s->c->write, (uint64_t) s->scf->timeout);
    fy_stream_return_handler(&s->c->write);
}

static void
fy_stream_return_handler(fy_event_t *ev)
{
    fy_conn_t            *c = ev->data;
    fy_stream_session_t  *s = c->data;
    fy_buf_t             *b = &s->down;
    ssize_t               n;

    if (ev->timedout) {
        ev->timedout = 0;
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "sending the return value, client: %s", s->addr_text);
        fy_stream_finalize(s, 200);
        return;
    }
    while (fy_buf_size(b)) {
        n = fy_conn_send(c, b->pos, fy_buf_size(b));
        if (n == FY_AGAIN) {
            return;
        }
        if (n <= 0) {
            fy_stream_finalize(s, 200);     /* the client went away */
            return;
        }
        b->pos += n;
        s->bytes_sent += (uint64_t) n;
    }
    fy_timer_del(&c->write);
    fy_stream_finalize(s, 200);
}

/* The value as one datagram to the client; one the socket cannot take
 * at once is dropped, as the network may drop it (UDP peers retry). */
static void
fy_stream_return_datagram(fy_stream_session_t *s)
{
    fy_buf_t  *b = &s->down;
    ssize_t    n;

    if (fy_buf_size(b)) {
        n = sendto(s->ls->fd, b->pos, fy_buf_size(b), 0,
                   (struct sockaddr *) &s->c->addr, s->c->addrlen);
        if (n == -1) {
            fy_log_error(FY_LOG_INFO, errno, "sendto() to client dropped "
                         "the return value, client: %s", s->addr_text);
        } else {
            s->bytes_sent += (uint64_t) n;
        }
    }
    fy_stream_finalize(s, 200);
}
