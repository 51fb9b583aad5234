/*
 * test_resolver.c -- the DNS messages of the resolver (fy_dns.c): the
 * query's bytes, and answers made by hand: plain A and AAAA records,
 * names compressed with pointers into the question and into a CNAME's
 * data, a CNAME chain, records for other names skipped, error codes,
 * truncation; and packets to refuse: another id, another question, a
 * query instead of a response, cut short at every length, a pointer
 * loop, a forward pointer, a bad label type, an A record of 5 bytes.
 * SRV records (upstream "service="): priority, weight, port and the
 * target, plain or compressed, "." as an empty target; an SRV record
 * too short, or whose target runs past its data, refused.
 */
#include "fy_core.h"
#include "fy_dns.h"
#include "fy_tap.h"

#include <sys/socket.h>

#define N(s)  (const u_char *) (s), sizeof(s) - 1

static u_char  msg[1024];
static size_t  len;

/* a response header for id 0x1234: flags, counts (qd 1) */
static void
start(unsigned flags, unsigned an)
{
    u_char  h[12] = { 0x12, 0x34, (u_char) (flags >> 8), (u_char) flags,
                      0, 1, (u_char) (an >> 8), (u_char) an, 0, 0, 0, 0 };

    memcpy(msg, h, 12);
    len = 12;
}

static void
put(const void *p, size_t n)
{
    memcpy(msg + len, p, n);
    len += n;
}

/* the question "www.example.test" type t, class IN: the name at 12 */
static void
question(unsigned t)
{
    u_char  tail[4] = { 0, (u_char) t, 0, 1 };

    put("\3www\7example\4test\0", 18);
    put(tail, 4);
}

/* a record's fixed part: type, class IN, ttl, rdlength */
static void
rr(unsigned type, uint32_t ttl, unsigned rdlen)
{
    u_char  f[10] = { 0, (u_char) type, 0, 1, (u_char) (ttl >> 24),
                      (u_char) (ttl >> 16), (u_char) (ttl >> 8),
                      (u_char) ttl, 0, (u_char) rdlen };

    put(f, 10);
}

static int
parse(unsigned qtype, fy_dns_answer_t *ans)
{
    return fy_dns_parse(msg, len, 0x1234, N("www.example.test"),
                        (uint16_t) qtype, ans);
}

static void
test_query(void)
{
    u_char  buf[FY_DNS_UDP_MAX], big[300];
    size_t  n;
    static const u_char  want[] =
        "\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
        "\3www\7example\4test\0\0\x1c\0\1";

    n = fy_dns_query(buf, sizeof(buf), 0x1234, N("www.example.test"),
                     FY_DNS_AAAA);
    ok(n == sizeof(want) - 1 && memcmp(buf, want, n) == 0,
       "query: header (id, RD, one question), labels, AAAA, IN");
    n = fy_dns_query(buf, sizeof(buf), 0x1234, N("www.example.test."),
                     FY_DNS_AAAA);
    ok(n == sizeof(want) - 1 && memcmp(buf, want, n) == 0,
       "query: a final dot changes nothing");
    is_int(fy_dns_query(buf, sizeof(buf), 1, N("a..b"), FY_DNS_A), 0,
           "query: an empty label is refused");
    is_int(fy_dns_query(buf, sizeof(buf), 1, N(".a"), FY_DNS_A), 0,
           "query: a leading dot is refused");
    memset(big, 'x', sizeof(big));
    is_int(fy_dns_query(buf, sizeof(buf), 1, big, 64, FY_DNS_A), 0,
           "query: a label of 64 bytes is refused");
    ok(fy_dns_query(buf, sizeof(buf), 1, big, 63, FY_DNS_A) != 0,
       "query: a label of 63 bytes is taken");
    /* four labels of 63 bytes: 255 bytes with the dots */
    big[63] = big[127] = big[191] = '.';
    is_int(fy_dns_query(buf, sizeof(buf), 1, big, 255, FY_DNS_A), 0,
           "query: a name over 253 bytes is refused");
    ok(fy_dns_query(buf, sizeof(buf), 1, big, 253, FY_DNS_A) != 0,
       "query: a name of 253 bytes is taken");
    is_int(fy_dns_query(buf, 20, 1, N("www.example.test"), FY_DNS_A), 0,
           "query: a buffer too small");
}

static void
test_answers(void)
{
    fy_dns_answer_t  ans;
    size_t           rd, i, full;
    int              rc;

    /* two A records, owners compressed to the question's name */
    start(0x8180, 2);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 300, 4); put("\x7f\0\0\1", 4);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 60, 4); put("\x0a\1\2\3", 4);
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.rcode == 0 && ans.naddrs == 2,
       "two A records");
    ok(ans.addrs[0].family == AF_INET
       && memcmp(ans.addrs[0].addr, "\x7f\0\0\1", 4) == 0
       && memcmp(ans.addrs[1].addr, "\x0a\1\2\3", 4) == 0,
       "... their addresses, in order");
    is_int(ans.ttl, 60, "... the least TTL");

    /* the same for AAAA is not this answer */
    is_int(parse(FY_DNS_AAAA, &ans), FY_DECLINED,
           "an answer to the A question is not the AAAA one's");
    is_int(fy_dns_parse(msg, len, 0x4321, N("www.example.test"), FY_DNS_A,
                        &ans), FY_DECLINED, "another id: declined");
    is_int(fy_dns_parse(msg, len, 0x1234, N("www.example.org"), FY_DNS_A,
                        &ans), FY_DECLINED, "another name: declined");
    ok(fy_dns_parse(msg, len, 0x1234, N("WWW.Example.TEST."), FY_DNS_A,
                    &ans) == FY_OK && ans.naddrs == 2,
       "the name's case and a final dot do not matter");
    msg[2] &= 0x7f;
    is_int(parse(FY_DNS_A, &ans), FY_DECLINED, "a query, not a response");
    msg[2] |= 0x80;

    /* every shorter cut of it: malformed or declined, never read past */
    full = len;
    for (i = 0; i < full; i++) {
        len = i;
        rc = parse(FY_DNS_A, &ans);
        if (rc == FY_OK && i < full) {
            break;
        }
    }
    len = full;
    is_int(i, full, "cut short anywhere: never taken as an answer");

    /* a CNAME chain: www -> a.www (pointer into the question), whose A
     * record's owner is a pointer to the CNAME's data; a record of
     * another name in between is skipped */
    start(0x8180, 3);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_CNAME, 100, 4);
    rd = len;
    put("\1a\xc0\x0c", 4);
    put("\5other\0", 7); rr(FY_DNS_A, 5, 4); put("\1\1\1\1", 4);
    msg[len++] = (u_char) (0xc0 | rd >> 8);
    msg[len++] = (u_char) rd;
    rr(FY_DNS_A, 200, 4); put("\x7f\0\0\2", 4);
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.naddrs == 1
       && memcmp(ans.addrs[0].addr, "\x7f\0\0\2", 4) == 0,
       "a CNAME chain with compressed names: the address at its end");
    is_int(ans.ttl, 100, "... the least TTL, the CNAME's included");

    /* AAAA */
    start(0x8180, 1);
    question(FY_DNS_AAAA);
    put("\xc0\x0c", 2); rr(FY_DNS_AAAA, 30, 16);
    put("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1", 16);
    rc = parse(FY_DNS_AAAA, &ans);
    ok(rc == FY_OK && ans.naddrs == 1 && ans.addrs[0].family == AF_INET6
       && ans.addrs[0].addr[15] == 1, "an AAAA record");

    /* no records: no data */
    start(0x8180, 0);
    question(FY_DNS_A);
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.rcode == 0 && ans.naddrs == 0,
       "no records: an answer without addresses");

    /* errors */
    start(0x8183, 0);
    question(FY_DNS_A);
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.rcode == FY_DNS_NXDOMAIN, "NXDOMAIN");
    start(0x8182, 0);
    msg[5] = 0;                 /* SERVFAIL without the question */
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.rcode == FY_DNS_SERVFAIL,
       "SERVFAIL without a question");
    start(0x8380, 0);
    question(FY_DNS_A);
    rc = parse(FY_DNS_A, &ans);
    ok(rc == FY_OK && ans.truncated, "TC: truncated");
}

static void
test_malformed(void)
{
    fy_dns_answer_t  ans;

    /* an owner name that points at itself */
    start(0x8180, 1);
    question(FY_DNS_A);
    msg[len] = 0xc0;
    msg[len + 1] = (u_char) len;
    len += 2;
    rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "a pointer to itself: refused");

    /* a pointer forwards */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\xc0\x30", 2); rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "a pointer forwards: refused");

    /* a pointer after a label, to itself */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\1a\xc0\x24", 4);      /* at 34: "a", at 36 a pointer to 36 */
    rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR,
           "a label, then a pointer to that pointer: refused");

    /* the label types 01 and 10 */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\x41", 1); rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "label type 01: refused");

    /* an A record of 5 bytes */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 1, 5); put("\1\1\1\1\1", 5);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "an A record of 5 bytes");

    /* rdlength past the end */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 1, 40); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "rdlength past the end");

    /* a CNAME whose name runs past its data */
    start(0x8180, 1);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_CNAME, 1, 2); put("\5abcde\0", 7);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "a CNAME past its data");

    /* more answers announced than there are */
    start(0x8180, 3);
    question(FY_DNS_A);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    is_int(parse(FY_DNS_A, &ans), FY_ERROR, "fewer records than announced");
}

static void
test_srv(void)
{
    fy_dns_answer_t  ans;
    int              rc;

    /* two records: a target written out, and one pointing into the
     * question ("example.test" at 16) */
    start(0x8180, 3);
    question(FY_DNS_SRV);
    put("\xc0\x0c", 2); rr(FY_DNS_SRV, 60, 6 + 7);
    put("\0\x0a\0\x03\x1f\x90", 6); put("\1a\3srv\0", 7);
    put("\xc0\x0c", 2); rr(FY_DNS_SRV, 30, 6 + 4);
    put("\0\x14\0\0\0\x50", 6); put("\1b\xc0\x10", 4);
    put("\xc0\x0c", 2); rr(FY_DNS_SRV, 90, 6 + 1);
    put("\0\x01\0\x01\0\x50", 6); put("\0", 1);
    rc = parse(FY_DNS_SRV, &ans);
    ok(rc == FY_OK && ans.nsrvs == 3 && ans.naddrs == 0, "SRV records");
    ok(ans.srvs[0].priority == 10 && ans.srvs[0].weight == 3
       && ans.srvs[0].port == 8080 && strcmp(ans.srvs[0].target, "a.srv") == 0,
       "... priority, weight, port, target");
    ok(ans.srvs[1].priority == 20 && ans.srvs[1].weight == 0
       && ans.srvs[1].port == 80
       && strcmp(ans.srvs[1].target, "b.example.test") == 0,
       "... a compressed target, weight 0 as sent");
    is_str(ans.srvs[2].target, "", "... \".\": an empty target");
    is_int(ans.ttl, 30, "... the least TTL");

    /* A records in the answer to an SRV question are not SRV ones */
    start(0x8180, 1);
    question(FY_DNS_SRV);
    put("\xc0\x0c", 2); rr(FY_DNS_A, 1, 4); put("\1\1\1\1", 4);
    rc = parse(FY_DNS_SRV, &ans);
    ok(rc == FY_OK && ans.nsrvs == 0 && ans.naddrs == 0,
       "an SRV question answered with an A record: no records");

    start(0x8180, 1);
    question(FY_DNS_SRV);
    put("\xc0\x0c", 2); rr(FY_DNS_SRV, 1, 6); put("\0\1\0\1\0\1", 6);
    is_int(parse(FY_DNS_SRV, &ans), FY_ERROR, "an SRV record without a target");

    start(0x8180, 1);
    question(FY_DNS_SRV);
    put("\xc0\x0c", 2); rr(FY_DNS_SRV, 1, 6 + 3);
    put("\0\1\0\1\0\1", 6); put("\5abcde\0", 7);
    is_int(parse(FY_DNS_SRV, &ans), FY_ERROR, "an SRV target past its data");
}

int
main(void)
{
    test_query();
    test_answers();
    test_malformed();
    test_srv();
    return done_testing();
}
