/*
 * fy_load.c -- a small HTTP/1.1 load client for the soak test (t/soak.t):
 * a million keep-alive requests are too many for a Perl client.
 *
 *   fy_load -p PORT [-c CONNS] [-n TOTAL] [-d DEPTH] [-r PER_CONN]
 *           [-s STATUS] [-t SECONDS] PATH...
 *
 * Opens CONNS connections to 127.0.0.1:PORT and sends TOTAL requests in
 * all, "GET PATH HTTP/1.1" with the PATHs taken in turn, up to DEPTH
 * pipelined on a connection at a time.  After PER_CONN requests a
 * connection is closed by the client once every answer has arrived,
 * and a new one takes its place while requests remain.
 *
 * Every response is read whole: status line, headers, a Content-Length
 * body (no other framing is expected from the locations a test points
 * it at; anything else is an error).  A response whose status is not
 * STATUS (200), a connection closed or reset with answers still owed,
 * a malformed response, or no progress for 10 s ends the run with a
 * message.  Requests are never retried.
 *
 * Prints one line, "requests N responses N bad_status N errors N
 * connections N seconds S", and exits 0 only when all TOTAL responses
 * arrived with STATUS.  Exit 2: usage.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define LD_BUF     65536       /* one connection's unread responses */
#define LD_STALL   10.0        /* seconds without a response: give up */

typedef struct {
    int       fd;
    int       want_out;        /* EPOLLOUT is being watched */
    long      sent;            /* requests sent on this connection */
    long      owed;            /* sent, not yet answered */
    size_t    out_pos;         /* bytes of out[] written */
    size_t    out_len;
    char      out[8192];
    size_t    in_len;
    char      in[LD_BUF];
} ld_conn_t;

static struct {
    int          port;
    int          conns;
    long         total;
    int          depth;
    long         per_conn;
    int          status;
    double       timeout;
    char       **paths;
    int          npaths;

    int          ep;
    long         queued;       /* requests handed to connections */
    long         responses;
    long         bad_status;
    long         errors;
    long         opened;
    long         next_path;
} ld;


static double
ld_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
ld_error(const char *fmt, ...)
{
    va_list  ap;

    ld.errors++;
    fprintf(stderr, "fy_load: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Queue as many requests as DEPTH, PER_CONN and TOTAL allow. */
static void
ld_fill(ld_conn_t *c)
{
    const char  *path;
    int          n;

    while (c->owed < ld.depth && ld.queued < ld.total
           && (ld.per_conn == 0 || c->sent < ld.per_conn))
    {
        path = ld.paths[ld.next_path++ % ld.npaths];
        n = snprintf(c->out + c->out_len, sizeof(c->out) - c->out_len,
                     "GET %s HTTP/1.1\r\nHost: fy-load\r\n\r\n", path);
        if (n < 0 || (size_t) n >= sizeof(c->out) - c->out_len) {
            break;              /* full: more once some is written */
        }
        c->out_len += (size_t) n;
        c->sent++;
        c->owed++;
        ld.queued++;
    }
}

static int
ld_open(ld_conn_t *c)
{
    struct sockaddr_in   sin;
    struct epoll_event   ev;
    int                  one = 1;

    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd == -1) {
        ld_error("socket(): %s", strerror(errno));
        return -1;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) ld.port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    if (connect(c->fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
        && errno != EINPROGRESS)
    {
        ld_error("connect(): %s", strerror(errno));
        close(c->fd);
        c->fd = -1;
        return -1;
    }

    c->sent = c->owed = 0;
    c->out_pos = c->out_len = c->in_len = 0;
    ld.opened++;

    /* EPOLLOUT until the first requests are written: the connection
     * may still be on its way */
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(ld.ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->want_out = 1;

    ld_fill(c);
    return 0;
}

static void
ld_close(ld_conn_t *c)
{
    close(c->fd);
    c->fd = -1;
}

/* The status and total length of the first complete response in c->in;
 * 0: incomplete; -1: malformed. */
static int
ld_response(ld_conn_t *c, int *status, size_t *len)
{
    char    *p, *end, *h, *eol;
    size_t   hlen;
    long     clen = -1;

    c->in[c->in_len] = '\0';
    end = strstr(c->in, "\r\n\r\n");
    if (end == NULL) {
        return c->in_len >= LD_BUF - 1 ? -1 : 0;
    }
    hlen = (size_t) (end - c->in) + 4;

    if (strncmp(c->in, "HTTP/1.1 ", 9) != 0 || c->in[12] != ' ') {
        return -1;
    }
    *status = atoi(c->in + 9);

    for (h = strstr(c->in, "\r\n") + 2; h < end; h = eol + 2) {
        eol = strstr(h, "\r\n");
        if (strncasecmp(h, "Content-Length:", 15) == 0) {
            clen = strtol(h + 15, &p, 10);
        } else if (strncasecmp(h, "Transfer-Encoding:", 18) == 0) {
            return -1;
        }
    }
    if (clen < 0 || hlen + (size_t) clen >= LD_BUF) {
        return -1;
    }
    if (c->in_len < hlen + (size_t) clen) {
        return 0;
    }
    *len = hlen + (size_t) clen;
    return 1;
}

/* Read and count responses.  -1: the connection is done for (closed by
 * the peer, an error, or a bad response). */
static int
ld_read(ld_conn_t *c)
{
    ssize_t  n;
    size_t   len;
    int      status, rc;

    for ( ;; ) {
        n = read(c->fd, c->in + c->in_len, LD_BUF - 1 - c->in_len);
        if (n == -1 && errno == EAGAIN) {
            return 0;
        }
        if (n <= 0) {
            if (c->owed) {
                ld_error("connection %s with %ld answers owed",
                         n == 0 ? "closed" : strerror(errno), c->owed);
            }
            return -1;
        }
        c->in_len += (size_t) n;

        while ((rc = ld_response(c, &status, &len)) == 1) {
            if (c->owed == 0) {
                ld_error("a response to no request");
                return -1;
            }
            c->owed--;
            ld.responses++;
            if (status != ld.status) {
                ld.bad_status++;
                if (ld.bad_status <= 5) {
                    fprintf(stderr, "fy_load: status %d\n", status);
                }
            }
            memmove(c->in, c->in + len, c->in_len - len);
            c->in_len -= len;
        }
        if (rc == -1) {
            ld_error("malformed response: \"%.60s\"", c->in);
            return -1;
        }
    }
}

/* Watch EPOLLOUT only while there is something left to write: a
 * level-triggered EPOLLOUT on an idle socket would spin. */
static void
ld_want_out(ld_conn_t *c, int want)
{
    struct epoll_event  ev;

    if (c->want_out == want) {
        return;
    }
    ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
    ev.data.ptr = c;
    epoll_ctl(ld.ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want;
}

static int
ld_write(ld_conn_t *c)
{
    ssize_t  n;

    while (c->out_pos < c->out_len) {
        n = write(c->fd, c->out + c->out_pos, c->out_len - c->out_pos);
        if (n == -1 && (errno == EAGAIN || errno == ENOTCONN)) {
            ld_want_out(c, 1);
            return 0;
        }
        if (n == -1) {
            ld_error("write(): %s", strerror(errno));
            return -1;
        }
        c->out_pos += (size_t) n;
    }
    c->out_pos = c->out_len = 0;
    ld_want_out(c, 0);
    return 0;
}

/* A connection that is done: closed, and replaced while requests
 * remain.  -1 if the replacement could not be opened. */
static int
ld_recycle(ld_conn_t *c)
{
    ld_close(c);
    return ld.queued < ld.total && !ld.errors ? ld_open(c) : 0;
}

static void
ld_usage(void)
{
    fprintf(stderr, "usage: fy_load -p PORT [-c CONNS] [-n TOTAL] "
            "[-d DEPTH] [-r PER_CONN] [-s STATUS] [-t SECONDS] PATH...\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    struct epoll_event   evs[64];
    ld_conn_t           *conns, *c;
    double               start, last_progress, now;
    long                 seen = 0;
    int                  opt, i, n, live;

    ld.conns = 4;
    ld.total = 1000;
    ld.depth = 8;
    ld.status = 200;
    ld.timeout = 600;

    while ((opt = getopt(argc, argv, "p:c:n:d:r:s:t:")) != -1) {
        switch (opt) {
        case 'p': ld.port = atoi(optarg); break;
        case 'c': ld.conns = atoi(optarg); break;
        case 'n': ld.total = atol(optarg); break;
        case 'd': ld.depth = atoi(optarg); break;
        case 'r': ld.per_conn = atol(optarg); break;
        case 's': ld.status = atoi(optarg); break;
        case 't': ld.timeout = atof(optarg); break;
        default: ld_usage();
        }
    }
    ld.paths = argv + optind;
    ld.npaths = argc - optind;
    if (ld.port <= 0 || ld.port > 65535 || ld.conns < 1 || ld.total < 1
        || ld.depth < 1 || ld.npaths < 1)
    {
        ld_usage();
    }

    ld.ep = epoll_create1(EPOLL_CLOEXEC);
    conns = calloc((size_t) ld.conns, sizeof(ld_conn_t));
    if (ld.ep == -1 || conns == NULL) {
        perror("fy_load");
        return 1;
    }

    start = last_progress = ld_now();
    for (i = 0; i < ld.conns; i++) {
        conns[i].fd = -1;
        if (ld.queued < ld.total && ld_open(&conns[i]) == -1) {
            goto done;
        }
    }

    for ( ;; ) {
        live = 0;
        for (i = 0; i < ld.conns; i++) {
            live += conns[i].fd != -1;
        }
        if (live == 0 || ld.errors) {
            break;
        }

        n = epoll_wait(ld.ep, evs, 64, 1000);
        now = ld_now();
        if (ld.responses != seen) {
            seen = ld.responses;
            last_progress = now;
        }
        if (now - last_progress > LD_STALL || now - start > ld.timeout) {
            ld_error("no progress: %ld of %ld responses after %.1f s",
                     ld.responses, ld.total, now - start);
            break;
        }

        for (i = 0; i < n; i++) {
            c = evs[i].data.ptr;
            if (c->fd == -1) {
                continue;
            }
            if ((evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
                && ld_read(c) == -1)
            {
                /* closed by the server with nothing owed is fine */
                if (ld_recycle(c) == -1) {
                    goto done;
                }
                continue;
            }
            ld_fill(c);
            if (ld_write(c) == -1) {
                ld_close(c);
                continue;
            }
            if (c->owed == 0 && c->out_len == 0
                && ld_recycle(c) == -1)
            {
                /* PER_CONN reached (or all sent): a new connection for
                 * the rest */
                goto done;
            }
        }
    }

done:
    printf("requests %ld responses %ld bad_status %ld errors %ld "
           "connections %ld seconds %.2f\n", ld.queued, ld.responses,
           ld.bad_status, ld.errors, ld.opened, ld_now() - start);

    return (ld.responses == ld.total && ld.bad_status == 0
            && ld.errors == 0) ? 0 : 1;
}
