/*
 * fy_http_sub.h -- nginx's sub module: strings replaced in response
 * bodies (sub_filter, sub_filter_once, sub_filter_types,
 * sub_filter_last_modified).  The directives and the per-request
 * decision are in fy_http_sub.c; the streaming matcher that turns body
 * pieces into substituted output is fy_http_sub_stream.c (no request
 * in it: t/unit/test_sub.c drives it directly).
 *
 * Users: fy_http_proxy_response.c / fy_http_proxy_relay.c (upstream
 * bodies), fy_http_static_send.c (files, read in pieces), and
 * fy_http_response.c (small complete bodies: return, error pages).
 * The output goes to the client chunked (or to the close for HTTP/1.0),
 * or into gzip's compressor when gzip is on: substitution comes first.
 */
#ifndef FY_HTTP_SUB_H
#define FY_HTTP_SUB_H

#include "fy_core.h"
#include "fy_array.h"
#include "fy_http_types.h"

struct fy_http_request_s;
struct fy_http_cv_s;

/* One sub_filter line: the string to find and its replacement, either
 * of which may hold variables. */
typedef struct {
    struct fy_http_cv_s  *find;     /* lowercase when without variables */
    struct fy_http_cv_s  *repl;
} fy_http_sub_line_t;

/* The sub_filter directives of one level (fy_http_loc_conf_t.sub;
 * NULL: none at this level or above). */
typedef struct fy_http_sub_conf_s {
    fy_array_t  *lines;             /* fy_http_sub_line_t; NULL: unset */
    fy_http_types_t  types;         /* sub_filter_types */
    int          once;              /* flag, default on */
    int          last_modified;     /* flag, default off */
} fy_http_sub_conf_t;


/* ---- the streaming matcher (fy_http_sub_stream.c) ---- */

/* One string to find (lowercase, not empty) and its replacement, as
 * evaluated for one response. */
typedef struct {
    fy_str_t  find;
    fy_str_t  repl;
} fy_http_sub_pair_t;

typedef struct fy_http_sub_stream_s  fy_http_sub_stream_t;

/*
 * A matcher for one body over npairs pairs (kept by the caller while
 * the stream lives), "once": each string is replaced at its first
 * occurrence only.  Matching ignores ASCII case.  At each position of
 * the body the pairs are tried in their order and the first that
 * matches wins (nginx's rule); the text after a replacement is searched
 * again from its end.  out_size: the output buffer.  Memory from pool.
 * NULL: no memory.
 */
fy_http_sub_stream_t *fy_http_sub_stream_create(fy_pool_t *pool,
    const fy_http_sub_pair_t *pairs, unsigned npairs, int once,
    size_t out_size);
/* The next piece of body; its bytes must stay put until
 * fy_http_sub_stream_wants_input says they are used. */
void fy_http_sub_stream_input(fy_http_sub_stream_t *s, const u_char *data,
                              size_t len);
/* 1: everything given is used (a partial match at its end is kept in
 * the stream) and nothing waits to be handed out. */
int  fy_http_sub_stream_wants_input(const fy_http_sub_stream_t *s);
/* The addition module: before (pre) is handed out ahead of the body,
 * after (post) behind it; both are kept by the caller while the stream
 * lives.  Called once, before any input. */
void fy_http_sub_stream_wrap(fy_http_sub_stream_t *s, const u_char *pre,
                             size_t pre_len, const u_char *post,
                             size_t post_len);
/* The charset module: the output is recoded with rc (charset_map's,
 * fy_http_charset.h) after the strings are replaced, as nginx's filter
 * order has it.  Called once, before any input.  FY_OK or FY_ERROR (no
 * memory). */
struct fy_http_recode_s;
int  fy_http_sub_stream_recode(fy_http_sub_stream_t *s, fy_pool_t *pool,
                               const struct fy_http_recode_s *rc);
/* The body is complete: a partial match kept is plain text after all. */
void fy_http_sub_stream_finish(fy_http_sub_stream_t *s);
/*
 * The next output: 1 with *data, *len (the stream's buffer, valid until
 * the next call; handed out when full or when the input is used up),
 * 0 when there is none (more input is wanted, or the stream is done).
 */
int  fy_http_sub_stream_out(fy_http_sub_stream_t *s, u_char **data,
                            size_t *len);
/* Finished and everything handed out. */
int  fy_http_sub_stream_done(const fy_http_sub_stream_t *s);
/* Replacements made so far. */
unsigned fy_http_sub_stream_count(const fy_http_sub_stream_t *s);


/* ---- per request (fy_http_sub.c) ---- */

/* May r's location filter a body: sub_filter, addition, recoding (a
 * few bit tests; fy_http_sub_begin decides per response). */
#define fy_http_sub_wanted(loc)                                            \
    ((loc)->sub || (loc)->addition || (loc)->charset_recodes)

/* Output buffer of a stream. */
#define FY_HTTP_SUB_OUT  8192

/*
 * Is r's response to be filtered: a location with sub_filter lines
 * (or the addition module's bodies for it, fy_http_addition_texts, or
 * a body the charset module recodes, fy_http_charset_recode), a
 * body (not HEAD, not 1xx, 204, 304, not an empty one: length 0), not
 * already encoded (a Content-Encoding in the response header fields
 * `headers`, fy_http_header_t, may be NULL: passed as it is), a
 * Content-Type (`type`, or NULL: from headers) among sub_filter_types.
 * FY_OK and *out (in r's pool), FY_DECLINED (as is), FY_ERROR (no
 * memory).  For a HEAD request too: its header changes as a GET's
 * would; the caller has no body to feed (and drops the stream).
 */
int fy_http_sub_begin(struct fy_http_request_s *r, int status,
                      const fy_str_t *type, const fy_array_t *headers,
                      int64_t length, fy_http_sub_stream_t **out);

/* A filtered response's header field `name`: 0 drop it (Content-Length,
 * Accept-Ranges; Last-Modified and ETag unless sub_filter_last_modified
 * on), 1 keep it, 2 keep it with its ETag made weak.  A single-byte
 * recoding alone keeps Accept-Ranges and the ETag as they are. */
#define FY_HTTP_SUB_DROP     0
#define FY_HTTP_SUB_KEEP     1
#define FY_HTTP_SUB_WEAKEN   2
int fy_http_sub_header(struct fy_http_request_s *r, const fy_str_t *name);
/* A filtered response keeps Last-Modified (and a weak ETag): only the
 * addition module's bodies were added, or sub_filter_last_modified on. */
#define fy_http_sub_keeps_validators(r)                                    \
    (!(r)->sub_strings || (r)->loc->sub->last_modified)
/* A filtered body of a known length keeps it: a single-byte recoding
 * alone, byte for byte (nginx keeps Content-Length then), sent with
 * that length, not chunked (unless gzip compresses it after). */
#define fy_http_sub_same_length(r)  ((r)->sub_same_len)
/* The filter is a single-byte recoding alone (charset_map between two
 * single-byte charsets, no sub_filter string, no addition body): each
 * byte stays at its offset, so a byte range of the output is the range
 * of the input recoded, and the response keeps Accept-Ranges and its
 * ETag as nginx's charset filter leaves them. */
#define fy_http_sub_bytewise(r)  ((r)->sub_bytewise)
/* Is a filtered body (not compressed after) sent chunked? */
#define fy_http_sub_chunked(r)                                             \
    (!(r)->sub_same_len && fy_http_chunked_out(r))

/* Run a whole small body through the filter into r's pool: FY_OK with
 * *out, *out_len, or FY_ERROR. */
int fy_http_sub_buffer(fy_http_sub_stream_t *s, struct fy_http_request_s *r,
                       const u_char *in, size_t len, u_char **out,
                       size_t *out_len);


#endif /* FY_HTTP_SUB_H */
