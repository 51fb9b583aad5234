/*
 * fy_http_error_log.c -- error_log in http, server and location.
 *
 *   error_log FILE | syslog:server=... [LEVEL];  http, server, location
 *
 * As nginx: what is logged while a request is handled goes to the
 * error_log of the innermost level that has one (a level without one
 * inherits its parent's, up to the main error_log); several error_log
 * at one level all get the line, each with its own LEVEL.  Before a
 * request's server is known (reading its header) the connection's
 * default server's logs are used, as nginx does.
 *
 * How a message finds its log: each event carries the logs of its
 * connection (fy_event_t.log), set here when the connection is made
 * and whenever a request's location is chosen; the event loop makes
 * them current (fy_log_cur) while the handler runs, and fy_log_error()
 * writes there.  An upstream connection takes its request's logs.
 *
 * Files are opened while the configuration is read - by the master,
 * before workers are forked and before privileges are dropped, like
 * access logs - so that a path that cannot be opened is a
 * configuration error and a failed reload leaves the old files in use.
 * On SIGUSR1 they are reopened like the main log and the access logs.
 *
 * The stream block's error_log (fy_stream_conf.c) is read by the same
 * code (fy_http_error_log_add) into its own chain and file list.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_stream.h"
#include "fy_syslog.h"

#include <fcntl.h>

typedef struct fy_http_error_log_s  fy_http_error_log_t;

struct fy_http_error_log_s {
    fy_log_t              log;
    fy_http_error_log_t  *all;      /* every one of the cycle, to reopen */
};

/* The running configuration's, for SIGUSR1: http's and stream's. */
static fy_http_error_log_t  *fy_http_error_logs;
static fy_http_error_log_t  *fy_http_error_logs_stream;

static void
fy_http_error_log_close(void *data)
{
    fy_log_t  *log = data;

    if (log->fd > 2) {
        close(log->fd);
    }
    log->fd = -1;
}

static const char *
fy_http_error_log(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_loc_conf_t   *lcf = conf;
    fy_http_main_conf_t  *hmcf = ((fy_cycle_t *) cf->cycle)->http;

    fy_unused(cmd);

    return fy_http_error_log_add(cf, &lcf->error_log, &hmcf->error_logs);
}

const char *
fy_http_error_log_add(fy_conf_t *cf, fy_log_t **chain,
                      struct fy_http_error_log_s **files)
{
    fy_http_error_log_t  *el;
    fy_log_t             *log, **last;
    int                   level = FY_LOG_ERR;

    if (cf->nargs == 3) {
        level = fy_log_level_from_name((char *) cf->args[2].data,
                                       cf->args[2].len);
        if (level == -1) {
            fy_conf_error(cf, "invalid log level \"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
    }

    el = fy_pcalloc(cf->pool, sizeof(fy_http_error_log_t));
    if (el == NULL) {
        return "cannot allocate memory";
    }
    log = &el->log;
    log->level = level;

    if (fy_str_eq(&cf->args[1], "stderr")) {
        log->fd = 2;

    } else if (fy_syslog_is(&cf->args[1])) {
        /* nothing to reopen on SIGUSR1: not in *files */
        log->fd = -1;
        log->syslog = fy_syslog_conf(cf, &cf->args[1]);
        if (log->syslog == NULL) {
            return FY_CONF_ERROR;
        }

    } else if (cf->args[1].len > 7
               && memcmp(cf->args[1].data, "memory:", 7) == 0)
    {
        /* nginx's in-memory debug log (a debugging build's) */
        fy_conf_error(cf, "memory log is not supported, \"%s\"",
                      cf->args[1].data);
        return FY_CONF_ERROR;

    } else {
        log->path = fy_conf_full_name(cf, cf->prefix, &cf->args[1]);
        if (log->path == NULL) {
            return "cannot allocate memory";
        }
        log->fd = open(log->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                       0644);
        if (log->fd == -1) {
            fy_conf_error(cf, "open() \"%s\" failed (%d: %s)", log->path,
                          errno, strerror(errno));
            return FY_CONF_ERROR;
        }
        if (fy_pool_cleanup_add(cf->pool, fy_http_error_log_close, log)
            != FY_OK)
        {
            close(log->fd);
            return "cannot allocate memory";
        }
        el->all = *files;
        *files = el;
    }

    /* in the order written; the head knows the chain's highest level */
    for (last = chain; *last; last = &(*last)->next) {
        /* void */
    }
    *last = log;
    log->max = level;
    if (level > (*chain)->max) {
        (*chain)->max = level;
    }
    return FY_CONF_OK;
}

const fy_command_t  fy_http_error_log_commands[] = {

    { "error_log", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 2,
      fy_http_error_log, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

void
fy_http_error_log_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    if (conf->error_log == NULL) {
        conf->error_log = prev->error_log;
    }
}

void
fy_http_error_log_init_process(fy_cycle_t *cycle)
{
    fy_http_error_logs = cycle->http ? cycle->http->error_logs : NULL;
    fy_http_error_logs_stream = cycle->stream ? cycle->stream->error_logs
                                              : NULL;
}

/* SIGUSR1, as fy_http_log_reopen(): the path again, on the same
 * descriptor number; the master gives the file to `uid` (not -1) so
 * that workers running as that user can reopen it too. */
static void
fy_http_error_log_reopen_list(fy_http_error_log_t *el, int uid)
{
    for ( /* void */ ; el; el = el->all) {
        fy_log_reopen_fd(el->log.path, el->log.fd, uid);
    }
}

void
fy_http_error_log_reopen(int uid)
{
    fy_http_error_log_reopen_list(fy_http_error_logs, uid);
    fy_http_error_log_reopen_list(fy_http_error_logs_stream, uid);
}
