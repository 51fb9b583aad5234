/*
 * fy_http_static.h -- serving files from disk: root, alias, index,
 * types (fy_http_static.c), the lookup try_files shares, and the Range
 * parser the sending uses (fy_http_static_send.c).
 */
#ifndef FY_HTTP_STATIC_H
#define FY_HTTP_STATIC_H

#include "fy_http.h"
#include <sys/stat.h>

/* One "types" entry: extension (lowercase) -> MIME type. */
typedef struct {
    fy_str_t  ext;
    fy_str_t  type;
} fy_http_type_t;

/* What the static directives set at one level.  A level without any of
 * them shares its parent's structure. */
typedef struct fy_http_static_conf_s {
    char        *root;        /* absolute, NUL-terminated; NULL: unset */
    char        *alias;       /* location only; NULL: unset */
    char        *written;     /* root or alias as written (trailing "/"
                                 kept): $document_root, $request_filename */
    /* root or alias with variables: evaluated for each request
     * (fy_http_static_base), relative to prefix unless it starts with
     * "/"; root and alias then hold the text, for the tests of which
     * one is set.  NULL: none. */
    struct fy_http_cv_s *cv;
    const char  *prefix;
    /* alias in a regex location: the file is the alias alone, the path
     * not added (nginx: its captures say where the path goes) */
    unsigned     alias_whole:1;
    fy_array_t  *index;       /* fy_str_t; NULL: unset ("index.html") */
    fy_array_t  *types;       /* fy_http_type_t; NULL: unset */
    /* autoindex* (fy_http_autoindex.c); FY_CONF_UNSET_INT: unset */
    int          autoindex;
    int          autoindex_exact_size;
    int          autoindex_localtime;
    int          autoindex_format;       /* FY_AUTOINDEX_* */
} fy_http_static_conf_t;

#define FY_AUTOINDEX_HTML   0
#define FY_AUTOINDEX_XML    1
#define FY_AUTOINDEX_JSON   2
#define FY_AUTOINDEX_JSONP  3

/* The level's static settings, made (all unset) on first use; NULL: no
 * memory. */
fy_http_static_conf_t *fy_http_static_conf(fy_conf_t *cf,
                                           fy_http_loc_conf_t *lcf);

/* fy_http_autoindex.c: the directives, and the listing of the directory
 * open as fd for r (a directory URI with no index file, autoindex on):
 * sends the response. */
void fy_http_autoindex(fy_http_request_t *r, int fd);

/* After the other fields of conf are merged from prev: inherit root,
 * index and types, and make conf a file-serving location when it has a
 * root or alias and no return, proxy_pass or other handler. */
void fy_http_static_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf);

/* try_files: would the static handler of r's location find, for the
 * request path `path`, a regular file (dir 0) or a directory (dir 1)?
 * Looked up as the handler does: under the root or alias, segment by
 * segment, no links, no "." or ".." segment, no NUL.  1 or 0. */
int fy_http_static_exists(fy_http_request_t *r, const fy_str_t *path,
                          int dir);

/* Range header values (RFC 9110 14.2), read as nginx's range filter
 * reads them (fy_http_range.c): */
#define FY_HTTP_RANGE_OK             0   /* serve the range(s) */
#define FY_HTTP_RANGE_IGNORE         1   /* not "bytes=", too many
                                            ranges, overlaps: all, 200 */
#define FY_HTTP_RANGE_UNSATISFIABLE  2   /* none in the body, or
                                            malformed: 416 */

/* fy_http_range.c: one range of a Range value, inclusive */
typedef struct {
    off_t  start;
    off_t  end;
} fy_http_range_t;

/* A Range value with a list of ranges: those that lie in the `size`
 * bytes, in the order asked, overlapping or not, in out[] (out NULL:
 * only counted, so the caller can allocate out for *n and call again)
 * and their count in *n: FY_HTTP_RANGE_OK.  None of them satisfiable,
 * or the value malformed anywhere: FY_HTTP_RANGE_UNSATISFIABLE.
 * FY_HTTP_RANGE_IGNORE (the whole body, 200): not "bytes=...", more
 * than max satisfiable ranges (max_ranges; 1 where nginx serves a
 * single range), more bytes in all than the whole, a range from 0 of
 * an empty body (nginx). */
int fy_http_parse_ranges(const u_char *s, size_t len, off_t size, int max,
                         fy_http_range_t *out, int *n);

/* The same with max 1: the one range in [*start, *end] when OK. */
int fy_http_parse_range(const u_char *s, size_t len, off_t size,
                        off_t *start, off_t *end);

/* A multipart/byteranges body being made: each range's part head (the
 * boundary line, Content-Type, Content-Range, the empty line), the
 * closing boundary, the whole body's length. */
typedef struct {
    fy_http_range_t  *ranges;
    fy_str_t         *heads;
    int               n;
    int               next;      /* the part the sender is at */
    fy_str_t          tail;      /* CRLF "--" boundary "--" CRLF */
    off_t             len;       /* Content-Length of it all */
    off_t             base;      /* where byte 0 is in the file (a cache
                                    entry's body_start), else 0 */
    fy_str_t          type;      /* a cache entry's stored type */
    char              boundary[24];
} fy_http_multipart_t;

/* The parts of ranges[0..n) of a representation of size bytes and type
 * (its parts' Content-Type; empty: none), from pool, into mp, with a
 * new boundary of digits.  FY_ERROR: out of memory. */
int fy_http_range_multipart(fy_pool_t *pool, fy_http_range_t *ranges, int n,
                            const fy_str_t *type, off_t size,
                            fy_http_multipart_t *mp);

/* Whether lcf's content handler is the file handler (dav_methods only
 * apply there). */
int fy_http_static_serves(const fy_http_loc_conf_t *lcf);

/* The directory r's files come from for path (the root, or the alias;
 * evaluated for r when it has variables), and in *p where the part of
 * path looked up inside it starts; *written (may be NULL) the root or
 * alias as written, for $document_root.  NULL: neither, or a value
 * with variables that came out unusable (logged) or no memory. */
/* Is a path made from variables not to be used: empty, with a NUL, or
 * with a ".." segment (a client's value taking it out of its tree)? */
int fy_http_path_unsafe(const u_char *v, size_t len);
const char *fy_http_static_base(fy_http_request_t *r, fy_http_loc_conf_t *lcf,
                                const fy_str_t *path, const u_char **p,
                                const char **written);

/* fy_http_random_index.c: a file of the directory open as fd picked at
 * random for r (random_index on), its name in *pick: FY_OK, FY_DECLINED
 * (none), FY_ERROR (logged). */
int fy_http_random_index(fy_http_request_t *r, int fd, fy_str_t *pick);

/* flv and mp4: the kind of media a location serves (lcf->media) */
#define FY_HTTP_MEDIA_FLV  1
#define FY_HTTP_MEDIA_MP4  2

struct fy_http_static_file_s;

/* fy_http_flv.c, fy_http_mp4.c: for r (a 200 of the whole regular file
 * open as f, size st_size, arguments in r->args), the body the media's
 * arguments ask for: f->prefix (prefix_len bytes from the request pool,
 * maybe none) then the file's bytes [*start, *end]; FY_OK.  FY_DECLINED:
 * the file as it is.  FY_ERROR: out of memory.  Else the status of the
 * error to answer with (400, 500), logged. */
int fy_http_flv_body(fy_http_request_t *r, struct fy_http_static_file_s *f,
                     off_t size, off_t *start, off_t *end);
int fy_http_mp4_body(fy_http_request_t *r, struct fy_http_static_file_s *f,
                     off_t size, off_t *start, off_t *end);

/* ---- private to fy_http_static.c and fy_http_static_send.c ---- */

/* The file of a request being sent: r->file. */
typedef struct fy_http_static_file_s {
    int    fd;          /* -1 once closed */
    int    dir;         /* the file's directory while looking, or -1 */
    off_t  pos;         /* next byte to send */
    off_t  end;         /* one past the last byte to send */
    unsigned  yielded:1;   /* the write timer is the 1 ms pause */
    unsigned  gz_how:2;    /* FY_HTTP_GZIP_*: the decision, for headers */
    unsigned  trailers:1;  /* add_trailer: one chunk, then the last */
    unsigned  chunk_data:1;   /* ... and that chunk has bytes */
    unsigned  gunzip:1;    /* gunzip: a gzip body sent decompressed
                              (f->gz decompresses; none for a HEAD) */
    fy_http_gzip_t *gz;    /* compressing on the way, or NULL */
    u_char   *in;          /* its (or sub's) read buffer */
    /* sub_filter: substituting on the way (before gz), or NULL */
    fy_http_sub_stream_t *sub;
    unsigned  sub_hdr:1;   /* sub_filter applies: the header changes */
    unsigned  sub_last:1;  /* the last chunk was queued */
    char      chunk[24];   /* "%zx\r\n" of sub's output */
    /* read, not sent by sendfile() (fy_http_static_read.c) */
    unsigned  direct:1;    /* O_DIRECT (directio) */
    u_char   *rbuf;        /* output_buffers, aligned for O_DIRECT */
    size_t    rsize;
    size_t    align;       /* directio_alignment with O_DIRECT, else 1 */
    /* flv, mp4: the body is made (no filter; a Range counted in it);
     * prefix: bytes sent before the file's */
    unsigned  media:1;
    u_char   *prefix;
    size_t    prefix_len;
    /* several ranges: multipart/byteranges (fy_http_range.c); the
     * sender moves from part to part, the heads and the closing
     * boundary written from memory, NULL once the tail is queued */
    fy_http_multipart_t *mp;
    /* charset: a single-byte recoding alone, which moves no byte: the
     * file is sent as itself (ranges too), read into rbuf, never by
     * sendfile(), and its bytes recoded there through this table */
    const u_char *bytemap;
} fy_http_static_file_t;

/* Before the body of r->file is sent: read_ahead's advice; directio's
 * O_DIRECT on a file big enough; the read buffer where the body is read
 * (TLS, sendfile off, O_DIRECT).  FY_ERROR: out of memory. */
int fy_http_static_read_begin(fy_http_request_t *r, fy_http_static_file_t *f);

/* Read at most max bytes of the file at f->pos into f->rbuf: *data
 * points at them.  Bytes read (f->pos unchanged), 0 at an unexpected
 * end of the file, -1 with errno. */
ssize_t fy_http_static_read(fy_http_static_file_t *f, off_t max,
                            u_char **data);

/* sub_filter and gzip set up on f for a whole file (static files, proxy
 * cache HITs); FY_ERROR: out of memory. */
int fy_http_static_filters(fy_http_request_t *r, fy_http_static_file_t *f,
                           const fy_str_t *type, off_t size,
                           unsigned gzflags);

/* After fy_http_static_filters: a single-byte charset recoding alone
 * (no gzip after it) becomes f->bytemap, the file (a static one or a
 * cache entry) then sent as an unfiltered one, ranges and all, its bytes
 * recoded as they are read. */
void fy_http_static_bytemap(fy_http_request_t *r, fy_http_static_file_t *f,
                            const fy_str_t *type);

/* gunzip set up on f (the .gz of gzip_static always, a cache entry
 * stored with "Content-Encoding: gzip") for a client that does not take
 * gzip: f->gunzip, and the decompressor unless r is a HEAD; FY_ERROR:
 * out of memory. */
int fy_http_static_gunzip(fy_http_request_t *r, fy_http_static_file_t *f);

/* hdr (n bytes, queued in hc->out) sent, then the body from r->file;
 * hdr NULL: the body alone (a later slice's, fy_http_slice.c) */
void fy_http_static_start(fy_http_request_t *r, char *hdr, size_t n);

/* Close what f still holds (the request pool's cleanup, and when the
 * body is sent). */
void fy_http_static_file_close(void *data);

/* fy_http_static_send.c: send the header for the open file f (stat st,
 * type) and then the body, as the conditional and Range headers ask. */
void fy_http_static_send(fy_http_request_t *r, fy_http_static_file_t *f,
                         const struct stat *st, const fy_str_t *type);

/* Whether the If-None-Match / If-Match value v names etag (a
 * NUL-terminated entity tag; weak comparison unless strong). */
int fy_http_static_etag_match(const fy_str_t *v, const char *etag,
                              int strong);

#endif /* FY_HTTP_STATIC_H */
