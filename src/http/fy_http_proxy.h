/*
 * fy_http_proxy.h -- what the files of the proxy module share: the
 * per-request state and the steps one file hands to another.
 *
 *   fy_http_proxy.c           the request's life: pick a server,
 *                             connect, retry, fail
 *   fy_http_proxy_request.c   build the request and send it up, with
 *                             its body
 *   fy_http_proxy_response.c  read the response header, relay the body
 *
 * Private to src/http/fy_http_proxy*.c.
 */
#ifndef FY_HTTP_PROXY_H
#define FY_HTTP_PROXY_H

#include "fy_core.h"
#include "fy_http.h"

enum {
    FY_PROXY_BODY_NONE = 0,
    FY_PROXY_BODY_LENGTH,
    FY_PROXY_BODY_CHUNKED,
    FY_PROXY_BODY_CLOSE
};

enum {
    FY_PROXY_OUT_RAW = 0,      /* bytes as they came */
    FY_PROXY_OUT_CHUNK,        /* wrap each piece in a chunk */
    FY_PROXY_OUT_DECHUNK       /* send only chunk data */
};

#define FY_PROXY_BODY_BUFFER  16384

struct fy_http_proxy_s {
    fy_http_request_t        *r;
    fy_http_upstream_t       *u;
    fy_http_upstream_peer_t  *peer;
    fy_conn_t                *uc;          /* upstream connection */
    unsigned                  tries;       /* peers tried so far */
    uint8_t                  *tried;       /* per peer: 1 once tried */
    uint64_t                  first_start; /* fy_current_msec, first try */
    const u_char             *key;         /* hash / ip_hash key */
    size_t                    key_len;
    fy_array_t                states;      /* fy_proxy_state_t, per try */

    fy_buf_t                  req;         /* request header to send */
    fy_buf_t                  body;        /* client body on its way up */
    fy_buf_t                  buf;         /* response on its way down */

    fy_http_parser_t          parser;
    fy_http_chunked_t         chunked;
    int                       body_type;   /* FY_PROXY_BODY_* */
    int                       out;         /* FY_PROXY_OUT_* */
    uint64_t                  rest;        /* LENGTH: bytes still due */
    char                      chunk_hdr[24];
    int                       status;
    uint64_t                  start;       /* fy_current_msec at connect */
    fy_shm_peer_t            *stats;       /* the peer's shared counters
                                              while it counts as active */
    fy_array_t                headers;     /* response header fields */
    struct iovec              hdr;         /* client's response header, not
                                              written yet: it leaves with
                                              the first piece of body */
    unsigned                  status_done:1;
    unsigned                  body_started:1;  /* body bytes consumed */
    unsigned                  reused:1;        /* uc came from the cache */
    unsigned                  framed:1;        /* the response's end is
                                                  known without a close */
    unsigned                  upstream_close:1;/* it said Connection: close */
    unsigned                  peer_index;      /* p->peer in u->peers */
    unsigned                  uc_requests;     /* carried by uc before */
    unsigned                  body_keep:1;     /* the whole body fits in
                                                  p->body: kept for retries */
    unsigned                  request_sent:1;  /* bytes went upstream */
    struct fy_http_gzip_s    *gzip;        /* compressing the body, or NULL
                                              (fy_http_gzip_stream.c) */
    unsigned                  yielded:1;   /* gzip: the upstream read timer
                                              is a pause for the others */
};

/* One try, for $upstream_addr and $upstream_status. */
typedef struct {
    fy_str_t   addr;       /* server, or the upstream name if none */
    int        status;     /* 0 while waiting */
} fy_proxy_state_t;

/* ", client: 1.2.3.4, request: "GET / HTTP/1.1", upstream: "..."" */
#define FY_PROXY_CTX_FMT  ", client: %s, request: \"%.*s\", upstream: " \
                          "\"http://%.*s%.*s\""
#define FY_PROXY_CTX(p)   (p)->r->hc->addr_text,                          \
                          (int) (p)->r->request_line.len,                 \
                          (char *) (p)->r->request_line.data,             \
                          (int) ((p)->peer ? (p)->peer->name.len : 0),    \
                          (p)->peer ? (char *) (p)->peer->name.data : "", \
                          (int) (p)->r->uri.len, (char *) (p)->r->uri.data

int fy_proxy_err_level(fy_http_proxy_t *p);
void fy_proxy_close_upstream(fy_http_proxy_t *p);
void fy_proxy_fail(fy_http_proxy_t *p, int status);
int fy_proxy_can_retry(fy_http_proxy_t *p, unsigned ft);
fy_proxy_state_t *fy_proxy_state(fy_http_proxy_t *p);
void fy_proxy_next(fy_http_proxy_t *p, unsigned ft);
int fy_proxy_skip_header(const fy_str_t *name);
int fy_proxy_create_request(fy_http_proxy_t *p);
void fy_proxy_send_handler(fy_event_t *ev);
void fy_proxy_send_request(fy_http_proxy_t *p);
void fy_proxy_check_client(fy_event_t *rev);
void fy_proxy_read_header(fy_event_t *rev);

#endif /* FY_HTTP_PROXY_H */
