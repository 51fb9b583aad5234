/*
 * fy_log.h -- the error log.
 *
 * Lines look like nginx's:
 *   2026/11/24 21:10:26 [error] 1234#0: message: Connection refused (111)
 * The level names are nginx's (debug info notice warn error crit alert
 * emerg) so tests and operators can grep for "[emerg]".  When err is
 * non-zero, strerror(err) and the number are appended.
 */
#ifndef FY_LOG_H
#define FY_LOG_H

enum {
    FY_LOG_EMERG = 1,
    FY_LOG_ALERT,
    FY_LOG_CRIT,
    FY_LOG_ERR,
    FY_LOG_WARN,
    FY_LOG_NOTICE,
    FY_LOG_INFO,
    FY_LOG_DEBUG
};

typedef struct fy_log_s  fy_log_t;

struct fy_log_s {
    int        fd;       /* 2 for stderr */
    int        level;    /* messages above this level are dropped */
    char      *path;     /* NULL for stderr */
    int        startup;  /* before the configured log is open: lines read
                            "ferry: [emerg] ..." on stderr, like nginx's */
    /* error_log in http, server, location (fy_http_error_log.c): the
     * logs of one level are chained; the head's max is the highest
     * level of its chain, checked before anything is formatted */
    fy_log_t  *next;
    int        max;
    /* "syslog:..." (fy_syslog.c): lines go there, fd is -1 */
    struct fy_syslog_s  *syslog;
};

extern fy_log_t  fy_log;      /* the process-wide error log (with more
                                 error_log in main chained at next) */
/* Where fy_log_error() writes while an event handler runs: the logs of
 * the connection's server or location (fy_event_t.log), NULL for
 * fy_log.  Set and cleared by the event loop around each handler. */
extern fy_log_t *fy_log_cur;

void fy_log_error(int level, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Parse "debug".."emerg"; returns the level or -1. */
int  fy_log_level_from_name(const char *name, size_t len);
const char *fy_log_level_name(int level);
/* Open path for appending (NULL or "stderr" means fd 2); FY_OK/FY_ERROR */
int  fy_log_open(fy_log_t *log, const char *path, int level);
/* Reopen the log files of a chain in place (SIGUSR1 / -s reopen). */
void fy_log_reopen(fy_log_t *log);
void fy_log_reopen_fd(const char *path, int fd, int uid);
/* A further log of main, chained after head (to syslog when sl is
 * not NULL, path unused); FY_OK/FY_ERROR. */
int  fy_log_open_more(fy_log_t *head, const char *path,
                      struct fy_syslog_s *sl, int level);
/* Close a chain of main logs not written to any more (descriptors 0-2
 * stay open), free what fy_log_open* allocated for it; head itself is
 * the caller's. */
void fy_log_close(fy_log_t *head);
/* The main log to syslog: a copy of sl that outlives its cycle. */
int  fy_log_open_syslog(fy_log_t *log, const struct fy_syslog_s *sl,
                        int level);
/* "Nov 26 07:05:03", the local time as syslog headers have it. */
size_t fy_log_syslog_time(char *buf, size_t size);

/* The highest level a chain of logs writes: one log's own, or the
 * head's max when there are several. */
#define fy_log_limit(log)  ((log)->next ? (log)->max : (log)->level)

#define fy_log_debug(...)                                                   \
    do { if (fy_log_limit(fy_log_cur ? fy_log_cur : &fy_log)              \
             >= FY_LOG_DEBUG)                                               \
             fy_log_error(FY_LOG_DEBUG, 0, __VA_ARGS__); } while (0)

#endif /* FY_LOG_H */
