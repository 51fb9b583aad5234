/*
 * fy_http_cgi_conf.c -- the uwsgi_* and scgi_* directives (nginx's
 * names, values and defaults), and what they share with fastcgi_*
 * (fy_http_fastcgi_conf.c): the *_pass handler, *_param, *_buffers,
 * the twins of proxy_* directives all three have (FY_CGI_TWINS: *_bind,
 * *_limit_rate, *_force_ranges, *_store, *_request_buffering, *_temp_path ... on the proxy's
 * own setters), fastcgi_catch_stderr, a level's defaults and merge,
 * and fy_http_cgi_apply.
 *
 * Each of the three keeps its values in its own fy_http_fastcgi_conf_t
 * of the location (fastcgi, uwsgi, scgi), merged down the levels on
 * its own, as nginx's three modules do.  A location passed to one of
 * them runs on the proxy code, so once its nested locations have been
 * merged, that module's values are put into the proxy_* fields the
 * proxy code reads (fy_http_cgi_apply): neither the proxy_* directives
 * nor the other two modules' have an effect on it.
 */
#include "fy_core.h"
#include "fy_http.h"

#define FY_CGI_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_UWSGI_OFF(field) \
    offsetof(fy_http_loc_conf_t, uwsgi) \
    + offsetof(fy_http_fastcgi_conf_t, field)
#define FY_SCGI_OFF(field) \
    offsetof(fy_http_loc_conf_t, scgi) \
    + offsetof(fy_http_fastcgi_conf_t, field)
#define FY_FCGI_OFF(field) \
    offsetof(fy_http_loc_conf_t, fastcgi) \
    + offsetof(fy_http_fastcgi_conf_t, field)

static const char *fy_http_cgi_catch_stderr(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

static const fy_conf_bounds_t  fy_http_cgi_buffer_bounds = { 1024, 16777216 };
/* uwsgi's packet header has a byte for each */
static const fy_conf_bounds_t  fy_http_cgi_modifier_bounds = { 0, 255 };

/* The rows uwsgi_* and scgi_* have alike, prefix "uwsgi" or "scgi",
 * OFF the macro that places a field in its fy_http_fastcgi_conf_t. */
#define FY_CGI_COMMANDS(prefix, OFF)                                        \
    { prefix "_pass", FY_CONF_LOC | FY_CONF_LIF, 0, 1, 1,                   \
      fy_http_cgi_pass, FY_CONF_LOC_OFF, 0, NULL },                         \
    { prefix "_param", FY_CGI_ANY, 0, 2, 3, fy_http_cgi_param,              \
      FY_CONF_LOC_OFF, OFF(params), NULL },                                 \
    { prefix "_intercept_errors", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,    \
      FY_CONF_LOC_OFF, OFF(intercept_errors), NULL },                       \
    { prefix "_connect_timeout", FY_CGI_ANY, 0, 1, 1, fy_conf_set_msec,     \
      FY_CONF_LOC_OFF, OFF(connect_timeout), NULL },                        \
    { prefix "_send_timeout", FY_CGI_ANY, 0, 1, 1, fy_conf_set_msec,        \
      FY_CONF_LOC_OFF, OFF(send_timeout), NULL },                           \
    { prefix "_read_timeout", FY_CGI_ANY, 0, 1, 1, fy_conf_set_msec,        \
      FY_CONF_LOC_OFF, OFF(read_timeout), NULL },                           \
    { prefix "_pass_header", FY_CGI_ANY, 0, 1, 1, fy_http_header_list,      \
      FY_CONF_LOC_OFF, OFF(pass_headers), NULL },                           \
    { prefix "_hide_header", FY_CGI_ANY, 0, 1, 1, fy_http_header_list,      \
      FY_CONF_LOC_OFF, OFF(hide_headers), NULL },                           \
    { prefix "_ignore_headers", FY_CGI_ANY, 0, 1, FY_CONF_MANY,             \
      fy_http_ignore_headers, FY_CONF_LOC_OFF, OFF(ignore_headers), NULL }, \
    { prefix "_buffering", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,           \
      FY_CONF_LOC_OFF, OFF(buffering), NULL },                              \
    { prefix "_buffer_size", FY_CGI_ANY, 0, 1, 1, fy_conf_set_size,         \
      FY_CONF_LOC_OFF, OFF(buffer_size), &fy_http_cgi_buffer_bounds },      \
    { prefix "_buffers", FY_CGI_ANY, 0, 2, 2, fy_http_cgi_buffers,          \
      FY_CONF_LOC_OFF, 0, NULL },                                           \
    { prefix "_next_upstream", FY_CGI_ANY, 0, 1, FY_CONF_MANY,              \
      fy_http_next_upstream, FY_CONF_LOC_OFF, OFF(next_upstream), NULL },   \
    { prefix "_next_upstream_tries", FY_CGI_ANY, 0, 1, 1, fy_conf_set_int,  \
      FY_CONF_LOC_OFF, OFF(next_upstream_tries), NULL },                    \
    { prefix "_next_upstream_timeout", FY_CGI_ANY, 0, 1, 1,                 \
      fy_conf_set_msec, FY_CONF_LOC_OFF, OFF(next_upstream_timeout), NULL }

/* The twins of proxy_* directives that all three modules have, on the
 * proxy's own setters (fy_http_proxy_conn.c, fy_http_temp_conf.c, the
 * generic ones): one piece of code per directive for the four
 * prefixes; fy_http_cgi_apply hands the values to the proxy_* fields. */
#define FY_CGI_TWINS(prefix, OFF)                                           \
    { prefix "_bind", FY_CGI_ANY, 0, 1, 2, fy_http_proxy_bind,              \
      FY_CONF_LOC_OFF, OFF(bind), NULL },                                   \
    { prefix "_limit_rate", FY_CGI_ANY, 0, 1, 1, fy_conf_set_size,          \
      FY_CONF_LOC_OFF, OFF(limit_rate), NULL },                             \
    { prefix "_store", FY_CGI_ANY, 0, 1, 1, fy_http_proxy_store,            \
      FY_CONF_LOC_OFF, OFF(store), NULL },                                  \
    { prefix "_store_access", FY_CGI_ANY, 0, 1, 3,                          \
      fy_http_proxy_store_access, FY_CONF_LOC_OFF, OFF(store_access),       \
      NULL },                                                               \
    { prefix "_force_ranges", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,        \
      FY_CONF_LOC_OFF, OFF(force_ranges), NULL },                           \
    { prefix "_socket_keepalive", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,    \
      FY_CONF_LOC_OFF, OFF(socket_keepalive), NULL },                       \
    { prefix "_ignore_client_abort", FY_CGI_ANY, 0, 1, 1,                   \
      fy_conf_set_flag, FY_CONF_LOC_OFF, OFF(ignore_client_abort), NULL },  \
    { prefix "_request_buffering", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,   \
      FY_CONF_LOC_OFF, OFF(request_buffering), NULL },                      \
    { prefix "_pass_request_body", FY_CGI_ANY, 0, 1, 1, fy_conf_set_flag,   \
      FY_CONF_LOC_OFF, OFF(pass_request_body), NULL },                      \
    { prefix "_pass_request_headers", FY_CGI_ANY, 0, 1, 1,                  \
      fy_conf_set_flag, FY_CONF_LOC_OFF, OFF(pass_request_headers), NULL }, \
    { prefix "_temp_path", FY_CGI_ANY, 0, 1, 4, fy_http_temp_path,          \
      FY_CONF_LOC_OFF, OFF(temp.path_seen), NULL },                         \
    { prefix "_max_temp_file_size", FY_CGI_ANY, 0, 1, 1, fy_http_temp_size, \
      FY_CONF_LOC_OFF, OFF(temp.max), NULL },                               \
    { prefix "_temp_file_write_size", FY_CGI_ANY, 0, 1, 1,                  \
      fy_http_temp_size, FY_CONF_LOC_OFF, OFF(temp.write), NULL },          \
    { prefix "_busy_buffers_size", FY_CGI_ANY, 0, 1, 1, fy_http_temp_size,  \
      FY_CONF_LOC_OFF, OFF(temp.busy), NULL }

const fy_command_t  fy_http_cgi_commands[] = {

    FY_CGI_TWINS("fastcgi", FY_FCGI_OFF),

    { "fastcgi_catch_stderr", FY_CGI_ANY, 0, 1, 1, fy_http_cgi_catch_stderr,
      FY_CONF_LOC_OFF, 0, NULL },

    FY_CGI_COMMANDS("uwsgi", FY_UWSGI_OFF),
    FY_CGI_TWINS("uwsgi", FY_UWSGI_OFF),

    { "uwsgi_modifier1", FY_CGI_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_UWSGI_OFF(modifier1),
      &fy_http_cgi_modifier_bounds },

    { "uwsgi_modifier2", FY_CGI_ANY, 0, 1, 1, fy_conf_set_int,
      FY_CONF_LOC_OFF, FY_UWSGI_OFF(modifier2),
      &fy_http_cgi_modifier_bounds },

    /* bytes put at the end of the packet's variables (nginx's
     * undocumented directive, for uWSGI's other modifiers) */
    { "uwsgi_string", FY_CGI_ANY, 0, 1, 1, fy_conf_set_str,
      FY_CONF_LOC_OFF, FY_UWSGI_OFF(uwsgi_string), NULL },

    FY_CGI_COMMANDS("scgi", FY_SCGI_OFF),
    FY_CGI_TWINS("scgi", FY_SCGI_OFF),

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* The fy_http_fastcgi_conf_t a row of the tables above (or of
 * fastcgi's) writes into: cmd->offset is that of a field of it, the
 * struct is the location's fastcgi, uwsgi or scgi by the name. */
static fy_http_fastcgi_conf_t *
fy_http_cgi_conf_of(const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;

    switch (cmd->name[0]) {
    case 'u':
        return &lcf->uwsgi;
    case 's':
        return &lcf->scgi;
    default:
        return &lcf->fastcgi;
    }
}

void
fy_http_cgi_conf_init(fy_http_fastcgi_conf_t *fc)
{
    fy_http_cache_init_conf(&fc->cache);
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
    fc->modifier1 = FY_CONF_UNSET_INT;
    fc->modifier2 = FY_CONF_UNSET_INT;
    fc->limit_rate = FY_CONF_UNSET_SIZE;
    fc->force_ranges = FY_CONF_UNSET_INT;
    fc->store_access = FY_CONF_UNSET_INT;
    fc->socket_keepalive = FY_CONF_UNSET_INT;
    fc->ignore_client_abort = FY_CONF_UNSET_INT;
    fc->request_buffering = FY_CONF_UNSET_INT;
    fc->pass_request_body = FY_CONF_UNSET_INT;
    fc->pass_request_headers = FY_CONF_UNSET_INT;
    fy_http_temp_conf_init(&fc->temp);
}

void
fy_http_cgi_init_conf(fy_http_loc_conf_t *lcf)
{
    fy_http_cgi_conf_init(&lcf->uwsgi);
    fy_http_cgi_conf_init(&lcf->scgi);
}

/* fastcgi_pass, uwsgi_pass, scgi_pass (memcached_pass) ADDRESS:
 * host:port, unix:/path,
 * or an upstream's name (its servers, balancer, failure accounting
 * and keepalive cache are those of proxy_pass); uwsgi_pass also takes
 * nginx's "uwsgi://" before the address.  With variables, the address
 * is found per request, as for proxy_pass http://$host
 * (fy_http_proxy_resolve.c). */
const char *
fy_http_cgi_pass(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t             addr = cf->args[1];

    if (fy_http_proxied(lcf)) {
        return "is duplicate";
    }
    if (cmd->name[0] == 'u') {
        if (addr.len >= 8 && strncmp((char *) addr.data, "uwsgi://", 8) == 0)
        {
            addr.data += 8;
            addr.len -= 8;
        } else if (addr.len >= 9
                   && strncmp((char *) addr.data, "suwsgi://", 9) == 0)
        {
            /* uwsgi over TLS, with the uwsgi_ssl_* settings */
            addr.data += 9;
            addr.len -= 9;
            lcf->suwsgi = 1;
        }
    }
    if (addr.len == 0 || fy_str_eq(&addr, "unix:")) {
        fy_conf_error(cf, "no host in \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    if (memmem(addr.data, addr.len, "://", 3)) {
        fy_conf_error(cf, "invalid address \"%s\" in \"%s\": %s addresses "
                      "have no scheme", cf->args[1].data, cmd->name,
                      cmd->name[0] == 'f' ? "FastCGI"
                      : cmd->name[0] == 'u' ? "uwsgi (but uwsgi://)"
                      : cmd->name[0] == 'm' ? "memcached" : "SCGI");
        return FY_CONF_ERROR;
    }
    if (memchr(addr.data, '$', addr.len)) {
        if (lcf->suwsgi) {
            /* its TLS settings are built per upstream when the
             * configuration is read, as for proxy_pass https:// */
            fy_conf_error(cf, "variables in \"uwsgi_pass suwsgi://\" are "
                          "not supported: \"%s\"", cf->args[1].data);
            return FY_CONF_ERROR;
        }
        /* evaluated per request (fy_proxy_eval_pass): an upstream's
         * name, an address, unix:/path, or a name to resolve */
        lcf->proxy_pass_cv = fy_http_cv_compile(cf, &addr);
        if (lcf->proxy_pass_cv == NULL) {
            return FY_CONF_ERROR;
        }
        lcf->proxy_upstreams = &((fy_http_main_conf_t *) cf->ctx->main)
                                   ->upstreams;
    } else {
        lcf->upstream = fy_http_upstream_get(cf, cf->ctx->main, &addr);
        if (lcf->upstream == NULL) {
            return FY_CONF_ERROR;
        }
    }
    switch (cmd->name[0]) {
    case 'u':
        lcf->uwsgi_pass = 1;
        break;
    case 's':
        lcf->scgi_pass = 1;
        break;
    case 'm':
        lcf->memcached_pass = 1;        /* fy_http_memcached.c */
        break;
    default:
        lcf->fastcgi_pass = 1;
    }
    /* the Host of nothing but the TLS name (uwsgi_ssl_name's default
     * is uwsgi_pass's host, as nginx's) */
    if (lcf->suwsgi) {
        lcf->proxy_host = addr;
    } else {
        fy_str_set(&lcf->proxy_host, "localhost");
    }
    if (lcf->upstream
        && !(addr.len > 5 && strncmp((char *) addr.data, "unix:", 5) == 0)
        && memchr(addr.data, ':', addr.len) == NULL)
    {
        /* a name: an upstream block, or nginx's "no port" error at the
         * end of the configuration (fy_http_init_cycle) */
        lcf->upstream->bare_fastcgi = 1;
    }
    return FY_CONF_OK;
}

/* fastcgi_param, uwsgi_param, scgi_param NAME VALUE [if_not_empty] */
const char *
fy_http_cgi_param(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_fastcgi_param_t  *fp;
    fy_array_t              **list = &fy_http_cgi_conf_of(cmd, conf)->params;

    if (cf->nargs == 4 && !fy_str_eq(&cf->args[3], "if_not_empty")) {
        fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[3].data);
        return FY_CONF_ERROR;
    }
    if (cf->args[1].len == 0) {
        fy_conf_error(cf, "empty parameter name in \"%s\"", cmd->name);
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

/* fastcgi_buffers, uwsgi_buffers, scgi_buffers NUMBER SIZE, checked as
 * proxy_buffers */
const char *
fy_http_cgi_buffers(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_fastcgi_conf_t  *fc = fy_http_cgi_conf_of(cmd, conf);
    int64_t                  num, size;

    if (fc->buffers_size != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    num = fy_atoi(cf->args[1].data, cf->args[1].len);
    if (num < 2 || num > 4096) {
        fy_conf_error(cf, "invalid number of buffers \"%s\" in \"%s\" "
                      "directive, it must be between 2 and 4096",
                      cf->args[1].data, cmd->name);
        return FY_CONF_ERROR;
    }
    size = fy_conf_parse_size(&cf->args[2]);
    if (size < fy_http_cgi_buffer_bounds.min
        || size > fy_http_cgi_buffer_bounds.max)
    {
        fy_conf_error(cf, "invalid buffer size \"%s\" in \"%s\" directive, "
                      "it must be between 1k and 16m", cf->args[2].data,
                      cmd->name);
        return FY_CONF_ERROR;
    }
    fc->buffers_num = (unsigned) num;
    fc->buffers_size = (size_t) size;
    return FY_CONF_OK;
}

/* fastcgi_catch_stderr STRING (repeatable): a response whose STDERR
 * records hold one of the strings is an invalid one
 * (fy_http_fastcgi_stderr): the next server, or 502, as in nginx. */
static const char *
fy_http_cgi_catch_stderr(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t  *lcf = conf;
    fy_str_t            *s;

    fy_unused(cmd);

    if (cf->args[1].len == 0) {
        fy_conf_error(cf, "empty string in \"fastcgi_catch_stderr\"");
        return FY_CONF_ERROR;
    }
    if (lcf->fastcgi.catch_stderr == NULL) {
        lcf->fastcgi.catch_stderr = fy_pcalloc(cf->pool, sizeof(fy_array_t));
        if (lcf->fastcgi.catch_stderr == NULL) {
            return "cannot allocate memory";
        }
        fy_array_init(lcf->fastcgi.catch_stderr, cf->pool, 2,
                      sizeof(fy_str_t));
    }
    s = fy_array_push(lcf->fastcgi.catch_stderr);
    if (s == NULL) {
        return "cannot allocate memory";
    }
    *s = cf->args[1];
    return FY_CONF_OK;
}

/* What the three modules merge alike; the defaults are nginx's, but
 * the buffer size's, which is proxy_buffer_size's in ferry (16k: the
 * whole response header must fit). */
void
fy_http_cgi_conf_merge(fy_http_fastcgi_conf_t *p, fy_http_fastcgi_conf_t *c)
{
    fy_http_cache_merge(&p->cache, &c->cache);
    if (c->params == NULL) {
        c->params = p->params;
    }
    fy_conf_merge(c->connect_timeout, p->connect_timeout,
                  FY_CONF_UNSET_MSEC, 60000);
    fy_conf_merge(c->send_timeout, p->send_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->read_timeout, p->read_timeout, FY_CONF_UNSET_MSEC,
                  60000);
    fy_conf_merge(c->intercept_errors, p->intercept_errors,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->buffering, p->buffering, FY_CONF_UNSET_INT, 1);
    fy_http_temp_conf_merge(&p->temp, &c->temp, c->buffer_size);
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
    if (c->bind == NULL) {
        c->bind = p->bind;
    }
    fy_conf_merge(c->limit_rate, p->limit_rate, FY_CONF_UNSET_SIZE, 0);
    fy_conf_merge(c->force_ranges, p->force_ranges, FY_CONF_UNSET_INT, 0);
    if (c->store == NULL) {
        c->store = p->store;
    }
    fy_conf_merge(c->store_access, p->store_access, FY_CONF_UNSET_INT,
                  0600);
    fy_conf_merge(c->socket_keepalive, p->socket_keepalive,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->ignore_client_abort, p->ignore_client_abort,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(c->request_buffering, p->request_buffering,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->pass_request_body, p->pass_request_body,
                  FY_CONF_UNSET_INT, 1);
    fy_conf_merge(c->pass_request_headers, p->pass_request_headers,
                  FY_CONF_UNSET_INT, 1);
    if (c->catch_stderr == NULL) {
        c->catch_stderr = p->catch_stderr;
    }
}

/* Called from fy_http_merge_loc for every level, parent first. */
void
fy_http_cgi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_cgi_conf_merge(&prev->uwsgi, &conf->uwsgi);
    fy_conf_merge(conf->uwsgi.modifier1, prev->uwsgi.modifier1,
                  FY_CONF_UNSET_INT, 0);
    fy_conf_merge(conf->uwsgi.modifier2, prev->uwsgi.modifier2,
                  FY_CONF_UNSET_INT, 0);
    if (conf->uwsgi.uwsgi_string.data == NULL) {
        conf->uwsgi.uwsgi_string = prev->uwsgi.uwsgi_string;
    }
    fy_http_cgi_conf_merge(&prev->scgi, &conf->scgi);
}

/* A fastcgi_pass, uwsgi_pass or scgi_pass location (or an "if" of
 * one), merged, with its nested locations merged too: the proxy code
 * that runs it reads proxy_* fields, which get its module's values;
 * what these protocols have no use for is turned off.  FY_ERROR (logged):
 * its module's *_cache has no *_cache_key. */
int
fy_http_cgi_apply(fy_http_loc_conf_t *lcf)
{
    fy_http_fastcgi_conf_t  *fc = lcf->uwsgi_pass ? &lcf->uwsgi
                                  : lcf->scgi_pass ? &lcf->scgi
                                  : &lcf->fastcgi;

    /* the cache code reads lcf->cache: this module's *_cache* now */
    lcf->cache = fc->cache;
    if (fy_http_cache_check(&lcf->cache, lcf->uwsgi_pass ? "uwsgi"
                            : lcf->scgi_pass ? "scgi" : "fastcgi") != FY_OK)
    {
        return FY_ERROR;
    }

    lcf->proxy_connect_timeout = fc->connect_timeout;
    lcf->proxy_send_timeout = fc->send_timeout;
    lcf->proxy_read_timeout = fc->read_timeout;
    lcf->intercept_errors = fc->intercept_errors;
    lcf->proxy_buffering = fc->buffering;
    lcf->proxy_limit_rate = fc->limit_rate;
    lcf->proxy_force_ranges = fc->force_ranges;
    lcf->proxy_store = fc->store;
    lcf->proxy_store_access = fc->store_access;
    lcf->proxy_buffer_size = fc->buffer_size;
    lcf->proxy_buffers_num = fc->buffers_num;
    lcf->proxy_buffers_size = fc->buffers_size;
    lcf->hide_headers = fc->hide_headers;
    lcf->pass_headers = fc->pass_headers;
    lcf->proxy_ignore_headers = fc->ignore_headers;
    lcf->next_upstream = fc->next_upstream;
    lcf->next_upstream_tries = fc->next_upstream_tries;
    lcf->next_upstream_timeout = fc->next_upstream_timeout;
    lcf->pass_request_body = fc->pass_request_body;
    lcf->pass_request_headers = fc->pass_request_headers;
    /* only about chunked bodies in ferry (a Content-Length body is
     * always streamed): uwsgi and SCGI need their CONTENT_LENGTH, so
     * nginx reads a chunked one whole whatever *_request_buffering
     * says, as ferry does; FastCGI streams it with "off" */
    lcf->proxy_request_buffering = lcf->fastcgi_pass
                                   ? fc->request_buffering : 1;
    lcf->proxy_bind = fc->bind;
    lcf->proxy_socket_keepalive = fc->socket_keepalive;
    lcf->proxy_ignore_client_abort = fc->ignore_client_abort;
    /* suwsgi://: TLS as for proxy_pass https://, with uwsgi_ssl_* */
    lcf->proxy_https = lcf->suwsgi;
    if (lcf->suwsgi) {
        lcf->proxy_ssl = lcf->uwsgi_ssl;
    }
    lcf->proxy_redirect = NULL;
    lcf->proxy_cookie_domain = NULL;
    lcf->proxy_cookie_path = NULL;
    lcf->proxy_cookie_flags = NULL;
    return FY_OK;
}
