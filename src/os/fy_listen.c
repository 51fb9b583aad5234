/*
 * fy_listen.c -- listening sockets.
 */
#include "fy_core.h"
#include "fy_listen.h"

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

static int
fy_listen_open_one(fy_listen_t *ls)
{
    int  fd, on = 1, defer = FY_LISTEN_DEFER_SECS;
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
    if (family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(IPV6_V6ONLY) %s "
                     "failed", ls->text);
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
        fy_log_error(FY_LOG_EMERG, errno, "bind() to %s failed", ls->text);
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
    if (ls->udp) {
        return FY_OK;       /* a datagram socket is ready once bound */
    }
    /* Before listen(), so no connection is queued without it (nginx
     * sets it just after; the kernel takes it either way). */
    if (ls->deferred
        && setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &defer,
                      sizeof(defer)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(TCP_DEFER_ACCEPT, %d) "
                     "%s failed", defer, ls->text);
        fy_listen_close_one(ls);
        return FY_ERROR;
    }
    if (listen(fd, ls->backlog) == -1) {
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
    int  secs;

    /* listen() again on a listening socket only changes the queue's
     * length (nginx) */
    if (to->backlog != from->backlog && listen(to->fd, to->backlog) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "listen() to %s with backlog %d "
                     "failed", to->text, to->backlog);
    }
    /* 0 turns deferring off again (nginx's delete_deferred) */
    if (to->deferred != from->deferred) {
        secs = to->deferred ? FY_LISTEN_DEFER_SECS : 0;
        if (setsockopt(to->fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
                       sizeof(secs)) == -1)
        {
            fy_log_error(FY_LOG_ALERT, errno, "setsockopt(TCP_DEFER_ACCEPT, "
                         "%d) %s failed", secs, to->text);
        }
    }
}

int
fy_listen_open(fy_cycle_t *cycle, fy_cycle_t *old)
{
    fy_listen_t  *ls, *ols;
    unsigned      i, j;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);

        for (j = 0; old && j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (ols->fd != -1 && fy_listen_same(ols, ls)) {
                ls->fd = ols->fd;
                ls->inherited = 1;
                /* new backlog= or deferred apply to the socket kept */
                fy_listen_reconfigure(ls, ols);
                break;
            }
        }
        if (ls->fd != -1) {
            continue;
        }
        if (fy_listen_open_one(ls) != FY_OK) {
            goto failed;
        }
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
}
