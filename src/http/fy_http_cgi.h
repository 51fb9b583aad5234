/*
 * fy_http_cgi.h -- uwsgi_pass and scgi_pass, and what they share with
 * fastcgi_pass (fy_http_fastcgi.h): the CGI-style request variables and
 * the CGI response header.
 *
 *   fy_http_cgi_proto.c   the uwsgi packet and the SCGI netstring
 *                         encoders (no I/O: unit tested in
 *                         t/unit/test_cgi_proto.c)
 *   fy_http_cgi.c         the variables of a request (the *_param lines
 *                         evaluated, the request headers as HTTP_*),
 *                         for all three; the uwsgi and SCGI requests
 *                         built from them; a response header's status
 *                         from a CGI Status field, or its status line
 *   fy_http_cgi_conf.c    the uwsgi_* and scgi_* directives
 *
 * uwsgi and SCGI requests are a block of variables, then the body as
 * it is; the response is HTTP's (status line, header, body) or CGI's
 * (a Status field instead of the status line), and ends with the
 * connection.  So a uwsgi_pass or scgi_pass request runs on the proxy
 * code (fy_http_proxy*.c) with only its request header built here and
 * p->cgi set: the body goes up as to an HTTP server, the response is
 * read as from one.
 */
#ifndef FY_HTTP_CGI_H
#define FY_HTTP_CGI_H

#include "fy_core.h"
#include "fy_array.h"
#include "fy_buf.h"

/* ---- the protocols (fy_http_cgi_proto.c) ---- */

/* uwsgi: a 4-byte header (modifier1, the size of the variables as a
 * 16-bit little-endian number, modifier2), then each variable as a
 * 16-bit little-endian length, the name, another length, the value. */
#define FY_UWSGI_HEADER_LEN  4
#define FY_UWSGI_MAX_SIZE    65535      /* of the variables, and of each
                                           name and value */

void fy_uwsgi_header(u_char *h, unsigned modifier1, size_t size,
                     unsigned modifier2);
/* The bytes a variable takes in the packet. */
size_t fy_uwsgi_var_len(size_t nlen, size_t vlen);
/* A 16-bit length at p; returns the end. */
u_char *fy_uwsgi_put_len(u_char *p, size_t len);
/* The variable at p; returns the end. */
u_char *fy_uwsgi_var_put(u_char *p, const u_char *name, size_t nlen,
                         const u_char *value, size_t vlen);

/* SCGI: a netstring ("LEN:" the bytes ",") of NUL-terminated names and
 * values, CONTENT_LENGTH first. */
/* The bytes a variable takes in the netstring. */
size_t fy_scgi_var_len(size_t nlen, size_t vlen);
/* The netstring's bytes around len bytes of variables. */
size_t fy_scgi_netstring_len(size_t len);
/* "LEN:" at p; returns the end. */
u_char *fy_scgi_netstring_start(u_char *p, size_t len);
/* The variable at p; returns the end. */
u_char *fy_scgi_var_put(u_char *p, const u_char *name, size_t nlen,
                        const u_char *value, size_t vlen);

/* ---- the request flow (fy_http_cgi.c) ---- */

struct fy_http_proxy_s;
struct fy_http_request_s;

/* One variable of a request: a *_param line's name and value, or a
 * request header (written HTTP_NAME: upper case, '-' as '_'). */
typedef struct {
    fy_str_t        name;
    fy_str_t        value;
    unsigned        header:1;
} fy_http_cgi_var_t;

/* The variables of p's request, in *vars, their count returned: the
 * params (those with if_not_empty left out when empty, an empty
 * CONTENT_LENGTH given the length of a chunked body read whole), then
 * each request header not already sent by a param named HTTP_NAME
 * (nginx).  -1: out of memory. */
ssize_t fy_http_cgi_vars(struct fy_http_proxy_s *p, fy_array_t *params,
                         fy_http_cgi_var_t **vars);
/* The length of v's name as sent, and the name written at q (returns
 * the end). */
#define fy_http_cgi_name_len(v)  ((v)->name.len + ((v)->header ? 5 : 0))
u_char *fy_http_cgi_name_put(u_char *q, const fy_http_cgi_var_t *v);

/* uwsgi_pass, scgi_pass: the request's header into p->req (FY_OK /
 * FY_ERROR: logged when the uwsgi packet is too big). */
int  fy_http_cgi_create_request(struct fy_http_proxy_s *p);
/* uwsgi_pass, scgi_pass: does the response in b start with an HTTP
 * status line?  FY_OK: it does; FY_DECLINED: a CGI header; FY_AGAIN:
 * too few bytes yet to know. */
int  fy_http_cgi_status_line(fy_buf_t *b);
/* A CGI header is parsed: the status from Status (or 302 for Location,
 * else 200), the Status field dropped.  FY_OK / FY_ERROR (an invalid
 * Status, logged). */
int  fy_http_cgi_status(struct fy_http_proxy_s *p);

#endif /* FY_HTTP_CGI_H */
