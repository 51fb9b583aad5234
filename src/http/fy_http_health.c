/*
 * fy_http_health.c -- active health checks: the health_check directive
 * and the checker process.
 *
 * One checker serves the whole proxy (not one per worker, which would
 * multiply the probes by the worker count): a small process the master
 * forks and restarts, with its own epoll loop.  Every interval it
 * connects to each server of each upstream that has health_check,
 * sends "GET uri HTTP/1.0" and reads the status line.  The verdict goes
 * to the server's slot in shared memory (check_down, check_ms,
 * check_ok, check_code), which every worker reads when it picks a
 * server:
 *
 *   fails consecutive failed checks   -> down   ([warn], with the reason)
 *   passes consecutive passed checks  -> up     ([notice]); with
 *                                        slow_start it ramps up from here
 *
 * A check fails on a connect error (refused...), on no status line
 * within timeout, or on a status outside status=.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_signal.h"

#include <sys/prctl.h>
#include <netinet/in.h>

struct fy_http_health_s {
    fy_str_t   uri;
    int64_t    interval;          /* ms */
    int64_t    timeout;           /* ms, for the whole check */
    unsigned   fails;
    unsigned   passes;
    unsigned   status_lo;
    unsigned   status_hi;
    unsigned   port;              /* 0: the server's own */
};

/* One server being checked (checker process only). */
typedef struct {
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_http_health_t         *hc;
    fy_conn_t                *c;          /* the check in progress */
    fy_event_t                next;       /* interval timer */
    char                      req[512];
    size_t                    req_len, sent;
    char                      resp[256];
    size_t                    resp_len;
} fy_health_probe_t;

static int  fy_health_quit;


/* ---- configuration ---- */

static int64_t
fy_health_num(const fy_str_t *v, int64_t min, int64_t max)
{
    int64_t  n = fy_atoi(v->data, v->len);

    return n < min || n > max ? -1 : n;
}

const char *
fy_http_health_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_upstream_t  *u = conf;
    fy_http_health_t    *hc;
    fy_str_t            *a, v;
    u_char              *dash;
    int64_t              lo, hi, n;
    unsigned             i;

    fy_unused(cmd);

    if (u->health) {
        return "is duplicate";
    }
    hc = fy_pcalloc(cf->pool, sizeof(fy_http_health_t));
    if (hc == NULL) {
        return "cannot allocate memory";
    }
    fy_str_set(&hc->uri, "/");
    hc->interval = 2000;
    hc->timeout = 1000;
    hc->fails = 3;
    hc->passes = 2;
    hc->status_lo = 200;
    hc->status_hi = 399;

    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        v.data = memchr(a->data, '=', a->len);
        if (v.data == NULL) {
            goto invalid;
        }
        v.data++;
        v.len = a->len - (size_t) (v.data - a->data);

#define fy_is(name)  ((size_t) (v.data - a->data) == sizeof(name)         \
                      && memcmp(a->data, name "=", sizeof(name)) == 0)

        if (fy_is("uri")) {
            if (v.len == 0 || v.data[0] != '/') {
                goto invalid;
            }
            hc->uri = v;
        } else if (fy_is("interval")) {
            hc->interval = fy_conf_parse_msec(&v);
            if (hc->interval <= 0) {
                goto invalid;
            }
        } else if (fy_is("timeout")) {
            hc->timeout = fy_conf_parse_msec(&v);
            if (hc->timeout <= 0) {
                goto invalid;
            }
        } else if (fy_is("fails")) {
            if ((n = fy_health_num(&v, 1, 1000)) == -1) {
                goto invalid;
            }
            hc->fails = (unsigned) n;
        } else if (fy_is("passes")) {
            if ((n = fy_health_num(&v, 1, 1000)) == -1) {
                goto invalid;
            }
            hc->passes = (unsigned) n;
        } else if (fy_is("port")) {
            if ((n = fy_health_num(&v, 1, 65535)) == -1) {
                goto invalid;
            }
            hc->port = (unsigned) n;
        } else if (fy_is("status")) {
            dash = memchr(v.data, '-', v.len);
            if (dash) {
                lo = fy_atoi(v.data, (size_t) (dash - v.data));
                hi = fy_atoi(dash + 1, v.len - (size_t) (dash - v.data) - 1);
            } else {
                lo = hi = fy_atoi(v.data, v.len);
            }
            if (lo < 100 || hi > 599 || lo > hi) {
                goto invalid;
            }
            hc->status_lo = (unsigned) lo;
            hc->status_hi = (unsigned) hi;
        } else {
            goto invalid;
        }
#undef fy_is
    }
    u->health = hc;
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid parameter \"%s\"", a->data);
    return FY_CONF_ERROR;
}


/* ---- the checker ---- */

static void fy_health_start(fy_event_t *ev);

static void
fy_health_result(fy_health_probe_t *pr, int ok, unsigned code,
                 const char *why)
{
    fy_shm_peer_t     *sp = &fy_shm->peers[pr->peer->shm];
    fy_http_health_t  *hc = pr->hc;
    uint64_t           n;

    if (pr->c) {
        fy_conn_close(pr->c);
        pr->c = NULL;
    }
    fy_shm_set(sp->check_ms, fy_wall_msec);
    fy_shm_set(sp->check_ok, (uint64_t) ok);
    fy_shm_set(sp->check_code, code);

    if (ok) {
        fy_shm_set(sp->check_fails, 0);
        n = fy_shm_add(sp->check_passes, 1) + 1;
        if (fy_shm_get(sp->check_down) && n >= hc->passes) {
            fy_shm_set(sp->up_since_ms, fy_wall_msec);
            fy_shm_set(sp->check_down, 0);
            fy_shm_set(sp->state, pr->peer->down ? FY_PEER_DOWN
                                  : pr->peer->backup ? FY_PEER_BACKUP
                                  : FY_PEER_UP);
            fy_log_error(FY_LOG_NOTICE, 0, "upstream server %.*s in upstream "
                         "\"%.*s\" is up: %llu checks passed (status %u)",
                         (int) pr->peer->name.len, pr->peer->name.data,
                         (int) pr->u->name.len, pr->u->name.data,
                         (unsigned long long) n, code);
        }
    } else {
        fy_shm_set(sp->check_passes, 0);
        n = fy_shm_add(sp->check_fails, 1) + 1;
        fy_log_error(FY_LOG_INFO, 0, "health check of %.*s in upstream "
                     "\"%.*s\" failed: %s", (int) pr->peer->name.len,
                     pr->peer->name.data, (int) pr->u->name.len,
                     pr->u->name.data, why);
        if (!fy_shm_get(sp->check_down) && n >= hc->fails) {
            fy_shm_set(sp->check_down, 1);
            fy_shm_set(sp->state, FY_PEER_DOWN);
            fy_log_error(FY_LOG_WARN, 0, "upstream server %.*s in upstream "
                         "\"%.*s\" is down: %llu checks failed, last: %s",
                         (int) pr->peer->name.len, pr->peer->name.data,
                         (int) pr->u->name.len, pr->u->name.data,
                         (unsigned long long) n, why);
        }
    }
}

static void
fy_health_read(fy_event_t *rev)
{
    fy_conn_t          *c = rev->data;
    fy_health_probe_t  *pr = c->data;
    char                why[64];
    char               *eol;
    unsigned            code;
    ssize_t             n;

    if (rev->timedout) {
        fy_health_result(pr, 0, 0, "timed out");
        return;
    }

    for ( ;; ) {
        eol = memchr(pr->resp, '\n', pr->resp_len);
        if (eol || pr->resp_len == sizeof(pr->resp) - 1) {
            break;
        }
        n = recv(c->fd, pr->resp + pr->resp_len,
                 sizeof(pr->resp) - 1 - pr->resp_len, 0);
        if (n > 0) {
            pr->resp_len += (size_t) n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        snprintf(why, sizeof(why), "%s", n == 0 ? "closed before a status "
                 "line" : strerror(errno));
        fy_health_result(pr, 0, 0, why);
        return;
    }

    /* "HTTP/1.x DDD ..." */
    pr->resp[pr->resp_len] = '\0';
    if (strncmp(pr->resp, "HTTP/1.", 7) != 0 || pr->resp_len < 12
        || pr->resp[8] != ' ' || sscanf(pr->resp + 9, "%3u", &code) != 1)
    {
        fy_health_result(pr, 0, 0, "invalid status line");
        return;
    }
    if (code < pr->hc->status_lo || code > pr->hc->status_hi) {
        snprintf(why, sizeof(why), "status %u", code);
        fy_health_result(pr, 0, code, why);
        return;
    }
    fy_health_result(pr, 1, code, NULL);
}

static void
fy_health_write(fy_event_t *wev)
{
    fy_conn_t          *c = wev->data;
    fy_health_probe_t  *pr = c->data;
    int                 err = 0;
    socklen_t           len = sizeof(err);
    ssize_t             n;

    if (pr->sent == 0) {
        if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
            err = errno;
        }
        if (err) {
            fy_health_result(pr, 0, 0, strerror(err));
            return;
        }
    }
    while (pr->sent < pr->req_len) {
        n = send(c->fd, pr->req + pr->sent, pr->req_len - pr->sent,
                 MSG_NOSIGNAL);
        if (n > 0) {
            pr->sent += (size_t) n;
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
            return;
        }
        fy_health_result(pr, 0, 0, strerror(errno));
        return;
    }
    c->write.handler = fy_event_ignore;
    fy_health_read(&c->read);
}

/* The interval timer: start one check (a check still running from the
 * last interval counts as timed out; timeout > interval is allowed). */
static void
fy_health_start(fy_event_t *ev)
{
    fy_health_probe_t   *pr = ev->data;
    fy_sockaddr_t        sa = pr->peer->addr;
    fy_conn_t           *c;
    int                  fd;

    fy_timer_add(&pr->next, (uint64_t) pr->hc->interval);
    if (fy_health_quit) {
        return;
    }
    if (pr->c) {
        fy_health_result(pr, 0, 0, "timed out");
    }
    if (pr->hc->port && sa.sa.sa_family != AF_UNIX) {
        /* sin_port and sin6_port sit at the same offset */
        sa.sin6.sin6_port = htons((uint16_t) pr->hc->port);
    }

    fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                0);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "socket() failed for a health "
                     "check");
        return;
    }
    c = fy_conn_get(fd);
    if (c == NULL) {
        close(fd);
        fy_log_error(FY_LOG_ALERT, 0, "no free connection for a health check");
        return;
    }
    c->data = pr;
    pr->c = c;
    pr->sent = 0;
    pr->resp_len = 0;

    if (connect(fd, &sa.sa, pr->peer->addrlen) == -1
        && errno != EINPROGRESS)
    {
        fy_health_result(pr, 0, 0, strerror(errno));
        return;
    }
    if (fy_conn_register(c) != FY_OK) {
        fy_health_result(pr, 0, 0, "epoll registration failed");
        return;
    }
    c->read.handler = fy_health_read;
    c->write.handler = fy_health_write;
    fy_timer_add(&c->read, (uint64_t) pr->hc->timeout);
}

static void
fy_health_signal(fy_event_t *ev)
{
    int  signo;

    fy_unused(ev);
    while ((signo = fy_signal_read()) > 0) {
        if (signo == SIGTERM || signo == SIGINT || signo == SIGQUIT) {
            fy_health_quit = 1;
        } else if (signo == SIGUSR1) {
            fy_log_reopen(&fy_log);
        }
    }
}

int
fy_http_health_wanted(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_upstream_t   *u;
    unsigned              i;

    for (i = 0; hmcf && i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        if (u->health) {
            return 1;
        }
    }
    return 0;
}

void
fy_http_health_run(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_upstream_t   *u;
    fy_health_probe_t    *pr;
    fy_event_t            sig_ev;
    unsigned              i, j, n = 0;

    /* the master's death ends us too: nobody would restart or stop us */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1) {
        exit(0);
    }

    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        n += u->health ? u->peers.nelts : 0;
    }

    if (fy_event_init(n + 1) != FY_OK || fy_signal_open() != FY_OK) {
        exit(2);
    }
    memset(&sig_ev, 0, sizeof(sig_ev));
    sig_ev.handler = fy_health_signal;
    sig_ev.timer_index = -1;
    if (fy_event_add_fd(fy_signal_fd(), &sig_ev) != FY_OK) {
        exit(2);
    }
    fy_log_error(FY_LOG_NOTICE, 0, "health checker started: %u servers", n);

    pr = fy_pcalloc(cycle->pool, n * sizeof(fy_health_probe_t));
    if (pr == NULL) {
        exit(2);
    }
    n = 0;
    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        for (j = 0; u->health && j < u->peers.nelts; j++, n++) {
            pr[n].u = u;
            pr[n].peer = fy_array_elt(&u->peers, fy_http_upstream_peer_t, j);
            pr[n].hc = u->health;
            pr[n].next.data = &pr[n];
            pr[n].next.handler = fy_health_start;
            pr[n].next.timer_index = -1;
            pr[n].req_len = (size_t) snprintf(pr[n].req, sizeof(pr[n].req),
                "GET %.*s HTTP/1.0\r\nHost: %.*s\r\n"
                "User-Agent: ferry-health-check\r\n\r\n",
                (int) fy_min(u->health->uri.len, 300), u->health->uri.data,
                (int) fy_min(pr[n].peer->name.len, 100),
                pr[n].peer->name.data);
            fy_health_start(&pr[n].next);
        }
    }

    while (!fy_health_quit) {
        fy_event_process(-1);
    }

    for (i = 0; i < n; i++) {
        if (pr[i].c) {
            fy_conn_close(pr[i].c);
        }
    }
    fy_log_error(FY_LOG_NOTICE, 0, "health checker exit");
    exit(0);
}
