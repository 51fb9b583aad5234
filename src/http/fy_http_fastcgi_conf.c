/*
 * fy_http_fastcgi_conf.c -- the fastcgi_* directives (nginx's names,
 * values and defaults), stored in fy_http_loc_conf_t.fastcgi and merged
 * down the levels.  What FastCGI shares with uwsgi_* and scgi_*
 * (fastcgi_pass, fastcgi_param, fastcgi_buffers, the merge of the
 * common fields, the values a fastcgi_pass location hands to the proxy
 * code: fy_http_cgi_apply) is in fy_http_cgi_conf.c; FastCGI's own is
 * here.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_fastcgi.h"

static const char *fy_http_fastcgi_split(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

#define FY_FCGI_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)
#define FY_FCGI_OFF(field) \
    offsetof(fy_http_loc_conf_t, fastcgi) \
    + offsetof(fy_http_fastcgi_conf_t, field)

static const fy_conf_bounds_t  fy_http_fastcgi_buffer_bounds =
    { 1024, 16777216 };

const fy_command_t  fy_http_fastcgi_commands[] = {

    { "fastcgi_pass", FY_CONF_LOC | FY_CONF_LIF, 0, 1, 1,
      fy_http_cgi_pass, FY_CONF_LOC_OFF, 0, NULL },

    { "fastcgi_param", FY_FCGI_ANY, 0, 2, 3, fy_http_cgi_param,
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

    { "fastcgi_buffers", FY_FCGI_ANY, 0, 2, 2, fy_http_cgi_buffers,
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
    fy_http_cgi_conf_init(&lcf->fastcgi);
    fy_http_cgi_init_conf(lcf);     /* uwsgi's and scgi's */
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

/* Called from fy_http_merge_loc for every level, parent first: what
 * all three modules have (fy_http_cgi_conf_merge), and FastCGI's own. */
void
fy_http_fastcgi_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_fastcgi_conf_t  *p = &prev->fastcgi, *c = &conf->fastcgi;

    fy_http_cgi_conf_merge(p, c);
    if (c->index.data == NULL) {
        c->index = p->index;
    }
    fy_conf_merge(c->keep_conn, p->keep_conn, FY_CONF_UNSET_INT, 0);
}
