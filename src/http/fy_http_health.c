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
 *
 * With "ssl" the probe speaks TLS (HAProxy's check-ssl): the client
 * context is built by the master at load (fy_http_health_init_cycle,
 * with the upstream TLS code of fy_tls_upstream.c, so a bad trusted=
 * file is a configuration error), the handshake runs non-blocking on the
 * checker's loop within the same timeout, and a failed one fails the
 * check with its reason.  certificate= and certificate_key= give the
 * probe a client certificate, for a server that requires one.  Without
 * "ssl" (and port=), an upstream that the configuration reaches only
 * with proxy_pass https:// gets a [warn] at load: its plain probes
 * would mark every server down.
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
    unsigned   ssl:1;             /* probe over TLS */
    unsigned   verify:1;          /* verify=on */
    unsigned   tls_uses:1;        /* some proxy_pass https:// names u */
    unsigned   plain_uses:1;      /* some other pass names u */
    fy_str_t   sni;               /* sni=, empty: no SNI */
    char      *trusted;           /* trusted=, made absolute, or NULL */
    char      *cert;              /* certificate=, certificate_key=: the */
    char      *key;               /* client's, made absolute, or NULL */
    const char *file;             /* where health_check was written */
    unsigned   line;
    fy_tls_up_conf_t  tls;        /* context, built at load with ssl */
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
    char                      name[256];  /* for SNI and verification */
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
    char                *file;
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
    hc->file = cf->file ? cf->file->name : "command line";
    hc->line = cf->line;

    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len == 3 && memcmp(a->data, "ssl", 3) == 0) {
            hc->ssl = 1;
            continue;
        }
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
        } else if (fy_is("sni")) {
            /* a host name: no room for an address or a port in SNI */
            if (v.len == 0 || v.len > 253 || memchr(v.data, ':', v.len)
                || memchr(v.data, '/', v.len))
            {
                goto invalid;
            }
            hc->sni = v;
        } else if (fy_is("verify")) {
            if (v.len == 2 && memcmp(v.data, "on", 2) == 0) {
                hc->verify = 1;
            } else if (v.len == 3 && memcmp(v.data, "off", 3) == 0) {
                hc->verify = 0;
            } else {
                goto invalid;
            }
        } else if (fy_is("trusted")) {
            if (v.len == 0) {
                goto invalid;
            }
            hc->trusted = fy_conf_full_name(cf, cf->conf_dir, &v);
            if (hc->trusted == NULL) {
                return "cannot allocate memory";
            }
        } else if (fy_is("certificate") || fy_is("certificate_key")) {
            /* a client certificate, for a server that asks for one
             * (nginx's ssl_verify_client on) */
            if (v.len == 0) {
                goto invalid;
            }
            file = fy_conf_full_name(cf, cf->conf_dir, &v);
            if (file == NULL) {
                return "cannot allocate memory";
            }
            if (fy_is("certificate")) {
                hc->cert = file;
            } else {
                hc->key = file;
            }
        } else {
            goto invalid;
        }
#undef fy_is
    }
    if (!hc->ssl && (hc->sni.len || hc->verify || hc->trusted || hc->cert
                     || hc->key))
    {
        fy_conf_error(cf, "\"%s\" parameters need \"ssl\"",
                      hc->sni.len ? "sni=" : hc->verify ? "verify="
                      : hc->trusted ? "trusted=" : hc->cert ? "certificate="
                      : "certificate_key=");
        return FY_CONF_ERROR;
    }
    if (hc->verify && hc->trusted == NULL) {
        fy_conf_error(cf, "\"verify=on\" needs \"trusted=\"");
        return FY_CONF_ERROR;
    }
    if ((hc->cert == NULL) != (hc->key == NULL)) {
        fy_conf_error(cf, hc->cert ? "\"certificate=\" needs "
                                     "\"certificate_key=\""
                                   : "\"certificate_key=\" needs "
                                     "\"certificate=\"");
        return FY_CONF_ERROR;
    }
    u->health = hc;
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid parameter \"%s\"", a->data);
    return FY_CONF_ERROR;
}


/* ---- the checker ---- */

static void fy_health_start(fy_event_t *ev);
static void fy_health_handshake(fy_event_t *ev);

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
        n = fy_conn_recv(c, (u_char *) pr->resp + pr->resp_len,
                         sizeof(pr->resp) - 1 - pr->resp_len);
        if (n > 0) {
            pr->resp_len += (size_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
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
    ssize_t             n;

    while (pr->sent < pr->req_len) {
        n = fy_conn_send(c, (u_char *) pr->req + pr->sent,
                         pr->req_len - pr->sent);
        if (n > 0) {
            pr->sent += (size_t) n;
            continue;
        }
        if (n == FY_AGAIN) {
            return;
        }
        fy_health_result(pr, 0, 0, strerror(errno));
        return;
    }
    if (c->ssl == NULL) {
        /* over TLS a read may have to wait for writability: then this
         * handler, its request sent, goes on reading */
        c->write.handler = fy_event_ignore;
    }
    fy_health_read(&c->read);
}

/* Both directions' handler while the TLS handshake runs; the timer of
 * the whole check stays on c->read. */
static void
fy_health_handshake(fy_event_t *ev)
{
    fy_conn_t          *c = ev->data;
    fy_health_probe_t  *pr = c->data;
    char                err[200], why[240];

    if (c->read.timedout) {
        fy_health_result(pr, 0, 0, "timed out in SSL handshake");
        return;
    }
    switch (fy_tls_up_handshake(c, err, sizeof(err))) {
    case FY_AGAIN:
        return;
    case FY_OK:
        c->read.handler = fy_health_read;
        c->write.handler = fy_health_write;
        fy_health_write(&c->write);
        return;
    default:
        snprintf(why, sizeof(why), "SSL handshake failed: %s", err);
        fy_health_result(pr, 0, 0, why);
    }
}

/* The read side while connecting: only the timeout matters (an error
 * shows on the write side too, where fy_health_connected reads it). */
static void
fy_health_connecting(fy_event_t *rev)
{
    fy_conn_t  *c = rev->data;

    if (rev->timedout) {
        fy_health_result(c->data, 0, 0, "timed out");
    }
}

/* The connect finished: start TLS with "ssl", else send the request. */
static void
fy_health_connected(fy_event_t *wev)
{
    fy_conn_t          *c = wev->data;
    fy_health_probe_t  *pr = c->data;
    int                 err = 0;
    socklen_t           len = sizeof(err);

    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1) {
        err = errno;
    }
    if (err) {
        fy_health_result(pr, 0, 0, strerror(err));
        return;
    }
    if (!pr->hc->ssl) {
        c->read.handler = fy_health_read;
        c->write.handler = fy_health_write;
        fy_health_write(wev);
        return;
    }
    if (fy_tls_up_conn_create(c, &pr->hc->tls, pr->name, NULL) != FY_OK) {
        fy_health_result(pr, 0, 0, "cannot start SSL");
        return;
    }
    c->read.handler = fy_health_handshake;
    c->write.handler = fy_health_handshake;
    fy_health_handshake(wev);
}

/* The interval timer: start one check (a check still running from the
 * last interval counts as timed out; timeout > interval is allowed). */
static void
fy_health_start(fy_event_t *ev)
{
    fy_health_probe_t   *pr = ev->data;
    fy_shm_lock_t       *lock = &fy_http_up_shared(pr->u)->lock;
    fy_sockaddr_t        sa;
    fy_conn_t           *c;
    int                  fd;

    fy_timer_add(&pr->next, (uint64_t) pr->hc->interval);
    if (fy_health_quit) {
        return;
    }
    if (pr->u->resolves) {
        /* "resolve" servers: the addresses the workers found */
        fy_shm_lock(lock);
        if (fy_shm_get(fy_http_up_shared(pr->u)->resolve_gen)
            != pr->u->resolve_gen)
        {
            fy_http_upstream_resolve_sync(pr->u);
        }
        fy_shm_unlock(lock);
        if (pr->peer->absent) {
            if (pr->c) {
                fy_conn_close(pr->c);
                pr->c = NULL;
            }
            return;
        }
    }
    sa = pr->peer->addr;
    if (pr->c) {
        fy_health_result(pr, 0, 0, pr->c->read.handler == fy_health_handshake
                                   ? "timed out in SSL handshake"
                                   : "timed out");
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
    c->read.handler = fy_health_connecting;
    c->write.handler = fy_health_connected;
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

/* The name a TLS probe is made for: sni= (sent as SNI), else the host
 * of the server's address as written, "localhost" for a unix-domain
 * socket (not sent, as nginx sends none by default; verify=on checks
 * the certificate against it). */
static void
fy_health_name(fy_health_probe_t *pr)
{
    const u_char  *d = pr->peer->name.data, *e, *colon;
    size_t         len = pr->peer->name.len;

    if (pr->hc->sni.len) {
        d = pr->hc->sni.data;
        len = pr->hc->sni.len;
    } else if (pr->peer->addr.sa.sa_family == AF_UNIX) {
        /* what proxy_pass sends as Host to a unix-domain upstream */
        d = (const u_char *) "localhost";
        len = 9;
    } else if (len && d[0] == '[') {
        /* [v6]:port */
        e = memchr(d, ']', len);
        len = e ? (size_t) (e - d - 1) : len - 1;
        d++;
    } else {
        /* host:port; a bare IPv6 address has more than one ':' */
        colon = memrchr(d, ':', len);
        if (colon && memchr(d, ':', (size_t) (colon - d)) == NULL) {
            len = (size_t) (colon - d);
        }
    }
    snprintf(pr->name, sizeof(pr->name), "%.*s",
             (int) fy_min(len, sizeof(pr->name) - 1), d);
}

/* Every upstream that a location reaches (proxy_pass and its twins)
 * is marked: by proxy_pass https:// (or uwsgi_pass suwsgi://), or by
 * something speaking plain. */
static void
fy_health_mark(fy_array_t *list)
{
    fy_http_loc_conf_t  *lcf;
    fy_http_health_t    *hc;
    unsigned             i;

    for (i = 0; list && i < list->nelts; i++) {
        lcf = *fy_array_elt(list, fy_http_loc_conf_t *, i);
        hc = lcf->upstream ? lcf->upstream->health : NULL;
        if (hc) {
            if (lcf->proxy_https) {
                hc->tls_uses = 1;
            } else {
                hc->plain_uses = 1;
            }
        }
        fy_health_mark(lcf->locations);
        fy_health_mark(lcf->regex_locations);
        fy_health_mark(lcf->ifs);
    }
}

int
fy_http_health_init_cycle(fy_cycle_t *cycle)
{
    fy_http_main_conf_t  *hmcf = cycle->http;
    fy_http_srv_conf_t   *scf;
    fy_http_upstream_t   *u;
    fy_http_health_t     *hc;
    char                  what[160];
    unsigned              i;

    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        fy_health_mark(&scf->locations);
        fy_health_mark(&scf->regex_locations);
    }
    for (i = 0; i < hmcf->upstreams.nelts; i++) {
        u = *fy_array_elt(&hmcf->upstreams, fy_http_upstream_t *, i);
        hc = u->health;
        if (hc == NULL) {
            continue;
        }
        if (!hc->ssl) {
            /* with port= the check may well go to a plain port */
            if (hc->tls_uses && !hc->plain_uses && hc->port == 0) {
                fy_log_error(FY_LOG_WARN, 0, "health_check of upstream "
                             "\"%.*s\" probes in plain HTTP, but it is "
                             "proxied to with https:// only; add \"ssl\" "
                             "in %s:%u", (int) u->name.len, u->name.data,
                             hc->file, hc->line);
            }
            continue;
        }
        /* nginx's proxy_ssl_* defaults, but no sessions: a probe
         * should see what a fresh connection sees */
        fy_tls_up_conf_init(&hc->tls);
        hc->tls.verify = hc->verify;
        hc->tls.server_name = hc->sni.len != 0;
        hc->tls.session_reuse = 0;
        hc->tls.trusted.value = hc->trusted;
        hc->tls.trusted.file = hc->file;
        hc->tls.trusted.line = hc->line;
        /* loaded and checked to match as proxy_ssl_certificate's: a
         * key of another certificate is a load error */
        hc->tls.cert.value = hc->cert;
        hc->tls.cert.file = hc->file;
        hc->tls.cert.line = hc->line;
        hc->tls.key.value = hc->key;
        hc->tls.key.file = hc->file;
        hc->tls.key.line = hc->line;
        hc->tls.verify_file = hc->file;
        hc->tls.verify_line = hc->line;
        hc->tls.prefix = "health_check";
        fy_tls_up_conf_merge(NULL, &hc->tls);
        snprintf(what, sizeof(what), "health_check ssl of upstream \"%.*s\"",
                 (int) fy_min(u->name.len, 100), u->name.data);
        if (fy_tls_up_ctx_create(cycle->pool, &hc->tls, what) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
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
    int                   unix_sock;

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
            /* Host: the server as written; "localhost" for a unix-domain
             * socket (as proxy_pass sends), "unix:/path" being no host */
            unix_sock = pr[n].peer->addr.sa.sa_family == AF_UNIX;
            pr[n].req_len = (size_t) snprintf(pr[n].req, sizeof(pr[n].req),
                "GET %.*s HTTP/1.0\r\nHost: %.*s\r\n"
                "User-Agent: ferry-health-check\r\n\r\n",
                (int) fy_min(u->health->uri.len, 300), u->health->uri.data,
                unix_sock ? 9 : (int) fy_min(pr[n].peer->name.len, 100),
                unix_sock ? (u_char *) "localhost" : pr[n].peer->name.data);
            fy_health_name(&pr[n]);
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
