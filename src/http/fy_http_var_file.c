/*
 * fy_http_var_file.c -- $realpath_root: the root or alias of the
 * request's level with every link resolved ($document_root and
 * $request_filename, as written, are fy_http_static.c's).
 *
 * Taken from the root or alias of the request's level (the server's
 * before a location is chosen); empty with neither (nginx's default
 * root "html", which ferry does not serve from) or when the path does
 * not exist.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

#include <limits.h>

static size_t
fy_var_file_copy(u_char *buf, size_t size, const void *src, size_t len)
{
    if (buf && len) {
        memcpy(buf, src, fy_min(size, len));
    }
    return len;
}

/* The root or alias (absolute, without a trailing "/"; evaluated for r
 * when it has variables) of r's level.  NULL: neither. */
static const char *
fy_var_file_base(fy_http_request_t *r)
{
    const u_char  *p;

    return fy_http_static_base(r, fy_http_req_loc(r), &r->path, &p, NULL);
}

/* $realpath_root: the document root with every link resolved; empty
 * when it cannot be (it does not exist). */
size_t
fy_http_var_realpath_root(fy_http_request_t *r, u_char *buf, size_t size)
{
    const char          *base;
    char                 real[PATH_MAX];

    base = fy_var_file_base(r);
    if (base == NULL || realpath(base, real) == NULL) {
        return 0;
    }
    return fy_var_file_copy(buf, size, real, strlen(real));
}
