/*
 * fy_http_dav_put.c -- WebDAV's PUT (dav_methods, fy_http_dav.c): the
 * body, read by fy_http_body_read.c (what came with the header first, then
 * the socket, Content-Length or chunked, client_max_body_size,
 * client_body_timeout), is written to a temporary file in the target's
 * own directory, made with O_EXCL, given dav_access's mode and the
 * Date header's time, then renamed over the target: 201 for a new
 * file, 204 for one replaced.  The pool's cleanup removes the
 * temporary file when the upload fails or the client goes away.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_http_dav.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int fy_http_dav_room(fy_http_request_t *r, u_char **buf,
    size_t *size);
static int fy_http_dav_piece(fy_http_request_t *r, u_char *p, size_t n);
static void fy_http_dav_put_done(fy_http_request_t *r);

/* the body read whole to the temporary file (fy_http_body_read.c) */
static const fy_http_body_reader_t  fy_http_dav_reader = {
    fy_http_dav_room, fy_http_dav_piece, fy_http_dav_put_done
};

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

/* fy_http_body_read's room: the upload's buffer */
static int
fy_http_dav_room(fy_http_request_t *r, u_char **buf, size_t *size)
{
    *buf = r->dav_put->buf;
    *size = r->dav_put->size;
    return FY_OK;
}

/* ... and its piece: to the file */
static int
fy_http_dav_piece(fy_http_request_t *r, u_char *p, size_t n)
{
    return fy_http_dav_write(r, r->dav_put, p, n);
}

/* The body is all in the file (fy_http_body_read's done; a failure
 * was answered there, the temporary file going with the pool): put the
 * file in place. */
static void
fy_http_dav_put_done(fy_http_request_t *r)
{
    fy_http_conn_t      *hc = r->hc;
    fy_http_dav_put_t   *pt = r->dav_put;
    struct timespec      ts[2];
    struct stat          st;
    fy_str_t            *date;
    time_t               t;
    int                  rc, status;

    /* the file's mode is dav_access exactly; a Date header sets its
     * modification time (nginx) */
    if (fchmod(pt->fd, (mode_t) r->loc->dav_access) == -1) {
        fy_http_send_error(r, fy_http_dav_error(r, errno, 500, "fchmod()",
                                                pt->tmp));
        return;
    }
    date = fy_http_header_find(&r->headers, "Date");
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

void
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
    if (fy_http_header_find(&r->headers, "Content-Range")) {
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
        status = fy_http_dav_error(r, err, 409, NULL,
                                   pt->name[0] ? pt->name : base);
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
    /* hc->in, or the whole body in memory once mirror read it */
    fy_http_body_read(r, fy_http_body_src(r), &fy_http_dav_reader);
    return;

refused:

    fy_http_skip_body(r);
    fy_http_send_error(r, status);
}
