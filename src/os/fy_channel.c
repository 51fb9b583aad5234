/*
 * fy_channel.c -- passing accepted client fds from the master to a
 * worker over an AF_UNIX SOCK_SEQPACKET socketpair.
 *
 * One sendmsg() carries one record: the fy_channel_msg_t header, the
 * nfds used fy_channel_conn_t entries (never the unused tail of the
 * array), and the nfds fds as one SCM_RIGHTS control message, in the
 * same order.  SEQPACKET delivers a record whole or not at all, so the
 * receiver never sees half a batch and the byte count alone tells how
 * many entries were sent.
 *
 * Hand-off records (one connection moving between generations) carry
 * the bytes already read from it after the fixed part; only the used
 * part travels, and the receiver checks the length against the header.
 *
 * The receiver trusts nothing: every fd that arrives with a record it
 * rejects is closed here, so a bad record never leaks descriptors into
 * a worker.
 */

#include "fy_core.h"
#include "fy_channel.h"


#define FY_CHANNEL_HDR_SIZE  offsetof(fy_channel_msg_t, conns)
/* a hand-off record without its data */
#define FY_CHANNEL_HANDOFF_SIZE                                              \
    (FY_CHANNEL_HDR_SIZE + offsetof(fy_channel_handoff_t, data))

/*
 * The control buffer must be aligned for struct cmsghdr; a char array
 * alone is not, so it shares a union with the header it will hold.
 */
typedef union {
    struct cmsghdr  cm;
    char            buf[CMSG_SPACE(sizeof(int) * FY_CHANNEL_MAX_FDS)];
} fy_channel_cmsg_t;


static void fy_channel_close_fds(const int *fds, int n);
static int fy_channel_take_fds(struct msghdr *mh, int *fds);
static int fy_channel_check(int ch, fy_channel_msg_t *msg, size_t n);


/*
 * Accepts an array of two ints.  Creates the pair, both ends
 * nonblocking (the master must never wait on a busy worker) and
 * close-on-exec.  Returns FY_OK with fds[0] and fds[1] set, or
 * FY_ERROR (logged, errno kept).
 */
int
fy_channel_open(int fds[2])
{
    int  err;

    if (socketpair(AF_UNIX, SOCK_SEQPACKET|SOCK_NONBLOCK|SOCK_CLOEXEC, 0,
                   fds)
        == -1)
    {
        err = errno;
        fy_log_error(FY_LOG_ALERT, err, "socketpair() for a channel failed");
        errno = err;
        return FY_ERROR;
    }

    return FY_OK;
}


/*
 * Accepts the sending end of a channel, a message with cmd and nfds set
 * and conns[0..nfds-1] filled, and nfds fds (fds[i] belongs to
 * msg->conns[i]).  Returns FY_OK when the whole record was queued (the
 * kernel now holds its own references; the caller closes its copies),
 * FY_AGAIN when the channel is full and nothing was sent (the caller
 * still owns the fds), or FY_ERROR (logged, errno kept) when the peer
 * is gone or the message is invalid.
 */
int
fy_channel_send(int ch, fy_channel_msg_t *msg, const int *fds)
{
    int                 err;
    size_t              len, fdlen;
    ssize_t             n;
    struct iovec        iov;
    struct msghdr       mh;
    struct cmsghdr     *cmsg;
    fy_channel_cmsg_t   control;

    if (msg->nfds == 0 || msg->nfds > FY_CHANNEL_MAX_FDS
        || (msg->cmd != FY_CHANNEL_CONNS && msg->nfds != 1))
    {
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: refusing to send %u fds", ch, msg->nfds);
        errno = EINVAL;
        return FY_ERROR;
    }

    if (msg->cmd == FY_CHANNEL_CONNS) {
        len = FY_CHANNEL_HDR_SIZE + msg->nfds * sizeof(fy_channel_conn_t);

    } else if (msg->handoff.len <= FY_CHANNEL_MAX_DATA) {
        /* only the used part of data travels */
        len = FY_CHANNEL_HANDOFF_SIZE + msg->handoff.len;

    } else {
        fy_log_error(FY_LOG_ALERT, 0, "channel %d: refusing to send %u "
                     "bytes with a connection", ch, msg->handoff.len);
        errno = EINVAL;
        return FY_ERROR;
    }
    fdlen = msg->nfds * sizeof(int);

    iov.iov_base = msg;
    iov.iov_len = len;

    /* zeroed so the padding CMSG_SPACE() adds carries no stack bytes */
    memset(&control, 0, sizeof(control));

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = CMSG_SPACE(fdlen);

    cmsg = CMSG_FIRSTHDR(&mh);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(fdlen);
    memcpy(CMSG_DATA(cmsg), fds, fdlen);

    for ( ;; ) {
        /* MSG_NOSIGNAL: a dead worker must cost an EPIPE, not the
         * master's life */
        n = sendmsg(ch, &mh, MSG_NOSIGNAL);

        if (n != -1) {
            break;
        }

        err = errno;

        if (err == EINTR) {
            continue;
        }

        if (err == EAGAIN || err == EWOULDBLOCK) {
            return FY_AGAIN;
        }

        if (err == EPIPE || err == ECONNRESET) {
            /* the worker exited; the master learns it from SIGCHLD too */
            fy_log_error(FY_LOG_ERR, err,
                         "sendmsg() on channel %d failed, peer is gone", ch);

        } else {
            fy_log_error(FY_LOG_ALERT, err,
                         "sendmsg() of %u fds on channel %d failed",
                         msg->nfds, ch);
        }

        errno = err;
        return FY_ERROR;
    }

    /* a SEQPACKET record is sent whole or not at all */
    if ((size_t) n != len) {
        fy_log_error(FY_LOG_ALERT, 0,
                     "sendmsg() on channel %d sent %zd of %zu bytes",
                     ch, n, len);
        errno = EIO;
        return FY_ERROR;
    }

    return FY_OK;
}


/*
 * Accepts the receiving end of a channel and room for a message and
 * FY_CHANNEL_MAX_FDS fds.  Returns FY_OK with msg filled and msg->nfds
 * fds (close-on-exec, owned by the caller) in fds[]; FY_AGAIN when no
 * record is waiting; FY_DONE when the peer closed its end (or died,
 * ECONNRESET); FY_ERROR
 * (logged) on a read error or a malformed record, whose fds are
 * closed here.
 */
int
fy_channel_recv(int ch, fy_channel_msg_t *msg, int *fds)
{
    int                 nrecv, err;
    int                 got[FY_CHANNEL_MAX_FDS];
    ssize_t             n;
    struct iovec        iov;
    struct msghdr       mh;
    fy_channel_cmsg_t   control;

    iov.iov_base = msg;
    iov.iov_len = sizeof(fy_channel_msg_t);

    memset(&mh, 0, sizeof(mh));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = control.buf;
    mh.msg_controllen = sizeof(control.buf);

    for ( ;; ) {
        /* MSG_CMSG_CLOEXEC: the fds are close-on-exec from the moment
         * they exist in this process, with no window to fix them up */
        n = recvmsg(ch, &mh, MSG_CMSG_CLOEXEC);

        if (n != -1) {
            break;
        }

        err = errno;

        if (err == EINTR) {
            continue;
        }

        if (err == EAGAIN || err == EWOULDBLOCK) {
            return FY_AGAIN;
        }

        if (err == ECONNRESET) {
            /* the peer died with records of ours unread: it is gone,
             * just as at end of file */
            return FY_DONE;
        }

        fy_log_error(FY_LOG_ALERT, err, "recvmsg() on channel %d failed", ch);
        errno = err;
        return FY_ERROR;
    }

    /* collect whatever fds arrived first, so that every rejection
     * below can close them */
    nrecv = fy_channel_take_fds(&mh, got);

    if (nrecv == -1) {
        /* an unexpected control message; take_fds closed what it had */
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: unexpected control message", ch);
        return FY_ERROR;
    }

    if (n == 0) {
        /*
         * On SEQPACKET 0 is end of file, but an empty record reads as
         * 0 too.  The master never sends one, so with nothing attached
         * this is the master going away.
         */
        if (nrecv == 0 && !(mh.msg_flags & MSG_CTRUNC)) {
            return FY_DONE;
        }

        fy_channel_close_fds(got, nrecv);
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: empty record with %d fds", ch, nrecv);
        return FY_ERROR;
    }

    if (mh.msg_flags & (MSG_CTRUNC|MSG_TRUNC)) {
        /* more bytes or more fds than a valid record can hold; the
         * kernel already dropped the fds that did not fit */
        fy_channel_close_fds(got, nrecv);
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: truncated record (%zd bytes, %d fds%s%s)",
                     ch, n, nrecv,
                     (mh.msg_flags & MSG_TRUNC) ? ", data truncated" : "",
                     (mh.msg_flags & MSG_CTRUNC) ? ", fds truncated" : "");
        return FY_ERROR;
    }

    if ((size_t) n < FY_CHANNEL_HDR_SIZE) {
        fy_channel_close_fds(got, nrecv);
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: short record of %zd bytes", ch, n);
        return FY_ERROR;
    }

    if (fy_channel_check(ch, msg, (size_t) n) != FY_OK) {
        fy_channel_close_fds(got, nrecv);
        return FY_ERROR;
    }

    if ((uint32_t) nrecv != msg->nfds) {
        fy_channel_close_fds(got, nrecv);
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: record claims %u fds but carries %d",
                     ch, msg->nfds, nrecv);
        return FY_ERROR;
    }

    memcpy(fds, got, nrecv * sizeof(int));

    return FY_OK;
}


/*
 * Accepts a received record of n bytes (at least the header).  Checks
 * that its command is known, that its length is what its header says
 * and that no address length overruns its field.  Returns FY_OK, or
 * FY_ERROR (logged).
 */
static int
fy_channel_check(int ch, fy_channel_msg_t *msg, size_t n)
{
    uint32_t  i;

    switch (msg->cmd) {

    case FY_CHANNEL_CONNS:
        if (msg->nfds == 0 || msg->nfds > FY_CHANNEL_MAX_FDS
            || n != FY_CHANNEL_HDR_SIZE
                    + msg->nfds * sizeof(fy_channel_conn_t))
        {
            fy_log_error(FY_LOG_ALERT, 0,
                         "channel %d: record of %zu bytes claims %u fds",
                         ch, n, msg->nfds);
            return FY_ERROR;
        }

        /* the worker copies addrlen bytes of addr; a length past the
         * field would read beyond it */
        for (i = 0; i < msg->nfds; i++) {
            if (msg->conns[i].addrlen > sizeof(msg->conns[i].addr)) {
                fy_log_error(FY_LOG_ALERT, 0,
                             "channel %d: connection %u has addrlen %u",
                             ch, i, msg->conns[i].addrlen);
                return FY_ERROR;
            }
        }

        return FY_OK;

    case FY_CHANNEL_HANDBACK:
    case FY_CHANNEL_HANDOFF:
        if (msg->nfds != 1 || n < FY_CHANNEL_HANDOFF_SIZE
            || msg->handoff.len > FY_CHANNEL_MAX_DATA
            || n != FY_CHANNEL_HANDOFF_SIZE + msg->handoff.len)
        {
            fy_log_error(FY_LOG_ALERT, 0, "channel %d: hand-off record of "
                         "%zu bytes claims %u fds and %u bytes of data",
                         ch, n, msg->nfds,
                         n >= FY_CHANNEL_HANDOFF_SIZE ? msg->handoff.len : 0);
            return FY_ERROR;
        }

        if (msg->handoff.conn.addrlen > sizeof(msg->handoff.conn.addr)
            || msg->handoff.local_len > sizeof(msg->handoff.local))
        {
            fy_log_error(FY_LOG_ALERT, 0, "channel %d: hand-off record "
                         "with address lengths %u and %u", ch,
                         msg->handoff.conn.addrlen, msg->handoff.local_len);
            return FY_ERROR;
        }

        return FY_OK;

    default:
        fy_log_error(FY_LOG_ALERT, 0,
                     "channel %d: unknown command %u", ch, msg->cmd);
        return FY_ERROR;
    }
}


/*
 * Accepts a received msghdr and room for FY_CHANNEL_MAX_FDS fds.
 * Copies out the fds of every SCM_RIGHTS control message, in order.
 * Returns how many, or -1 if a control message of another kind came
 * along (then every fd received is closed already).
 */
static int
fy_channel_take_fds(struct msghdr *mh, int *fds)
{
    int              n, k, bad;
    size_t           len;
    struct cmsghdr  *cmsg;

    n = 0;
    bad = 0;

    for (cmsg = CMSG_FIRSTHDR(mh); cmsg != NULL; cmsg = CMSG_NXTHDR(mh, cmsg))
    {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS
            || cmsg->cmsg_len < CMSG_LEN(0))
        {
            bad = 1;
            continue;
        }

        len = cmsg->cmsg_len - CMSG_LEN(0);
        k = (int) (len / sizeof(int));

        /* the control buffer only has room for FY_CHANNEL_MAX_FDS, but
         * do not let a miscount write past fds[] */
        if (n + k > FY_CHANNEL_MAX_FDS) {
            k = FY_CHANNEL_MAX_FDS - n;
            bad = 1;
        }

        /* CMSG_DATA() need not be aligned for int: copy, do not cast */
        memcpy(&fds[n], CMSG_DATA(cmsg), k * sizeof(int));
        n += k;
    }

    if (bad) {
        fy_channel_close_fds(fds, n);
        return -1;
    }

    return n;
}


/*
 * Accepts n received fds; closes them all.  Used to drop a rejected
 * record without leaking what came with it.
 */
static void
fy_channel_close_fds(const int *fds, int n)
{
    int  i;

    for (i = 0; i < n; i++) {
        (void) close(fds[i]);
    }
}
