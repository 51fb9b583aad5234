/*
 * fy_pp.c -- "listen ... proxy_protocol" (http and stream): the PROXY
 * protocol header a load balancer in front of ferry sends before the
 * client's bytes (version 1, text, or version 2, binary), as nginx
 * reads it.
 *
 * The header is looked at with MSG_PEEK until it is complete, then
 * exactly its length is taken off the socket, so not one byte of the
 * client's own data (a TLS ClientHello, an HTTP request) is consumed
 * here.  Its addresses become $proxy_protocol_addr, _port,
 * _server_addr, _server_port; a v2 header's TLVs are kept for
 * $proxy_protocol_tlv_NAME (fy_pp_tlv).
 */
#include "fy_core.h"
#include "fy_pp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <ctype.h>
#include <sys/socket.h>

#define FY_PP_V1_MAX   107             /* "PROXY ...\r\n", the spec's limit */
#define FY_PP_V2_HEAD  16
#define FY_PP_V2_MAX   (FY_PP_V2_HEAD + 216)   /* addresses, some TLVs */

struct fy_pp_tlv_name_s {
    const char  *name;
    int          type;
};

static const u_char  fy_pp_v2_sig[12] = {
    0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The first bytes of a broken header, for the log: what is not
 * printable becomes '.'. */
static const char *
fy_pp_printable(u_char *p, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (p[i] < 0x20 || p[i] > 0x7e) {
            p[i] = '.';
        }
    }
    return (const char *) p;
}

/* One space-separated field of a v1 line into out (NUL-terminated). */
static const u_char *
fy_pp_field(const u_char *p, const u_char *end, char *out, size_t size)
{
    size_t  n = 0;

    while (p < end && *p != ' ' && *p != '\r') {
        if (n + 1 >= size) {
            return NULL;
        }
        out[n++] = (char) *p++;
    }
    out[n] = '\0';
    return n ? p : NULL;
}

static int
fy_pp_port(const char *text, unsigned *port)
{
    char  *end;
    long   n = strtol(text, &end, 10);

    if (*end != '\0' || n < 0 || n > 65535 || !isdigit((u_char) text[0])) {
        return FY_ERROR;
    }
    *port = (unsigned) n;
    return FY_OK;
}

/* "PROXY TCP4|TCP6 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n";
 * len: up to and including the LF. */
static int
fy_pp_v1(fy_pp_t *pp, const u_char *p, size_t len)
{
    const u_char  *end = p + len - 2;      /* at the CR */
    char           proto[8], sport[8], dport[8];
    u_char         bin[16];
    int            family;

    if (len < 8 || memcmp(p, "PROXY ", 6) != 0 || end[0] != '\r') {
        return FY_ERROR;
    }
    p += 6;
    if (end - p >= 7 && memcmp(p, "UNKNOWN", 7) == 0) {
        return FY_OK;                       /* addresses stay empty */
    }
    if ((p = fy_pp_field(p, end, proto, sizeof(proto))) == NULL
        || *p++ != ' '
        || (p = fy_pp_field(p, end, pp->addr, sizeof(pp->addr))) == NULL
        || *p++ != ' '
        || (p = fy_pp_field(p, end, pp->server_addr,
                            sizeof(pp->server_addr))) == NULL
        || *p++ != ' '
        || (p = fy_pp_field(p, end, sport, sizeof(sport))) == NULL
        || *p++ != ' '
        || (p = fy_pp_field(p, end, dport, sizeof(dport))) == NULL
        || p != end)
    {
        return FY_ERROR;
    }
    if (strcmp(proto, "TCP4") == 0) {
        family = AF_INET;
    } else if (strcmp(proto, "TCP6") == 0) {
        family = AF_INET6;
    } else {
        return FY_ERROR;
    }
    if (inet_pton(family, pp->addr, bin) != 1
        || inet_pton(family, pp->server_addr, bin) != 1
        || fy_pp_port(sport, &pp->port) != FY_OK
        || fy_pp_port(dport, &pp->server_port) != FY_OK)
    {
        return FY_ERROR;
    }
    return FY_OK;
}

static int fy_pp_tlv_find(const u_char *p, size_t n, unsigned type,
    fy_str_t *value);

/* Keep the TLVs that follow addresses of alen bytes in the address
 * part (n bytes at p).  A chain that runs past its end (its own, or the
 * ssl TLV's inside it) is logged and dropped, so that the variables
 * read only whole ones; the addresses stay good. */
static int
fy_pp_v2_tlvs(fy_pp_t *pp, const u_char *p, size_t n, size_t alen)
{
    fy_str_t  ssl, v;
    int       rc;

    if (n - alen > sizeof(pp->tlvs)) {
        return FY_ERROR;
    }
    pp->ntlvs = (unsigned) (n - alen);
    memcpy(pp->tlvs, p + alen, pp->ntlvs);
    /* type 0 is not one the specification gives: a walk to the end */
    rc = fy_pp_tlv_find(pp->tlvs, pp->ntlvs, 0x100, &v);
    if (rc != FY_ERROR
        && fy_pp_tlv_find(pp->tlvs, pp->ntlvs, 0x20, &ssl) == FY_OK)
    {
        rc = ssl.len < 5 ? FY_ERROR
             : fy_pp_tlv_find(ssl.data + 5, ssl.len - 5, 0x100, &v);
    }
    if (rc == FY_ERROR) {
        fy_log_error(FY_LOG_ERR, 0, "broken PROXY protocol TLV, client: %s",
                     pp->addr);
        pp->ntlvs = 0;
    }
    return FY_OK;
}

/* The binary header, whole (len bytes). */
static int
fy_pp_v2(fy_pp_t *pp, const u_char *p, size_t len)
{
    unsigned  cmd = p[12] & 0x0f, fam = p[13];
    size_t    alen = len - FY_PP_V2_HEAD;

    if ((p[12] & 0xf0) != 0x20) {
        return FY_ERROR;                    /* version 2 only */
    }
    if (cmd == 0) {
        return FY_OK;                       /* LOCAL: no addresses */
    }
    if (cmd != 1) {
        return FY_ERROR;
    }
    p += FY_PP_V2_HEAD;
    switch (fam) {
    case 0x11:                              /* TCP over IPv4 */
        if (alen < 12) {
            return FY_ERROR;
        }
        inet_ntop(AF_INET, p, pp->addr, sizeof(pp->addr));
        inet_ntop(AF_INET, p + 4, pp->server_addr,
                  sizeof(pp->server_addr));
        pp->port = (unsigned) (p[8] << 8 | p[9]);
        pp->server_port = (unsigned) (p[10] << 8 | p[11]);
        return fy_pp_v2_tlvs(pp, p, alen, 12);
    case 0x21:                              /* TCP over IPv6 */
        if (alen < 36) {
            return FY_ERROR;
        }
        inet_ntop(AF_INET6, p, pp->addr, sizeof(pp->addr));
        inet_ntop(AF_INET6, p + 16, pp->server_addr,
                  sizeof(pp->server_addr));
        pp->port = (unsigned) (p[32] << 8 | p[33]);
        pp->server_port = (unsigned) (p[34] << 8 | p[35]);
        return fy_pp_v2_tlvs(pp, p, alen, 36);
    default:
        return FY_OK;                       /* UNSPEC, UDP, unix: ignored,
                                               as nginx */
    }
}

int
fy_pp_read(int fd, fy_pp_t *pp, const char *client)
{
    u_char   buf[FY_PP_V2_MAX];
    ssize_t  n;
    size_t   len = 0;
    u_char  *lf;
    int      rc;

    do {
        n = recv(fd, buf, sizeof(buf), MSG_PEEK);
    } while (n == -1 && errno == EINTR);

    if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return FY_AGAIN;
    }
    if (n <= 0) {
        fy_log_error(FY_LOG_INFO, n ? errno : 0, "client closed the "
                     "connection before its PROXY protocol header, client: "
                     "%s", client);
        return FY_ERROR;
    }

    if ((size_t) n >= sizeof(fy_pp_v2_sig)
        && memcmp(buf, fy_pp_v2_sig, sizeof(fy_pp_v2_sig)) == 0)
    {
        if (n < FY_PP_V2_HEAD) {
            return FY_AGAIN;
        }
        len = FY_PP_V2_HEAD + (size_t) (buf[14] << 8 | buf[15]);
        if (len > sizeof(buf)) {
            goto broken;
        }
        if ((size_t) n < len) {
            return FY_AGAIN;
        }
        rc = fy_pp_v2(pp, buf, len);
    } else {
        lf = memchr(buf, '\n', fy_min((size_t) n, FY_PP_V1_MAX));
        if (lf == NULL) {
            /* a v1 line is short; more can only be missing while the
             * bytes so far could still start one */
            if ((size_t) n >= FY_PP_V1_MAX
                || memcmp(buf, "PROXY ", fy_min((size_t) n, 6)) != 0)
            {
                goto broken;
            }
            return FY_AGAIN;
        }
        len = (size_t) (lf - buf) + 1;
        rc = fy_pp_v1(pp, buf, len);
    }
    if (rc != FY_OK) {
        goto broken;
    }

    /* take the header, and only the header, off the socket */
    do {
        n = recv(fd, buf, len, 0);
    } while (n == -1 && errno == EINTR);
    if (n != (ssize_t) len) {
        goto broken;
    }
    return FY_OK;

broken:
    len = n > 0 ? fy_min((size_t) n, 32) : 0;
    fy_log_error(FY_LOG_ERR, 0, "broken header: \"%.*s\" while reading "
                 "PROXY protocol, client: %s", (int) len,
                 fy_pp_printable(buf, len), client);
    pp->addr[0] = pp->server_addr[0] = '\0';
    return FY_ERROR;
}


/* The TLV of type in the n bytes at p: FY_OK with *value, FY_DECLINED,
 * FY_ERROR when a TLV runs past the end. */
static int
fy_pp_tlv_find(const u_char *p, size_t n, unsigned type, fy_str_t *value)
{
    size_t  len;

    while (n) {
        if (n < 3) {
            return FY_ERROR;
        }
        len = (size_t) (p[1] << 8 | p[2]);
        if (n - 3 < len) {
            return FY_ERROR;
        }
        if (p[0] == type) {
            value->data = (u_char *) p + 3;
            value->len = len;
            return FY_OK;
        }
        p += 3 + len;
        n -= 3 + len;
    }
    return FY_DECLINED;
}

/* The type a name gives in table (or "0x" and hex digits up to FF), -1 */
static int
fy_pp_tlv_type(const u_char *name, size_t len,
               const struct fy_pp_tlv_name_s *table)
{
    int64_t  t;

    if (len > 2 && name[0] == '0' && name[1] == 'x') {
        t = fy_hextoi(name + 2, len - 2);
        return t >= 0 && t <= 0xff ? (int) t : -1;
    }
    for ( /* void */ ; table->name; table++) {
        if (strlen(table->name) == len && memcmp(table->name, name, len) == 0) {
            return table->type;
        }
    }
    return -1;
}

int
fy_pp_tlv(const fy_pp_t *pp, const u_char *name, size_t len,
          fy_str_t *value, char verify[11])
{
    /* the PROXY protocol specification's names, nginx's spelling */
    static const struct fy_pp_tlv_name_s  names[] = {
        { "alpn", 0x01 }, { "authority", 0x02 }, { "unique_id", 0x05 },
        { "ssl", 0x20 }, { "netns", 0x30 }, { NULL, 0 }
    }, ssl_names[] = {
        { "version", 0x21 }, { "cn", 0x22 }, { "cipher", 0x23 },
        { "sig_alg", 0x24 }, { "key_alg", 0x25 }, { NULL, 0 }
    };
    fy_str_t  ssl;
    int       type, rc;

    if (len > 4 && memcmp(name, "ssl_", 4) == 0) {
        name += 4;
        len -= 4;
        type = len == 6 && memcmp(name, "verify", 6) == 0
               ? 0 : fy_pp_tlv_type(name, len, ssl_names);
        if (type < 0) {
            return FY_ERROR;
        }
        rc = fy_pp_tlv_find(pp->tlvs, pp->ntlvs, 0x20, &ssl);
        if (rc != FY_OK) {
            return rc;
        }
        /* the ssl TLV: client (1 byte), verify (4), then its own TLVs */
        if (ssl.len < 5) {
            return FY_ERROR;
        }
        if (type == 0) {
            snprintf(verify, 11, "%u",
                     (unsigned) ssl.data[1] << 24 | ssl.data[2] << 16
                     | ssl.data[3] << 8 | ssl.data[4]);
            value->data = (u_char *) verify;
            value->len = strlen(verify);
            return FY_OK;
        }
        return fy_pp_tlv_find(ssl.data + 5, ssl.len - 5, (unsigned) type,
                              value);
    }
    type = fy_pp_tlv_type(name, len, names);
    if (type < 0) {
        return FY_ERROR;
    }
    return fy_pp_tlv_find(pp->tlvs, pp->ntlvs, (unsigned) type, value);
}

int
fy_pp_tlv_known(const u_char *name, size_t len)
{
    fy_pp_t   pp;
    fy_str_t  v;
    char      verify[11];

    /* a header without TLVs: a known name is not found, an unknown
     * one is an error */
    memset(&pp, 0, sizeof(pp));
    if (len > 4 && memcmp(name, "ssl_", 4) == 0) {
        /* an ssl TLV with nothing inside, so the sub-name is looked up */
        memcpy(pp.tlvs, "\x20\x00\x05\x00\x00\x00\x00\x00", 8);
        pp.ntlvs = 8;
    }
    return fy_pp_tlv(&pp, name, len, &v, verify) != FY_ERROR;
}
