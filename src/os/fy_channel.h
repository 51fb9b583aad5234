/*
 * fy_channel.h -- the master-to-worker channel.
 *
 * One AF_UNIX SOCK_SEQPACKET socketpair per worker, both ends
 * nonblocking and close-on-exec.  SEQPACKET keeps message boundaries,
 * so each sendmsg() is one record: a fixed header, one fy_channel_conn_t
 * per passed fd, and the fds themselves as SCM_RIGHTS ancillary data in
 * the same order.  Several accepted connections travel in one message.
 *
 * A keep-alive connection that moves between generations at a reload
 * travels as a hand-off record instead: one fd, and with it whatever
 * the old worker had already read from it (bounded by
 * FY_CHANNEL_MAX_DATA), so the client never notices the move:
 *
 *   old worker --HANDBACK--> master --HANDOFF--> new worker
 */
#ifndef FY_CHANNEL_H
#define FY_CHANNEL_H

#include "fy_core.h"
#include "fy_cycle.h"
#include <netinet/in.h>

#define FY_CHANNEL_MAX_FDS   32
/* Bytes read but not yet served that may travel with a handed-back
 * connection: two default large_client_header_buffers' worth.  A worker
 * holding more serves them itself instead of handing back. */
#define FY_CHANNEL_MAX_DATA  16384

enum {
    FY_CHANNEL_CONNS = 1,     /* master -> worker: new client connections */
    FY_CHANNEL_HANDBACK,      /* worker -> master: an idle keep-alive
                                 connection it will not serve */
    FY_CHANNEL_HANDOFF        /* master -> worker: such a connection, to
                                 be continued */
};

/* What travels with each fd: which listener it was accepted on and
 * the peer address accept4() returned (so the worker needs no
 * getpeername()). */
typedef struct {
    uint32_t             listener;   /* index into the cycle's listeners */
    uint32_t             addrlen;
    struct sockaddr_in6  addr;       /* holds sockaddr_in too */
} fy_channel_conn_t;

/* One connection moving between workers (nfds is 1).  Only the first
 * len bytes of data travel. */
typedef struct {
    fy_channel_conn_t    conn;       /* peer; listener: index in the
                                        receiver's cycle (HANDOFF only) */
    fy_sockaddr_t        local;      /* the listener's address (unix-domain
                                        ones too): cycles differ, so it is
                                        matched by this */
    uint32_t             local_len;
    uint32_t             requests;   /* served on it so far */
    uint32_t             len;        /* bytes in data */
    u_char               data[FY_CHANNEL_MAX_DATA];
} fy_channel_handoff_t;

typedef struct {
    uint32_t                  cmd;   /* FY_CHANNEL_* */
    uint32_t                  nfds;  /* 1..FY_CHANNEL_MAX_FDS; 1 for
                                        HANDBACK and HANDOFF */
    union {
        fy_channel_conn_t     conns[FY_CHANNEL_MAX_FDS];   /* CONNS */
        fy_channel_handoff_t  handoff;        /* HANDBACK, HANDOFF */
    };
} fy_channel_msg_t;

/* socketpair(AF_UNIX, SOCK_SEQPACKET|NONBLOCK|CLOEXEC); FY_OK/FY_ERROR */
int fy_channel_open(int fds[2]);

/* Send msg->nfds fds (fds[i] goes with msg->conns[i]); for HANDBACK
 * and HANDOFF the one fd goes with msg->handoff.
 * FY_OK: all sent (the caller then closes its copies);
 * FY_AGAIN: the channel is full, nothing was sent;
 * FY_ERROR: the peer is gone or another error (errno kept). */
int fy_channel_send(int ch, fy_channel_msg_t *msg, const int *fds);

/* Receive one message.  On FY_OK msg->nfds fds are stored in fds[]
 * (the caller owns them).  FY_AGAIN: nothing to read; FY_DONE: the
 * master closed the channel; FY_ERROR: a malformed message (any fds
 * that came with it are closed) or a read error. */
int fy_channel_recv(int ch, fy_channel_msg_t *msg, int *fds);

#endif /* FY_CHANNEL_H */
