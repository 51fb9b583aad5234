/*
 * fy_http_parse.h -- resumable HTTP/1.x parsers (RFC 9112).
 *
 * Each parser is a byte-by-byte state machine over a saved state.
 * It consumes bytes from b->pos up to b->last and either finishes an
 * element (FY_OK, b->pos just past it) or runs out of bytes (FY_AGAIN,
 * b->pos == b->last, state saved).  Call it again when more bytes have
 * been appended to the SAME buffer: the pointers it saved (method_start,
 * uri_start, header_name_start, ...) point into that buffer, so the
 * bytes from the start of the current element on must not move.  Any
 * other result is a parse error and the message must be rejected.
 */
#ifndef FY_HTTP_PARSE_H
#define FY_HTTP_PARSE_H

#include "fy_core.h"

/* Methods */
enum {
    FY_HTTP_UNKNOWN = 0,  /* a valid token we do not know: still proxied */
    FY_HTTP_GET,
    FY_HTTP_HEAD,
    FY_HTTP_POST,
    FY_HTTP_PUT,
    FY_HTTP_DELETE,
    FY_HTTP_OPTIONS,
    FY_HTTP_PATCH,
    FY_HTTP_TRACE,
    FY_HTTP_CONNECT
};

/* Results besides FY_OK / FY_AGAIN / FY_DONE */
#define FY_HTTP_PARSE_HEADER_DONE       1   /* the empty line ending headers */
#define FY_HTTP_PARSE_INVALID_METHOD   10
#define FY_HTTP_PARSE_INVALID_REQUEST  11   /* bad request line / target */
#define FY_HTTP_PARSE_INVALID_VERSION  12   /* not HTTP/1.0 or 1.1 (505) */
#define FY_HTTP_PARSE_INVALID_HEADER   13
#define FY_HTTP_PARSE_INVALID_CHUNKED  14
#define FY_HTTP_PARSE_INVALID_STATUS   15

typedef struct {
    unsigned   state;

    /* request line; all pointers into the buffer */
    u_char    *request_start;    /* first byte of the method */
    u_char    *request_end;      /* the CR or LF ending the line */
    u_char    *method_end;       /* one past the method */
    u_char    *uri_start;        /* request-target */
    u_char    *uri_end;
    u_char    *args_start;       /* just after '?', NULL if none */
    /*
     * Added: the pieces of an absolute-form ("http://h:p/x") or
     * authority-form (CONNECT "h:p") target, NULL when absent.
     * host_start/host_end include the brackets of an IP literal;
     * port_start/port_end are the digits after ':' (may be empty in
     * absolute-form).  path_start is what a gateway forwards in
     * origin-form: == uri_start for origin- and asterisk-form, the
     * '/' or '?' after the authority in absolute-form (== uri_end if
     * the path is empty: send "/"), NULL for authority-form.
     */
    u_char    *host_start;
    u_char    *host_end;
    u_char    *port_start;
    u_char    *port_end;
    u_char    *path_start;
    int        method;           /* FY_HTTP_GET, ... */
    unsigned   http_major;
    unsigned   http_minor;

    /* status line (responses) */
    unsigned   status;           /* 100..999 */
    u_char    *status_text_start;
    u_char    *status_text_end;

    /* the header line just parsed (FY_OK from parse_header_line) */
    u_char    *header_name_start;
    u_char    *header_name_end;
    u_char    *header_start;     /* value, leading/trailing OWS removed */
    u_char    *header_end;

    /*
     * Header names as nginx's ignore_invalid_headers and
     * underscores_in_headers see them.  In: lenient_names (the request
     * side) accepts visible bytes that are not tchar in a name (they
     * only set name_invalid); otherwise such a name is a parse error,
     * as for upstream responses.  Out, with each FY_OK: name_underscore
     * (the name has '_'), name_invalid (it has a byte other than A-Z,
     * a-z, 0-9, '-' and '_').  CTL, SP, DEL in a name are always an
     * error.
     */
    unsigned   lenient_names:1;
    unsigned   name_underscore:1;
    unsigned   name_invalid:1;
} fy_http_parser_t;

void fy_http_parser_init(fy_http_parser_t *p);

/* "GET /path?x HTTP/1.1\r\n".  Leading empty lines are skipped (RFC
 * 9112 2.2).  A bare LF ends lines as well as CRLF.  HTTP/0.9 and
 * versions other than 1.x are rejected. */
int  fy_http_parse_request_line(fy_http_parser_t *p, fy_buf_t *b);

/* "HTTP/1.1 200 OK\r\n" from an upstream; in fy_http_parse_status.c. */
int  fy_http_parse_status_line(fy_http_parser_t *p, fy_buf_t *b);

/* One header field per FY_OK; FY_HTTP_PARSE_HEADER_DONE at the empty
 * line.  Rejects: no name, whitespace before the colon, obs-fold,
 * NUL/CR/LF or other control characters in the name or the value,
 * non-token characters in the name unless lenient_names is set.  In
 * fy_http_parse_header.c. */
int  fy_http_parse_header_line(fy_http_parser_t *p, fy_buf_t *b);

/* Chunked transfer coding (RFC 9112 7.1), in fy_http_chunked.c. */

/* Longer than any trailer name a strict parser refuses. */
#define FY_HTTP_CHUNK_NAME_MAX  20

typedef struct {
    unsigned   state;
    uint64_t   size;         /* data bytes left in the current chunk */
    u_char    *data;         /* FY_OK: a span of chunk data ... */
    size_t     len;          /* ... of this many bytes, inside b */
    /*
     * Added: bytes of the current chunk-size line (with extensions),
     * or of the trailer section, seen so far.  The parser keeps no
     * pointers, so a peer could otherwise stream endless metadata
     * through a buffer the caller keeps draining.
     */
    size_t     meta_len;
    /*
     * Set by a caller that passes the coded bytes on as they are (the
     * proxy, for an upstream's body): only what RFC 9112 7.1 allows,
     * CRLF and never a bare LF, and no trailer field a client could
     * take for the message's framing, connection or content format
     * (fy_http_chunked.c).  Otherwise a client reading the same bytes
     * strictly could end the message elsewhere than we did.  Left 0
     * where the body is decoded and framed anew (request bodies): there
     * a bare LF is read as CRLF, as nginx does, and trailers are
     * dropped anyway.
     */
    unsigned   strict;
    /* strict: the current trailer name in lower case, as far as it
     * fits; name_len stops one past the array (too long to refuse) */
    uint8_t    name_len;
    u_char     name[FY_HTTP_CHUNK_NAME_MAX];
    /* Set by a caller that wants the trailer section's bytes (the proxy
     * for $upstream_trailer_NAME): its field lines, CRLF after each,
     * are copied here as far as keep_size allows; NULL: none kept. */
    u_char    *keep;
    uint16_t   keep_len;
    uint16_t   keep_size;
} fy_http_chunked_t;

/* Limits on meta_len: one chunk-size line, the whole trailer section. */
#define FY_HTTP_CHUNK_LINE_MAX      4096
#define FY_HTTP_CHUNK_TRAILER_MAX  32768

/* Consume from b->pos.  Returns
 *   FY_OK     with c->data / c->len naming chunk data just consumed
 *   FY_AGAIN  all bytes consumed, need more
 *   FY_DONE   last-chunk and trailer section consumed; b->pos is just
 *             past the final CRLF (anything after it is the next message)
 *   FY_HTTP_PARSE_INVALID_CHUNKED  bad size (not hex, overflow), bad
 *             extension, missing CRLF after data, bad trailer; with
 *             c->strict also a bare LF outside chunk data and a refused
 *             trailer field.
 * A proxy that passes chunked bytes through unchanged simply forwards
 * everything the calls consumed; one that decodes forwards only the
 * data spans.  Memory: none; the state fits in the struct. */
int  fy_http_parse_chunked(fy_http_chunked_t *c, fy_buf_t *b);

#endif /* FY_HTTP_PARSE_H */
