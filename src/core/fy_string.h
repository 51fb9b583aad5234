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

/* ASCII case-insensitive equality of n bytes.  Inline, not
 * strncasecmp(): header names are short and a libc call per compare
 * cost more than the compare itself (callgrind, docs/performance.md).
 * Two bytes that differ are equal only as the two cases of a letter. */
static inline int
fy_mem_eq_ci(const u_char *a, const char *b, size_t n)
{
    u_char  x, y;

    while (n--) {
        x = *a++;
        y = (u_char) *b++;
        if (x != y
            && ((x | 0x20) != (y | 0x20)
                || (unsigned) ((x | 0x20) - 'a') > (unsigned) ('z' - 'a')))
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

#endif /* FY_STRING_H */
