/*
 * fy_http_static_send.c -- sending a file that fy_http_static.c found
 * and opened: the conditional requests (If-None-Match,
 * If-Modified-Since), Range and If-Range (fy_http_range.c), the
 * response header, then the body by sendfile() (read and written
 * on a TLS connection or with sendfile off), or, with sub_filter or
 * gzip, read in pieces, substituted and compressed on the way, as
 * sendfile() can do neither (a single-byte charset recoding alone is
 * done in the read buffer instead, ranges and all: it moves no byte).
 * A long body
 * gives the other connections a turn now and then.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_http_charset.h"
#include "fy_worker.h"
#include "fy_shm.h"
#include "fy_times.h"
#include "fy_tls.h"
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>

/* Bytes sent to one client before letting other connections run: the
 * body goes on after a 1 ms timer (a posted event would run again in
 * the same turn, and a 0 ms timer in the same timer run). */
#define FY_HTTP_STATIC_TURN  (4 * 1024 * 1024)


/* How much to compress for one client before the others get a turn
 * (it reads output_buffers' SIZE at a time). */
#define FY_HTTP_STATIC_GZIP_TURN  (256 * 1024)

/* what a gzip_static file is sent with */
static const fy_str_t  fy_http_static_gzip_ce = fy_string("gzip");

static void fy_http_static_send_body(fy_http_request_t *r);
static void fy_http_static_send_filtered(fy_http_request_t *r);
static int fy_http_static_write_piece(fy_http_request_t *r, int nout);
static int fy_http_static_next_part(fy_http_request_t *r);

/* ---- sending ---- */

/* If-None-Match: "*" or a list of entity tags, compared weakly. */
int
fy_http_static_etag_match(const fy_str_t *v, const char *etag, int strong)
{
    const u_char  *p = v->data, *last = v->data + v->len, *q;
    size_t         elen = strlen(etag);
    int            weak;

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        if (p == last) {
            break;
        }
        if (*p == '*') {
            return 1;
        }
        weak = 0;
        if (last - p > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
            weak = 1;
        }
        q = p;
        while (q < last && *q != ',' && *q != ' ' && *q != '\t') {
            q++;
        }
        if (!(strong && weak) && elen
            && (size_t) (q - p) == elen && memcmp(p, etag, elen) == 0)
        {
            return 1;
        }
        p = q;
    }
    return 0;
}

/*
 * sub_filter, then gzip, on the way out of a file of size bytes and
 * type sent whole as 200 (or as the error page of r->err_status):
 * f->sub and f->gz set up, with f->in, their read buffer; neither is
 * sent with sendfile(), a Range or a length.  A HEAD gets the header
 * as a GET would (f->sub_hdr, f->gz_how) and no stream.  Static files
 * and proxy cache HITs (fy_http_cache.c).  FY_ERROR: out of memory.
 */
int
fy_http_static_filters(fy_http_request_t *r, fy_http_static_file_t *f,
                       const fy_str_t *type, off_t size, unsigned gzflags)
{
    off_t  len;

    /* r->accel_charset: a proxy cache HIT's stored X-Accel-Charset */
    if (fy_http_sub_wanted(r->loc) || r->accel_charset.len) {
        switch (fy_http_sub_begin(r, r->err_status ? r->err_status : 200,
                                  type, NULL, size, &f->sub))
        {
        case FY_OK:
            f->sub_hdr = 1;
            break;
        case FY_ERROR:
            return FY_ERROR;
        }
        if (r->head) {
            f->sub = NULL;          /* the header as for a GET only */
        }
        if (f->sub) {
            f->in = fy_palloc(r->pool, r->loc->output_buffers_size);
            if (f->in == NULL) {
                return FY_ERROR;
            }
            if (!fy_http_chunked_out(r) && !fy_http_sub_same_length(r)) {
                r->keepalive = 0;       /* the close ends the body */
            }
        }
    }
    /* compressed on the way: without Range, as nginx (the length is
     * unknown, unless a single-byte recoding kept it) */
    len = f->sub_hdr && !fy_http_sub_same_length(r) ? -1 : size;
    f->gz_how = fy_http_gzip_decide(r, 200, type, len, NULL, gzflags);
    if (f->gz_how == FY_HTTP_GZIP_YES) {
        f->gz = fy_http_gzip_start(r, len);
        if (f->in == NULL) {
            f->in = fy_palloc(r->pool, r->loc->output_buffers_size);
        }
        if (f->gz == NULL || f->in == NULL) {
            return FY_ERROR;
        }
        if (!fy_http_chunked_out(r)) {
            r->keepalive = 0;       /* the close ends the body */
        }
    }
    return FY_OK;
}

int
fy_http_static_gunzip(fy_http_request_t *r, fy_http_static_file_t *f)
{
    f->gunzip = 1;
    f->gz_how = FY_HTTP_GZIP_VARY;  /* no Content-Encoding; Vary */
    if (r->head) {
        return FY_OK;
    }
    f->gz = fy_http_gunzip_start(r);
    if (f->in == NULL) {
        f->in = fy_palloc(r->pool, r->loc->output_buffers_size);
    }
    if (f->gz == NULL || f->in == NULL) {
        return FY_ERROR;
    }
    if (!fy_http_chunked_out(r)) {
        r->keepalive = 0;           /* the close ends the body */
    }
    return FY_OK;
}

/*
 * charset's single-byte recoding alone (and no gzip after it): the
 * recoded body has the file's length and every byte at its offset, so
 * the file goes out as an unfiltered one would (Range and several
 * ranges, Content-Length, Accept-Ranges, Last-Modified, the ETag
 * strong), as nginx's range filter serves such a recoding; only its
 * bytes are recoded as they are read (f->bytemap).  The matcher
 * fy_http_static_filters made is dropped.
 */
void
fy_http_static_bytemap(fy_http_request_t *r, fy_http_static_file_t *f,
                       const fy_str_t *type)
{
    if (!f->sub_hdr || !fy_http_sub_bytewise(r) || type == NULL
        || f->gz_how == FY_HTTP_GZIP_YES)
    {
        return;
    }
    f->bytemap = fy_http_recode_table(fy_http_charset_recode(r, type, NULL));
    if (f->bytemap) {           /* there is one: sub_bytewise said so */
        f->sub = NULL;
        f->sub_hdr = 0;
    }
}

/* The range [a, b] of flv's or mp4's body (f->prefix, then the file's
 * bytes [*start, *end]): the part of the prefix in it, and the file's
 * bytes in it in *start, *end (none: *end = *start - 1). */
static void
fy_http_static_media_range(fy_http_static_file_t *f, off_t a, off_t b,
                           off_t *start, off_t *end)
{
    off_t  p = (off_t) f->prefix_len, from = *start;

    if (a < p) {
        f->prefix += a;
        f->prefix_len = (size_t) (fy_min(b + 1, p) - a);
    } else {
        f->prefix_len = 0;
    }
    if (b < p) {
        *end = from - 1;
        return;
    }
    *start = from + fy_max(a, p) - p;
    *end = from + b - p;
}

/* Send the header for the open file f (stat st, type) and then the
 * body, as the conditional and Range headers ask. */
void
fy_http_static_send(fy_http_request_t *r, fy_http_static_file_t *f,
                    const struct stat *st, const fy_str_t *type)
{
    fy_http_conn_t  *hc = r->hc;
    fy_str_t        *inm, *ims, *range, *ifr, *ius, *im;
    const char      *line, *conn, *server, *gz;
    char             etag[48], lm[FY_TIME_HTTP_MAX], *hdr, code[8];
    char            *q;
    off_t            start = 0, end = st->st_size - 1, rstart, rend, rsize;
    size_t           llen, size, n, slen, at, lm_len;
    fy_str_t         add, ctype;
    time_t           t;
    int              status = 200, sent, rc, nr;
    fy_http_range_t  one, *ranges;
    fy_http_multipart_t  *mp = NULL;

    if (r->parent) {
        if (r->capture) {
            /* ssi's include: the file is kept for the document */
            fy_http_capture_file(r, f, st->st_size, type);
            return;
        }
        /* a subrequest: found (or error_page's status) */
        fy_http_subrequest_done(r, r->err_status ? r->err_status : 200);
        return;
    }
    if (r->accel && r->accel->type.len) {
        /* after X-Accel-Redirect: the upstream's type, as nginx */
        type = &r->accel->type;
    }
    if (r->loc->ssi
        && fy_http_ssi_static(r, f->fd, st->st_size, st->st_mtime, type)
           == FY_OK)
    {
        return;     /* ssi: read whole, processed, answered */
    }
    /* etag off: none sent, and none for If-None-Match or If-Range to
     * match ("*" still matches, as nginx) */
    etag[0] = '\0';
    if (r->loc->etag) {
        /* "MTIME-SIZE" in hex, as nginx */
        q = etag;
        *q++ = '"';
        q += fy_utox((u_char *) q, (uint64_t) st->st_mtime);
        *q++ = '-';
        q += fy_utox((u_char *) q, (uint64_t) st->st_size);
        *q++ = '"';
        *q = '\0';
    }
    r->last_modified = st->st_mtime;      /* for "expires modified" */
    r->has_last_modified = 1;
    lm_len = fy_time_http(lm, st->st_mtime);
    lm[lm_len] = '\0';         /* If-Range compares it as a string */

    /* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2);
     * If-Modified-Since as if_modified_since says: the exact time
     * (nginx's default), that time or later ("before": the file was
     * modified before it), or never ("off"). */
    inm = fy_http_header_find(&r->headers, "If-None-Match");
    ims = fy_http_header_find(&r->headers, "If-Modified-Since");
    if (r->err_status) {
        /* an error page (error_page 404 /404.html) is sent whole,
         * with the error's status */
        inm = ims = NULL;
    }
    /* If-Unmodified-Since (a file changed after it, or a date that does
     * not parse) and If-Match ("*" or the ETag, strongly) that fail:
     * 412, before anything else, as nginx's not_modified filter */
    ius = r->err_status ? NULL : fy_http_header_find(&r->headers,
                                                 "If-Unmodified-Since");
    im = r->err_status ? NULL : fy_http_header_find(&r->headers, "If-Match");
    if (ius) {
        t = fy_time_parse_http(ius->data, ius->len);
        if (t == (time_t) -1 || t < st->st_mtime) {
            fy_http_send_error(r, 412);
            return;
        }
    }
    if (im && !fy_http_static_etag_match(im, etag, 1)) {
        fy_http_send_error(r, 412);
        return;
    }
    if (inm) {
        if (fy_http_static_etag_match(inm, etag, 0)) {
            status = 304;
        }
    } else if (ims && r->loc->if_modified_since != FY_HTTP_IMS_OFF) {
        t = fy_time_parse_http(ims->data, ims->len);
        if (t == st->st_mtime
            || (t != (time_t) -1 && t > st->st_mtime
                && r->loc->if_modified_since == FY_HTTP_IMS_BEFORE))
        {
            status = 304;
        }
    }

    if (status == 200 && !r->err_status && r->loc->media && r->args.len
        && f->gz_how == FY_HTTP_GZIP_NO)
    {
        /* flv, mp4: the body the arguments ask for */
        rc = r->loc->media == FY_HTTP_MEDIA_FLV
             ? fy_http_flv_body(r, f, st->st_size, &start, &end)
             : fy_http_mp4_body(r, f, st->st_size, &start, &end);
        if (rc == FY_OK) {
            f->media = 1;
        } else if (rc == FY_ERROR) {
            fy_http_close_connection(hc);
            return;
        } else if (rc != FY_DECLINED) {
            fy_http_send_error(r, rc);
            return;
        }
    }

    if (status == 200 && f->gz_how == FY_HTTP_GZIP_NO && !f->media
        && fy_http_static_filters(r, f, type, st->st_size,
                                  FY_HTTP_GZIP_HAS_LM
                                  | (etag[0] ? FY_HTTP_GZIP_HAS_ETAG : 0))
           != FY_OK)
    {
        /* not the .gz of gzip_static: maybe substitute in it and
         * compress it on the way */
        fy_http_close_connection(hc);
        return;
    }

    fy_http_static_bytemap(r, f, type);

    if (status == 200 && f->gz_how == FY_HTTP_GZIP_YES
        && r->loc->gzip.gunzip
        && fy_http_gunzip_wanted(r, NULL, &fy_http_static_gzip_ce,
                                 FY_HTTP_GZIP_HAS_LM
                                 | (etag[0] ? FY_HTTP_GZIP_HAS_ETAG : 0))
           == FY_HTTP_GZIP_YES
        && fy_http_static_gunzip(r, f) != FY_OK)
    {
        /* the .gz of gzip_static always, for a client without gzip */
        fy_http_close_connection(hc);
        return;
    }

    range = fy_http_header_find(&r->headers, "Range");
    ifr = fy_http_header_find(&r->headers, "If-Range");
    /* max_ranges 0: no ranges (nor Accept-Ranges); else up to that
     * many, several as multipart/byteranges (not of flv's or mp4's
     * made body: one range of it, several get it whole) */
    /* flv's and mp4's body: the prefix and the file's part, as one */
    rsize = f->media ? (off_t) f->prefix_len + (end - start + 1)
                     : st->st_size;
    if (status == 200 && range && !r->err_status && f->gz == NULL
        && !f->sub_hdr && !f->gunzip
        && r->loc->max_ranges > 0
        && (ifr == NULL || (etag[0] && fy_str_eq(ifr, etag))
            || fy_str_eq(ifr, lm)))
    {
        if (f->media) {
            rc = fy_http_parse_range(range->data, range->len, rsize,
                                     &rstart, &rend);
        } else {
            /* counted first, then read into room for them */
            rc = fy_http_parse_ranges(range->data, range->len, rsize,
                                      r->loc->max_ranges, NULL, &nr);
            if (rc == FY_HTTP_RANGE_OK) {
                ranges = nr == 1 ? &one
                                 : fy_palloc(r->pool,
                                             (size_t) nr * sizeof(*ranges));
                if (ranges == NULL) {
                    fy_http_close_connection(hc);
                    return;
                }
                (void) fy_http_parse_ranges(range->data, range->len, rsize,
                                            r->loc->max_ranges, ranges, &nr);
                rstart = ranges[0].start;
                rend = ranges[0].end;
                if (nr > 1) {
                    mp = fy_palloc(r->pool, sizeof(*mp));
                    if (mp == NULL) {
                        fy_http_close_connection(hc);
                        return;
                    }
                    mp->n = nr;
                    mp->ranges = ranges;
                }
            }
        }
        switch (rc) {
        case FY_HTTP_RANGE_OK:
            status = 206;
            if (f->media) {
                fy_http_static_media_range(f, rstart, rend, &start, &end);
            } else {
                start = rstart;
                end = rend;
            }
            break;
        case FY_HTTP_RANGE_UNSATISFIABLE:
            /* nginx's error page for 416 (or the error_page's answer),
             * with the file's size in Content-Range */
            r->range_unsat = 1;
            r->range_size = rsize;
            fy_http_send_error(r, 416);
            return;
        default:
            break;
        }
    }

    r->status = r->err_status ? r->err_status : status;
    line = fy_http_status_line(r->status, &llen);
    if (line == NULL) {
        snprintf(code, sizeof(code), "%03d ", r->status);
        line = code;
        llen = strlen(code);
    }
    conn = fy_http_connection_header(r);
    server = fy_http_server_line(r, &slen);
    switch (status == 200 || status == 206
            ? fy_http_charset_type(r, type, &ctype) : 0)
    {
    case 1:
        type = &ctype;          /* charset: "; charset=..." added */
        break;
    case -1:
        fy_http_close_connection(hc);
        return;
    }
    if (mp && fy_http_range_multipart(r->pool, mp->ranges, mp->n, type,
                                      st->st_size, mp) != FY_OK)
    {
        fy_http_close_connection(hc);
        return;
    }
    sent = r->loc->add_headers_sent;
    add.len = 0;
    if (!sent && fy_http_add_headers(r, r->status, &add) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }

    size = 704 + llen + slen + fy_http_date_len + type->len + add.len;
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_http_close_connection(hc);
        return;
    }
    /* No printf here: it cost more than the rest of the answer
     * (callgrind, docs/performance.md); every line's room is in size. */
    q = fy_http_header_start(hdr, line, llen, server, slen);
    if (status == 200 || status == 206) {
        q = fy_cpylit(q, "Content-Type: ");
        if (mp) {
            /* several ranges: the type goes in each part */
            q = fy_cpylit(q, "multipart/byteranges; boundary=");
            q = fy_cpymem(q, mp->boundary, strlen(mp->boundary));
        } else {
            q = fy_cpymem(q, type->data, type->len);
        }
        q = fy_cpylit(q, "\r\n");
        /* add_trailer: chunked, the trailers in the last chunk (the
         * compressor's and the filter's senders write their own) */
        f->trailers = f->gz == NULL && !f->sub_hdr && !f->gunzip
                      && r->loc->add_trailers
                      && fy_http_trailers_expected(r, r->status);
        if (f->gz == NULL && (!f->sub_hdr || fy_http_sub_same_length(r))
            && !f->gunzip && !f->trailers)
        {
            q = fy_cpylit(q, "Content-Length: ");
            q += fy_utoa((u_char *) q, (uint64_t) (mp ? mp->len
                                        : end - start + 1
                                          + (off_t) f->prefix_len));
            q = fy_cpylit(q, "\r\n");
        } else if ((f->trailers || fy_http_chunked_out(r)) && !r->head) {
            q = fy_cpylit(q, "Transfer-Encoding: chunked\r\n");
        }
        gz = fy_http_gzip_header_lines(r, f->gz_how);
        q = fy_cpymem(q, gz, strlen(gz));
    }
    if (r->range_unsat && r->status == 416) {
        /* a file an error_page 416 serves: the unsatisfied range's */
        q = fy_cpylit(q, "Content-Range: bytes */");
        q += fy_utoa((u_char *) q, (uint64_t) r->range_size);
        q = fy_cpylit(q, "\r\n");
    } else if (status == 206 && mp == NULL) {
        q = fy_cpylit(q, "Content-Range: bytes ");
        q += fy_utoa((u_char *) q, (uint64_t) rstart);
        *q++ = '-';
        q += fy_utoa((u_char *) q, (uint64_t) rend);
        *q++ = '/';
        q += fy_utoa((u_char *) q, (uint64_t) rsize);
        q = fy_cpylit(q, "\r\n");
    } else if (status == 200 && f->gz == NULL && !f->sub_hdr && !f->gunzip
               && r->loc->max_ranges > 0)
    {
        q = fy_cpylit(q, "Accept-Ranges: bytes\r\n");
    }
    if (f->sub_hdr && !fy_http_sub_keeps_validators(r)) {
        /* sub_filter: the body is not the file's; neither validator
         * (sub_filter_last_modified on keeps them, the ETag weak) */
        etag[0] = '\0';
    } else if (r->status == 200 || r->status == 206 || r->status == 304) {
        /* nginx drops it from any other answer (an error page) */
        q = fy_cpylit(q, "Last-Modified: ");
        q = fy_cpymem(q, lm, lm_len);
        q = fy_cpylit(q, "\r\n");
    }
    /* a compressed or filtered body is not the file byte for byte: weak */
    if (etag[0]) {
        q = fy_cpylit(q, "ETag: ");
        if (f->gz || f->sub_hdr || f->gunzip) {
            q = fy_cpylit(q, "W/");
        }
        q = fy_cpymem(q, etag, strlen(etag));
        q = fy_cpylit(q, "\r\n");
    }
    if (add.len) {
        q = fy_cpymem(q, add.data, add.len);
    }
    n = (size_t) (q - hdr);
    at = n;
    q = fy_cpylit(q, "Connection: ");
    q = fy_cpymem(q, conn, strlen(conn));
    q = fy_cpylit(q, "\r\n\r\n");
    n = (size_t) (q - hdr);
    if (sent && fy_http_add_headers_into(r, r->status, &hdr, &n, &size, at)
                != FY_OK)
    {
        /* add_header reads $sent_http_: made now, before Connection */
        fy_http_close_connection(hc);
        return;
    }

    f->pos = start;
    f->end = (status == 200 || status == 206) && !r->head ? end + 1 : start;

    /* tcp_nopush: the header waits in the socket for the file's first
     * bytes and leaves in one segment with them (nginx corks only when
     * sendfile() sends the body; fy_http_set_keepalive uncorks) */
    if (f->end > f->pos && f->gz == NULL && f->sub == NULL
        && hc->c->ssl == NULL
        && r->loc->sendfile && r->loc->tcp_nopush && !hc->corked
        && hc->ls->addr.sa.sa_family != AF_UNIX)
    {
        fy_http_cork(hc, 1);
    }

    hc->out[0].iov_base = hdr;
    hc->out[0].iov_len = n;
    hc->nout = 1;
    if (f->trailers && (f->end > f->pos || (f->prefix_len && !r->head))) {
        /* all of the file (or its range) is one chunk */
        f->chunk_data = 1;
        hc->out[1].iov_base = hdr + n;
        hc->out[1].iov_len = (size_t) snprintf(hdr + n, size - n,
                                               "%llx\r\n", (unsigned long long)
                                               (mp ? mp->len
                                                : f->end - f->pos
                                                  + (off_t) f->prefix_len));
        hc->nout = 2;
    }
    if (mp && !r->head) {
        /* the first part's head; the sender goes on from part to part */
        f->mp = mp;
        hc->out[hc->nout].iov_base = mp->heads[0].data;
        hc->out[hc->nout].iov_len = mp->heads[0].len;
        hc->nout++;
    }
    if (f->prefix_len && !r->head) {
        /* flv's header, mp4's moov: before the file's bytes */
        hc->out[hc->nout].iov_base = f->prefix;
        hc->out[hc->nout].iov_len = f->prefix_len;
        hc->nout++;
    }
    fy_http_static_start(r, hdr, n);
}

/* The header hdr (n bytes) is queued in hc->out: send it, then the
 * body from r->file (static files, proxy cache HITs).  hdr NULL: no
 * header, the body follows the response sent so far (a later slice's,
 * fy_http_slice.c). */
void
fy_http_static_start(fy_http_request_t *r, char *hdr, size_t n)
{
    fy_http_conn_t  *hc = r->hc;

    if (fy_http_static_read_begin(r, r->file) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }
    hc->out_done = fy_http_static_send_body;
    if (hdr) {
        /* (none: a later slice's body, after the first one's header) */
        r->header_out = n;
        r->header_text.data = (u_char *) hdr;
        r->header_text.len = n;
        r->header_sent = 1;
    }

    switch (fy_http_write_out(r)) {
    case FY_OK:
        hc->out_done = NULL;
        fy_http_static_send_body(r);
        return;
    case FY_AGAIN:
        return;
    default:
        fy_http_close_connection(hc);
    }
}

static void
fy_http_static_write_handler(fy_event_t *wev)
{
    fy_conn_t              *c = wev->data;
    fy_http_conn_t         *hc = c->data;
    fy_http_static_file_t  *f = hc->r->file;

    if (wev->timedout && f->yielded) {
        f->yielded = 0;
        wev->timedout = 0;
    } else if (wev->timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out while sending a "
                     "file, client %s", hc->addr_text);
        fy_http_reset_timedout(hc);
        fy_http_close_connection(hc);
        return;
    }
    fy_http_static_send_body(hc->r);
}

/*
 * Without sendfile(): on TLS, as the kernel cannot encrypt and
 * sendfile() would send the file in clear, or with sendfile off.  Read
 * a piece at f->pos and write it through the connection (its TLS layer,
 * if any); after FY_AGAIN the same bytes are read again from the same
 * offset, which is what SSL_write wants on its retry (the buffer may
 * move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).  At most max bytes.
 * Returns bytes sent (and moves f->pos), 0 at an unexpected end of
 * file, FY_AGAIN or -1.
 */
static ssize_t
fy_http_static_send_copy(fy_conn_t *c, fy_http_static_file_t *f, off_t max)
{
    u_char   *data;
    ssize_t   k, n, i;

    k = fy_http_static_read(f, max, &data);
    if (k <= 0) {
        return k;
    }
    if (f->bytemap) {
        /* charset's single-byte recoding, in the read buffer (read
         * again from the file if the send is retried) */
        for (i = 0; i < k; i++) {
            data[i] = f->bytemap[data[i]];
        }
    }
    n = fy_conn_send(c, data, (size_t) k);
    if (n > 0) {
        f->pos += n;
    }
    return n;
}

/* Send the file from f->pos to f->end; resumes on the write event.  A
 * client that goes away closes the connection, and the request pool's
 * cleanup closes the file. */
static void
fy_http_static_send_body(fy_http_request_t *r)
{
    fy_http_static_file_t  *f = r->file;
    fy_http_conn_t         *hc = r->hc;
    fy_conn_t              *c = hc->c;
    size_t                  turn = 0;
    ssize_t                 n;
    off_t                   max;
    uint64_t                allow, delay;
    fy_str_t                last;

    if (f->gz || f->sub) {
        fy_http_static_send_filtered(r);
        return;
    }

again:
    while (f->pos < f->end) {
        if (turn >= FY_HTTP_STATIC_TURN) {
            /* others' turn: carry on in the next one */
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 1;
            fy_timer_add(&c->write, 1);
            return;
        }
        max = fy_min(f->end - f->pos, (off_t) (1 << 30));
        if (r->limit_rate) {
            allow = fy_http_limit_rate_allow(r, &delay);
            if (allow == 0) {
                /* limit_rate: on when the timer says, as after a turn */
                c->write.handler = fy_http_static_write_handler;
                f->yielded = 1;
                fy_timer_add(&c->write, delay);
                return;
            }
            max = (off_t) fy_min((uint64_t) max, allow);
        }
        if (f->rbuf) {
            n = fy_http_static_send_copy(c, f, max);
        } else {
            /* sendfile_max_chunk: one fast client does not keep the
             * worker in one long call */
            if (r->loc->sendfile_max_chunk) {
                max = fy_min(max, (off_t) r->loc->sendfile_max_chunk);
            }
            n = sendfile(c->fd, f->fd, &f->pos, (size_t) max);
        }
        if (n == FY_AGAIN) {
            errno = EAGAIN;         /* the TLS layer set the ready flags */
            n = -1;
        }
        if (n > 0) {
            turn += (size_t) n;
            r->bytes_out += (uint64_t) n;
            fy_shm_add(fy_worker_slot->bytes_out, (uint64_t) n);
            continue;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->write.ready = 0;
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 0;
            fy_timer_add(&c->write, (uint64_t) r->loc->send_timeout);
            return;
        }
        if (n == 0) {
            fy_log_error(FY_LOG_ERR, 0, "file of \"%.*s\" was truncated "
                         "while being sent, client %s", (int) r->path.len,
                         r->path.data, hc->addr_text);
        } else {
            fy_log_error(FY_LOG_INFO, errno, "sendfile() failed, client %s",
                         hc->addr_text);
        }
        fy_http_close_connection(hc);
        return;
    }

    if (f->mp && fy_http_static_next_part(r) == 0) {
        return;     /* written on, or closed; resumed here */
    }
    if (f->pos < f->end) {
        goto again;                     /* the next part's bytes */
    }

    fy_timer_del(&c->write);
    c->write.handler = fy_event_ignore;
    fy_http_static_file_close(f);
    if (f->trailers) {
        /* the last chunk, with add_trailer's fields; then finalized
         * here or, after a wait, by the write handler */
        f->trailers = 0;
        if (fy_http_trailers_last_chunk(r, f->chunk_data, &last) != FY_OK) {
            fy_http_close_connection(hc);
            return;
        }
        hc->out[0].iov_base = last.data;
        hc->out[0].iov_len = last.len;
        hc->nout = 1;
        hc->out_done = NULL;
        switch (fy_http_write_out(r)) {
        case FY_OK:
            break;
        case FY_AGAIN:
            return;
        default:
            fy_http_close_connection(hc);
            return;
        }
    }
    fy_http_finalize(r, 0);
}

/*
 * Several ranges: the part just sent is done; queue and write the next
 * part's head and point f->pos, f->end at its bytes, or after the last
 * the closing boundary (then f->mp is NULL).  1: written, go on; 0: the
 * write event resumes fy_http_static_send_body (or the connection is
 * closed).
 */
static int
fy_http_static_next_part(fy_http_request_t *r)
{
    fy_http_static_file_t  *f = r->file;
    fy_http_multipart_t    *mp = f->mp;
    fy_http_conn_t         *hc = r->hc;

    if (++mp->next < mp->n) {
        f->pos = mp->base + mp->ranges[mp->next].start;
        f->end = mp->base + mp->ranges[mp->next].end + 1;
        hc->out[0].iov_base = mp->heads[mp->next].data;
        hc->out[0].iov_len = mp->heads[mp->next].len;
    } else {
        f->mp = NULL;
        hc->out[0].iov_base = mp->tail.data;
        hc->out[0].iov_len = mp->tail.len;
    }
    return fy_http_static_write_piece(r, 1);
}

/* Write what is queued in hc->out: 1 when written, 0 when the write
 * event resumes fy_http_static_send_body (or the connection is closed). */
static int
fy_http_static_write_piece(fy_http_request_t *r, int nout)
{
    fy_http_conn_t  *hc = r->hc;

    hc->nout = nout;
    hc->out_done = fy_http_static_send_body;
    switch (fy_http_write_out(r)) {
    case FY_OK:
        hc->out_done = NULL;
        return 1;
    case FY_AGAIN:
        return 0;
    default:
        fy_http_close_connection(hc);
        return 0;
    }
}

/*
 * The file through sub_filter's matcher and / or the compressor, in
 * that order: read a piece, substitute, compress, write what comes
 * out, and read the next piece only once that is written, so memory
 * stays at one read buffer, the matcher's and the compressor's.
 */
static void
fy_http_static_send_filtered(fy_http_request_t *r)
{
    fy_http_static_file_t  *f = r->file;
    fy_http_conn_t         *hc = r->hc;
    fy_conn_t              *c = hc->c;
    size_t                  turn = 0, len;
    u_char                 *data;
    ssize_t                 k;
    int                     n, i;
    fy_str_t                last;

    for ( ;; ) {
        if (f->gz) {
            if (fy_http_gzip_done(f->gz)) {
                break;
            }
            if (!fy_http_gzip_wants_input(f->gz)) {
                n = fy_http_gzip_deflate(f->gz, hc->out);
                if (n < 0) {
                    fy_http_close_connection(hc);
                    return;
                }
                if (n > 0 && !fy_http_static_write_piece(r, n)) {
                    return;
                }
                continue;
            }
        }

        if (f->sub && fy_http_sub_stream_done(f->sub)) {
            if (f->gz) {
                fy_http_gzip_finish(f->gz);
                continue;
            }
            if (!fy_http_sub_chunked(r) || f->sub_last) {
                break;
            }
            f->sub_last = 1;
            /* the last chunk, add_trailer's fields in it */
            if (fy_http_trailers_last_chunk(r, 0, &last) != FY_OK) {
                fy_http_close_connection(hc);
                return;
            }
            hc->out[0].iov_base = last.data;
            hc->out[0].iov_len = last.len;
            if (!fy_http_static_write_piece(r, 1)) {
                return;
            }
            continue;
        }
        if (f->sub && !fy_http_sub_stream_wants_input(f->sub)) {
            if (!fy_http_sub_stream_out(f->sub, &data, &len)) {
                continue;
            }
            if (f->gz) {
                fy_http_gzip_input(f->gz, data, len);
                continue;
            }
            i = 0;
            if (fy_http_sub_chunked(r)) {
                hc->out[i].iov_base = f->chunk;
                hc->out[i++].iov_len = (size_t) snprintf(f->chunk,
                                                         sizeof(f->chunk),
                                                         "%zx\r\n", len);
            }
            hc->out[i].iov_base = data;
            hc->out[i++].iov_len = len;
            if (fy_http_sub_chunked(r)) {
                hc->out[i].iov_base = (char *) "\r\n";
                hc->out[i++].iov_len = 2;
            }
            if (!fy_http_static_write_piece(r, i)) {
                return;
            }
            continue;
        }

        if (f->pos == f->end) {
            if (f->sub) {
                fy_http_sub_stream_finish(f->sub);
            } else {
                fy_http_gzip_finish(f->gz);
            }
            continue;
        }
        if (turn >= FY_HTTP_STATIC_GZIP_TURN) {
            /* this is work: the others' turn, then on */
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 1;
            fy_timer_add(&c->write, 1);
            return;
        }
        k = pread(f->fd, f->in, (size_t) fy_min(f->end - f->pos, (off_t)
                                                r->loc->output_buffers_size),
                  f->pos);
        if (k > 0) {
            f->pos += k;
            turn += (size_t) k;
            if (f->sub) {
                fy_http_sub_stream_input(f->sub, f->in, (size_t) k);
            } else {
                fy_http_gzip_input(f->gz, f->in, (size_t) k);
            }
            continue;
        }
        if (k == -1 && errno == EINTR) {
            continue;
        }
        fy_log_error(FY_LOG_ERR, k == 0 ? 0 : errno, "file of \"%.*s\" "
                     "could not be read while being %s, client %s",
                     (int) r->path.len, r->path.data,
                     f->sub ? "filtered" : "compressed", hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }

    fy_http_static_file_close(f);
    fy_http_finalize(r, 0);
}
