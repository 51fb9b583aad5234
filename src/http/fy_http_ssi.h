/*
 * fy_http_ssi.h -- nginx's ssi module: SSI commands in response bodies
 * (ssi, ssi_types, ssi_silent_errors, ssi_value_length,
 * ssi_last_modified, ssi_min_file_chunk).
 *
 * fy_http_ssi.c: the directives, the decision per response, and the
 * capture of a subrequest's body (fy_http_capture_t: what `include`
 * inserts).  fy_http_ssi_exec.c: a document processed -- the parser's
 * text copied, its commands run, includes as captured subrequests in
 * order; fy_http_ssi_cmd.c: echo, set, config, if and the variables.
 * fy_http_ssi_parse.c: the command parser.
 */
#ifndef FY_HTTP_SSI_H
#define FY_HTTP_SSI_H

#include "fy_core.h"
#include "fy_pool.h"
#include "fy_array.h"
#include "fy_http_types.h"

struct fy_http_request_s;
struct fy_http_static_file_s;

/* The ssi directives of one level (fy_http_loc_conf_t.ssi; NULL: none
 * at this level or above). */
typedef struct fy_http_ssi_conf_s {
    int          enable;            /* ssi: flag, default off */
    int          silent_errors;     /* flag, default off */
    int          last_modified;     /* flag, default off */
    size_t       value_len;         /* ssi_value_length, default 256 */
    size_t       min_file_chunk;    /* accepted, no effect */
    fy_http_types_t  types;         /* ssi_types */
} fy_http_ssi_conf_t;

/*
 * The most a document, an included body or a processed output may
 * hold: SSI output is assembled in memory before it is sent.
 */
#define FY_HTTP_SSI_MAX  (4 * 1024 * 1024)

/* A subrequest's body kept for its parent (r->capture): what the
 * response writers write instead of the client. */
typedef struct fy_http_capture_s {
    u_char    *data;
    size_t     len;
    size_t     size;
    size_t     max;
    fy_str_t   type;                /* its Content-Type */
    unsigned   too_big:1;           /* more than max came: cut */
} fy_http_capture_t;

/* Append len bytes (r's pool); past c->max only too_big is set.
 * FY_ERROR: no memory. */
int fy_http_capture_add(fy_pool_t *pool, fy_http_capture_t *c,
                        const u_char *data, size_t len);
/* Read size bytes of a file from offset from, whole, into pool memory:
 * FY_OK with *out, FY_DECLINED when bigger than FY_HTTP_SSI_MAX,
 * FY_ERROR (logged). */
int fy_http_ssi_read(struct fy_http_request_s *r, int fd, off_t from,
                     off_t size, u_char **out);
/* fy_http_proxy_ssi.c: the fields of an upstream's response (from the
 * upstream, or a cache entry's) that a processed page keeps, as
 * "Name: value\r\n" lines into out (r's pool): FY_OK or FY_ERROR */
int fy_http_ssi_pass_lines(struct fy_http_request_s *r, fy_array_t *headers,
                           fy_str_t *out);
/* A subrequest's static file, whole, into r->capture; f closed. */
void fy_http_capture_file(struct fy_http_request_s *r,
                          struct fy_http_static_file_s *f, off_t size,
                          const fy_str_t *type);

/* A static file that ssi applies to: read whole, processed, sent
 * (fy_http_send_response).  FY_DECLINED: ssi does not apply. */
int fy_http_ssi_static(struct fy_http_request_s *r, int fd, off_t size,
                       time_t mtime, const fy_str_t *type);

/* A body ferry makes itself (return, an error page) that ssi applies
 * to: processed, then answered by fy_http_send_response (r->ssi_done). */
void fy_http_ssi_response(struct fy_http_request_s *r, int status,
                          const fy_str_t *type, const u_char *body,
                          size_t len);

/* fy_http_ssi_exec.c: process data[0..len) for r (a client's request
 * or an include's subrequest); done gets the output (r's pool) or
 * NULL after a failure (logged).  done may run before this returns. */
typedef void (*fy_http_ssi_done_pt)(void *arg, const u_char *out,
                                    size_t len);
void fy_http_ssi_process(struct fy_http_request_s *r, const u_char *data,
                         size_t len, fy_http_ssi_done_pt done, void *arg);

/* Does ssi apply to a body of this type from r's location? */
int fy_http_ssi_applies(struct fy_http_request_s *r, const fy_str_t *type);

#endif /* FY_HTTP_SSI_H */
