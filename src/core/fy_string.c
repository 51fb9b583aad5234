/*
 * fy_string.c -- counted-string helpers and the number parsers that
 * the config reader and the HTTP parser share.
 */
#include "fy_core.h"

#include <strings.h>


int
fy_str_eq(const fy_str_t *s, const char *lit)
{
    size_t  n;

    n = strlen(lit);

    if (s->len != n) {
        return 0;
    }

    /* n == 0: the data of an empty string may be NULL. */
    return n == 0 || memcmp(s->data, lit, n) == 0;
}


char *
fy_str_dup_cstr(const fy_str_t *s)
{
    char  *p;

    p = malloc(s->len + 1);
    if (p == NULL) {
        return NULL;
    }

    if (s->len) {
        memcpy(p, s->data, s->len);
    }
    p[s->len] = '\0';

    return p;
}


/*
 * The overflow test runs before each multiply so that the value never
 * leaves the int64_t range: signed overflow would be undefined.
 */
int64_t
fy_atoi(const u_char *p, size_t n)
{
    int64_t  value, d;

    if (n == 0) {
        return -1;
    }

    for (value = 0; n--; p++) {
        if (*p < '0' || *p > '9') {
            return -1;
        }

        d = *p - '0';

        if (value > (INT64_MAX - d) / 10) {
            return -1;
        }

        value = value * 10 + d;
    }

    return value;
}


int64_t
fy_hextoi(const u_char *p, size_t n)
{
    int64_t  value, d;
    u_char   c;

    if (n == 0) {
        return -1;
    }

    for (value = 0; n--; p++) {
        c = *p;

        if (c >= '0' && c <= '9') {
            d = c - '0';

        } else {
            c |= 0x20;    /* ASCII lower case */

            if (c >= 'a' && c <= 'f') {
                d = c - 'a' + 10;

            } else {
                return -1;
            }
        }

        if (value > (INT64_MAX - d) / 16) {
            return -1;
        }

        value = value * 16 + d;
    }

    return value;
}

size_t
fy_utoa(u_char *buf, uint64_t v)
{
    u_char  t[FY_UTOA_MAX];
    size_t  n = 0, len;

    do {
        t[n++] = (u_char) ('0' + v % 10);
        v /= 10;
    } while (v);
    for (len = n; n; n--) {
        *buf++ = t[n - 1];
    }
    return len;
}

size_t
fy_utox(u_char *buf, uint64_t v)
{
    static const char  hex[] = "0123456789abcdef";
    u_char             t[16];
    size_t             n = 0, len;

    do {
        t[n++] = (u_char) hex[v & 15];
        v >>= 4;
    } while (v);
    for (len = n; n; n--) {
        *buf++ = t[n - 1];
    }
    return len;
}
