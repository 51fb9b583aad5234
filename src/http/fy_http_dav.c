/*
 * fy_http_dav.c -- nginx's WebDAV module: PUT, DELETE, MKCOL, COPY and
 * MOVE on the files of a location that serves files (root or alias).
 *
 *     location /upload/ {
 *         root                  /data/www;
 *         dav_methods           PUT DELETE MKCOL COPY MOVE;
 *         dav_access            user:rw group:rw all:r;
 *         create_full_put_path  on;
 *         limit_except GET { allow 192.168.1.0/24; deny all; }
 *     }
 *
 * The methods dav_methods names are answered here, before the file
 * handler (fy_http_request_route.c calls fy_http_dav first); the
 * others go on to it, which answers 405 for the ones it does not serve.
 *
 * Paths are looked up as the file handler does: the root (or alias)
 * opened, then each directory below it with O_NOFOLLOW, so no symbolic
 * link is followed and nothing outside the root is reached; the last
 * segment is only ever named relative to its directory's descriptor
 * (openat, renameat, unlinkat, mkdirat).  Trees are deleted and copied
 * the same way, links themselves deleted, never followed or copied.
 *
 * PUT (fy_http_dav_put.c) writes the body to a temporary file in the
 * target's own directory (".ferry-put-PID-N-N", made with O_EXCL) and
 * renames it into place, so a reader never sees a partial file; the
 * pool's cleanup removes it when the upload fails or the client goes
 * away.  COPY and MOVE are fy_http_dav_copy.c.  Where nginx differs,
 * the reasons are in docs/configuration.md (### dav_methods).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_http_dav.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define FY_DAV_PUT     0x01
#define FY_DAV_DELETE  0x02
#define FY_DAV_MKCOL   0x04
#define FY_DAV_COPY    0x08
#define FY_DAV_MOVE    0x10

static const char *fy_http_dav_methods(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_dav_access(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_dav_commands[] = {

    { "dav_methods", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1,
      FY_CONF_MANY, fy_http_dav_methods, FY_CONF_LOC_OFF, 0, NULL },

    { "dav_access", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 3,
      fy_http_dav_access, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, dav_access), NULL },

    { "create_full_put_path", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, create_full_put_path), NULL },

    { "min_delete_depth", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_conf_set_int, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, min_delete_depth), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const struct {
    const char  *name;
    unsigned     bit;
} fy_http_dav_names[] = {
    { "off",    0 },
    { "put",    FY_DAV_PUT },
    { "delete", FY_DAV_DELETE },
    { "mkcol",  FY_DAV_MKCOL },
    { "copy",   FY_DAV_COPY },
    { "move",   FY_DAV_MOVE },
    { NULL, 0 }
};


/* ---- directives ---- */

/* dav_methods off | METHOD...: names case-insensitive, a repeated one
 * only warned of, as nginx's bitmask setter */
static const char *
fy_http_dav_methods(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    unsigned             i, j, bits = 0, seen = 0;

    (void) cmd;
    if (lcf->dav_methods != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    for (i = 1; i < cf->nargs; i++) {
        for (j = 0; fy_http_dav_names[j].name; j++) {
            if (fy_str_eq_ci(&cf->args[i], fy_http_dav_names[j].name)) {
                break;
            }
        }
        if (fy_http_dav_names[j].name == NULL) {
            fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
        if (seen & (1u << j)) {
            fy_log_error(FY_LOG_WARN, 0, "duplicate value \"%s\" in %s:%u",
                         cf->args[i].data,
                         cf->file ? cf->file->name : "command line",
                         cf->line);
        }
        seen |= 1u << j;
        bits |= fy_http_dav_names[j].bit;
    }
    lcf->dav_methods = (int) bits;
    return FY_CONF_OK;
}

/* dav_access [user:r|rw] [group:r|rw] [all:r|rw]: nginx's access
 * setter; the user has rw unless said otherwise */
static const char *
fy_http_dav_access(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    int         *access = (int *) ((char *) conf + cmd->offset);
    const char  *p;
    unsigned     i, shift, right, user = 6;

    if (*access != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    *access = 0;
    for (i = 1; i < cf->nargs; i++) {
        p = (const char *) cf->args[i].data;
        if (strncmp(p, "user:", 5) == 0) {
            shift = 6;
            p += 5;
            user = 0;
        } else if (strncmp(p, "group:", 6) == 0) {
            shift = 3;
            p += 6;
        } else if (strncmp(p, "all:", 4) == 0) {
            shift = 0;
            p += 4;
        } else {
            goto invalid;
        }
        if (strcmp(p, "rw") == 0) {
            right = 6;
        } else if (strcmp(p, "r") == 0) {
            right = 4;
        } else {
            goto invalid;
        }
        *access |= (int) (right << shift);
    }
    *access |= (int) (user << 6);
    return FY_CONF_OK;

invalid:

    fy_conf_error(cf, "invalid value \"%s\"", cf->args[i].data);
    return FY_CONF_ERROR;
}

void
fy_http_dav_init_conf(fy_http_loc_conf_t *lcf)
{
    lcf->dav_methods = FY_CONF_UNSET_INT;
    lcf->dav_access = FY_CONF_UNSET_INT;
    lcf->create_full_put_path = FY_CONF_UNSET_INT;
    lcf->min_delete_depth = FY_CONF_UNSET_INT;
}

/* After fy_http_static_merge: the methods take effect only where files
 * are served (nginx's content phase never runs under proxy_pass,
 * return and the like). */
void
fy_http_dav_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_conf_merge(conf->dav_methods, prev->dav_methods, FY_CONF_UNSET_INT,
                  0);
    fy_conf_merge(conf->dav_access, prev->dav_access, FY_CONF_UNSET_INT,
                  0600);
    fy_conf_merge(conf->create_full_put_path, prev->create_full_put_path,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->min_delete_depth, prev->min_delete_depth,
                  FY_CONF_UNSET_INT, 0);
    conf->dav = fy_http_static_serves(conf) ? (unsigned) conf->dav_methods
                                            : 0;
}


/* ---- looking paths up ---- */

/* nginx's ngx_dir_access: x where r is */
mode_t
fy_http_dav_dir_access(int access)
{
    return (mode_t) (access | (access & 0444) >> 2);
}

int
fy_http_dav_dots(const u_char *p, size_t len)
{
    return (len == 1 && p[0] == '.') || (len == 2 && p[0] == '.'
                                         && p[1] == '.');
}

/*
 * The directory holding the last segment of [p, last) below base,
 * opened one segment at a time with O_NOFOLLOW (missing ones made with
 * mode when create); the last segment, without a trailing "/", copied
 * to name (empty: [p, last) is base itself).  Returns the descriptor,
 * or -1 with *err an errno value (EINVAL: a "." or ".." segment) and
 * name the directory that failed (empty: base).
 */
int
fy_http_dav_parent(const char *base, const u_char *p, const u_char *last,
                   int create, mode_t mode, char *name, int *err)
{
    const u_char  *q, *s;
    char           seg[NAME_MAX + 1];
    size_t         len;
    int            fd, nfd;

    while (last > p && last[-1] == '/') {
        last--;
    }
    q = last;
    while (q > p && q[-1] != '/') {
        q--;
    }
    len = (size_t) (last - q);
    if (len > NAME_MAX) {
        *err = ENAMETOOLONG;
        return -1;
    }
    if (fy_http_dav_dots(q, len)) {
        *err = EINVAL;
        return -1;
    }
    memcpy(name, q, len);
    name[len] = '\0';

    fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1) {
        *err = errno;
        name[0] = '\0';
        return -1;
    }
    while (p < q) {
        if (*p == '/') {
            p++;
            continue;
        }
        s = memchr(p, '/', (size_t) (q - p));
        len = (size_t) ((s ? s : q) - p);
        if (len > NAME_MAX || fy_http_dav_dots(p, len)) {
            close(fd);
            *err = len > NAME_MAX ? ENAMETOOLONG : EINVAL;
            name[0] = '\0';
            return -1;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        p += len;
        nfd = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                              | O_CLOEXEC);
        if (nfd == -1 && errno == ENOENT && create) {
            if (mkdirat(fd, seg, mode) == -1 && errno != EEXIST) {
                *err = errno;
                close(fd);
                memcpy(name, seg, len + 1);
                return -1;
            }
            nfd = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                  | O_CLOEXEC);
        }
        *err = errno;
        close(fd);
        if (nfd == -1) {
            memcpy(name, seg, len + 1);
            return -1;
        }
        fd = nfd;
    }
    return fd;
}

/* nginx's ngx_http_dav_error: the status for a failed call, logged */
int
fy_http_dav_error(fy_http_request_t *r, int err, int not_found,
                  const char *call, const char *name)
{
    int  status, level = FY_LOG_ERR;

    if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG) {
        status = not_found;
    } else if (err == EACCES || err == EPERM || err == ELOOP) {
        status = 403;       /* ELOOP: a link, refused as files refuse it */
    } else if (err == EEXIST) {
        status = 405;
    } else if (err == ENOSPC) {
        level = FY_LOG_CRIT;
        status = 507;
    } else if (err == EINVAL && call == NULL) {
        status = 400;       /* a "." or ".." segment */
    } else {
        level = FY_LOG_CRIT;
        status = 500;
    }
    fy_log_error(level, err, "%s \"%s\" for \"%.*s\" failed, client %s",
                 call ? call : "open()", name, (int) r->path.len,
                 r->path.data, r->hc->addr_text);
    return status;
}

/* the Location of a 201: the request's path, escaped (made absolute
 * by fy_http_send_response) */
void
fy_http_dav_created(fy_http_request_t *r, const fy_str_t *path)
{
    fy_str_t  loc;

    loc.len = fy_http_escape_path(NULL, path->data, path->len);
    loc.data = fy_palloc(r->pool, loc.len + 1);
    if (loc.data == NULL) {
        fy_http_send_error(r, 500);
        return;
    }
    fy_http_escape_path(loc.data, path->data, path->len);
    fy_http_send_response(r, 201, NULL, NULL, 0, &loc);
}

/* Depth: 0, 1, "infinity" (nginx: exactly these), else invalid;
 * dflt without one */
int
fy_http_dav_depth(fy_http_request_t *r, int dflt)
{
    fy_str_t  *v = fy_http_header_find(&r->headers, "Depth");

    if (v == NULL) {
        return dflt;
    }
    if (v->len == 1 && (v->data[0] == '0' || v->data[0] == '1')) {
        return v->data[0] - '0';
    }
    if (fy_str_eq(v, "infinity")) {
        return FY_DAV_INFINITY;
    }
    fy_log_error(FY_LOG_ERR, 0, "client sent invalid \"Depth\" header: "
                 "\"%.*s\", client %s", (int) v->len, v->data,
                 r->hc->addr_text);
    return FY_DAV_INVALID;
}

static int
fy_http_dav_is_dir(int dir, const char *name, const struct dirent *de,
                   struct stat *st)
{
    if (de && de->d_type != DT_UNKNOWN) {
        return de->d_type == DT_DIR;
    }
    return fstatat(dir, name, st, AT_SYMLINK_NOFOLLOW) == 0
           && S_ISDIR(st->st_mode);
}

/* Empty the directory open as fd (closed here), depth first, links
 * deleted, never followed.  0 or an errno value. */
static int
fy_http_dav_rmtree(int fd)
{
    DIR            *d;
    struct dirent  *de;
    struct stat     st;
    int             sub, err = 0;

    d = fdopendir(fd);
    if (d == NULL) {
        err = errno;
        close(fd);
        return err;
    }
    while (err == 0 && (de = readdir(d)) != NULL) {
        if (fy_http_dav_dots((u_char *) de->d_name, strlen(de->d_name))) {
            continue;
        }
        if (fy_http_dav_is_dir(dirfd(d), de->d_name, de, &st)) {
            sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY
                                               | O_NOFOLLOW | O_CLOEXEC);
            if (sub == -1) {
                err = errno;
            } else if ((err = fy_http_dav_rmtree(sub)) == 0
                       && unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) == -1)
            {
                err = errno;
            }
        } else if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
            err = errno;
        }
    }
    closedir(d);
    return err;
}

/* Delete name in dir: a directory with all it holds, or a file.  0 or
 * an errno value. */
int
fy_http_dav_remove(int dir, const char *name, int is_dir)
{
    int  fd, err;

    if (!is_dir) {
        return unlinkat(dir, name, 0) == -1 ? errno : 0;
    }
    fd = openat(dir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd == -1) {
        return errno;
    }
    err = fy_http_dav_rmtree(fd);
    if (err == 0 && unlinkat(dir, name, AT_REMOVEDIR) == -1) {
        err = errno;
    }
    return err;
}


/* ---- DELETE, MKCOL ---- */

static void
fy_http_dav_delete(fy_http_request_t *r, const char *base, const u_char *p)
{
    const u_char  *last = r->path.data + r->path.len;
    char           name[NAME_MAX + 1];
    struct stat    st;
    unsigned       d = 0;
    size_t         i;
    int            dir, err, depth, slash;

    if (r->loc->min_delete_depth) {
        /* nginx: at least min_delete_depth slashes, something after */
        for (i = 0; i < r->path.len; ) {
            if (r->path.data[i++] == '/'
                && ++d >= (unsigned) r->loc->min_delete_depth
                && i < r->path.len)
            {
                goto ok;
            }
        }
        fy_log_error(FY_LOG_ERR, 0, "insufficient URI depth:%u to DELETE, "
                     "client %s", d, r->hc->addr_text);
        fy_http_send_error(r, 409);
        return;
    }

ok:

    slash = r->path.data[r->path.len - 1] == '/';
    dir = fy_http_dav_parent(base, p, last, 0, 0, name, &err);
    if (dir == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, err, err == ENOTDIR
                                                ? 409 : 404, NULL,
                                                name[0] ? name : base));
        return;
    }
    if (name[0] == '\0') {
        /* the root or alias directory itself stays */
        close(dir);
        fy_log_error(FY_LOG_ERR, 0, "DELETE of the root \"%s\" refused, "
                     "client %s", base, r->hc->addr_text);
        fy_http_send_error(r, 403);
        return;
    }
    if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        err = errno;
        close(dir);
        fy_http_send_error(r, fy_http_dav_error(r, err, err == ENOTDIR
                                                ? 409 : 404, "lstat()",
                                                name));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        if (!slash) {
            close(dir);
            fy_log_error(FY_LOG_ERR, EISDIR, "DELETE \"%.*s\" failed, "
                         "client %s", (int) r->path.len, r->path.data,
                         r->hc->addr_text);
            fy_http_send_error(r, 409);
            return;
        }
        depth = fy_http_dav_depth(r, FY_DAV_INFINITY);
        if (depth != FY_DAV_INFINITY) {
            close(dir);
            fy_log_error(FY_LOG_ERR, 0, "\"Depth\" header must be infinity, "
                         "client %s", r->hc->addr_text);
            fy_http_send_error(r, 400);
            return;
        }
    } else {
        if (slash) {
            /* nginx's lstat("/file/") fails with ENOTDIR */
            close(dir);
            fy_http_send_error(r, fy_http_dav_error(r, ENOTDIR, 409,
                                                    "lstat()", name));
            return;
        }
        depth = fy_http_dav_depth(r, 0);
        if (depth != 0 && depth != FY_DAV_INFINITY) {
            close(dir);
            fy_log_error(FY_LOG_ERR, 0, "\"Depth\" header must be 0 or "
                         "infinity, client %s", r->hc->addr_text);
            fy_http_send_error(r, 400);
            return;
        }
    }
    err = fy_http_dav_remove(dir, name, S_ISDIR(st.st_mode));
    close(dir);
    if (err) {
        fy_http_send_error(r, fy_http_dav_error(r, err, 404, "DELETE of",
                                                name));
        return;
    }
    fy_http_send_response(r, 204, NULL, NULL, 0, NULL);
}

static void
fy_http_dav_mkcol(fy_http_request_t *r, const char *base, const u_char *p)
{
    char  name[NAME_MAX + 1];
    int   dir, err;

    if (r->path.data[r->path.len - 1] != '/') {
        fy_log_error(FY_LOG_ERR, 0, "MKCOL can create a collection only, "
                     "client %s", r->hc->addr_text);
        fy_http_send_error(r, 409);
        return;
    }
    dir = fy_http_dav_parent(base, p, r->path.data + r->path.len, 0, 0,
                             name, &err);
    if (dir == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, err, 409, NULL,
                                                name[0] ? name : base));
        return;
    }
    if (name[0] == '\0') {
        close(dir);
        fy_http_send_error(r, fy_http_dav_error(r, EEXIST, 409, "mkdir()",
                                                base));
        return;
    }
    if (mkdirat(dir, name, fy_http_dav_dir_access(r->loc->dav_access))
        == -1)
    {
        err = errno;
        close(dir);
        fy_http_send_error(r, fy_http_dav_error(r, err, 409, "mkdir()",
                                                name));
        return;
    }
    close(dir);
    fy_http_dav_created(r, &r->path);
}


/* ---- the handler ---- */

int
fy_http_dav(fy_http_request_t *r)
{
    const u_char  *p;
    const char    *base;
    unsigned       bit = 0;
    int            body;

    switch (r->method) {
    case FY_HTTP_PUT:
        bit = FY_DAV_PUT;
        break;
    case FY_HTTP_DELETE:
        bit = FY_DAV_DELETE;
        break;
    case FY_HTTP_UNKNOWN:
        if (fy_str_eq(&r->method_name, "MKCOL")) {
            bit = FY_DAV_MKCOL;
        } else if (fy_str_eq(&r->method_name, "COPY")) {
            bit = FY_DAV_COPY;
        } else if (fy_str_eq(&r->method_name, "MOVE")) {
            bit = FY_DAV_MOVE;
        }
        break;
    }
    /* a subrequest (mirror, auth_request) never changes files */
    if (!(bit & r->loc->dav) || r->parent) {
        return FY_DECLINED;
    }

    base = fy_http_static_base(r, r->loc, &r->path, &p, NULL);
    if (base == NULL) {
        fy_http_skip_body(r);
        fy_http_send_error(r, 500);     /* logged, or no memory */
        return FY_DONE;
    }
    if (r->path.len == 0 || memchr(r->path.data, '\0', r->path.len)) {
        fy_http_skip_body(r);
        fy_http_send_error(r, 400);
        return FY_DONE;
    }
    if (bit == FY_DAV_PUT) {
        fy_http_dav_put(r, base, p);
        return FY_DONE;
    }

    body = r->content_length > 0 || r->chunked;
    fy_http_skip_body(r);
    if (body) {
        fy_log_error(FY_LOG_ERR, 0, "%.*s with body is unsupported, "
                     "client %s", (int) r->method_name.len,
                     r->method_name.data, r->hc->addr_text);
        fy_http_send_error(r, 415);
        return FY_DONE;
    }
    switch (bit) {
    case FY_DAV_DELETE:
        fy_http_dav_delete(r, base, p);
        break;
    case FY_DAV_MKCOL:
        fy_http_dav_mkcol(r, base, p);
        break;
    default:
        fy_http_dav_copy_move(r, base, p);
    }
    return FY_DONE;
}
