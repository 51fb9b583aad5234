/*
 * fy_alog.h -- access log files, what http's and stream's access_log
 * share: the buffer=, gzip[=LEVEL] and flush= parameters, one file
 * per path for the whole cycle, the buffered and gzipped writing, the
 * flush timer, SIGUSR1's reopen, the flush at a worker's exit, and the
 * files of a PATH with variables (fy_alog_write_named) with their
 * open_log_file_cache.
 */
#ifndef FY_ALOG_H
#define FY_ALOG_H

#include "fy_core.h"
#include "fy_cycle.h"

/* log_format's escape=: how a variable's value goes into a line */
enum {
    FY_ALOG_ESC_NONE = 0,       /* as it is */
    FY_ALOG_ESC_DEFAULT,        /* " \ and not printable ASCII: \xXX */
    FY_ALOG_ESC_JSON            /* \" \\ and control bytes: \u00XX */
};
/* the most bytes one byte of a value becomes, per escape= */
#define fy_alog_escape_max(esc)                                            \
    ((esc) == FY_ALOG_ESC_JSON ? 6 : (esc) == FY_ALOG_ESC_DEFAULT ? 4 : 1)

/* v (n bytes) escaped as esc says into buf, at most size bytes and no
 * escape cut in half; returns the length.  Variables carry clients'
 * bytes: unescaped, a newline in one would forge a log line. */
size_t fy_alog_escape(unsigned esc, const u_char *v, size_t n, u_char *buf,
                      size_t size);

/* buffer=, gzip and flush= of one access_log directive */
typedef struct {
    size_t    size;       /* 0: unbuffered */
    int64_t   flush;      /* ms, 0: only when full */
    int       gzip;       /* compression level 1..9, 0: none */
} fy_alog_params_t;

typedef struct fy_alog_file_s  fy_alog_file_t;
typedef struct fy_alog_cache_s fy_alog_cache_t;

/* open_log_file_cache of a level (http, server, location; stream,
 * stream server): the field its row's offset names */
typedef struct {
    fy_alog_cache_t  *cache;     /* NULL: off */
    unsigned          set;       /* the level has the directive */
} fy_alog_cache_conf_t;

struct fy_alog_file_s {
    char            *path;       /* absolute */
    int              fd;
    fy_alog_params_t p;          /* of the first buffered directive */
    u_char          *buf;        /* per process, from its first line */
    size_t           used;
    uint64_t         first;      /* when the oldest buffered line came */
    fy_alog_file_t  *next;       /* all files of the cycle */
};

/* 1: arg is buffer=, flush= or gzip[=N] and went into p; 0: none of
 * them; -1: a bad value (the error is logged with file and line). */
int fy_alog_param(fy_conf_t *cf, const fy_str_t *arg, fy_alog_params_t *p);

/* The rules between the parameters and the kind of log of path (as
 * written), nginx's: FY_OK, or FY_ERROR (logged with file and line). */
int fy_alog_params_check(fy_conf_t *cf, const fy_alog_params_t *p,
                         const fy_str_t *path, int syslog, int variables);

/* The cycle's file for path (absolute), opened when the first
 * access_log names it; NULL on error (logged with file and line). */
fy_alog_file_t *fy_alog_file(fy_conf_t *cf, const char *path,
                             const fy_alog_params_t *p);

/* One line (with its "\n") to f: buffered, or written now. */
void fy_alog_write(fy_alog_file_t *f, const u_char *line, size_t len);

/* open_log_file_cache max=N [inactive=TIME] [min_uses=N] [valid=TIME]
 * | off, into the fy_alog_cache_conf_t at cmd->offset of conf */
const char *fy_alog_cache_set(fy_conf_t *cf, const fy_command_t *cmd,
                              void *conf);
/* a level without the directive takes its parent's */
void fy_alog_cache_merge(const fy_alog_cache_conf_t *prev,
                         fy_alog_cache_conf_t *conf);

/* One line to the file named by name (n bytes, relative names under
 * prefix) for a PATH with variables (conf_path, for the messages):
 * through cache's descriptors, or (cache NULL) opened, written and
 * closed. */
void fy_alog_write_named(fy_alog_cache_t *cache, const char *conf_path,
                         const char *prefix, const u_char *name, size_t n,
                         const char *client, const u_char *line,
                         size_t len);

/* per process: the running cycle's files (at start and each reload in
 * the master, at start in a worker) */
void fy_alog_init_process(fy_cycle_t *cycle);
void fy_alog_flush_all(void);
/* SIGUSR1: write what is buffered, then open every path again onto its
 * descriptor (owned by uid unless -1) */
void fy_alog_reopen(int uid);

#endif /* FY_ALOG_H */
