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

/* Case-insensitive compare of a counted string with a C literal.
 * Inline because it runs for every header of every request and
 * response: with a literal, strlen() is a constant and most names are
 * told apart by their length alone, without a call. */
static inline int
fy_str_eq_ci(const fy_str_t *s, const char *lit)
{
    size_t  n = strlen(lit);

    return s->len == n
           && (n == 0 || strncasecmp((const char *) s->data, lit, n) == 0);
}
int fy_str_eq(const fy_str_t *s, const char *lit);
/* malloc'ed NUL-terminated copy; NULL on allocation failure */
char *fy_str_dup_cstr(const fy_str_t *s);
/* Parse decimal; -1 on any non-digit or overflow beyond INT64_MAX. */
int64_t fy_atoi(const u_char *p, size_t n);
/* Parse hexadecimal; -1 on any non-hex digit or overflow. */
int64_t fy_hextoi(const u_char *p, size_t n);

#endif /* FY_STRING_H */
