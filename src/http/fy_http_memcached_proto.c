/*
 * fy_http_memcached_proto.c -- memcached's text protocol for
 * memcached_pass (fy_http_memcached.h): the escaped key, the answer's
 * first line, the trailer.  Read as nginx's memcached module reads it:
 * "VALUE KEY FLAGS LENGTH" with the key that was asked for, FLAGS and
 * LENGTH decimal numbers, nothing after LENGTH (a "gets" CAS number is
 * an invalid length); "END"; anything else is invalid.
 */
#include "fy_core.h"
#include "fy_http_memcached.h"

/* nginx's NGX_ESCAPE_MEMCACHED: bytes 0-32 (space included) and '%' */
#define fy_memc_escaped(ch)  ((ch) <= ' ' || (ch) == '%')

size_t
fy_memc_key_len(const u_char *key, size_t len)
{
    size_t  i, n = len;

    for (i = 0; i < len; i++) {
        n += fy_memc_escaped(key[i]) ? 2 : 0;
    }
    return n;
}

u_char *
fy_memc_key_put(u_char *q, const u_char *key, size_t len)
{
    static const u_char  hex[] = "0123456789ABCDEF";
    size_t               i;

    for (i = 0; i < len; i++) {
        if (fy_memc_escaped(key[i])) {
            *q++ = '%';
            *q++ = hex[key[i] >> 4];
            *q++ = hex[key[i] & 0xf];
        } else {
            *q++ = key[i];
        }
    }
    return q;
}

int
fy_memc_parse_line(const u_char *line, size_t n, const u_char *key,
                   size_t klen, fy_memc_value_t *v)
{
    const u_char  *p, *end = line + n, *sp;

    if (n == 3 && memcmp(line, "END", 3) == 0) {
        return FY_MEMC_END;
    }
    if (n < 6 || memcmp(line, "VALUE ", 6) != 0) {
        return FY_MEMC_INVALID;
    }
    p = line + 6;
    if ((size_t) (end - p) <= klen || memcmp(p, key, klen) != 0
        || p[klen] != ' ')
    {
        return FY_MEMC_BAD_KEY;
    }
    p += klen + 1;
    sp = memchr(p, ' ', (size_t) (end - p));
    if (sp == NULL) {
        return FY_MEMC_INVALID;
    }
    v->flags = fy_atoi(p, (size_t) (sp - p));
    if (v->flags == -1) {
        return FY_MEMC_BAD_FLAGS;
    }
    p = sp + 1;
    v->length = fy_atoi(p, (size_t) (end - p));
    if (v->length == -1) {
        return FY_MEMC_BAD_LENGTH;
    }
    v->length_text = p;
    v->length_len = (size_t) (end - p);
    return FY_MEMC_VALUE;
}

int
fy_memc_trailer_ok(const u_char *p, size_t n, uint64_t rest)
{
    static const char  trailer[] = FY_MEMC_TRAILER;
    size_t             j;

    /* byte j comes with rest - j due: a trailer byte once that is at
     * most FY_MEMC_END_LEN, its index FY_MEMC_END_LEN - (rest - j) */
    j = rest > FY_MEMC_END_LEN ? (size_t) (rest - FY_MEMC_END_LEN) : 0;
    for ( ; j < n && j < rest; j++) {
        if (p[j] != (u_char) trailer[FY_MEMC_END_LEN - (rest - j)]) {
            return 0;
        }
    }
    return 1;
}
