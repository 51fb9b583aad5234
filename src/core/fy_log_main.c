/*
 * fy_log_main.c -- the error_log of the main context: opened at start,
 * opened again by every reload and switched to when the reload commits.
 *
 * The process-wide log fy_log (fy_log.c) is a head with the further
 * error_log lines of main chained at next.  A reload opens the new
 * configuration's chain aside (fy_log_main_open), as nginx opens a new
 * cycle's files before it is used: a file that cannot be opened fails
 * the reload and the old log stays in use.  When the new configuration
 * takes over, fy_log_main_switch puts the new chain in fy_log and
 * closes the old one.  Workers forked afterwards inherit the new
 * chain; old workers keep the descriptors they were forked with until
 * they exit.
 */
#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_log_main.h"
#include "fy_user.h"


/* The file of the first error_log: -e names the one used when the
 * configuration has none, at start and at every reload (nginx). */
static const char *
fy_log_main_path(fy_cycle_t *cycle, const char *e)
{
    char  *path;

    if (e == NULL || cycle->core->error_log.data != NULL) {
        return cycle->error_log_path;
    }
    if (strcmp(e, "stderr") == 0 || e[0] == '/') {
        return e;
    }
    path = fy_palloc(cycle->pool, strlen(cycle->prefix) + strlen(e) + 1);
    if (path != NULL) {
        strcpy(stpcpy(path, cycle->prefix), e);
    }
    return path;
}


int
fy_log_main_open(fy_cycle_t *cycle, const char *e, fy_log_t *head)
{
    fy_core_conf_t       *ccf = cycle->core;
    fy_core_error_log_t  *more;
    const char           *path;
    unsigned              i;
    int                   rc;

    memset(head, 0, sizeof(*head));
    head->fd = -1;

    if (ccf->error_log_syslog) {
        rc = fy_log_open_syslog(head, ccf->error_log_syslog,
                                ccf->error_log_level);
    } else {
        path = fy_log_main_path(cycle, e);
        rc = path ? fy_log_open(head, path, ccf->error_log_level) : FY_ERROR;
    }
    if (rc != FY_OK) {
        fy_log_close(head);
        return FY_ERROR;
    }
    head->max = head->level;

    for (i = 0; i < ccf->error_logs_more.nelts; i++) {
        more = fy_array_elt(&ccf->error_logs_more, fy_core_error_log_t, i);
        if (fy_log_open_more(head, more->path, more->syslog, more->level)
            != FY_OK)
        {
            fy_log_close(head);
            return FY_ERROR;
        }
    }
    return FY_OK;
}


void
fy_log_main_switch(fy_cycle_t *cycle, fy_log_t *head)
{
    fy_log_t  old, *log;

    old = fy_log;
    fy_log = *head;
    /* from here on a running log: timestamps and pids */
    fy_log.startup = 0;
    fy_log_close(&old);

    /* workers running as "user" reopen them on SIGUSR1 */
    for (log = &fy_log; log; log = log->next) {
        fy_user_own_file(cycle, log->path);
    }
}
