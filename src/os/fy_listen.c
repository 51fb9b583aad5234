/*
 * fy_listen.c -- listening sockets.
 */
#include "fy_core.h"
#include "fy_listen.h"

#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/stat.h>

/* "deferred" turns TCP_DEFER_ACCEPT on with nginx's 1 second: how long
 * a connection waited before it was accepted cannot be known, so
 * nginx keeps the wait short. */
#define FY_LISTEN_DEFER_SECS  1

/* Close a socket the master opened; a unix-domain one also loses its
 * file, as nginx removes it (only the master calls this). */
static void
fy_listen_close_one(fy_listen_t *ls)
{
    close(ls->fd);
    ls->fd = -1;
    if (ls->addr.sa.sa_family == AF_UNIX
        && unlink(ls->addr.sun.sun_path) == -1 && errno != ENOENT)
    {
        fy_log_error(FY_LOG_ALERT, errno, "unlink() %s failed", ls->text);
    }
}

/* The system's value of a keepalive setting (TCP_KEEPIDLE and its
 * kin cannot be given 0, "the system's", again once set): what a
 * reload that drops it from so_keepalive= puts back.  0: unknown. */
static int
fy_listen_sysctl(const char *name)
{
    char     path[64], buf[32];
    int      fd;
    ssize_t  n;

    snprintf(path, sizeof(path), "/proc/sys/net/ipv4/%s", name);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return 0;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 0;
    }
    buf[n] = '\0';
    return atoi(buf);
}

/* One option, to `val`.  A new socket (`level` emerg) fails on it; a
 * kept one (alert) keeps serving as it was (nginx: "failed, ignored"). */
static int
fy_listen_setopt(const fy_listen_t *ls, int level, int proto, int opt,
                 const char *name, int val)
{
    if (setsockopt(ls->fd, proto, opt, &val, sizeof(val)) == 0) {
        return FY_OK;
    }
    fy_log_error(level, errno, "setsockopt(%s, %d) %s failed%s", name, val,
                 ls->text, level == FY_LOG_EMERG ? "" : ", ignored");
    return FY_ERROR;
}

/* One TCP keepalive setting: `to`'s value, or when a reload dropped
 * it, the system's again. */
static int
fy_listen_keep(const fy_listen_t *ls, int level, int opt, const char *name,
               int to, int from, const char *sysctl)
{
    if (to == from || (to == 0 && (to = fy_listen_sysctl(sysctl)) == 0)) {
        return FY_OK;
    }
    return fy_listen_setopt(ls, level, IPPROTO_TCP, opt, name, to);
}

/*
 * Give the socket `to->fd` the options of `to` (rcvbuf=, sndbuf=,
 * so_keepalive=, fastopen=, deferred).  from == NULL: a socket just
 * bound, which gets those given and fails on an error.  Otherwise the
 * socket was set up for `from` (the same address in the other cycle):
 * only what differs is set, an error is logged and the socket keeps
 * serving.  A buffer size a reload drops stays as it is (the system's
 * default is not known once it was set); a dropped so_keepalive= or
 * fastopen= is turned off, as on a new socket.
 */
static int
fy_listen_configure(const fy_listen_t *to, const fy_listen_t *from)
{
    static const fy_listen_opts_t  none = { .backlog = -1, .rcvbuf = -1,
        .sndbuf = -1, .fastopen = -1, .ipv6only = -1, .keepalive = -1 };
    const fy_listen_opts_t  *o = &to->sock, *f;
    int                      level, rc = FY_OK;

    level = from ? FY_LOG_ALERT : FY_LOG_EMERG;
    f = from ? &from->sock : &none;

    if (o->rcvbuf != -1 && o->rcvbuf != f->rcvbuf) {
        rc |= fy_listen_setopt(to, level, SOL_SOCKET, SO_RCVBUF, "SO_RCVBUF",
                               o->rcvbuf);
    }
    if (o->sndbuf != -1 && o->sndbuf != f->sndbuf) {
        rc |= fy_listen_setopt(to, level, SOL_SOCKET, SO_SNDBUF, "SO_SNDBUF",
                               o->sndbuf);
    }
    if (to->udp || rc != FY_OK) {
        return rc;
    }
    /* accepted sockets inherit keepalive and its timings (nginx sets
     * them on the listening socket too) */
    if ((o->keepalive == 1) != (f->keepalive == 1)) {
        rc |= fy_listen_setopt(to, level, SOL_SOCKET, SO_KEEPALIVE,
                               "SO_KEEPALIVE", o->keepalive == 1);
    }
    rc |= fy_listen_keep(to, level, TCP_KEEPIDLE, "TCP_KEEPIDLE", o->keepidle,
                         f->keepidle, "tcp_keepalive_time");
    rc |= fy_listen_keep(to, level, TCP_KEEPINTVL, "TCP_KEEPINTVL",
                         o->keepintvl, f->keepintvl, "tcp_keepalive_intvl");
    rc |= fy_listen_keep(to, level, TCP_KEEPCNT, "TCP_KEEPCNT", o->keepcnt,
                         f->keepcnt, "tcp_keepalive_probes");
    /* 0 turns fast open off again */
    if (o->fastopen != f->fastopen && (o->fastopen != -1 || from)) {
        rc |= fy_listen_setopt(to, level, IPPROTO_TCP, TCP_FASTOPEN,
                               "TCP_FASTOPEN",
                               o->fastopen == -1 ? 0 : o->fastopen);
    }
    /* 0 turns deferring off again (nginx's delete_deferred) */
    if (o->deferred != f->deferred) {
        rc |= fy_listen_setopt(to, level, IPPROTO_TCP, TCP_DEFER_ACCEPT,
                               "TCP_DEFER_ACCEPT",
                               o->deferred ? FY_LISTEN_DEFER_SECS : 0);
    }
    return rc == FY_OK ? FY_OK : FY_ERROR;
}

/* Open, bind and listen `ls`.  busy_again: a bind() that finds the
 * address in use returns FY_AGAIN unlogged (an old socket of the port
 * may be what holds it: fy_listen_open). */
static int
fy_listen_open_one(fy_listen_t *ls, int busy_again)
{
    int  fd, on = 1;
    int  family = ls->addr.sa.sa_family;

    fd = socket(family, (ls->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK
                        | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "socket() %s failed", ls->text);
        return FY_ERROR;
    }
    /* Restarting ferry must not wait for old connections' TIME_WAIT. */
    if (family != AF_UNIX
        && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(SO_REUSEADDR) %s "
                     "failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    /* on unless "ipv6only=off": [::]:port then takes IPv4 clients too
     * (and 0.0.0.0:port cannot be bound beside it).  Only possible
     * before bind(). */
    on = ls->sock.ipv6only != 0;
    if (family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(IPV6_V6ONLY, %d) %s "
                     "failed", on, ls->text);
        close(fd);
        return FY_ERROR;
    }
    /* A socket file left by a ferry that did not exit cleanly would make
     * bind() fail: remove it first, as nginx does. */
    if (family == AF_UNIX
        && unlink(ls->addr.sun.sun_path) == -1 && errno != ENOENT)
    {
        fy_log_error(FY_LOG_EMERG, errno, "unlink() %s failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    if (bind(fd, &ls->addr.sa, ls->addrlen) == -1) {
        if (busy_again && errno == EADDRINUSE) {
            close(fd);
            return FY_AGAIN;
        }
        fy_log_error(FY_LOG_EMERG, errno, "bind() to %s failed (listen in "
                     "%s:%u)", ls->text, ls->file ? ls->file : "-", ls->line);
        close(fd);
        return FY_ERROR;
    }
    ls->fd = fd;
    /* Every local user may connect (nginx's 0666); workers running as
     * "user" never touch the file. */
    if (family == AF_UNIX && chmod(ls->addr.sun.sun_path, 0666) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "chmod() %s failed", ls->text);
        fy_listen_close_one(ls);
        return FY_ERROR;
    }
    /* Before listen(), so no connection is queued without them (nginx
     * sets them just after; the kernel takes them either way). */
    if (fy_listen_configure(ls, NULL) != FY_OK) {
        fy_listen_close_one(ls);
        return FY_ERROR;
    }
    if (ls->udp) {
        return FY_OK;       /* a datagram socket is ready once bound */
    }
    if (listen(fd, ls->sock.backlog) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "listen() to %s failed", ls->text);
        fy_listen_close_one(ls);
        return FY_ERROR;
    }
    return FY_OK;
}

/* The socket `to->fd` was set up for `from` (the same address in the
 * other cycle): give it the options of `to` that differ.  A reload
 * applies the new cycle's options to a socket it keeps, and a failed
 * one puts the old cycle's back.  Nothing is closed, so a failure is
 * only logged and the socket keeps serving as it was (nginx: "failed,
 * ignored"). */
static void
fy_listen_reconfigure(const fy_listen_t *to, const fy_listen_t *from)
{
    /* listen() again on a listening socket only changes the queue's
     * length (nginx) */
    if (!to->udp && to->sock.backlog != from->sock.backlog
        && listen(to->fd, to->sock.backlog) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "listen() to %s with backlog %d "
                     "failed", to->text, to->sock.backlog);
    }
    (void) fy_listen_configure(to, from);
}

/* The TCP addresses of `a` and `b` (different ones, of one port)
 * overlap: Linux lets only one of them listen at a time. */
static int fy_listen_span(const fy_listen_t *ls, int *v6);

static int
fy_listen_overlap(const fy_listen_t *a, const fy_listen_t *b)
{
    int  a4, a6, b4, b6;

    if (a->udp || b->udp || a->addr.sa.sa_family == AF_UNIX
        || b->addr.sa.sa_family == AF_UNIX
        || a->addr.sin.sin_port != b->addr.sin.sin_port)
    {
        return 0;
    }
    a4 = fy_listen_span(a, &a6);
    b4 = fy_listen_span(b, &b6);
    return (a4 && b4 && (a4 == 2 || b4 == 2))
           || (a6 && b6 && (a6 == 2 || b6 == 2));
}

/* The old socket `ols` keeps the new listener `ls` from binding and
 * can be stopped for it: it listens, `cycle` did not take it over,
 * and their addresses overlap (127.0.0.1:80 and *:80). */
static int
fy_listen_blocks(fy_cycle_t *cycle, const fy_listen_t *ols,
                 const fy_listen_t *ls)
{
    const fy_listen_t  *n;
    unsigned            i;

    if (ols->fd == -1 || ols->stopped || !fy_listen_overlap(ols, ls)) {
        return 0;
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        n = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (n->inherited && n->fd == ols->fd) {
            return 0;
        }
    }
    return 1;
}

static int
fy_listen_blocked(fy_cycle_t *cycle, fy_cycle_t *old, const fy_listen_t *ls)
{
    unsigned  j;

    for (j = 0; old && j < old->listening.nelts; j++) {
        if (fy_listen_blocks(cycle, fy_array_elt(&old->listening,
                                                 fy_listen_t, j), ls))
        {
            return 1;
        }
    }
    return 0;
}

/* Drop (do not answer) a TCP segment with SYN and without ACK: a
 * client whose SYN is dropped sends it again after a second, and by
 * then the new socket takes it.  The ACKs that complete handshakes
 * already under way pass, so those connections still reach the
 * queue.  A socket filter sees the segment from its TCP header on:
 * byte 13 holds the flags. */
static struct sock_filter  fy_listen_nosyn[] = {
    BPF_STMT(BPF_LD | BPF_B | BPF_ABS, 13),
    BPF_STMT(BPF_ALU | BPF_AND | BPF_K, 0x12),              /* SYN|ACK */
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x02, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
    BPF_STMT(BPF_RET | BPF_K, 0xffffffff)
};

static void
fy_listen_unfilter(const fy_listen_t *ls)
{
    int  zero = 0;

    if (setsockopt(ls->fd, SOL_SOCKET, SO_DETACH_FILTER, &zero,
                   sizeof(zero)) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "setsockopt(SO_DETACH_FILTER) %s "
                     "failed", ls->text);
    }
}

/*
 * Stop the old socket `ols` listening so a new socket of its port can
 * bind, without a connection refused or reset: new SYNs are dropped
 * (retried by the client), every connection already queued is
 * accepted into cycle->drained (the master hands them to a worker),
 * then shutdown() ends the listening.  The socket stays bound (and
 * open), so listen() can start it again if the reload fails.
 */
static int
fy_listen_stop(fy_cycle_t *cycle, fy_listen_t *ols)
{
    struct sock_fprog     prog;
    fy_listen_drained_t  *d;
    struct sockaddr_in6   addr;
    socklen_t             len;
    int                   fd;

    prog.len = sizeof(fy_listen_nosyn) / sizeof(fy_listen_nosyn[0]);
    prog.filter = fy_listen_nosyn;
    if (setsockopt(ols->fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                   sizeof(prog)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(SO_ATTACH_FILTER) %s "
                     "failed", ols->text);
        return FY_ERROR;
    }
    for ( ;; ) {
        len = sizeof(addr);
        fd = accept4(ols->fd, (struct sockaddr *) &addr, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            /* what stays queued would be reset by the shutdown */
            fy_log_error(FY_LOG_EMERG, errno, "accept4() on %s failed",
                         ols->text);
            goto undo;
        }
        d = fy_array_push(&cycle->drained);
        if (d == NULL) {
            fy_log_error(FY_LOG_EMERG, 0, "no memory for the connections "
                         "queued on %s", ols->text);
            close(fd);
            goto undo;
        }
        d->fd = fd;
        d->from = ols->index;
        d->addrlen = len;
        memcpy(&d->addr, &addr, sizeof(addr));
    }
    if (shutdown(ols->fd, SHUT_RD) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "shutdown() %s failed", ols->text);
        goto undo;
    }
    ols->stopped = 1;
    return FY_OK;

undo:
    fy_listen_unfilter(ols);
    return FY_ERROR;
}

/* The reload failed: the old sockets it stopped listen again (their
 * address was given to no other socket, which is closed by now). */
static void
fy_listen_restart(fy_cycle_t *old)
{
    fy_listen_t  *ols;
    unsigned      j;

    for (j = 0; old && j < old->listening.nelts; j++) {
        ols = fy_array_elt(&old->listening, fy_listen_t, j);
        if (!ols->stopped) {
            continue;
        }
        ols->stopped = 0;
        fy_listen_unfilter(ols);
        if (listen(ols->fd, ols->sock.backlog) == -1) {
            fy_log_error(FY_LOG_ALERT, errno, "listen() to %s again failed: "
                         "no connection reaches it until a reload or a "
                         "restart opens it anew", ols->text);
        }
    }
}

int
fy_listen_open(fy_cycle_t *cycle, fy_cycle_t *old)
{
    fy_listen_t  *ls, *ols;
    unsigned      i, j, moves = 0;
    int           rc;

    /* 1: the sockets of equal addresses are taken over */
    for (i = 0; old && i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->shared) {
            continue;           /* its wildcard's socket takes it */
        }

        for (j = 0; j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (ols->fd != -1 && fy_listen_same(ols, ls)) {
                ls->fd = ols->fd;
                ls->inherited = 1;
                /* IPV6_V6ONLY is fixed once bound: the socket would
                 * not be what the new configuration says */
                if (ls->addr.sa.sa_family == AF_INET6
                    && (ls->sock.ipv6only != 0) != (ols->sock.ipv6only != 0))
                {
                    fy_log_error(FY_LOG_EMERG, 0, "ipv6only of %s cannot "
                                 "be changed by a reload (its socket is "
                                 "kept); stop and start ferry for it",
                                 ls->text);
                    goto failed;
                }
                /* new backlog= or deferred apply to the socket kept */
                fy_listen_reconfigure(ls, ols);
                break;
            }
        }
    }

    /* 2: new ones.  One that an old socket of its port keeps from
     * binding waits for 3, so that any other failure comes first, with
     * every old socket still listening. */
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->shared || ls->fd != -1) {
            continue;
        }
        rc = fy_listen_open_one(ls, fy_listen_blocked(cycle, old, ls));
        if (rc == FY_AGAIN) {
            moves++;
        } else if (rc != FY_OK) {
            goto failed;
        }
    }

    /* 3: the address moves from the old socket to the new one: the old
     * stops listening (its queue drained), the new binds at once */
    for (i = 0; moves && i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->shared || ls->fd != -1) {
            continue;
        }
        for (j = 0; j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (fy_listen_blocks(cycle, ols, ls)
                && fy_listen_stop(cycle, ols) != FY_OK)
            {
                goto failed;
            }
        }
        if (fy_listen_open_one(ls, 0) != FY_OK) {
            goto failed;
        }
        fy_log_error(FY_LOG_NOTICE, 0, "listen %s in %s:%u: its port's old "
                     "socket stopped for it", ls->text,
                     ls->file ? ls->file : "-", ls->line);
    }

    /* Committed: the old cycle gives up the sockets the new one took. */
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        for (j = 0; old && ls->inherited && j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (ols->fd == ls->fd) {
                ols->fd = -1;
            }
        }
    }
    return FY_OK;

failed:
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->fd != -1 && !ls->inherited) {
            fy_listen_close_one(ls);
        }
        /* a socket taken over is still the old cycle's: its options
         * go back to what the old cycle set */
        for (j = 0; ls->inherited && j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (ols->fd == ls->fd) {
                fy_listen_reconfigure(ols, ls);
                break;
            }
        }
        ls->fd = -1;
        ls->inherited = 0;
    }
    fy_listen_restart(old);
    return FY_ERROR;
}

void
fy_listen_close(fy_cycle_t *cycle)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->fd != -1) {
            fy_listen_close_one(ls);
        }
    }
}

/* The IPv4 addresses a TCP listener takes on its port: 0 none, 1 its
 * own, 2 all of them.  The same for IPv6 in *v6. */
static int
fy_listen_span(const fy_listen_t *ls, int *v6)
{
    const struct in6_addr  *a6 = &ls->addr.sin6.sin6_addr;

    if (ls->addr.sa.sa_family == AF_INET) {
        *v6 = 0;
        return ls->addr.sin.sin_addr.s_addr == htonl(INADDR_ANY) ? 2 : 1;
    }
    *v6 = IN6_IS_ADDR_UNSPECIFIED(a6) ? 2 : 1;
    /* [::] without IPV6_V6ONLY takes IPv4 clients too */
    return *v6 == 2 && ls->sock.ipv6only == 0 ? 2 : 0;
}

/* The TCP wildcard listener of `ls`'s family and port, of the same
 * kind (http or stream), or NULL. */
static fy_listen_t *
fy_listen_wildcard(fy_cycle_t *cycle, const fy_listen_t *ls)
{
    fy_listen_t  *w;
    unsigned      i;
    int           w4, w6;

    for (i = 0; i < cycle->listening.nelts; i++) {
        w = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (w == ls || w->udp
            || w->addr.sa.sa_family != ls->addr.sa.sa_family
            || w->addr.sin.sin_port != ls->addr.sin.sin_port
            || (w->stream == NULL) != (ls->stream == NULL))
        {
            continue;
        }
        w4 = fy_listen_span(w, &w6);
        if ((w->addr.sa.sa_family == AF_INET ? w4 : w6) == 2) {
            return w;
        }
    }
    return NULL;
}

int
fy_listen_check(fy_cycle_t *cycle)
{
    fy_listen_t  *a, *b;
    unsigned      i, j;
    int           a4, a6, b4, b6;

    /* As nginx: an address without "bind" (or a socket option) on a
     * port that has a wildcard listen is served by the wildcard's
     * socket. */
    for (i = 0; i < cycle->listening.nelts; i++) {
        a = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (a->udp || a->addr.sa.sa_family == AF_UNIX || a->sock.bind
            || fy_listen_span(a, &a6) == 2 || a6 == 2)
        {
            continue;
        }
        b = fy_listen_wildcard(cycle, a);
        if (b) {
            a->shared = 1;
            b->serves = 1;
        }
    }

    for (i = 0; i < cycle->listening.nelts; i++) {
        a = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (a->udp || a->addr.sa.sa_family == AF_UNIX || a->shared) {
            continue;
        }
        a4 = fy_listen_span(a, &a6);
        for (j = i + 1; j < cycle->listening.nelts; j++) {
            b = fy_array_elt(&cycle->listening, fy_listen_t, j);
            if (b->udp || b->addr.sa.sa_family == AF_UNIX || b->shared
                || b->addr.sin.sin_port != a->addr.sin.sin_port)
            {
                continue;
            }
            b4 = fy_listen_span(b, &b6);
            /* two different addresses overlap when one is all */
            if ((a4 && b4 && (a4 == 2 || b4 == 2))
                || (a6 && b6 && (a6 == 2 || b6 == 2)))
            {
                fy_log_error(FY_LOG_EMERG, 0, "listen %s in %s:%u and "
                             "listen %s in %s:%u overlap: two listening "
                             "sockets cannot share a port's addresses (an "
                             "address with \"bind\" or a socket option "
                             "needs a socket of its own)", b->text,
                             b->file, b->line, a->text, a->file, a->line);
                return FY_ERROR;
            }
        }
    }
    return FY_OK;
}

unsigned
fy_listen_local(fy_cycle_t *cycle, const fy_listen_t *ls, int fd)
{
    fy_sockaddr_t  sa;
    fy_listen_t   *s;
    socklen_t      len = sizeof(sa);
    unsigned       i;

    if (getsockname(fd, &sa.sa, &len) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "getsockname() on %s failed",
                     ls->text);
        return ls->index;
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        s = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (s->shared && s->addrlen == len
            && memcmp(&s->addr, &sa, len) == 0)
        {
            return s->index;
        }
    }
    return ls->index;
}

int
fy_listen_same(const fy_listen_t *a, const fy_listen_t *b)
{
    return a->udp == b->udp && a->addrlen == b->addrlen
           && memcmp(&a->addr, &b->addr, a->addrlen) == 0;
}

void
fy_listen_drop(fy_cycle_t *cycle, int keep_udp)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->fd != -1 && !(keep_udp && ls->udp)) {
            close(ls->fd);
            ls->fd = -1;
        }
    }
    /* a worker forked while the master still holds connections a
     * reload drained must not keep them open (the one it is handed
     * would never read EOF at the client) */
    for (i = 0; i < cycle->drained.nelts; i++) {
        close(fy_array_elt(&cycle->drained, fy_listen_drained_t, i)->fd);
    }
    cycle->drained.nelts = 0;
}

/* Undo fy_listen_open(cycle, old) after it succeeded but the reload
 * failed later: the sockets taken over go back to the old cycle, the
 * ones opened for the new cycle are closed. */
void
fy_listen_give_back(fy_cycle_t *cycle, fy_cycle_t *old)
{
    fy_listen_t  *ls, *ols;
    unsigned      i, j;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->fd == -1) {
            continue;
        }
        if (!ls->inherited) {
            fy_listen_close_one(ls);
            continue;
        }
        for (j = 0; j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (fy_listen_same(ols, ls)) {
                ols->fd = ls->fd;
                fy_listen_reconfigure(ols, ls);
                break;
            }
        }
        ls->fd = -1;
        ls->inherited = 0;
    }
    fy_listen_restart(old);
}

int
fy_listen_serving(fy_cycle_t *cycle, int fd)
{
    fy_sockaddr_t  sa;
    fy_listen_t   *s;
    socklen_t      len = sizeof(sa);
    unsigned       i;
    int            s4, s6;

    if (getsockname(fd, &sa.sa, &len) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "getsockname() failed");
        return -1;
    }
    /* taken from a [::] ipv6only=off socket: ::ffff:a.b.c.d is the
     * IPv4 address a.b.c.d for the new listeners */
    if (sa.sa.sa_family == AF_INET6
        && IN6_IS_ADDR_V4MAPPED(&sa.sin6.sin6_addr))
    {
        struct sockaddr_in  v4;

        memset(&v4, 0, sizeof(v4));
        v4.sin_family = AF_INET;
        v4.sin_port = sa.sin6.sin6_port;
        memcpy(&v4.sin_addr, &sa.sin6.sin6_addr.s6_addr[12], 4);
        memset(&sa, 0, sizeof(sa));
        memcpy(&sa.sin, &v4, sizeof(v4));
        len = sizeof(v4);
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        s = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (!s->udp && s->addrlen == len && memcmp(&s->addr, &sa, len) == 0) {
            return (int) s->index;
        }
    }
    for (i = 0; i < cycle->listening.nelts; i++) {
        s = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (s->udp || s->shared || s->addr.sa.sa_family == AF_UNIX
            || s->addr.sin.sin_port != sa.sin.sin_port)
        {
            continue;
        }
        s4 = fy_listen_span(s, &s6);
        if ((sa.sa.sa_family == AF_INET ? s4 : s6) == 2) {
            return (int) s->index;
        }
    }
    return -1;
}
