/*
 * fy_event.c -- the epoll loop and the connection array.
 */
#include "fy_core.h"
#include "fy_event.h"
#include "fy_tls.h"

#include <sys/epoll.h>

/* epoll data of a plain fd: the top bit says "not a connection". */
#define FY_EV_PLAIN      ((uint64_t) 1 << 63)

static int          fy_ep = -1;
static fy_conn_t   *fy_conns;
static fy_conn_t   *fy_free_conns;
static unsigned     fy_nconns;
static unsigned     fy_nfree;
static fy_event_t  *fy_posted;       /* posted queue head */
static fy_event_t  *fy_posted_tail;
static fy_conn_t   *fy_lazy;         /* open, not yet in epoll: oldest */
static fy_conn_t   *fy_lazy_tail;    /* ... newest (registered in order) */
static unsigned     fy_ndeferred;    /* of those, fy_conn_defer()ed */
static uint64_t    *fy_conn_count_out;  /* fy_conn_count_to() */
/* what one epoll_wait() may return (epoll_events), and the indexes of
 * those whose reads wait for the end of the turn (read_late) */
static struct epoll_event  *fy_evs;
static int                 *fy_late;
static int                  fy_nevs;

#define FY_REG_RETRY_MS  100

static void fy_lazy_del(fy_conn_t *c);
static int fy_conn_register_pending(int timeout);

int
fy_event_init(unsigned max_conns)
{
    unsigned  i;

    fy_pid = getpid();      /* a new process's loop: see fy_core.h */

    fy_ep = epoll_create1(EPOLL_CLOEXEC);
    if (fy_ep == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "epoll_create1() failed");
        return FY_ERROR;
    }

    fy_conns = calloc(max_conns, sizeof(fy_conn_t));
    if (fy_conns == NULL) {
        fy_log_error(FY_LOG_EMERG, errno, "cannot allocate %u connections",
                     max_conns);
        return FY_ERROR;
    }

    /* Build the free list so that slot 0 is handed out first. */
    for (i = max_conns; i-- > 0; ) {
        fy_conns[i].fd = -1;
        fy_conns[i].index = i;
        fy_conns[i].read.timer_index = -1;
        fy_conns[i].write.timer_index = -1;
        fy_conns[i].next_free = fy_free_conns;
        fy_free_conns = &fy_conns[i];
    }
    fy_nconns = max_conns;
    fy_nfree = max_conns;

    if (fy_event_batch(FY_EPOLL_EVENTS) != FY_OK) {
        return FY_ERROR;
    }
    fy_time_update();
    return FY_OK;
}

int
fy_event_batch(unsigned n)
{
    struct epoll_event  *evs;
    int                 *late;

    evs = calloc(n, sizeof(struct epoll_event));
    late = calloc(n, sizeof(int));
    if (evs == NULL || late == NULL) {
        fy_log_error(FY_LOG_EMERG, errno, "cannot allocate %u epoll events",
                     n);
        free(evs);
        free(late);
        return FY_ERROR;
    }
    free(fy_evs);
    free(fy_late);
    fy_evs = evs;
    fy_late = late;
    fy_nevs = (int) n;
    return FY_OK;
}

void
fy_event_done(void)
{
    /* A new worker drops what it inherited from the master's loop,
     * including its idea of its own pid (getpid() until its own init). */
    fy_pid = 0;
    fy_timer_reset();
    fy_posted = fy_posted_tail = NULL;
    fy_lazy = NULL;
    fy_lazy_tail = NULL;
    fy_ndeferred = 0;
    if (fy_ep != -1) {
        close(fy_ep);
        fy_ep = -1;
    }
    free(fy_conns);
    fy_conns = NULL;
    fy_free_conns = NULL;
    fy_nconns = fy_nfree = 0;
    fy_conn_count_out = NULL;
}

static void
fy_conn_count_publish(void)
{
    if (fy_conn_count_out) {
        __atomic_store_n(fy_conn_count_out, (uint64_t) (fy_nconns - fy_nfree),
                         __ATOMIC_RELAXED);
    }
}

void
fy_conn_count_to(uint64_t *out)
{
    fy_conn_count_out = out;
    fy_conn_count_publish();
}

int
fy_event_epoll_fd(void)
{
    return fy_ep;
}

int
fy_event_add_fd(int fd, fy_event_t *ev)
{
    struct epoll_event  ee;

    ee.events = EPOLLIN;
    ee.data.u64 = FY_EV_PLAIN | (uint64_t) (uintptr_t) ev;
    if (epoll_ctl(fy_ep, EPOLL_CTL_ADD, fd, &ee) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "epoll_ctl(ADD, %d) failed", fd);
        return FY_ERROR;
    }
    return FY_OK;
}

void
fy_event_del_fd(int fd)
{
    if (epoll_ctl(fy_ep, EPOLL_CTL_DEL, fd, NULL) == -1 && errno != EBADF) {
        fy_log_error(FY_LOG_ALERT, errno, "epoll_ctl(DEL, %d) failed", fd);
    }
}

fy_conn_t *
fy_conn_get(int fd)
{
    fy_conn_t  *c = fy_free_conns;

    if (c == NULL) {
        return NULL;
    }
    fy_free_conns = c->next_free;
    fy_nfree--;
    fy_conn_count_publish();

    c->fd = fd;
    c->instance++;
    c->data = NULL;
    c->listening = NULL;
    c->ssl = NULL;
    c->addrlen = 0;
    c->registered = 0;
    c->lazy = 0;
    c->deferred = 0;
    c->reg_failed = 0;
    c->read_late = 0;
    c->read_on_write = 0;
    c->write_on_read = 0;
    c->tls_early_hs = 0;
    c->tls_early = 0;
    c->tls_early_pre = 0;
    c->tls_buffer = UINT32_MAX;   /* no limit until a server sets one */
    memset(&c->read, 0, sizeof(fy_event_t));
    memset(&c->write, 0, sizeof(fy_event_t));
    c->read.data = c;
    c->write.data = c;
    c->read.handler = fy_event_ignore;
    c->write.handler = fy_event_ignore;
    c->write.write = 1;
    c->read.timer_index = -1;
    c->write.timer_index = -1;
    return c;
}

/* The handler of an event nobody waits for: readiness is remembered
 * in ev->ready by the loop, so nothing is lost by ignoring it. */
void
fy_event_ignore(fy_event_t *ev)
{
    fy_unused(ev);
}

int
fy_conn_register(fy_conn_t *c)
{
    struct epoll_event  ee;

    ee.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ee.data.u64 = ((uint64_t) c->instance << 32) | c->index;
    if (epoll_ctl(fy_ep, EPOLL_CTL_ADD, c->fd, &ee) == -1) {
        if (!c->reg_failed) {       /* a lazy one is retried: log once */
            fy_log_error(FY_LOG_ALERT, errno, "epoll_ctl(ADD, %d) failed",
                         c->fd);
        }
        c->reg_failed = 1;
        return FY_ERROR;
    }
    c->registered = 1;
    return FY_OK;
}

/*
 * Before c's socket leaves this process over the channel: close()
 * would not end the registration, since epoll watches the open file
 * and the file lives on in the process that receives it.  This loop
 * would go on waking up for a socket another worker serves.
 */
void
fy_conn_unregister(fy_conn_t *c)
{
    if (c->registered
        && epoll_ctl(fy_ep, EPOLL_CTL_DEL, c->fd, NULL) == -1)
    {
        fy_log_error(FY_LOG_ALERT, errno, "epoll_ctl(DEL, %d) failed",
                     c->fd);
    }
    c->registered = 0;
}

void
fy_conn_register_lazy(fy_conn_t *c)
{
    c->write.ready = 1;
    c->lazy = 1;
    /* at the tail: connections join epoll in the order they came, and
     * those readable already are reported in that order (an EPOLLET
     * registration of a ready socket joins the ready list's tail), so
     * that a batch of connections handed over together is served
     * first come, first served */
    c->lazy_next = NULL;
    c->lazy_prev = fy_lazy_tail;
    if (fy_lazy_tail) {
        fy_lazy_tail->lazy_next = c;
    } else {
        fy_lazy = c;
    }
    fy_lazy_tail = c;
}

void
fy_conn_defer(fy_conn_t *c, unsigned msec)
{
    if (!c->lazy) {
        return;                     /* in epoll already */
    }
    if (!c->deferred) {
        if (fy_ndeferred >= FY_DEFER_MAX) {
            return;                 /* registered at the end of the turn */
        }
        c->deferred = 1;
        fy_ndeferred++;
    }
    c->defer_read = c->read.handler;
    c->defer_write = c->write.handler;
    c->defer_until = fy_current_msec + msec;
}

static void
fy_lazy_del(fy_conn_t *c)
{
    if (c->lazy_prev) {
        c->lazy_prev->lazy_next = c->lazy_next;
    } else {
        fy_lazy = c->lazy_next;
    }
    if (c->lazy_next) {
        c->lazy_next->lazy_prev = c->lazy_prev;
    } else {
        fy_lazy_tail = c->lazy_prev;
    }
    c->lazy = 0;
    if (c->deferred) {
        c->deferred = 0;
        fy_ndeferred--;
    }
}

/*
 * Before the loop sleeps: register the lazy connections, except those
 * deferred whose handlers have not changed since and whose time has
 * not come.  Returns the epoll_wait() timeout, shortened to the first
 * deferral that will end (or to a retry after a failed epoll_ctl()).
 * A registration done now loses nothing: with EPOLLET, adding an fd
 * that is already readable or writable queues that event at once.
 */
static int
fy_conn_register_pending(int timeout)
{
    fy_conn_t  *c, *next;
    uint64_t    wait;

    for (c = fy_lazy; c; c = next) {
        next = c->lazy_next;

        if (c->deferred
            && c->defer_until > fy_current_msec
            && c->read.handler == c->defer_read
            && c->write.handler == c->defer_write)
        {
            wait = c->defer_until - fy_current_msec;

        } else if (fy_conn_register(c) == FY_OK) {
            fy_lazy_del(c);
            continue;

        } else {
            /* ENOMEM or the epoll watch limit: try again soon; the
             * connection's own timers end it meanwhile */
            wait = FY_REG_RETRY_MS;
        }
        if (timeout < 0 || wait < (uint64_t) timeout) {
            timeout = (int) wait;
        }
    }
    return timeout;
}

void
fy_event_post(fy_event_t *ev)
{
    if (ev->posted) {
        return;
    }
    ev->posted = 1;
    ev->post_next = NULL;
    ev->post_prev = fy_posted_tail;
    if (fy_posted_tail) {
        fy_posted_tail->post_next = ev;
    } else {
        fy_posted = ev;
    }
    fy_posted_tail = ev;
}

void
fy_event_unpost(fy_event_t *ev)
{
    if (!ev->posted) {
        return;
    }
    ev->posted = 0;
    if (ev->post_prev) {
        ev->post_prev->post_next = ev->post_next;
    } else {
        fy_posted = ev->post_next;
    }
    if (ev->post_next) {
        ev->post_next->post_prev = ev->post_prev;
    } else {
        fy_posted_tail = ev->post_prev;
    }
    ev->post_next = ev->post_prev = NULL;
}

/* Run what is posted now; handlers may post more, which also runs. */
static void
fy_event_run_posted(void)
{
    fy_event_t  *ev;

    while ((ev = fy_posted) != NULL) {
        fy_event_unpost(ev);
        fy_event_call(ev);
    }
}

void
fy_conn_close(fy_conn_t *c)
{
    int  fd;

    if (c->fd == -1) {
        return;
    }
    fy_timer_del(&c->read);
    fy_timer_del(&c->write);
    fy_event_unpost(&c->read);
    fy_event_unpost(&c->write);
    if (c->lazy) {
        fy_lazy_del(c);
    }
    if (c->ssl) {
        fy_tls_conn_free(c);
    }
    fd = c->fd;
    c->fd = -1;
    c->instance++;       /* events already queued for it become stale */
    c->data = NULL;
    c->next_free = fy_free_conns;
    fy_free_conns = c;
    fy_nfree++;
    /* the count first: a client that has seen this close and connects
     * again must find the slot free in the master's eyes */
    fy_conn_count_publish();
    /* close() removes the fd from epoll: this process never dups it,
     * and one sent to another process was taken out first
     * (fy_conn_unregister). */
    close(fd);
}

unsigned
fy_conn_free_count(void)
{
    return fy_nfree;
}

unsigned
fy_conn_used_count(void)
{
    return fy_nconns - fy_nfree;
}

/* The connection an epoll event's data names (slot index in the low
 * 32 bits, the slot's instance in the high ones), or NULL if that
 * connection has been closed since (the slot free or reused). */
static fy_conn_t *
fy_event_live_conn(uint64_t d)
{
    fy_conn_t  *c = &fy_conns[d & 0xffffffff];

    return c->fd != -1 && c->instance == (uint32_t) (d >> 32) ? c : NULL;
}

void
fy_event_process(int max_wait)
{
    struct epoll_event *evs = fy_evs;
    fy_event_t         *ev;
    fy_conn_t          *c;
    uint64_t            d;
    uint32_t            instance, what;
    int                 n, i, timeout, nlate;
    int                *late = fy_late;     /* read_late: evs indexes */

    timeout = fy_posted ? 0 : fy_timer_next();
    if (timeout == -1 || (max_wait >= 0 && max_wait < timeout)) {
        timeout = max_wait;
    }
    if (fy_lazy) {
        timeout = fy_conn_register_pending(timeout);
    }

    n = epoll_wait(fy_ep, evs, fy_nevs, timeout);
    fy_time_update();

    if (n == -1) {
        if (errno != EINTR) {
            fy_log_error(FY_LOG_ALERT, errno, "epoll_wait() failed");
        }
        n = 0;
    }

    nlate = 0;
    for (i = 0; i < n; i++) {
        d = evs[i].data.u64;
        what = evs[i].events;

        if (d & FY_EV_PLAIN) {
            ev = (fy_event_t *) (uintptr_t) (d & ~FY_EV_PLAIN);
            ev->ready = 1;
            ev->error = (what & (EPOLLERR | EPOLLHUP)) != 0;
            fy_event_call(ev);
            continue;
        }

        c = fy_event_live_conn(d);
        if (c == NULL) {
            continue;   /* closed earlier in this turn */
        }
        instance = c->instance;

        if (what & (EPOLLERR | EPOLLHUP)) {
            /* Let both handlers find out through their next syscall. */
            what |= EPOLLIN | EPOLLOUT;
            c->read.error = c->write.error = 1;
        }
        if (what & EPOLLRDHUP) {
            c->read.eof = 1;
            what |= EPOLLIN;
        }

        /* A TLS read waiting for the socket to take bytes (or a write
         * waiting for bytes to come) is run from the posted queue when
         * that direction's event arrives: its own direction may never
         * report again.  Posted before the handlers run, so a close
         * in them unposts it. */
        if ((what & EPOLLIN) && c->write_on_read) {
            c->write_on_read = 0;
            c->write.ready = 1;
            fy_event_post(&c->write);
        }
        if ((what & EPOLLOUT) && c->read_on_write) {
            c->read_on_write = 0;
            c->read.ready = 1;
            fy_event_post(&c->read);
        }

        if (what & EPOLLIN) {
            c->read.ready = 1;
            if (c->read_late) {
                late[nlate++] = i;      /* run below */
            } else {
                fy_event_call(&c->read);
            }
        }
        /* The read handler may have closed (and even reused) the slot. */
        if ((what & EPOLLOUT) && c->fd != -1 && c->instance == instance) {
            c->write.ready = 1;
            fy_event_call(&c->write);
        }
    }

    /*
     * The turn's requests first, then its answers.  The handlers above
     * read what clients sent, and a request for a kept upstream
     * connection is posted (fy_proxy_connect), so the posted run sends
     * the turn's requests up one after another; only then are the
     * upstream answers of the turn read and written down.  Each
     * receiving process (the upstream server, the clients) is thus
     * woken once for several messages instead of once per message,
     * which on a busy machine costs them (and the CPU ferry shares with
     * them) less than the few microseconds the answers wait; see
     * docs/performance.md.
     */
    fy_event_run_posted();
    for (i = 0; i < nlate; i++) {
        c = fy_event_live_conn(evs[late[i]].data.u64);
        if (c == NULL) {
            continue;   /* closed meanwhile */
        }
        if (c->read.ready) {
            fy_event_call(&c->read);
        }
    }
    fy_event_run_posted();
    fy_timer_expire();
    fy_event_run_posted();
}
