/*
 * fy_http_proxy.h -- what the files of the proxy module share: the
 * per-request state and the steps one file hands to another.
 *
 *   fy_http_proxy.c           the request's life: pick a server,
 *                             connect, retry, fail
 *   fy_http_proxy_request.c   build the request header
 *   fy_http_proxy_send.c      send it up, read the client's body and
 *                             send it up, wait for the response
 *   fy_http_proxy_response.c  read the response header, send the
 *                             client its header
 *   fy_http_proxy_relay.c     relay the response body (read-ahead,
 *                             gzip), release the upstream
 *   fy_http_proxy_ssl.c       proxy_pass https://: the proxy_ssl_*
 *                             directives, the TLS handshake after
 *                             connect
 *   fy_http_proxy_accel.c     X-Accel-Redirect, X-Accel-Buffering,
 *                             proxy_ignore_headers
 *   fy_http_proxy_conn.c      proxy_bind, proxy_socket_keepalive,
 *                             proxy_ignore_client_abort
 *   fy_http_proxy_resolve.c   proxy_pass with variables to an address
 *                             or a name resolved at run time
 *
 * fastcgi_pass runs on these files too: p->fcgi is set, and the
 * request, the body's framing and the reads are FastCGI's
 * (fy_http_fastcgi.h).  So do uwsgi_pass and scgi_pass: p->cgi is
 * set, and only the request header and the response's first line
 * differ from HTTP's (fy_http_cgi.h).  So does memcached_pass: p->memc
 * is set, and the request, the response's first line and its trailer
 * are memcached's (fy_http_memcached.c).
 *
 * Private to src/http/fy_http_proxy*.c.
 */
#ifndef FY_HTTP_PROXY_H
#define FY_HTTP_PROXY_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_fastcgi.h"
#include "fy_http_cgi.h"
#include "fy_http_memcached.h"

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
    unsigned                  kept;        /* states[0..kept) are from an
                                              earlier proxying (internal
                                              redirect) */

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
    uint64_t                  start;       /* fy_current_msec when the try
                                              started (before the pick) */
    fy_shm_peer_t            *stats;       /* the peer's shared counters
                                              while it counts as active */
    fy_array_t                headers;     /* response header fields */
    struct iovec              hdr;         /* client's response header, not
                                              written yet: it leaves with
                                              the first piece of body */
    unsigned                  status_done:1;
    unsigned                  cgi:1;           /* uwsgi_pass, scgi_pass */
    unsigned                  memc:1;          /* memcached_pass */
    unsigned                  cgi_status:1;    /* the header is CGI's: the
                                                  status is its Status
                                                  field's */
    unsigned                  reused:1;        /* uc came from the cache */
    unsigned                  framed:1;        /* the response's end is
                                                  known without a close */
    unsigned                  upstream_close:1;/* it said Connection: close */
    unsigned                  head_get:1;      /* proxy_cache_convert_head:
                                                  a HEAD asked up as a GET
                                                  for the cache; the body
                                                  is stored, not sent */
    unsigned                  peer_index;      /* p->peer in u->peers */
    unsigned                  uc_requests;     /* carried by uc before */
    unsigned                  request_sent:1;  /* bytes went upstream */
    unsigned                  request_done:1;  /* all of the request did */
    unsigned                  early:1;         /* the response header came
                                                  before that: the rest is
                                                  not sent, no retry */
    char                     *ssl_name;        /* https: the name for SNI
                                                  and verification */
    unsigned                  https:1;         /* TLS to the upstream: the
                                                  location's scheme, or
                                                  the one its proxy_pass
                                                  with variables gave */
    unsigned                  keep_conn:1;     /* the request let the
                                                  connection stay open */
    fy_str_t                  host;        /* $proxy_host */
    fy_str_t                  uri;         /* target from proxy_pass with
                                              variables, or empty */

    /* The request body on its way up (fy_http_proxy_send.c):
     * p->body holds decoded body bytes, [pos, last) not yet sent.  It
     * is only emptied for more once full and sent; until then it holds
     * every body byte read, and the request can be sent again. */
    int64_t                   content_length;  /* sent upstream, -1: none */
    unsigned                  body_lost:1;     /* p->body was emptied:
                                                  no more retries */
    unsigned                  body_done:1;     /* the client's body is
                                                  read to its end */
    unsigned                  body_chunked:1;  /* it goes up chunked */
    unsigned                  chunk_open:1;    /* a chunk has been started
                                                  (its CRLF is due) */
    unsigned                  last_chunk:1;    /* the last-chunk is queued */
    char                      frame[24];       /* CRLF, chunk-size line */
    uint8_t                   frame_pos, frame_len;
    uint8_t                   tail_pos, tail_len;  /* of the last-chunk */
    size_t                    chunk_rest;      /* data of this chunk to go */

    /* The response body on its way down (fy_http_proxy_relay.c):
     * with proxy_buffering, up to proxy_buffers buffers read ahead of
     * a slow client, oldest first from ahead[ahead_head]; p->buf is
     * the one being relayed.  The scan follows the upstream's framing
     * on every byte read, to know when the upstream is done. */
    fy_buf_t                 *ahead;
    unsigned                  ahead_head, ahead_count;
    uint64_t                  scan_rest;       /* LENGTH: bytes to read */
    fy_http_chunked_t         scan_chunked;
    unsigned                  up_done:1;       /* the response is read to
                                                  its end (or the close) */
    unsigned                  up_failed:1;     /* it ended too early */
    unsigned                  up_extra:1;      /* bytes after its end */
    unsigned                  buffering:1;     /* read ahead (see above) */
    unsigned                  finished:1;      /* fy_proxy_finish ran */
    unsigned                  trailers:1;      /* add_trailer: re-chunked,
                                                  whatever the framing */
    unsigned                  last_out:1;      /* our last chunk is queued */
    struct fy_http_gzip_s    *gzip;        /* compressing the body (or
                                              decompressing it: gunzip),
                                              or NULL
                                              (fy_http_gzip_stream.c) */
    /* sub_filter: substituting in the body, or NULL (fy_http_sub*.c);
     * its output goes to gzip when both are on */
    struct fy_http_sub_stream_s *sub;
    unsigned                  sub_last:1;  /* sub: the last chunk queued */
    unsigned                  gunzip:1;    /* gunzip: the header loses
                                              Content-Encoding (and p->gzip,
                                              if any, decompresses) */
    unsigned                  ssi_head:1;  /* ssi on a HEAD passed up as a
                                              HEAD: the header loses what
                                              nginx's ssi filter clears
                                              (fy_http_proxy_ssi.c) */
    unsigned                  yielded:1;   /* gzip: the upstream read timer
                                              is a pause for the others;
                                              proxy_limit_rate: a pause
                                              till more may be read */
    /* proxy_force_ranges (fy_http_proxy_range.c): ferry's ranges on
     * this response (range_allow), and the one being sent (ranged):
     * bytes still to drop, to send, the range's first byte, the
     * body's length */
    /* proxy_store: the file being written, NULL: none
     * (fy_http_proxy_store.c) */
    struct fy_http_store_req_s *store;
    unsigned                  range_allow:1;
    unsigned                  ranged:1;
    unsigned                  sliced:1;    /* slice: a slice's answer
                                              (fy_http_slice.c), ranged
                                              too */
    uint64_t                  range_skip, range_left;
    uint64_t                  range_first, range_total;
    /* proxy_limit_rate (fy_proxy_rate_recv): when the body's reads
     * began, and what they read */
    uint64_t                  rate_start;
    uint64_t                  rate_read;
    /* the response's X-Accel-Redirect and X-Accel-Buffering fields,
     * NULL: none (fy_http_proxy_accel.c) */
    fy_http_header_t         *xa_redirect;
    fy_http_header_t         *xa_buffering;
    fy_http_header_t         *xa_charset;       /* X-Accel-Charset */
    /* the fields of the response passed on, copied for
     * $upstream_http_ (fy_http_var_response.c), NULL: none */
    fy_http_header_t         *kept_fields;
    unsigned                  nkept_fields;
    /* fastcgi_pass: the FastCGI state (fy_http_fastcgi.c), else NULL */
    struct fy_http_fastcgi_s *fcgi;
    /* the proxy cache (fy_http_cache*.c), NULL: not used */
    struct fy_http_cache_s   *cache;
};

/* The proxy_ssl_* settings of a level (fy_http_proxy_ssl.c). */
typedef struct fy_http_proxy_ssl_conf_s {
    fy_tls_up_conf_t          tls;
    fy_http_cv_t             *name;        /* proxy_ssl_name, NULL: unset
                                              (the proxy_pass host) */
    unsigned                  name_set:1;
} fy_http_proxy_ssl_conf_t;

/* When a try reached a step, for $upstream_connect_time,
 * $upstream_header_time and $upstream_response_time: milliseconds
 * since the try started (p->start), FY_PROXY_NO_TIME until then. */
enum {
    FY_PROXY_T_CONNECT = 0,    /* connected (and the TLS handshake done) */
    FY_PROXY_T_HEADER,         /* the response header parsed */
    FY_PROXY_T_RESPONSE,       /* the try ended: response read, or failed */
    FY_PROXY_T_N
};

#define FY_PROXY_NO_TIME  ((uint64_t) -1)

/* How long a new client connection may wait for its upstream's answer
 * before it joins epoll (fy_conn_defer): a client that goes away in that
 * time is noticed up to this much later than nginx would; a request
 * answered in that time (most, behind a busy proxy) saves the
 * epoll_ctl() and the epoll work of close(). */
#define FY_PROXY_ABORT_DEFER  100

/* One try, for the $upstream_* variables. */
typedef struct {
    fy_str_t   addr;       /* server, or the upstream name if none */
    int        status;     /* 0 while waiting */
    unsigned   redirect:1; /* the first try after an internal redirect:
                              " : " before it instead of ", " (nginx) */
    uint64_t   time[FY_PROXY_T_N];
    /* $upstream_bytes_received, $upstream_bytes_sent, and where the
     * body started among the bytes received ($upstream_response_length;
     * FY_PROXY_NO_TIME until the header is parsed) */
    uint64_t   received;
    uint64_t   sent;
    uint64_t   body_from;
} fy_proxy_state_t;

/* ", client: 1.2.3.4, request: "GET / HTTP/1.1", upstream: "..."": the
 * upstream part only once a server is chosen (nginx: u->peer.name), so a
 * request refused before that does not name an empty one */
#define FY_PROXY_CTX_FMT  ", client: %s, request: \"%.*s\"%s%.*s%.*s%s"
#define FY_PROXY_CTX(p)   (p)->r->hc->addr_text,                          \
                          (int) (p)->r->request_line.len,                 \
                          (char *) (p)->r->request_line.data,             \
                          (p)->peer == NULL ? ""                          \
                          : (p)->https                                    \
                          ? ", upstream: \"https://"                      \
                          : (p)->fcgi ? ", upstream: \"fastcgi://"        \
                          : (p)->r->loc->uwsgi_pass                       \
                          ? ", upstream: \"uwsgi://"                      \
                          : (p)->r->loc->scgi_pass                        \
                          ? ", upstream: \"scgi://"                       \
                          : (p)->r->loc->memcached_pass                   \
                          ? ", upstream: \"memcached://"                  \
                          : ", upstream: \"http://",                      \
                          (int) ((p)->peer ? (p)->peer->name.len : 0),    \
                          (p)->peer ? (char *) (p)->peer->name.data : "", \
                          (int) ((p)->peer && !fy_http_cgi_loc((p)->r->loc) \
                                 && !(p)->r->loc->memcached_pass          \
                                 ? (p)->r->uri.len : 0),                  \
                          (p)->peer ? (char *) (p)->r->uri.data : "",     \
                          (p)->peer ? "\"" : ""

/* Whether some of the client's answer went out before this proxying's
 * own: r->header_sent, but not for a background cache update (it
 * answers nobody, fy_http_cache_bg.c) nor for a later slice whose
 * answer is not checked yet (the earlier slices' bytes are not this
 * one's, fy_http_slice.c): those may still go to another server. */
int fy_proxy_client_answered(fy_http_proxy_t *p);
int fy_proxy_err_level(fy_http_proxy_t *p);
void fy_proxy_close_upstream(fy_http_proxy_t *p);
void fy_proxy_fail(fy_http_proxy_t *p, int status);
int fy_proxy_can_retry(fy_http_proxy_t *p, unsigned ft);
/* a kept connection found closed before the request went out on it:
 * 1 when the request went on a new one instead */
int fy_proxy_kept_gone(fy_http_proxy_t *p);
fy_proxy_state_t *fy_proxy_state(fy_http_proxy_t *p);
/* n bytes came from (in) or went to (!in) the upstream on the current
 * try: $upstream_bytes_received, $upstream_bytes_sent */
static inline void
fy_proxy_count(fy_http_proxy_t *p, int in, uint64_t n)
{
    fy_proxy_state_t  *st = fy_proxy_state(p);

    if (st) {
        *(in ? &st->received : &st->sent) += n;
    }
}
/* the current try reached step t (FY_PROXY_T_*), unless it had already */
void fy_proxy_timed(fy_http_proxy_t *p, int t);
void fy_proxy_next(fy_http_proxy_t *p, unsigned ft);
void fy_proxy_start(fy_http_proxy_t *p);
/* the request goes to the upstream: from fy_http_proxy_handler, or
 * after waiting for proxy_cache_lock (fy_http_cache.c) */
void fy_proxy_go(fy_http_proxy_t *p);
/* the request header (fy_http_proxy_request.c) */
int fy_proxy_skip_header(const fy_str_t *name);
int fy_proxy_connection_option(fy_array_t *headers, const fy_str_t *name);
/* Whether name is one of the request's conditions or its range, which
 * a request that uses the cache (p->cache) does not send up. */
int fy_proxy_cache_skip_header(const fy_str_t *name);
int fy_proxy_create_request(fy_http_proxy_t *p);
int fy_proxy_eval_pass(fy_http_proxy_t *p);
/* fy_http_proxy_resolve.c: p's upstream from host, a *_pass's value:
 * an upstream's name, an address, "unix:/path", or a name for the
 * location's resolver; defport for a host without one (0: the port
 * must be given).  FY_OK, FY_AGAIN (fy_proxy_pass_ready is called once
 * it is resolved, or the request answered 502), or the status to
 * answer with (logged). */
int fy_proxy_pass_target(fy_http_proxy_t *p, const fy_str_t *host,
                         uint16_t defport);
/* fy_http_proxy.c: the upstream is known, on with the request (the
 * cache, then the upstream). */
void fy_proxy_pass_ready(fy_http_proxy_t *p);
/* the request and its body sent up (fy_http_proxy_send.c) */
void fy_proxy_read_body(fy_http_proxy_t *p);
void fy_proxy_rewind(fy_http_proxy_t *p);
void fy_proxy_send_handler(fy_event_t *ev);
void fy_proxy_send_request(fy_http_proxy_t *p);
void fy_proxy_send_stop(fy_http_proxy_t *p);
void fy_proxy_check_client(fy_event_t *rev);
/* the response header (fy_http_proxy_response.c): made ready for a
 * try (FY_OK / FY_ERROR), read while the request goes up and after;
 * after a failed send, fy_proxy_read_early goes on with a response the
 * upstream had sent (FY_OK) or finds none (FY_DECLINED) */
int fy_proxy_header_init(fy_http_proxy_t *p);
/* fy_http_proxy_field.c: what a response field's name is to the proxy
 * (FY_PF_*), found once per field */
enum {
    FY_PF_OTHER = 0,
    FY_PF_CONTENT_LENGTH,
    FY_PF_CONNECTION,
    FY_PF_TRANSFER_ENCODING,
    FY_PF_UPGRADE,
    FY_PF_HOP,                  /* TE, Host, Expect, Keep-Alive,
                                   Proxy-Connection */
    FY_PF_SERVER,
    FY_PF_DATE,
    FY_PF_X_PAD,
    FY_PF_STATUS,
    FY_PF_X_ACCEL,              /* X-Accel-* but the one below */
    FY_PF_X_ACCEL_LIMIT_RATE,
    FY_PF_LOCATION,
    FY_PF_REFRESH,
    FY_PF_ACCEPT_RANGES,
    FY_PF_CONTENT_RANGE,
    FY_PF_CONTENT_ENCODING,
    FY_PF_ETAG
};
unsigned fy_proxy_field_kind(const fy_str_t *name);
/* the kinds fy_proxy_skip_header names: hop-by-hop, or set by ferry */
#define fy_proxy_kind_skipped(k)                                           \
    ((k) == FY_PF_HOP || (k) == FY_PF_CONNECTION || (k) == FY_PF_UPGRADE    \
     || (k) == FY_PF_TRANSFER_ENCODING)
/* whether a response field is kept from the client (proxy_hide_header,
 * proxy_pass_header); _kind with the name's fy_proxy_field_kind */
int fy_proxy_hidden(fy_http_loc_conf_t *lcf, const fy_str_t *name);
/* the kinds hidden by default: nginx's proxy hides Date, Server, X-Pad
 * and X-Accel-*, its FastCGI, uwsgi and SCGI modules Status (when a
 * status line came too) and X-Accel-* */
#define FY_PF_HIDE_ACCEL                                                   \
    (1u << FY_PF_X_ACCEL | 1u << FY_PF_X_ACCEL_LIMIT_RATE)
#define fy_proxy_hidden_mask(lcf)                                          \
    (fy_http_cgi_loc(lcf)                                                  \
     ? FY_PF_HIDE_ACCEL | 1u << FY_PF_STATUS                               \
     : FY_PF_HIDE_ACCEL | 1u << FY_PF_DATE | 1u << FY_PF_SERVER            \
       | 1u << FY_PF_X_PAD)
int fy_proxy_hidden_kind(fy_http_loc_conf_t *lcf, const fy_str_t *name,
                         unsigned kind);
/* expires and charset on a response field (the location has
 * header_filters): 1 when it is left out, else *value may change
 * (proxied responses and the cache's HITs) */
int fy_proxy_filter_header(fy_http_request_t *r, const fy_http_header_t *h,
                           fy_str_t *value);
void fy_proxy_read_header(fy_event_t *rev);
int fy_proxy_read_early(fy_http_proxy_t *p);
/* the body relay (fy_http_proxy_relay.c), entered from the header */
void fy_proxy_scan(fy_http_proxy_t *p, u_char *start, u_char *end);
/* more of the upstream's body into b (scanned): FY_OK, FY_AGAIN, FY_DONE
 * (its end), FY_ERROR (logged) */
/* proxy_force_ranges (fy_http_proxy_range.c): whether ferry makes the
 * ranges of this response (FY_OK: p->range_allow set, and p->ranged
 * with r->status 206 when the request's Range is served; FY_DECLINED:
 * not), its header lines (Accept-Ranges, or Content-Range and
 * Content-Length; at most FY_PROXY_RANGE_LINES bytes) written at q,
 * and a body piece cut to the range (its new length). */
#define FY_PROXY_RANGE_LINES  128
/* slice (fy_http_slice.c): the answer to a slice's ranged request,
 * checked against the first slice's: FY_OK the first (the client's
 * header follows, its length lines from fy_http_slice_lines), FY_DONE
 * a later one (its body follows the earlier ones', no header),
 * FY_DECLINED not sliced (the first was not a 206: passed as it is),
 * FY_ERROR answered (a first one broken: 502; a later one: the client
 * connection closed, the length it was promised unmet).  The cache's
 * HIT of a slice: FY_OK the first (*from, *len: the entry's body bytes
 * to send; r->status the client's; f gets the read buffer of the
 * slice before, if any), FY_DONE a later one (the body alone to send), FY_DECLINED, FY_ERROR a broken first one (nothing
 * sent), FY_AGAIN a broken later one (logged, the connection closed:
 * r is gone). */
int    fy_http_slice_header(fy_http_proxy_t *p, fy_array_t *headers);
char  *fy_http_slice_lines(fy_http_request_t *r, char *q);
/* whether a 206 is the slice asked for, as fy_http_slice_header would
 * find (nothing logged): the cache stores only such a one */
int    fy_http_slice_storable(fy_http_request_t *r, fy_array_t *headers);
int    fy_http_slice_cached(fy_http_request_t *r,
                            struct fy_http_static_file_s *f, int status,
                            const fy_str_t *cr, const fy_str_t *etag,
                            const fy_str_t *lm, uint64_t body_len,
                            uint64_t *from, uint64_t *len);

/* proxy_store (fy_http_proxy_store.c): a 200's file begun (p->store set
 * if so), body bytes written to it, and, the body read to its end or
 * failed, the file put in place or removed. */
void   fy_proxy_store_start(fy_http_proxy_t *p);
void   fy_proxy_store_body(fy_http_proxy_t *p, const u_char *data,
                           size_t len);
void   fy_proxy_store_end(fy_http_proxy_t *p);
int    fy_proxy_range_start(fy_http_proxy_t *p, fy_array_t *headers,
                            int64_t cl);
char  *fy_proxy_range_header(fy_http_proxy_t *p, char *q);
size_t fy_proxy_range_trim(fy_http_proxy_t *p, u_char **start, size_t len);
int fy_proxy_up_recv(fy_http_proxy_t *p, fy_buf_t *b);
/* fy_http_proxy_relay.c: a subrequest's answer: read the rest of its
 * body and drop it, then end the subrequest */
void fy_proxy_discard(fy_http_proxy_t *p);
/* ssi's include: the captured body decoded (chunked); FY_ERROR: broken */
int fy_proxy_capture_end(fy_http_proxy_t *p);
/* fy_http_proxy_ssi.c: "ssi on" over the response whose header p has
 * just read: FY_DONE, the page is read whole (its end:
 * fy_proxy_ssi_page, whole or not) and answered once processed;
 * FY_DECLINED: the response goes on as it is (for a HEAD passed up as
 * a HEAD that ssi applies to, p->ssi_head set: its header without the
 * fields nginx's ssi filter clears, fy_proxy_ssi_header_drop) */
int  fy_proxy_ssi_begin(fy_http_proxy_t *p, fy_array_t *headers);
void fy_proxy_ssi_page(fy_http_proxy_t *p, int whole);
/* p->ssi_head: whether the upstream's field name stays out of the
 * header (1), or goes out with value made weak (ETag, with
 * ssi_last_modified on: *weak set) */
int  fy_proxy_ssi_header_drop(fy_http_proxy_t *p, const fy_str_t *name,
                              int *weak);
void fy_proxy_relay(fy_http_proxy_t *p);
void fy_proxy_relay_read(fy_event_t *rev);
void fy_proxy_body_written(fy_http_request_t *r);
void fy_proxy_release_upstream(fy_http_proxy_t *p);
/* X-Accel-* of the response (fy_http_proxy_accel.c): note field h
 * (its name starts with "X-Accel-"); act on X-Accel-Redirect (FY_DONE:
 * the request went on elsewhere, p is finished; FY_DECLINED: ignored)
 * and on X-Accel-Buffering */
void fy_proxy_accel_field(fy_http_proxy_t *p, fy_http_header_t *h);
int  fy_proxy_accel_redirect(fy_http_proxy_t *p);
void fy_proxy_accel_buffering(fy_http_proxy_t *p);
/* proxy_bind and proxy_socket_keepalive on a new upstream socket
 * (fy_http_proxy_conn.c): FY_OK, or FY_ERROR (logged) */
int  fy_proxy_conn_socket(fy_http_proxy_t *p, int fd);
/* https: the name for this request (FY_OK / FY_ERROR), the TLS context
 * kept connections must have been made with; after connect(), the
 * handshake, then fy_proxy_send_request */
int fy_proxy_ssl_prepare(fy_http_proxy_t *p);
const void *fy_proxy_ssl_ctx(fy_http_proxy_t *p);
void fy_proxy_ssl_handshake(fy_http_proxy_t *p);

/* memcached_pass (fy_http_memcached.c): "get KEY\r\n" into p->req
 * (FY_OK / FY_ERROR, logged); the response's first line parsed into
 * its status and header fields (FY_DONE, FY_AGAIN, FY_ERROR: logged);
 * the scan's check of the "\r\nEND\r\n" after the value, n bytes at
 * start with p->scan_rest still due */
int  fy_http_memcached_create_request(fy_http_proxy_t *p);
int  fy_http_memcached_header(fy_http_proxy_t *p);
void fy_http_memcached_trailer(fy_http_proxy_t *p, const u_char *start,
                               size_t n);

/* fy_http_var_response.c: the response p passes on is chosen; its
 * fields are kept for $upstream_http_ when the configuration names it
 * (FY_OK, or FY_ERROR: no memory) */
int fy_http_var_keep_upstream(fy_http_proxy_t *p);
/* The trailer section kept for $upstream_trailer_NAME: its first bytes */
#define FY_PROXY_TRAILER_KEEP  4096
int fy_http_var_keep_trailers(fy_http_proxy_t *p);

#endif /* FY_HTTP_PROXY_H */
