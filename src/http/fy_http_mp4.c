/*
 * fy_http_mp4.c -- nginx's mp4 module: pseudo-streaming of MP4 files.
 * In a location with "mp4", a file asked for with "?start=SECONDS"
 * and/or "?end=SECONDS" is sent as a new MP4 that plays that part of
 * it: its ftyp, a moov rewritten for the samples of the range
 * (fy_http_mp4_parse.c), then the part of its mdat that holds them.
 *
 *     location /video/ {
 *         mp4;
 *         mp4_buffer_size     1m;
 *         mp4_max_buffer_size 5m;
 *     }
 *
 * As nginx: the values are seconds with up to 3 decimals (more digits
 * are ignored), digits and one "." only; a start that is not such a
 * value is no start; an end above 0 with no start starts at 0, an end
 * not after start is ignored; neither: the file as it is (Range as any
 * file).  A moov larger than mp4_max_buffer_size, a file that is not
 * what it claims, or a start past its duration: 500 and an error log
 * line naming the file.  A Range applies to the new file, as nginx's.
 *
 * Reading: the first mp4_buffer_size bytes of the file in one pread;
 * the top-level atoms found in them are not read again; the moov, if
 * not all in them, is read whole into a buffer of its size.  The file
 * is read while the worker waits, as nginx does without aio.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_http_mp4.h"

#include <unistd.h>

static int fy_http_mp4_fail_tail(fy_http_request_t *r, int err,
                                 const char *what, uint64_t n,
                                 const char *tail);

const fy_command_t  fy_http_mp4_commands[] = {

    { "mp4", FY_CONF_LOC, 0, 0, 0, fy_conf_set_const, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, media),
      &(const unsigned) { FY_HTTP_MEDIA_MP4 } },

    { "mp4_buffer_size", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 1, 1, 1,
      fy_conf_set_size, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, mp4_buffer_size), NULL },

    { "mp4_max_buffer_size", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 1, 1,
      1, fy_conf_set_size, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, mp4_max_buffer_size), NULL },

    { "mp4_start_key_frame", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 1, 1,
      1, fy_conf_set_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, mp4_start_key_frame), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* nginx's ngx_http_mp4_atofp: seconds as ms, digits and one "."; the
 * digits past the third decimal are ignored.  -1: not such a value. */
static int64_t
fy_http_mp4_ms(const fy_str_t *v)
{
    int64_t  ms = 0;
    size_t   i;
    int      dot = 0, point = 3;

    if (v->len == 0) {
        return -1;
    }
    for (i = 0; i < v->len; i++) {
        if (v->data[i] == '.') {
            if (dot) {
                return -1;
            }
            dot = 1;
            continue;
        }
        if (v->data[i] < '0' || v->data[i] > '9') {
            return -1;
        }
        if (point == 0) {
            continue;
        }
        if (ms > (INT64_MAX - 9) / 10) {
            return -1;
        }
        ms = ms * 10 + (v->data[i] - '0');
        point -= dot;
    }
    while (point--) {
        if (ms > INT64_MAX / 10) {
            return -1;
        }
        ms *= 10;
    }
    return ms;
}

/* Read len bytes at off whole (the file is regular: a short read is its
 * end, which the atoms said it was past). */
static int
fy_http_mp4_pread(int fd, u_char *buf, size_t len, off_t off)
{
    ssize_t  n;

    while (len) {
        n = pread(fd, buf, len, off);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            if (n == 0) {
                errno = 0;
            }
            return FY_ERROR;
        }
        buf += n;
        len -= (size_t) n;
        off += n;
    }
    return FY_OK;
}

/* The error log line, naming the file as nginx's do ("what:n" when n
 * is not 0, then tail); 500. */
static int
fy_http_mp4_fail(fy_http_request_t *r, int err, const char *what,
                 uint64_t n)
{
    return fy_http_mp4_fail_tail(r, err, what, n, "");
}

static int
fy_http_mp4_fail_tail(fy_http_request_t *r, int err, const char *what,
                      uint64_t n, const char *tail)
{
    u_char  name[1024];
    size_t  len;

    len = fy_http_static_var_filename(r, name, sizeof(name));
    if (n) {
        fy_log_error(FY_LOG_ERR, err, "\"%.*s\" %s:%llu%s, client %s",
                     (int) fy_min(len, sizeof(name)), name, what,
                     (unsigned long long) n, tail, r->hc->addr_text);
    } else {
        fy_log_error(FY_LOG_ERR, err, "\"%.*s\" %s, client %s",
                     (int) fy_min(len, sizeof(name)), name, what,
                     r->hc->addr_text);
    }
    return 500;
}

/* An atom read whole: from the first read if it is all there, else
 * into a buffer of its size. */
static int
fy_http_mp4_atom(fy_http_request_t *r, int fd, u_char *head, size_t nhead,
                 uint64_t off, uint64_t size, u_char **atom)
{
    if (off + size <= nhead) {
        *atom = head + off;
        return FY_OK;
    }
    *atom = fy_palloc(r->pool, (size_t) size);
    if (*atom == NULL) {
        return FY_ERROR;
    }
    if (fy_http_mp4_pread(fd, *atom, (size_t) size, (off_t) off) != FY_OK) {
        return fy_http_mp4_fail(r, errno, "mp4 read() failed", 0);
    }
    return FY_OK;
}

int
fy_http_mp4_body(fy_http_request_t *r, fy_http_static_file_t *f, off_t fsize,
                 off_t *start, off_t *end)
{
    fy_http_loc_conf_t  *lcf = r->loc;
    fy_mp4_cut_t         cut;
    fy_str_t             v;
    const char          *err;
    u_char              *head, *ftyp = NULL, *moov = NULL, *out, hb[16];
    const u_char        *h;
    uint64_t             off, size, ftyp_len = 0, moov_len = 0, s, e;
    uint64_t             file = (uint64_t) fsize;
    size_t               nhead, hdr, out_len;
    int64_t              st = -1, en;
    int                  rc, mdat = 0;

    if (fy_http_arg(r, (const u_char *) "start", 5, &v)) {
        st = fy_http_mp4_ms(&v);
    }
    memset(&cut, 0, sizeof(cut));
    if (fy_http_arg(r, (const u_char *) "end", 3, &v)) {
        en = fy_http_mp4_ms(&v);
        if (en > 0) {
            if (st < 0) {
                st = 0;
            }
            if (en > st) {
                cut.length = (uint64_t) (en - st);
            }
        }
    }
    if (st < 0) {
        return FY_DECLINED;
    }
    cut.start = (uint64_t) st;
    cut.key_frame = lcf->mp4_start_key_frame == 1;

    /* the first bytes, where the ftyp and (in a file made for
     * streaming) the moov are */
    nhead = (size_t) fy_min(file, (uint64_t) lcf->mp4_buffer_size);
    head = fy_palloc(r->pool, nhead ? nhead : 1);
    if (head == NULL) {
        return FY_ERROR;
    }
    if (fy_http_mp4_pread(f->fd, head, nhead, 0) != FY_OK) {
        return fy_http_mp4_fail(r, errno, "mp4 read() failed", 0);
    }

    for (off = 0; off < file && !(moov && mdat); off += size) {
        if (off + 16 <= nhead) {
            h = head + off;
        } else {
            hdr = (size_t) fy_min(file - off, 16);
            if (fy_http_mp4_pread(f->fd, hb, hdr, (off_t) off) != FY_OK) {
                return fy_http_mp4_fail(r, errno, "mp4 read() failed", 0);
            }
            h = hb;
        }
        rc = fy_mp4_atom_header(h, (size_t) fy_min(file - off, 16), &size,
                                &hdr);
        if (rc != FY_OK) {
            return fy_http_mp4_fail(r, 0, "mp4 atom header is corrupt", 0);
        }
        if (size == 0) {
            size = file - off;          /* to the end of the file */
        }
        if (size > file - off) {
            return fy_http_mp4_fail(r, 0, "mp4 atom too large", size);
        }
        if (memcmp(h + 4, "ftyp", 4) == 0 && ftyp == NULL) {
            if (size > lcf->mp4_max_buffer_size) {
                return fy_http_mp4_fail(r, 0, "mp4 ftyp atom is too large",
                                        size);
            }
            rc = fy_http_mp4_atom(r, f->fd, head, nhead, off, size, &ftyp);
            if (rc != FY_OK) {
                return rc;
            }
            ftyp_len = size;
        } else if (memcmp(h + 4, "moov", 4) == 0 && moov == NULL) {
            if (size > lcf->mp4_max_buffer_size) {
                return fy_http_mp4_fail_tail(r, 0, "mp4 moov atom is too "
                                             "large", size, ", you may want "
                                             "to increase "
                                             "mp4_max_buffer_size");
            }
            rc = fy_http_mp4_atom(r, f->fd, head, nhead, off, size, &moov);
            if (rc != FY_OK) {
                return rc;
            }
            moov_len = size;
        } else if (memcmp(h + 4, "mdat", 4) == 0 && !mdat) {
            cut.mdat_data = off + hdr;
            cut.mdat_end = off + size;
            mdat = 1;
        }
    }
    if (moov == NULL) {
        return fy_http_mp4_fail(r, 0, "no mp4 moov atom was found", 0);
    }
    if (!mdat) {
        return fy_http_mp4_fail(r, 0, "no mp4 mdat atom was found", 0);
    }

    if (fy_mp4_cut(r->pool, ftyp, (size_t) ftyp_len, moov, (size_t) moov_len,
                   &cut, &out, &out_len, &s, &e, &err) != FY_OK)
    {
        return err ? fy_http_mp4_fail(r, 0, err, 0) : FY_ERROR;
    }
    f->prefix = out;
    f->prefix_len = out_len;
    *start = (off_t) s;
    *end = (off_t) e - 1;
    return FY_OK;
}
