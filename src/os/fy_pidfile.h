/*
 * fy_pidfile.h -- the pid file ("pid"), at start, on reload, at exit.
 */
#ifndef FY_PIDFILE_H
#define FY_PIDFILE_H

/* Write this process's pid to path; FY_OK, or FY_ERROR after an
 * [emerg] (a file left half written is removed). */
int  fy_pidfile_write(const char *path);
/* Refuse to go on if path names another running ferry master:
 * FY_ERROR after an [emerg]; a stale file (no such process, or not
 * ferry) is FY_OK, to be replaced. */
int  fy_pidfile_check(const char *path);
/* Remove path if it still holds our pid (a newer master may have
 * replaced it). */
void fy_pidfile_delete(const char *path);
/* A reload: FY_DECLINED if the configuration names the same file old,
 * FY_OK once the new file path is written, FY_ERROR (logged, nothing
 * written) if it cannot be. */
int  fy_pidfile_reload(const char *old, const char *path);
/* The reload that wrote path committed: remove old, unless it is the
 * same file under another name. */
void fy_pidfile_replaced(const char *old, const char *path);

#endif /* FY_PIDFILE_H */
