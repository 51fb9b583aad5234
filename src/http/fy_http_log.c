/*
 * fy_http_log.c -- the access log: log_format and access_log.
 *
 *   log_format NAME [escape=default|json|none] STRING ...;      http
 *   access_log PATH [FORMAT [buffer=SIZE] [gzip[=LEVEL]] [flush=TIME]
 *              [if=COND]] | off;
 *   access_log syslog:server=ADDR[,...] [FORMAT [if=COND]];
 *                                                   http, server, location
 *
 * As in nginx: the predefined format "combined", "access_log" without
 * a format uses it, several access_log directives at one level all
 * write, a level without any inherits its parent's, and values are
 * escaped (default: '"', '\' and bytes outside 0x20..0x7e as \xXX).
 *
 * Files are opened by the master when the configuration is loaded, so
 * every worker inherits the descriptors; the files, their buffers
 * (buffer=, gzip), flush=, the reopen on SIGUSR1 and the flush at a
 * worker's exit are stream's as well (fy_alog.c).  To syslog (fy_syslog.c) each line is one datagram with the syslog
 * header in front and no "\n"; such logs cannot be buffered (nginx).
 *
 * A PATH with variables ("access_log logs/$host.log;") names the file
 * per request: it is opened, written and closed for each line by the
 * worker (fy_alog_write_named) or kept open by the request's
 * location's open_log_file_cache, and only when the request's root
 * directory exists, as nginx documents; such logs cannot be buffered
 * either.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_syslog.h"
#include "fy_alog.h"
#include "fy_http_static.h"

#include <sys/stat.h>

/* log_format's escape= (fy_alog_escape) */
enum {
    FY_LOG_ESCAPE_DEFAULT = FY_ALOG_ESC_DEFAULT,
    FY_LOG_ESCAPE_JSON = FY_ALOG_ESC_JSON,
    FY_LOG_ESCAPE_NONE = FY_ALOG_ESC_NONE
};

typedef struct {
    fy_str_t         name;
    int              escape;
    fy_http_cv_t    *cv;
} fy_http_log_fmt_t;

struct fy_http_log_s {
    fy_alog_file_t      *file;       /* a fixed PATH, or NULL */
    fy_syslog_t         *syslog;     /* syslog:..., or NULL */
    fy_http_cv_t        *path_cv;    /* PATH with variables, or NULL */
    const char          *path;       /* PATH as written */
    const char          *prefix;     /* for a relative one */
    fy_http_log_fmt_t   *fmt;
    fy_http_cv_t        *cond;       /* if=: no line when it evaluates to
                                        "" or "0" (nginx); NULL: always */
};

static const char  fy_combined[] =
    "$remote_addr - $remote_user [$time_local] \"$request\" $status "
    "$body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

static fy_http_log_fmt_t *
fy_http_log_fmt_find(fy_http_main_conf_t *hmcf, const fy_str_t *name)
{
    fy_http_log_fmt_t  *f;
    unsigned            i;

    for (i = 0; i < hmcf->log_formats.nelts; i++) {
        f = fy_array_elt(&hmcf->log_formats, fy_http_log_fmt_t, i);
        if (f->name.len == name->len
            && memcmp(f->name.data, name->data, name->len) == 0)
        {
            return f;
        }
    }
    return NULL;
}

static fy_http_log_fmt_t *
fy_http_log_fmt_add(fy_conf_t *cf, fy_http_main_conf_t *hmcf,
                    const fy_str_t *name, int escape, const fy_str_t *text)
{
    fy_http_log_fmt_t  *f;

    if (hmcf->log_formats.pool == NULL) {
        fy_array_init(&hmcf->log_formats, cf->pool, 2,
                      sizeof(fy_http_log_fmt_t));
    }
    f = fy_array_push(&hmcf->log_formats);
    if (f == NULL) {
        return NULL;
    }
    f->name = *name;
    f->escape = escape;
    f->cv = fy_http_cv_compile(cf, text);
    return f->cv ? f : NULL;
}

static const char *
fy_http_log_format(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_main_conf_t  *hmcf = conf;
    fy_str_t              text;
    unsigned              i, first = 2;
    int                   escape = FY_LOG_ESCAPE_DEFAULT;
    size_t                len = 0;
    u_char               *p;

    fy_unused(cmd);

    if (fy_str_eq(&cf->args[1], "combined")
        || (hmcf->log_formats.pool
            && fy_http_log_fmt_find(hmcf, &cf->args[1])))
    {
        fy_conf_error(cf, "duplicate \"log_format\" name \"%s\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;
    }

    if (cf->args[2].len > 7 && memcmp(cf->args[2].data, "escape=", 7) == 0) {
        const char *v = (char *) cf->args[2].data + 7;

        escape = strcmp(v, "default") == 0 ? FY_LOG_ESCAPE_DEFAULT
               : strcmp(v, "json") == 0 ? FY_LOG_ESCAPE_JSON
               : strcmp(v, "none") == 0 ? FY_LOG_ESCAPE_NONE : -1;
        if (escape == -1) {
            fy_conf_error(cf, "unknown log format escaping \"%s\"", v);
            return FY_CONF_ERROR;
        }
        first = 3;
        if (cf->nargs < 4) {
            return "has no format string";
        }
    }

    /* the strings are concatenated, as nginx does */
    for (i = first; i < cf->nargs; i++) {
        len += cf->args[i].len;
    }
    text.data = p = fy_palloc(cf->pool, len + 1);
    if (p == NULL) {
        return "cannot allocate memory";
    }
    for (i = first; i < cf->nargs; i++) {
        memcpy(p, cf->args[i].data, cf->args[i].len);
        p += cf->args[i].len;
    }
    *p = '\0';
    text.len = len;

    if (fy_http_log_fmt_add(cf, hmcf, &cf->args[1], escape, &text) == NULL) {
        return FY_CONF_ERROR;
    }
    return FY_CONF_OK;
}

/* nginx writes the default log only when no level has access_log */
static int
fy_http_log_any_configured(fy_http_main_conf_t *hmcf)
{
    fy_http_srv_conf_t  *scf;
    fy_http_loc_conf_t  *lcf;
    unsigned             i, j;

    for (i = 0; i < hmcf->servers.nelts; i++) {
        scf = *fy_array_elt(&hmcf->servers, fy_http_srv_conf_t *, i);
        if (scf->loc->access_logs.nelts || scf->loc->access_log_off) {
            return 1;
        }
        for (j = 0; j < scf->locations.nelts; j++) {
            lcf = *fy_array_elt(&scf->locations, fy_http_loc_conf_t *, j);
            if (lcf->access_logs.nelts || lcf->access_log_off) {
                return 1;
            }
        }
    }
    return 0;
}

static const char *
fy_http_access_log(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t   *lcf = conf;
    /* from the cycle: this also runs after the http block has ended */
    fy_http_main_conf_t  *hmcf = ((fy_cycle_t *) cf->cycle)->http;
    fy_http_log_t        *log;
    fy_alog_params_t      params = { 0, 0, 0 };
    fy_str_t              fmt_name = fy_string("combined");
    char                 *path;
    unsigned              i;
    int                   rc;

    fy_unused(cmd);

    if (lcf->access_logs.pool == NULL) {
        fy_array_init(&lcf->access_logs, cf->pool, 1, sizeof(fy_http_log_t));
    }

    if (fy_str_eq(&cf->args[1], "off")) {
        if (cf->nargs != 2) {
            return "invalid parameter after \"off\"";
        }
        lcf->access_log_off = 1;
        return FY_CONF_OK;
    }

    log = fy_array_push(&lcf->access_logs);
    if (log == NULL) {
        return "cannot allocate memory";
    }
    memset(log, 0, sizeof(fy_http_log_t));
    log->path = (char *) cf->args[1].data;
    if (fy_syslog_is(&cf->args[1])) {
        log->syslog = fy_syslog_conf(cf, &cf->args[1]);
        if (log->syslog == NULL) {
            return FY_CONF_ERROR;
        }
    } else if (memchr(cf->args[1].data, '$', cf->args[1].len)) {
        /* opened per line: nothing to open now, flush or reopen */
        log->path_cv = fy_http_cv_compile(cf, &cf->args[1]);
        if (log->path_cv == NULL) {
            return FY_CONF_ERROR;
        }
        log->prefix = cf->prefix;
    }

    if (cf->nargs >= 3) {
        fmt_name = cf->args[2];
    }
    if (fy_str_eq(&fmt_name, "combined")) {
        if (hmcf->combined == NULL) {
            fy_str_t  text = { sizeof(fy_combined) - 1, (u_char *) fy_combined };
            hmcf->combined = fy_http_log_fmt_add(cf, hmcf, &fmt_name,
                                                 FY_LOG_ESCAPE_DEFAULT, &text);
            if (hmcf->combined == NULL) {
                return FY_CONF_ERROR;
            }
        }
        log->fmt = hmcf->combined;
    } else {
        log->fmt = hmcf->log_formats.pool
                   ? fy_http_log_fmt_find(hmcf, &fmt_name) : NULL;
        if (log->fmt == NULL) {
            fy_conf_error(cf, "unknown log format \"%s\"", fmt_name.data);
            return FY_CONF_ERROR;
        }
    }

    for (i = 3; i < cf->nargs; i++) {
        fy_str_t  val;

        rc = fy_alog_param(cf, &cf->args[i], &params);
        if (rc == -1) {
            return FY_CONF_ERROR;
        }
        if (rc == 1) {
            continue;
        }
        if (strncmp((char *) cf->args[i].data, "if=", 3) == 0) {
            val.data = cf->args[i].data + 3;
            val.len = cf->args[i].len - 3;
            log->cond = fy_http_cv_compile(cf, &val);
            if (log->cond == NULL) {
                return FY_CONF_ERROR;
            }
        } else {
            fy_conf_error(cf, "invalid parameter \"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
    }
    if (fy_alog_params_check(cf, &params, &cf->args[1], log->syslog != NULL,
                             log->path_cv != NULL) != FY_OK)
    {
        return FY_CONF_ERROR;
    }
    if (log->syslog || log->path_cv) {
        return FY_CONF_OK;
    }

    /* Open now: a path that cannot be opened is a configuration error,
     * caught by -t and by a reload before anything changes. */
    path = fy_conf_full_name(cf, cf->prefix, &cf->args[1]);
    if (path == NULL) {
        return "cannot allocate memory";
    }
    log->file = fy_alog_file(cf, path, &params);
    return log->file ? FY_CONF_OK : FY_CONF_ERROR;
}

/* nginx's default when no access_log is configured anywhere:
 * "access_log logs/access.log combined;" at the http level. */
const char *
fy_http_log_http_done(fy_conf_t *cf, fy_http_main_conf_t *hmcf)
{
    fy_http_loc_conf_t  *lcf = hmcf->loc;
    fy_str_t             args[2] = { fy_string("access_log"),
                                     fy_string("logs/access.log") };
    fy_str_t            *saved_args = cf->args;
    unsigned             saved_nargs = cf->nargs;
    const char          *rv;

    if (lcf->access_logs.nelts || lcf->access_log_off
        || fy_http_log_any_configured(hmcf))
    {
        return FY_CONF_OK;
    }
    cf->args = args;
    cf->nargs = 2;
    rv = fy_http_access_log(cf, NULL, lcf);
    cf->args = saved_args;
    cf->nargs = saved_nargs;
    return rv;
}

const fy_command_t  fy_http_log_commands[] = {

    { "log_format", FY_CONF_HTTP, 0, 2, FY_CONF_MANY, fy_http_log_format,
      FY_CONF_MAIN_OFF, 0, NULL },

    { "access_log", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC
      | FY_CONF_LIF, 0, 1, 7,
      fy_http_access_log, FY_CONF_LOC_OFF, 0, NULL },

    { "open_log_file_cache", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1,
      4, fy_alog_cache_set, FY_CONF_LOC_OFF,
      offsetof(fy_http_loc_conf_t, log_cache), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* ---- writing ---- */

/*
 * A line to the file a PATH with variables names for r: nothing when
 * the request's root directory is not there (nginx: "the existence of
 * the request's root directory is checked"; a level without a root
 * has none to check).
 */
static void
fy_http_log_write_named(fy_http_request_t *r, fy_http_log_t *log,
                        const u_char *line, size_t len)
{
    fy_http_loc_conf_t  *lcf = fy_http_req_loc(r);
    struct stat          st;
    const u_char        *p;
    const char          *root;
    u_char              *v;
    size_t               n;

    if (lcf->static_conf && (lcf->static_conf->root || lcf->static_conf->alias))
    {
        root = fy_http_static_base(r, lcf, &r->path, &p, NULL);
        if (root == NULL || stat(root, &st) == -1 || !S_ISDIR(st.st_mode)) {
            return;
        }
    }
    v = fy_http_cv_eval(r, log->path_cv, &n);
    if (v == NULL) {
        return;
    }
    /* the cache of the location the request ends in, as nginx's */
    fy_alog_write_named(lcf->log_cache.cache, log->path, log->prefix, v, n,
                        r->hc->addr_text, line, len);
}

static void
fy_http_log_one(fy_http_request_t *r, fy_http_log_t *log)
{
    const fy_http_cv_t       *cv = log->fmt->cv;
    const fy_http_cv_part_t  *part;
    fy_str_t                  own[32], *vals = own;
    u_char                    stack[4096], scratch[2048], *s = scratch;
    u_char                   *line, *p;
    size_t                    len = 1, vlen, room;
    unsigned                  i, esc = (unsigned) log->fmt->escape;

    if (log->file && log->file->fd == -1) {
        return;
    }

    /* Each variable is evaluated once, into scratch while it has room
     * (a getter gives a value's whole length and copies what fits; one
     * that did not fit is evaluated again into the pool), and kept for
     * the writing pass.  Literal parts go as they are, values escaped
     * (at most fy_alog_escape_max bytes a byte), an empty value as "-"
     * (nginx). */
    if (cv->nparts > sizeof(own) / sizeof(own[0])) {
        vals = fy_palloc(r->pool, cv->nparts * sizeof(fy_str_t));
        if (vals == NULL) {
            return;
        }
    }
    for (i = 0; i < cv->nparts; i++) {
        part = &cv->parts[i];
        if (part->var == NULL && part->pvar == NULL && part->map == NULL) {
            len += part->lit.len;
            continue;
        }
        room = (size_t) (scratch + sizeof(scratch) - s);
        vlen = fy_http_cv_part_get(r, part, s, room);
        if (vlen <= room) {
            vals[i].data = s;
            s += vlen;
        } else {
            vals[i].data = fy_palloc(r->pool, vlen);
            if (vals[i].data == NULL) {
                return;
            }
            /* (cut to what was measured if it grew: a clock) */
            room = fy_http_cv_part_get(r, part, vals[i].data, vlen);
            vlen = fy_min(room, vlen);
        }
        vals[i].len = vlen;
        len += vlen ? vlen * fy_alog_escape_max(esc) : 1;
    }

    if (log->syslog) {
        len += FY_SYSLOG_HEADER_MAX;
    }
    line = len <= sizeof(stack) ? stack : fy_palloc(r->pool, len);
    if (line == NULL) {
        return;
    }

    p = line;
    if (log->syslog) {
        p += fy_syslog_header(log->syslog, log->syslog->severity, p);
    }
    for (i = 0; i < cv->nparts; i++) {
        part = &cv->parts[i];
        if (part->var == NULL && part->pvar == NULL && part->map == NULL) {
            memcpy(p, part->lit.data, part->lit.len);
            p += part->lit.len;
        } else if (vals[i].len == 0) {
            *p++ = '-';
        } else {
            p += fy_alog_escape(esc, vals[i].data, vals[i].len, p,
                                vals[i].len * fy_alog_escape_max(esc));
        }
    }
    if (log->syslog) {
        /* one datagram, whole (nginx cuts only error log lines) */
        fy_syslog_send(log->syslog, line, (size_t) (p - line));
        return;
    }
    *p++ = '\n';
    len = (size_t) (p - line);

    if (log->path_cv) {
        fy_http_log_write_named(r, log, line, len);
        return;
    }
    fy_alog_write(log->file, line, len);
}

void
fy_http_log_request(fy_http_request_t *r)
{
    fy_http_loc_conf_t  *lcf = r->loc ? r->loc : r->srv->loc;
    fy_http_log_t       *log;
    unsigned             i;
    u_char              *v;
    size_t               len;

    if (lcf->access_log_off) {
        return;
    }
    for (i = 0; i < lcf->access_logs.nelts; i++) {
        log = fy_array_elt(&lcf->access_logs, fy_http_log_t, i);
        if (log->cond) {
            v = fy_http_cv_eval(r, log->cond, &len);
            if (v == NULL || len == 0 || (len == 1 && v[0] == '0')) {
                continue;
            }
        }
        fy_http_log_one(r, log);
    }
}
