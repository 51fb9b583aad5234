/*
 * fy_listen.c -- listening sockets.
 */
#include "fy_core.h"
#include "fy_listen.h"

#include <netinet/in.h>

static int
fy_listen_open_one(fy_listen_t *ls)
{
    int  fd, on = 1;

    fd = socket(ls->addr.sin6_family,
                SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "socket() %s failed", ls->text);
        return FY_ERROR;
    }
    /* Restarting ferry must not wait for old connections' TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(SO_REUSEADDR) %s "
                     "failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    if (ls->addr.sin6_family == AF_INET6
        && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on)) == -1)
    {
        fy_log_error(FY_LOG_EMERG, errno, "setsockopt(IPV6_V6ONLY) %s "
                     "failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    if (bind(fd, (struct sockaddr *) &ls->addr, ls->addrlen) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "bind() to %s failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    if (listen(fd, ls->backlog) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "listen() to %s failed", ls->text);
        close(fd);
        return FY_ERROR;
    }
    ls->fd = fd;
    return FY_OK;
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
            if (ols->fd != -1 && ols->addrlen == ls->addrlen
                && memcmp(&ols->addr, &ls->addr, ls->addrlen) == 0)
            {
                ls->fd = ols->fd;
                ls->inherited = 1;
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
            close(ls->fd);
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
            close(ls->fd);
            ls->fd = -1;
            continue;
        }
        for (j = 0; j < old->listening.nelts; j++) {
            ols = fy_array_elt(&old->listening, fy_listen_t, j);
            if (ols->addrlen == ls->addrlen
                && memcmp(&ols->addr, &ls->addr, ls->addrlen) == 0)
            {
                ols->fd = ls->fd;
                break;
            }
        }
        ls->fd = -1;
        ls->inherited = 0;
    }
}
