/*
 * fy_http_dav_copy.c -- WebDAV's COPY and MOVE (dav_methods,
 * fy_http_dav.c): the Destination header checked and mapped by the same
 * location's root or alias, Overwrite and Depth as nginx reads them; a
 * file copied (the dav_access mode, the source's mtime) or renamed, a
 * directory renamed or its tree copied (directories and regular files,
 * never a link), every name opened relative to its directory without
 * following links.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_http_dav.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

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



/* The path the Destination header names: an absolute path, or an
 * absolute URI with the request's scheme and host (the port is not
 * compared, as nginx's); decoded and its dot segments resolved, its
 * query left out.  FY_OK, or FY_ERROR after the log line. */
static int
fy_http_dav_destination(fy_http_request_t *r, fy_str_t *dst)
{
    fy_str_t       *v = fy_http_header_find(&r->headers, "Destination");
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

void
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
    v = fy_http_header_find(&r->headers, "Overwrite");
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
        status = fy_http_dav_error(r, err, 404, NULL,
                                   sname[0] ? sname : base);
        goto done;
    }
    ddir = fy_http_dav_parent(base, dp, dst.data + dst.len, 0, 0, dname,
                              &err);
    if (ddir == -1 && err != ENOENT) {
        status = fy_http_dav_error(r, err, 409, NULL,
                                   dname[0] ? dname : base);
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
