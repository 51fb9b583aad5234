/*
 * fy_http_fastcgi_conf.c -- the fastcgi_* directives (nginx's names,
 * values and defaults), stored in fy_http_loc_conf_t.fastcgi and merged
 * down the levels.  A fastcgi_pass location runs on the proxy code, so
 * once its nested locations have been merged, its fastcgi_* values are
 * put into the proxy_* fields that code reads (fy_http_fastcgi_apply):
 * the proxy_* directives have no effect on it, nor the fastcgi_* ones
 * on a proxy_pass location, as in nginx.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_fastcgi.h"

static const char *fy_http_fastcgi_pass(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_fastcgi_param(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_fastcgi_split(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_fastcgi_buffers(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_FCGI_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_FCGI_OFF(field) \
    offsetof(fy_http_loc_conf_t, fastcgi) \
    + offsetof(fy_http_fastcgi_conf_t, field)

static const fy_conf_bounds_t  fy_http_fastcgi_buffer_bounds =
    { 1024, 16777216 };

const fy_command_t  fy_http_fastcgi_commands[] = {

    { "fastcgi_pass", FY_CONF_LOC | FY_CONF_LIF, 0, 1, 1,
      fy_http_fastcgi_pass, FY_CONF_LOC_OFF, 0, NULL },

    { "fastcgi_param", FY_FCGI_ANY, 0, 2, 3, fy_http_fastcgi_param,
      FY_CONF_LOC_OFF, 0, NULL },

    { "fastcgi_index", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_str,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(index), NULL },

    { "fastcgi_split_path_info", FY_CONF_LOC, 0, 1, 1, fy_http_fastcgi_split,
      FY_CONF_LOC_OFF, 0, NULL },

    { "fastcgi_intercept_errors", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(intercept_errors), NULL },

    { "fastcgi_connect_timeout", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(connect_timeout), NULL },

    { "fastcgi_send_timeout", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(send_timeout), NULL },

    { "fastcgi_read_timeout", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_msec,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(read_timeout), NULL },

    { "fastcgi_pass_header", FY_FCGI_ANY, 0, 1, 1, fy_http_header_list,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(pass_headers), NULL },

    { "fastcgi_hide_header", FY_FCGI_ANY, 0, 1, 1, fy_http_header_list,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(hide_headers), NULL },

    { "fastcgi_ignore_headers", FY_FCGI_ANY, 0, 1, FY_CONF_MANY,
      fy_http_ignore_headers, FY_CONF_LOC_OFF, FY_FCGI_OFF(ignore_headers),
      NULL },

    { "fastcgi_keep_conn", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(keep_conn), NULL },

    { "fastcgi_buffering", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(buffering), NULL },

    { "fastcgi_buffer_size", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_size,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(buffer_size),
      &fy_http_fastcgi_buffer_bounds },

    { "fastcgi_buffers", FY_FCGI_ANY, 0, 2, 2, fy_http_fastcgi_buffers,
      FY_CONF_LOC_OFF, 0, NULL },

    { "fastcgi_next_upstream", FY_FCGI_ANY, 0, 1, FY_CONF_MANY,
      fy_http_next_upstream, FY_CONF_LOC_OFF, FY_FCGI_OFF(next_upstream),
      NULL },

    { "fastcgi_next_upstream_tries", FY_FCGI_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_FCGI_OFF(next_upstream_tries), NULL },

    { "fastcgi_next_upstream_timeout", FY_FCGI_ANY, 0, 1, 1,
      fy_conf_set_msec, FY_CONF_LOC_OFF, FY_FCGI_OFF(next_upstream_timeout),
      NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_fastcgi_init_conf(fy_http_loc_conf_t *lcf)
{
    fy_http_fastcgi_conf_t  *fc = &lcf->fastcgi;

    fc->connect_timeout = FY_CONF_UNSET_MSEC;
    fc->send_timeout = FY_CONF_UNSET_MSEC;
    fc->read_timeout = FY_CONF_UNSET_MSEC;
    fc->intercept_errors = FY_CONF_UNSET_INT;
    fc->keep_conn = FY_CONF_UNSET_INT;
    fc->buffering = FY_CONF_UNSET_INT;
    fc->buffer_size = FY_CONF_UNSET_SIZE;
    fc->buffers_size = FY_CONF_UNSET_SIZE;
    fc->next_upstream_tries = FY_CONF_UNSET_INT;
    fc->next_upstream_timeout = FY_CONF_UNSET_MSEC;
}

/* fastcgi_pass ADDRESS: host:port, unix:/path, or an upstream's name
 * (its servers, balancer, failure accounting and keepalive cache are
 * those of proxy_pass). */
static const char *
fy_http_fastcgi_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t             addr = cf->args[1];

    fy_unused(cmd);

    if (fy_http_proxied(lcf)) {
        return "is duplicate";
    }
    if (addr.len == 0 || fy_str_eq(&addr, "unix:")) {
        fy_conf_error(cf, "no host in \"%s\"", addr.data);
        return FY_CONF_ERROR;
    }
    if (memchr(addr.data, '$', addr.len)) {
        fy_conf_error(cf, "variables in \"fastcgi_pass\" are not supported: "
                      "\"%s\"", addr.data);
        return FY_CONF_ERROR;
    }
    if (addr.len > 7 && strncmp((char *) addr.data, "http://", 7) == 0) {
        fy_conf_error(cf, "invalid address \"%s\" in \"fastcgi_pass\": "
                      "FastCGI addresses have no scheme", addr.data);
        return FY_CONF_ERROR;
    }
    lcf->upstream = fy_http_upstream_get(cf, cf->ctx->main, &addr);
    if (lcf->upstream == NULL) {
        return FY_CONF_ERROR;
    }
    lcf->fastcgi_pass = 1;
    fy_str_set(&lcf->proxy_host, "localhost");
    if (!(addr.len > 5 && strncmp((char *) addr.data, "unix:", 5) == 0)
        && memchr(addr.data, ':', addr.len) == NULL)
    {
        /* a name: an upstream block, or nginx's "no port" error at the
         * end of the configuration (fy_http_init_cycle) */
        lcf->upstream->bare_fastcgi = 1;
    }
    return FY_CONF_OK;
}

/* fastcgi_param NAME VALUE [if_not_empty] */
static const char *
fy_http_fastcgi_param(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t       *lcf = conf;
    fy_http_fastcgi_param_t  *fp;
    fy_array_t              **list = &lcf->fastcgi.params;

    fy_unused(cmd);

    if (cf->nargs == 4 && !fy_str_eq(&cf->args[3], "if_not_empty")) {
        fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[3].data);
        return FY_CONF_ERROR;
    }
    if (cf->args[1].len == 0) {
        fy_conf_error(cf, "empty parameter name in \"fastcgi_param\"");
        return FY_CONF_ERROR;
    }
    if (*list == NULL) {
        *list = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (*list == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(*list, cf->pool, 32, sizeof(fy_http_fastcgi_param_t));
    }
    fp = fy_array_push(*list);
    if (fp == NULL) {
        return "cannot allocate memory";
    }
    memset(fp, 0, sizeof(*fp));
    fp->name = cf->args[1];
    fp->if_not_empty = cf->nargs == 4;
    fp->value = fy_http_cv_compile(cf, &cf->args[2]);
    return fp->value ? FY_CONF_OK : FY_CONF_ERROR;
}

/* fastcgi_split_path_info REGEX: two groups, the script name and the
 * path info (nginx checks the count the same way). */
static const char *
fy_http_fastcgi_split(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    fy_unused(cmd);

    if (lcf->fastcgi.split_set) {
        return "is duplicate";
    }
    lcf->fastcgi.split = fy_http_regex_compile(cf, &cf->args[1], 0);
    if (lcf->fastcgi.split == NULL) {
        return FY_CONF_ERROR;
    }
    if (fy_http_regex_captures(lcf->fastcgi.split) != 2) {
        fy_conf_error(cf, "pattern \"%s\" must have 2 captures",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }
    lcf->fastcgi.split_set = 1;
    return FY_CONF_OK;
}

/* fastcgi_buffers NUMBER SIZE, checked as proxy_buffers */
static const char *
fy_http_fastcgi_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_fastcgi_conf_t  *fc = &((fy_http_loc_conf_t *) conf)->fastcgi;
    int64_t                  num, size;

    fy_unused(cmd);

    if (fc->buffers_size != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    num = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (num < 2 || num > 4096) {
        fy_conf_error(cf, "invalid number of buffers \"%s\" in "
                      "\"fastcgi_buffers\" directive, it must be between 2 "
                      "and 4096", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    size = fy_conf_parse_size(&cf->args[2]);
    if (size < fy_http_fastcgi_buffer_bounds.min
        || size > fy_http_fastcgi_buffer_bounds.max)
    {
        fy_conf_error(cf, "invalid buffer size \"%s\" in \"fastcgi_buffers\" "
                      "directive, it must be between 1k and 16m",
                      cf->args[2].data);
        return FY_CONF_ERROR;
    }
    fc->buffers_num = (unsigned) num;
    fc->buffers_size = (size_t) size;
    return FY_CONF_OK;
}

/* Called from fy_http_merge_loc for every level, parent first; the
 * defaults are nginx's, but fastcgi_buffer_size's, which is
 * proxy_buffer_size's in ferry (16k: the whole CGI header must fit). */
void
fy_http_fastcgi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_fastcgi_conf_t  *p = &prev->fastcgi, *c = &conf->fastcgi;

    if (c->params == NULL) {
        c->params = p->params;
    }
    if (c->index.data == NULL) {
        c->index = p->index;
    }
    fy_conf_merge(c->connect_timeout, p->connect_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(c->send_timeout, p->send_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->read_timeout, p->read_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->intercept_errors, p->intercept_errors,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->keep_conn, p->keep_conn, FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->buffering, p->buffering, FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->buffer_size, p->buffer_size, FY_CONF_UNSET_SIZE, 16384);
    if (c->buffers_size == FY_CONF_UNSET_SIZE) {
        c->buffers_num = p->buffers_size == FY_CONF_UNSET_SIZE
                         ? 8 : p->buffers_num;
        c->buffers_size = p->buffers_size == FY_CONF_UNSET_SIZE
                          ? 4096 : p->buffers_size;
    }
    if (c->hide_headers == NULL) {
        c->hide_headers = p->hide_headers;
    }
    if (c->pass_headers == NULL) {
        c->pass_headers = p->pass_headers;
    }
    if (c->ignore_headers == 0) {
        c->ignore_headers = p->ignore_headers;
    }
    fy_conf_merge(c->next_upstream, p->next_upstream, 0,
                  FY_HTTP_NEXT_ERROR | FY_HTTP_NEXT_TIMEOUT);
    fy_conf_merge(c->next_upstream_tries, p->next_upstream_tries,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->next_upstream_timeout, p->next_upstream_timeout,
                  FY_CONF_UNSET_MSEC, 0);
}

/* A fastcgi_pass location (or an "if" of one), merged, with its nested
 * locations merged too: the proxy code that runs it reads proxy_*
 * fields, which get the fastcgi_* values; what FastCGI has no use for
 * is turned off. */
void
fy_http_fastcgi_apply(fy_http_loc_conf_t *lcf)
{
    fy_http_fastcgi_conf_t  *fc = &lcf->fastcgi;

    lcf->proxy_connect_timeout = fc->connect_timeout;
    lcf->proxy_send_timeout = fc->send_timeout;
    lcf->proxy_read_timeout = fc->read_timeout;
    lcf->intercept_errors = fc->intercept_errors;
    lcf->proxy_buffering = fc->buffering;
    lcf->proxy_buffer_size = fc->buffer_size;
    lcf->proxy_buffers_num = fc->buffers_num;
    lcf->proxy_buffers_size = fc->buffers_size;
    lcf->hide_headers = fc->hide_headers;
    lcf->pass_headers = fc->pass_headers;
    lcf->proxy_ignore_headers = fc->ignore_headers;
    lcf->next_upstream = fc->next_upstream;
    lcf->next_upstream_tries = fc->next_upstream_tries;
    lcf->next_upstream_timeout = fc->next_upstream_timeout;
    /* the body always goes up (nginx has fastcgi_pass_request_body, not
     * ferry), a chunked one read whole first for its CONTENT_LENGTH */
    lcf->pass_request_body = 1;
    lcf->proxy_request_buffering = 1;
    lcf->proxy_https = 0;
    lcf->proxy_redirect = NULL;
    lcf->proxy_cookie_domain = NULL;
    lcf->proxy_cookie_path = NULL;
    lcf->proxy_cookie_flags = NULL;
    lcf->proxy_bind = NULL;
    lcf->proxy_socket_keepalive = 0;
    lcf->proxy_ignore_client_abort = 0;
}
