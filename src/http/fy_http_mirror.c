/*
 * fy_http_mirror.c -- nginx's mirror module: copies of a request go,
 * as background subrequests, to other URIs, whose answers are thrown
 * away.
 *
 *     location / {
 *         mirror  /mirror;
 *         proxy_pass  http://backend;
 *     }
 *     location = /mirror {
 *         internal;
 *         proxy_pass  http://shadow$request_uri;
 *     }
 *
 * Before try_files and the content handler (nginx's precontent phase),
 * in the main request only: the body, if any, is read whole into
 * memory first (fy_http_body_read.c; nginx reads it too, to a buffer or
 * a temporary file),
 * then one subrequest per mirror line starts (fy_http_subrequest.c)
 * with the request's method, header fields, arguments and, with
 * mirror_request_body on, its body; then the request goes on.  Its
 * answer goes to the client as soon as it is made: a slow mirror does
 * not delay it, a failed one does not change it.  But the connection
 * goes on to its next request only when the last mirror has ended:
 * fy_http_finalize waits (fy_http_mirror_wait), as nginx's main request
 * holds its connection while a subrequest runs.
 *
 * The body is read whole even with mirror_request_body off, into a
 * buffer of exactly its length (a chunked one grows, up to
 * client_max_body_size): the main request's proxy then sends it from
 * there, and no subrequest's proxy ever reads the client's socket or
 * sets its handlers while the main one streams a body from it.
 */
#include "fy_core.h"
#include "fy_http.h"

static const char *fy_http_mirror_conf(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_http_mirror_free(void *data);
static int fy_http_mirror_room(fy_http_request_t *r, u_char **buf,
    size_t *size);
static int fy_http_mirror_piece(fy_http_request_t *r, u_char *p, size_t n);
static void fy_http_mirror_body_done(fy_http_request_t *r);
static void fy_http_mirror_start(fy_http_request_t *r);
static void fy_http_mirror_done(fy_http_request_t *sr, int status);

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

/* the body read whole into r->body_mem (fy_http_body_read.c) */
static const fy_http_body_reader_t  fy_http_mirror_reader = {
    fy_http_mirror_room, fy_http_mirror_piece, fy_http_mirror_body_done
};

const fy_command_t  fy_http_mirror_commands[] = {

    { "mirror", FY_HTTP_ANY, 0, 1, 1, fy_http_mirror_conf,
      FY_CONF_LOC_OFF, 0, NULL },

    { "mirror_request_body", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, mirror_request_body),
      NULL },

    { "log_subrequest", FY_HTTP_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, log_subrequest), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* mirror URI | off: several URIs at one level; "off" alone (nginx's
 * "is duplicate" for "off" with anything else).  A URI must start with
 * "/" to find a location (nginx would answer it 404 every time). */
static const char *
fy_http_mirror_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *uri = &cf->args[1], *m;

    fy_unused(cmd);

    if (fy_str_eq(uri, "off")) {
        if (lcf->mirrors) {
            return "is duplicate";
        }
        lcf->mirrors = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (lcf->mirrors == NULL) {
            return FY_CONF_ERROR;
        }
        fy_array_init(lcf->mirrors, cf->pool, 1, sizeof(fy_str_t));
        return FY_CONF_OK;
    }
    if (lcf->mirrors && lcf->mirrors->nelts == 0) {
        return "is duplicate";      /* after "off" */
    }
    if (uri->len == 0 || uri->data[0] != '/') {
        fy_conf_error(cf, "invalid URI \"%s\" in \"mirror\": it must start "
                      "with \"/\"", uri->data);
        return FY_CONF_ERROR;
    }
    if (lcf->mirrors == NULL) {
        lcf->mirrors = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (lcf->mirrors == NULL) {
            return FY_CONF_ERROR;
        }
        fy_array_init(lcf->mirrors, cf->pool, 2, sizeof(fy_str_t));
    }
    m = fy_array_push(lcf->mirrors);
    if (m == NULL) {
        return FY_CONF_ERROR;
    }
    *m = *uri;
    return FY_CONF_OK;
}

/* A level without mirror lines takes its parent's as a whole (nginx);
 * "mirror off" leaves an empty list, which mirrors nothing. */
void
fy_http_mirror_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->mirrors == NULL) {
        conf->mirrors = prev->mirrors;
    }
    fy_conf_merge(conf->mirror_request_body, prev->mirror_request_body,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(conf->log_subrequest, prev->log_subrequest,
                  FY_CONF_UNSET_INT, 0);
}

int
fy_http_mirror(fy_http_request_t *r)
{
    fy_http_conn_t  *hc = r->hc;
    size_t           size;

    r->mirrored = r->loc;
    if (r->loc->mirrors->nelts == 0) {
        return FY_OK;                   /* mirror off */
    }
    if (r->body_mem.start == NULL && (r->body_rest || r->chunked)) {
        size = r->chunked ? r->loc->client_body_buffer_size
                          : (size_t) r->body_rest;
        if (fy_pool_cleanup_add(r->pool, fy_http_mirror_free, r) != FY_OK) {
            fy_http_send_error(r, 500);
            return FY_DONE;
        }
        r->body_mem.start = malloc(fy_max(size, 1));
        if (r->body_mem.start == NULL) {
            fy_http_send_error(r, 500);
            return FY_DONE;
        }
        r->body_mem.pos = r->body_mem.last = r->body_mem.start;
        r->body_mem.end = r->body_mem.start + size;

        if ((r->seen & 16) && r->http_version >= 1001 && !r->continued
            && (r->chunked || fy_buf_size(&hc->in) < r->body_rest))
        {
            fy_http_send_continue(r);   /* the client waits for it */
        }
        fy_http_body_read(r, &hc->in, &fy_http_mirror_reader);
        return FY_AGAIN;
    }
    fy_http_mirror_start(r);
    return FY_OK;
}

/* The body's buffer goes with the request's pool (subrequests only
 * point into it). */
static void
fy_http_mirror_free(void *data)
{
    fy_http_request_t  *r = data;

    free(r->body_mem.start);
}

/* Make room for need more bytes at the end of a chunked body's buffer
 * (fy_http_mirror_free frees whatever start is at the end). */
static int
fy_http_mirror_grow(fy_http_request_t *r, size_t need)
{
    fy_buf_t  *b = &r->body_mem;
    size_t     len = fy_buf_size(b), size = (size_t) (b->end - b->start);
    u_char    *p;

    if (fy_buf_free(b) >= need) {
        return FY_OK;
    }
    size = fy_max(size * 2, len + need);
    p = realloc(b->start, size);
    if (p == NULL) {
        return FY_ERROR;
    }
    b->start = b->pos = p;
    b->last = p + len;
    b->end = p + size;
    return FY_OK;
}

/* fy_http_body_read's room: the buffer's free space, made bigger for a
 * chunked body (a body with a length has all the room it needs) */
static int
fy_http_mirror_room(fy_http_request_t *r, u_char **buf, size_t *size)
{
    if (fy_http_mirror_grow(r, r->chunked ? 4096 : 1) != FY_OK) {
        return 500;
    }
    *buf = r->body_mem.last;
    *size = fy_buf_free(&r->body_mem);
    return FY_OK;
}

/* ... and its piece: n bytes to the end of the body, from hc->in, or
 * from the buffer's own free space (in place: the data only moves down,
 * no room is needed) */
static int
fy_http_mirror_piece(fy_http_request_t *r, u_char *p, size_t n)
{
    if (fy_http_mirror_grow(r, n) != FY_OK) {
        return 500;
    }
    memmove(r->body_mem.last, p, n);
    r->body_mem.last += n;
    return FY_OK;
}

/* ... and its done: the body is the buffer's; the request goes on.
 * From now on body_rest counts the buffer's bytes (fy_http_body_src)
 * and the body has a length, as nginx sends a read body. */
static void
fy_http_mirror_body_done(fy_http_request_t *r)
{
    size_t  len = fy_buf_size(&r->body_mem);

    r->body_rest = len;
    r->content_length = (int64_t) len;
    fy_http_mirror_start(r);
    fy_http_run_content(r);
}

/* One background subrequest per mirror URI.  A subrequest that cannot
 * be made is logged and left out: the client's answer never depends
 * on a mirror. */
static void
fy_http_mirror_start(fy_http_request_t *r)
{
    fy_array_t         *mirrors = r->loc->mirrors;
    fy_http_request_t  *sr;
    fy_str_t           *uri;
    unsigned            i;

    for (i = 0; i < mirrors->nelts; i++) {
        uri = fy_array_elt(mirrors, fy_str_t, i);
        sr = fy_http_subrequest_create(r, sizeof(fy_http_request_t), uri,
                                       fy_http_mirror_done);
        if (sr == NULL) {
            fy_log_error(FY_LOG_ERR, 0, "cannot allocate mirror subrequest, "
                         "client %s", r->hc->addr_text);
            continue;
        }
        /* nginx's mirror: the request's method and arguments */
        sr->method = r->method;
        sr->method_name = r->method_name;
        sr->head = r->head;
        sr->args = r->args;
        if (r->body_mem.start && r->loc->mirror_request_body) {
            /* a view of the same bytes, sent from its own position */
            sr->body_mem = r->body_mem;
            sr->body_rest = r->body_rest;
            sr->content_length = r->content_length;
        }
        r->mirrors_running++;
        fy_http_subrequest_run(sr);
    }
}

/* A mirror's answer, whatever it is, is thrown away; the request's
 * connection goes on once it is the last (fy_http_mirror_wait). */
static void
fy_http_mirror_done(fy_http_request_t *sr, int status)
{
    fy_http_request_t  *r = sr->parent;

    fy_log_debug("mirror \"%.*s\" done: %d, client %s", (int) sr->path.len,
                 sr->path.data, status, r->hc->addr_text);
    r->mirrors_running--;
    if (r->mirrors_running == 0 && r->mirror_finalize) {
        r->mirror_finalize = 0;
        fy_http_finalize(r, 0);
    }
}

/* r is answered while mirrors run: its connection waits for them, not
 * reading (a pipelined request stays in the socket, and a client that
 * closes lets them end, as nginx).  Every mirror has its location's
 * proxy timeouts, so the wait ends. */
int
fy_http_mirror_wait(fy_http_request_t *r, int close_connection)
{
    fy_conn_t  *c = r->hc->c;

    if (close_connection) {
        return FY_OK;       /* closed now: the pool takes the mirrors */
    }
    r->mirror_finalize = 1;
    fy_timer_del(&c->read);
    c->read.handler = fy_event_ignore;
    return FY_AGAIN;
}
