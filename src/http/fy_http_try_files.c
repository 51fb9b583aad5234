/*
 * fy_http_try_files.c -- try_files: the first of a list of files that
 * exists serves the request in its own location; when none does, the
 * last argument says what happens.
 *
 *   location / { try_files $uri $uri/ /index.html; }   a single-page app
 *   location / { try_files $uri @backend; }            files, else the app
 *   location / { try_files $uri =404; }
 *
 * As in nginx it runs after "return" and allow/deny and before the
 * location's content handler (static files, proxy_pass, ...), for any
 * method.  A FILE ending in "/" must be a directory, any other a
 * regular file; both are looked up by fy_http_static_exists with the
 * static handler's own rules (segment by segment, no links, no "." or
 * ".." segment, no NUL), so a value built from the request cannot probe
 * outside the root.  The first that exists becomes the request's path
 * ($uri) -- a directory's without its last "/", so "/dir" still gets
 * the static handler's redirect to "/dir/", as in nginx -- and the
 * location's handler serves it.
 *
 * When none exists: "=CODE" is answered as "return CODE;" would be
 * (through error_page); "@name" hands the request to that named
 * location; anything else is an internal redirect to that URI (a "?" in
 * it gives the new arguments), which searches the locations again.
 * Method and body stay as they are, so "try_files $uri @app" proxies a
 * POST whole.  Redirects count against FY_HTTP_MAX_REDIRECTS
 * (fy_http_error_page.c), so a fallback that comes back to its own
 * location ends in a 500, not a loop.
 *
 * Not inherited: a server-level try_files applies to requests that
 * match no location, as in nginx.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

typedef struct {
    fy_http_cv_t  *name;
    unsigned       dir:1;           /* written with a trailing "/" */
} fy_http_try_file_t;

struct fy_http_try_files_s {
    fy_http_try_file_t  *files;
    unsigned             nfiles;
    fy_http_cv_t        *fallback;  /* "/uri", "@name"; NULL with code */
    int                  code;      /* "=CODE"; 0: none */
};

static const char *fy_http_try_files_set(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_try_files_commands[] = {

    { "try_files", FY_CONF_SRV | FY_CONF_LOC, 0, 2, FY_CONF_MANY,
      fy_http_try_files_set, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};


/* ---- the directive ---- */

/* "=CODE": answered as "return CODE;" would be.  A redirect needs a
 * URL, which "=CODE" cannot carry; below 200 is not an answer. */
static const char *
fy_http_try_files_code(fy_conf_t *cf, fy_http_try_files_t *tf,
                       const fy_str_t *arg)
{
    int64_t  code;

    code = fy_atoi(arg->data + 1, arg->len - 1);
    if (code < 200 || code > 999) {
        fy_conf_error(cf, "invalid code \"%s\" in \"try_files\", expected "
                      "=200 to =999", arg->data);
        return FY_CONF_ERROR;
    }
    if (code == 301 || code == 302 || code == 303 || code == 307
        || code == 308)
    {
        fy_conf_error(cf, "invalid code \"%s\" in \"try_files\": a "
                      "redirect needs a URL (use \"return\")", arg->data);
        return FY_CONF_ERROR;
    }
    tf->code = (int) code;
    return FY_CONF_OK;
}

/* The fallback URI or @name.  One without variables is checked now:
 * a URI must be a path that stays inside "/" (as a request's must). */
static const char *
fy_http_try_files_fallback(fy_conf_t *cf, fy_http_try_files_t *tf,
                           const fy_str_t *arg)
{
    fy_str_t   path;
    u_char    *q;

    if (arg->len == 0 || (arg->data[0] != '/' && arg->data[0] != '$'
                          && arg->data[0] != '@')
        || (arg->data[0] == '@' && arg->len == 1))
    {
        fy_conf_error(cf, "invalid fallback \"%s\" in \"try_files\", "
                      "expected a URI, \"@name\" or \"=code\"", arg->data);
        return FY_CONF_ERROR;
    }
    tf->fallback = fy_http_cv_compile(cf, arg);
    if (tf->fallback == NULL) {
        return FY_CONF_ERROR;
    }
    if (tf->fallback->has_vars || arg->data[0] != '/') {
        return FY_CONF_OK;
    }

    path = *arg;
    q = memchr(arg->data, '?', arg->len);
    if (q) {
        path.len = (size_t) (q - arg->data);
    }
    if (fy_http_normalize_path(cf->pool, &path) != FY_OK) {
        fy_conf_error(cf, "invalid fallback URI \"%s\" in \"try_files\"",
                      arg->data);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* try_files FILE ... URI | @name | =CODE */
static const char *
fy_http_try_files_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t   *lcf = conf;
    fy_http_try_files_t  *tf;
    fy_http_try_file_t   *f;
    const fy_str_t       *last = &cf->args[cf->nargs - 1];
    unsigned              i;

    fy_unused(cmd);

    if (lcf->try_files) {
        return "is duplicate";
    }
    tf = fy_pcalloc(cf->pool, sizeof(fy_http_try_files_t));
    if (tf == NULL) {
        return "out of memory";
    }
    tf->nfiles = cf->nargs - 2;
    tf->files = fy_pcalloc(cf->pool, tf->nfiles * sizeof(fy_http_try_file_t));
    if (tf->files == NULL) {
        return "out of memory";
    }

    for (i = 0; i < tf->nfiles; i++) {
        f = &tf->files[i];
        f->name = fy_http_cv_compile(cf, &cf->args[i + 1]);
        if (f->name == NULL) {
            return FY_CONF_ERROR;
        }
        f->dir = cf->args[i + 1].len
                 && cf->args[i + 1].data[cf->args[i + 1].len - 1] == '/';
    }

    if (last->len && last->data[0] == '=') {
        if (fy_http_try_files_code(cf, tf, last) != FY_CONF_OK) {
            return FY_CONF_ERROR;
        }
    } else if (fy_http_try_files_fallback(cf, tf, last) != FY_CONF_OK) {
        return FY_CONF_ERROR;
    }

    lcf->try_files = tf;
    return FY_CONF_OK;
}


/* ---- per request ---- */

/* The request path a FILE value stands for.  Under root, the value
 * itself ("/" put in front if it has none).  Under alias, as nginx: a
 * value that starts with the location's prefix is that path already;
 * another is looked up inside the alias, so the path is the prefix
 * followed by it (the static handler takes the prefix off again).
 * NULL: no memory. */
static u_char *
fy_http_try_files_path(fy_http_request_t *r, u_char *v, size_t len,
                       fy_str_t *path)
{
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    const fy_str_t         *pre = NULL;
    fy_str_t                slash = fy_string("/");

    path->data = v;
    path->len = len;
    if (scf && scf->alias) {
        if (len < r->loc->name.len
            || memcmp(v, r->loc->name.data, r->loc->name.len) != 0)
        {
            pre = &r->loc->name;
        }
    } else if (len == 0 || v[0] != '/') {
        pre = &slash;
    }
    if (pre == NULL) {
        return path->data;
    }

    path->data = fy_palloc(r->pool, pre->len + len);
    if (path->data == NULL) {
        return NULL;
    }
    memcpy(path->data, pre->data, pre->len);
    memcpy(path->data + pre->len, v, len);
    path->len = pre->len + len;
    return path->data;
}

int
fy_http_try_files(fy_http_request_t *r)
{
    const fy_http_try_files_t  *tf = r->loc->try_files;
    const fy_http_try_file_t   *f;
    fy_str_t                    path;
    u_char                     *v;
    size_t                      len;
    unsigned                    i;

    for (i = 0; i < tf->nfiles; i++) {
        f = &tf->files[i];
        v = fy_http_cv_eval(r, f->name, &len);
        if (v == NULL || fy_http_try_files_path(r, v, len, &path) == NULL) {
            fy_http_send_error(r, 500);
            return FY_OK;
        }
        if (!fy_http_static_exists(r, &path, f->dir)) {
            fy_log_debug("try_files: no %s \"%.*s\"", f->dir ? "directory"
                         : "file", (int) path.len, path.data);
            continue;
        }
        if (f->dir && path.len > 1) {
            path.len--;             /* "$uri/": $uri is the directory's */
        }
        fy_log_debug("try_files: \"%.*s\"", (int) path.len, path.data);
        r->path = path;
        return FY_DECLINED;
    }

    if (tf->code) {
        return tf->code;
    }

    v = fy_http_cv_eval(r, tf->fallback, &len);
    if (v == NULL) {
        fy_http_send_error(r, 500);
        return FY_OK;
    }
    if (len && v[0] == '@') {
        fy_http_named_redirect(r, v, len);
        return FY_OK;
    }
    if (len == 0 || v[0] != '/'
        || fy_http_internal_redirect(r, v, len) != FY_OK)
    {
        /* only a value made from the request gets here (a fixed one was
         * checked when read): "/x/../../y", a bad %-escape, ... */
        fy_log_error(FY_LOG_INFO, 0, "try_files: invalid fallback URI "
                     "\"%.*s\", client %s", (int) len, v, r->hc->addr_text);
        fy_http_send_error(r, 400);
    }
    return FY_OK;
}
