/*
 * fy_user.c -- "user" and "worker_rlimit_nofile": what a worker gives
 * up and what it may use, applied between fork() and its first client;
 * and the open-files limit the master sets for worker_connections at
 * start and at each reload, which the workers it forks inherit.
 */
#include "fy_core.h"
#include "fy_user.h"

#include <grp.h>
#include <pwd.h>
#include <sys/resource.h>


const char *
fy_user_set_conf(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_core_conf_t  *ccf = conf;
    struct passwd   *pw;
    struct group    *gr;

    fy_unused(cmd);

    if (ccf->user.data) {
        return "is duplicate";
    }

    if (geteuid() != 0) {
        /* as nginx: only a root master can hand workers another user */
        fy_log_error(FY_LOG_WARN, 0, "the \"user\" directive makes sense "
                     "only if the master process runs with super-user "
                     "privileges, ignored in %s:%u", cf->file->name,
                     cf->line);
        ccf->user = cf->args[1];
        ccf->user_uid = geteuid();
        ccf->user_gid = getegid();
        return FY_CONF_OK;
    }

    errno = 0;
    pw = getpwnam((char *) cf->args[1].data);
    if (pw == NULL) {
        fy_conf_error(cf, "getpwnam(\"%s\") failed%s", cf->args[1].data,
                      errno ? ": system error" : ": no such user");
        return FY_CONF_ERROR;
    }
    ccf->user = cf->args[1];
    ccf->user_uid = pw->pw_uid;
    ccf->user_gid = pw->pw_gid;

    if (cf->nargs == 3) {
        errno = 0;
        gr = getgrnam((char *) cf->args[2].data);
        if (gr == NULL) {
            fy_conf_error(cf, "getgrnam(\"%s\") failed%s", cf->args[2].data,
                          errno ? ": system error" : ": no such group");
            return FY_CONF_ERROR;
        }
        ccf->user_gid = gr->gr_gid;
    }

    return FY_CONF_OK;
}


void
fy_user_nofile(fy_cycle_t *cycle)
{
    fy_core_conf_t  *ccf = cycle->core;
    struct rlimit    rl;
    rlim_t           want;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "getrlimit(RLIMIT_NOFILE) failed");
        return;
    }
    want = (rlim_t) ccf->worker_connections * 2 + 64;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        /* at every load, not at start only: a reload to a larger
         * worker_connections forks its workers from here */
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY
                      ? want : fy_min(want, rl.rlim_max);
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            fy_log_error(FY_LOG_ALERT, errno, "setrlimit(RLIMIT_NOFILE, "
                         "%llu) failed", (unsigned long long) rl.rlim_cur);
            return;
        }
    }
    if (rl.rlim_cur < want && ccf->worker_rlimit_nofile == FY_CONF_UNSET_INT)
    {
        fy_log_error(FY_LOG_WARN, 0, "%d worker_connections need %llu open "
                     "files, but the hard limit is %llu: the workers get "
                     "%llu (raise the hard limit, or set "
                     "worker_rlimit_nofile as root)",
                     ccf->worker_connections, (unsigned long long) want,
                     (unsigned long long) rl.rlim_max,
                     (unsigned long long) rl.rlim_cur);
    }
}

void
fy_user_worker_init(fy_cycle_t *cycle)
{
    fy_core_conf_t  *ccf = cycle->core;
    struct rlimit    rl;

    /* before setuid: raising the hard limit needs root */
    if (ccf->worker_rlimit_nofile != FY_CONF_UNSET_INT) {
        rl.rlim_cur = (rlim_t) ccf->worker_rlimit_nofile;
        rl.rlim_max = (rlim_t) ccf->worker_rlimit_nofile;
        if (setrlimit(RLIMIT_NOFILE, &rl) == -1) {
            fy_log_error(FY_LOG_ALERT, errno, "setrlimit(RLIMIT_NOFILE, %d) "
                         "failed, ignored", ccf->worker_rlimit_nofile);
        }
    }

    if (ccf->user.data == NULL || geteuid() != 0) {
        return;
    }

    if (setgid(ccf->user_gid) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "setgid(%d) failed",
                     (int) ccf->user_gid);
        exit(2);
    }
    if (initgroups((char *) ccf->user.data, ccf->user_gid) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "initgroups(%s, %d) failed",
                     ccf->user.data, (int) ccf->user_gid);
        exit(2);
    }
    if (setuid(ccf->user_uid) == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "setuid(%d) failed",
                     (int) ccf->user_uid);
        exit(2);
    }
}


void
fy_user_own_file(fy_cycle_t *cycle, const char *path)
{
    fy_core_conf_t  *ccf = cycle->core;

    if (path == NULL || ccf->user.data == NULL || geteuid() != 0) {
        return;
    }
    if (chown(path, ccf->user_uid, (gid_t) -1) == -1) {
        fy_log_error(FY_LOG_WARN, errno, "chown(\"%s\", %d) failed", path,
                     (int) ccf->user_uid);
    }
}
