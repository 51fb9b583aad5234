/*
 * fy_http_var_file.c -- the variables of the file a request maps to:
 * $document_root, $realpath_root, $request_filename.
 *
 * As nginx computes them from the root or alias of the request's
 * location (the server's before one is chosen, as in a server-level
 * "if (!-e $request_filename)"): the root and the URI, or the alias and
 * what follows the location's prefix -- the path the static handler
 * looks up (fy_http_static.c).  A level with neither (nginx's default
 * root "html", which ferry does not serve from) gives empty values, so
 * that a test such as "-e $request_filename" never probes a path
 * outside any root.
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

/* The root or alias (absolute, without a trailing "/") of r's level;
 * *alias says which.  NULL: neither. */
static const char *
fy_var_file_base(fy_http_request_t *r, fy_http_loc_conf_t **lcf, int *alias)
{
    fy_http_static_conf_t  *scf;

    *lcf = fy_http_req_loc(r);
    scf = (*lcf)->static_conf;
    if (scf == NULL) {
        return NULL;
    }
    *alias = scf->alias != NULL;
    return scf->alias ? scf->alias : scf->root;
}

size_t
fy_http_var_document_root(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_http_loc_conf_t  *lcf;
    const char          *base;
    int                  alias;

    base = fy_var_file_base(r, &lcf, &alias);
    return base ? fy_var_file_copy(buf, size, base, strlen(base)) : 0;
}

/* $realpath_root: the document root with every link resolved; empty
 * when it cannot be (it does not exist). */
size_t
fy_http_var_realpath_root(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_http_loc_conf_t  *lcf;
    const char          *base;
    char                 real[PATH_MAX];
    int                  alias;

    base = fy_var_file_base(r, &lcf, &alias);
    if (base == NULL || realpath(base, real) == NULL) {
        return 0;
    }
    return fy_var_file_copy(buf, size, real, strlen(real));
}

/* $request_filename: the root and the URI ("/srv/www" "/a/b.html"), or
 * the alias and the URI past the location's prefix, joined by one
 * "/". */
size_t
fy_http_var_request_filename(fy_http_request_t *r, u_char *buf, size_t size)
{
    fy_http_loc_conf_t  *lcf;
    const char          *base;
    const u_char        *rest;
    size_t               blen, rlen, n;
    int                  alias;

    base = fy_var_file_base(r, &lcf, &alias);
    if (base == NULL) {
        return 0;
    }
    blen = strlen(base);
    rest = r->path.data;
    rlen = r->path.len;
    if (alias) {
        n = fy_min(lcf->name.len, rlen);
        rest += n;
        rlen -= n;
    }
    if (blen && base[blen - 1] == '/' && rlen && rest[0] == '/') {
        rest++;             /* root "/" */
        rlen--;
    }
    n = fy_var_file_copy(buf, size, base, blen);
    if (rlen && rest[0] != '/' && !(blen && base[blen - 1] == '/')) {
        n += fy_var_file_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                              "/", 1);
    }
    n += fy_var_file_copy(buf ? buf + n : NULL, size > n ? size - n : 0,
                          rest, rlen);
    return n;
}
