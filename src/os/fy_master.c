/*
 * fy_master.c -- the master process: accepts connections and hands
 * them to workers, starts and replaces workers, reacts to signals.
 *
 * The master never blocks and never reads a byte of HTTP.  Its loop
 * watches the listening sockets, the signalfd and a few timers.
 *
 *   SIGTERM, SIGINT  fast stop: workers get SIGTERM
 *   SIGQUIT          graceful stop: listeners close, workers get
 *                    SIGQUIT and finish what they are doing
 *   SIGHUP           reload the configuration (see fy_master_reload)
 *   SIGUSR1          reopen the error log and the access logs, then in
 *                    the workers and the health checker too
 *   SIGCHLD          reap workers; replace those that died
 *
 * What happens to workers that die, hang or grow is fy_supervise.c;
 * keep-alive connections moving between workers are fy_handoff.c.
 */
#include "fy_core.h"
#include "fy_master.h"
#include "fy_master_int.h"
#include "fy_worker.h"
#include "fy_event.h"
#include "fy_channel.h"
#include "fy_dispatch.h"
#include "fy_listen.h"
#include "fy_signal.h"
#include "fy_shm.h"
#include "fy_http.h"
#include "fy_stream.h"
#include "fy_sched.h"
#include "fy_user.h"
#include "fy_worker_conf.h"
#include "fy_log_main.h"
#include "fy_pidfile.h"
#include "fy_alog.h"

#include <sys/wait.h>
#include <sys/syscall.h>

/* Connections accepted from one listener per wake-up: enough to batch
 * hand-offs, small enough that other listeners and signals get their
 * turn under a flood. */
#define FY_ACCEPT_BATCH      64
#define FY_TERMINATE_WAIT    5000
/* A health checker that died is started again after this pause, so one
 * that crashes at once cannot spin. */
#define FY_CHECKER_RESTART_DELAY  1000

/* Shared with fy_supervise.c and fy_handoff.c (fy_master_int.h). */
fy_master_worker_t             fy_workers[FY_MAX_WORKERS];
fy_cycle_t                    *fy_cycle;
fy_dispatch_state_t            fy_dispatch_st;
int                            fy_quit, fy_terminate;
uint64_t                       fy_generation;

static const fy_master_opts_t *fy_opts;
/* Listener events live here, not in a cycle's pool: an event already
 * returned by epoll_wait may still be run after a reload has freed the
 * old cycle or a stop has closed the socket.  The handler finds the
 * listener by index in the current cycle and checks it is open. */
static fy_event_t              fy_listen_evs[FY_MAX_LISTEN];
static fy_event_t              fy_signal_ev;
static fy_event_t              fy_accept_resume_ev;
static fy_event_t              fy_terminate_ev;

static void fy_master_accept(fy_event_t *ev);
static void fy_master_checker_start(void);
static int  fy_master_checker_reap(pid_t pid, int status);
static void fy_master_checker_signal(int signo);
static pid_t       fy_checker_old;      /* told to quit, not yet reaped */
static fy_event_t  fy_checker_ev;       /* delayed (re)start */

/* ---- workers ---- */

/*
 * In a child just forked from the master (a worker or the health
 * checker): drop what belongs to the master -- the other workers'
 * channels, the listening sockets, its signalfd and event loop -- so
 * that only the master accepts and a dead child's channel reads EOF.
 * A worker keeps the UDP listening sockets: it reads them itself.
 */
static void
fy_master_child_init(int worker)
{
    unsigned  i;

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        if (fy_workers[i].channel != -1) {
            close(fy_workers[i].channel);
        }
    }
    fy_listen_drop(fy_cycle, worker);
    fy_signal_close();
    fy_event_done();
    fy_sched_child();
}

int
fy_master_spawn(unsigned slot)
{
    fy_master_worker_t  *w = &fy_workers[slot];
    fy_shm_worker_t     *sw = &fy_shm->workers[slot];
    int                  ch[2];
    pid_t                pid;

    if (fy_channel_open(ch) != FY_OK) {
        return FY_ERROR;
    }

    /* Gauges start from zero for the new process; the slot's request
     * and byte counters keep counting across generations. */
    fy_shm_set(sw->pid, 0);
    fy_shm_set(sw->active, 0);
    fy_shm_set(sw->reading, 0);
    fy_shm_set(sw->writing, 0);
    fy_shm_set(sw->accepted, 0);
    fy_shm_set(sw->conns, 0);
    fy_shm_set(sw->rss, 0);
    fy_shm_set(sw->heartbeat_ms, fy_wall_msec);
    fy_shm_set(sw->state, FY_WORKER_STARTING);
    if (fy_shm_get(sw->exited_ms)) {
        fy_shm_add(sw->restarts, 1);     /* the slot had a process before */
    }

    pid = fork();
    if (pid == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "fork() failed");
        close(ch[0]);
        close(ch[1]);
        return FY_ERROR;
    }

    if (pid == 0) {
        /* The worker keeps only its own end of its own channel. */
        close(ch[0]);
        fy_master_child_init(1);
        fy_worker_run(fy_cycle, slot, w->number, ch[1]);
    }

    close(ch[1]);
    w->pid = pid;
    w->channel = ch[0];
    w->handed = 0;
    w->generation = fy_generation;
    w->started = fy_current_msec;
    w->exiting = 0;
    w->waiting = 0;
    w->killed = 0;
    fy_shm_add(fy_shm->worker_spawns, 1);
    fy_log_error(FY_LOG_NOTICE, 0, "start worker process %d (slot %u)",
                 (int) pid, slot);
    /* draining workers hand their keep-alive connections back on it */
    (void) fy_handoff_watch(slot);
    return FY_OK;
}

/* Start workers for the current generation in free slots. */
static void
fy_master_start_workers(unsigned n)
{
    unsigned  i, number = 0;

    for (i = 0; i < FY_MAX_WORKERS && number < n; i++) {
        if (fy_workers[i].pid == 0 && !fy_workers[i].waiting) {
            fy_supervise_fresh(i);
            /* a worker restarted in this slot keeps the number */
            fy_workers[i].number = number;
            if (fy_master_spawn(i) == FY_OK) {
                number++;
            }
        }
    }
}

static void
fy_master_signal_workers(int signo, int only_old)
{
    unsigned  i;

    if (!only_old) {
        fy_master_checker_signal(signo);
    }

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        fy_master_worker_t *w = &fy_workers[i];

        if (w->pid == 0 || (only_old && w->generation == fy_generation)) {
            continue;
        }
        if (signo == SIGQUIT) {
            fy_supervise_drain(i, only_old ? "replaced by a new generation"
                                           : "shutting down");
            continue;
        }
        if (signo == SIGTERM) {
            w->exiting = 1;
            fy_shm_set(fy_shm->workers[i].state, FY_WORKER_DRAINING);
        }
        if (kill(w->pid, signo) == -1 && errno != ESRCH) {
            fy_log_error(FY_LOG_ALERT, errno, "kill(%d, %d) failed",
                         (int) w->pid, signo);
        }
    }
}

static unsigned
fy_master_live_workers(void)
{
    unsigned  i, n = 0;

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        n += fy_workers[i].pid != 0;
    }
    return n + (fy_shm_get(fy_shm->checker_pid) != 0) + (fy_checker_old != 0);
}

static void
fy_master_reap(void)
{
    unsigned  i;
    pid_t     pid;
    int       status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        if (fy_master_checker_reap(pid, status)) {
            continue;
        }
        for (i = 0; i < FY_MAX_WORKERS; i++) {
            if (fy_workers[i].pid == pid) {
                fy_http_limit_reap(pid);
                fy_supervise_reaped(i, status);
                break;
            }
        }
    }
}

/* ---- the health checker (fy_http_health.c) ----
 *
 * At most one, started when some upstream has health_check, restarted
 * one second after it dies, replaced on reload: the old one is told to
 * quit and the new one starts once the old is reaped, so two never
 * write the same servers' health at once. */

static void
fy_master_checker_timer(fy_event_t *ev)
{
    fy_unused(ev);
    fy_master_checker_start();
}

static void
fy_master_checker_start(void)
{
    pid_t     pid;

    if (fy_quit || fy_terminate || !fy_cycle->http
        || !fy_http_health_wanted(fy_cycle)
        || fy_shm_get(fy_shm->checker_pid) != 0 || fy_checker_old != 0)
    {
        return;
    }

    pid = fork();
    if (pid == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "fork() of the health checker "
                     "failed");
        return;
    }
    if (pid == 0) {
        fy_master_child_init(0);
        /* the checker talks to the network: as the workers do, it drops
         * to the configured user; it is bound to no CPU */
        fy_worker_conf_early(fy_cycle);
        fy_user_worker_init(fy_cycle);
        fy_worker_conf_late(fy_cycle, -1);
        fy_http_health_run(fy_cycle);
    }
    fy_shm_set(fy_shm->checker_pid, (uint64_t) pid);
    fy_log_error(FY_LOG_NOTICE, 0, "start health checker process %d",
                 (int) pid);
}

static void
fy_master_checker_signal(int signo)
{
    pid_t  pid = (pid_t) fy_shm_get(fy_shm->checker_pid);

    if (fy_checker_old && kill(fy_checker_old, signo) == -1
        && errno != ESRCH)
    {
        fy_log_error(FY_LOG_ALERT, errno, "kill(%d, %d) failed",
                     (int) fy_checker_old, signo);
    }
    if (pid == 0) {
        return;
    }
    if (kill(pid, signo) == -1 && errno != ESRCH) {
        fy_log_error(FY_LOG_ALERT, errno, "kill(%d, %d) failed", (int) pid,
                     signo);
    }
    if (signo == SIGQUIT || signo == SIGTERM || signo == SIGKILL) {
        fy_checker_old = pid;
        fy_shm_set(fy_shm->checker_pid, 0);
    }
}

/* 1 if pid was a health checker (reaped here), 0 if not. */
static int
fy_master_checker_reap(pid_t pid, int status)
{
    if (pid == fy_checker_old) {
        fy_checker_old = 0;
        fy_log_error(FY_LOG_NOTICE, 0, "health checker process %d exited",
                     (int) pid);
        fy_master_checker_start();      /* the reload's new one, if any */
        return 1;
    }
    if ((uint64_t) pid != fy_shm_get(fy_shm->checker_pid)) {
        return 0;
    }
    fy_shm_set(fy_shm->checker_pid, 0);
    fy_log_error(FY_LOG_ALERT, 0, "health checker process %d died (status "
                 "%d); restarting it in %d ms", (int) pid, status,
                 FY_CHECKER_RESTART_DELAY);
    fy_checker_ev.handler = fy_master_checker_timer;
    fy_checker_ev.timer_index = -1;
    if (!fy_quit && !fy_terminate) {
        fy_timer_add(&fy_checker_ev, FY_CHECKER_RESTART_DELAY);
    }
    return 1;
}

/* ---- listeners ---- */

static int
fy_master_listen_add(void)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < fy_cycle->listening.nelts; i++) {
        ls = fy_array_elt(&fy_cycle->listening, fy_listen_t, i);
        if (ls->udp || ls->shared) {
            /* the workers read it (fy_stream_udp.c); a wildcard's
             * socket takes the other */
            continue;
        }
        fy_listen_evs[i].data = (void *) (uintptr_t) i;
        fy_listen_evs[i].handler = fy_master_accept;
        fy_listen_evs[i].timer_index = -1;
        if (fy_event_add_fd(ls->fd, &fy_listen_evs[i]) != FY_OK) {
            return FY_ERROR;
        }
    }
    return FY_OK;
}

static void
fy_master_listen_del(fy_cycle_t *cycle)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < cycle->listening.nelts; i++) {
        ls = fy_array_elt(&cycle->listening, fy_listen_t, i);
        if (ls->fd != -1 && !ls->udp) {
            fy_event_del_fd(ls->fd);
        }
    }
}

/* Out of file descriptors: stop accepting for a moment instead of
 * spinning on a listener that stays readable. */
static void
fy_master_accept_resume(fy_event_t *ev)
{
    fy_unused(ev);
    if (!fy_quit && !fy_terminate) {
        fy_master_listen_add();
    }
}

/* ---- dispatch ---- */

typedef struct {
    fy_channel_msg_t  msg;
    int               fds[FY_CHANNEL_MAX_FDS];
} fy_master_batch_t;

/* The master's copies of the fds handed out in one accept pass, closed
 * together at its end (fy_master_close_sent). */
static int       fy_master_sent[FY_ACCEPT_BATCH];
static unsigned  fy_master_nsent;

/*
 * Close the copies of the fds just handed to workers.  accept4() gives
 * the lowest free numbers, so one pass's fds are mostly consecutive:
 * each run of them goes in one close_range() instead of a close() per
 * connection (Linux 5.9; close() one by one where it is missing).
 */
static void
fy_master_close_sent(void)
{
    unsigned  i, j, n = fy_master_nsent;
    int      *fd = fy_master_sent, t;

    fy_master_nsent = 0;
    for (i = 1; i < n; i++) {               /* a few: insertion sort */
        t = fd[i];
        for (j = i; j > 0 && fd[j - 1] > t; j--) {
            fd[j] = fd[j - 1];
        }
        fd[j] = t;
    }
    for (i = 0; i < n; i = j) {
        for (j = i + 1; j < n && fd[j] == fd[j - 1] + 1; j++) {
            /* the run goes on */
        }
#ifdef SYS_close_range
        if (j - i > 1
            && syscall(SYS_close_range, (unsigned) fd[i], (unsigned) fd[j - 1],
                       0U) == 0)
        {
            continue;
        }
#endif
        for (t = (int) i; t < (int) j; t++) {
            close(fd[t]);
        }
    }
}

/* Fill cand[] for the slots up to the last one with a process and
 * return how many that is: the strategies then look at 1 or 2 slots
 * with 1 or 2 workers, not at all FY_MAX_WORKERS of them per
 * connection (that scan was most of the master's instructions per
 * connection, docs/performance.md).  Slots past it are empty. */
int
fy_master_candidates(fy_dispatch_cand_t *cand)
{
    fy_master_worker_t  *w;
    fy_shm_worker_t     *sw;
    unsigned             i, n;
    uint64_t             accepted;

    n = 0;
    for (i = 0; i < FY_MAX_WORKERS; i++) {
        if (fy_workers[i].pid != 0) {
            n = i + 1;
        }
    }

    for (i = 0; i < n; i++) {
        w = &fy_workers[i];
        sw = &fy_shm->workers[i];
        cand[i].usable = w->pid != 0 && !w->exiting
                         && w->generation == fy_generation;
        cand[i].active = fy_shm_get(sw->active);
        accepted = fy_shm_get(sw->accepted);
        cand[i].inflight = w->handed > accepted ? w->handed - accepted : 0;
        cand[i].rss = fy_shm_get(sw->rss);
        cand[i].used = fy_shm_get(sw->conns);
        cand[i].limit = (uint64_t) fy_cycle->core->worker_connections;
    }
    return (int) n;
}

static void fy_master_assign(fy_master_batch_t *batches,
    fy_dispatch_cand_t *cand, int ncand, const fy_channel_conn_t *conn,
    int fd);

/* Send one worker's batch; on a full or dead channel, the worker is
 * left out and its connections go to others. */
static void
fy_master_flush(fy_master_batch_t *batches, fy_dispatch_cand_t *cand,
                int ncand, unsigned slot)
{
    fy_master_batch_t  *b = &batches[slot];
    fy_master_worker_t *w = &fy_workers[slot];
    fy_channel_msg_t    msg;
    int                 fds[FY_CHANNEL_MAX_FDS];
    uint32_t            i, n = b->msg.nfds;
    int                 rc;

    if (n == 0) {
        return;
    }
    b->msg.cmd = FY_CHANNEL_CONNS;
    rc = fy_channel_send(w->channel, &b->msg, b->fds);
    b->msg.nfds = 0;

    if (rc == FY_OK) {
        for (i = 0; i < n; i++) {
            if (fy_master_nsent == FY_ACCEPT_BATCH) {
                fy_master_close_sent();
            }
            fy_master_sent[fy_master_nsent++] = b->fds[i];
        }
        w->handed += n;
        fy_shm_add(fy_shm->dispatched, n);
        fy_shm_add(fy_shm->workers[slot].dispatched, n);
        return;
    }

    fy_log_error(FY_LOG_WARN, 0, "channel to worker %d is %s; passing its "
                 "%u connections to another worker", (int) w->pid,
                 rc == FY_AGAIN ? "full" : "broken", n);
    cand[slot].usable = 0;

    /* copy out: assigning may refill this very batch array entry */
    memcpy(&msg, &b->msg, sizeof(msg));
    memcpy(fds, b->fds, n * sizeof(int));
    for (i = 0; i < n; i++) {
        fy_master_assign(batches, cand, ncand, &msg.conns[i], fds[i]);
    }
}

static void
fy_master_assign(fy_master_batch_t *batches, fy_dispatch_cand_t *cand,
                 int ncand, const fy_channel_conn_t *conn, int fd)
{
    fy_master_batch_t  *b;
    int                 slot;

    slot = fy_dispatch_pick(fy_cycle->dispatch, &fy_dispatch_st, cand,
                            ncand);
    if (slot < 0) {
        fy_log_error(FY_LOG_ERR, 0, "no worker can take a connection; "
                     "closing it");
        fy_shm_add(fy_shm->dispatch_failed, 1);
        close(fd);
        return;
    }

    fy_log_debug("dispatch fd %d to worker slot %d pid %d (active %llu "
                 "inflight %llu rss %llu)", fd, slot,
                 (int) fy_workers[slot].pid,
                 (unsigned long long) cand[slot].active,
                 (unsigned long long) cand[slot].inflight,
                 (unsigned long long) cand[slot].rss);

    /* Count it now so the next pick in this burst sees it. */
    cand[slot].inflight++;

    b = &batches[slot];
    b->msg.conns[b->msg.nfds] = *conn;
    b->fds[b->msg.nfds] = fd;
    b->msg.nfds++;
    if (b->msg.nfds == FY_CHANNEL_MAX_FDS) {
        fy_master_flush(batches, cand, ncand, (unsigned) slot);
    }
}

/* A failed flush re-assigns its connections, possibly to a slot
 * already flushed in this pass: repeat until every batch is empty. */
static void
fy_master_flush_all(fy_master_batch_t *batches, fy_dispatch_cand_t *cand,
                    int ncand)
{
    unsigned  i, n;

    do {
        n = 0;
        for (i = 0; i < (unsigned) ncand; i++) {
            if (batches[i].msg.nfds) {
                fy_master_flush(batches, cand, ncand, i);
                n = 1;
            }
        }
    } while (n);
    fy_master_close_sent();
}

static void
fy_master_accept(fy_event_t *ev)
{
    static fy_master_batch_t  batches[FY_MAX_WORKERS];
    fy_dispatch_cand_t        cand[FY_MAX_WORKERS];
    fy_listen_t              *ls;
    fy_channel_conn_t         conn;
    socklen_t                 len;
    unsigned                  i, n, limit;
    int                       fd, ncand;

    i = (unsigned) (uintptr_t) ev->data;
    if (i >= fy_cycle->listening.nelts) {
        return;                     /* stale: from before a reload */
    }
    ls = fy_array_elt(&fy_cycle->listening, fy_listen_t, i);
    if (ls->fd == -1) {
        return;                     /* stale: closed by a stop */
    }

    ncand = fy_master_candidates(cand);

    /* "multi_accept off": one connection per wake-up, as in nginx; the
     * listener is level-triggered, so the next turn takes the next */
    limit = fy_cycle->core->multi_accept ? FY_ACCEPT_BATCH : 1;

    for (n = 0; n < limit; n++) {
        memset(&conn, 0, sizeof(conn));
        len = sizeof(conn.addr);
        fd = accept4(ls->fd, (struct sockaddr *) &conn.addr, &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd == -1) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            }
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }
            fy_log_error(FY_LOG_CRIT, errno, "accept4() on %s failed",
                         ls->text);
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM)
            {
                fy_master_listen_del(fy_cycle);
                fy_accept_resume_ev.handler = fy_master_accept_resume;
                fy_accept_resume_ev.timer_index = -1;
                fy_timer_add(&fy_accept_resume_ev, 100);
            }
            break;
        }
        fy_shm_add(fy_shm->accepted, 1);
        conn.listener = ls->serves ? fy_listen_local(fy_cycle, ls, fd)
                                   : ls->index;
        conn.addrlen = len;
        if (conn.addr.sin6_family == AF_UNIX) {
            /* a unix client's address is "unix:" (nginx); a path it
             * bound to would not fit here and says nothing useful */
            memset(&conn.addr, 0, sizeof(conn.addr));
            conn.addr.sin6_family = AF_UNIX;
            conn.addrlen = sizeof(sa_family_t);
        }
        fy_master_assign(batches, cand, ncand, &conn, fd);
    }
    fy_log_debug("accepted %u connection%s on %s in one pass", n,
                 n == 1 ? "" : "s", ls->text);
    fy_master_flush_all(batches, cand, ncand);
}

/*
 * Hand out the connections a reload took from the queues of old
 * sockets it stopped (fy_listen_open moved their address to a new
 * socket of the port).  committed: the new configuration `cycle` is in
 * charge and its workers run; each goes to the listener serving its
 * local address there (none: it is closed, as a dropped address's
 * queue is).  Otherwise the reload failed and `old` (fy_cycle) serves
 * it, on the listener it came to.
 */
static void
fy_master_hand_drained(fy_cycle_t *cycle, fy_cycle_t *old, int committed)
{
    static fy_master_batch_t  batches[FY_MAX_WORKERS];
    fy_dispatch_cand_t        cand[FY_MAX_WORKERS];
    fy_listen_drained_t      *d;
    fy_listen_t              *ols;
    fy_channel_conn_t         conn;
    unsigned                  i;
    int                       ncand, listener;

    if (cycle->drained.nelts == 0) {
        return;
    }
    ncand = fy_master_candidates(cand);
    for (i = 0; i < cycle->drained.nelts; i++) {
        d = fy_array_elt(&cycle->drained, fy_listen_drained_t, i);
        if (committed) {
            listener = fy_listen_serving(cycle, d->fd);
        } else {
            ols = fy_array_elt(&old->listening, fy_listen_t, d->from);
            listener = (int) (ols->serves ? fy_listen_local(old, ols, d->fd)
                                          : ols->index);
        }
        if (listener < 0) {
            close(d->fd);
            continue;
        }
        fy_shm_add(fy_shm->accepted, 1);
        memset(&conn, 0, sizeof(conn));
        conn.listener = (uint32_t) listener;
        conn.addrlen = d->addrlen;
        memcpy(&conn.addr, &d->addr, sizeof(conn.addr));
        fy_master_assign(batches, cand, ncand, &conn, d->fd);
    }
    fy_log_error(FY_LOG_NOTICE, 0, "%u connection%s queued on stopped old "
                 "sockets handed to the %s configuration's workers",
                 cycle->drained.nelts, cycle->drained.nelts == 1 ? "" : "s",
                 committed ? "new" : "old");
    cycle->drained.nelts = 0;
    fy_master_flush_all(batches, cand, ncand);
}

/* ---- reload ---- */

static void
fy_master_reload_failed(void)
{
    fy_log_error(FY_LOG_ALERT, 0, "reload failed: still serving the "
                 "previous configuration");
    fy_shm_add(fy_shm->reloads_failed, 1);
}

static void
fy_master_reload(void)
{
    fy_cycle_t  *cycle, *old = fy_cycle;
    fy_log_t     log;
    int          pid;

    fy_log_error(FY_LOG_NOTICE, 0, "reconfiguring");

    fy_shm_set(fy_shm->reload_ms, fy_wall_msec);
    fy_shm_set(fy_shm->reload_ok, 0);
    cycle = fy_cycle_load(fy_opts->prefix, fy_opts->conf_file,
                          fy_opts->directives, 0);
    if (cycle == NULL) {
        fy_shm_add(fy_shm->reloads_failed, 1);
        fy_log_error(FY_LOG_ALERT, 0, "reload failed: the configuration "
                     "above has errors; still serving the previous one");
        return;
    }

    /* The new main error_log and pid file are opened and written
     * before anything running is touched, as nginx opens a new cycle's
     * files: one that cannot be fails the reload (its [emerg] and the
     * [alert] still go to the old log, which stays in use). */
    if (fy_log_main_open(cycle, fy_opts->error_log, &log) != FY_OK) {
        fy_master_reload_failed();
        fy_cycle_free(cycle);
        return;
    }
    pid = fy_pidfile_reload(old->pid_path, cycle->pid_path);
    if (pid == FY_ERROR) {
        fy_master_reload_failed();
        fy_log_close(&log);
        fy_cycle_free(cycle);
        return;
    }

    /* Sockets the new cycle keeps change owner (and listener index):
     * take every old one out of epoll first, put them back if the new
     * configuration cannot be used after all. */
    fy_master_listen_del(old);
    if (fy_listen_open(cycle, old) != FY_OK
        || ((cycle->http || cycle->stream)
            && fy_http_peers_register(cycle) != FY_OK)
        || ((cycle->http || cycle->stream)
            && fy_http_limit_zones_map(cycle) != FY_OK))
    {
        fy_master_reload_failed();
        fy_log_close(&log);
        if (pid == FY_OK) {
            fy_pidfile_delete(cycle->pid_path);
        }
        fy_listen_give_back(cycle, old);
        fy_master_hand_drained(cycle, old, 0);
        fy_cycle_free(cycle);
        fy_master_listen_add();
        return;
    }

    /* From here on the new configuration is in charge: what the master
     * and the workers forked from now on log goes to its error_log
     * (nginx's master switches to the new cycle's log at this point
     * too); the old workers keep the old one until they exit. */
    fy_log_main_switch(cycle, &log);
    if (pid == FY_OK) {
        fy_pidfile_replaced(old->pid_path, cycle->pid_path);
    }
    if (cycle->core->daemon != old->core->daemon) {
        fy_log_error(FY_LOG_NOTICE, 0, "\"daemon %s\" takes effect when "
                     "ferry is started again", cycle->core->daemon ? "on"
                                                                    : "off");
    }
    fy_timer_del(&fy_accept_resume_ev);
    fy_listen_close(old);          /* only those the new one did not take */
    fy_cycle = cycle;
    fy_generation++;
    cycle->generation = fy_generation;
    fy_shm_set(fy_shm->generation, fy_generation);
    fy_shm_add(fy_shm->reloads, 1);
    fy_shm_set(fy_shm->reload_ok, 1);
    fy_master_listen_add();
    fy_alog_init_process(cycle);         /* access logs reopen from here */
    fy_http_error_log_init_process(cycle);      /* and error logs */
    fy_sched_master(cycle);

    fy_user_nofile(cycle);      /* the new workers' open-files limit */
    fy_supervise_cancel_respawns();
    fy_master_start_workers(cycle->workers);
    fy_master_hand_drained(cycle, old, 1);
    fy_master_signal_workers(SIGQUIT, 1);
    fy_master_checker_signal(SIGQUIT);     /* the new one starts when */
    fy_master_checker_start();             /* the old one is reaped */
    fy_cycle_free(old);
    fy_log_error(FY_LOG_NOTICE, 0, "reload done: generation %llu",
                 (unsigned long long) fy_generation);
    fy_http_regex_jit_report(cycle);
}

/* ---- signals and the loop ---- */

static void
fy_master_terminate_timeout(fy_event_t *ev)
{
    fy_unused(ev);
    fy_log_error(FY_LOG_ALERT, 0, "workers did not exit in %d ms; killing "
                 "them", FY_TERMINATE_WAIT);
    fy_master_signal_workers(SIGKILL, 0);
}

static void
fy_master_signal_handler(fy_event_t *ev)
{
    fy_log_t  *log;
    int        signo;

    fy_unused(ev);

    while ((signo = fy_signal_read()) > 0) {
        switch (signo) {

        case SIGCHLD:
            fy_master_reap();
            break;

        case SIGTERM:
        case SIGINT:
            if (fy_terminate) {
                break;
            }
            fy_log_error(FY_LOG_NOTICE, 0, "signal %d received, exiting",
                         signo);
            fy_terminate = 1;
            fy_shm_set(fy_shm->stopping, 1);
            fy_master_listen_del(fy_cycle);
            fy_listen_close(fy_cycle);
            fy_timer_del(&fy_accept_resume_ev);
            fy_master_signal_workers(SIGTERM, 0);
            fy_terminate_ev.handler = fy_master_terminate_timeout;
            fy_terminate_ev.timer_index = -1;
            fy_timer_add(&fy_terminate_ev, FY_TERMINATE_WAIT);
            break;

        case SIGQUIT:
            if (fy_quit || fy_terminate) {
                break;
            }
            fy_log_error(FY_LOG_NOTICE, 0, "signal %d received, shutting "
                         "down gracefully", signo);
            fy_quit = 1;
            fy_shm_set(fy_shm->stopping, 1);
            fy_master_listen_del(fy_cycle);
            fy_listen_close(fy_cycle);
            fy_timer_del(&fy_accept_resume_ev);
            fy_master_signal_workers(SIGQUIT, 0);
            break;

        case SIGHUP:
            if (!fy_quit && !fy_terminate) {
                fy_master_reload();
            }
            break;

        case SIGUSR1:
            fy_log_error(FY_LOG_NOTICE, 0, "reopening logs");
            fy_log_reopen(&fy_log);
            for (log = &fy_log; log; log = log->next) {
                fy_user_own_file(fy_cycle, log->path);
            }
            /* http's and stream's access logs */
            fy_alog_reopen(fy_cycle->core->user.data && geteuid() == 0
                           ? (int) fy_cycle->core->user_uid : -1);
            fy_http_error_log_reopen(fy_cycle->core->user.data
                                     && geteuid() == 0
                                     ? (int) fy_cycle->core->user_uid : -1);
            fy_master_signal_workers(SIGUSR1, 0);
            break;
        }
    }
}

int
fy_master_run(fy_cycle_t *cycle, const fy_master_opts_t *opts)
{
    unsigned  i;

    fy_cycle = cycle;
    fy_opts = opts;
    fy_generation = 1;
    cycle->generation = 1;
    fy_shm_set(fy_shm->generation, 1);

    for (i = 0; i < FY_MAX_WORKERS; i++) {
        fy_workers[i].channel = -1;
        fy_workers[i].respawn.timer_index = -1;
        fy_workers[i].kill.timer_index = -1;
    }

    fy_time_update();
    fy_shm_set(fy_shm->master_pid, (uint64_t) getpid());
    fy_shm_set(fy_shm->start_ms, fy_wall_msec);

    if (fy_event_init(1) != FY_OK || fy_signal_open() != FY_OK) {
        fy_pidfile_delete(cycle->pid_path);
        return 1;
    }
    fy_signal_ev.handler = fy_master_signal_handler;
    fy_accept_resume_ev.timer_index = -1;
    fy_terminate_ev.timer_index = -1;
    if (fy_event_add_fd(fy_signal_fd(), &fy_signal_ev) != FY_OK
        || fy_master_listen_add() != FY_OK)
    {
        fy_pidfile_delete(cycle->pid_path);
        return 1;
    }

    fy_alog_init_process(cycle);
    fy_http_error_log_init_process(cycle);
    fy_sched_master(cycle);
    fy_master_start_workers(cycle->workers);
    fy_supervise_start();
    fy_master_checker_start();

    for ( ;; ) {
        fy_event_process(-1);
        if ((fy_quit || fy_terminate) && fy_master_live_workers() == 0) {
            break;
        }
    }

    fy_supervise_stop();
    fy_log_error(FY_LOG_NOTICE, 0, "exit");
    /* the one the configuration in charge names: a reload may have
     * moved it */
    fy_pidfile_delete(fy_cycle->pid_path);
    fy_listen_close(fy_cycle);
    fy_cycle_free(fy_cycle);
    fy_cycle = NULL;
    fy_event_done();
    fy_signal_close();
    return 0;
}
