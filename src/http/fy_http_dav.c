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
 * PUT writes the body to a temporary file in the target's own
 * directory (".ferry-put-PID-N-N", made with O_EXCL and dav_access)
 * and renames it into place, so a reader never sees a partial file;
 * the pool's cleanup removes it when the upload fails or the client
 * goes away.  Where nginx differs, the reasons are in
 * docs/configuration.md (### dav_methods).
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_worker.h"
#include "fy_shm.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define FY_DAV_PUT     0x01
#define FY_DAV_DELETE  0x02
#define FY_DAV_MKCOL   0x04
#define FY_DAV_COPY    0x08
#define FY_DAV_MOVE    0x10

#define FY_DAV_INFINITY  -1
#define FY_DAV_INVALID   -2

/* An upload being written (r->dav_put). */
struct fy_http_dav_put_s {
    int       dir;              /* the target's directory */
    int       fd;               /* the temporary file, -1: closed */
    unsigned  named:1;          /* tmp is still there under its name */
    u_char   *buf;              /* client_body_buffer_size */
    size_t    size;
    char      tmp[64];
    char      name[NAME_MAX + 1];
};

static const char *fy_http_dav_methods(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_dav_access(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_http_dav_put_done(fy_http_request_t *r, int rc);

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
static mode_t
fy_http_dav_dir_access(int access)
{
    return (mode_t) (access | (access & 0444) >> 2);
}

static int
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
 * or -1 with *err an errno value (EINVAL: a "." or ".." segment).
 */
static int
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
                return -1;
            }
            nfd = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                  | O_CLOEXEC);
        }
        *err = errno;
        close(fd);
        if (nfd == -1) {
            return -1;
        }
        fd = nfd;
    }
    return fd;
}

/* nginx's ngx_http_dav_error: the status for a failed call, logged */
static int
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
static void
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
static int
fy_http_dav_depth(fy_http_request_t *r, int dflt)
{
    fy_str_t  *v = fy_http_static_header(r, "Depth");

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
static int
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

/* Copy the regular file sname in sdir to a new dname in ddir, with
 * mode access and the source's modification time.  0 or errno. */
static int
fy_http_dav_copy_file(int sdir, const char *sname, int ddir,
                      const char *dname, int access)
{
    struct timespec  ts[2];
    struct stat      st;
    u_char           buf[16384];
    ssize_t          n, w;
    int              in, out, err = 0;

    in = openat(sdir, sname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in == -1) {
        return errno;
    }
    out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW
                              | O_CLOEXEC, (mode_t) access);
    if (out == -1) {
        err = errno;
        close(in);
        return err;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        for (w = 0; w < n; ) {
            ssize_t  k = write(out, buf + w, (size_t) (n - w));
            if (k < 0) {
                err = errno;
                goto done;
            }
            w += k;
        }
    }
    if (n < 0) {
        err = errno;
        goto done;
    }
    if (fstat(in, &st) == 0) {
        ts[0] = st.st_atim;
        ts[1] = st.st_mtim;
        (void) futimens(out, ts);
    }
    if (fchmod(out, (mode_t) access) == -1) {
        err = errno;
    }

done:

    close(in);
    if (close(out) == -1 && err == 0) {
        err = errno;
    }
    if (err) {
        (void) unlinkat(ddir, dname, 0);
    }
    return err;
}

/* Copy what the directory sfd holds into the directory dfd: its
 * directories (depth first, their times kept) and regular files; links
 * and other files are left out.  0 or errno. */
static int
fy_http_dav_copy_tree(int sfd, int dfd, int access)
{
    struct timespec  ts[2];
    struct dirent   *de;
    struct stat      st;
    DIR             *d;
    int              fd, s, t, err = 0;

    fd = openat(sfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1 || (d = fdopendir(fd)) == NULL) {
        err = errno;
        if (fd != -1) {
            close(fd);
        }
        return err;
    }
    while (err == 0 && (de = readdir(d)) != NULL) {
        if (fy_http_dav_dots((u_char *) de->d_name, strlen(de->d_name))) {
            continue;
        }
        if (fstatat(sfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
            err = errno;
            break;
        }
        if (S_ISREG(st.st_mode)) {
            err = fy_http_dav_copy_file(sfd, de->d_name, dfd, de->d_name,
                                        access);
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            continue;
        }
        if (mkdirat(dfd, de->d_name, fy_http_dav_dir_access(access)) == -1) {
            err = errno;
            break;
        }
        s = openat(sfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                    | O_CLOEXEC);
        t = openat(dfd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                    | O_CLOEXEC);
        if (s == -1 || t == -1) {
            err = errno;
        } else {
            err = fy_http_dav_copy_tree(s, t, access);
            ts[0] = st.st_atim;
            ts[1] = st.st_mtim;
            (void) futimens(t, ts);
        }
        if (s != -1) {
            close(s);
        }
        if (t != -1) {
            close(t);
        }
    }
    closedir(d);
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
                                                ? 409 : 404, NULL, base));
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
        fy_http_send_error(r, fy_http_dav_error(r, err, 409, NULL, base));
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


/* ---- COPY, MOVE ---- */

/* The path the Destination header names: an absolute path, or an
 * absolute URI with the request's scheme and host (the port is not
 * compared, as nginx's); decoded and its dot segments resolved, its
 * query left out.  FY_OK, or FY_ERROR after the log line. */
static int
fy_http_dav_destination(fy_http_request_t *r, fy_str_t *dst)
{
    fy_str_t       *v = fy_http_static_header(r, "Destination");
    const char     *scheme;
    const u_char   *p, *last;
    size_t          n;

    if (v == NULL) {
        fy_log_error(FY_LOG_ERR, 0, "client sent no \"Destination\" header, "
                     "client %s", r->hc->addr_text);
        return FY_ERROR;
    }
    p = v->data;
    last = v->data + v->len;
    if (v->len == 0 || p[0] != '/') {
        if (r->host.len == 0) {
            fy_log_error(FY_LOG_ERR, 0, "client sent no \"Host\" header, "
                         "client %s", r->hc->addr_text);
            return FY_ERROR;
        }
        scheme = r->hc->c->ssl ? "https://" : "http://";
        n = strlen(scheme);
        if ((size_t) (last - p) < n || strncasecmp((char *) p, scheme, n)) {
            goto invalid;
        }
        p += n;
        if ((size_t) (last - p) < r->host.len
            || strncasecmp((char *) p, (char *) r->host.data, r->host.len))
        {
            fy_log_error(FY_LOG_ERR, 0, "\"Destination\" URI \"%.*s\" is "
                         "handled by different repository than the source "
                         "URI, client %s", (int) v->len, v->data,
                         r->hc->addr_text);
            return FY_ERROR;
        }
        p += r->host.len;
        if (p < last && *p == ':') {
            while (p < last && *p != '/') {
                p++;
            }
        }
        if (p == last || *p != '/') {
            goto invalid;
        }
    }
    n = (size_t) (last - p);
    for (last = p; last < p + n && *last != '?' && *last != '#'; last++) {
        /* the query is not part of the path */
    }
    dst->len = (size_t) (last - p);
    dst->data = fy_palloc(r->pool, dst->len);
    if (dst->data == NULL) {
        return FY_ERROR;
    }
    memcpy(dst->data, p, dst->len);
    if (fy_http_normalize_path(r->pool, dst) == FY_OK && dst->len
        && dst->data[0] == '/' && !memchr(dst->data, '\0', dst->len))
    {
        return FY_OK;
    }

invalid:

    fy_log_error(FY_LOG_ERR, 0, "client sent invalid \"Destination\" "
                 "header: \"%.*s\", client %s", (int) v->len, v->data,
                 r->hc->addr_text);
    return FY_ERROR;
}

static void
fy_http_dav_copy_move(fy_http_request_t *r, const char *base,
                      const u_char *p)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    const char          *how = r->method_name.data[0] == 'M' ? "MOVE"
                                                              : "COPY";
    const u_char        *dp;
    fy_str_t             dst, *v;
    char                 sname[NAME_MAX + 1], dname[NAME_MAX + 1];
    struct stat          st, dst_st;
    int                  move = how[0] == 'M', sdir = -1, ddir = -1;
    int                  depth, overwrite = 1, exists, err, dslash, status;

    if (fy_http_dav_destination(r, &dst) != FY_OK) {
        fy_http_send_error(r, 400);
        return;
    }
    dslash = dst.data[dst.len - 1] == '/';
    if (dslash != (r->path.data[r->path.len - 1] == '/')) {
        fy_log_error(FY_LOG_ERR, 0, "both URI \"%.*s\" and \"Destination\" "
                     "URI \"%.*s\" should be either collections or "
                     "non-collections, client %s", (int) r->path.len,
                     r->path.data, (int) dst.len, dst.data,
                     r->hc->addr_text);
        fy_http_send_error(r, 409);
        return;
    }
    depth = fy_http_dav_depth(r, FY_DAV_INFINITY);
    if (depth != FY_DAV_INFINITY && (move || depth != 0)) {
        fy_log_error(FY_LOG_ERR, 0, "\"Depth\" header must be %sinfinity, "
                     "client %s", move ? "" : "0 or ", r->hc->addr_text);
        fy_http_send_error(r, 400);
        return;
    }
    v = fy_http_static_header(r, "Overwrite");
    if (v) {
        if (v->len == 1 && (v->data[0] | 0x20) == 't') {
            overwrite = 1;
        } else if (v->len == 1 && (v->data[0] | 0x20) == 'f') {
            overwrite = 0;
        } else {
            fy_log_error(FY_LOG_ERR, 0, "client sent invalid \"Overwrite\" "
                         "header: \"%.*s\", client %s", (int) v->len,
                         v->data, r->hc->addr_text);
            fy_http_send_error(r, 400);
            return;
        }
    }

    /* the destination is mapped by this location's root or alias: with
     * an alias, it must lie under the location's prefix */
    dp = dst.data;
    if (lcf->static_conf->alias) {
        if (dst.len < lcf->name.len
            || memcmp(dst.data, lcf->name.data, lcf->name.len) != 0)
        {
            fy_log_error(FY_LOG_ERR, 0, "\"Destination\" URI \"%.*s\" is "
                         "outside the location \"%.*s\", client %s",
                         (int) dst.len, dst.data, (int) lcf->name.len,
                         lcf->name.data, r->hc->addr_text);
            fy_http_send_error(r, 400);
            return;
        }
        dp += lcf->name.len;
    }

    status = 0;
    sdir = fy_http_dav_parent(base, p, r->path.data + r->path.len, 0, 0,
                              sname, &err);
    if (sdir == -1) {
        status = fy_http_dav_error(r, err, 404, NULL, base);
        goto done;
    }
    ddir = fy_http_dav_parent(base, dp, dst.data + dst.len, 0, 0, dname,
                              &err);
    if (ddir == -1 && err != ENOENT) {
        status = fy_http_dav_error(r, err, 409, NULL, base);
        goto done;
    }
    if (sname[0] == '\0' || dname[0] == '\0') {
        fy_log_error(FY_LOG_ERR, 0, "%s of or onto the root \"%s\" refused, "
                     "client %s", how, base, r->hc->addr_text);
        status = 403;
        goto done;
    }
    /* the same path, or a collection into itself */
    if ((dst.len - (size_t) (dp - dst.data)
         >= r->path.len - (size_t) (p - r->path.data))
        && memcmp(dp, p, r->path.len - (size_t) (p - r->path.data)) == 0
        && (dst.len - (size_t) (dp - dst.data)
            == r->path.len - (size_t) (p - r->path.data) || dslash))
    {
        fy_log_error(FY_LOG_ERR, 0, "\"%.*s\" could not be %s to itself, "
                     "client %s", (int) r->path.len, r->path.data,
                     move ? "moved" : "copied", r->hc->addr_text);
        status = 403;
        goto done;
    }

    exists = ddir != -1
             && fstatat(ddir, dname, &dst_st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists) {
        if (S_ISDIR(dst_st.st_mode) && !dslash) {
            fy_log_error(FY_LOG_ERR, 0, "\"%.*s\" could not be %sed to "
                         "collection \"%.*s\", client %s", (int) r->path.len,
                         r->path.data, how, (int) dst.len, dst.data,
                         r->hc->addr_text);
            status = 409;
            goto done;
        }
        if (!overwrite) {
            fy_log_error(FY_LOG_ERR, EEXIST, "\"%.*s\" could not be "
                         "created, client %s", (int) dst.len, dst.data,
                         r->hc->addr_text);
            status = 412;
            goto done;
        }
    }
    if (fstatat(sdir, sname, &st, AT_SYMLINK_NOFOLLOW) == -1) {
        status = fy_http_dav_error(r, errno, 404, "lstat()", sname);
        goto done;
    }
    if (S_ISLNK(st.st_mode)) {
        status = fy_http_dav_error(r, ELOOP, 404, "lstat()", sname);
        goto done;
    }

    if (S_ISDIR(st.st_mode)) {
        if (r->path.data[r->path.len - 1] != '/') {
            fy_log_error(FY_LOG_ERR, EISDIR, "\"%.*s\" is collection, "
                         "client %s", (int) r->path.len, r->path.data,
                         r->hc->addr_text);
            status = 400;
            goto done;
        }
        if (ddir == -1) {
            status = fy_http_dav_error(r, ENOENT, 409, NULL, "Destination");
            goto done;
        }
        if (exists && (err = fy_http_dav_remove(ddir, dname,
                                                S_ISDIR(dst_st.st_mode))))
        {
            status = fy_http_dav_error(r, err, 500, "delete of", dname);
            goto done;
        }
        if (move && renameat(sdir, sname, ddir, dname) == 0) {
            fy_http_send_response(r, 201, NULL, NULL, 0, NULL);
            goto closed;
        }
        if (mkdirat(ddir, dname, st.st_mode & 07777) == -1) {
            status = fy_http_dav_error(r, errno, 409, "mkdir()", dname);
            goto done;
        }
        if (depth != 0) {
            int  s = openat(sdir, sname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                         | O_CLOEXEC);
            int  t = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW
                                         | O_CLOEXEC);

            err = s == -1 || t == -1 ? errno
                  : fy_http_dav_copy_tree(s, t, lcf->dav_access);
            if (s != -1) {
                close(s);
            }
            if (t != -1) {
                close(t);
            }
            if (err) {
                status = fy_http_dav_error(r, err, 500, "copy to", dname);
                goto done;
            }
        }
        if (move && (err = fy_http_dav_remove(sdir, sname, 1))) {
            status = fy_http_dav_error(r, err, 404, "delete of", sname);
            goto done;
        }
        fy_http_send_response(r, 201, NULL, NULL, 0, NULL);
        goto closed;
    }

    if (ddir == -1) {
        if (!move) {
            status = fy_http_dav_error(r, ENOENT, 409, NULL, "Destination");
            goto done;
        }
        /* nginx's MOVE of a file makes the directories it needs */
        ddir = fy_http_dav_parent(base, dp, dst.data + dst.len, 1,
                                  fy_http_dav_dir_access(lcf->dav_access),
                                  dname, &err);
        if (ddir == -1) {
            status = fy_http_dav_error(r, err, 409, "mkdir()", dname);
            goto done;
        }
    }
    if (move) {
        if (renameat(sdir, sname, ddir, dname) == -1) {
            if (errno != EXDEV) {
                status = fy_http_dav_error(r, errno, 500, "rename()", sname);
                goto done;
            }
            /* another file system below the root: copy, then delete */
            if ((exists && unlinkat(ddir, dname, 0) == -1)
                || (err = fy_http_dav_copy_file(sdir, sname, ddir, dname,
                                                lcf->dav_access))
                || unlinkat(sdir, sname, 0) == -1)
            {
                status = fy_http_dav_error(r, err ? err : errno, 500,
                                           "move of", sname);
                goto done;
            }
        }
    } else {
        if (exists && unlinkat(ddir, dname, 0) == -1) {
            status = fy_http_dav_error(r, errno, 500, "unlink()", dname);
            goto done;
        }
        err = fy_http_dav_copy_file(sdir, sname, ddir, dname,
                                    lcf->dav_access);
        if (err) {
            status = fy_http_dav_error(r, err, 500, "copy to", dname);
            goto done;
        }
    }
    /* nginx answers a file's COPY and MOVE with 204, new or not */
    fy_http_send_response(r, 204, NULL, NULL, 0, NULL);

closed:

    status = 0;

done:

    if (sdir != -1) {
        close(sdir);
    }
    if (ddir != -1) {
        close(ddir);
    }
    if (status) {
        fy_http_send_error(r, status);
    }
}


/* ---- PUT ---- */

static void
fy_http_dav_put_free(void *data)
{
    fy_http_dav_put_t  *pt = data;

    if (pt->fd != -1) {
        close(pt->fd);
    }
    if (pt->named) {
        (void) unlinkat(pt->dir, pt->tmp, 0);
    }
    if (pt->dir != -1) {
        close(pt->dir);
    }
}

/* n bytes of the body to the file: FY_OK, or a status (logged) */
static int
fy_http_dav_write(fy_http_request_t *r, fy_http_dav_put_t *pt,
                  const u_char *p, size_t n)
{
    ssize_t  k;

    while (n) {
        k = write(pt->fd, p, n);
        if (k < 0) {
            fy_log_error(FY_LOG_CRIT, errno, "write() to \"%s\" for \"%.*s\" "
                         "failed, client %s", pt->tmp, (int) r->path.len,
                         r->path.data, r->hc->addr_text);
            return errno == ENOSPC || errno == EDQUOT ? 507 : 500;
        }
        p += k;
        n -= (size_t) k;
    }
    return FY_OK;
}

/* Decode the chunked bytes of in to the file: FY_OK (want more),
 * FY_DONE, or a status */
static int
fy_http_dav_dechunk(fy_http_request_t *r, fy_http_dav_put_t *pt,
                    fy_buf_t *in)
{
    fy_http_chunked_t  *c = &r->chunked_body;
    size_t              max = r->loc->client_max_body_size;
    int                 rc, st;

    for ( ;; ) {
        rc = fy_http_parse_chunked(c, in);
        if (rc == FY_OK) {
            st = fy_http_dav_write(r, pt, c->data, c->len);
            if (st != FY_OK) {
                return st;
            }
            r->body_received += c->len;
        } else if (rc == FY_DONE) {
            r->chunked = 0;
            return FY_DONE;
        } else if (rc != FY_AGAIN) {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid chunked body, "
                         "client %s", r->hc->addr_text);
            return 400;
        }
        if (max && r->body_received + c->size > max) {
            fy_log_error(FY_LOG_ERR, 0, "client intended to send too large "
                         "chunked body: %llu+%llu bytes, client %s",
                         (unsigned long long) r->body_received,
                         (unsigned long long) c->size, r->hc->addr_text);
            return 413;
        }
        if (rc == FY_AGAIN) {
            return FY_OK;
        }
    }
}

/* The body to the file: the bytes that came with the header, then the
 * socket's.  FY_DONE, FY_AGAIN, FY_ERROR (the client is gone; logged)
 * or a status to answer (logged). */
static int
fy_http_dav_read(fy_http_request_t *r, fy_http_dav_put_t *pt)
{
    fy_http_conn_t  *hc = r->hc;
    fy_buf_t         in, *src;
    size_t           k;
    ssize_t          n;
    int              rc;

    for ( ;; ) {
        if (!r->chunked) {
            if (r->body_rest == 0) {
                return FY_DONE;
            }
            /* hc->in, or the whole body in memory once mirror read it */
            src = fy_http_body_src(r);
            k = fy_min(fy_buf_size(src), r->body_rest);
            if (k) {
                rc = fy_http_dav_write(r, pt, src->pos, k);
                src->pos += k;
                n = (ssize_t) k;
            } else {
                n = fy_conn_recv(hc->c, pt->buf, (size_t)
                                 fy_min((uint64_t) pt->size, r->body_rest));
                if (n <= 0) {
                    goto failed;
                }
                fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
                rc = fy_http_dav_write(r, pt, pt->buf, (size_t) n);
            }
            r->body_rest -= (uint64_t) n;
            r->body_received += (uint64_t) n;
            r->request_length += (uint64_t) n;
            if (rc != FY_OK) {
                return rc;
            }
            continue;
        }

        if (fy_buf_size(&hc->in)) {
            in = hc->in;
            rc = fy_http_dav_dechunk(r, pt, &in);
            r->request_length += (uint64_t) (in.pos - hc->in.pos);
            hc->in.pos = in.pos;
        } else {
            n = fy_conn_recv(hc->c, pt->buf, pt->size);
            if (n <= 0) {
                goto failed;
            }
            fy_shm_add(fy_worker_slot->bytes_in, (uint64_t) n);
            in.start = in.pos = pt->buf;
            in.last = in.end = pt->buf + n;
            rc = fy_http_dav_dechunk(r, pt, &in);
            r->request_length += (uint64_t) (in.pos - in.start);
            if (rc == FY_DONE && in.pos < in.last) {
                /* what follows the body is the next request's */
                k = (size_t) (in.last - in.pos);
                if (fy_http_in_room(r, k) != FY_OK) {
                    return 500;
                }
                memcpy(hc->in.last, in.pos, k);
                hc->in.last += k;
            }
        }
        if (rc != FY_OK) {
            return rc;
        }
    }

failed:

    if (n == FY_AGAIN) {
        return FY_AGAIN;
    }
    fy_log_error(FY_LOG_INFO, n == 0 ? 0 : errno, "client prematurely closed "
                 "connection while reading client request body, client %s",
                 hc->addr_text);
    return FY_ERROR;
}

static void
fy_http_dav_body_handler(fy_event_t *rev)
{
    fy_conn_t          *c = rev->data;
    fy_http_conn_t     *hc = c->data;
    fy_http_request_t  *r = hc->r;

    if (rev->timedout) {
        fy_log_error(FY_LOG_INFO, ETIMEDOUT, "client timed out while "
                     "reading client request body, client %s",
                     hc->addr_text);
        fy_http_dav_put_done(r, fy_http_reset_timedout(hc) ? FY_ERROR : 408);
        return;
    }
    fy_http_dav_put_done(r, fy_http_dav_read(r, r->dav_put));
}

/* What reading the body came to: wait for more, answer an error (the
 * temporary file goes with the pool), or put the file in place. */
static void
fy_http_dav_put_done(fy_http_request_t *r, int rc)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_dav_put_t   *pt = r->dav_put;
    struct timespec      ts[2];
    struct stat          st;
    fy_str_t            *date;
    time_t               t;
    int                  status;

    if (rc == FY_AGAIN) {
        hc->c->read.handler = fy_http_dav_body_handler;
        fy_timer_add(&hc->c->read, (uint64_t) r->loc->client_body_timeout);
        return;
    }
    fy_timer_del(&hc->c->read);
    hc->c->read.handler = fy_event_ignore;

    if (rc != FY_DONE) {
        r->body_rest = 0;
        r->chunked = 0;
        r->keepalive = 0;
        if (rc == FY_ERROR) {
            fy_http_close_connection(hc);
            return;
        }
        fy_http_send_error(r, rc);
        return;
    }

    /* the file's mode is dav_access exactly; a Date header sets its
     * modification time (nginx) */
    if (fchmod(pt->fd, (mode_t) r->loc->dav_access) == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, errno, 500, "fchmod()",
                                                pt->tmp));
        return;
    }
    date = fy_http_static_header(r, "Date");
    if (date && (t = fy_time_parse_http(date->data, date->len))
                != (time_t) -1)
    {
        ts[0].tv_sec = ts[1].tv_sec = t;
        ts[0].tv_nsec = ts[1].tv_nsec = 0;
        (void) futimens(pt->fd, ts);
    }
    rc = close(pt->fd);
    pt->fd = -1;
    if (rc == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, errno, 500, "close()",
                                                pt->tmp));
        return;
    }

    status = 201;
    if (fstatat(pt->dir, pt->name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        status = 204;
        if (S_ISDIR(st.st_mode)) {
            fy_log_error(FY_LOG_ERR, EISDIR, "\"%.*s\" could not be "
                         "created, client %s", (int) r->path.len,
                         r->path.data, hc->addr_text);
            fy_http_send_error(r, 409);
            return;
        }
    }
    if (renameat(pt->dir, pt->tmp, pt->dir, pt->name) == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, errno, 500, "rename()",
                                                pt->name));
        return;
    }
    pt->named = 0;
    if (status == 201) {
        fy_http_dav_created(r, &r->path);
    } else {
        fy_http_send_response(r, 204, NULL, NULL, 0, NULL);
    }
}

static void
fy_http_dav_put(fy_http_request_t *r, const char *base, const u_char *p)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_http_dav_put_t   *pt;
    static unsigned      serial;
    int                  err, status;

    if (r->path.data[r->path.len - 1] == '/') {
        fy_log_error(FY_LOG_ERR, 0, "cannot PUT to a collection, client %s",
                     r->hc->addr_text);
        status = 409;
        goto refused;
    }
    if (fy_http_static_header(r, "Content-Range")) {
        fy_log_error(FY_LOG_ERR, 0, "PUT with range is unsupported, "
                     "client %s", r->hc->addr_text);
        status = 501;
        goto refused;
    }

    pt = fy_pcalloc(r->pool, sizeof(fy_http_dav_put_t));
    if (pt == NULL || fy_pool_cleanup_add(r->pool, fy_http_dav_put_free, pt)
                      != FY_OK)
    {
        status = 500;
        goto refused;
    }
    pt->fd = -1;
    r->dav_put = pt;

    /* the missing directories are made now, when asked to, so that
     * the body can go straight to its directory */
    pt->dir = fy_http_dav_parent(base, p, r->path.data + r->path.len,
                                 lcf->create_full_put_path,
                                 fy_http_dav_dir_access(lcf->dav_access),
                                 pt->name, &err);
    if (pt->dir == -1) {
        /* nginx answers 500 for a missing directory: RFC 4918 9.7.1
         * wants 409 */
        status = fy_http_dav_error(r, err, 409, NULL, base);
        goto refused;
    }
    if (pt->name[0] == '\0') {
        status = 409;
        goto refused;
    }
    snprintf(pt->tmp, sizeof(pt->tmp), ".ferry-put-%d-%u-%u", (int) getpid(),
             ++serial, (unsigned) r->hc->serial);
    pt->fd = openat(pt->dir, pt->tmp, O_WRONLY | O_CREAT | O_EXCL
                                      | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (pt->fd == -1) {
        status = fy_http_dav_error(r, errno, 500, "open()", pt->tmp);
        goto refused;
    }
    pt->named = 1;
    pt->size = lcf->client_body_buffer_size;
    pt->buf = fy_palloc(r->pool, pt->size);
    if (pt->buf == NULL) {
        status = 500;
        goto refused;
    }

    if ((r->seen & 16) && r->http_version >= 1001 && !r->continued
        && (r->chunked || fy_buf_size(&r->hc->in) < r->body_rest))
    {
        fy_http_send_continue(r);   /* the client waits for it */
    }
    fy_http_dav_put_done(r, fy_http_dav_read(r, pt));
    return;

refused:

    fy_http_skip_body(r);
    fy_http_send_error(r, status);
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

    base = fy_http_static_base(r->loc, &r->path, &p);
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
