/*
 * fy_http_memcached.c -- memcached_pass: the answer is the value
 * memcached holds under $memcached_key (nginx's memcached module).
 *
 * A memcached_pass location is a proxied location (lcf->upstream set,
 * lcf->memcached_pass marks it), so the proxy code runs it: the pick,
 * connect, timeouts, memcached_next_upstream through fy_proxy_next,
 * the upstream's keepalive cache, the relay to the client.  Only the
 * wire format is memcached's text protocol, and the proxy calls in
 * here for it (p->memc):
 *
 *   request   "get KEY\r\n", KEY the value of $memcached_key with
 *             spaces, '%' and control characters %XX-escaped (nginx's
 *             escape); no body goes up
 *   response  "VALUE KEY FLAGS LENGTH\r\n" DATA "\r\nEND\r\n": a 200 of
 *             LENGTH bytes, its Content-Type from the URI's extension
 *             (types, default_type), "Content-Encoding: gzip" when
 *             FLAGS has a bit of memcached_gzip_flag; "END\r\n": a miss,
 *             answered 404 by ferry itself (so error_page 404 applies,
 *             as nginx's intercept of it); anything else is an invalid
 *             response (502, or the next server)
 *
 * The response header is parsed here into the proxy's header fields;
 * the trailer after the value is read and checked by the proxy's scan
 * (fy_http_memcached_trailer) but not passed on, so a response read
 * to its end leaves the connection ready for the next "get".  The
 * protocol itself (escape, line, trailer) is fy_http_memcached_proto.c.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"      /* and fy_http_memcached.h */

#define FY_MEMC_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_MEMC_OFF(field) \
    offsetof(fy_http_loc_conf_t, memcached) \
    + offsetof(fy_http_memcached_conf_t, field)

static const char *fy_http_memcached_pass(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_memcached_next(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

static const fy_conf_bounds_t  fy_http_memcached_buffer_bounds =
    { 1024, 16777216 };

const fy_command_t  fy_http_memcached_commands[] = {

    { "memcached_pass", FY_CONF_LOC | FY_CONF_LIF, 0, 1, 1,
      fy_http_memcached_pass, FY_CONF_LOC_OFF, 0, NULL },

    { "memcached_bind", FY_MEMC_ANY, 0, 1, 2, fy_http_proxy_bind,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(bind), NULL },

    { "memcached_buffer_size", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(buffer_size),
      &fy_http_memcached_buffer_bounds },

    { "memcached_connect_timeout", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(connect_timeout), NULL },

    { "memcached_send_timeout", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(send_timeout), NULL },

    { "memcached_read_timeout", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(read_timeout), NULL },

    { "memcached_gzip_flag", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(gzip_flag), NULL },

    { "memcached_next_upstream", FY_MEMC_ANY, 0, 1, FY_CONF_MANY,
      fy_http_memcached_next, FY_CONF_LOC_OFF, FY_MEMC_OFF(next_upstream),
      NULL },

    { "memcached_next_upstream_tries", FY_MEMC_ANY, 0, 1, 1,
      fy_conf_set_int, FY_CONF_LOC_OFF, FY_MEMC_OFF(next_upstream_tries),
      NULL },

    { "memcached_next_upstream_timeout", FY_MEMC_ANY, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_LOC_OFF,
      FY_MEMC_OFF(next_upstream_timeout), NULL },

    { "memcached_socket_keepalive", FY_MEMC_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_MEMC_OFF(socket_keepalive), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* memcached_pass ADDRESS: as fastcgi_pass's (host:port, unix:/path, an
 * upstream's name); the key is $memcached_key, which some "set" must
 * make (nginx: unknown "memcached_key" variable otherwise). */
static const char *
fy_http_memcached_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static fy_str_t      key = fy_string("$memcached_key");
    fy_http_loc_conf_t  *lcf = conf;
    const char          *rv;

    rv = fy_http_cgi_pass(cf, cmd, conf);
    if (rv != FY_CONF_OK) {
        return rv;
    }
    lcf->memcached.key = fy_http_cv_compile(cf, &key);
    return lcf->memcached.key ? FY_CONF_OK : FY_CONF_ERROR;
}

/* memcached_next_upstream: nginx's names for the proxy's cases */
static const char *
fy_http_memcached_next(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    static const fy_conf_enum_t  cases[] = {
        { "error",            FY_HTTP_NEXT_ERROR },
        { "timeout",          FY_HTTP_NEXT_TIMEOUT },
        { "invalid_response", FY_HTTP_NEXT_INVALID_HEADER },
        { "not_found",        FY_HTTP_NEXT_HTTP_404 },
        { "off",              FY_HTTP_NEXT_OFF },
        { NULL, 0 }
    };

    return fy_http_next_upstream_of(cf, cmd, conf, cases);
}

void
fy_http_memcached_init_conf(fy_http_loc_conf_t *lcf)
{
    fy_http_memcached_conf_t  *mc = &lcf->memcached;

    mc->connect_timeout = FY_CONF_UNSET_MSEC;
    mc->send_timeout = FY_CONF_UNSET_MSEC;
    mc->read_timeout = FY_CONF_UNSET_MSEC;
    mc->buffer_size = FY_CONF_UNSET_SIZE;
    mc->next_upstream_tries = FY_CONF_UNSET_INT;
    mc->next_upstream_timeout = FY_CONF_UNSET_MSEC;
    mc->gzip_flag = FY_CONF_UNSET_INT;
    mc->socket_keepalive = FY_CONF_UNSET_INT;
}

/* Called from fy_http_merge_loc for every level, parent first; the
 * defaults are nginx's (memcached_buffer_size: one page, 4k). */
void
fy_http_memcached_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_memcached_conf_t  *p = &prev->memcached, *c = &conf->memcached;

    fy_conf_merge(c->connect_timeout, p->connect_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(c->send_timeout, p->send_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->read_timeout, p->read_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->buffer_size, p->buffer_size, FY_CONF_UNSET_SIZE, 4096);
    fy_conf_merge(c->next_upstream, p->next_upstream, 0,
                  FY_HTTP_NEXT_ERROR | FY_HTTP_NEXT_TIMEOUT);
    fy_conf_merge(c->next_upstream_tries, p->next_upstream_tries,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->next_upstream_timeout, p->next_upstream_timeout,
                  FY_CONF_UNSET_MSEC, 0);
    fy_conf_merge(c->gzip_flag, p->gzip_flag, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->socket_keepalive, p->socket_keepalive,
                  FY_CONF_UNSET_INT, 0);
    if (c->bind == NULL) {
        c->bind = p->bind;
    }
    if (c->key == NULL) {
        c->key = p->key;            /* an "if" in a memcached_pass one */
    }
}

/* A memcached_pass location (or an "if" of one), merged, with its nested
 * locations merged too: the proxy code that runs it reads proxy_*
 * fields, which get the memcached_* values (nested proxy_pass
 * locations keep the proxy_* ones).  What the protocol has no use for
 * is turned off: no body goes up, nothing is cached; the value is
 * passed on as it is read (nginx's memcached module does not buffer). */
void
fy_http_memcached_apply(fy_http_loc_conf_t *lcf)
{
    fy_http_memcached_conf_t  *mc = &lcf->memcached;

    lcf->proxy_connect_timeout = mc->connect_timeout;
    lcf->proxy_send_timeout = mc->send_timeout;
    lcf->proxy_read_timeout = mc->read_timeout;
    lcf->proxy_buffer_size = mc->buffer_size;
    lcf->proxy_buffering = 0;
    lcf->next_upstream = mc->next_upstream;
    lcf->next_upstream_tries = mc->next_upstream_tries;
    lcf->next_upstream_timeout = mc->next_upstream_timeout;
    lcf->proxy_bind = mc->bind;
    lcf->proxy_socket_keepalive = mc->socket_keepalive;
    lcf->intercept_errors = 0;
    lcf->hide_headers = NULL;
    lcf->pass_headers = NULL;
    lcf->proxy_ignore_headers = 0;
    lcf->pass_request_body = 0;
    lcf->proxy_https = 0;
    lcf->proxy_redirect = NULL;
    lcf->proxy_cookie_domain = NULL;
    lcf->proxy_cookie_path = NULL;
    lcf->proxy_cookie_flags = NULL;
    lcf->proxy_ignore_client_abort = 0;
    /* no zone: an inherited proxy_cache does not apply (nginx's
     * memcached module has no cache) */
    memset(&lcf->cache, 0, sizeof(lcf->cache));
}

/* "get KEY\r\n" into p->req.  FY_OK, or FY_ERROR (logged: 500). */
int
fy_http_memcached_create_request(fy_http_proxy_t *p)
{
    fy_http_request_t  *r = p->r;
    u_char             *key, *q;
    size_t              len;

    key = fy_http_cv_eval(r, r->loc->memcached.key, &len);
    if (key == NULL) {
        return FY_ERROR;
    }
    if (len == 0) {
        fy_log_error(FY_LOG_ERR, 0, "the \"$memcached_key\" variable is "
                     "not set" FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        return FY_ERROR;
    }
    if (fy_buf_alloc(&p->req, sizeof("get \r\n") - 1
                                + fy_memc_key_len(key, len)) != FY_OK)
    {
        return FY_ERROR;
    }
    q = (u_char *) fy_cpymem((char *) p->req.last, "get ", 4);
    q = fy_memc_key_put(q, key, len);
    *q++ = '\r';
    *q++ = '\n';
    p->req.last = q;
    p->content_length = -1;
    p->body_chunked = 0;
    p->keep_conn = 1;       /* memcached keeps the connection open */
    return FY_OK;
}

/* A header field of the response, made up from the VALUE line. */
static int
fy_memc_field(fy_http_proxy_t *p, const char *name, const u_char *value,
              size_t len)
{
    fy_http_header_t  *h = fy_array_push(&p->headers);

    if (h == NULL) {
        return FY_ERROR;
    }
    h->name.data = (u_char *) name;
    h->name.len = strlen(name);
    h->value.data = (u_char *) value;
    h->value.len = len;
    return FY_OK;
}

/*
 * The response's first line in p->buf (fy_memc_parse_line): the status
 * and header fields of the response made from it.  FY_DONE (p->buf.pos
 * after the line), FY_AGAIN (no whole line yet), FY_ERROR (logged: an
 * invalid response, memcached_next_upstream's invalid_response).
 */
int
fy_http_memcached_header(fy_http_proxy_t *p)
{
    static const char  *what[] = { [FY_MEMC_BAD_KEY] = "key",
                                   [FY_MEMC_BAD_FLAGS] = "flags",
                                   [FY_MEMC_BAD_LENGTH] = "length" };
    fy_http_request_t  *r = p->r;
    const fy_str_t     *type;
    fy_memc_value_t     v;
    u_char             *line = p->buf.pos, *lf, *key = p->req.start + 4;
    size_t              n, klen = (size_t) (p->req.last - key) - 2;
    int                 rc;

    lf = memchr(line, '\n', (size_t) (p->buf.last - line));
    if (lf == NULL) {
        return FY_AGAIN;
    }
    /* n: the line without its CRLF (nginx wants the CR) */
    n = (size_t) (lf - line);
    rc = FY_MEMC_INVALID;
    if (n && line[n - 1] == '\r') {
        rc = fy_memc_parse_line(line, --n, key, klen, &v);
    }

    switch (rc) {
    case FY_MEMC_END:
        fy_log_error(FY_LOG_INFO, 0, "key: \"%.*s\" was not found by "
                     "memcached" FY_PROXY_CTX_FMT, (int) klen, (char *) key,
                     FY_PROXY_CTX(p));
        p->parser.status = 404;
        break;
    case FY_MEMC_VALUE:
        type = fy_http_static_uri_type(r);
        if (fy_memc_field(p, "Content-Length", v.length_text, v.length_len)
            != FY_OK
            || (type->len
                && fy_memc_field(p, "Content-Type", type->data, type->len)
                   != FY_OK)
            || ((v.flags & r->loc->memcached.gzip_flag)
                && fy_memc_field(p, "Content-Encoding", (u_char *) "gzip", 4)
                   != FY_OK))
        {
            return FY_ERROR;
        }
        p->parser.status = 200;
        break;
    case FY_MEMC_INVALID:
        fy_log_error(FY_LOG_ERR, 0, "memcached sent invalid response: "
                     "\"%.*s\"" FY_PROXY_CTX_FMT, (int) n, (char *) line,
                     FY_PROXY_CTX(p));
        return FY_ERROR;
    default:
        fy_log_error(FY_LOG_ERR, 0, "memcached sent invalid %s in response "
                     "\"%.*s\" for key \"%.*s\"" FY_PROXY_CTX_FMT, what[rc],
                     (int) n, (char *) line, (int) klen, (char *) key,
                     FY_PROXY_CTX(p));
        return FY_ERROR;
    }
    /* HTTP/1.1, framed: the connection may be kept */
    p->parser.http_major = 1;
    p->parser.http_minor = 1;
    p->buf.pos = lf + 1;
    p->status_done = 1;
    return FY_DONE;
}

/* The scan (fy_proxy_scan) takes n more bytes at start, p->scan_rest
 * still due: a wrong trailer is logged (once) and the connection is
 * not kept (the client has its value: nginx does the same). */
void
fy_http_memcached_trailer(fy_http_proxy_t *p, const u_char *start, size_t n)
{
    if (p->framed && !fy_memc_trailer_ok(start, n, p->scan_rest)) {
        fy_log_error(FY_LOG_ERR, 0, "memcached sent invalid trailer"
                     FY_PROXY_CTX_FMT, FY_PROXY_CTX(p));
        p->framed = 0;
    }
}
