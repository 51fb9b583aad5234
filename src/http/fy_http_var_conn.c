/*
 * fy_http_var_conn.c -- variables of the request's life and of its
 * connection: $request_id, $request_completion, $pipe,
 * $connection_time, $gzip_ratio, $tcpinfo_rtt, $tcpinfo_rttvar, $tcpinfo_snd_cwnd,
 * $tcpinfo_rcv_space, and $nginx_version (ferry's own version: the
 * variable exists so that nginx configurations carry over, and the
 * server answering is ferry).
 *
 * Each is computed when read, and only then: a request whose
 * configuration names none of them pays nothing.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/rand.h>

static size_t
fy_var_conn_copy(u_char *buf, size_t size, const void *src, size_t len)
{
    if (buf && len) {
        memcpy(buf, src, fy_min(size, len));
    }
    return len;
}

/* $request_id: 16 random bytes in hexadecimal, made when first read and
 * the same for the rest of the request (nginx). */
size_t
fy_http_var_request_id(fy_http_request_t *r, u_char *buf, size_t size)
{
    static const char  hex[] = "0123456789abcdef";
    u_char             rnd[16];
    unsigned           i;

    if (r->request_id == NULL && r->parent) {
        /* an auth_request subrequest has its request's id (nginx's
         * subrequests share variables) */
        (void) fy_http_var_request_id(r->parent, NULL, 0);
        r->request_id = r->parent->request_id;
    }
    if (r->request_id == NULL) {
        r->request_id = fy_palloc(r->pool, 32);
        if (r->request_id == NULL) {
            return 0;
        }
        if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
            /* OpenSSL's generator failed: the kernel's */
            if (getentropy(rnd, sizeof(rnd)) != 0) {
                r->request_id = NULL;
                return 0;
            }
        }
        for (i = 0; i < 16; i++) {
            r->request_id[2 * i] = (u_char) hex[rnd[i] >> 4];
            r->request_id[2 * i + 1] = (u_char) hex[rnd[i] & 0x0f];
        }
    }
    return fy_var_conn_copy(buf, size, r->request_id, 32);
}

/* $nginx_version: ferry's version (see above) */
size_t
fy_http_var_nginx_version(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_unused(r);
    return fy_var_conn_copy(buf, size, FY_VERSION, sizeof(FY_VERSION) - 1);
}

/* $request_completion: "OK" once the response is all sent, else empty
 * (a client gone, a timeout, an upstream that broke off); in
 * post_action's subrequest, of the request it follows */
size_t
fy_http_var_request_completion(fy_http_request_t *r, u_char *buf, size_t size)
{
    if (r->post_action) {
        r = r->parent;
    }
    return r->completed ? fy_var_conn_copy(buf, size, "OK", 2) : 0;
}

/* $pipe: "p" for a request that was already read, behind the one
 * before, when that one ended (pipelined), else "." */
size_t
fy_http_var_pipe(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_conn_copy(buf, size, r->pipelined ? "p" : ".", 1);
}

/* $gzip_ratio: the body's size before gzip over its size after, with
 * two decimals rounded as nginx does ("3.46"); empty for a response
 * not compressed (or not to its end) */
size_t
fy_http_var_gzip_ratio(fy_http_request_t *r, u_char *buf, size_t size)
{
    uint64_t  in = r->gzip_in, out = r->gzip_out, whole, frac;
    char      tmp[32];
    int       n;

    if (out == 0) {
        return 0;
    }
    whole = in / out;
    frac = in * 100 / out % 100;
    if (in * 1000 / out % 10 > 4) {
        if (++frac > 99) {
            whole++;
            frac = 0;
        }
    }
    n = snprintf(tmp, sizeof(tmp), "%llu.%02u", (unsigned long long) whole,
                 (unsigned) frac);
    return fy_var_conn_copy(buf, size, tmp, (size_t) n);
}

/* $connection_time: seconds with milliseconds since the connection was
 * accepted (or handed to this worker) */
size_t
fy_http_var_connection_time(fy_http_request_t *r, u_char *buf, size_t size)
{
    uint64_t  ms = fy_current_msec - r->hc->start_msec;
    char      tmp[32];
    int       n;

    n = snprintf(tmp, sizeof(tmp), "%llu.%03u",
                 (unsigned long long) (ms / 1000), (unsigned) (ms % 1000));
    return fy_var_conn_copy(buf, size, tmp, (size_t) n);
}

enum {
    FY_TCPINFO_RTT = 0,
    FY_TCPINFO_RTTVAR,
    FY_TCPINFO_SND_CWND,
    FY_TCPINFO_RCV_SPACE
};

/* One field of the socket's TCP_INFO, asked when read; empty on a
 * socket that has none (a unix-domain one). */
static size_t
fy_var_tcpinfo(fy_http_request_t *r, int what, u_char *buf, size_t size)
{
    struct tcp_info  ti;
    socklen_t        len = sizeof(ti);
    unsigned         v;
    char             tmp[16];
    int              n;

    if (getsockopt(r->hc->c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
        return 0;
    }
    switch (what) {
    case FY_TCPINFO_RTT:      v = ti.tcpi_rtt; break;
    case FY_TCPINFO_RTTVAR:   v = ti.tcpi_rttvar; break;
    case FY_TCPINFO_SND_CWND: v = ti.tcpi_snd_cwnd; break;
    default:                  v = ti.tcpi_rcv_space; break;
    }
    n = snprintf(tmp, sizeof(tmp), "%u", v);
    return fy_var_conn_copy(buf, size, tmp, (size_t) n);
}

size_t
fy_http_var_tcpinfo_rtt(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_tcpinfo(r, FY_TCPINFO_RTT, buf, size);
}

size_t
fy_http_var_tcpinfo_rttvar(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_tcpinfo(r, FY_TCPINFO_RTTVAR, buf, size);
}

size_t
fy_http_var_tcpinfo_snd_cwnd(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_tcpinfo(r, FY_TCPINFO_SND_CWND, buf, size);
}

size_t
fy_http_var_tcpinfo_rcv_space(fy_http_request_t *r, u_char *buf, size_t size)
{
    return fy_var_tcpinfo(r, FY_TCPINFO_RCV_SPACE, buf, size);
}
