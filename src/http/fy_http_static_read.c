/*
 * fy_http_static_read.c -- reading a file's bytes where sendfile()
 * does not send them (TLS, "sendfile off", directio), as nginx's
 * directives say:
 *
 *   output_buffers N SIZE    one buffer of N * SIZE bytes, from the
 *                            request's pool, read into by one pread()
 *                            (nginx fills up to N buffers of SIZE and
 *                            writes them together: the same amount);
 *                            gzip and sub_filter read SIZE at a time
 *   directio SIZE            a file of at least SIZE bytes is read with
 *                            O_DIRECT, past the page cache, never by
 *                            sendfile() (fcntl(F_SETFL), as nginx), in
 *                            blocks of directio_alignment at offsets
 *                            aligned to it, into a buffer aligned to
 *                            it; gzip and sub_filter read through the
 *                            page cache as before
 *   read_ahead SIZE          more than 0: posix_fadvise(SEQUENTIAL),
 *                            which is all nginx does on Linux (the size
 *                            is not used there either)
 *
 * Each request opens its own descriptor (there is no cache of them), so
 * O_DIRECT on it touches no other request.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include <fcntl.h>
#include <sys/stat.h>

int
fy_http_static_read_begin(fy_http_request_t *r, fy_http_static_file_t *f)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    struct stat          st;
    size_t               size, align = 1;
    u_char              *p;
    int                  flags;

    if (f->fd == -1 || f->end <= f->pos) {
        return FY_OK;
    }
    if (lcf->read_ahead > 0) {
        (void) posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
    if (f->gz || f->sub) {
        return FY_OK;                   /* they read into f->in */
    }
    if (lcf->directio != FY_HTTP_DIRECTIO_OFF && fstat(f->fd, &st) == 0
        && st.st_size >= lcf->directio)
    {
        flags = fcntl(f->fd, F_GETFL);
        if (flags != -1 && fcntl(f->fd, F_SETFL, flags | O_DIRECT) == 0) {
            f->direct = 1;
            align = lcf->directio_alignment;
        } else {
            /* a file system without O_DIRECT (tmpfs): read as usual */
            fy_log_error(FY_LOG_ALERT, errno, "fcntl(O_DIRECT) of \"%.*s\" "
                         "failed", (int) r->path.len, r->path.data);
        }
    }
    if (!f->direct && r->hc->c->ssl == NULL && lcf->sendfile
        && f->bytemap == NULL)
    {
        return FY_OK;                   /* sendfile() sends it */
    }
    if (f->rbuf && f->align >= align) {
        return FY_OK;   /* a slice's: the buffer of the slice before,
                           aligned enough (fy_http_slice.c) */
    }
    size = lcf->output_buffers_num * lcf->output_buffers_size;
    size = (size + align - 1) & ~(align - 1);
    p = fy_palloc(r->pool, size + align);
    if (p == NULL) {
        return FY_ERROR;
    }
    f->rbuf = (u_char *) (((uintptr_t) p + align - 1) & ~(uintptr_t)
                                                       (align - 1));
    f->rsize = size;
    f->align = align;
    return FY_OK;
}

ssize_t
fy_http_static_read(fy_http_static_file_t *f, off_t max, u_char **data)
{
    off_t    start;
    size_t   skip, len;
    ssize_t  k;

    /* with O_DIRECT the read starts at an aligned offset and its length
     * is whole blocks; the bytes before f->pos are skipped */
    start = f->pos & ~(off_t) (f->align - 1);
    skip = (size_t) (f->pos - start);
    len = skip + (size_t) fy_min(max, (off_t) f->rsize);
    len = (len + f->align - 1) & ~(f->align - 1);
    len = fy_min(len, f->rsize);

    k = pread(f->fd, f->rbuf, len, start);
    if (k <= 0) {
        return k;
    }
    if ((size_t) k <= skip) {
        return 0;                       /* the file got shorter */
    }
    *data = f->rbuf + skip;
    return (ssize_t) fy_min((off_t) k - (off_t) skip, max);
}
