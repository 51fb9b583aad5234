/*
 * fy_dns.h -- DNS messages, as the resolver (fy_resolver.c) sends and
 * reads them: a query for one name and one type (A, AAAA, or SRV for
 * the upstream "service=" servers), and the parse of its answer (RFC 1035 section 4, with the name compression
 * of 4.1.4 and CNAME chains followed within the answer).  No I/O here:
 * t/unit/test_resolver.c feeds it hand-made packets.
 */
#ifndef FY_DNS_H
#define FY_DNS_H

#include "fy_core.h"

#define FY_DNS_A          1
#define FY_DNS_CNAME      5
#define FY_DNS_AAAA       28
#define FY_DNS_SRV        33        /* RFC 2782 */

/* The response codes nginx reports ("(3: Host not found)"), and the
 * one it uses for a resolver that did not answer in time. */
#define FY_DNS_FORMERR    1
#define FY_DNS_SERVFAIL   2
#define FY_DNS_NXDOMAIN   3
#define FY_DNS_NOTIMP     4
#define FY_DNS_REFUSED    5
#define FY_DNS_TIMEDOUT   110

#define FY_DNS_NAME_MAX   253       /* dotted, without the final dot */
#define FY_DNS_UDP_MAX    512       /* a UDP message, without EDNS */
#define FY_DNS_MAX_ADDRS  16        /* addresses kept from one answer */
#define FY_DNS_MAX_SRVS   16        /* SRV records kept from one answer */

typedef struct fy_dns_addr_s {
    int        family;              /* AF_INET or AF_INET6 */
    u_char     addr[16];            /* 4 or 16 bytes, network order */
} fy_dns_addr_t;

/* An SRV record: the target is a name (dotted, no final dot; "" for
 * RFC 2782's "." -- no service there) to resolve in turn. */
typedef struct fy_dns_srv_s {
    uint16_t   priority;            /* the lowest are used first */
    uint16_t   weight;
    uint16_t   port;
    char       target[FY_DNS_NAME_MAX + 1];
} fy_dns_srv_t;

typedef struct {
    unsigned        rcode;          /* the header's RCODE, 0: no error */
    unsigned        truncated:1;    /* TC: the answer did not fit */
    unsigned        naddrs;         /* addresses of the type asked for */
    uint32_t        ttl;            /* the least TTL of the records
                                       taken (CNAMEs included) */
    fy_dns_addr_t   addrs[FY_DNS_MAX_ADDRS];
    unsigned        nsrvs;          /* SRV records, for an SRV question */
    fy_dns_srv_t    srvs[FY_DNS_MAX_SRVS];
} fy_dns_answer_t;

/* Write into buf (size bytes) a query with id for name (len bytes,
 * dotted, an optional final dot) and qtype, recursion desired.
 * Returns its length, or 0 when the name is not a valid one (an empty
 * label, a label over 63 bytes, a name over 253) or buf too small. */
size_t fy_dns_query(u_char *buf, size_t size, uint16_t id,
                    const u_char *name, size_t len, uint16_t qtype);

/* Read the n-byte message msg as the answer to the query with id for
 * name (len bytes) and qtype.  FY_OK: ans filled (an rcode other than
 * 0, or truncated, is the caller's to judge); FY_DECLINED: not that
 * answer (no response, another id, another question: a stray or a
 * spoof, to ignore); FY_ERROR: malformed (cut short, a bad label, a
 * compression loop). */
int fy_dns_parse(const u_char *msg, size_t n, uint16_t id,
                 const u_char *name, size_t len, uint16_t qtype,
                 fy_dns_answer_t *ans);

#endif /* FY_DNS_H */
