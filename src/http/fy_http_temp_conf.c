/*
 * fy_http_temp_conf.c -- nginx's directives about temporary files and
 * busy buffers, accepted with their values checked as nginx checks
 * them, and without effect:
 *
 *   proxy_temp_path PATH [L1 [L2 [L3]]];        http, server, location
 *   client_body_temp_path PATH [L1 [L2 [L3]]];
 *   proxy_max_temp_file_size SIZE;
 *   proxy_temp_file_write_size SIZE;
 *   proxy_busy_buffers_size SIZE;
 *   fastcgi_, uwsgi_, scgi_ + temp_path, max_temp_file_size,
 *                     temp_file_write_size, busy_buffers_size
 *   client_body_in_single_buffer on | off;
 *   client_body_in_file_only off;
 *
 * Why they change nothing: ferry never writes a request or response
 * body to disk on its way (a WebDAV PUT's body is the file it makes,
 * written in that file's directory: fy_http_dav.c).  A request body is
 * streamed to the upstream as it
 * arrives (client_body_buffer_size at a time), a response streamed to
 * the client through proxy_buffer_size + proxy_buffers of memory;
 * when those are full ferry stops reading the upstream instead of
 * spilling to a temporary file, which is what nginx does with
 * "proxy_max_temp_file_size 0".  There is no "busy" part of the
 * buffers either: each buffer is either being written to the client
 * or free to be read into.  And ferry has no $request_body variable,
 * which client_body_in_single_buffer exists for.
 *
 * client_body_in_file_only "on" and "clean" would keep every request
 * body in a file for $request_body_file; ferry cannot, so they are
 * refused rather than silently ignored.
 *
 * The checks are nginx's (its proxy module's merge, and its fastcgi,
 * uwsgi and scgi modules' with their own directives): a
 * proxy_busy_buffers_size, proxy_temp_file_write_size or non-zero
 * proxy_max_temp_file_size smaller than the larger of proxy_buffer_size
 * and one of proxy_buffers, or a proxy_busy_buffers_size larger than
 * all proxy_buffers but one, is an error, named with the file and line
 * of the directive.  As ferry's proxy_buffer_size default (16k) is not
 * nginx's (one memory page), an unset proxy_buffer_size counts as
 * nginx's here, so that a configuration nginx accepts passes.
 */
#include "fy_core.h"
#include "fy_http.h"

#include <unistd.h>

#define FY_TEMP_OFF(field) \
    offsetof(fy_http_loc_conf_t, proxy_temp) \
    + offsetof(fy_http_temp_conf_t, field)

/* PATH [L1 [L2 [L3]]]: each level a positive number, all together at
 * most 10 (nginx's ngx_conf_set_path_slot); the path is not made.
 * cmd->offset: a fy_http_temp_conf_t's path_seen. */
const char *
fy_http_temp_path(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    unsigned  *seen = (unsigned *) ((char *) conf + cmd->offset);
    unsigned   i;
    int64_t    level, sum = 0;

    if (*seen) {
        return "is duplicate";
    }
    *seen = 1;
    for (i = 2; i < cf->nargs; i++) {
        level = fy_atoi(cf->args[i].data, cf->args[i].len);
        if (level <= 0) {
            fy_conf_error(cf, "invalid value \"%s\" in \"%s\"",
                          cf->args[i].data, cmd->name);
            return FY_CONF_ERROR;
        }
        sum += level;
    }
    if (sum > 10) {
        fy_conf_error(cf, "invalid value: the levels of \"%s\" add up to "
                      "more than 10", cmd->name);
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* A size remembered with where it was written, for the checks;
 * cmd->offset: a fy_http_size_at_t (of a fy_http_temp_conf_t). */
const char *
fy_http_temp_size(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_size_at_t  *s = (fy_http_size_at_t *) ((char *) conf
                                                   + cmd->offset);
    int64_t             v;

    if (s->size != FY_CONF_UNSET_SIZE) {
        return "is duplicate";
    }
    v = fy_conf_parse_size(&cf->args[1]);
    if (v < 0) {
        fy_conf_error(cf, "invalid value \"%s\"", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    s->size = (size_t) v;
    s->file = cf->file ? cf->file->name : "command line";
    s->line = cf->line;
    return FY_CONF_OK;
}

/* Only "off": see the top of this file. */
static const char *
fy_http_body_in_file_only(fy_conf_t *cf, const fy_command_t *cmd,
                          void *conf)
{
    unsigned  *seen = (unsigned *) ((char *) conf + cmd->offset);

    if (*seen) {
        return "is duplicate";
    }
    *seen = 1;
    if (fy_str_eq(&cf->args[1], "off")) {
        return FY_CONF_OK;
    }
    if (fy_str_eq(&cf->args[1], "on") || fy_str_eq(&cf->args[1], "clean")) {
        fy_conf_error(cf, "\"client_body_in_file_only %s\" is not "
                      "supported: ferry never writes request bodies to "
                      "files", cf->args[1].data);
        return FY_CONF_ERROR;
    }
    fy_conf_error(cf, "invalid value \"%s\"", cf->args[1].data);
    return FY_CONF_ERROR;
}

const fy_command_t  fy_http_temp_conf_commands[] = {

    { "proxy_temp_path", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 4,
      fy_http_temp_path, FY_CONF_LOC_OFF, FY_TEMP_OFF(path_seen), NULL },

    { "client_body_temp_path", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 4, fy_http_temp_path, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, body_temp_path_seen), NULL },

    { "proxy_max_temp_file_size", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_http_temp_size, FY_CONF_LOC_OFF, FY_TEMP_OFF(max), NULL },

    { "proxy_temp_file_write_size",
      FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1, fy_http_temp_size,
      FY_CONF_LOC_OFF, FY_TEMP_OFF(write), NULL },

    { "proxy_busy_buffers_size", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_http_temp_size, FY_CONF_LOC_OFF, FY_TEMP_OFF(busy), NULL },

    { "client_body_in_single_buffer",
      FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1, fy_conf_set_flag,
      FY_CONF_LOC_OFF, offsetof(fy_http_loc_conf_t, body_single_buffer),
      NULL },

    { "client_body_in_file_only", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC,
      0, 1, 1, fy_http_body_in_file_only, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, body_in_file_only_seen), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_temp_conf_init(fy_http_temp_conf_t *t)
{
    t->busy.size = FY_CONF_UNSET_SIZE;
    t->write.size = FY_CONF_UNSET_SIZE;
    t->max.size = FY_CONF_UNSET_SIZE;
}

void
fy_http_temp_init_conf(fy_http_loc_conf_t *lcf)
{
    fy_http_temp_conf_init(&lcf->proxy_temp);
    lcf->body_single_buffer = FY_CONF_UNSET_INT;
}

/* Before the level's *_buffer_size (buffer_size, unset or not) is
 * merged: whether a level at or above this one set it (else nginx's
 * default stands in for the checks). */
void
fy_http_temp_conf_merge(fy_http_temp_conf_t *p, fy_http_temp_conf_t *c,
                        size_t buffer_size)
{
    c->buffer_size_conf = buffer_size != FY_CONF_UNSET_SIZE
                          ? buffer_size : p->buffer_size_conf;
    if (c->busy.size == FY_CONF_UNSET_SIZE) {
        c->busy = p->busy;
    }
    if (c->write.size == FY_CONF_UNSET_SIZE) {
        c->write = p->write;
    }
    if (c->max.size == FY_CONF_UNSET_SIZE) {
        c->max = p->max;
    }
}

/* Before proxy_buffer_size is merged. */
void
fy_http_temp_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_temp_conf_merge(&prev->proxy_temp, &conf->proxy_temp,
                            conf->proxy_buffer_size);
}

/* nginx's checks of one module's set (prefix "proxy", "fastcgi", ...)
 * against its merged *_buffers.  FY_OK, or FY_ERROR after the [emerg]
 * line. */
static int
fy_http_temp_check_set(const char *prefix, fy_http_temp_conf_t *t,
                       unsigned buffers_num, size_t buffers_size)
{
    size_t  size, bufsize;

    bufsize = t->buffer_size_conf
              ? t->buffer_size_conf : (size_t) sysconf(_SC_PAGESIZE);
    size = fy_max(bufsize, buffers_size);

#define FY_TEMP_BIGGER  "must be equal to or greater than the maximum of " \
    "the value of \"%s_buffer_size\" and one of the \"%s_buffers\""

    if (t->busy.size != FY_CONF_UNSET_SIZE) {
        if (t->busy.size < size) {
            fy_log_error(FY_LOG_EMERG, 0, "\"%s_busy_buffers_size\" "
                         FY_TEMP_BIGGER " in %s:%u", prefix, prefix, prefix,
                         t->busy.file, t->busy.line);
            return FY_ERROR;
        }
        if (t->busy.size > (buffers_num - 1) * buffers_size) {
            fy_log_error(FY_LOG_EMERG, 0, "\"%s_busy_buffers_size\" must "
                         "be less than the size of all \"%s_buffers\" "
                         "minus one buffer in %s:%u", prefix, prefix,
                         t->busy.file, t->busy.line);
            return FY_ERROR;
        }
    }
    if (t->write.size != FY_CONF_UNSET_SIZE && t->write.size < size) {
        fy_log_error(FY_LOG_EMERG, 0, "\"%s_temp_file_write_size\" "
                     FY_TEMP_BIGGER " in %s:%u", prefix, prefix, prefix,
                     t->write.file, t->write.line);
        return FY_ERROR;
    }
    if (t->max.size != FY_CONF_UNSET_SIZE && t->max.size != 0
        && t->max.size < size)
    {
        fy_log_error(FY_LOG_EMERG, 0, "\"%s_max_temp_file_size\" must be "
                     "equal to zero to disable temporary files usage or "
                     FY_TEMP_BIGGER " in %s:%u", prefix, prefix, prefix,
                     t->max.file, t->max.line);
        return FY_ERROR;
    }
#undef FY_TEMP_BIGGER
    return FY_OK;
}

/* After the merge: nginx's checks on a merged level, each module's
 * directives against its own buffers.  FY_OK, or FY_ERROR (logged). */
int
fy_http_temp_check(fy_http_loc_conf_t *lcf)
{
    if (fy_http_temp_check_set("proxy", &lcf->proxy_temp,
                               lcf->proxy_buffers_num,
                               lcf->proxy_buffers_size) != FY_OK
        || fy_http_temp_check_set("fastcgi", &lcf->fastcgi.temp,
                                  lcf->fastcgi.buffers_num,
                                  lcf->fastcgi.buffers_size) != FY_OK
        || fy_http_temp_check_set("uwsgi", &lcf->uwsgi.temp,
                                  lcf->uwsgi.buffers_num,
                                  lcf->uwsgi.buffers_size) != FY_OK
        || fy_http_temp_check_set("scgi", &lcf->scgi.temp,
                                  lcf->scgi.buffers_num,
                                  lcf->scgi.buffers_size) != FY_OK)
    {
        return FY_ERROR;
    }
    return FY_OK;
}
