/*
 * fy_stream_preread.c -- the preread phase of a stream session
 * (nginx's, with ngx_stream_ssl_preread_module as its one handler):
 * with ssl_preread on, the client's first bytes are read before any
 * server is chosen, and its TLS ClientHello (fy_stream_tls_hello.c)
 * gives $ssl_preread_server_name, $ssl_preread_alpn_protocols and
 * $ssl_preread_protocol, which proxy_pass $var (through map) may use.
 *
 * The bytes are read into the session's client-to-server buffer and
 * stay there: the relay's first pass sends them to the server as they
 * came (TLS passthrough: ferry never terminates this TLS).
 *
 * As nginx: the phase ends when the hello is read, when the bytes are
 * not TLS (variables empty, the session still proxied), when the
 * client closes or fails (the relay then passes that on), or when
 * preread_timeout passes (the session goes on with empty variables).
 * preread_buffer_size bytes read with the hello still incomplete is
 * "preread buffer full": logged, and the session closed (400).
 */
#include "fy_core.h"
#include "fy_stream.h"

/* The hello is read (or will not be): with server_name, the server
 * it names becomes the session's, then the content phase. */
static void
fy_stream_preread_done(fy_stream_session_t *s)
{
    fy_tls_hello_t  *h = s->hello;
    fy_str_t         host;
    u_char           lower[FY_TLS_HELLO_NAME_MAX + 1];

    fy_timer_del(&s->c->read);
    s->c->read.handler = fy_event_ignore;
    /* as the handshake's SNI is read (lowercased, without a final dot,
     * as nginx); a copy: $ssl_preread_server_name stays as sent */
    if (s->ls->servers.nelts > 1 && fy_tls_hello_complete(h)
        && fy_tls_sni_host((u_char *) h->server_name, h->server_name_len,
                           lower, sizeof(lower), &host) == FY_OK)
    {
        if (fy_stream_virtual(s, &host) != FY_OK) {
            fy_stream_finalize(s, 500);
            return;
        }
    }
    fy_stream_connect(s);
}

static void
fy_stream_preread_handler(fy_event_t *ev)
{
    fy_conn_t            *c = ev->data;
    fy_stream_session_t  *s = c->data;
    fy_buf_t             *b = &s->up;
    size_t                room;
    ssize_t               n;
    int                   rc;

    if (ev->timedout) {
        ev->timedout = 0;
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "prereading client data (preread_timeout), going "
                     "on without it, client: %s, server: %s",
                     s->addr_text, s->ls->text);
        fy_stream_preread_done(s);
        return;
    }

    for ( ;; ) {
        room = s->scf->preread_buffer_size - fy_buf_size(b);
        if (room == 0) {
            fy_log_error(FY_LOG_ERR, 0, "preread buffer full (%zu bytes, "
                         "preread_buffer_size) before the end of the TLS "
                         "ClientHello, client: %s, server: %s",
                         s->scf->preread_buffer_size, s->addr_text,
                         s->ls->text);
            fy_stream_finalize(s, 400);
            return;
        }
        n = fy_conn_recv(c, b->last, room);
        if (n == FY_AGAIN) {
            return;
        }
        if (n <= 0) {
            /* EOF or an error: the relay meets it again and ends the
             * session as it would have without preread */
            fy_stream_preread_done(s);
            return;
        }
        rc = fy_tls_hello_parse(s->hello, b->last, (size_t) n);
        b->last += n;
        s->bytes_received += (uint64_t) n;
        if (rc != FY_AGAIN) {
            fy_stream_preread_done(s);
            return;
        }
    }
}

void
fy_stream_preread(fy_stream_session_t *s)
{
    fy_conn_t  *c = s->c;

    s->hello = fy_palloc(s->pool, sizeof(fy_tls_hello_t));
    if (s->hello == NULL) {
        fy_stream_finalize(s, 500);
        return;
    }
    fy_tls_hello_init(s->hello);
    c->read.handler = fy_stream_preread_handler;
    fy_timer_add(&c->read, (uint64_t) s->scf->preread_timeout);
    fy_stream_preread_handler(&c->read);
}
