/*
 * fy_handoff.c -- keep-alive connections moving from a draining worker
 * to a running one, through the master.
 *
 * A worker that drains (old generation after a reload, or recycled for
 * its memory) does not close its idle keep-alive connections: closing
 * races with a client that is sending its next request at that moment,
 * and that client sees a dead connection.  It hands each one back over
 * its channel instead (HANDBACK: the fd, plus any bytes it had already
 * read), and the master passes it on (HANDOFF) to a worker picked the
 * way new connections are.  Bytes the client sends meanwhile wait in
 * the socket, which moves with the fd.  Nobody closes anything, so the
 * client never notices.
 */
#include "fy_core.h"
#include "fy_master_int.h"
#include "fy_channel.h"

/* Records read from one worker per wake-up, so a worker with many idle
 * connections cannot keep the master from its other work. */
#define FY_HANDOFF_BATCH  64

static void fy_handoff_read(fy_event_t *ev);
static void fy_handoff_take(fy_master_worker_t *w, int limit);
static void fy_handoff_pass(fy_channel_msg_t *msg, int fd);


int
fy_handoff_watch(unsigned slot)
{
    fy_master_worker_t  *w = &fy_workers[slot];

    w->channel_ev.handler = fy_handoff_read;
    w->channel_ev.data = w;
    w->channel_ev.timer_index = -1;
    return fy_event_add_fd(w->channel, &w->channel_ev);
}

void
fy_handoff_unwatch(unsigned slot)
{
    fy_master_worker_t  *w = &fy_workers[slot];

    if (w->channel == -1) {
        return;
    }
    /* A worker that exits right after handing back its connections may
     * be reaped before we read them: closing our end now would drop
     * them, and reset their clients. */
    fy_handoff_take(w, 0);
    if (w->channel_ev.data) {
        fy_event_del_fd(w->channel);
    }
    close(w->channel);
    w->channel = -1;
}

static void
fy_handoff_read(fy_event_t *ev)
{
    if (ev->data == NULL) {
        return;     /* stale: unwatched earlier in this turn */
    }
    fy_handoff_take(ev->data, FY_HANDOFF_BATCH);
}

/* Read up to limit records (0: all there are) and pass them on. */
static void
fy_handoff_take(fy_master_worker_t *w, int limit)
{
    static fy_channel_msg_t  msg;     /* 16 KiB: not on the stack */
    int                      fds[FY_CHANNEL_MAX_FDS], rc, n;

    for (n = 0; (limit == 0 || n < limit) && w->channel != -1; n++) {
        rc = fy_channel_recv(w->channel, &msg, fds);
        if (rc == FY_AGAIN) {
            return;
        }
        if (rc == FY_DONE) {
            /* the worker exited; SIGCHLD does the rest.  Stop watching
             * so the end of file does not wake us in a loop. */
            if (w->channel_ev.data) {
                fy_event_del_fd(w->channel);
                w->channel_ev.data = NULL;
            }
            return;
        }
        if (rc != FY_OK) {
            continue;       /* logged, and its fds closed */
        }
        if (msg.cmd != FY_CHANNEL_HANDBACK) {
            fy_log_error(FY_LOG_ALERT, 0, "worker process %d sent command "
                         "%u on its channel", (int) w->pid, msg.cmd);
            close(fds[0]);
            continue;
        }
        fy_handoff_pass(&msg, fds[0]);
    }
}

/* The listener of the current configuration with the address the
 * connection was accepted on; -1 if that listen is gone. */
static int
fy_handoff_listener(const fy_channel_handoff_t *h)
{
    fy_listen_t  *ls;
    unsigned      i;

    for (i = 0; i < fy_cycle->listening.nelts; i++) {
        ls = fy_array_elt(&fy_cycle->listening, fy_listen_t, i);
        /* a shared address has no socket: its wildcard's takes it */
        if ((ls->fd != -1 || ls->shared) && !ls->udp
            && ls->addrlen == h->local_len
            && memcmp(&ls->addr, &h->local, ls->addrlen) == 0)
        {
            return (int) i;
        }
    }
    return -1;
}

static void
fy_handoff_pass(fy_channel_msg_t *msg, int fd)
{
    fy_dispatch_cand_t   cand[FY_MAX_WORKERS];
    fy_master_worker_t  *w;
    int                  listener, slot, rc, ncand;

    listener = fy_quit || fy_terminate ? -1 : fy_handoff_listener(&msg->handoff);
    if (listener < 0) {
        /* shutting down, or the new configuration has no such listen:
         * the connection is idle, between requests, so closing it is
         * what a keep-alive client expects to happen some day */
        fy_log_debug("closing a handed-back connection: %s",
                     fy_quit || fy_terminate ? "shutting down"
                                             : "its listen is gone");
        fy_shm_add(fy_shm->handbacks_failed, 1);
        close(fd);
        return;
    }

    msg->cmd = FY_CHANNEL_HANDOFF;
    msg->handoff.conn.listener = (uint32_t) listener;

    ncand = fy_master_candidates(cand);

    for ( ;; ) {
        slot = fy_dispatch_pick(fy_cycle->dispatch, &fy_dispatch_st,
                                cand, ncand);
        if (slot < 0) {
            fy_log_error(FY_LOG_ERR, 0, "no worker can take a handed-back "
                         "connection; closing it");
            fy_shm_add(fy_shm->handbacks_failed, 1);
            close(fd);
            return;
        }

        w = &fy_workers[slot];
        rc = fy_channel_send(w->channel, msg, &fd);
        if (rc == FY_OK) {
            break;
        }
        /* full or broken: the next candidate */
        cand[slot].usable = 0;
    }

    close(fd);
    w->handed++;
    fy_shm_add(fy_shm->handbacks, 1);
    fy_shm_add(fy_shm->workers[slot].dispatched, 1);
    fy_log_debug("handed-back connection passed to worker slot %d pid %d "
                 "(%u bytes pending, %u requests served)", slot,
                 (int) w->pid, msg->handoff.len, msg->handoff.requests);
}
