/*
 * fy_dns.c -- building a DNS query and reading its answer (fy_dns.h).
 *
 * Every offset read from the message is checked against its length
 * before use: the answer comes from the network.  A compressed name
 * may jump only backwards, to before the label that jumps, which
 * rules out loops without counting hops.
 */
#include "fy_core.h"
#include "fy_dns.h"

#include <strings.h>
#include <sys/socket.h>

#define FY_DNS_HDR  12

static uint16_t
fy_dns_u16(const u_char *p)
{
    return (uint16_t) (p[0] << 8 | p[1]);
}

size_t
fy_dns_query(u_char *buf, size_t size, uint16_t id, const u_char *name,
             size_t len, uint16_t qtype)
{
    u_char  *q;
    size_t   i, start;

    if (len && name[len - 1] == '.') {
        len--;
    }
    if (len == 0 || len > FY_DNS_NAME_MAX
        || size < FY_DNS_HDR + len + 2 + 4)
    {
        return 0;
    }
    memset(buf, 0, FY_DNS_HDR);
    buf[0] = (u_char) (id >> 8);
    buf[1] = (u_char) id;
    buf[2] = 0x01;                  /* RD: recursion desired */
    buf[5] = 1;                     /* one question */

    /* "a.example" -> 1 'a' 7 'example' 0 */
    q = buf + FY_DNS_HDR;
    start = 0;
    for (i = 0; i <= len; i++) {
        if (i < len && name[i] != '.') {
            continue;
        }
        if (i == start || i - start > 63) {
            return 0;               /* an empty or too long label */
        }
        *q++ = (u_char) (i - start);
        memcpy(q, name + start, i - start);
        q += i - start;
        start = i + 1;
    }
    *q++ = 0;
    *q++ = (u_char) (qtype >> 8);
    *q++ = (u_char) qtype;
    *q++ = 0;
    *q++ = 1;                       /* class IN */
    return (size_t) (q - buf);
}

/*
 * Read the name at *off of msg (n bytes) into out (dotted, no final
 * dot, NUL-terminated, FY_DNS_NAME_MAX + 1 bytes at least) and set
 * *off past it where it sits (a pointer takes two bytes there).
 * FY_OK or FY_ERROR.
 */
static int
fy_dns_name(const u_char *msg, size_t n, size_t *off, char *out)
{
    size_t  p = *off, end = 0, olen = 0, lim = *off;
    int     jumped = 0;
    u_char  l;

    for ( ;; ) {
        if (p >= n) {
            return FY_ERROR;
        }
        l = msg[p];
        if (l == 0) {
            if (!jumped) {
                end = p + 1;
            }
            break;
        }
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= n) {
                return FY_ERROR;
            }
            if (!jumped) {
                end = p + 2;
                jumped = 1;
            }
            lim = p;
            p = (size_t) ((l & 0x3f) << 8 | msg[p + 1]);
            if (p >= lim) {
                return FY_ERROR;    /* forwards or onto itself: a loop */
            }
            continue;
        }
        if (l & 0xc0) {
            return FY_ERROR;        /* 01 and 10 label types: unused */
        }
        if (p + 1 + l > n || olen + (olen ? 1 : 0) + l > FY_DNS_NAME_MAX) {
            return FY_ERROR;
        }
        if (olen) {
            out[olen++] = '.';
        }
        memcpy(out + olen, msg + p + 1, l);
        olen += l;
        p += 1 + (size_t) l;
    }
    out[olen] = '\0';
    *off = end;
    return FY_OK;
}

static int
fy_dns_same(const char *a, const u_char *b, size_t blen)
{
    return strlen(a) == blen && strncasecmp(a, (const char *) b, blen) == 0;
}

int
fy_dns_parse(const u_char *msg, size_t n, uint16_t id, const u_char *name,
             size_t len, uint16_t qtype, fy_dns_answer_t *ans)
{
    char           owner[FY_DNS_NAME_MAX + 1], cur[FY_DNS_NAME_MAX + 1];
    fy_dns_srv_t  *srv;
    size_t         off, rd, alen;
    unsigned       flags, qd, an, i, type, cls, rdlen;
    uint32_t       ttl;

    memset(ans, 0, sizeof(*ans));
    ans->ttl = UINT32_MAX;
    if (len && name[len - 1] == '.') {
        len--;
    }
    if (n < FY_DNS_HDR || fy_dns_u16(msg) != id) {
        return FY_DECLINED;
    }
    flags = fy_dns_u16(msg + 2);
    if (!(flags & 0x8000) || (flags & 0x7800)) {
        return FY_DECLINED;         /* not a response, or not a QUERY's */
    }
    ans->rcode = flags & 0x0f;
    ans->truncated = (flags & 0x0200) != 0;
    qd = fy_dns_u16(msg + 4);
    an = fy_dns_u16(msg + 6);

    if (qd == 0 && ans->rcode != 0) {
        return FY_OK;               /* an error without the question */
    }
    if (qd != 1) {
        return FY_DECLINED;
    }
    off = FY_DNS_HDR;
    if (fy_dns_name(msg, n, &off, cur) != FY_OK || off + 4 > n) {
        return FY_ERROR;
    }
    if (!fy_dns_same(cur, name, len) || fy_dns_u16(msg + off) != qtype
        || fy_dns_u16(msg + off + 2) != 1)
    {
        return FY_DECLINED;         /* the answer to another question */
    }
    off += 4;
    if (ans->truncated || ans->rcode != 0) {
        return FY_OK;
    }

    /* The records for the name asked about, or for the name its CNAME
     * chain leads to (cur): the chain comes in order (RFC 1034 3.6.2). */
    alen = qtype == FY_DNS_A ? 4 : 16;
    for (i = 0; i < an; i++) {
        if (fy_dns_name(msg, n, &off, owner) != FY_OK || off + 10 > n) {
            return FY_ERROR;
        }
        type = fy_dns_u16(msg + off);
        cls = fy_dns_u16(msg + off + 2);
        ttl = (uint32_t) fy_dns_u16(msg + off + 4) << 16
              | fy_dns_u16(msg + off + 6);
        rdlen = fy_dns_u16(msg + off + 8);
        rd = off + 10;
        if (rd + rdlen > n) {
            return FY_ERROR;
        }
        off = rd + rdlen;
        if (ttl & 0x80000000) {
            ttl = 0;                /* RFC 2181 8: "treated as zero" */
        }
        if (cls != 1 || strcasecmp(owner, cur) != 0) {
            continue;
        }
        if (type == FY_DNS_CNAME) {
            if (fy_dns_name(msg, rd + rdlen, &rd, cur) != FY_OK
                || rd != off)
            {
                return FY_ERROR;
            }
            ans->ttl = fy_min(ans->ttl, ttl);
            continue;
        }
        if (type != qtype) {
            continue;
        }
        if (qtype == FY_DNS_SRV) {
            /* priority, weight, port, then the target's name */
            if (rdlen < 7) {
                return FY_ERROR;
            }
            if (ans->nsrvs < FY_DNS_MAX_SRVS) {
                srv = &ans->srvs[ans->nsrvs];
                srv->priority = fy_dns_u16(msg + rd);
                srv->weight = fy_dns_u16(msg + rd + 2);
                srv->port = fy_dns_u16(msg + rd + 4);
                rd += 6;
                if (fy_dns_name(msg, off, &rd, srv->target) != FY_OK
                    || rd != off)
                {
                    return FY_ERROR;
                }
                ans->nsrvs++;
            }
            ans->ttl = fy_min(ans->ttl, ttl);
            continue;
        }
        if (rdlen != alen) {
            return FY_ERROR;
        }
        if (ans->naddrs < FY_DNS_MAX_ADDRS) {
            ans->addrs[ans->naddrs].family = alen == 4 ? AF_INET : AF_INET6;
            memcpy(ans->addrs[ans->naddrs].addr, msg + rd, alen);
            ans->naddrs++;
        }
        ans->ttl = fy_min(ans->ttl, ttl);
    }
    if (ans->naddrs == 0 && ans->nsrvs == 0) {
        ans->ttl = 0;
    }
    return FY_OK;
}
