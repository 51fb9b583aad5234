/*
 * fy_http_uri.c -- the request path as locations see it.
 *
 * Clients may spell one path many ways: "/%61dmin", "/./admin",
 * "/x/../admin", "//admin".  Locations must match what the path means,
 * not how it was spelled, or "location /admin { deny ...; }" is
 * bypassed.  As nginx does, the path is percent-decoded, "." and ".."
 * segments are resolved and repeated slashes merged; a path that
 * climbs above the root, has a malformed %-escape or decodes to a NUL
 * byte is refused (400).
 *
 * The raw form stays available ($request_uri, and what proxy_pass
 * without a URI part sends upstream, as nginx does).
 */
#include "fy_core.h"
#include "fy_http.h"

static int
fy_hex(u_char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c |= 0x20;
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

/* Does the raw path need any work at all?  Most do not. */
static int
fy_http_path_is_plain(const fy_str_t *p)
{
    size_t  i;

    for (i = 0; i < p->len; i++) {
        if (p->data[i] == '%') {
            return 0;
        }
        if (p->data[i] == '/' && i + 1 < p->len
            && (p->data[i + 1] == '/' || p->data[i + 1] == '.'))
        {
            return 0;
        }
    }
    return 1;
}

int
fy_http_normalize_path(fy_pool_t *pool, fy_str_t *path)
{
    return fy_http_normalize_path_as(pool, path, 1);
}

int
fy_http_normalize_path_as(fy_pool_t *pool, fy_str_t *path, int merge)
{
    u_char   *tmp, *out, *seg, *end, *q;
    size_t    n = 0, i, slen;
    int       hi, lo;

    if (path->len == 0 || path->data[0] != '/') {
        return path->len == 1 && path->data[0] == '*' ? FY_OK : FY_ERROR;
    }
    if (fy_http_path_is_plain(path)) {
        return FY_OK;
    }

    tmp = fy_palloc(pool, 2 * path->len + 2);
    if (tmp == NULL) {
        return FY_ERROR;
    }
    out = tmp + path->len + 1;

    /* 1: percent-decoding */
    for (i = 0; i < path->len; i++) {
        if (path->data[i] != '%') {
            tmp[n++] = path->data[i];
            continue;
        }
        if (i + 2 >= path->len) {
            return FY_ERROR;                    /* "%" or "%a" at the end */
        }
        hi = fy_hex(path->data[i + 1]);
        lo = fy_hex(path->data[i + 2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
            return FY_ERROR;
        }
        tmp[n++] = (u_char) (hi << 4 | lo);
        i += 2;
    }

    /* 2: segments: drop "" (unless merge_slashes is off) and ".", let
     * ".." remove the previous one */
    q = out;
    seg = tmp;
    end = tmp + n;
    while (seg < end) {
        seg++;                                  /* the '/' */
        for (slen = 0; seg + slen < end && seg[slen] != '/'; slen++) {
            /* find the segment's end */
        }
        if (slen == 0 && !merge && seg < end) {
            *q++ = '/';                         /* "//": kept */
        } else if (slen == 0 || (slen == 1 && seg[0] == '.')) {
            if (seg + slen == end) {
                *q++ = '/';                     /* keep a trailing slash */
            }
        } else if (slen == 2 && seg[0] == '.' && seg[1] == '.') {
            if (q == out) {
                return FY_ERROR;                /* above the root */
            }
            do {
                q--;
            } while (q > out && *q != '/');
            if (seg + slen == end) {
                *q++ = '/';
            }
        } else {
            *q++ = '/';
            memcpy(q, seg, slen);
            q += slen;
        }
        seg += slen;
    }
    if (q == out) {
        *q++ = '/';
    }
    /* a trailing "/" may have been written twice ("/a//") */
    while (merge && q - out > 1 && q[-1] == '/' && q[-2] == '/') {
        q--;
    }

    path->data = out;
    path->len = (size_t) (q - out);
    return FY_OK;
}

/* Characters a path sent upstream must carry %-escaped. */
static int
fy_http_must_escape(u_char c)
{
    return c <= 0x20 || c >= 0x7f || c == '%' || c == '?' || c == '#'
           || c == '"' || c == '<' || c == '>' || c == '\\' || c == '^'
           || c == '`' || c == '{' || c == '|' || c == '}';
}

size_t
fy_http_escape_path(u_char *dst, const u_char *src, size_t len)
{
    static const char  hex[] = "0123456789ABCDEF";
    size_t             i, n = 0;

    for (i = 0; i < len; i++) {
        if (fy_http_must_escape(src[i])) {
            if (dst) {
                dst[n] = '%';
                dst[n + 1] = (u_char) hex[src[i] >> 4];
                dst[n + 2] = (u_char) hex[src[i] & 0xf];
            }
            n += 3;
        } else {
            if (dst) {
                dst[n] = src[i];
            }
            n++;
        }
    }
    return n;
}
