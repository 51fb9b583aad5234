/*
 * test_conn_writev.c -- fy_conn_writev on a plain socket: what the peer
 * reads is exactly the iovecs' bytes in order, whichever way they go
 * out (one send() of a single piece, small pieces gathered into one
 * send(), writev() for the rest); a write into a full socket is
 * FY_AGAIN, and writing on as the peer reads delivers them once, after
 * what was queued before.
 *
 * Over real TCP on 127.0.0.1, as to a client or an upstream.  SIGPIPE
 * keeps its default action here: writing to a peer that has gone must
 * come back as FY_ERROR, not kill the process, even where ferry had not
 * ignored the signal.
 */

#include "fy_core.h"
#include "fy_event.h"
#include "fy_tls.h"
#include "fy_tap.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>


/* A connected pair on 127.0.0.1: *a ferry's end, *b the peer. */
static int
tcp_pair(int *a, int *b)
{
    struct sockaddr_in  sin;
    socklen_t           len = sizeof(sin);
    int                 l, one = 1, small = 16384;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* small buffers: the filling below stays a few dozen KiB */
    l = socket(AF_INET, SOCK_STREAM, 0);
    if (l == -1
        || setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == -1
        || bind(l, (struct sockaddr *) &sin, sizeof(sin)) == -1
        || listen(l, 1) == -1
        || getsockname(l, (struct sockaddr *) &sin, &len) == -1)
    {
        return -1;
    }
    *a = socket(AF_INET, SOCK_STREAM, 0);
    if (*a == -1
        || setsockopt(*a, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)) == -1
        || connect(*a, (struct sockaddr *) &sin, sizeof(sin)) == -1)
    {
        return -1;
    }
    *b = accept(l, NULL, NULL);
    close(l);
    if (*b == -1) {
        return -1;
    }
    setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    fcntl(*a, F_SETFL, O_NONBLOCK);
    return 0;
}

/* Read exactly n bytes from the peer (blocking), or fewer on EOF. */
static size_t
read_n(int fd, u_char *buf, size_t n)
{
    size_t   got = 0;
    ssize_t  r;

    while (got < n) {
        r = recv(fd, buf + got, n - got, 0);
        if (r <= 0) {
            break;
        }
        got += (size_t) r;
    }
    return got;
}

/* The pieces of a write, and their bytes laid end to end.  In memory
 * they are apart, last first, with other bytes between them: a copy
 * that took them as one run would send the wrong bytes. */
static struct iovec  iov[8];
static u_char        flat[65536];
static size_t        flat_len;

static int
pieces(const size_t *lens, int cnt)
{
    static u_char  store[65536];
    size_t         off = 0;
    int            i;

    for (off = 0; off < sizeof(store); off++) {
        store[off] = (u_char) ('a' + (off * 7 + off / 13) % 26);
    }
    off = 0;
    for (i = cnt - 1; i >= 0; i--) {
        iov[i].iov_base = lens[i] ? store + off : NULL;
        iov[i].iov_len = lens[i];
        off += lens[i] + 5;
    }
    off = 0;
    for (i = 0; i < cnt; i++) {
        if (lens[i]) {
            memcpy(flat + off, iov[i].iov_base, lens[i]);
        }
        off += lens[i];
    }
    flat_len = off;
    return cnt;
}

static void
whole(fy_conn_t *c, int peer, const size_t *lens, int cnt, const char *what)
{
    static u_char  got[65536];
    ssize_t        n;

    cnt = pieces(lens, cnt);
    n = fy_conn_writev(c, iov, cnt);
    is_int(n, flat_len, "%s: all %zu bytes written", what, flat_len);
    ok(read_n(peer, got, flat_len) == flat_len
       && memcmp(got, flat, flat_len) == 0,
       "%s: the peer reads them in order", what);
}

int
main(void)
{
    static u_char        got[1 << 20], junk[1 << 16];
    static const size_t  one[] = { 71 };
    static const size_t  hdr_body[] = { 146, 6 };
    static const size_t  with_empty[] = { 100, 0, 900, 1, 0,
                                          FY_CONN_GATHER - 1001 };
    static const size_t  over[] = { 146, FY_CONN_GATHER - 145 };
    static const size_t  big[] = { 300, 16384, 4096 };
    static const size_t  small3[] = { 700, 0, 1300 };
    struct iovec         left[8];
    fy_conn_t           *c;
    size_t               filled = 0, sent = 0, have = 0, off, i;
    ssize_t              n;
    int                  a, b, k, cnt, rounds;

    ok(fy_event_init(8) == FY_OK, "event loop");
    ok(tcp_pair(&a, &b) == 0, "a TCP connection on 127.0.0.1");
    c = fy_conn_get(a);
    ok(c != NULL, "ferry's end is a connection");

    whole(c, b, one, 1, "one piece (an upstream request)");
    whole(c, b, hdr_body, 2, "header and a 6-byte body");
    whole(c, b, with_empty, 6,
          "six pieces with empty ones, FY_CONN_GATHER bytes");
    whole(c, b, over, 2, "FY_CONN_GATHER + 1 bytes in two pieces (writev)");
    whole(c, b, big, 3, "20 KiB in three pieces (writev)");

    /* Fill ferry's direction until the kernel takes no more. */
    memset(junk, 'j', sizeof(junk));
    for (k = sizeof(junk); k; k /= 2) {
        while ((n = send(a, junk, (size_t) k, MSG_DONTWAIT)) > 0) {
            filled += (size_t) n;
        }
    }
    ok(filled < sizeof(got) / 2, "filled with %zu bytes", filled);
    c->write.ready = 1;
    cnt = pieces(small3, 3);
    n = fy_conn_writev(c, iov, cnt);
    is_int(n, FY_AGAIN, "a full socket: FY_AGAIN");
    ok(!c->write.ready, "and the write is no longer ready");

    /* The peer reads a little at a time while ferry's end writes the
     * pieces as its callers do: the iovecs advanced by what went out. */
    memcpy(left, iov, sizeof(left));
    k = 0;
    for (rounds = 0; rounds < 1000000 && sent < flat_len; rounds++) {
        n = recv(b, got + have, fy_min(sizeof(got) - have, 300),
                 MSG_DONTWAIT);
        if (n > 0) {
            have += (size_t) n;
        }
        n = fy_conn_writev(c, left + k, cnt - k);
        if (n == FY_AGAIN) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        sent += (size_t) n;
        off = (size_t) n;
        while (k < cnt && off >= left[k].iov_len) {
            off -= left[k].iov_len;
            k++;
        }
        if (k < cnt) {
            left[k].iov_base = (u_char *) left[k].iov_base + off;
            left[k].iov_len -= off;
        }
    }
    is_int(sent, flat_len, "all %zu bytes went out as the peer read",
           flat_len);

    /* The peer then reads the rest: the filler, then the pieces once
     * and in order, then nothing. */
    shutdown(a, SHUT_WR);
    fcntl(b, F_SETFL, 0);
    have += read_n(b, got + have, sizeof(got) - have);
    is_int(have, filled + flat_len, "the peer read the filler and the "
           "pieces, no byte more or less");
    for (i = 0; i < filled && got[i] == 'j'; i++) {
        /* the filler */
    }
    is_int(i, filled, "the filler first");
    ok(have == filled + flat_len
       && memcmp(got + filled, flat, flat_len) == 0,
       "then the pieces, in order");

    /* A peer that has gone: an error to handle, not a SIGPIPE (the
     * signal keeps its default action in this test). */
    fy_conn_close(c);
    close(b);
    ok(tcp_pair(&a, &b) == 0, "another connection");
    c = fy_conn_get(a);
    close(b);
    cnt = pieces(hdr_body, 2);
    for (k = 0; k < 10; k++) {
        n = fy_conn_writev(c, iov, cnt);
        if (n == FY_ERROR) {
            break;
        }
        usleep(10000);
    }
    is_int(n, FY_ERROR, "writing to a closed peer: FY_ERROR");

    fy_conn_close(c);
    fy_event_done();
    return done_testing();
}
