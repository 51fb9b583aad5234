/*
 * fy_alog.c -- access log files, shared by http's access_log
 * (fy_http_log.c) and stream's (fy_stream_log.c), as nginx's modules
 * share their open files and buffers.
 *
 * One file per path for the whole cycle, opened by the configuration
 * reader (so -t and a reload catch an unopenable path) and inherited by
 * the workers; every access_log naming the path writes through it.
 * With buffer= or gzip (nginx: "writes to log will be buffered") each
 * process collects lines in a buffer of its own and writes them when
 * the next line does not fit, when the oldest is flush= old, on SIGUSR1
 * before the file is reopened, and when the worker exits.  With gzip
 * each write is one whole gzip member of the buffer (zlib, level 1 by
 * default), so "zcat" reads the file at any time, as nginx's.  Without
 * a buffer a line is one write() to a file opened O_APPEND, so workers'
 * lines never interleave.
 *
 * A PATH with variables names its file per line: opened, written and
 * closed, or with open_log_file_cache kept open by the process (an LRU
 * list of at most max= descriptors, closed when inactive= passed
 * without a line, kept only after min_uses= lines, and after valid=
 * checked to be still the file of the name, so that a renamed log is
 * left for a new one), as nginx's open file cache does for logs.
 */
#include "fy_core.h"
#include "fy_alog.h"
#include "fy_event.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <zlib.h>

typedef struct fy_alog_cached_s  fy_alog_cached_t;

/* one name of an open_log_file_cache, in one process */
struct fy_alog_cached_s {
    int                fd;          /* -1: closed, used fewer than
                                       min_uses times */
    dev_t              dev;         /* the file of fd, for valid= */
    ino_t              ino;
    unsigned           uses;
    uint64_t           checked;     /* opened, or found the name's */
    uint64_t           accessed;
    fy_alog_cached_t  *prev;        /* the most recently used first */
    fy_alog_cached_t  *next;
    char               path[];
};

struct fy_alog_cache_s {
    unsigned           max;
    unsigned           min_uses;
    int64_t            inactive;    /* ms */
    int64_t            valid;       /* ms */
    /* this process's, from its first line */
    unsigned           n;
    fy_alog_cached_t  *head;
    fy_alog_cached_t  *tail;
    fy_event_t         ev;          /* closes the inactive ones */
};

/* The running cycle's files, in this process */
static fy_alog_file_t  *fy_alog_files;
static fy_event_t       fy_alog_flush_ev = { .timer_index = -1 };

/* "name=VALUE": the VALUE, or NULL */
static int
fy_alog_value(const fy_str_t *arg, const char *name, fy_str_t *v)
{
    size_t  n = strlen(name);

    if (arg->len < n || memcmp(arg->data, name, n) != 0) {
        return 0;
    }
    v->data = arg->data + n;
    v->len = arg->len - n;
    return 1;
}

int
fy_alog_param(fy_conf_t *cf, const fy_str_t *arg, fy_alog_params_t *p)
{
    fy_str_t  v;
    int64_t   n;

    if (fy_alog_value(arg, "buffer=", &v)) {
        n = fy_conf_parse_size(&v);
        if (n <= 0 || n > 16 * 1024 * 1024) {
            fy_conf_error(cf, "invalid buffer size \"%.*s\"", (int) v.len,
                          (char *) v.data);
            return -1;
        }
        p->size = (size_t) n;
        return 1;
    }
    if (fy_alog_value(arg, "flush=", &v)) {
        p->flush = fy_conf_parse_msec(&v);
        if (p->flush <= 0) {
            fy_conf_error(cf, "invalid flush time \"%.*s\"", (int) v.len,
                          (char *) v.data);
            return -1;
        }
        return 1;
    }
    if (fy_str_eq(arg, "gzip") || fy_alog_value(arg, "gzip=", &v)) {
        /* gzip buffers, 64K unless buffer= says (before or after) */
        if (p->size == 0) {
            p->size = 64 * 1024;
        }
        p->gzip = 1;
        if (arg->len == 4) {
            return 1;
        }
        n = fy_atoi(v.data, v.len);
        if (n < 1 || n > 9) {
            fy_conf_error(cf, "invalid compression level \"%.*s\"",
                          (int) v.len, (char *) v.data);
            return -1;
        }
        p->gzip = (int) n;
        return 1;
    }
    return 0;
}

int
fy_alog_params_check(fy_conf_t *cf, const fy_alog_params_t *p,
                     const fy_str_t *path, int syslog, int variables)
{
    const char  *err = NULL;

    if (p->flush && p->size == 0) {
        fy_conf_error(cf, "no buffer is defined for access_log \"%.*s\"",
                      (int) path->len, (char *) path->data);
        return FY_ERROR;
    }
    if (p->size && syslog) {
        err = "logs to syslog cannot be buffered";
    } else if (p->size && variables) {
        err = "buffered logs cannot have variables in name";
    }
    if (err) {
        fy_conf_error(cf, "%s", err);
        return FY_ERROR;
    }
    return FY_OK;
}

static void
fy_alog_file_close(void *data)
{
    fy_alog_file_t  *f = data;

    if (f->fd != -1) {
        close(f->fd);
        f->fd = -1;
    }
    free(f->buf);
    f->buf = NULL;
}

fy_alog_file_t *
fy_alog_file(fy_conf_t *cf, const char *path, const fy_alog_params_t *p)
{
    fy_cycle_t      *cycle = cf->cycle;
    fy_alog_file_t  *f;

    for (f = cycle->access_logs; f; f = f->next) {
        if (strcmp(f->path, path) != 0) {
            continue;
        }
        /* one buffer per file: every buffered access_log of the path
         * must ask for the same one (nginx) */
        if (p->size == 0) {
            return f;
        }
        if (f->p.size == 0) {
            f->p = *p;
            return f;
        }
        if (f->p.size != p->size || f->p.flush != p->flush
            || f->p.gzip != p->gzip)
        {
            fy_conf_error(cf, "access_log \"%s\" already defined with "
                          "conflicting parameters", path);
            return NULL;
        }
        return f;
    }

    f = fy_pcalloc(cf->pool, sizeof(fy_alog_file_t));
    if (f == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    f->path = fy_palloc(cf->pool, strlen(path) + 1);
    if (f->path == NULL) {
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    strcpy(f->path, path);
    f->p = *p;
    f->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (f->fd == -1) {
        fy_conf_error(cf, "open() \"%s\" failed (%d: %s)", path, errno,
                      strerror(errno));
        return NULL;
    }
    if (fy_pool_cleanup_add(cf->pool, fy_alog_file_close, f) != FY_OK) {
        close(f->fd);
        fy_conf_error(cf, "cannot allocate memory");
        return NULL;
    }
    f->next = cycle->access_logs;
    cycle->access_logs = f;
    return f;
}

/* ---- writing ---- */

static void
fy_alog_write_fd(int fd, const char *path, const u_char *data, size_t len)
{
    ssize_t  n;

    do {
        n = write(fd, data, len);
    } while (n == -1 && errno == EINTR);

    if (n != (ssize_t) len) {
        fy_log_error(FY_LOG_ALERT, n == -1 ? errno : 0, "write() to \"%s\" "
                     "was incomplete: %zd of %zu", path, n, len);
    }
}

/* data as one whole gzip member, in one write(): a reader never sees
 * half a member, and members one after another are one gzip file */
static void
fy_alog_gzip(fy_alog_file_t *f, const u_char *data, size_t len)
{
    z_stream  zs;
    u_char   *out;
    uLong     bound;
    int       rc;

    memset(&zs, 0, sizeof(zs));
    rc = deflateInit2(&zs, f->p.gzip, Z_DEFLATED, MAX_WBITS + 16, 8,
                      Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
        fy_log_error(FY_LOG_ALERT, 0, "deflateInit2() failed (%d), %zu "
                     "bytes of \"%s\" lost", rc, len, f->path);
        return;
    }
    bound = deflateBound(&zs, (uLong) len);
    out = malloc(bound);
    if (out == NULL) {
        deflateEnd(&zs);
        fy_log_error(FY_LOG_ALERT, errno, "malloc(%lu) failed, %zu bytes of "
                     "\"%s\" lost", (unsigned long) bound, len, f->path);
        return;
    }
    zs.next_in = (Bytef *) data;
    zs.avail_in = (uInt) len;
    zs.next_out = out;
    zs.avail_out = (uInt) bound;
    rc = deflate(&zs, Z_FINISH);
    deflateEnd(&zs);
    if (rc != Z_STREAM_END) {
        fy_log_error(FY_LOG_ALERT, 0, "deflate() failed (%d), %zu bytes of "
                     "\"%s\" lost", rc, len, f->path);
    } else {
        fy_alog_write_fd(f->fd, f->path, out, (size_t) zs.total_out);
    }
    free(out);
}

static void
fy_alog_emit(fy_alog_file_t *f, const u_char *data, size_t len)
{
    if (f->p.gzip) {
        fy_alog_gzip(f, data, len);
    } else {
        fy_alog_write_fd(f->fd, f->path, data, len);
    }
}

static void
fy_alog_flush_file(fy_alog_file_t *f)
{
    if (f->used) {
        fy_alog_emit(f, f->buf, f->used);
        f->used = 0;
    }
}

static void
fy_alog_flush_handler(fy_event_t *ev)
{
    fy_alog_file_t  *f;
    uint64_t         next = 0, left;

    fy_unused(ev);

    for (f = fy_alog_files; f; f = f->next) {
        if (f->used == 0 || f->p.flush == 0) {
            continue;
        }
        if (fy_current_msec - f->first >= (uint64_t) f->p.flush) {
            fy_alog_flush_file(f);
        } else {
            left = (uint64_t) f->p.flush - (fy_current_msec - f->first);
            next = next ? fy_min(next, left) : left;
        }
    }
    if (next) {
        fy_timer_add(&fy_alog_flush_ev, next);
    }
}

void
fy_alog_write(fy_alog_file_t *f, const u_char *line, size_t len)
{
    if (f->fd == -1) {
        return;
    }
    if (f->p.size == 0) {
        fy_alog_write_fd(f->fd, f->path, line, len);
        return;
    }
    if (f->buf == NULL) {
        f->buf = malloc(f->p.size);
        if (f->buf == NULL) {
            fy_alog_emit(f, line, len);
            return;
        }
    }
    if (f->used + len > f->p.size) {
        fy_alog_flush_file(f);
    }
    if (len > f->p.size) {
        fy_alog_emit(f, line, len);
        return;
    }
    if (f->used == 0) {
        f->first = fy_current_msec;
        if (f->p.flush && !fy_timer_is_set(&fy_alog_flush_ev)) {
            fy_alog_flush_ev.handler = fy_alog_flush_handler;
            fy_timer_add(&fy_alog_flush_ev, (uint64_t) f->p.flush);
        }
    }
    memcpy(f->buf + f->used, line, len);
    f->used += len;
}

/* ---- open_log_file_cache ---- */

static void fy_alog_cache_timer(fy_event_t *ev);

const char *
fy_alog_cache_set(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_alog_cache_conf_t  *cc = (fy_alog_cache_conf_t *)
                                ((char *) conf + cmd->offset);
    fy_alog_cache_t       *c;
    fy_str_t               v;
    unsigned               i;
    int64_t                n;

    if (cc->set) {
        return "is duplicate";
    }
    cc->set = 1;
    if (fy_str_eq(&cf->args[1], "off")) {
        if (cf->nargs != 2) {
            fy_conf_error(cf, "invalid \"open_log_file_cache\" parameter "
                          "\"%s\"", cf->args[2].data);
            return FY_CONF_ERROR;
        }
        cc->cache = NULL;
        return FY_CONF_OK;
    }
    c = fy_pcalloc(cf->pool, sizeof(fy_alog_cache_t));
    if (c == NULL) {
        return "cannot allocate memory";
    }
    /* nginx's defaults */
    c->inactive = 10000;
    c->valid = 60000;
    c->min_uses = 1;
    for (i = 1; i < cf->nargs; i++) {
        n = -1;
        if (fy_alog_value(&cf->args[i], "max=", &v)) {
            n = fy_atoi(v.data, v.len);
            c->max = n > 0 && n < 1000000 ? (unsigned) n : 0;
        } else if (fy_alog_value(&cf->args[i], "min_uses=", &v)) {
            n = fy_atoi(v.data, v.len);
            c->min_uses = n > 0 && n < 1000000 ? (unsigned) n : 1;
        } else if (fy_alog_value(&cf->args[i], "inactive=", &v)) {
            n = c->inactive = fy_conf_parse_msec(&v);
        } else if (fy_alog_value(&cf->args[i], "valid=", &v)) {
            n = c->valid = fy_conf_parse_msec(&v);
        }
        if (n < 0) {
            fy_conf_error(cf, "invalid \"open_log_file_cache\" parameter "
                          "\"%s\"", cf->args[i].data);
            return FY_CONF_ERROR;
        }
    }
    if (c->max == 0) {
        fy_conf_error(cf, "\"open_log_file_cache\" must have \"max\" "
                      "parameter");
        return FY_CONF_ERROR;
    }
    c->ev.timer_index = -1;
    c->ev.handler = fy_alog_cache_timer;
    c->ev.data = c;
    cc->cache = c;
    return FY_CONF_OK;
}

void
fy_alog_cache_merge(const fy_alog_cache_conf_t *prev,
                    fy_alog_cache_conf_t *conf)
{
    if (!conf->set) {
        *conf = *prev;
    }
}

static void
fy_alog_cached_free(fy_alog_cache_t *c, fy_alog_cached_t *e)
{
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        c->head = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        c->tail = e->prev;
    }
    if (e->fd != -1) {
        close(e->fd);
    }
    free(e);
    c->n--;
}

/* close and forget the names without a line for inactive= */
static void
fy_alog_cache_expire(fy_alog_cache_t *c)
{
    while (c->tail
           && fy_current_msec - c->tail->accessed >= (uint64_t) c->inactive)
    {
        fy_alog_cached_free(c, c->tail);
    }
}

static void
fy_alog_cache_timer(fy_event_t *ev)
{
    fy_alog_cache_t  *c = ev->data;

    fy_alog_cache_expire(c);
    if (c->tail) {
        fy_timer_add(&c->ev, (uint64_t) c->inactive
                             - (fy_current_msec - c->tail->accessed));
    }
}

/* fd opened on path, with the file's identity; -1 on failure (logged) */
static int
fy_alog_cached_open(fy_alog_cached_t *e)
{
    struct stat  st;

    e->fd = open(e->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (e->fd == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "open() \"%s\" failed", e->path);
        return -1;
    }
    if (fstat(e->fd, &st) == 0) {
        e->dev = st.st_dev;
        e->ino = st.st_ino;
    }
    e->checked = fy_current_msec;
    return e->fd;
}

static void
fy_alog_cache_write(fy_alog_cache_t *c, const char *path, size_t plen,
                    const u_char *line, size_t len)
{
    fy_alog_cached_t  *e;
    struct stat        st;

    fy_alog_cache_expire(c);

    for (e = c->head; e; e = e->next) {
        if (strcmp(e->path, path) == 0) {
            break;
        }
    }
    if (e) {
        e->uses++;
        /* valid=: is the name still this file (not renamed away by a
         * rotation, nor replaced)?  If not, the name is opened anew. */
        if (e->fd != -1
            && fy_current_msec - e->checked >= (uint64_t) c->valid)
        {
            if (stat(path, &st) == 0 && st.st_dev == e->dev
                && st.st_ino == e->ino)
            {
                e->checked = fy_current_msec;
            } else {
                close(e->fd);
                e->fd = -1;
            }
        }
        /* to the head */
        if (e->prev) {
            e->prev->next = e->next;
            if (e->next) {
                e->next->prev = e->prev;
            } else {
                c->tail = e->prev;
            }
            e->prev = NULL;
            e->next = c->head;
            c->head->prev = e;
            c->head = e;
        }
    } else {
        if (c->n >= c->max) {
            fy_alog_cached_free(c, c->tail);    /* the least recently used */
        }
        e = malloc(sizeof(fy_alog_cached_t) + plen + 1);
        if (e == NULL) {
            return;
        }
        memcpy(e->path, path, plen + 1);
        e->fd = -1;
        e->uses = 1;
        e->prev = NULL;
        e->next = c->head;
        if (c->head) {
            c->head->prev = e;
        } else {
            c->tail = e;
        }
        c->head = e;
        c->n++;
    }
    e->accessed = fy_current_msec;

    if (e->fd == -1 && fy_alog_cached_open(e) == -1) {
        fy_alog_cached_free(c, e);
        return;
    }
    fy_alog_write_fd(e->fd, e->path, line, len);
    if (e->uses < c->min_uses) {
        /* not used often enough yet to be kept open */
        close(e->fd);
        e->fd = -1;
    }
    if (!fy_timer_is_set(&c->ev)) {
        fy_timer_add(&c->ev, (uint64_t) c->inactive);
    }
}

void
fy_alog_write_named(fy_alog_cache_t *cache, const char *conf_path,
                    const char *prefix, const u_char *name, size_t n,
                    const char *client, const u_char *line, size_t len)
{
    const u_char  *s, *end = name + n;
    char           stack[1024], *path;
    size_t         plen;
    int            fd;

    /* a client's value must not take the file out of its tree */
    for (s = name; s + 1 < end; s++) {
        if (s[0] == '.' && s[1] == '.' && (s == name || s[-1] == '/')
            && (s + 2 == end || s[2] == '/'))
        {
            break;
        }
    }
    if (n == 0 || memchr(name, '\0', n) || s + 1 < end) {
        fy_log_error(FY_LOG_ERR, 0, "access_log \"%s\" gives an empty path "
                     "or one with a NUL or \"..\", client %s", conf_path,
                     client);
        return;
    }
    plen = name[0] == '/' ? 0 : strlen(prefix);
    path = plen + n + 1 <= sizeof(stack) ? stack : malloc(plen + n + 1);
    if (path == NULL) {
        return;
    }
    memcpy(path, prefix, plen);
    memcpy(path + plen, name, n);
    path[plen + n] = '\0';

    if (cache) {
        fy_alog_cache_write(cache, path, plen + n, line, len);
    } else {
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd == -1) {
            fy_log_error(FY_LOG_CRIT, errno, "open() \"%s\" failed", path);
        } else {
            fy_alog_write_fd(fd, path, line, len);
            close(fd);
        }
    }
    if (path != stack) {
        free(path);
    }
}

/* ---- per process ---- */

void
fy_alog_init_process(fy_cycle_t *cycle)
{
    fy_alog_files = cycle->access_logs;
}

void
fy_alog_flush_all(void)
{
    fy_alog_file_t  *f;

    for (f = fy_alog_files; f; f = f->next) {
        fy_alog_flush_file(f);
    }
}

/* The master does it first (as root, giving the files to uid), so that
 * workers running as the configured user find files they may open, and
 * workers forked later inherit the new ones. */
void
fy_alog_reopen(int uid)
{
    fy_alog_file_t  *f;

    for (f = fy_alog_files; f; f = f->next) {
        fy_alog_flush_file(f);
        fy_log_reopen_fd(f->path, f->fd, uid);
    }
}

/* ---- escaping ---- */

/* The bytes each escape= keeps as they are, [0] default, [1] json;
 * made at the first use (the same in every process). */
static u_char  fy_alog_plain[2][256];
static int     fy_alog_plain_made;

static void
fy_alog_plain_make(void)
{
    unsigned  c;

    for (c = 0; c < 256; c++) {
        fy_alog_plain[0][c] = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
        fy_alog_plain[1][c] = c >= 0x20 && c != '"' && c != '\\';
    }
    fy_alog_plain_made = 1;
}

#if defined(__SSE2__)

#include <emmintrin.h>

/* 16 bytes at p: a bit set for each that escape= default (json: 1)
 * changes, from the same rules as fy_alog_plain: outside 0x20..0x7e
 * (json: below 0x20), '"' or '\\'.  A value's runs are looked at
 * sixteen bytes a step (a User-Agent is a hundred or more). */
static inline unsigned
fy_alog_special16(const u_char *p, int json)
{
    __m128i  x = _mm_loadu_si128((const __m128i *) p);
    __m128i  d = _mm_sub_epi8(x, _mm_set1_epi8(0x20));
    __m128i  in = _mm_cmpeq_epi8(
                      _mm_min_epu8(d, _mm_set1_epi8(json ? (char) 0xdf
                                                         : 0x5e)), d);
    __m128i  q = _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                              _mm_cmpeq_epi8(x, _mm_set1_epi8('\\')));

    return ((unsigned) _mm_movemask_epi8(in) ^ 0xffff)
           | (unsigned) _mm_movemask_epi8(q);
}

#endif

size_t
fy_alog_escape(unsigned esc, const u_char *v, size_t n, u_char *buf,
               size_t size)
{
    static const char  hex[] = "0123456789ABCDEF";
    const u_char      *plain;
    size_t             len = 0, i = 0, run, w;
    u_char             c;

    if (esc == FY_ALOG_ESC_NONE) {
        len = fy_min(n, size);
        memcpy(buf, v, len);
        return len;
    }
    if (!fy_alog_plain_made) {
        fy_alog_plain_make();
    }
    plain = fy_alog_plain[esc == FY_ALOG_ESC_JSON];

    /* runs of plain bytes copied whole: a value is mostly that */
    while (i < n) {
        run = i;
#if defined(__SSE2__)
        while (n - i >= 16) {
            unsigned  m = fy_alog_special16(v + i, esc == FY_ALOG_ESC_JSON);

            if (m) {
                i += (size_t) __builtin_ctz(m);
                break;
            }
            i += 16;
        }
#endif
        while (i < n && plain[v[i]]) {
            i++;
        }
        w = fy_min(i - run, size - len);
        memcpy(buf + len, v + run, w);
        len += w;
        if (i == n || len == size) {
            break;
        }
        c = v[i++];
        w = esc == FY_ALOG_ESC_DEFAULT ? 4 : c == '"' || c == '\\' ? 2 : 6;
        if (len + w > size) {
            break;
        }
        if (w == 2) {
            buf[len] = '\\';
            buf[len + 1] = c;
        } else {
            memcpy(buf + len, w == 4 ? "\\x" : "\\u00", w - 2);
            buf[len + w - 2] = (u_char) hex[c >> 4];
            buf[len + w - 1] = (u_char) hex[c & 15];
        }
        len += w;
    }
    return len;
}
