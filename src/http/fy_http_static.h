/*
 * fy_http_static.h -- serving files from disk: root, alias, index,
 * types, and the Range parser the handler uses.
 */
#ifndef FY_HTTP_STATIC_H
#define FY_HTTP_STATIC_H

#include "fy_http.h"

/* One "types" entry: extension (lowercase) -> MIME type. */
typedef struct {
    fy_str_t  ext;
    fy_str_t  type;
} fy_http_type_t;

/* What the static directives set at one level.  A level without any of
 * them shares its parent's structure. */
typedef struct fy_http_static_conf_s {
    char        *root;        /* absolute, NUL-terminated; NULL: unset */
    char        *alias;       /* location only; NULL: unset */
    fy_array_t  *index;       /* fy_str_t; NULL: unset ("index.html") */
    fy_array_t  *types;       /* fy_http_type_t; NULL: unset */
} fy_http_static_conf_t;

/* After the other fields of conf are merged from prev: inherit root,
 * index and types, and make conf a file-serving location when it has a
 * root or alias and no return, proxy_pass or other handler. */
void fy_http_static_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);

/* Range header values (RFC 9110 14.2) for a representation of `size`
 * bytes.  Only one range is served: */
#define FY_HTTP_RANGE_OK             0   /* [*start, *end] inclusive */
#define FY_HTTP_RANGE_IGNORE         1   /* malformed, not "bytes", or
                                            several ranges: send all */
#define FY_HTTP_RANGE_UNSATISFIABLE  2   /* 416 */

int fy_http_parse_range(const u_char *s, size_t len, off_t size,
                        off_t *start, off_t *end);

#endif /* FY_HTTP_STATIC_H */
