/*
 * fy_http_cgi_proto.c -- the uwsgi packet and the SCGI netstring, the
 * request headers of uwsgi_pass and scgi_pass, without I/O.
 *
 * uwsgi (uWSGI's own protocol, modifier1 0: a WSGI request):
 *
 *   modifier1 | size (16 bits, LE) | modifier2 |
 *   { name length (16 bits, LE) | name | value length | value } ...
 *
 * then the body, CONTENT_LENGTH bytes.  SCGI (python.ca/scgi):
 *
 *   LEN ":" { name NUL value NUL } ... ","
 *
 * with CONTENT_LENGTH the first variable, then the body.
 */
#include "fy_core.h"
#include "fy_http_cgi.h"

void
fy_uwsgi_header(u_char *h, unsigned modifier1, size_t size,
                unsigned modifier2)
{
    h[0] = (u_char) modifier1;
    h[1] = (u_char) size;
    h[2] = (u_char) (size >> 8);
    h[3] = (u_char) modifier2;
}

size_t
fy_uwsgi_var_len(size_t nlen, size_t vlen)
{
    return 2 + nlen + 2 + vlen;
}

u_char *
fy_uwsgi_put_len(u_char *p, size_t len)
{
    *p++ = (u_char) len;
    *p++ = (u_char) (len >> 8);
    return p;
}

u_char *
fy_uwsgi_var_put(u_char *p, const u_char *name, size_t nlen,
                 const u_char *value, size_t vlen)
{
    p = fy_uwsgi_put_len(p, nlen);
    memcpy(p, name, nlen);
    p = fy_uwsgi_put_len(p + nlen, vlen);
    if (vlen) {
        memcpy(p, value, vlen);
    }
    return p + vlen;
}

size_t
fy_scgi_var_len(size_t nlen, size_t vlen)
{
    return nlen + 1 + vlen + 1;
}

size_t
fy_scgi_netstring_len(size_t len)
{
    size_t  digits = 1, n;

    for (n = len; n >= 10; n /= 10) {
        digits++;
    }
    return digits + 1 + len + 1;
}

u_char *
fy_scgi_netstring_start(u_char *p, size_t len)
{
    return p + sprintf((char *) p, "%zu:", len);
}

u_char *
fy_scgi_var_put(u_char *p, const u_char *name, size_t nlen,
                const u_char *value, size_t vlen)
{
    memcpy(p, name, nlen);
    p += nlen;
    *p++ = '\0';
    if (vlen) {
        memcpy(p, value, vlen);
    }
    p += vlen;
    *p++ = '\0';
    return p;
}
