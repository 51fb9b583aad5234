/*
 * fuzz_dns.c -- fy_dns_parse, the resolver's reading of a DNS answer
 * that comes from the network (src/core/fy_dns.c).
 *
 * The input's first byte chooses the question (bit 2: SRV, else bit 0:
 * AAAA, else A) and how the rest is used (bit 1): as the whole message, or as a
 * header whose question is replaced by the one asked (with QDCOUNT 1
 * and its id), followed by the records -- so that most inputs reach
 * the records and the name decompression.  The message sits in a
 * buffer of its exact size: a read past it is an ASan report.
 * Checked: the result is FY_OK, FY_DECLINED or FY_ERROR; an answer
 * holds at most FY_DNS_MAX_ADDRS addresses, each of the family asked
 * for, and a TTL of at most 2^31-1 when it has any; an SRV answer at
 * most FY_DNS_MAX_SRVS records and no address, each target a name
 * DNS can carry; the same message
 * read again gives the same answer.
 */

#include "fy_core.h"
#include "fy_dns.h"
#include "fy_fuzz.h"

#include <sys/socket.h>

#define NAME  "www.example.test"


int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fy_dns_answer_t  a1, a2;
    u_char           q[FY_DNS_UDP_MAX], *msg;
    size_t           qlen, n;
    uint16_t         qtype, id;
    unsigned         i;
    int              rc;

    if (size < 1) {
        return 0;
    }
    size = fy_min(size, FY_FUZZ_MAX_LEN);
    qtype = (data[0] & 4) ? FY_DNS_SRV
            : (data[0] & 1) ? FY_DNS_AAAA : FY_DNS_A;
    data++;
    size--;
    id = size >= 2 ? (uint16_t) (data[0] << 8 | data[1]) : 0;

    msg = malloc(size + sizeof(q));
    if (msg == NULL) {
        abort();
    }
    if ((data[-1] & 2) && size >= 12) {
        /* the input's header and records around the question asked */
        qlen = fy_dns_query(q, sizeof(q), id, (const u_char *) NAME,
                            sizeof(NAME) - 1, qtype);
        memcpy(msg, data, 12);
        msg[4] = 0;
        msg[5] = 1;
        memcpy(msg + 12, q + 12, qlen - 12);
        memcpy(msg + qlen, data + 12, size - 12);
        n = qlen + size - 12;
    } else {
        memcpy(msg, data, size);
        n = size;
    }
    /* exactly n bytes: anything past them is outside the allocation */
    msg = realloc(msg, n ? n : 1);
    if (msg == NULL) {
        abort();
    }

    rc = fy_dns_parse(msg, n, id, (const u_char *) NAME, sizeof(NAME) - 1,
                      qtype, &a1);
    fy_fuzz_assert(rc == FY_OK || rc == FY_DECLINED || rc == FY_ERROR);
    if (rc == FY_OK) {
        fy_fuzz_assert(a1.naddrs <= FY_DNS_MAX_ADDRS);
        for (i = 0; i < a1.naddrs; i++) {
            fy_fuzz_assert(a1.addrs[i].family
                           == (qtype == FY_DNS_A ? AF_INET : AF_INET6));
        }
        fy_fuzz_assert(a1.nsrvs <= FY_DNS_MAX_SRVS);
        fy_fuzz_assert(qtype == FY_DNS_SRV ? a1.naddrs == 0 : a1.nsrvs == 0);
        for (i = 0; i < a1.nsrvs; i++) {
            fy_fuzz_assert(strlen(a1.srvs[i].target) <= FY_DNS_NAME_MAX);
        }
        if (a1.naddrs || a1.nsrvs) {
            fy_fuzz_assert(a1.ttl <= 0x7fffffff);
            fy_fuzz_assert(a1.rcode == 0 && !a1.truncated);
        }
    }
    fy_fuzz_assert(fy_dns_parse(msg, n, id, (const u_char *) NAME,
                                sizeof(NAME) - 1, qtype, &a2) == rc);
    if (rc == FY_OK) {
        fy_fuzz_assert(memcmp(&a1, &a2, sizeof(a1)) == 0);
    }
    free(msg);
    return 0;
}
