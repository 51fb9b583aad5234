/*
 * fy_event.h -- the event loop: epoll, timers and connection objects.
 *
 * A connection (fy_conn_t) owns one fd and two events, read and write.
 * Its fd is registered once, edge-triggered, for both directions; a
 * handler therefore reads or writes until EAGAIN and remembers with
 * `ready` whether the fd may still have more.  Handlers are swapped as
 * the connection moves through its states (rev->handler = next_step).
 *
 * A client connection is registered lazily (fy_conn_register_lazy):
 * the handlers first try the socket directly, and the fd joins epoll
 * only when the loop is about to sleep with the connection still open.
 * A connection whose only wait is "notice if the client goes away"
 * (a proxied request waiting for its upstream) may stay out of epoll a
 * little longer (fy_conn_defer): a request answered within that time
 * and then closed never costs an epoll_ctl() nor the epoll bookkeeping
 * at close().
 *
 * Connections come from a preallocated array with a free list.  The
 * epoll data carries the slot index and the connection's `instance`,
 * which changes every time the slot is reused, so an event that was
 * already queued for a connection closed earlier in the same turn is
 * recognised as stale and dropped.
 */
#ifndef FY_EVENT_H
#define FY_EVENT_H

#include "fy_core.h"
#include "fy_times.h"
#include <netinet/in.h>

typedef struct fy_event_s  fy_event_t;
typedef struct fy_conn_s   fy_conn_t;

typedef void (*fy_event_handler_pt)(fy_event_t *ev);

struct fy_event_s {
    void                 *data;       /* the fy_conn_t, or owner */
    fy_event_handler_pt   handler;
    uint64_t              timer;      /* deadline, fy_current_msec */
    int                   timer_index;/* position in the heap, -1 if none */
    unsigned              write:1;    /* this is a write event */
    unsigned              ready:1;    /* fd may read/write without EAGAIN */
    unsigned              eof:1;      /* peer closed (read side) */
    unsigned              error:1;    /* EPOLLERR / EPOLLHUP */
    unsigned              timedout:1; /* handler called by the timer */
    unsigned              posted:1;   /* in the posted queue */
    fy_event_t           *post_next;  /* posted queue links */
    fy_event_t           *post_prev;
    fy_log_t             *log;        /* error_log of the connection's
                                         server or location, NULL: the
                                         main one (fy_log_cur) */
};

/* Run an event's handler with its error log current. */
#define fy_event_call(ev)                                                   \
    do { fy_log_cur = (ev)->log; (ev)->handler(ev); fy_log_cur = NULL; }    \
    while (0)

struct fy_conn_s {
    int                   fd;         /* -1 when free */
    uint32_t              instance;   /* bumped on every reuse */
    uint32_t              index;      /* slot in the array */
    fy_event_t            read;
    fy_event_t            write;
    void                 *data;       /* owner: http connection, upstream */
    void                 *listening;  /* fy_listen_t it came in on */
    void                 *ssl;        /* SSL *, NULL for plain TCP */
    struct sockaddr_in6   addr;       /* peer address */
    socklen_t             addrlen;
    fy_conn_t            *next_free;
    unsigned              registered:1;
    unsigned              lazy:1;     /* on the to-register list */
    unsigned              deferred:1; /* ... and fy_conn_defer()ed */
    unsigned              reg_failed:1;
    fy_conn_t            *lazy_next;  /* the to-register list */
    fy_conn_t            *lazy_prev;
    /* fy_conn_defer(): the handlers it saw and until when */
    fy_event_handler_pt   defer_read;
    fy_event_handler_pt   defer_write;
    uint64_t              defer_until;
    /* TLS: a read that must first write (SSL_ERROR_WANT_WRITE from
     * SSL_read: a key update answered into a full socket), or a write
     * that must first read.  The loop then runs the waiting handler
     * when the other direction's event comes (see fy_tls.h). */
    unsigned              read_on_write:1;
    unsigned              write_on_read:1;
    /* TLS with read-ahead: a socket read OpenSSL made came back short
     * (or empty) since fy_conn_recv() started; see fy_tls.c */
    unsigned              tls_drained:1;
    /* TLS 1.3 early data (ssl_early_data on, src/tls/fy_tls_early.c):
     * the handshake reads it (SSL_read_early_data) instead of only
     * handshaking; then, once some came, the connection reads and
     * writes in it (SSL_read_early_data / SSL_write_early_data) until
     * the client's EndOfEarlyData; the handshake's one byte of it
     * waits in tls_early_byte for the first read */
    unsigned              tls_early_hs:1;
    unsigned              tls_early:1;
    unsigned              tls_early_pre:1;
    u_char                tls_early_byte;
    /* TLS: the most one SSL_write takes, so the size of the records
     * sent: ssl_buffer_size on client connections, no limit
     * (UINT32_MAX, as fy_conn_get sets it) on upstream ones, where
     * nginx has no buffer either and OpenSSL makes 16k records */
    uint32_t              tls_buffer;
    /* Its read handler runs late in the turn, after the other ready
     * handlers and the posted events (fy_event_process): set on
     * upstream connections, so that the requests a turn read go up
     * together before the answers of the turn are read. */
    unsigned              read_late:1;
};

#define fy_timer_is_set(ev)   ((ev)->timer_index >= 0)

/* The loop. */
int   fy_event_init(unsigned max_conns);   /* FY_OK / FY_ERROR */
/* How many events one epoll_wait() may return (epoll_events; 512 from
 * fy_event_init, nginx's default): FY_OK / FY_ERROR (logged) */
#define FY_EPOLL_EVENTS  512
int   fy_event_batch(unsigned n);
void  fy_event_done(void);                 /* close epoll, free array */
/* Wait up to the next timer (or `max_wait` ms, -1 for none), run the
 * handlers of ready fds, then expired timers. */
void  fy_event_process(int max_wait);
int   fy_event_epoll_fd(void);

/* A non-connection fd (channel, signalfd) read with a plain handler:
 * level-triggered, readable only.  `ev->data` is the caller's. */
int   fy_event_add_fd(int fd, fy_event_t *ev);
void  fy_event_del_fd(int fd);

void  fy_event_ignore(fy_event_t *ev);

/* Connections. */
fy_conn_t *fy_conn_get(int fd);      /* NULL (fd untouched) if none free */
/* Register for edge-triggered read+write; FY_OK / FY_ERROR. */
int   fy_conn_register(fy_conn_t *c);
/* Register when the loop is next about to wait, if c is still open
 * then: handlers may read and write it directly until they get EAGAIN
 * (write.ready starts set: a new socket has room).  If epoll_ctl()
 * fails then, the loop logs it once and retries every 100 ms; the
 * connection's own timers still run. */
void  fy_conn_register_lazy(fy_conn_t *c);
/* For a lazily registered c that is not registered yet: leave it out
 * of epoll for up to `msec` more, as long as its read and write
 * handlers stay the ones it has now.  For a wait that only watches for
 * the peer going away.  At most FY_DEFER_MAX connections are deferred
 * at a time (the loop looks at each of them every turn); beyond that
 * this does nothing. */
#define FY_DEFER_MAX  128
void  fy_conn_defer(fy_conn_t *c, unsigned msec);
/* Take c out of epoll (if it is in) before its fd is sent to another
 * process: closing it here would leave the registration behind. */
void  fy_conn_unregister(fy_conn_t *c);
/* Close the fd, delete timers, return the slot.  Safe against events
 * still queued for it in this turn. */
void  fy_conn_close(fy_conn_t *c);
unsigned fy_conn_free_count(void);
unsigned fy_conn_used_count(void);
/* Keep *out equal to fy_conn_used_count() from now on (NULL: stop),
 * stored like fy_shm_set() does: a worker's slot, for the master to see
 * how full it is.  Stored before the close() of a freed connection, so
 * a peer that has seen the close never reads an older count. */
void  fy_conn_count_to(uint64_t *out);

/* Posted events run after the ready fds of this turn.  Used when a
 * handler knows there is work the kernel will not report again (bytes
 * already in a buffer, with edge-triggered epoll).  Closing the
 * connection unposts its events. */
void  fy_event_post(fy_event_t *ev);
void  fy_event_unpost(fy_event_t *ev);

/* Timers: a binary min-heap of events ordered by deadline. */
void  fy_timer_add(fy_event_t *ev, uint64_t msec);  /* re-arms if set */
void  fy_timer_unlink(fy_event_t *ev);    /* ev's timer is set */
/* Most calls find no timer set (a dozen per proxied request, a third
 * of them with one): that test is inline, the heap work is not. */
static inline void
fy_timer_del(fy_event_t *ev)
{
    if (fy_timer_is_set(ev)) {
        fy_timer_unlink(ev);
    }
}
/* ms until the earliest deadline, or -1 if there are no timers. */
int   fy_timer_next(void);
void  fy_timer_expire(void);
unsigned fy_timer_count(void);
void  fy_timer_reset(void);

#endif /* FY_EVENT_H */
