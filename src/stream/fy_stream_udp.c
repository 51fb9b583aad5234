/*
 * fy_stream_udp.c -- "listen ADDR:PORT udp": stream sessions made of
 * datagrams, as nginx's stream proxy does them.
 *
 * UDP has no accept, so nothing goes through the master: it opens the
 * socket (fy_listen.c) and keeps it across reloads like a TCP one, and
 * every worker it forks keeps a copy and reads it here (level-
 * triggered, like the channel).  The kernel gives each datagram to one
 * of the readers.
 *
 * A session is keyed by the client's address and port (and the
 * listener), in a table of this worker's: the first datagram from a
 * new client makes one (limit_conn, allow/deny, the balancer's pick),
 * with a connected UDP socket to the server picked; the client's
 * datagrams go out on it, and what the server sends back goes to the
 * client from the listening socket.  Since every worker reads the
 * socket, two datagrams of one client may reach two workers, and then
 * make two sessions (each with its own pick and its own log line) --
 * a protocol of independent request datagrams (DNS, syslog, RADIUS)
 * does not mind; see docs/architecture.md.
 *
 * The end (nginx's rules):
 *   proxy_requests R (0: no limit): after R datagrams the client's
 *     next one makes a new session; this one waits for its answers;
 *   proxy_responses N (unset: no limit): with N answers per client
 *     datagram received, the session ends (200);
 *   proxy_timeout: nothing either way for that long ends it: 200 if
 *     the answers expected came (or none were counted), else 502;
 *   an error on the server's socket (ICMP port unreachable: recv()
 *     fails with ECONNREFUSED) ends it with 502 and counts against the
 *     server (passive health).
 * A datagram that cannot be sent at once (socket buffer full) is
 * dropped, as the network may drop it: UDP peers retry.
 *
 * "proxy_pass $var" whose value is a name the resolver has to ask:
 * the session waits for the answer as a TCP one does (no server
 * socket yet), holding the client's datagrams meanwhile (the first
 * always, more within proxy_buffer_size bytes, others dropped); the
 * answer connects the socket and sends them, in order
 * (fy_stream_udp_resolved).  A failed or timed-out lookup ends the
 * session (fy_stream_resolve.c), the held datagrams unsent.
 *
 * A server with "return" instead of proxy_pass has no server socket:
 * the client's first datagram is answered with the value, one datagram
 * (fy_stream_return), and the session ends.
 */
#include "fy_core.h"
#include "fy_stream.h"
#include "fy_http_balancer.h"
#include "fy_worker.h"

#include <netinet/in.h>
#include <sys/socket.h>

/* The largest datagram: 65535 - 8 (UDP) - 20 (IPv4) is 65507, IPv6's
 * jumbo-less payload 65527; one byte more shows a cut one. */
#define FY_UDP_MAX        65536
/* Datagrams taken from a listening socket per wake-up, so one busy
 * listener does not starve the rest of the loop. */
#define FY_UDP_BATCH      64
#define FY_UDP_BUCKETS    1024

/* A client datagram held while the session waits for the resolver. */
typedef struct fy_stream_udp_held_s {
    struct fy_stream_udp_held_s  *next;
    size_t                        len;
    u_char                        data[];
} fy_stream_udp_held_t;

typedef struct fy_stream_udp_s {
    fy_stream_session_t      *s;
    /* the client's side: not a connection of the event array; its fd
     * is the listening socket (for $server_addr), never closed here */
    fy_conn_t                 client;
    struct fy_stream_udp_s   *next;      /* in its bucket */
    unsigned                  bucket;
    unsigned                  linked:1;  /* in the table */
    unsigned                  waiting:1; /* for the resolver */
    uint64_t                  requests;  /* datagrams from the client */
    uint64_t                  responses; /* datagrams from the server */
    /* while waiting: the datagrams held, in order, and their bytes */
    fy_stream_udp_held_t     *held;
    fy_stream_udp_held_t    **held_last;
    size_t                    held_bytes;
} fy_stream_udp_t;

static fy_stream_udp_t  *fy_stream_udp_table[FY_UDP_BUCKETS];
static fy_event_t       *fy_stream_udp_evs;    /* one per listener */
static u_char            fy_stream_udp_buf[FY_UDP_MAX];

static void fy_stream_udp_read(fy_event_t *ev);
static void fy_stream_udp_upstream(fy_event_t *ev);

static unsigned
fy_stream_udp_hash(const fy_listen_t *ls, const struct sockaddr_in6 *a,
                   socklen_t len)
{
    const u_char  *p = (const u_char *) a;
    uint32_t       h = 2166136261u ^ ls->index;     /* FNV-1a */
    socklen_t      i;

    for (i = 0; i < len; i++) {
        h = (h ^ p[i]) * 16777619u;
    }
    return h % FY_UDP_BUCKETS;
}

int
fy_stream_udp_init_process(fy_cycle_t *cycle)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (!ls->udp || ls->fd == -1) {
            continue;
        }
        if (fy_stream_udp_evs == NULL) {
            fy_stream_udp_evs = fy_pcalloc(cycle->pool, sizeof(fy_event_t)
                                           * cycle->listening.nelts);
            if (fy_stream_udp_evs == NULL) {
                return FY_ERROR;
            }
        }
        fy_stream_udp_evs[i].data = ls;
        fy_stream_udp_evs[i].handler = fy_stream_udp_read;
        fy_stream_udp_evs[i].timer_index = -1;
        fy_stream_udp_evs[i].log = ((fy_stream_srv_conf_t *) ls->stream)
                                   ->error_log;
        if (fy_event_add_fd(ls->fd, &fy_stream_udp_evs[i]) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

void
fy_stream_udp_stop(fy_cycle_t *cycle)
{
    fy_listen_t  *ls;
    unsigned      i;

    /* The sockets stay open: the sessions still running answer their
     * clients from them.  The next generation's workers read them. */
    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->udp && ls->fd != -1) {
            fy_event_del_fd(ls->fd);
        }
    }
}

static void
fy_stream_udp_unlink(fy_stream_udp_t *u)
{
    fy_stream_udp_t  **pp;

    if (!u->linked) {
        return;
    }
    for (pp = &fy_stream_udp_table[u->bucket]; *pp; pp = &(*pp)->next) {
        if (*pp == u) {
            *pp = u->next;
            break;
        }
    }
    u->linked = 0;
}

void
fy_stream_udp_done(fy_stream_session_t *s)
{
    fy_stream_udp_unlink(s->udp);
}

static fy_stream_udp_t *
fy_stream_udp_find(fy_listen_t *ls, const struct sockaddr_in6 *a,
                   socklen_t len, unsigned bucket)
{
    fy_stream_udp_t  *u;

    for (u = fy_stream_udp_table[bucket]; u; u = u->next) {
        if (u->s->ls == ls && u->client.addrlen == len
            && memcmp(&u->client.addr, a, len) == 0)
        {
            return u;
        }
    }
    return NULL;
}

/* The server's socket: connected, so the kernel passes on only its
 * datagrams and reports its ICMP errors.  FY_AGAIN: the name of
 * "proxy_pass $var" is being resolved (fy_stream_udp_resolved comes
 * back here). */
static int
fy_stream_udp_connect(fy_stream_session_t *s)
{
    fy_stream_srv_conf_t  *scf = s->scf;
    fy_conn_t             *uc;
    int                    fd, rc;

    rc = fy_stream_choose(s);
    if (rc != FY_OK) {
        return rc;
    }

    fd = socket(s->peer->addr.sa.sa_family,
                SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "socket() failed, client: %s",
                     s->addr_text);
        return FY_ERROR;
    }
    uc = fy_conn_get(fd);
    if (uc == NULL) {
        close(fd);
        fy_log_error(FY_LOG_ALERT, 0, "%d worker_connections are not "
                     "enough for an upstream connection, client: %s",
                     fy_worker_cycle->core->worker_connections,
                     s->addr_text);
        return FY_ERROR;
    }
    s->uc = uc;
    uc->data = s;
    uc->read.log = uc->write.log = scf->error_log;
    uc->read.handler = fy_stream_udp_upstream;
    uc->write.handler = fy_event_ignore;

    if (fy_stream_bind(s, fd) != FY_OK) {
        return FY_ERROR;
    }
    if (connect(fd, &s->peer->addr.sa, s->peer->addrlen) == -1) {
        fy_log_error(FY_LOG_ERR, errno, "connect() failed while connecting "
                     "to upstream, client: %s, server: %s, upstream: "
                     "\"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_http_peer_failed(s->u, s->peer);
        return FY_ERROR;
    }
    if (fy_conn_register(uc) != FY_OK) {
        return FY_ERROR;
    }
    s->connect_time = (int64_t) (fy_current_msec - s->connect_start);
    fy_timer_add(&uc->read, (uint64_t) scf->timeout);
    return FY_OK;
}

/* A new session for the client at a (its first datagram). NULL when it
 * was refused or failed: it is logged and ended then. */
static fy_stream_udp_t *
fy_stream_udp_new(fy_listen_t *ls, const struct sockaddr_in6 *a,
                  socklen_t len, unsigned bucket)
{
    fy_stream_srv_conf_t  *scf = ls->stream;
    fy_stream_session_t   *s;
    fy_stream_udp_t       *u;
    fy_pool_t             *pool;
    unsigned               status;
    int                    rc;

    pool = fy_pool_create(1024);
    s = pool ? fy_pcalloc(pool, sizeof(fy_stream_session_t)) : NULL;
    u = s ? fy_pcalloc(pool, sizeof(fy_stream_udp_t)) : NULL;
    if (u && scf->upstream) {
        s->tried = fy_pcalloc(pool, scf->upstream->peers.nelts);
    }
    if (u == NULL || (scf->upstream && s->tried == NULL)) {
        fy_log_error(FY_LOG_ALERT, 0, "cannot allocate a stream session");
        if (pool) {
            fy_pool_destroy(pool);
        }
        return NULL;
    }
    fy_shm_add(fy_worker_slot->active, 1);
    fy_shm_add(fy_worker_slot->handled, 1);
    fy_shm_add(fy_shm->accepted, 1);

    s->pool = pool;
    s->udp = u;
    s->c = &u->client;
    s->ls = ls;
    s->scf = scf;
    s->u = scf->upstream;       /* NULL: proxy_pass $var, found later */
    s->su = s->u ? fy_stream_upstream_of(fy_worker_cycle->stream, s->u)
                 : NULL;
    s->start = fy_current_msec;
    s->connect_time = -1;
    s->first_byte = -1;
    s->serial = fy_shm_add(fy_shm->connection_serial, 1) + 1;
    u->s = s;
    u->client.fd = ls->fd;
    u->client.listening = ls;
    u->client.data = s;
    memcpy(&u->client.addr, a, len);
    u->client.addrlen = len;
    u->bucket = bucket;
    u->held_last = &u->held;
    fy_sockaddr_text((const struct sockaddr *) a, len, s->addr_text,
                     sizeof(s->addr_text), 0);

    /* in the table first: a session that ends at once leaves it */
    u->next = fy_stream_udp_table[bucket];
    fy_stream_udp_table[bucket] = u;
    u->linked = 1;

    if (scf->sets && fy_stream_set_run(s) != FY_OK) {
        fy_stream_finalize(s, 500);
        return NULL;
    }
    if (scf->limit_conns) {
        status = fy_stream_limit_conn(s);
        if (status) {
            fy_stream_finalize(s, status);
            return NULL;
        }
    }
    if (fy_stream_access(s) != FY_OK) {
        fy_stream_finalize(s, 403);
        return NULL;
    }
    if (scf->ret) {
        return u;           /* no server: fy_stream_udp_read returns */
    }
    rc = fy_stream_udp_connect(s);
    if (rc == FY_AGAIN) {
        u->waiting = 1;     /* fy_stream_udp_read holds the datagram */
        return u;
    }
    if (rc != FY_OK) {
        fy_stream_finalize(s, 502);
        return NULL;
    }
    return u;
}

/* nginx's test after each datagram either way: enough client
 * datagrams (proxy_requests) and enough answers (proxy_responses).
 * FY_DONE when it ended the session. */
static int
fy_stream_udp_test_end(fy_stream_udp_t *u)
{
    fy_stream_session_t   *s = u->s;
    fy_stream_srv_conf_t  *scf = s->scf;

    if (scf->udp_requests) {
        if (u->requests < (uint64_t) scf->udp_requests) {
            return FY_OK;
        }
        /* the client's next datagram starts a new session */
        fy_stream_udp_unlink(u);
    }
    if (scf->udp_responses < 0
        || u->responses < (uint64_t) scf->udp_responses * u->requests)
    {
        return FY_OK;
    }
    fy_log_error(FY_LOG_INFO, 0, "udp done, client: %s, server: %s",
                 s->addr_text, s->ls->text);
    fy_stream_finalize(s, 200);
    return FY_DONE;
}

/* A datagram to the session's server.  FY_OK, or FY_DONE when a send
 * error ended the session. */
static int
fy_stream_udp_send(fy_stream_udp_t *u, const u_char *data, size_t len)
{
    fy_stream_session_t  *s = u->s;
    ssize_t               n;

    n = send(s->uc->fd, data, len, 0);
    if (n == -1) {
        if (errno == EAGAIN || errno == ENOBUFS) {
            fy_log_error(FY_LOG_INFO, errno, "send() to upstream dropped a "
                         "datagram, client: %s", s->addr_text);
        } else {
            /* ECONNREFUSED: an ICMP error for an earlier datagram */
            fy_log_error(FY_LOG_ERR, errno, "send() failed while proxying "
                         "UDP, client: %s, server: %s, upstream: \"%.*s\"",
                         s->addr_text, s->ls->text,
                         (int) s->peer->name.len, s->peer->name.data);
            fy_http_peer_failed(s->u, s->peer);
            fy_stream_finalize(s, 502);
            return FY_DONE;
        }
    } else {
        s->up_sent += (uint64_t) n;
    }
    fy_timer_add(&s->uc->read, (uint64_t) s->scf->timeout);
    return FY_OK;
}

/* A client datagram of len bytes came to the session: counted; at
 * proxy_requests, the client's next one makes a new session. */
static void
fy_stream_udp_count(fy_stream_udp_t *u, size_t len)
{
    fy_stream_srv_conf_t  *scf = u->s->scf;

    u->requests++;
    u->s->bytes_received += len;
    if (scf->udp_requests && u->requests >= (uint64_t) scf->udp_requests) {
        fy_stream_udp_unlink(u);
    }
}

/* A client datagram to the session's server. */
static void
fy_stream_udp_send_up(fy_stream_udp_t *u, const u_char *data, size_t len)
{
    fy_stream_udp_count(u, len);
    if (fy_stream_udp_send(u, data, len) == FY_OK) {
        fy_stream_udp_test_end(u);
    }
}

/* A client datagram while the session waits for the resolver: held,
 * in the session's pool, for fy_stream_udp_resolved.  The first one
 * always (it made the session); the next ones while all held stay
 * within proxy_buffer_size bytes (what a TCP session reads of its
 * client ahead of the server), else dropped as the network may drop
 * them -- counted all the same, as a datagram send() drops is. */
static void
fy_stream_udp_hold(fy_stream_udp_t *u, const u_char *data, size_t len)
{
    fy_stream_session_t   *s = u->s;
    fy_stream_udp_held_t  *h;

    fy_stream_udp_count(u, len);
    if (u->held && u->held_bytes + len > s->scf->buffer_size) {
        fy_log_error(FY_LOG_INFO, 0, "a datagram over proxy_buffer_size "
                     "dropped while resolving, client: %s, server: %s",
                     s->addr_text, s->ls->text);
        return;
    }
    h = fy_palloc(s->pool, sizeof(fy_stream_udp_held_t) + len);
    if (h == NULL) {
        fy_log_error(FY_LOG_ALERT, 0, "cannot hold a datagram while "
                     "resolving, client: %s", s->addr_text);
        return;
    }
    h->next = NULL;
    h->len = len;
    memcpy(h->data, data, len);
    *u->held_last = h;
    u->held_last = &h->next;
    u->held_bytes += len;
}

void
fy_stream_udp_resolved(fy_stream_session_t *s)
{
    fy_stream_udp_t       *u = s->udp;
    fy_stream_udp_held_t  *h;

    u->waiting = 0;
    if (fy_stream_udp_connect(s) != FY_OK) {
        fy_stream_finalize(s, 502);
        return;
    }
    for (h = u->held; h; h = h->next) {
        if (fy_stream_udp_send(u, h->data, h->len) != FY_OK) {
            return;             /* ended */
        }
    }
    u->held = NULL;             /* the pool frees them with the session */
    fy_stream_udp_test_end(u);
}

/* The listening socket is readable: datagrams from clients. */
static void
fy_stream_udp_read(fy_event_t *ev)
{
    fy_listen_t          *ls = ev->data;
    fy_stream_udp_t      *u;
    struct sockaddr_in6   a;
    socklen_t             len;
    ssize_t               n;
    unsigned              k, bucket;

    for (k = 0; k < FY_UDP_BATCH; k++) {
        memset(&a, 0, sizeof(a));   /* compared whole as the key */
        len = sizeof(a);
        n = recvfrom(ls->fd, fy_stream_udp_buf, sizeof(fy_stream_udp_buf),
                     0, (struct sockaddr *) &a, &len);
        if (n == -1) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                fy_log_error(FY_LOG_ALERT, errno, "recvfrom() on %s failed",
                             ls->text);
            }
            return;
        }
        len = fy_min(len, (socklen_t) sizeof(a));
        bucket = fy_stream_udp_hash(ls, &a, len);
        u = fy_stream_udp_find(ls, &a, len, bucket);
        if (u == NULL) {
            u = fy_stream_udp_new(ls, &a, len, bucket);
            if (u == NULL) {
                continue;       /* ended, logged */
            }
        }
        fy_log_cur = u->s->scf->error_log;
        if (u->s->scf->ret) {
            /* "return": the value answers the first datagram, and the
             * session ends (the client's next one makes another) */
            fy_stream_udp_count(u, (size_t) n);
            fy_stream_return(u->s);
        } else if (u->waiting) {
            fy_stream_udp_hold(u, fy_stream_udp_buf, (size_t) n);
        } else {
            fy_stream_udp_send_up(u, fy_stream_udp_buf, (size_t) n);
        }
        fy_log_cur = ev->log;
    }
}

/* The server's socket: its datagrams go back to the client; its errors
 * and proxy_timeout end the session. */
static void
fy_stream_udp_upstream(fy_event_t *ev)
{
    fy_conn_t             *uc = ev->data;
    fy_stream_session_t   *s = uc->data;
    fy_stream_udp_t       *u = s->udp;
    fy_stream_srv_conf_t  *scf = s->scf;
    ssize_t                n, m;

    if (ev->timedout) {
        ev->timedout = 0;
        if (scf->udp_responses < 0
            || u->responses >= (uint64_t) scf->udp_responses * u->requests)
        {
            fy_log_error(FY_LOG_INFO, 0, "udp timed out, client: %s, "
                         "server: %s", s->addr_text, s->ls->text);
            fy_stream_finalize(s, 200);
            return;
        }
        fy_log_error(FY_LOG_ERR, ETIMEDOUT, "upstream timed out while "
                     "proxying UDP, client: %s, server: %s, upstream: "
                     "\"%.*s\"", s->addr_text, s->ls->text,
                     (int) s->peer->name.len, s->peer->name.data);
        fy_http_peer_failed(s->u, s->peer);
        fy_stream_finalize(s, 502);
        return;
    }

    for ( ;; ) {
        n = recv(uc->fd, fy_stream_udp_buf, sizeof(fy_stream_udp_buf), 0);
        if (n == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ev->ready = 0;
                return;
            }
            if (errno == EINTR) {
                continue;
            }
            /* ECONNREFUSED: the server's port is closed (ICMP) */
            fy_log_error(FY_LOG_ERR, errno, "recv() failed while proxying "
                         "UDP, client: %s, server: %s, upstream: \"%.*s\"",
                         s->addr_text, s->ls->text,
                         (int) s->peer->name.len, s->peer->name.data);
            fy_http_peer_failed(s->u, s->peer);
            fy_stream_finalize(s, 502);
            return;
        }
        if (u->responses == 0) {
            fy_http_peer_succeeded(s->u, s->peer);
            s->first_byte = (int64_t) (fy_current_msec - s->connect_start);
        }
        u->responses++;
        s->up_received += (uint64_t) n;
        m = sendto(s->ls->fd, fy_stream_udp_buf, (size_t) n, 0,
                   (struct sockaddr *) &u->client.addr, u->client.addrlen);
        if (m == -1) {
            fy_log_error(FY_LOG_INFO, errno, "sendto() to client dropped a "
                         "datagram, client: %s", s->addr_text);
        } else {
            s->bytes_sent += (uint64_t) m;
        }
        fy_timer_add(&uc->read, (uint64_t) scf->timeout);
        if (fy_stream_udp_test_end(u) == FY_DONE) {
            return;
        }
    }
}
