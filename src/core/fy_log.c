/*
 * fy_log.c -- the error log.
 *
 * The master and every worker append to the same file, so each line
 * goes out in a single write() on an O_APPEND descriptor and lines
 * never interleave.  Logging may happen in a signal handler (a worker
 * that dies, a failed reload), so this file formats into a stack
 * buffer, never allocates, and avoids localtime_r() and strerror():
 * both can take locks or allocate inside glibc.
 */
#include "fy_core.h"
#include "fy_syslog.h"

#include <fcntl.h>
#include <time.h>


/* nginx's NGX_MAX_ERROR_STR: longer messages are cut. */
#define FY_LOG_LINE_MAX   2048
/* Room kept for ": <strerror> (<errno>)\n" after a long message. */
#define FY_LOG_ERR_ROOM   128


/* Until the configured log is open: stderr, warnings and worse (what
 * -t reports about a configuration, a stale pid file, an ignored
 * "user"), as nginx shows them. */
fy_log_t  fy_log = { 2, FY_LOG_WARN, NULL, 0, NULL, FY_LOG_WARN, NULL };
fy_log_t *fy_log_cur;
pid_t     fy_pid;

static const char *fy_log_levels[] = {
    NULL, "emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"
};

/*
 * The local time zone offset, read with localtime_r() outside of the
 * logging path (at open and reopen), so a daylight-saving change is
 * picked up at the next log rotation.
 */
static long  fy_log_gmtoff;
static int   fy_log_gmtoff_set;


static void
fy_log_update_gmtoff(void)
{
    struct tm  tm;
    time_t     now;

    now = time(NULL);

    if (localtime_r(&now, &tm) != NULL) {
        fy_log_gmtoff = tm.tm_gmtoff;
    }

    fy_log_gmtoff_set = 1;
}


/*
 * Days since 1970-01-01 to a civil date, proleptic Gregorian.  The
 * calendar is shifted to start on March 1 so that the leap day is the
 * last day of the shifted year and months have a regular pattern.
 */
static void
fy_log_civil(int64_t days, int *year, int *month, int *mday)
{
    int64_t  era, doe, yoe, doy, mp, y;

    days += 719468;                     /* 0000-03-01 to 1970-01-01 */
    era = (days >= 0 ? days : days - 146096) / 146097;
    doe = days - era * 146097;          /* day of the 400-year era */
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;           /* month, March = 0 */

    *mday = (int) (doy - (153 * mp + 2) / 5 + 1);
    *month = (int) (mp < 10 ? mp + 3 : mp - 9);
    *year = (int) (y + (*month <= 2));
}


/* The local time now: date, and seconds into the day. */
static void
fy_log_now(int *year, int *month, int *mday, int64_t *secs)
{
    struct timespec  ts;
    int64_t          t, days;

    if (!fy_log_gmtoff_set) {
        fy_log_update_gmtoff();
    }

    clock_gettime(CLOCK_REALTIME, &ts);

    t = (int64_t) ts.tv_sec + fy_log_gmtoff;
    days = t / 86400;
    *secs = t % 86400;

    if (*secs < 0) {
        *secs += 86400;
        days--;
    }

    fy_log_civil(days, year, month, mday);
}


static size_t
fy_log_time(char *buf, size_t size)
{
    int64_t  secs;
    int      year, month, mday;
    int      n;

    fy_log_now(&year, &month, &mday, &secs);

    n = snprintf(buf, size, "%04d/%02d/%02d %02d:%02d:%02d ",
                 year, month, mday, (int) (secs / 3600),
                 (int) (secs / 60 % 60), (int) (secs % 60));

    return n < 0 ? 0 : fy_min((size_t) n, size - 1);
}


/* RFC 3164's TIMESTAMP, local time, the day padded with a space:
 * "Nov  6 07:05:03" (as nginx's syslog header). */
size_t
fy_log_syslog_time(char *buf, size_t size)
{
    static const char  months[12][4] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    int64_t            secs;
    int                year, month, mday;
    int                n;

    fy_log_now(&year, &month, &mday, &secs);

    n = snprintf(buf, size, "%s %2d %02d:%02d:%02d", months[month - 1],
                 mday, (int) (secs / 3600), (int) (secs / 60 % 60),
                 (int) (secs % 60));

    return n < 0 ? 0 : fy_min((size_t) n, size - 1);
}


static const char *
fy_log_strerror(int err)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 32)
    const char  *s;

    /* Untranslated and lock-free, unlike strerror(). */
    s = strerrordesc_np(err);

    return s ? s : "Unknown error";
#else
    return strerror(err);
#endif
}


void
fy_log_error(int level, int err, const char *fmt, ...)
{
    char      buf[FY_LOG_LINE_MAX];
    size_t    len, room;
    ssize_t   n;
    int       r;
    va_list   ap;
    fy_log_t *log = fy_log_cur ? fy_log_cur : &fy_log;

    if (level > fy_log_limit(log)) {
        return;
    }

    if (log->startup) {
        len = 0;
        r = snprintf(buf, sizeof(buf), "ferry: [%s] ",
                     fy_log_level_name(level));
    } else {
        len = fy_log_time(buf, sizeof(buf));
        r = snprintf(buf + len, sizeof(buf) - len, "[%s] %ld#0: ",
                     fy_log_level_name(level), (long) fy_getpid());
    }
    len += r < 0 ? 0 : (size_t) r;

    /* Cut the message short rather than lose the errno text. */
    room = sizeof(buf) - FY_LOG_ERR_ROOM - len;

    va_start(ap, fmt);
    r = vsnprintf(buf + len, room, fmt, ap);
    va_end(ap);

    if (r > 0) {
        len += fy_min((size_t) r, room - 1);
    }

    if (err) {
        r = snprintf(buf + len, sizeof(buf) - 1 - len, ": %s (%d)",
                     fy_log_strerror(err), err);
        if (r > 0) {
            len += fy_min((size_t) r, sizeof(buf) - 2 - len);
        }
    }

    buf[len++] = '\n';

    /* several error_log at one level all get the line (nginx) */
    for ( ; log; log = log->next) {
        if (level > log->level) {
            continue;
        }
        if (log->syslog) {
            fy_syslog_error(log->syslog, level, buf, len - 1);
            continue;
        }
        do {
            n = write(log->fd, buf, len);
        } while (n == -1 && errno == EINTR);
    }
}


int
fy_log_level_from_name(const char *name, size_t len)
{
    int  i;

    for (i = FY_LOG_EMERG; i <= FY_LOG_DEBUG; i++) {
        if (strlen(fy_log_levels[i]) == len
            && memcmp(fy_log_levels[i], name, len) == 0)
        {
            return i;
        }
    }

    return -1;
}


const char *
fy_log_level_name(int level)
{
    if (level < FY_LOG_EMERG || level > FY_LOG_DEBUG) {
        return "unknown";
    }

    return fy_log_levels[level];
}


static int
fy_log_open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}


int
fy_log_open(fy_log_t *log, const char *path, int level)
{
    char  *copy;
    int    fd;

    fy_log_update_gmtoff();

    if (path == NULL || strcmp(path, "stderr") == 0) {
        fd = 2;
        copy = NULL;

    } else {
        copy = strdup(path);
        if (copy == NULL) {
            fy_log_error(FY_LOG_EMERG, errno, "strdup() failed");
            return FY_ERROR;
        }

        fd = fy_log_open_file(path);
        if (fd == -1) {
            fy_log_error(FY_LOG_EMERG, errno, "open() \"%s\" failed", path);
            free(copy);
            return FY_ERROR;
        }
    }

    /* Descriptors 0-2 are the process's own, never ours to close. */
    if (log->fd > 2 && log->fd != fd) {
        close(log->fd);
    }

    free(log->path);

    log->fd = fd;
    log->level = level;
    log->path = copy;
    log->syslog = NULL;

    return FY_OK;
}


/*
 * After a rotation the path names a new file.  dup2() puts it on the
 * descriptor number already in use, so anything that holds that
 * number (an fd inherited by a child, stderr redirected to the log)
 * follows the new file too.
 */
int
fy_log_open_syslog(fy_log_t *log, const fy_syslog_t *sl, int level)
{
    fy_syslog_t  *copy;

    fy_log_update_gmtoff();

    copy = fy_syslog_dup(sl);
    if (copy == NULL) {
        fy_log_error(FY_LOG_EMERG, errno, "malloc() failed");
        return FY_ERROR;
    }
    if (log->fd > 2) {
        close(log->fd);
    }
    free(log->path);
    log->fd = -1;
    log->path = NULL;
    log->level = level;
    log->syslog = copy;
    return FY_OK;
}

int
fy_log_open_more(fy_log_t *head, const char *path, fy_syslog_t *sl,
                 int level)
{
    fy_log_t  *log, **last;
    int        rc;

    log = calloc(1, sizeof(fy_log_t));
    if (log == NULL) {
        fy_log_error(FY_LOG_EMERG, errno, "calloc() failed");
        return FY_ERROR;
    }
    log->fd = -1;
    rc = sl ? fy_log_open_syslog(log, sl, level)
            : fy_log_open(log, path, level);
    if (rc != FY_OK) {
        free(log);
        return FY_ERROR;
    }
    for (last = &head->next; *last; last = &(*last)->next) {
        /* void */
    }
    *last = log;
    head->max = head->level;
    for (log = head->next; log; log = log->next) {
        head->max = fy_max(head->max, log->level);
    }
    return FY_OK;
}

/* One log of a chain of main: its descriptor (never 0-2, the
 * process's own), its path and its syslog peer. */
static void
fy_log_close_one(fy_log_t *log)
{
    if (log->fd > 2) {
        close(log->fd);
    }
    log->fd = -1;
    free(log->path);
    log->path = NULL;
    if (log->syslog) {
        if (log->syslog->fd != -1) {
            close(log->syslog->fd);
        }
        free(log->syslog);
        log->syslog = NULL;
    }
}

void
fy_log_close(fy_log_t *head)
{
    fy_log_t  *log, *next;

    for (log = head->next; log; log = next) {
        next = log->next;
        fy_log_close_one(log);
        free(log);
    }
    head->next = NULL;
    fy_log_close_one(head);
}

static void fy_log_reopen_one(fy_log_t *log);

/* SIGUSR1 for one more log file (access logs, a server's error_log,
 * stream logs): path opened again onto the same descriptor number fd,
 * so every holder of fd writes to the new file, owned by uid unless -1
 * (workers running as "user" reopen it too). */
void
fy_log_reopen_fd(const char *path, int fd, int uid)
{
    int  nfd;

    nfd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (nfd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "open() \"%s\" failed, "
                     "still logging to the old file", path);
        return;
    }
    if (uid != -1 && fchown(nfd, (uid_t) uid, (gid_t) -1) == -1) {
        fy_log_error(FY_LOG_WARN, errno, "chown(\"%s\", %d) failed", path,
                     uid);
    }
    if (dup3(nfd, fd, O_CLOEXEC) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "dup3() for \"%s\" failed", path);
    }
    close(nfd);
}

void
fy_log_reopen(fy_log_t *log)
{
    for ( ; log; log = log->next) {
        fy_log_reopen_one(log);
    }
}

static void
fy_log_reopen_one(fy_log_t *log)
{
    int  fd, flags;

    fy_log_update_gmtoff();

    if (log->path == NULL) {
        return;
    }

    fd = fy_log_open_file(log->path);
    if (fd == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "open() \"%s\" failed, "
                     "still logging to the old file", log->path);
        return;
    }

    if (fd == log->fd) {
        return;
    }

    /* Keep the descriptor's close-on-exec setting: it may be stderr. */
    flags = fcntl(log->fd, F_GETFD);
    flags = (flags != -1 && (flags & FD_CLOEXEC)) ? O_CLOEXEC : 0;

    if (dup3(fd, log->fd, flags) == -1) {
        fy_log_error(FY_LOG_ALERT, errno, "dup3() for \"%s\" failed",
                     log->path);
        log->fd = fd;
        return;
    }

    close(fd);
}
