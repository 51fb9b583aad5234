/*
 * fy_worker.c -- a worker process: one epoll loop serving the client
 * connections the master hands it over its channel.
 *
 * The worker writes its shared-memory slot (heartbeat, active
 * connections, RSS ...) and nothing else; it never accepts.  Signals
 * arrive through a signalfd in the same loop, so handlers run as
 * ordinary code, never asynchronously:
 *   SIGTERM, SIGINT  exit now
 *   SIGQUIT          stop taking connections, finish in-flight
 *                    requests, hand idle keep-alive ones back to the
 *                    master (or close them when the master is shutting
 *                    down), then exit
 *   SIGUSR1          reopen the error log and the access logs
 */
#include "fy_core.h"
#include "fy_worker.h"
#include "fy_event.h"
#include "fy_channel.h"
#include "fy_proc.h"
#include "fy_http.h"
#include "fy_stream.h"
#include "fy_signal.h"
#include "fy_user.h"
#include "fy_worker_conf.h"
#include "fy_alog.h"

fy_shm_worker_t  *fy_worker_slot;
fy_cycle_t       *fy_worker_cycle;

#define FY_HEARTBEAT_MS  500
/* While draining: how often idle connections that could not be handed
 * back yet (channel full) are tried again. */
#define FY_DRAIN_RETRY_MS  20

static int          fy_worker_channel = -1;
static int          fy_worker_quit;
static int          fy_worker_terminate;
static fy_event_t   fy_worker_channel_ev;
static fy_event_t   fy_worker_signal_ev;
static fy_event_t   fy_worker_heartbeat_ev;
static fy_event_t   fy_worker_drain_ev;
static uint64_t     fy_worker_rss_at;

/* Connections closed for want of a free worker_connections slot and
 * not reported yet.  A flood past the limit must not flood the error
 * log as well: the first is logged at once, the rest at most once a
 * second with their count (also from the heartbeat, so the last ones
 * of a burst are reported too). */
static unsigned     fy_worker_full_closed;
static uint64_t     fy_worker_full_logged;     /* fy_current_msec */

static void fy_worker_start_quit(void);
static void fy_worker_full_report(void);

static void
fy_worker_full_report(void)
{
    unsigned  n = fy_worker_full_closed;

    if (n == 0 || (fy_worker_full_logged
                   && fy_current_msec - fy_worker_full_logged < 1000))
    {
        return;
    }
    fy_log_error(FY_LOG_ALERT, 0, "%d worker_connections are not enough, "
                 "closed %u connection%s", fy_worker_cycle->core
                 ->worker_connections, n, n == 1 ? "" : "s");
    fy_worker_full_logged = fy_current_msec;
    fy_worker_full_closed = 0;
}

static void
fy_worker_heartbeat(fy_event_t *ev)
{
    fy_shm_set(fy_worker_slot->heartbeat_ms, fy_wall_msec);

    /* RSS costs a /proc read: once a second is what least_mem needs. */
    if (fy_current_msec - fy_worker_rss_at >= 1000) {
        fy_worker_rss_at = fy_current_msec;
        fy_shm_set(fy_worker_slot->rss, fy_proc_rss());
    }
    fy_worker_full_report();
    fy_timer_add(ev, FY_HEARTBEAT_MS);
}

/* A connection from the master: new (h NULL), or handed over from a
 * draining worker with what that worker had read of it.
 *
 * It is counted received (slot->accepted) once it is in the count of
 * connections in use (fy_conn_get: slot->conns), so the master never
 * sees it in neither and takes the worker for less full than it is;
 * and before its handler runs, which may answer and close it at once:
 * counted after that, the client could see the close and connect
 * again while the master still saw this one in flight, and least_conn
 * would steer the new one away from an idle worker. */
static void
fy_worker_new_conn(fy_channel_conn_t *cc, int fd, fy_channel_handoff_t *h)
{
    fy_conn_t    *c;
    fy_listen_t  *ls;

    if (cc->listener >= fy_worker_cycle->listening.nelts) {
        fy_log_error(FY_LOG_ALERT, 0, "connection for unknown listener %u",
                     cc->listener);
        close(fd);
        fy_shm_add(fy_worker_slot->accepted, 1);
        return;
    }
    ls = fy_array_elt(&fy_worker_cycle->listening, fy_listen_t, cc->listener);

    c = fy_conn_get(fd);
    if (c == NULL) {
        /* the client sees the connection closed (reset if it had sent
         * something); stub_status shows it as accepted, not handled */
        close(fd);
        fy_shm_add(fy_worker_slot->accepted, 1);
        fy_worker_full_closed++;
        fy_worker_full_report();
        return;
    }
    fy_shm_add(fy_worker_slot->accepted, 1);
    memcpy(&c->addr, &cc->addr, fy_min(cc->addrlen, sizeof(c->addr)));
    c->addrlen = cc->addrlen;
    c->listening = ls;
    if (ls->stream) {
        if (h) {
            /* an http keep-alive connection handed back, whose address
             * is a stream listener's in the new configuration */
            fy_conn_close(c);
        } else {
            fy_stream_init_connection(c, ls);
        }
    } else if (h) {
        fy_http_init_connection(c, ls, h->data, h->len, h->requests);
    } else {
        fy_http_init_connection(c, ls, NULL, 0, 0);
    }
    fy_log_cur = NULL;      /* the channel's own lines: the main log */
}

/* Take every record waiting on the channel.  limit: at most that many
 * (0: all of them).  FY_DONE when the master has gone away. */
static int
fy_worker_read_channel(int limit)
{
    fy_channel_msg_t  msg;
    int               fds[FY_CHANNEL_MAX_FDS];
    uint32_t          i;
    int               rc, k;

    for (k = 0; limit == 0 || k < limit; k++) {
        rc = fy_channel_recv(fy_worker_channel, &msg, fds);
        if (rc == FY_AGAIN || rc == FY_DONE) {
            return rc;
        }
        if (rc != FY_OK) {
            continue;   /* logged; any fds were closed */
        }

        if (msg.cmd == FY_CHANNEL_HANDOFF) {
            fy_worker_new_conn(&msg.handoff.conn, fds[0], &msg.handoff);
        } else if (msg.cmd != FY_CHANNEL_CONNS) {
            fy_log_error(FY_LOG_ALERT, 0, "master sent command %u",
                         msg.cmd);
            for (i = 0; i < msg.nfds; i++) {
                close(fds[i]);
            }
            fy_shm_add(fy_worker_slot->accepted, msg.nfds);
        } else {
            for (i = 0; i < msg.nfds; i++) {
                fy_worker_new_conn(&msg.conns[i], fds[i], NULL);
            }
        }
    }
    return FY_OK;
}

int
fy_worker_can_handback(void)
{
    /* when the master shuts down there is no worker to take them */
    return fy_worker_channel != -1 && !fy_shm_get(fy_shm->stopping);
}

int
fy_worker_handback(fy_channel_msg_t *msg, int fd)
{
    if (fy_worker_channel == -1) {
        return FY_ERROR;
    }
    return fy_channel_send(fy_worker_channel, msg, &fd);
}

static void
fy_worker_drain(fy_event_t *ev)
{
    if (fy_http_drain_idle() > 0) {
        fy_timer_add(ev, FY_DRAIN_RETRY_MS);
    }
}

static void
fy_worker_channel_handler(fy_event_t *ev)
{
    fy_unused(ev);

    if (fy_worker_channel == -1) {
        return;     /* closed earlier in this turn */
    }

    /* One record per wake-up: the channel is level-triggered, so
     * epoll reports it again while records wait, and the usual single
     * record costs no second recvmsg() just to hear EAGAIN (0.55
     * system calls per new connection, docs/performance.md).  The
     * connections just received run before more are taken. */
    if (fy_worker_read_channel(1) == FY_DONE) {
        /* The master is gone: nobody will send more work. */
        fy_log_error(FY_LOG_ALERT, 0, "channel to the master closed, "
                     "exiting gracefully");
        fy_event_del_fd(fy_worker_channel);
        close(fy_worker_channel);
        fy_worker_channel = -1;
        fy_worker_start_quit();
    }
}

static void
fy_worker_start_quit(void)
{
    if (fy_worker_quit) {
        return;
    }
    fy_worker_quit = 1;
    fy_http_quitting = 1;
    /* the next generation reads the UDP listeners from now on */
    fy_stream_udp_stop(fy_worker_cycle);

    /* The channel stays open: idle keep-alive connections go back to
     * the master on it.  Connections the master sent before it told
     * us to stop may still be queued there; they are ours to serve,
     * and dropping them would reset clients. */
    if (fy_worker_channel != -1
        && fy_worker_read_channel(0) == FY_DONE)
    {
        fy_event_del_fd(fy_worker_channel);
        close(fy_worker_channel);
        fy_worker_channel = -1;
    }

    fy_worker_drain_ev.handler = fy_worker_drain;
    fy_worker_drain_ev.timer_index = -1;
    fy_worker_drain(&fy_worker_drain_ev);
}

static void
fy_worker_signal_handler(fy_event_t *ev)
{
    int  signo;

    fy_unused(ev);

    while ((signo = fy_signal_read()) > 0) {
        switch (signo) {
        case SIGTERM:
        case SIGINT:
            fy_worker_terminate = 1;
            break;
        case SIGQUIT:
            fy_log_error(FY_LOG_NOTICE, 0, "gracefully shutting down");
            fy_worker_start_quit();
            break;
        case SIGUSR1:
            fy_log_reopen(&fy_log);
            fy_alog_reopen(-1);         /* http's and stream's */
            fy_http_error_log_reopen(-1);
            break;
        default:
            break;
        }
    }
}

void
fy_worker_run(fy_cycle_t *cycle, unsigned slot, unsigned number, int channel)
{
    fy_worker_cycle = cycle;
    fy_worker_channel = channel;
    fy_worker_slot = &fy_shm->workers[slot];

    /* nginx's order: environment, priority and limits, user, CPUs,
     * directory */
    fy_worker_conf_early(cycle);
    fy_user_worker_init(cycle);
    fy_worker_conf_late(cycle, (int) number);

    if (fy_event_init((unsigned) cycle->core->worker_connections) != FY_OK
        || (cycle->core->epoll_events != FY_EPOLL_EVENTS
            && fy_event_batch((unsigned) cycle->core->epoll_events) != FY_OK)
        || fy_signal_open() != FY_OK)
    {
        exit(2);
    }
    /* how full this worker is, for the master's dispatch */
    fy_conn_count_to(&fy_worker_slot->conns);

    fy_shm_set(fy_worker_slot->pid, (uint64_t) getpid());
    fy_shm_set(fy_worker_slot->generation, cycle->generation);
    fy_shm_set(fy_worker_slot->started_ms, fy_wall_msec);
    /* the master may already have told this worker to drain */
    if (fy_shm_get(fy_worker_slot->state) == FY_WORKER_STARTING) {
        fy_shm_set(fy_worker_slot->state, FY_WORKER_RUNNING);
    }
    fy_log_error(FY_LOG_NOTICE, 0, "worker process ready (slot %u, "
                 "generation %llu)", slot,
                 (unsigned long long) cycle->generation);

    fy_worker_channel_ev.handler = fy_worker_channel_handler;
    fy_worker_signal_ev.handler = fy_worker_signal_handler;
    fy_worker_heartbeat_ev.handler = fy_worker_heartbeat;
    fy_worker_heartbeat_ev.timer_index = -1;

    if (fy_event_add_fd(channel, &fy_worker_channel_ev) != FY_OK
        || fy_event_add_fd(fy_signal_fd(), &fy_worker_signal_ev) != FY_OK)
    {
        exit(2);
    }

    fy_alog_init_process(cycle);
    fy_http_var_init_process(cycle);
    fy_http_error_log_init_process(cycle);
    fy_http_limit_init_process(cycle);
    fy_http_userid_init_process();
    fy_http_upstream_resolve_init_process(cycle);
    if (fy_stream_udp_init_process(cycle) != FY_OK) {
        exit(2);
    }
    fy_worker_rss_at = fy_current_msec;
    fy_shm_set(fy_worker_slot->rss, fy_proc_rss());
    fy_worker_heartbeat(&fy_worker_heartbeat_ev);

    for ( ;; ) {
        fy_event_process(-1);

        if (fy_worker_terminate) {
            break;
        }
        if (fy_worker_quit && fy_shm_get(fy_worker_slot->active) == 0) {
            break;
        }
    }

    /* SIGTERM leaves requests open: their limit_conn counts would stay
     * in the shared zones for ever */
    fy_http_limit_conn_release_all();
    fy_alog_flush_all();        /* buffered access log lines */
    fy_log_error(FY_LOG_NOTICE, 0, "exit");
    exit(0);
}
