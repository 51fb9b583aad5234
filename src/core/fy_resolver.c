/*
 * fy_resolver.c -- a worker's DNS stub client (fy_resolver.h).
 *
 * A name not in the cache becomes one query: an A question (ipv4=on),
 * an AAAA question (ipv6=on), both sent at once on a fresh UDP socket
 * (a new source port each time, and random ids: a spoofed answer must
 * guess both) connected to one of the resolver's servers; an answer
 * cut short (TC) is asked again over TCP of the same server (RFC 7766),
 * as nginx does.  Requests that want the same name meanwhile wait on
 * that query.  A server that
 * does not answer within FY_RESOLVER_RESEND ms, or refuses (an ICMP
 * error), is left for the next one in turn, as nginx resends.  The
 * query lives as long as a request waits on it; each waiter has its
 * own resolver_timeout.  Answers, and names that do not exist, are
 * cached by name: for the records' least TTL, or for valid=.
 *
 * An SRV query (the upstream "service=" servers) is one SRV question,
 * otherwise the same: its answer is the records, cached apart from the
 * name's addresses; resolving their targets is the caller's.
 */
#include "fy_core.h"
#include "fy_resolver.h"
#include "fy_log.h"

#include <strings.h>
#include <arpa/inet.h>
#include <sys/random.h>
#include <sys/socket.h>

#define FY_RESOLVER_RESEND    5000  /* ms before the next server (nginx) */
#define FY_RESOLVER_NEG_TTL   10    /* s an error is kept without valid= */
#define FY_RESOLVER_TCP_MAX   (2 + 65535)   /* one message and its length */

struct fy_resolver_query_s {
    fy_resolver_t        *res;
    fy_resolver_query_t  *next;         /* res->queries */
    fy_resolver_wait_t   *waiters;
    fy_conn_t            *c;            /* the socket of this try */
    unsigned              server;       /* index of this try's server */
    unsigned              refused;      /* servers that failed in a row */
    unsigned              pending;      /* 1: A, 2: AAAA, 4: SRV not
                                           answered */
    unsigned              srv:1;        /* an SRV query */
    unsigned              done:1;       /* its waiters are being told */
    unsigned              want_tcp:1;   /* an answer came truncated */
    unsigned              tcp:1;        /* this try is over TCP */
    unsigned              tcp_sent:1;   /* ... and its questions went */
    u_char               *tbuf;         /* TCP: what arrived, malloc'ed */
    size_t                have;
    uint16_t              id[3];        /* A, AAAA, SRV */
    int                   error[3];
    uint32_t              ttl;
    unsigned              naddrs;
    fy_dns_addr_t         addrs[2 * FY_DNS_MAX_ADDRS];
    unsigned              nsrvs;
    fy_dns_srv_t          srvs[FY_DNS_MAX_SRVS];
    size_t                len;
    u_char                name[FY_DNS_NAME_MAX + 1];
};

struct fy_resolver_node_s {
    fy_resolver_node_t   *next;
    uint64_t              expires;      /* fy_current_msec */
    int                   error;
    unsigned              srv;          /* SRV records, not addresses */
    unsigned              naddrs;
    fy_dns_addr_t        *addrs;        /* after the name */
    unsigned              nsrvs;
    fy_dns_srv_t         *srvs;         /* after the addresses */
    size_t                len;
    u_char                name[];
};

/* The question of each bit of pending, in order. */
static const uint16_t  fy_resolver_qtypes[3] = {
    FY_DNS_A, FY_DNS_AAAA, FY_DNS_SRV
};

static void fy_resolver_send(fy_resolver_query_t *q);
static void fy_resolver_send_tcp(fy_resolver_query_t *q);

static void
fy_resolver_query_free(fy_resolver_query_t *q)
{
    free(q->tbuf);
    free(q);
}


const char *
fy_resolver_strerror(int error)
{
    switch (error) {
    case FY_DNS_FORMERR:  return "Format error";
    case FY_DNS_SERVFAIL: return "Server failure";
    case FY_DNS_NXDOMAIN: return "Host not found";
    case FY_DNS_NOTIMP:   return "Unimplemented";
    case FY_DNS_REFUSED:  return "Operation refused";
    case FY_DNS_TIMEDOUT: return "Operation timed out";
    default:              return "Unknown error";
    }
}

socklen_t
fy_resolver_sockaddr(const fy_dns_addr_t *a, uint16_t port, fy_sockaddr_t *sa)
{
    memset(sa, 0, sizeof(*sa));
    if (a->family == AF_INET) {
        sa->sin.sin_family = AF_INET;
        sa->sin.sin_port = htons(port);
        memcpy(&sa->sin.sin_addr, a->addr, 4);
        return sizeof(struct sockaddr_in);
    }
    sa->sin6.sin6_family = AF_INET6;
    sa->sin6.sin6_port = htons(port);
    memcpy(&sa->sin6.sin6_addr, a->addr, 16);
    return sizeof(struct sockaddr_in6);
}

static unsigned
fy_resolver_hash(const u_char *name, size_t len)
{
    uint32_t  h = 2166136261u;      /* FNV-1a over the lower-cased name */
    size_t    i;

    for (i = 0; i < len; i++) {
        h = (h ^ (uint32_t) (name[i] | 0x20)) * 16777619u;
    }
    return h % FY_RESOLVER_BUCKETS;
}

/* The cached answer for name, or NULL; expired entries of its bucket
 * are dropped on the way. */
static fy_resolver_node_t *
fy_resolver_lookup(fy_resolver_t *res, const u_char *name, size_t len,
                   unsigned srv)
{
    fy_resolver_node_t  **pp, *n;

    pp = &res->cache[fy_resolver_hash(name, len)];
    while ((n = *pp) != NULL) {
        if (n->expires <= fy_current_msec) {
            *pp = n->next;
            res->nnodes--;
            free(n);
            continue;
        }
        if (n->len == len && n->srv == srv
            && strncasecmp((char *) n->name, (char *) name, len) == 0)
        {
            return n;
        }
        pp = &n->next;
    }
    return NULL;
}

/* The cache is full: drop every expired answer (a lookup drops only
 * those of its own bucket). */
static void
fy_resolver_sweep(fy_resolver_t *res)
{
    fy_resolver_node_t  **pp, *n;
    unsigned              b;

    for (b = 0; b < FY_RESOLVER_BUCKETS; b++) {
        pp = &res->cache[b];
        while ((n = *pp) != NULL) {
            if (n->expires <= fy_current_msec) {
                *pp = n->next;
                res->nnodes--;
                free(n);
                continue;
            }
            pp = &n->next;
        }
    }
}

static void
fy_resolver_store(fy_resolver_query_t *q, int error, uint64_t ms)
{
    fy_resolver_t       *res = q->res;
    fy_resolver_node_t  *n;
    unsigned             b;

    if (ms == 0) {
        return;                     /* asked again next time */
    }
    if (res->nnodes >= FY_RESOLVER_MAX_NODES) {
        fy_resolver_sweep(res);
        if (res->nnodes >= FY_RESOLVER_MAX_NODES) {
            return;                 /* full of live answers */
        }
    }
    n = malloc(sizeof(*n) + q->len + sizeof(fy_dns_addr_t)
               + q->naddrs * sizeof(fy_dns_addr_t)
               + q->nsrvs * sizeof(fy_dns_srv_t));
    if (n == NULL) {
        return;
    }
    n->expires = fy_current_msec + ms;
    n->error = error;
    n->naddrs = q->naddrs;
    n->len = q->len;
    memcpy(n->name, q->name, q->len);
    /* the addresses after the name, aligned for fy_dns_addr_t */
    n->addrs = (fy_dns_addr_t *) (((uintptr_t) (n->name + q->len)
                                   + _Alignof(fy_dns_addr_t) - 1)
                                  & ~(uintptr_t) (_Alignof(fy_dns_addr_t)
                                                  - 1));
    memcpy(n->addrs, q->addrs, q->naddrs * sizeof(fy_dns_addr_t));
    /* fy_dns_srv_t's alignment (2) is within fy_dns_addr_t's */
    n->srv = q->srv;
    n->nsrvs = q->nsrvs;
    n->srvs = (fy_dns_srv_t *) (n->addrs + q->naddrs);
    memcpy(n->srvs, q->srvs, q->nsrvs * sizeof(fy_dns_srv_t));
    b = fy_resolver_hash(q->name, q->len);
    n->next = res->cache[b];
    res->cache[b] = n;
    res->nnodes++;
}

/* Close the query's socket and take it off the list of queries in
 * flight: no new waiter finds it, no more packets reach it. */
static void
fy_resolver_unlink(fy_resolver_query_t *q)
{
    fy_resolver_query_t  **pp;

    if (q->c) {
        fy_conn_close(q->c);
        q->c = NULL;
    }
    for (pp = &q->res->queries; *pp; pp = &(*pp)->next) {
        if (*pp == q) {
            *pp = q->next;
            break;
        }
    }
}

/* Every waiter gets the result, each its own call; a handler may
 * cancel or start other waits, so the list is taken one at a time. */
static void
fy_resolver_done(fy_resolver_query_t *q)
{
    fy_resolver_t       *res = q->res;
    fy_resolver_wait_t  *w;
    int                  error = 0;
    uint64_t             ms;

    if (q->naddrs == 0 && q->nsrvs == 0) {
        /* an error of the A question before the AAAA's; both answered
         * without an address: the name has none (nginx's "Host not
         * found" too; an SRV answer without records as well) */
        error = q->error[0] ? q->error[0]
                : q->error[1] ? q->error[1]
                : q->error[2] ? q->error[2] : FY_DNS_NXDOMAIN;
        ms = res->valid >= 0 ? (uint64_t) res->valid
             : FY_RESOLVER_NEG_TTL * 1000;
    } else {
        ms = res->valid >= 0 ? (uint64_t) res->valid
             : (uint64_t) q->ttl * 1000;
    }
    fy_resolver_store(q, error, ms);
    fy_resolver_unlink(q);
    q->done = 1;

    while ((w = q->waiters) != NULL) {
        q->waiters = w->next;
        w->query = NULL;
        fy_timer_del(&w->timer);
        w->error = error;
        w->addrs = q->addrs;
        w->naddrs = q->naddrs;
        w->srvs = q->srvs;
        w->nsrvs = q->nsrvs;
        w->expires = fy_current_msec + ms;
        w->handler(w);
    }
    fy_resolver_query_free(q);
}

/* One packet from the server: an answer to one of the query's
 * questions, or something to ignore.  Returns 1 when that ended the
 * query (q is freed). */
static int
fy_resolver_answer(fy_resolver_query_t *q, const u_char *msg, size_t n)
{
    fy_resolver_t    *res = q->res;
    fy_dns_answer_t   ans;
    unsigned          t, i;
    int               rc;

    for (t = 0; t < 3; t++) {
        if (!(q->pending & (1u << t))) {
            continue;
        }
        rc = fy_dns_parse(msg, n, q->id[t], q->name, q->len,
                          fy_resolver_qtypes[t], &ans);
        if (rc == FY_DECLINED) {
            continue;
        }
        if (rc == FY_OK && ans.truncated && !q->tcp) {
            q->want_tcp = 1;        /* the caller asks again over TCP */
            return 0;
        }
        q->pending &= ~(1u << t);
        if (rc == FY_ERROR) {
            fy_log_error(FY_LOG_ERR, 0, "invalid DNS response from %s "
                         "while resolving %.*s",
                         res->server_names[q->server], (int) q->len,
                         q->name);
            q->error[t] = FY_DNS_FORMERR;
        } else if (ans.truncated) {
            fy_log_error(FY_LOG_ERR, 0, "truncated DNS response over TCP "
                         "from %s while resolving %.*s",
                         res->server_names[q->server], (int) q->len,
                         q->name);
            q->error[t] = FY_DNS_FORMERR;
        } else if (ans.rcode) {
            q->error[t] = (int) ans.rcode;
        } else {
            for (i = 0; i < ans.naddrs
                        && q->naddrs < fy_nelems(q->addrs); i++)
            {
                q->addrs[q->naddrs++] = ans.addrs[i];
            }
            for (i = 0; i < ans.nsrvs && q->nsrvs < FY_DNS_MAX_SRVS; i++) {
                q->srvs[q->nsrvs++] = ans.srvs[i];
            }
            if (ans.naddrs || ans.nsrvs) {
                q->ttl = fy_min(q->ttl, ans.ttl);
            }
        }
        if (q->pending == 0) {
            fy_resolver_done(q);
            return 1;
        }
        return 0;
    }
    fy_log_debug("DNS response from %s for no question of %.*s ignored",
                 res->server_names[q->server], (int) q->len, q->name);
    return 0;
}

static void
fy_resolver_read(fy_event_t *rev)
{
    fy_conn_t            *c = rev->data;
    fy_resolver_query_t  *q = c->data;
    u_char                buf[4096];
    ssize_t               n;

    for ( ;; ) {
        n = recv(c->fd, buf, sizeof(buf), 0);
        if (n >= 0) {
            if (fy_resolver_answer(q, buf, (size_t) n)) {
                return;             /* done: q and c are gone */
            }
            if (q->want_tcp) {
                fy_resolver_send_tcp(q);
                return;             /* c is closed */
            }
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            rev->ready = 0;
            return;
        }
        /* ECONNREFUSED: nobody listens there (an ICMP error) */
        fy_log_error(FY_LOG_ERR, errno, "recv() failed from %s while "
                     "resolving %.*s", q->res->server_names[q->server],
                     (int) q->len, q->name);
        if (++q->refused < q->res->nservers) {
            q->server = (q->server + 1) % q->res->nservers;
            fy_resolver_send(q);
        }
        return;
    }
}

/* The write event carries the resend timer (the socket always has
 * room for two small datagrams: its writability means nothing). */
static void
fy_resolver_resend(fy_event_t *wev)
{
    fy_conn_t            *c = wev->data;
    fy_resolver_query_t  *q = c->data;

    if (!wev->timedout) {
        return;
    }
    wev->timedout = 0;
    q->server = (q->server + 1) % q->res->nservers;
    q->refused = 0;
    fy_resolver_send(q);
}

/* A new socket of type to q->server, connecting, in the loop, with
 * the resend timer on its write event; NULL when none could be made
 * (logged; if the socket is there the timer is too). */
static fy_conn_t *
fy_resolver_conn(fy_resolver_query_t *q, int type,
                 fy_event_handler_pt read, fy_event_handler_pt write)
{
    fy_resolver_t  *res = q->res;
    fy_conn_t      *c;
    int             fd;

    if (q->c) {
        fy_conn_close(q->c);
        q->c = NULL;
    }
    fd = socket(res->servers[q->server].sa.sa_family,
                type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "socket() failed while "
                     "resolving %.*s", (int) q->len, q->name);
        return NULL;                /* the waiters time out */
    }
    c = fy_conn_get(fd);
    if (c == NULL) {
        close(fd);
        fy_log_error(FY_LOG_ALERT, 0, "no free connection to resolve "
                     "%.*s", (int) q->len, q->name);
        return NULL;
    }
    c->data = q;
    q->c = c;
    c->read.handler = read;
    c->write.handler = write;
    fy_timer_add(&c->write, FY_RESOLVER_RESEND);

    if ((connect(fd, &res->servers[q->server].sa,
                 res->server_lens[q->server]) == -1 && errno != EINPROGRESS)
        || fy_conn_register(c) != FY_OK)
    {
        fy_log_error(FY_LOG_ERR, errno, "connect() to %s failed while "
                     "resolving %.*s", res->server_names[q->server],
                     (int) q->len, q->name);
        return NULL;                /* the next server at the resend */
    }
    return c;
}

/* TCP: the questions still unanswered, each after its 2-byte length,
 * into buf (size bytes); returns the bytes written. */
static size_t
fy_resolver_tcp_questions(fy_resolver_query_t *q, u_char *buf, size_t size)
{
    size_t    n = 0, len;
    unsigned  t;

    for (t = 0; t < 3; t++) {
        if (!(q->pending & (1u << t))) {
            continue;
        }
        len = fy_dns_query(buf + n + 2, size - n - 2, q->id[t], q->name,
                           q->len, fy_resolver_qtypes[t]);
        buf[n] = (u_char) (len >> 8);
        buf[n + 1] = (u_char) len;
        n += 2 + len;
    }
    return n;
}

/* Send the questions still unanswered to q->server, on a new UDP
 * socket: one datagram each. */
static void
fy_resolver_send(fy_resolver_query_t *q)
{
    fy_resolver_t  *res = q->res;
    fy_conn_t      *c;
    u_char          buf[FY_DNS_UDP_MAX];
    size_t          len;
    unsigned        t;

    q->tcp = 0;
    q->want_tcp = 0;
    c = fy_resolver_conn(q, SOCK_DGRAM, fy_resolver_read, fy_resolver_resend);
    if (c == NULL) {
        return;
    }
    for (t = 0; t < 3; t++) {
        if (!(q->pending & (1u << t))) {
            continue;
        }
        len = fy_dns_query(buf, sizeof(buf), q->id[t], q->name, q->len,
                           fy_resolver_qtypes[t]);
        if (send(c->fd, buf, len, 0) == -1) {
            fy_log_error(FY_LOG_ERR, errno, "send() to %s failed while "
                         "resolving %.*s", res->server_names[q->server],
                         (int) q->len, q->name);
            return;
        }
    }
}

/* TCP: the answers, each after its length; a closed or failed
 * connection leaves the query to the resend timer (the next server,
 * over UDP again). */
static void
fy_resolver_tcp_read(fy_event_t *rev)
{
    fy_conn_t            *c = rev->data;
    fy_resolver_query_t  *q = c->data;
    size_t                len;
    ssize_t               n;

    for ( ;; ) {
        n = recv(c->fd, q->tbuf + q->have, FY_RESOLVER_TCP_MAX - q->have,
                 0);
        if (n > 0) {
            q->have += (size_t) n;
            while (q->have >= 2) {
                len = (size_t) (q->tbuf[0] << 8 | q->tbuf[1]);
                if (q->have < 2 + len) {
                    break;
                }
                if (fy_resolver_answer(q, q->tbuf + 2, len)) {
                    return;         /* done: q and c are gone */
                }
                q->have -= 2 + len;
                memmove(q->tbuf, q->tbuf + 2 + len, q->have);
            }
            continue;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            rev->ready = 0;
            return;
        }
        fy_log_error(FY_LOG_ERR, n == 0 ? 0 : errno, "%s from %s over TCP "
                     "while resolving %.*s",
                     n == 0 ? "connection closed" : "recv() failed",
                     q->res->server_names[q->server], (int) q->len, q->name);
        fy_timer_del(&c->read);
        c->read.handler = fy_event_ignore;
        return;
    }
}

/* TCP: connected, the questions go (a few dozen bytes: one send);
 * or the resend timer. */
static void
fy_resolver_tcp_write(fy_event_t *wev)
{
    fy_conn_t            *c = wev->data;
    fy_resolver_query_t  *q = c->data;
    u_char                buf[2 * (FY_DNS_UDP_MAX + 2)];
    size_t                len;
    socklen_t             elen = sizeof(int);
    int                   err = 0;

    if (wev->timedout) {
        fy_resolver_resend(wev);
        return;
    }
    if (q->tcp_sent) {
        return;
    }
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1) {
        err = errno;
    }
    if (err == 0) {
        len = fy_resolver_tcp_questions(q, buf, sizeof(buf));
        if (send(c->fd, buf, len, MSG_NOSIGNAL) == (ssize_t) len) {
            q->tcp_sent = 1;
            return;
        }
        err = errno ? errno : EIO;
    }
    fy_log_error(FY_LOG_ERR, err, "connect() or send() to %s over TCP "
                 "failed while resolving %.*s",
                 q->res->server_names[q->server], (int) q->len, q->name);
    q->tcp_sent = 1;                /* the resend timer takes it on */
}

static void
fy_resolver_send_tcp(fy_resolver_query_t *q)
{
    q->want_tcp = 0;
    q->tcp = 1;
    q->tcp_sent = 0;
    q->have = 0;
    if (q->tbuf == NULL) {
        q->tbuf = malloc(FY_RESOLVER_TCP_MAX);
        if (q->tbuf == NULL) {
            fy_log_error(FY_LOG_ALERT, errno, "malloc() failed while "
                         "resolving %.*s", (int) q->len, q->name);
            fy_resolver_send(q);    /* UDP again, at least the timer */
            return;
        }
    }
    fy_log_debug("truncated DNS response from %s for %.*s: asking over TCP",
                 q->res->server_names[q->server], (int) q->len, q->name);
    fy_resolver_conn(q, SOCK_STREAM, fy_resolver_tcp_read,
                     fy_resolver_tcp_write);
}

static void
fy_resolver_timeout(fy_event_t *ev)
{
    fy_resolver_wait_t  *w = ev->data;

    fy_resolver_cancel(w);
    w->error = FY_DNS_TIMEDOUT;
    w->addrs = NULL;
    w->naddrs = 0;
    w->srvs = NULL;
    w->nsrvs = 0;
    w->expires = 0;
    w->handler(w);
}

void
fy_resolver_cancel(fy_resolver_wait_t *w)
{
    fy_resolver_query_t  *q = w->query;
    fy_resolver_wait_t  **pp;

    if (q == NULL) {
        return;
    }
    fy_timer_del(&w->timer);
    for (pp = &q->waiters; *pp; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    w->query = NULL;
    if (q->waiters == NULL && !q->done) {
        fy_resolver_unlink(q);      /* nobody wants the answer now */
        fy_resolver_query_free(q);
    }
}

/* fy_resolver_resolve(), or with srv its SRV records */
static int
fy_resolver_start(fy_resolver_t *res, const u_char *name, size_t len,
                  unsigned srv, int64_t timeout, fy_resolver_wait_t *w)
{
    fy_resolver_node_t   *n;
    fy_resolver_query_t  *q;
    u_char                probe[FY_DNS_UDP_MAX];
    uint32_t              rnd;

    w->query = NULL;
    w->timer.timer_index = -1;
    n = fy_resolver_lookup(res, name, len, srv);
    if (n) {
        w->error = n->error;
        w->addrs = n->addrs;
        w->naddrs = n->naddrs;
        w->srvs = n->srvs;
        w->nsrvs = n->nsrvs;
        w->expires = n->expires;
        return FY_OK;
    }

    for (q = res->queries; q; q = q->next) {
        if (q->len == len && q->srv == srv
            && strncasecmp((char *) q->name, (char *) name, len) == 0)
        {
            break;
        }
    }
    if (q == NULL) {
        if (fy_dns_query(probe, sizeof(probe), 0, name, len, FY_DNS_A)
            == 0)
        {
            /* not a name DNS can carry: nothing to ask */
            w->error = FY_DNS_FORMERR;
            w->addrs = NULL;
            w->naddrs = 0;
            w->srvs = NULL;
            w->nsrvs = 0;
            w->expires = 0;
            return FY_OK;
        }
        q = calloc(1, sizeof(*q));
        if (q == NULL) {
            fy_log_error(FY_LOG_ALERT, errno, "calloc() failed while "
                         "resolving %.*s", (int) len, name);
            return FY_ERROR;
        }
        q->res = res;
        q->len = len;
        memcpy(q->name, name, len);
        q->ttl = UINT32_MAX;
        q->srv = srv;
        q->pending = srv ? 4u
                     : (res->ipv4 ? 1u : 0) | (res->ipv6 ? 2u : 0);
        if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd)) {
            rnd = (uint32_t) (fy_current_msec * 2654435761u)
                  ^ (uint32_t) (uintptr_t) q;
        }
        q->id[0] = (uint16_t) rnd;
        q->id[1] = (uint16_t) ((rnd >> 16) ^ 0x8000);
        if (q->id[1] == q->id[0]) {
            q->id[1]++;
        }
        q->id[2] = q->id[0];        /* asked alone */
        q->server = res->next++ % res->nservers;   /* in turn, as nginx */
        q->next = res->queries;
        res->queries = q;
        fy_resolver_send(q);
    }
    w->next = q->waiters;
    q->waiters = w;
    w->query = q;
    w->timer.data = w;
    w->timer.handler = fy_resolver_timeout;
    fy_timer_add(&w->timer, (uint64_t) timeout);
    return FY_AGAIN;
}

int
fy_resolver_resolve(fy_resolver_t *res, const u_char *name, size_t len,
                    int64_t timeout, fy_resolver_wait_t *w)
{
    return fy_resolver_start(res, name, len, 0, timeout, w);
}

int
fy_resolver_resolve_srv(fy_resolver_t *res, const u_char *name, size_t len,
                        int64_t timeout, fy_resolver_wait_t *w)
{
    return fy_resolver_start(res, name, len, 1, timeout, w);
}

void
fy_resolver_free_cache(void *data)
{
    fy_resolver_t       *res = data;
    fy_resolver_node_t  *n;
    unsigned             b;

    for (b = 0; b < FY_RESOLVER_BUCKETS; b++) {
        while ((n = res->cache[b]) != NULL) {
            res->cache[b] = n->next;
            free(n);
        }
    }
    res->nnodes = 0;
}
