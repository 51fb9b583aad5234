/*
 * fy_string.h -- counted strings.  Config values, header names and
 * values all point into buffers they do not own; fy_str_t says where
 * and how long, never NUL-terminated unless a function says so.
 */
#ifndef FY_STRING_H
#define FY_STRING_H

#include <strings.h>

typedef struct {
    size_t   len;
    u_char  *data;
} fy_str_t;

#define fy_string(s)      { sizeof(s) - 1, (u_char *) (s) }
#define fy_null_string    { 0, NULL }
#define fy_str_set(str, text) \
    ((str)->len = sizeof(text) - 1, (str)->data = (u_char *) (text))

/* Append n bytes at dst; the new end (nginx's ngx_cpymem), for
 * building header text piece by piece. */
static inline char *
fy_cpymem(char *dst, const void *src, size_t n)
{
    memcpy(dst, src, n);
    return dst + n;
}
/* the same with a C literal */
#define fy_cpylit(dst, lit)  fy_cpymem(dst, lit, sizeof(lit) - 1)

/* x with 0x20 added to each byte that is an ASCII capital: in each
 * byte, t + 0x3f has its top bit set from 'A' up and t + 0x25 from
 * '[' up, with no carry into the next byte (t, the low seven bits, is
 * at most 0x7f); ~x leaves out the bytes above 0x7f. */
static inline uint64_t
fy_lower8(uint64_t x)
{
    uint64_t  t = x & 0x7f7f7f7f7f7f7f7fULL;

    return x | (((t + 0x3f3f3f3f3f3f3f3fULL) & ~(t + 0x2525252525252525ULL)
                 & ~x & 0x8080808080808080ULL) >> 2);
}

/* ASCII case-insensitive equality of n bytes.  Inline, not
 * strncasecmp(): header names are short and a libc call per compare
 * cost more than the compare itself (callgrind, docs/performance.md).
 * Words of eight bytes (four for 4 to 7), lowered where they differ,
 * the last one overlapping the one before; a byte loop under four.
 * With a literal, n is a constant and only one of the three stays. */
static inline int
fy_mem_eq_ci(const u_char *a, const char *b, size_t n)
{
    uint64_t  x, y;
    uint32_t  u, v;
    size_t    i;
    u_char    c, d;

    if (n >= 8) {
        for (i = 0; ; i += 8) {
            if (i > n - 8) {
                i = n - 8;
            }
            memcpy(&x, a + i, 8);
            memcpy(&y, b + i, 8);
            if (x != y && fy_lower8(x) != fy_lower8(y)) {
                return 0;
            }
            if (i == n - 8) {
                return 1;
            }
        }
    }
    if (n >= 4) {
        for (i = 0; ; i = n - 4) {
            memcpy(&u, a + i, 4);
            memcpy(&v, b + i, 4);
            if (u != v && fy_lower8(u) != fy_lower8(v)) {
                return 0;
            }
            if (i == n - 4) {
                return 1;
            }
        }
    }
    while (n--) {
        c = *a++;
        d = (u_char) *b++;
        if (c != d
            && ((c | 0x20) != (d | 0x20)
                || (unsigned) ((c | 0x20) - 'a') > (unsigned) ('z' - 'a')))
        {
            return 0;
        }
    }
    return 1;
}

/* Case-insensitive compare of a counted string with a C literal.
 * Inline because it runs for every header of every request and
 * response: with a literal, strlen() is a constant and most names are
 * told apart by their length alone. */
static inline int
fy_str_eq_ci(const fy_str_t *s, const char *lit)
{
    size_t  n = strlen(lit);

    return s->len == n && fy_mem_eq_ci(s->data, lit, n);
}
int fy_str_eq(const fy_str_t *s, const char *lit);
/* malloc'ed NUL-terminated copy; NULL on allocation failure */
char *fy_str_dup_cstr(const fy_str_t *s);
/* Parse decimal; -1 on any non-digit or overflow beyond INT64_MAX. */
int64_t fy_atoi(const u_char *p, size_t n);
/* Parse hexadecimal; -1 on any non-hex digit or overflow. */
int64_t fy_hextoi(const u_char *p, size_t n);
/* v in decimal at buf (room for FY_UTOA_MAX bytes); returns the
 * length.  Not snprintf(): a number of an access log line cost 700
 * instructions that way (docs/performance.md). */
#define FY_UTOA_MAX  20
size_t fy_utoa(u_char *buf, uint64_t v);
/* the same in lower-case hexadecimal (at most 16 bytes) */
size_t fy_utox(u_char *buf, uint64_t v);

#endif /* FY_STRING_H */
