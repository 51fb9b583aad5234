/*
 * fy_pidfile.c -- the pid file ("pid"): the master's pid, read by
 * "ferry -s SIGNAL" and by the scripts that manage it.
 *
 * Written once the master runs (after daemon's fork), removed when it
 * exits.  A reload whose configuration names another file writes that
 * one before it commits (one that cannot be written fails the reload,
 * as in nginx) and removes the old one once the new configuration is
 * in charge; nginx removes it at once, so a reload that fails later
 * leaves it with no pid file at the old path.
 */
#include "fy_core.h"
#include "fy_pidfile.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

int
fy_pidfile_write(const char *path)
{
    char  buf[32];
    int   fd, n;

    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd == -1) {
        fy_log_error(FY_LOG_EMERG, errno, "open() \"%s\" failed", path);
        return FY_ERROR;
    }
    n = snprintf(buf, sizeof(buf), "%d\n", (int) getpid());
    if (write(fd, buf, (size_t) n) != n) {
        fy_log_error(FY_LOG_EMERG, errno, "write() to \"%s\" failed", path);
        close(fd);
        unlink(path);           /* no file naming nobody */
        return FY_ERROR;
    }
    close(fd);
    return FY_OK;
}

/*
 * Another master over the same pid file would fight this one for the
 * ports and then remove the pid file from under it.  A pid file is
 * live if its process exists and runs the same binary as we do; one
 * left by a master that died (its pid gone, or reused by some other
 * program) is only stale.  FY_OK to go on, FY_ERROR (logged) if a
 * master runs.
 */
int
fy_pidfile_check(const char *path)
{
    char     buf[32], link[64], exe[4096], self[4096];
    int      fd;
    long     pid;
    ssize_t  n, a, b;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return FY_OK;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return FY_OK;
    }
    buf[n] = '\0';
    pid = strtol(buf, NULL, 10);
    if (pid <= 0 || pid == (long) getpid()
        || (kill((pid_t) pid, 0) == -1 && errno == ESRCH))
    {
        return FY_OK;
    }

    snprintf(link, sizeof(link), "/proc/%ld/exe", pid);
    a = readlink(link, exe, sizeof(exe) - 1);
    b = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (a > 0 && b > 0 && (a != b || memcmp(exe, self, (size_t) a) != 0)) {
        fy_log_error(FY_LOG_WARN, 0, "pid file \"%s\" names process %ld, "
                     "which is not ferry; replacing the stale file", path,
                     pid);
        return FY_OK;
    }

    fy_log_error(FY_LOG_EMERG, 0, "ferry is already running (pid %ld, from "
                 "\"%s\")", pid, path);
    return FY_ERROR;
}

/* Remove the pid file only if it is still ours (a newer master may
 * have replaced it). */
void
fy_pidfile_delete(const char *path)
{
    char  buf[32];
    int   fd;
    ssize_t n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n > 0) {
        buf[n] = '\0';
        if (strtol(buf, NULL, 10) == (long) getpid()) {
            unlink(path);
        }
    }
}

int
fy_pidfile_reload(const char *old, const char *path)
{
    if (strcmp(old, path) == 0) {
        return FY_DECLINED;
    }
    if (fy_pidfile_check(path) != FY_OK || fy_pidfile_write(path) != FY_OK) {
        return FY_ERROR;
    }
    fy_log_error(FY_LOG_NOTICE, 0, "pid file \"%s\" written, \"%s\" is "
                 "removed if the reload succeeds", path, old);
    return FY_OK;
}

void
fy_pidfile_replaced(const char *old, const char *path)
{
    struct stat  a, b;

    /* two names of one file (a link): removing the old name would
     * remove the new file */
    if (stat(old, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev
        && a.st_ino == b.st_ino)
    {
        return;
    }
    fy_pidfile_delete(old);
}
