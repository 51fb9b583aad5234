/*
 * fy_http_fastcgi.h -- fastcgi_pass: what the files of the FastCGI
 * module share.
 *
 *   fy_http_fastcgi_conf.c    the fastcgi_* directives, their merge,
 *                             and the settings a fastcgi_pass location
 *                             hands to the proxy code it runs on
 *   fy_http_fastcgi_proto.c   FastCGI 1.0 records: the encoder of
 *                             BEGIN_REQUEST, PARAMS and STDIN headers,
 *                             and the record parser (no I/O: unit
 *                             tested in t/unit/test_fastcgi.c)
 *   fy_http_fastcgi.c         one request: the params evaluated and
 *                             sent, the response's records decoded as
 *                             they are read, $fastcgi_script_name,
 *                             $fastcgi_path_info
 *
 * The params' evaluation and the CGI header's Status are shared with
 * uwsgi_pass and scgi_pass (fy_http_cgi.c), the fastcgi_* directives'
 * handlers in part too (fy_http_cgi_conf.c).
 *
 * A fastcgi_pass location is proxied by fy_http_proxy*.c (server pick,
 * connect, retries, timeouts, keepalive cache, the response relay); a
 * request there has p->fcgi set, and the proxy calls in here at the
 * few places where FastCGI differs from HTTP.
 */
#ifndef FY_HTTP_FASTCGI_H
#define FY_HTTP_FASTCGI_H

#include "fy_core.h"

/* ---- the protocol (fy_http_fastcgi_proto.c) ---- */

#define FY_FCGI_VERSION          1
#define FY_FCGI_BEGIN_REQUEST    1
#define FY_FCGI_ABORT_REQUEST    2
#define FY_FCGI_END_REQUEST      3
#define FY_FCGI_PARAMS           4
#define FY_FCGI_STDIN            5
#define FY_FCGI_STDOUT           6
#define FY_FCGI_STDERR           7
#define FY_FCGI_DATA             8
#define FY_FCGI_GET_VALUES       9
#define FY_FCGI_GET_VALUES_RESULT 10
#define FY_FCGI_UNKNOWN_TYPE     11

#define FY_FCGI_RESPONDER        1
#define FY_FCGI_KEEP_CONN        1

#define FY_FCGI_HEADER_LEN       8
#define FY_FCGI_MAX_CONTENT      65535
/* the request id ferry uses: one request per connection at a time */
#define FY_FCGI_REQUEST_ID       1

/* Write a record header for content_len bytes of content and padding
 * bytes of padding into h (FY_FCGI_HEADER_LEN bytes). */
void fy_fcgi_header(u_char *h, unsigned type, unsigned id,
                    size_t content_len, unsigned padding);
/* BEGIN_REQUEST (header and body, 16 bytes) for a responder. */
void fy_fcgi_begin_request(u_char *h, int keep_conn);
/* The bytes a name-value pair takes: 1 length byte for lengths up to
 * 127, else 4 (FastCGI 1.0, section 3.4). */
size_t fy_fcgi_pair_len(size_t nlen, size_t vlen);
/* Write only the two lengths of a pair at p; returns the end (where
 * the name goes). */
u_char *fy_fcgi_pair_lens(u_char *p, size_t nlen, size_t vlen);
/* Write the pair at p; returns the end. */
u_char *fy_fcgi_pair_put(u_char *p, const u_char *name, size_t nlen,
                         const u_char *value, size_t vlen);

/* The record parser: fed whatever bytes arrived, wherever records
 * split; keeps STDOUT content, hands STDERR content to a callback. */
typedef void (*fy_fcgi_stderr_pt)(void *ctx, const u_char *data, size_t len,
                                  int last);

typedef struct {
    unsigned            state;
    u_char              hdr[FY_FCGI_HEADER_LEN];
    unsigned            hdr_len;     /* bytes of hdr seen */
    unsigned            type;
    size_t              rest;        /* content still due */
    unsigned            padding;     /* padding still due */
    u_char              end[8];      /* END_REQUEST's body */
    unsigned            end_len;
    unsigned            ended:1;     /* END_REQUEST read */
    unsigned            extra:1;     /* bytes came after it */
    uint32_t            app_status;
    unsigned            protocol_status;
    fy_fcgi_stderr_pt   on_stderr;
    void               *ctx;
} fy_fcgi_parser_t;

void fy_fcgi_parser_init(fy_fcgi_parser_t *ps, fy_fcgi_stderr_pt on_stderr,
                         void *ctx);
/* Parse buf[0..n): the STDOUT content in it is moved to buf's start
 * (in order; it never overtakes what is parsed).  Returns the count of
 * STDOUT bytes kept, or -1 on a record that is not FastCGI 1.0 for our
 * request (garbled output).  Once ps->ended, bytes are only counted as
 * extra. */
ssize_t fy_fcgi_parse(fy_fcgi_parser_t *ps, u_char *buf, size_t n);

/* ---- the request flow (fy_http_fastcgi.c), for fy_http_proxy*.c ---- */

struct fy_http_proxy_s;
struct fy_http_request_s;

typedef struct fy_http_fastcgi_s {
    fy_fcgi_parser_t     parser;
    u_char               err[1024];    /* STDERR text being gathered */
    size_t               err_len;
    unsigned             caught:1;     /* STDERR held a
                                          fastcgi_catch_stderr string */
    u_char               stdin_end[FY_FCGI_HEADER_LEN];  /* empty STDIN */
} fy_http_fastcgi_t;

/* The proxy's request state gets FastCGI's (FY_OK / FY_ERROR). */
int  fy_http_fastcgi_init(struct fy_http_proxy_s *p);
/* BEGIN_REQUEST and PARAMS into p->req (FY_OK / FY_ERROR). */
int  fy_http_fastcgi_create_request(struct fy_http_proxy_s *p);
/* A new try: its response is parsed from its start. */
void fy_http_fastcgi_reset(struct fy_http_proxy_s *p);
/* END_REQUEST came, and nothing after it: the connection may serve
 * another request (fastcgi_keep_conn). */
int  fy_http_fastcgi_ended(struct fy_http_proxy_s *p);
/* recv() from the upstream through the record parser: what the proxy
 * sees is the CGI response, and 0 (as a close) once END_REQUEST came;
 * FY_AGAIN, or -1 with errno (a garbled record, or STDERR that
 * fastcgi_catch_stderr catches: EPROTO, and for the latter
 * p->fcgi->caught set). */
ssize_t fy_http_fastcgi_recv(struct fy_http_proxy_s *p, u_char *buf,
                             size_t size);
/* The STDIN record header for n bytes of body in h. */
void fy_http_fastcgi_stdin(u_char *h, size_t n);

/* $fastcgi_script_name, $fastcgi_path_info */
size_t fy_http_fastcgi_var_script_name(struct fy_http_request_s *r,
                                       u_char *buf, size_t size);
size_t fy_http_fastcgi_var_path_info(struct fy_http_request_s *r,
                                     u_char *buf, size_t size);

#endif /* FY_HTTP_FASTCGI_H */
