/*
 * fy_flood.c -- a connection flood for t/adversarial.t: more
 * connections than ferry's worker_connections, opened as fast as the
 * machine allows, each followed to its fate.
 *
 *   fy_flood -p PORT -n TOTAL [-w WINDOW] [-r] [-h HANG] [-t SECONDS]
 *
 * Opens TOTAL connections to 127.0.0.1:PORT, at most WINDOW (256) of
 * them undecided at a time, so the listen backlog never overflows (a
 * dropped SYN would cost a 1 s retransmit and say nothing about ferry).
 * With -r each connection sends "GET / HTTP/1.1" once it is connected.
 * A connection is then, whichever comes first:
 *
 *   answered  bytes came back (it is kept open until the end of the
 *             run, holding its place in the worker, and no longer
 *             counts against WINDOW)
 *   closed    end of file or a reset before any byte came back
 *   failed    connect() failed
 *   open      none of these within HANG seconds (5) of its connect();
 *             the tool closes it (with -r: a connection left hanging)
 *
 * The whole run stops after SECONDS (60); connections not started by
 * then count as not made.  RLIMIT_NOFILE is raised to its hard limit.
 *
 * Prints one line, "connections N answered N closed N failed N open N
 * seconds S", and exits 0; 1 on a setup failure, 2: usage.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum {
    FL_CONNECTING = 1,
    FL_WAITING,         /* connected, nothing back yet */
    FL_HELD,            /* answered, kept open */
    FL_DONE             /* decided and closed */
};

typedef struct {
    int     fd;
    int     state;
    double  start;
} fl_conn_t;

static const char  fl_request[] = "GET / HTTP/1.1\r\nHost: flood\r\n\r\n";

static double
fl_now(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void
fl_usage(void)
{
    fprintf(stderr, "usage: fy_flood -p PORT -n TOTAL [-w WINDOW] [-r] "
                    "[-h HANG] [-t SECONDS]\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    struct sockaddr_in   sin;
    struct epoll_event   ev, evs[256];
    struct rlimit        rl;
    fl_conn_t           *conns, *c;
    long                 total = 0, started = 0, decided = 0, i;
    long                 answered = 0, closed = 0, failed = 0, open = 0;
    int                  port = 0, window = 256, request = 0, opt, ep;
    int                  undecided = 0, n, k, fd, err;
    double               hang = 5, limit = 60, t0, last_scan = 0;
    socklen_t            len;
    char                 buf[4096];
    ssize_t              r;

    while ((opt = getopt(argc, argv, "p:n:w:rh:t:")) != -1) {
        switch (opt) {
        case 'p': port = atoi(optarg); break;
        case 'n': total = atol(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'r': request = 1; break;
        case 'h': hang = atof(optarg); break;
        case 't': limit = atof(optarg); break;
        default: fl_usage();
        }
    }
    if (port <= 0 || port > 65535 || total <= 0 || window <= 0
        || hang <= 0 || limit <= 0 || optind != argc)
    {
        fl_usage();
    }

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
            perror("fy_flood: setrlimit");
        }
    }

    conns = calloc((size_t) total, sizeof(fl_conn_t));
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (conns == NULL || ep == -1) {
        perror("fy_flood: setup");
        return 1;
    }
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    t0 = fl_now();

    while (decided < total && fl_now() - t0 < limit) {

        /* start connections while the window has room */
        while (started < total && undecided < window) {
            c = &conns[started];
            c->start = fl_now();
            fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        0);
            if (fd == -1) {
                /* out of descriptors (or memory): wait for some to go */
                if (undecided > 0) {
                    break;
                }
                perror("fy_flood: socket");
                return 1;
            }
            started++;
            if (connect(fd, (struct sockaddr *) &sin, sizeof(sin)) == -1
                && errno != EINPROGRESS)
            {
                close(fd);
                c->state = FL_DONE;
                failed++;
                decided++;
                continue;
            }
            c->fd = fd;
            c->state = FL_CONNECTING;
            ev.events = EPOLLOUT;
            ev.data.u64 = (uint64_t) (c - conns);
            if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
                perror("fy_flood: epoll_ctl");
                return 1;
            }
            undecided++;
        }

        n = epoll_wait(ep, evs, 256, 20);
        if (n == -1 && errno != EINTR) {
            perror("fy_flood: epoll_wait");
            return 1;
        }

        for (k = 0; k < n; k++) {
            c = &conns[evs[k].data.u64];

            switch (c->state) {

            case FL_CONNECTING:
                err = 0;
                len = sizeof(err);
                if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
                {
                    err = errno;
                }
                if (err) {
                    close(c->fd);
                    c->state = FL_DONE;
                    failed++;
                    decided++;
                    undecided--;
                    break;
                }
                c->state = FL_WAITING;
                if (request
                    && send(c->fd, fl_request, sizeof(fl_request) - 1,
                            MSG_NOSIGNAL) == -1)
                {
                    /* closed by the other side already */
                    close(c->fd);
                    c->state = FL_DONE;
                    closed++;
                    decided++;
                    undecided--;
                    break;
                }
                ev.events = EPOLLIN | EPOLLRDHUP;
                ev.data.u64 = evs[k].data.u64;
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
                break;

            case FL_WAITING:
                r = recv(c->fd, buf, sizeof(buf), 0);
                if (r > 0) {
                    c->state = FL_HELD;
                    answered++;
                    decided++;
                    undecided--;
                    break;
                }
                if (r == -1 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                close(c->fd);
                c->state = FL_DONE;
                closed++;
                decided++;
                undecided--;
                break;

            case FL_HELD:
                /* the rest of an answer, or ferry closing it later */
                r = recv(c->fd, buf, sizeof(buf), 0);
                if (r == 0 || (r == -1 && errno != EAGAIN && errno != EINTR))
                {
                    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                }
                break;
            }
        }

        /* connections undecided for too long */
        if (fl_now() - last_scan >= 0.1) {
            last_scan = fl_now();
            for (i = 0; i < started; i++) {
                c = &conns[i];
                if ((c->state == FL_CONNECTING || c->state == FL_WAITING)
                    && last_scan - c->start >= hang)
                {
                    close(c->fd);
                    c->state = FL_DONE;
                    open++;
                    decided++;
                    undecided--;
                }
            }
        }
    }

    /* what is still undecided at the deadline counts as open */
    for (i = 0; i < started; i++) {
        c = &conns[i];
        if (c->state == FL_CONNECTING || c->state == FL_WAITING) {
            open++;
        }
        if (c->state != FL_DONE) {
            close(c->fd);
        }
    }

    printf("connections %ld answered %ld closed %ld failed %ld open %ld "
           "seconds %.2f\n", started, answered, closed, failed, open,
           fl_now() - t0);
    return 0;
}
