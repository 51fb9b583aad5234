/*
 * fy_http_static.c -- serving files: root, alias, index and types, and
 * the content handler that finds and opens the file; sending it is
 * fy_http_static_send.c.
 *
 *     root html;                            (relative to the prefix)
 *     location /i/ { alias /data/images/; }
 *     index index.html index.htm;
 *     types { text/html html htm; }
 *
 * A location serves files when it has a root or alias (its own or
 * inherited) and no return, proxy_pass or other content handler.
 *
 * The path is never used as one string: the root (or alias) directory
 * is opened, then each segment of the request path is opened under the
 * previous one with O_NOFOLLOW.  A symbolic link anywhere below the
 * root is refused (403), as nginx's "disable_symlinks on"; ".." and NUL
 * cannot appear in a segment (fy_http_uri.c resolves dot segments, and
 * the handler checks again), so nothing outside the root is reachable.
 *
 * try_files (fy_http_try_files.c) asks fy_http_static_exists, which
 * looks a path up the same way, so it never reports a file the handler
 * would refuse, nor probes a path outside the root.
 *
 * gzip_static (fy_http_gzip*.c): "name.gz" next to the file is opened
 * in its place for a client that takes gzip.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>

static const char *fy_http_static_root(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_static_index(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_static_types(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_http_static_handler(fy_http_request_t *r);

const fy_command_t  fy_http_static_commands[] = {

    { "root", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 1, 1,
      fy_http_static_root, FY_CONF_LOC_OFF, 0, NULL },

    { "alias", FY_CONF_LOC, 0, 1, 1, fy_http_static_root, FY_CONF_LOC_OFF,
      0, NULL },

    { "index", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, FY_CONF_MANY,
      fy_http_static_index, FY_CONF_LOC_OFF, 0, NULL },

    { "types", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, FY_CONF_BLOCK, 0, 0,
      fy_http_static_types, FY_CONF_LOC_OFF, 0, NULL },

    /* etag off: no ETag, and If-None-Match / If-Range have none to
     * match (fy_http_static_send.c) */
    { "etag", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_flag, FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, etag),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* Without any "types" block, as nginx's built-in list. */
static fy_http_type_t  fy_http_static_default_types[] = {
    { fy_string("html"), fy_string("text/html") },
    { fy_string("gif"), fy_string("image/gif") },
    { fy_string("jpg"), fy_string("image/jpeg") },
};

static fy_str_t  fy_http_static_default_index = fy_string("index.html");


/* ---- directives ---- */

fy_http_static_conf_t *
fy_http_static_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    fy_http_static_conf_t  *scf = lcf->static_conf;

    if (scf == NULL) {
        scf = fy_pcalloc(cf->pool, sizeof(fy_http_static_conf_t));
        if (scf == NULL) {
            return NULL;
        }
        scf->autoindex = FY_CONF_UNSET_INT;
        scf->autoindex_exact_size = FY_CONF_UNSET_INT;
        scf->autoindex_localtime = FY_CONF_UNSET_INT;
        scf->autoindex_format = FY_CONF_UNSET_INT;
        lcf->static_conf = scf;
    }
    return scf;
}

static const char *fy_http_static_root_vars(fy_conf_t *cf,
    const fy_command_t *cmd, fy_http_static_conf_t *scf,
    fy_http_loc_conf_t *lcf);

/* root and alias: one path per level, as in nginx. */
static const char *
fy_http_static_root(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    char                   *path;
    size_t                  len;

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->root || scf->alias) {
        fy_conf_error(cf, "\"%s\" directive is duplicate, \"%s\" was "
                      "specified earlier", cmd->name,
                      scf->root ? "root" : "alias");
        return FY_CONF_ERROR;
    }
    if (cf->args[1].len == 0
        || memchr(cf->args[1].data, '\0', cf->args[1].len))
    {
        return "has an invalid path";
    }

    if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        return fy_http_static_root_vars(cf, cmd, scf, conf);
    }
    path = fy_conf_full_name(cf, cf->prefix, &cf->args[1]);
    if (path == NULL) {
        return "out of memory";
    }
    len = strlen(path);
    scf->written = fy_palloc(cf->pool, len + 1);
    if (scf->written == NULL) {
        return "out of memory";
    }
    memcpy(scf->written, path, len + 1);
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }

    if (cmd->name[0] == 'r') {
        scf->root = path;
    } else {
        scf->alias = path;
        scf->alias_whole = ((fy_http_loc_conf_t *) conf)->regex != NULL;
    }
    return FY_CONF_OK;
}

/* root or alias with variables ("root /var/www/$host;", "alias
 * /data/$1;"): compiled, evaluated for each request. */
static const char *
fy_http_static_root_vars(fy_conf_t *cf, const fy_command_t *cmd,
                         fy_http_static_conf_t *scf, fy_http_loc_conf_t *lcf)
{
    static const char  *const  own[] = { "$document_root", "$realpath_root" };
    const fy_str_t            *v = &cf->args[1];
    unsigned                   i;

    /* they are made from the value itself */
    for (i = 0; i < fy_nelems(own); i++) {
        if (memmem(v->data, v->len, own[i], strlen(own[i]))) {
            fy_conf_error(cf, "the %s variable cannot be used in the \"%s\" "
                          "directive", own[i], cmd->name);
            return FY_CONF_ERROR;
        }
    }
    scf->cv = fy_http_cv_compile(cf, v);
    if (scf->cv == NULL) {
        return FY_CONF_ERROR;               /* logged */
    }
    scf->prefix = cf->prefix;
    scf->written = (char *) v->data;
    if (cmd->name[0] == 'r') {
        scf->root = (char *) v->data;
    } else {
        scf->alias = (char *) v->data;
        scf->alias_whole = lcf->regex != NULL;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_static_index(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    fy_str_t               *name;
    unsigned                i;

    fy_unused(cmd);

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->index) {
        return "is duplicate";
    }
    scf->index = fy_palloc(cf->pool, sizeof(fy_array_t));
    if (scf->index == NULL) {
        return "out of memory";
    }
    fy_array_init(scf->index, cf->pool, cf->nargs - 1, sizeof(fy_str_t));

    for (i = 1; i < cf->nargs; i++) {
        if (cf->args[i].len > 1 && cf->args[i].data[0] == '/'
            && !memchr(cf->args[i].data, '\0', cf->args[i].len))
        {
            /* an absolute index: a URI, redirected to without a look
             * (nginx), so nothing after it could be reached */
            if (i != cf->nargs - 1) {
                fy_conf_error(cf, "only the last index in \"index\" "
                              "directive may be absolute");
                return FY_CONF_ERROR;
            }
        } else if (cf->args[i].len == 0
                   || memchr(cf->args[i].data, '/', cf->args[i].len)
                   || memchr(cf->args[i].data, '\0', cf->args[i].len)
                   || fy_str_eq(&cf->args[i], ".")
                   || fy_str_eq(&cf->args[i], ".."))
        {
            /* else a file in the directory itself: no paths, no "..",
             * no NUL */
            fy_conf_error(cf, "invalid index file name \"%.*s\", expected "
                          "a file name without \"/\" or an absolute URI",
                          (int) cf->args[i].len, cf->args[i].data);
            return FY_CONF_ERROR;
        }
        name = fy_array_push(scf->index);
        if (name == NULL) {
            return "out of memory";
        }
        name->data = (u_char *) fy_pstrndup(cf->pool, cf->args[i].data,
                                            cf->args[i].len);
        name->len = cf->args[i].len;
        if (name->data == NULL) {
            return "out of memory";
        }
    }
    return FY_CONF_OK;
}

/* One line of a types block: "text/html html htm;" */
static int
fy_http_static_type(fy_conf_t *cf)
{
    fy_array_t      *types = cf->handler_data;
    fy_http_type_t  *t;
    unsigned         i, j, k;
    u_char          *ext;

    if (cf->nargs < 2) {
        fy_conf_error(cf, "invalid number of arguments in \"types\" entry "
                      "\"%.*s\", expected a type and extensions",
                      (int) cf->args[0].len, cf->args[0].data);
        return FY_ERROR;
    }

    for (i = 1; i < cf->nargs; i++) {
        ext = fy_palloc(cf->pool, cf->args[i].len + 1);
        if (ext == NULL) {
            fy_conf_error(cf, "out of memory");
            return FY_ERROR;
        }
        for (k = 0; k < cf->args[i].len; k++) {
            ext[k] = (u_char) tolower(cf->args[i].data[k]);
        }
        ext[k] = '\0';

        /* a later entry for the same extension replaces the earlier */
        t = NULL;
        for (j = 0; j < types->nelts; j++) {
            t = fy_array_elt(types, fy_http_type_t, j);
            if (t->ext.len == k && memcmp(t->ext.data, ext, k) == 0) {
                break;
            }
            t = NULL;
        }
        if (t == NULL) {
            t = fy_array_push(types);
            if (t == NULL) {
                fy_conf_error(cf, "out of memory");
                return FY_ERROR;
            }
        }
        t->ext.data = ext;
        t->ext.len = k;
        t->type = cf->args[0];
    }
    return FY_OK;
}

static const char *
fy_http_static_types(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    int                     rc;

    fy_unused(cmd);

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->types == NULL) {
        scf->types = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (scf->types == NULL) {
            return "out of memory";
        }
        fy_array_init(scf->types, cf->pool, 64, sizeof(fy_http_type_t));
    }

    rc = fy_conf_parse_lines(cf, fy_http_static_type, scf->types);

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_http_static_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_static_conf_t  *s = conf->static_conf, *p = prev->static_conf;

    fy_conf_merge(conf->etag, prev->etag, FY_CONF_UNSET_INT, 1);
    if (s == NULL) {
        s = conf->static_conf = p;

    } else if (p && p != s) {
        if (s->root == NULL && s->alias == NULL) {
            s->root = p->root;
            s->written = p->written;
            s->cv = p->root ? p->cv : NULL;
            s->prefix = p->prefix;
        }
        if (s->index == NULL) {
            s->index = p->index;
        }
        if (s->types == NULL) {
            s->types = p->types;
        }
        fy_conf_merge(s->autoindex, p->autoindex, FY_CONF_UNSET_INT,
                      FY_CONF_UNSET_INT);
        fy_conf_merge(s->autoindex_exact_size, p->autoindex_exact_size,
                      FY_CONF_UNSET_INT, FY_CONF_UNSET_INT);
        fy_conf_merge(s->autoindex_localtime, p->autoindex_localtime,
                      FY_CONF_UNSET_INT, FY_CONF_UNSET_INT);
        fy_conf_merge(s->autoindex_format, p->autoindex_format,
                      FY_CONF_UNSET_INT, FY_CONF_UNSET_INT);
    }

    if (s == NULL || (s->root == NULL && s->alias == NULL)) {
        return;
    }
    if (!fy_http_proxied(conf) && conf->handler == NULL)
    {
        conf->handler = fy_http_static_handler;
    }
}

int
fy_http_static_serves(const fy_http_loc_conf_t *lcf)
{
    return lcf->handler == fy_http_static_handler;
}


/* ---- finding the file ---- */

void
fy_http_static_file_close(void *data)
{
    fy_http_static_file_t  *f = data;

    if (f->fd != -1) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->dir != -1) {
        close(f->dir);
        f->dir = -1;
    }
}

/* Answer for a failed open() or openat() of `what`. */
static void
fy_http_static_open_error(fy_http_request_t *r, int err, const char *what)
{
    int  status;

    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        status = 404;
        break;
    case EACCES:
    case EPERM:
    case ELOOP:         /* O_NOFOLLOW met a symbolic link */
        status = 403;
        break;
    default:
        status = 500;
    }
    if (status != 404 || r->loc->log_not_found) {
        fy_log_error(status == 500 ? FY_LOG_ERR : FY_LOG_INFO, err,
                     "open() of \"%s\" for \"%.*s\" failed, "
                     "client %s", what, (int) r->path.len, r->path.data,
                     r->hc->addr_text);
    }
    fy_http_send_error(r, status);
}

/* The MIME type for the extension of file name `name`. */
static const fy_str_t *
fy_http_static_type_of(fy_http_request_t *r, const u_char *name, size_t len)
{
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    const fy_http_type_t   *types;
    const u_char           *dot;
    unsigned                n, i;
    size_t                  elen;

    /* a leading dot is no extension (".txt" has none, as in nginx) */
    dot = NULL;
    for (i = 1; i < len; i++) {
        if (name[i] == '.') {
            dot = name + i;
        }
    }
    if (dot == NULL || dot + 1 == name + len) {
        return &r->loc->default_type;
    }
    elen = (size_t) (name + len - dot - 1);

    if (scf && scf->types) {
        types = scf->types->elts;
        n = scf->types->nelts;
    } else {
        types = fy_http_static_default_types;
        n = fy_nelems(fy_http_static_default_types);
    }
    for (i = 0; i < n; i++) {
        if (types[i].ext.len == elen
            && strncasecmp((const char *) types[i].ext.data,
                           (const char *) dot + 1, elen) == 0)
        {
            return &types[i].type;
        }
    }
    return &r->loc->default_type;
}

/* The MIME type for the extension of the request's path, looked for in
 * its last segment only: what nginx gives the text of "return 200
 * TEXT" (so "/a.txt" answers text/plain, "/x" default_type). */
const fy_str_t *
fy_http_static_uri_type(fy_http_request_t *r)
{
    const u_char  *name = r->path.data;
    size_t         len = r->path.len, i;

    for (i = len; i > 0; i--) {
        if (name[i - 1] == '/') {
            break;
        }
    }
    return fy_http_static_type_of(r, name + i, len - i);
}

/* gzip_static: "name.gz" next to the file (in directory f->dir) is sent
 * in its place, with its own length, dates and ETag, to a client that
 * takes gzip (to any with "always").  Returns the decision the headers
 * follow: YES (f->fd and *st are now the .gz), VARY (there is one, the
 * client does not get it), NO (there is none). */
static int
fy_http_static_gzip_file(fy_http_request_t *r, fy_http_static_file_t *f,
                         struct stat *st, const u_char *name, size_t nlen)
{
    char         gzname[NAME_MAX + 1];
    struct stat  gst;
    int          fd;

    if (nlen + 3 > NAME_MAX) {
        return FY_HTTP_GZIP_NO;
    }
    memcpy(gzname, name, nlen);
    memcpy(gzname + nlen, ".gz", 4);
    fd = openat(f->dir, gzname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC
                                | O_NONBLOCK);
    if (fd == -1) {
        /* none, or a link, or not ours to read: the file itself */
        return FY_HTTP_GZIP_NO;
    }
    if (fstat(fd, &gst) == -1 || !S_ISREG(gst.st_mode)) {
        close(fd);
        return FY_HTTP_GZIP_NO;
    }
    if (r->loc->gzip.static_mode != FY_HTTP_GZIP_STATIC_ALWAYS
        && !fy_http_gzip_request_ok(r, NULL, FY_HTTP_GZIP_HAS_LM
                                             | (r->loc->etag
                                                ? FY_HTTP_GZIP_HAS_ETAG
                                                : 0)))
    {
        close(fd);
        return FY_HTTP_GZIP_VARY;
    }
    if (f->fd != -1) {
        close(f->fd);               /* NAME itself (there may be none) */
    }
    f->fd = fd;
    *st = gst;
    return FY_HTTP_GZIP_YES;
}

/* A directory asked for without the trailing slash: 301 to it with. */
static void
fy_http_static_redirect(fy_http_request_t *r)
{
    fy_str_t  location;
    size_t    len;
    u_char   *p;

    len = fy_http_escape_path(NULL, r->path.data, r->path.len);
    p = fy_palloc(r->pool, len + 2 + r->args.len);
    if (p == NULL) {
        fy_http_close_connection(r->hc);
        return;
    }
    location.data = p;
    p += fy_http_escape_path(p, r->path.data, r->path.len);
    *p++ = '/';
    if (r->args.len) {
        *p++ = '?';
        memcpy(p, r->args.data, r->args.len);
        p += r->args.len;
    }
    location.len = (size_t) (p - location.data);
    r->status = 301;
    fy_http_send_response(r, 301, NULL, NULL, 0, &location);
}

int
fy_http_path_unsafe(const u_char *v, size_t len)
{
    const u_char  *s, *end = v + len;

    if (len == 0 || memchr(v, '\0', len)) {
        return 1;
    }
    for (s = v; s + 1 < end; s++) {
        if (s[0] == '.' && s[1] == '.' && (s == v || s[-1] == '/')
            && (s + 2 == end || s[2] == '/'))
        {
            return 1;
        }
    }
    return 0;
}

/*
 * A root or alias with variables, evaluated for r: *written as it came
 * out (relative ones put under the prefix, as nginx's
 * ngx_get_full_name), the directory without its trailing "/"s
 * returned.  A value that is empty, holds a NUL or a ".." segment (a
 * client's $host or a capture taking the files out of their tree) is
 * refused, logged: NULL, as for no memory.
 */
static const char *
fy_http_static_eval(fy_http_request_t *r, const fy_http_static_conf_t *scf,
                    const char **written)
{
    u_char  *v, *full, *s;
    size_t   len, plen, n;

    v = fy_http_cv_eval(r, scf->cv, &len);
    if (v == NULL) {
        return NULL;
    }
    if (fy_http_path_unsafe(v, len)) {
        fy_log_error(FY_LOG_ERR, 0, "\"%s\" \"%s\" gives an empty path or "
                     "one with a NUL or \"..\", client %s",
                     scf->alias ? "alias" : "root",
                     scf->alias ? scf->alias : scf->root, r->hc->addr_text);
        return NULL;
    }
    plen = v[0] == '/' ? 0 : strlen(scf->prefix);
    full = fy_palloc(r->pool, 2 * (plen + len + 1));
    if (full == NULL) {
        return NULL;
    }
    memcpy(full, scf->prefix, plen);
    memcpy(full + plen, v, len);
    full[plen + len] = '\0';
    *written = (char *) full;
    /* the directory: a copy without the trailing "/"s */
    s = full + plen + len + 1;
    n = plen + len;
    memcpy(s, full, n + 1);
    while (n > 1 && s[n - 1] == '/') {
        s[--n] = '\0';
    }
    return (char *) s;
}

/* the root and the whole path, or the alias and what follows the
 * location's prefix (nothing of it for a regex location's alias) */
const char *
fy_http_static_base(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
                    const fy_str_t *path, const u_char **p,
                    const char **written)
{
    fy_http_static_conf_t  *scf = lcf->static_conf;
    const char             *base, *w;

    *p = path->data;
    if (scf == NULL) {
        return NULL;
    }
    w = scf->written;
    base = scf->cv ? fy_http_static_eval(r, scf, &w)
                   : scf->alias ? scf->alias : scf->root;
    if (written) {
        *written = w;
    }
    if (scf->alias) {
        *p += scf->alias_whole ? path->len : fy_min(lcf->name.len, path->len);
    }
    return base;
}

/* $request_filename (nginx): the file the request's path names - the
 * root and the path, or the alias and what follows the location's
 * prefix, the two put together as they are written (nginx: alias
 * "/x" for location "/a/" makes "/a/b" "/xb") - as "if (-f
 * $request_filename)" wants it; empty where the location has neither
 * (ferry has no default root). */
size_t
fy_http_static_var_filename(fy_http_request_t *r, u_char *buf, size_t size)
{
    const u_char  *p;
    const char    *written;
    size_t         blen, rlen;

    if (r->loc == NULL
        || fy_http_static_base(r, r->loc, &r->path, &p, &written) == NULL)
    {
        return 0;
    }
    blen = strlen(written);
    rlen = (size_t) (r->path.data + r->path.len - p);
    if (buf) {
        memcpy(buf, written, fy_min(size, blen));
        if (rlen && size > blen) {
            memcpy(buf + blen, p, fy_min(size - blen, rlen));
        }
    }
    return blen + rlen;
}

/* $document_root (nginx): the root, or the alias, of the request's
 * location, as written */
size_t
fy_http_static_var_root(fy_http_request_t *r, u_char *buf, size_t size)
{
    const u_char  *p;
    const char    *written;
    size_t         blen;

    if (r->loc == NULL
        || fy_http_static_base(r, r->loc, &r->path, &p, &written) == NULL)
    {
        return 0;
    }
    blen = strlen(written);
    if (buf) {
        memcpy(buf, written, fy_min(size, blen));
    }
    return blen;
}

/*
 * Open base, then each segment of [p, last) under the one before, with
 * O_NOFOLLOW.  f->fd ends as the last one opened, f->dir as its
 * directory (-1 with no segment), *name and *nlen as its segment (NULL
 * with none; when a segment fails to open, that one, f->fd being its
 * directory).  Returns 0 or an errno value, with *what the name that
 * failed; *what is NULL for a "." or ".." segment (EINVAL) and one
 * longer than NAME_MAX (ENAMETOOLONG), which are never looked up.
 * seg (NAME_MAX + 1 bytes) holds the segment being opened.
 */
static int
fy_http_static_walk(const char *base, const u_char *p, const u_char *last,
                    fy_http_static_file_t *f, char *seg, const char **what,
                    const u_char **name, size_t *nlen)
{
    const u_char  *q;
    size_t         len;
    int            fd;

    *name = NULL;
    *nlen = 0;
    *what = base;
    f->fd = open(base, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd == -1) {
        return errno;
    }

    while (p < last) {
        if (*p == '/') {
            p++;
            continue;
        }
        q = memchr(p, '/', (size_t) (last - p));
        len = (size_t) ((q ? q : last) - p);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.'
                                          && p[1] == '.'))
        {
            *what = NULL;
            return EINVAL;
        }
        if (len > NAME_MAX) {
            *what = NULL;
            return ENAMETOOLONG;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        *what = seg;
        *name = p;
        *nlen = len;
        fd = openat(f->fd, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC
                                | O_NONBLOCK);
        if (fd == -1) {
            return errno;
        }
        /* the directory stays open: gzip_static looks for "seg.gz" */
        if (f->dir != -1) {
            close(f->dir);
        }
        f->dir = f->fd;
        f->fd = fd;
        p += len;
    }
    return 0;
}

int
fy_http_static_exists(fy_http_request_t *r, const fy_str_t *path, int dir)
{
    fy_http_static_file_t   f = { .fd = -1, .dir = -1 };
    const u_char           *p, *name;
    const char             *base, *what;
    char                    seg[NAME_MAX + 1];
    struct stat             st;
    size_t                  nlen;
    int                     err, found;

    base = fy_http_static_base(r, r->loc, path, &p, NULL);
    if (base == NULL || memchr(path->data, '\0', path->len)) {
        return 0;
    }

    err = fy_http_static_walk(base, p, path->data + path->len, &f, seg,
                              &what, &name, &nlen);
    found = err == 0 && fstat(f.fd, &st) == 0
            && (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
    fy_http_static_file_close(&f);

    if (err && what && err != ENOENT && err != ENOTDIR) {
        /* the handler would answer 403 (a link, a file we may not read)
         * or 500: here it is a file that is not there, but one the
         * operator may want to hear of */
        fy_log_error(err == EACCES || err == EPERM || err == ELOOP
                     || err == ENAMETOOLONG ? FY_LOG_INFO : FY_LOG_ERR, err,
                     "try_files: open() of \"%s\" for \"%.*s\" failed, "
                     "client %s", what, (int) path->len, path->data,
                     r->hc->addr_text);
    }
    return found;
}

/*
 * The index file found for a directory serves the request by an
 * internal redirect to its URI (dir, the request's path ending in "/",
 * plus the name; an absolute index alone), with the request's
 * arguments, as nginx's index module does: the new URI is matched
 * against the locations again, so "index index.php" with a
 * "location ~ \.php$" hands "/" to the application, never the file's
 * source to the client.
 */
static void
fy_http_static_index_redirect(fy_http_request_t *r, fy_http_static_file_t *f,
    const fy_str_t *dir, const fy_str_t *name)
{
    fy_str_t  to;

    /* the descriptors of this look-up are done with */
    if (f->fd != -1) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->dir != -1) {
        close(f->dir);
        f->dir = -1;
    }
    r->file = NULL;

    to.len = (dir ? dir->len : 0) + name->len;
    to.data = fy_palloc(r->pool, to.len);
    if (to.data == NULL) {
        fy_http_send_error(r, 500);
        return;
    }
    if (dir) {
        memcpy(to.data, dir->data, dir->len);
    }
    memcpy(to.data + to.len - name->len, name->data, name->len);
    fy_http_internal_redirect_to(r, &to, &r->args);
}

static void
fy_http_static_handler(fy_http_request_t *r)
{
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    fy_http_static_file_t  *f;
    const fy_str_t         *idx;
    fy_str_t                pick;
    const u_char           *p, *name;
    const char             *base, *what;
    char                    seg[NAME_MAX + 1];
    struct stat             st;
    size_t                  nlen;
    unsigned                i, nidx;
    int                     fd, err;

    /* nginx: POST is looked up as GET is (a missing file is 404, a
     * directory without "/" redirected, one with "/" and no index file
     * 403, never listed) and refused with 405 only when a file is
     * found; any other method is 405 */
    if (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD
        && r->method != FY_HTTP_POST)
    {
        fy_http_send_error(r, 405);
        return;
    }
    if (memchr(r->path.data, '\0', r->path.len)) {
        fy_http_send_error(r, 400);
        return;
    }

    base = fy_http_static_base(r, r->loc, &r->path, &p, NULL);
    if (base == NULL) {
        /* a root or alias with variables that came out unusable
         * (logged): no file to look for */
        fy_http_send_error(r, 404);
        return;
    }

    f = fy_pcalloc(r->pool, sizeof(fy_http_static_file_t));
    if (f == NULL || fy_pool_cleanup_add(r->pool, fy_http_static_file_close,
                                         f) != FY_OK)
    {
        fy_http_close_connection(r->hc);
        return;
    }
    f->fd = -1;
    f->dir = -1;
    r->file = f;

    /* one segment at a time below the root, never following links */
    err = fy_http_static_walk(base, p, r->path.data + r->path.len, f, seg,
                              &what, &name, &nlen);
    if (err == EINVAL && what == NULL) {
        fy_http_send_error(r, 400);
        return;
    }
    if (err && what == NULL) {
        fy_http_send_error(r, 404);     /* a segment longer than NAME_MAX */
        return;
    }
    if (err == ENOENT && name && name + nlen == r->path.data + r->path.len
        && r->loc->gzip.static_mode != FY_HTTP_GZIP_STATIC_OFF
        && r->method != FY_HTTP_POST)
    {
        /* gzip_static: "NAME.gz" without NAME, as nginx (which looks
         * for the .gz first): for a client that takes gzip, or any with
         * "always" (and gunzip for those without) */
        if (f->dir != -1) {
            close(f->dir);
        }
        f->dir = f->fd;             /* NAME's directory */
        f->fd = -1;
        f->gz_how = fy_http_static_gzip_file(r, f, &st, name, nlen);
        if (f->gz_how == FY_HTTP_GZIP_YES) {
            goto send;
        }
        f->gz_how = FY_HTTP_GZIP_NO;
    }
    if (err) {
        fy_http_static_open_error(r, err, what);
        return;
    }

    if (fstat(f->fd, &st) == -1) {
        fy_http_static_open_error(r, errno, "fstat()");
        return;
    }

    if (S_ISDIR(st.st_mode)) {
        if (r->path.len == 0 || r->path.data[r->path.len - 1] != '/') {
            fy_http_static_redirect(r);
            return;
        }
        /* random_index comes before index, as nginx's modules */
        if (r->loc->random_index == 1) {
            switch (fy_http_random_index(r, f->fd, &pick)) {
            case FY_OK:
                fy_http_static_index_redirect(r, f, &r->path, &pick);
                return;
            case FY_ERROR:
                fy_http_send_error(r, 500);
                return;
            }
        }
        idx = scf->index ? scf->index->elts : &fy_http_static_default_index;
        nidx = scf->index ? scf->index->nelts : 1;
        for (i = 0; i < nidx; i++) {
            if (idx[i].data[0] == '/') {
                /* an absolute index: taken without a look (nginx) */
                fy_http_static_index_redirect(r, f, NULL, &idx[i]);
                return;
            }
            /* names checked at load time (no "/"), NUL-terminated */
            fd = openat(f->fd, (const char *) idx[i].data,
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
            if (fd == -1) {
                if (errno == ENOENT) {
                    continue;
                }
                fy_http_static_open_error(r, errno,
                                          (const char *) idx[i].data);
                return;
            }
            if (fstat(fd, &st) == -1) {
                close(fd);
                fy_http_static_open_error(r, errno, "fstat()");
                return;
            }
            close(fd);
            if (S_ISDIR(st.st_mode)) {
                continue;           /* an index that is a directory */
            }
            fy_http_static_index_redirect(r, f, &r->path, &idx[i]);
            return;
        }
        if (i == nidx && scf->autoindex == 1 && r->method != FY_HTTP_POST) {
            fy_http_autoindex(r, f->fd);
            return;
        }
        if (i == nidx) {
            fy_log_error(FY_LOG_INFO, 0, "directory index of \"%.*s\" is "
                         "forbidden, client %s", (int) r->path.len,
                         r->path.data, r->hc->addr_text);
            fy_http_send_error(r, 403);
            return;
        }
    }

    if (!S_ISREG(st.st_mode)) {
        /* a device, FIFO, socket */
        fy_http_send_error(r, 404);
        return;
    }
    if (r->method == FY_HTTP_POST) {
        fy_http_send_error(r, 405);
        return;
    }

    if (r->loc->gzip.static_mode != FY_HTTP_GZIP_STATIC_OFF && name
        && f->dir != -1)
    {
        f->gz_how = fy_http_static_gzip_file(r, f, &st, name, nlen);
    }
send:
    if (f->dir != -1) {
        close(f->dir);
        f->dir = -1;
    }

    if (name == NULL) {
        /* an alias naming a file: its own name gives the type */
        name = (const u_char *) base;
        nlen = strlen(base);
    }
    fy_http_static_send(r, f, &st, fy_http_static_type_of(r, name, nlen));
}
