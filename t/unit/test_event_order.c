/*
 * test_event_order.c -- the order of one turn of fy_event_process: the
 * ready handlers, then the posted events, then the read handlers of
 * connections marked read_late (upstream connections), then what those
 * posted.  A late read is skipped when an earlier handler of the turn
 * closed its connection or drained its socket; a late connection's
 * write handler still runs in the first pass.
 *
 * Real sockets (AF_UNIX stream pairs) in the real epoll loop.  Each
 * turn makes the late connection readable first, so that without the
 * deferral its handler would be the first to run.  Lazily registered
 * connections are read in the order they were made.
 */

#include "fy_core.h"
#include "fy_event.h"
#include "fy_tls.h"
#include "fy_tap.h"

#include <sys/socket.h>

static char        order[64];  /* one letter per handler run, in order */
static size_t      norder;
static fy_event_t  posted;     /* posted by a's read handler */
static fy_conn_t  *close_me;   /* a's read handler closes this one */
static fy_conn_t  *drain_me;   /* ... or reads this one dry */

static void
note(char what)
{
    if (norder < sizeof(order) - 1) {
        order[norder++] = what;
        order[norder] = '\0';
    }
}

/* Reads what its peer sent (so that the next edge is a new one) and
 * notes the connection's letter, kept in the listening pointer. */
static void
rec_read(fy_event_t *ev)
{
    fy_conn_t  *c = ev->data;
    u_char      buf[64];

    while (fy_conn_recv(c, buf, sizeof(buf)) > 0) {
        /* drain */
    }
    note(*(const char *) c->listening);
}

static void
rec_write(fy_event_t *ev)
{
    fy_conn_t  *c = ev->data;

    note((char) (*(const char *) c->listening - 'a' + 'A'));
}

static void
rec_posted(fy_event_t *ev)
{
    (void) ev;
    note('p');
}

/* a's read handler: post an event, and close or drain another one */
static void
rec_read_a(fy_event_t *ev)
{
    u_char  buf[64];

    rec_read(ev);
    fy_event_post(&posted);
    if (close_me) {
        fy_conn_close(close_me);
        close_me = NULL;
    }
    if (drain_me) {
        while (fy_conn_recv(drain_me, buf, sizeof(buf)) > 0) {
            /* what drain_me's own handler would have read */
        }
        drain_me = NULL;
    }
}

/* A registered connection named by *name; *peer gets the other end. */
static fy_conn_t *
conn(const char *name, int *peer, int late)
{
    fy_conn_t  *c;
    int         sv[2];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == -1) {
        return NULL;
    }
    c = fy_conn_get(sv[0]);
    if (c == NULL) {
        return NULL;
    }
    c->listening = (void *) name;
    c->read_late = late;
    c->read.handler = rec_read;
    c->write.handler = fy_event_ignore;
    if (fy_conn_register(c) != FY_OK) {
        return NULL;
    }
    *peer = sv[1];
    return c;
}

/* Run one turn (after the ones that only report the new sockets as
 * writable) and return the letters it noted. */
static const char *
turn(void)
{
    norder = 0;
    order[0] = '\0';
    fy_event_process(1000);
    return order;
}

static void
poke(int peer)
{
    if (write(peer, "x", 1) != 1) {
        ok(0, "write to a peer: %s", strerror(errno));
    }
}

/* The late connection's peer writes first, then a's; one turn must
 * note exactly `want`. */
static void
late_first(int late_peer, int peer_a, const char *want, const char *what)
{
    poke(late_peer);
    poke(peer_a);
    is_str(turn(), want, "%s", what);
}

int
main(void)
{
    fy_conn_t   *a, *b, *c, *b2;
    int          pa, pb, pc, pb2;
    const char  *o;

    ok(fy_event_init(16) == FY_OK, "event loop");
    posted.handler = rec_posted;

    a = conn("a", &pa, 0);
    b = conn("b", &pb, 1);
    c = conn("c", &pc, 0);
    ok(a && b && c, "three connections registered, b read_late");
    if (!(a && b && c)) {
        return done_testing();
    }
    a->read.handler = rec_read_a;
    b->write.handler = rec_write;
    fy_event_process(0);        /* the first EPOLLOUT of each */

    /* the late one becomes readable first */
    poke(pb);
    poke(pa);
    poke(pc);
    o = turn();
    is_int(strlen(o), 5, "turn 1: five handlers ran (%s)", o);
    ok(strchr(o, 'a') && strchr(o, 'c') && strchr(o, 'p')
       && strchr(o, 'B') && o[strlen(o) - 1] == 'b',
       "turn 1: b's read handler ran last (%s)", o);
    ok(strchr(o, 'p') && strchr(o, 'a') && strchr(o, 'c')
       && strchr(o, 'p') > strchr(o, 'a') && strchr(o, 'p') > strchr(o, 'c'),
       "turn 1: the posted event after the ready handlers (%s)", o);
    ok(strchr(o, 'B') && strchr(o, 'p') && strchr(o, 'B') < strchr(o, 'p'),
       "turn 1: b's write handler in the first pass, before the posted "
       "event (%s)", o);

    /* a's handler closes b before b's late read would run */
    b->write.handler = fy_event_ignore;
    close_me = b;
    late_first(pb, pa, "ap", "turn 2: a late read of a connection closed "
               "meanwhile does not run");
    close(pb);

    /* the slot is reused; a's handler reads the new one dry */
    b2 = conn("d", &pb2, 1);
    ok(b2 != NULL, "another late connection");
    if (b2 == NULL) {
        return done_testing();
    }
    fy_event_process(0);
    drain_me = b2;
    late_first(pb2, pa, "ap", "turn 3: a late read whose socket an earlier "
               "handler drained does not run");

    /* without interference it runs, after the posted event */
    late_first(pb2, pa, "apd", "turn 4: a's read, the posted event, then "
               "d's late read");

    /* connections registered lazily (new clients) join epoll in the
     * order they came, and those readable already are reported in that
     * order: first come, first served */
    {
        static const char  *names[] = { "e", "f", "g" };
        fy_conn_t          *l[3];
        int                 sv[2], peers[3], i, made = 0;

        for (i = 0; i < 3; i++) {
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv)
                == -1 || (l[i] = fy_conn_get(sv[0])) == NULL)
            {
                break;
            }
            l[i]->listening = (void *) names[i];
            l[i]->read.handler = rec_read;
            l[i]->write.handler = fy_event_ignore;
            peers[i] = sv[1];
            poke(peers[i]);
            fy_conn_register_lazy(l[i]);
            made++;
        }
        ok(made == 3, "three lazy connections, each with bytes waiting");
        is_str(turn(), "efg", "lazy connections are read in the order "
               "they were made");
        for (i = 0; i < made; i++) {
            close(peers[i]);
        }
    }

    close(pa);
    close(pc);
    close(pb2);
    fy_event_done();
    return done_testing();
}
