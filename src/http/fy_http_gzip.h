/*
 * fy_http_gzip.h -- gzip compression of responses (nginx's gzip and
 * gzip_static): the directives (fy_http_gzip_conf.c), the decision
 * whether a response is compressed and the Accept-Encoding parser
 * (fy_http_gzip.c), and a deflate stream that turns body pieces into
 * iovecs for the client (fy_http_gzip_stream.c).
 *
 * Users: fy_http_proxy_relay.c (upstream bodies, streamed),
 * fy_http_static.c (files, read in pieces; gzip_static), and
 * fy_http_response.c (small complete bodies: return, error pages).
 */
#ifndef FY_HTTP_GZIP_H
#define FY_HTTP_GZIP_H

#include "fy_core.h"
#include "fy_array.h"
#include "fy_conf_file.h"
#include "fy_http_types.h"
#include <sys/uio.h>

struct fy_http_request_s;

/* gzip_proxied */
#define FY_HTTP_GZIP_PROXIED_OFF        0x0001
#define FY_HTTP_GZIP_PROXIED_EXPIRED    0x0002
#define FY_HTTP_GZIP_PROXIED_NO_CACHE   0x0004
#define FY_HTTP_GZIP_PROXIED_NO_STORE   0x0008
#define FY_HTTP_GZIP_PROXIED_PRIVATE    0x0010
#define FY_HTTP_GZIP_PROXIED_NO_LM      0x0020
#define FY_HTTP_GZIP_PROXIED_NO_ETAG    0x0040
#define FY_HTTP_GZIP_PROXIED_AUTH       0x0080
#define FY_HTTP_GZIP_PROXIED_ANY        0x0100

/* gzip_static */
#define FY_HTTP_GZIP_STATIC_OFF         0
#define FY_HTTP_GZIP_STATIC_ON          1
#define FY_HTTP_GZIP_STATIC_ALWAYS      2

/* gzip_buffers, gunzip_buffers: NUMBER SIZE (num FY_CONF_UNSET_INT:
 * unset); one output buffer of num * size bytes is used */
typedef struct {
    int          num;
    size_t       size;
} fy_http_gzip_bufs_t;

/* The gzip (and gunzip) directives of one level, held in fy_http_loc_conf_t (so the
 * generic setters reach them by offset); unset fields take the
 * parent's value, then the default, in fy_http_gzip_merge_conf. */
typedef struct {
    int          enable;        /* gzip on|off */
    int          static_mode;   /* gzip_static: FY_HTTP_GZIP_STATIC_* */
    fy_http_types_t  types;     /* gzip_types; unset: text/html only */
    size_t       min_length;    /* gzip_min_length */
    int          level;         /* gzip_comp_level 1..9 */
    fy_http_gzip_bufs_t  bufs;  /* gzip_buffers */
    int          http_version;  /* gzip_http_version: 1000 or 1001 */
    unsigned     proxied;       /* gzip_proxied: mask, 0: unset */
    int          vary;          /* gzip_vary */
    fy_array_t  *disable;       /* gzip_disable: fy_http_regex_t *;
                                   NULL: unset */
    unsigned     disable_msie6; /* gzip_disable msie6 */
    size_t       window;        /* gzip_window: LZ77 window, bytes */
    size_t       hash;          /* gzip_hash: hash table, bytes */
    int          gunzip;        /* gunzip on|off (fy_http_gunzip.c) */
    fy_http_gzip_bufs_t  gunzip_bufs;  /* gunzip_buffers */
} fy_http_gzip_conf_t;

void fy_http_gzip_init_conf(fy_http_gzip_conf_t *conf);
/* gzip_buffers, gunzip_buffers: the fy_http_gzip_bufs_t at cmd->offset
 * in the location's conf. */
const char *fy_http_gzip_set_buffers(fy_conf_t *cf, const fy_command_t *cmd,
                                     void *conf);
/* conf from prev (already merged), or the defaults when prev is conf. */
void fy_http_gzip_merge_conf(const fy_http_gzip_conf_t *prev,
                             fy_http_gzip_conf_t *conf);

/*
 * Accept-Encoding (RFC 9110 12.5.3): the weight the value gives gzip,
 * 0 to 1000 (q=0.5 is 500).  An explicit "gzip" (or "x-gzip") wins over
 * "*"; several explicit ones: the lowest.  0 when gzip is not acceptable
 * and whenever the value is malformed anywhere (a bad token, a q that
 * is not a qvalue, another parameter): never guess "yes".
 */
unsigned fy_http_gzip_accept(const u_char *value, size_t len);

/* What to do with a response (fy_http_gzip_decide). */
#define FY_HTTP_GZIP_NO     0   /* not a candidate: as is */
#define FY_HTTP_GZIP_VARY   1   /* a candidate this request cannot take:
                                   as is, with Vary when gzip_vary on */
#define FY_HTTP_GZIP_YES    2   /* compress (and Vary when gzip_vary) */

/* flags: what the response has that `headers` does not show */
#define FY_HTTP_GZIP_HAS_LM    0x01   /* Last-Modified */
#define FY_HTTP_GZIP_HAS_ETAG  0x02   /* ETag */

/*
 * Decide for a response of r: status, Content-Type `type` (NULL: taken
 * from headers), body length (-1: unknown), and the response header
 * fields `headers` (fy_http_header_t, may be NULL) for Content-Type,
 * Content-Encoding, and gzip_proxied's Expires, Date, Cache-Control,
 * Last-Modified and ETag.  As nginx: only 200, 403 and 404, not HEAD,
 * not already encoded, a gzip_types type, a known length of at least
 * gzip_min_length; then the request: Accept-Encoding, gzip_http_version,
 * gzip_proxied (requests with Via), gzip_disable.
 */
int fy_http_gzip_decide(struct fy_http_request_s *r, int status,
                        const fy_str_t *type, int64_t length,
                        const fy_array_t *headers, unsigned flags);

/* May the request have a precompressed file (gzip_static on): the
 * request half of the decision above.  1 or 0. */
int fy_http_gzip_request_ok(struct fy_http_request_s *r,
                            const fy_array_t *headers, unsigned flags);

/* The lines a compressed response adds: "Content-Encoding: gzip" and,
 * with gzip_vary, "Vary: Accept-Encoding" (decision FY_HTTP_GZIP_YES);
 * only the Vary line for FY_HTTP_GZIP_VARY; "" for FY_HTTP_GZIP_NO. */
const char *fy_http_gzip_header_lines(struct fy_http_request_s *r,
                                      int decision);

/* An ETag value made weak (W/"x"), in r's pool; a weak one as is. */
fy_str_t fy_http_gzip_weak_etag(struct fy_http_request_s *r,
                                const fy_str_t *etag);


/* ---- the deflate stream ---- */

typedef struct fy_http_gzip_s  fy_http_gzip_t;

/*
 * A compressor for one response body of `length` bytes (-1: unknown;
 * a small known length gets a smaller window and hash, as nginx).  All
 * of its memory comes from r's pool and a pool cleanup ends the stream,
 * so a request that ends halfway (the client went away) leaves nothing
 * behind.  Output is chunked for HTTP/1.1 clients, plain (the caller
 * closes the connection at the end) for HTTP/1.0.  NULL: no memory.
 */
fy_http_gzip_t *fy_http_gzip_start(struct fy_http_request_s *r,
                                   int64_t length);
/* Give the next piece of body; the bytes must stay put until
 * fy_http_gzip_wants_input says they are used. */
void fy_http_gzip_input(fy_http_gzip_t *gz, const u_char *data, size_t len);
/* 1 when everything given is compressed and no flush is under way. */
int  fy_http_gzip_wants_input(const fy_http_gzip_t *gz);
/* Input was compressed that has not been flushed to the client. */
int  fy_http_gzip_holds(const fy_http_gzip_t *gz);
/* Send everything compressed so far (the upstream has paused). */
void fy_http_gzip_flush(fy_http_gzip_t *gz);
/* The body is complete: finish the stream (gzip trailer, last chunk). */
void fy_http_gzip_finish(fy_http_gzip_t *gz);
/* The whole stream has been handed out by fy_http_gzip_deflate. */
int  fy_http_gzip_done(const fy_http_gzip_t *gz);
/*
 * Compress what was given.  When output must go (the output buffer is
 * full, or a flush or the finish is complete) fills iov with at most
 * FY_HTTP_GZIP_IOVS pieces and returns their number; they point into
 * gz and stay valid until the next call.  0: nothing to send yet (give
 * more input, or the stream is done); FY_ERROR: zlib failed (logged).
 */
#define FY_HTTP_GZIP_IOVS  3
int  fy_http_gzip_deflate(fy_http_gzip_t *gz, struct iovec *iov);

/*
 * A decompressor (gunzip) for one response body of gzip members, with
 * an output buffer of `size` bytes: the same calls as the compressor
 * (input, wants_input, holds, flush, finish, done, and
 * fy_http_gzip_deflate giving the decompressed output, chunked for
 * HTTP/1.1 clients).  FY_ERROR from fy_http_gzip_deflate: the body is
 * not valid gzip or ends inside a member (logged).  NULL: no memory.
 */
fy_http_gzip_t *fy_http_gunzip_stream(struct fy_http_request_s *r,
                                      size_t size);

/* ---- gunzip (fy_http_gunzip.c) ---- */

/*
 * What gunzip does with a response with these header fields
 * (fy_http_header_t; or with Content-Encoding `ce` when headers is
 * NULL): FY_HTTP_GZIP_NO when gunzip is off or the response is not
 * "Content-Encoding: gzip"; FY_HTTP_GZIP_VARY when the request may have
 * gzip (fy_http_gzip_request_ok): as it is; FY_HTTP_GZIP_YES: to be
 * decompressed.  Either of the last two gets Vary with gzip_vary.
 */
int fy_http_gunzip_wanted(struct fy_http_request_s *r,
                          const fy_array_t *headers, const fy_str_t *ce,
                          unsigned flags);
/* A decompressor with gunzip_buffers' output buffer.  NULL: no memory. */
fy_http_gzip_t *fy_http_gunzip_start(struct fy_http_request_s *r);

/* Compress a whole small body into r's pool (one Z_FINISH).  FY_OK and
 * *out, *out_len, or FY_ERROR. */
int  fy_http_gzip_buffer(struct fy_http_request_s *r, const u_char *in,
                         size_t len, u_char **out, size_t *out_len);

#endif /* FY_HTTP_GZIP_H */
