/*
 * test_channel.c -- the master-to-worker channel over a real
 * socketpair, and the /proc statistics of fy_proc.
 *
 * Passed fds are checked to be the very same open files (a byte
 * written through the received end comes out of the pipe the sender
 * made, and fstat() agrees), and every path that rejects or refuses a
 * record is checked not to leak descriptors.
 */

#include "fy_core.h"
#include "fy_channel.h"
#include "fy_proc.h"
#include "fy_tap.h"

#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <arpa/inet.h>


#define HDR   offsetof(fy_channel_msg_t, conns)
#define CONN  sizeof(fy_channel_conn_t)


/* Open fds of this process, counted independently of fy_proc. */
static int
count_fds(void)
{
    int             n;
    DIR            *d;
    struct dirent  *de;

    d = opendir("/proc/self/fd");
    if (d == NULL) {
        return -1;
    }

    n = 0;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.') {
            n++;
        }
    }

    closedir(d);

    return n - 1;       /* the directory itself */
}


static int
same_file(int a, int b)
{
    struct stat  sa, sb;

    if (fstat(a, &sa) == -1 || fstat(b, &sb) == -1) {
        return 0;
    }

    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}


static int
has_fl(int fd, int cmd, int flag)
{
    int  v;

    v = fcntl(fd, cmd);

    return v != -1 && (v & flag);
}


/* Fill conns[i] with a distinct address: IPv4 for even i, IPv6 odd. */
static void
fill_conn(fy_channel_conn_t *c, uint32_t i)
{
    struct sockaddr_in  *sin;

    memset(c, 0, sizeof(*c));
    c->listener = i * 7 + 1;

    if (i % 2 == 0) {
        sin = (struct sockaddr_in *) &c->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t) (10000 + i));
        sin->sin_addr.s_addr = htonl(0x7f000001 + i);
        c->addrlen = sizeof(struct sockaddr_in);

    } else {
        c->addr.sin6_family = AF_INET6;
        c->addr.sin6_port = htons((uint16_t) (20000 + i));
        c->addr.sin6_addr.s6_addr[15] = (uint8_t) i;
        c->addr.sin6_addr.s6_addr[0] = 0xfe;
        c->addrlen = sizeof(struct sockaddr_in6);
    }
}


/* Send arbitrary bytes with arbitrary fds, bypassing fy_channel_send. */
static ssize_t
raw_send(int s, const void *data, size_t len, const int *fds, int nfds)
{
    struct iovec    iov;
    struct msghdr   mh;
    struct cmsghdr *cm;
    union {
        struct cmsghdr  cm;
        char            buf[CMSG_SPACE(sizeof(int) * 64)];
    } control;

    iov.iov_base = (void *) data;
    iov.iov_len = len;

    memset(&mh, 0, sizeof(mh));
    memset(&control, 0, sizeof(control));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;

    if (nfds > 0) {
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
    }

    return sendmsg(s, &mh, MSG_NOSIGNAL);
}


static void
test_open(int ch[2])
{
    is_int(fy_channel_open(ch), FY_OK, "open: socketpair");
    ok(has_fl(ch[0], F_GETFL, O_NONBLOCK) && has_fl(ch[1], F_GETFL, O_NONBLOCK),
       "open: both ends nonblocking");
    ok(has_fl(ch[0], F_GETFD, FD_CLOEXEC) && has_fl(ch[1], F_GETFD, FD_CLOEXEC),
       "open: both ends close-on-exec");
}


static void
test_one(int ch[2])
{
    int               p[2], fds[FY_CHANNEL_MAX_FDS], rc;
    char              buf[16];
    fy_channel_msg_t  msg, in;

    if (pipe(p) == -1) {
        ok(0, "pipe");
        return;
    }

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = 1;
    fill_conn(&msg.conns[0], 0);

    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK, "one: send");

    /* the kernel holds its own reference: closing ours must not
     * break the fd in flight */
    close(p[1]);

    memset(&in, 0xa5, sizeof(in));
    fds[0] = -1;
    rc = fy_channel_recv(ch[1], &in, fds);
    is_int(rc, FY_OK, "one: recv");
    is_int(in.cmd, FY_CHANNEL_CONNS, "one: cmd");
    is_int(in.nfds, 1, "one: nfds");
    ok(memcmp(&in.conns[0], &msg.conns[0], CONN) == 0,
       "one: listener and address arrive intact");
    ok(fds[0] >= 0, "one: got an fd");
    ok(has_fl(fds[0], F_GETFD, FD_CLOEXEC), "one: received fd is cloexec");

    ok(write(fds[0], "ferry", 5) == 5, "one: write through received fd");
    ok(read(p[0], buf, sizeof(buf)) == 5 && memcmp(buf, "ferry", 5) == 0,
       "one: bytes come out of the original pipe");

    close(fds[0]);
    close(p[0]);
}


static void
test_batch(int ch[2])
{
    int               i, rc, good_data, good_file, good_pipe;
    int               p[FY_CHANNEL_MAX_FDS][2];
    int               wfds[FY_CHANNEL_MAX_FDS], fds[FY_CHANNEL_MAX_FDS];
    char              c;
    ssize_t           n;
    fy_channel_msg_t  msg, in, raw;

    for (i = 0; i < FY_CHANNEL_MAX_FDS; i++) {
        if (pipe(p[i]) == -1) {
            ok(0, "batch: pipe");
            return;
        }
        wfds[i] = p[i][1];
    }

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = FY_CHANNEL_MAX_FDS;
    for (i = 0; i < FY_CHANNEL_MAX_FDS; i++) {
        fill_conn(&msg.conns[i], i);
    }

    is_int(fy_channel_send(ch[0], &msg, wfds), FY_OK, "batch: send 32");

    memset(&in, 0, sizeof(in));
    rc = fy_channel_recv(ch[1], &in, fds);
    is_int(rc, FY_OK, "batch: recv");
    is_int(in.nfds, FY_CHANNEL_MAX_FDS, "batch: nfds");

    good_data = good_file = good_pipe = 1;

    for (i = 0; rc == FY_OK && i < FY_CHANNEL_MAX_FDS; i++) {
        if (memcmp(&in.conns[i], &msg.conns[i], CONN) != 0) {
            good_data = 0;
        }

        if (!same_file(fds[i], p[i][1])) {
            good_file = 0;
        }

        /* the order matters: fds[i] must go with conns[i] */
        c = (char) ('A' + i);
        if (write(fds[i], &c, 1) != 1 || read(p[i][0], &c, 1) != 1
            || c != (char) ('A' + i))
        {
            good_pipe = 0;
        }

        close(fds[i]);
    }

    ok(good_data, "batch: every conn entry intact");
    ok(good_file, "batch: every fd is the same file (st_dev/st_ino)");
    ok(good_pipe, "batch: every fd in order, writes reach its pipe");

    /* only the used part of conns[] travels */
    msg.nfds = 2;
    is_int(fy_channel_send(ch[0], &msg, wfds), FY_OK, "size: send 2");
    n = recv(ch[1], &raw, sizeof(raw), 0);    /* fds discarded by kernel */
    is_int(n, HDR + 2 * CONN, "size: record is header + 2 entries");

    for (i = 0; i < FY_CHANNEL_MAX_FDS; i++) {
        close(p[i][0]);
        close(p[i][1]);
    }
}


static void
test_again(int ch[2])
{
    int               p[2], fds[FY_CHANNEL_MAX_FDS], before, sent, rc, recvd;
    int               all_same;
    fy_channel_msg_t  msg, in;

    is_int(fy_channel_recv(ch[1], &in, fds), FY_AGAIN,
           "again: empty channel -> FY_AGAIN");

    if (pipe(p) == -1) {
        ok(0, "pipe");
        return;
    }

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = 1;
    fill_conn(&msg.conns[0], 1);

    before = count_fds();

    for (sent = 0; sent < 100000; sent++) {
        rc = fy_channel_send(ch[0], &msg, &p[1]);
        if (rc != FY_OK) {
            break;
        }
    }

    is_int(rc, FY_AGAIN, "again: full channel -> FY_AGAIN (after %d)", sent);
    ok(sent > 0, "again: some records fitted first");
    is_int(count_fds(), before, "again: filling leaks no fds");
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_AGAIN,
           "again: still FY_AGAIN");

    recvd = 0;
    all_same = 1;
    while (fy_channel_recv(ch[1], &in, fds) == FY_OK) {
        if (!same_file(fds[0], p[1])) {
            all_same = 0;
        }
        close(fds[0]);
        recvd++;
    }

    is_int(recvd, sent, "again: every queued record arrives");
    ok(all_same, "again: each carries the pipe");
    is_int(count_fds(), before, "again: drained, no fd leaked");

    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK,
           "again: room again after draining");
    is_int(fy_channel_recv(ch[1], &in, fds), FY_OK, "again: and it arrives");
    close(fds[0]);

    close(p[0]);
    close(p[1]);
}


/* Send a raw record; expect FY_ERROR from recv and no fd left behind. */
static void
expect_malformed(int ch[2], const void *data, size_t len, const int *fds,
    int nfds, const char *what)
{
    int               before, got[FY_CHANNEL_MAX_FDS];
    ssize_t           n;
    fy_channel_msg_t  in;

    before = count_fds();

    n = raw_send(ch[0], data, len, fds, nfds);
    if (n == -1) {
        ok(0, "malformed %s: raw send: %s", what, strerror(errno));
        ok(0, "malformed %s: no fds leaked", what);
        return;
    }

    is_int(fy_channel_recv(ch[1], &in, got), FY_ERROR,
           "malformed %s -> FY_ERROR", what);
    is_int(count_fds(), before, "malformed %s: no fds leaked", what);
}


static void
test_malformed(int ch[2])
{
    int               i, p[2], many[FY_CHANNEL_MAX_FDS + 1], fds[2];
    char              garbage[64], big[sizeof(fy_channel_msg_t) + 16];
    fy_channel_msg_t  msg, in;

    if (pipe(p) == -1) {
        ok(0, "pipe");
        return;
    }

    for (i = 0; i < (int) sizeof(garbage); i++) {
        garbage[i] = (char) (i * 37 + 11);
    }

    fds[0] = fds[1] = p[1];
    for (i = 0; i <= FY_CHANNEL_MAX_FDS; i++) {
        many[i] = p[1];
    }

    expect_malformed(ch, garbage, sizeof(garbage), NULL, 0, "garbage");
    expect_malformed(ch, garbage, 3, NULL, 0, "3 bytes");
    expect_malformed(ch, garbage, sizeof(garbage), fds, 1, "garbage with fd");

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = 2;
    fill_conn(&msg.conns[0], 0);
    fill_conn(&msg.conns[1], 1);

    expect_malformed(ch, &msg, HDR + 2 * CONN, NULL, 0, "no fds");
    expect_malformed(ch, &msg, HDR + 2 * CONN, fds, 1, "claims 2 carries 1");

    msg.nfds = 1;
    expect_malformed(ch, &msg, HDR + CONN, fds, 2, "claims 1 carries 2");
    expect_malformed(ch, &msg, HDR + 2 * CONN, fds, 1, "too many bytes");
    expect_malformed(ch, &msg, HDR + CONN - 1, fds, 1, "too few bytes");

    msg.cmd = 99;
    expect_malformed(ch, &msg, HDR + CONN, fds, 1, "unknown cmd");

    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = 0;
    expect_malformed(ch, &msg, HDR, fds, 1, "nfds 0");

    msg.nfds = FY_CHANNEL_MAX_FDS + 1;
    expect_malformed(ch, &msg, sizeof(msg), fds, 1, "nfds 33");

    msg.nfds = 1;
    msg.conns[0].addrlen = sizeof(msg.conns[0].addr) + 1;
    expect_malformed(ch, &msg, HDR + CONN, fds, 1, "addrlen too big");
    fill_conn(&msg.conns[0], 0);

    memset(big, 0, sizeof(big));
    memcpy(big, &msg, sizeof(msg));
    expect_malformed(ch, big, sizeof(big), fds, 1, "oversized (MSG_TRUNC)");

    msg.nfds = FY_CHANNEL_MAX_FDS;
    expect_malformed(ch, &msg, sizeof(msg), many, FY_CHANNEL_MAX_FDS + 1,
                     "33 fds (MSG_CTRUNC)");

    /* after all that, a good record still goes through */
    msg.nfds = 1;
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK, "malformed: then send");
    is_int(fy_channel_recv(ch[1], &in, fds), FY_OK,
           "malformed: channel still usable");
    ok(same_file(fds[0], p[1]), "malformed: and carries the right fd");
    close(fds[0]);

    msg.nfds = 0;
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_ERROR,
           "send: nfds 0 refused");
    msg.nfds = FY_CHANNEL_MAX_FDS + 1;
    is_int(fy_channel_send(ch[0], &msg, many), FY_ERROR,
           "send: nfds 33 refused");
    is_int(fy_channel_recv(ch[1], &in, fds), FY_AGAIN,
           "send: refused records were not sent");

    close(p[0]);
    close(p[1]);
}


/* A connection handed back with the bytes already read from it. */
static void
test_handoff(int ch[2])
{
    int               p[2], fds[FY_CHANNEL_MAX_FDS];
    ssize_t           n;
    fy_channel_msg_t  msg, in, raw;
    static char       big[sizeof(fy_channel_msg_t) + 64];
    static const char pending[] = "GET /next HTTP/1.1\r\nHost: x\r\n";

    if (pipe(p) == -1) {
        ok(0, "pipe");
        return;
    }

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_HANDBACK;
    msg.nfds = 1;
    fill_conn(&msg.handoff.conn, 1);
    fill_conn((fy_channel_conn_t *) &raw, 0);
    memcpy(&msg.handoff.local, &((fy_channel_conn_t *) &raw)->addr,
           sizeof(struct sockaddr_in6));
    msg.handoff.local_len = sizeof(struct sockaddr_in);
    msg.handoff.requests = 7;
    msg.handoff.len = sizeof(pending) - 1;
    memcpy(msg.handoff.data, pending, sizeof(pending) - 1);

    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK, "handoff: send");
    memset(&in, 0xa5, sizeof(in));
    is_int(fy_channel_recv(ch[1], &in, fds), FY_OK, "handoff: recv");
    is_int(in.cmd, FY_CHANNEL_HANDBACK, "handoff: cmd");
    is_int(in.handoff.requests, 7, "handoff: requests");
    is_int(in.handoff.len, sizeof(pending) - 1, "handoff: data length");
    ok(memcmp(in.handoff.data, pending, sizeof(pending) - 1) == 0,
       "handoff: pending bytes arrive intact");
    ok(memcmp(&in.handoff.conn, &msg.handoff.conn, CONN) == 0
       && memcmp(&in.handoff.local, &msg.handoff.local,
                 sizeof(in.handoff.local)) == 0,
       "handoff: peer and listener addresses arrive intact");
    ok(same_file(fds[0], p[1]), "handoff: and the right fd");
    close(fds[0]);

    /* only the used part of data travels */
    msg.cmd = FY_CHANNEL_HANDOFF;
    msg.handoff.len = 0;
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK, "handoff: no data");
    n = recv(ch[1], &raw, sizeof(raw), 0);
    is_int(n, HDR + offsetof(fy_channel_handoff_t, data),
           "handoff: record without data is header + fixed part");

    msg.handoff.len = FY_CHANNEL_MAX_DATA + 1;
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_ERROR,
           "handoff: more than FY_CHANNEL_MAX_DATA refused");
    msg.handoff.len = 4;
    msg.nfds = 2;
    is_int(fy_channel_send(ch[0], &msg, fds), FY_ERROR,
           "handoff: two fds refused");
    msg.nfds = 1;

    /* a receiver trusts no length */
    expect_malformed(ch, &msg, HDR + offsetof(fy_channel_handoff_t, data) + 3,
                     &p[1], 1, "handoff shorter than its len");
    expect_malformed(ch, &msg, HDR + offsetof(fy_channel_handoff_t, data) + 5,
                     &p[1], 1, "handoff longer than its len");
    expect_malformed(ch, &msg, HDR + 8, &p[1], 1, "handoff truncated header");
    /* a record longer than the struct: sent from a bigger buffer */
    msg.handoff.len = FY_CHANNEL_MAX_DATA + 1;
    memset(big, 0, sizeof(big));
    memcpy(big, &msg, sizeof(msg));
    expect_malformed(ch, big, HDR + offsetof(fy_channel_handoff_t, data)
                     + FY_CHANNEL_MAX_DATA + 1, &p[1], 1,
                     "handoff len past the limit");
    msg.handoff.len = 4;
    msg.handoff.local_len = sizeof(msg.handoff.local) + 1;
    expect_malformed(ch, &msg, HDR + offsetof(fy_channel_handoff_t, data) + 4,
                     &p[1], 1, "handoff local_len too big");
    msg.handoff.local_len = sizeof(struct sockaddr_in);
    msg.nfds = 2;
    expect_malformed(ch, &msg, HDR + offsetof(fy_channel_handoff_t, data) + 4,
                     fds, 0, "handoff claiming 2 fds");

    is_int(fy_channel_recv(ch[1], &in, fds), FY_AGAIN,
           "handoff: nothing left over");
    close(p[0]);
    close(p[1]);
}


static void
test_done(void)
{
    int               ch[2], p[2], fds[FY_CHANNEL_MAX_FDS];
    fy_channel_msg_t  msg, in;

    if (fy_channel_open(ch) != FY_OK || pipe(p) == -1) {
        ok(0, "done: setup");
        return;
    }

    memset(&msg, 0, sizeof(msg));
    msg.cmd = FY_CHANNEL_CONNS;
    msg.nfds = 1;
    fill_conn(&msg.conns[0], 0);

    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_OK, "done: send then close");
    close(ch[0]);

    is_int(fy_channel_recv(ch[1], &in, fds), FY_OK,
           "done: queued record still read after peer closed");
    close(fds[0]);
    is_int(fy_channel_recv(ch[1], &in, fds), FY_DONE,
           "done: then FY_DONE");
    is_int(fy_channel_recv(ch[1], &in, fds), FY_DONE,
           "done: and FY_DONE again");
    close(ch[1]);

    /* the other direction: the worker went away */
    if (fy_channel_open(ch) != FY_OK) {
        ok(0, "done: open");
        return;
    }

    close(ch[1]);
    errno = 0;
    is_int(fy_channel_send(ch[0], &msg, &p[1]), FY_ERROR,
           "done: send to a closed peer -> FY_ERROR");
    is_int(errno, EPIPE, "done: errno EPIPE kept (and no SIGPIPE)");

    close(ch[0]);
    close(p[0]);
    close(p[1]);
}


static void
test_proc(void)
{
    int       fd, n0, n1;
    char     *p;
    uint64_t  r0, r1, rs;

    r0 = fy_proc_rss();
    ok(r0 > 0, "proc: rss > 0 (%llu)", (unsigned long long) r0);
    ok(r0 % (uint64_t) sysconf(_SC_PAGESIZE) == 0, "proc: rss in whole pages");

    p = malloc(32 << 20);
    if (p == NULL) {
        ok(0, "proc: malloc");
        return;
    }

    memset(p, 1, 32 << 20);
    /* the compiler must believe the bytes are used, or at -O2 it may
     * drop the memset of a block that is only freed afterwards */
    __asm__ __volatile__("" : : "r"(p) : "memory");
    r1 = fy_proc_rss();
    ok(r1 >= r0 + (24 << 20), "proc: rss grows after touching 32 MiB (+%lld)",
       (long long) (r1 - r0));

    rs = fy_proc_rss_of(getpid());
    ok(rs >= r1 - (4 << 20) && rs <= r1 + (4 << 20),
       "proc: rss_of(getpid()) agrees with rss()");

    /* keep the memset from being optimised out */
    ok(p[12345] == 1, "proc: block touched");
    free(p);

    ok(fy_proc_rss_of(getppid()) > 0, "proc: rss_of(parent) > 0");
    is_int(fy_proc_rss_of(0), 0, "proc: rss_of(0) -> 0");
    is_int(fy_proc_rss_of(-1), 0, "proc: rss_of(-1) -> 0");
    is_int(fy_proc_rss_of(0x7ffffff0), 0, "proc: rss_of(no such pid) -> 0");

    n0 = fy_proc_count_fds(getpid());
    is_int(n0, count_fds(), "proc: count_fds matches /proc/self/fd");

    fd = open("/dev/null", O_RDONLY|O_CLOEXEC);
    n1 = fy_proc_count_fds(getpid());
    is_int(n1, n0 + 1, "proc: count_fds +1 after open()");
    close(fd);
    is_int(fy_proc_count_fds(getpid()), n0, "proc: count_fds back after close");

    is_int(fy_proc_count_fds(-1), -1, "proc: count_fds(-1) -> -1");
    is_int(fy_proc_count_fds(0x7ffffff0), -1,
           "proc: count_fds(no such pid) -> -1");
}


int
main(void)
{
    int  ch[2], before;

    before = count_fds();

    test_open(ch);
    test_one(ch);
    test_batch(ch);
    test_again(ch);
    test_malformed(ch);
    test_handoff(ch);
    close(ch[0]);
    close(ch[1]);

    test_done();

    is_int(count_fds(), before, "channel tests leave no fds behind");

    test_proc();

    return done_testing();
}
