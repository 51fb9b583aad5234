/*
 * test_tls_io.c -- the TLS I/O wrappers in the real event loop, on a
 * socketpair: a read that OpenSSL can only finish after a write.
 *
 * ferry's end is the TLS client here (as towards an upstream), the
 * other end a plain OpenSSL server that asks for a TLS 1.2
 * renegotiation (HelloRequest) while ferry's socket cannot take a
 * byte.  SSL_read must then send a ClientHello and says WANT_WRITE.
 * The read handler must run again when the socket becomes writable,
 * although no new byte arrives for it: before the fix it waited for a
 * read event that never came.  (OpenSSL 3 as a server never needs
 * this: renegotiation is off and a key update is answered by the next
 * write, so the test takes the client's side.)
 */

#include "fy_core.h"
#include "fy_event.h"
#include "fy_tls.h"
#include "fy_tap.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>


static u_char    got[64];
static ssize_t   got_len;
static unsigned  read_calls;

static void
read_handler(fy_event_t *ev)
{
    fy_conn_t  *c = ev->data;
    ssize_t     n;

    read_calls++;
    n = fy_conn_recv(c, got + got_len, sizeof(got) - (size_t) got_len);
    if (n > 0) {
        got_len += n;
    }
}

/* A throwaway P-256 key and self-signed certificate for the server. */
static SSL_CTX *
server_ctx(void)
{
    SSL_CTX   *ctx = SSL_CTX_new(TLS_server_method());
    EVP_PKEY  *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    X509      *x = X509_new();

    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const u_char *) "io.test", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    X509_set_pubkey(x, pkey);
    X509_sign(x, pkey, EVP_sha256());
    SSL_CTX_use_certificate(ctx, x);
    SSL_CTX_use_PrivateKey(ctx, pkey);
    SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_num_tickets(ctx, 0);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                          | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    X509_free(x);
    EVP_PKEY_free(pkey);
    return ctx;
}

/* Run the server's side (non-blocking) and ferry's loop in turns
 * until the server's handshake is done. */
static int
server_handshake(SSL *ssl)
{
    int  i;

    for (i = 0; i < 50; i++) {
        if (SSL_do_handshake(ssl) == 1) {
            return 1;
        }
        fy_event_process(20);
    }
    return 0;
}

int
main(void)
{
    SSL_CTX    *sctx, *cctx;
    SSL        *sssl;
    fy_conn_t  *c;
    u_char      junk[65536];
    int         sv[2], i, sndbuf = 4096;
    size_t      k;

    signal(SIGPIPE, SIG_IGN);
    ok(fy_event_init(8) == FY_OK, "event loop");
    ok(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    fcntl(sv[0], F_SETFL, O_NONBLOCK);
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));

    sctx = server_ctx();
    sssl = SSL_new(sctx);
    SSL_set_fd(sssl, sv[1]);
    SSL_set_accept_state(sssl);

    /* ferry's end: a client, as a connection to an upstream */
    cctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_set_mode(cctx, SSL_MODE_ENABLE_PARTIAL_WRITE
                           | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    c = fy_conn_get(sv[0]);
    ok(c && fy_conn_register(c) == FY_OK, "ferry's connection registered");
    c->ssl = SSL_new(cctx);
    SSL_set_fd(c->ssl, sv[0]);
    SSL_set_connect_state(c->ssl);
    c->read.handler = read_handler;
    c->write.handler = fy_event_ignore;

    for (i = 0; i < 100; i++) {
        if (SSL_do_handshake(sssl) == 1
            && SSL_do_handshake(c->ssl) == 1)
        {
            break;
        }
        (void) SSL_do_handshake(c->ssl);
    }
    ok(SSL_is_init_finished(sssl) && SSL_is_init_finished(c->ssl),
       "handshake over the socketpair");
    is_str(SSL_get_version(c->ssl), "TLSv1.2", "TLS 1.2");
    fy_event_process(0);       /* the first events, nothing to read */

    /* ferry's direction fills up: nothing more can be written */
    memset(junk, 'j', sizeof(junk));
    for (k = sizeof(junk); k; k /= 2) {
        while (send(sv[0], junk, k, MSG_DONTWAIT) > 0) {
            /* raw bytes: the server drains them unread below */
        }
    }

    ok(SSL_write(sssl, "ping", 4) == 4, "server sends a message");
    ok(SSL_renegotiate(sssl) == 1, "server asks for a renegotiation");
    (void) SSL_do_handshake(sssl);       /* HelloRequest out */

    c->read.ready = 1;
    read_handler(&c->read);
    ok(got_len == 4 && memcmp(got, "ping", 4) == 0, "the message came");
    ok(c->read_on_write, "the read then waits for the socket to be "
       "writable (the ClientHello could not be sent)");
    ok(!c->read.ready && !c->write.ready, "both ready flags cleared");

    fy_event_process(50);
    fy_event_process(50);

    /* the server drains the junk: ferry's socket becomes writable, and
     * no new byte arrives for ferry to read */
    while (recv(sv[1], junk, 65536, MSG_DONTWAIT) > 0) {
        /* discard */
    }
    read_calls = 0;
    for (i = 0; i < 10 && read_calls == 0; i++) {
        fy_event_process(100);
    }
    ok(read_calls > 0, "the read handler ran on the write event");
    ok(!c->read_on_write, "the wait is over");

    ok(server_handshake(sssl), "the renegotiation completes (the "
       "ClientHello was sent)");
    ok(SSL_write(sssl, "pong", 4) == 4, "server sends another message");
    for (i = 0; i < 20 && got_len < 8; i++) {
        fy_event_process(50);
    }
    ok(got_len == 8 && memcmp(got + 4, "pong", 4) == 0,
       "it arrives over the renegotiated session");

    fy_conn_close(c);
    SSL_free(sssl);
    close(sv[1]);
    SSL_CTX_free(sctx);
    SSL_CTX_free(cctx);
    fy_event_done();
    return done_testing();
}
