/*
 * fy_http_proxy_store.c -- proxy_store, proxy_store_access (and their
 * fastcgi_, uwsgi_, scgi_ twins): a proxied 200 saved to a file as
 * nginx saves it, for mirroring static files from an upstream:
 *
 *   location /images/ {
 *       root /data/www;
 *       error_page 404 = /fetch$uri;
 *   }
 *   location /fetch/ {
 *       internal;
 *       proxy_pass http://backend/;
 *       proxy_store on;                   # or a path with variables
 *       proxy_store_access user:rw group:rw all:r;
 *       alias /data/www/;
 *   }
 *
 * The body is written, as it is read from the upstream (the relay's
 * scan, fy_proxy_scan), to a temporary file beside the target; when
 * the response was read whole it gets its mode and is renamed into
 * place (directories made as needed), else it is removed.  nginx writes
 * the temporary file under proxy_temp_path, which ferry does not use.
 * The writes block the worker as the cache's do; unset, this costs a
 * response one test of the location's setting.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The setting of a level: path NULL for "off". */
typedef struct fy_http_store_s {
    fy_http_cv_t        *path;          /* "on": $request_filename */
} fy_http_store_t;

/* One response being stored. */
typedef struct fy_http_store_req_s {
    int                  fd;            /* -1: closed */
    char                *tmp;
    char                *path;
} fy_http_store_req_t;

#define FY_HTTP_ANY  (FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC)

static unsigned  fy_http_store_seq;

/* proxy_store on | off | PATH (variables allowed); the fastcgi_,
 * uwsgi_, scgi_ rows point cmd->offset at their module's field. */
const char *
fy_http_proxy_store(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_store_t **slot = (fy_http_store_t **) ((char *) conf
                                                   + cmd->offset);
    fy_http_store_t  *st;
    fy_str_t          v = cf->args[1];

    if (*slot) {
        return "is duplicate";
    }
    st = fy_pcalloc(cf->pool, sizeof(fy_http_store_t));
    if (st == NULL) {
        return "cannot allocate memory";
    }
    if (fy_str_eq(&v, "on")) {
        fy_str_set(&v, "$request_filename");
    }
    if (!fy_str_eq(&cf->args[1], "off")) {
        if (v.len == 0) {
            fy_conf_error(cf, "empty path in \"%s\"", cmd->name);
            return FY_CONF_ERROR;
        }
        st->path = fy_http_cv_compile(cf, &v);
        if (st->path == NULL) {
            return FY_CONF_ERROR;
        }
    }
    *slot = st;
    return FY_CONF_OK;
}

/* proxy_store_access [user:r|rw] [group:r|rw] [all:r|rw] (nginx's
 * ngx_conf_set_access_slot): the file's mode, user rw by default. */
const char *
fy_http_proxy_store_access(fy_conf_t *cf, const fy_command_t *cmd,
                           void *conf)
{
    int       *access = (int *) ((char *) conf + cmd->offset);
    fy_str_t  *a;
    unsigned   i, shift, right;
    u_char    *r;

    if (*access != FY_CONF_UNSET_INT) {
        return "is duplicate";
    }
    *access = 0600;
    for (i = 1; i < cf->nargs; i++) {
        a = &cf->args[i];
        if (a->len > 5 && strncmp((char *) a->data, "user:", 5) == 0) {
            shift = 6;
            r = a->data + 5;
        } else if (a->len > 6 && strncmp((char *) a->data, "group:", 6) == 0)
        {
            shift = 3;
            r = a->data + 6;
        } else if (a->len > 4 && strncmp((char *) a->data, "all:", 4) == 0) {
            shift = 0;
            r = a->data + 4;
        } else {
            goto invalid;
        }
        if (strcmp((char *) r, "rw") == 0) {
            right = 6;
        } else if (strcmp((char *) r, "r") == 0) {
            right = 4;
        } else {
            goto invalid;
        }
        *access = (int) (((unsigned) *access & ~(7u << shift))
                         | right << shift);
    }
    return FY_CONF_OK;

invalid:
    fy_conf_error(cf, "invalid value \"%s\" in \"%s\"", a->data, cmd->name);
    return FY_CONF_ERROR;
}

/* The temporary file goes if the store did not finish. */
static void
fy_proxy_store_cleanup(void *data)
{
    fy_http_store_req_t  *s = data;

    if (s->fd != -1) {
        close(s->fd);
        s->fd = -1;
        unlink(s->tmp);
    }
}

/* mkdir -p of path's directories, with the file's mode plus x where r. */
static void
fy_proxy_store_dirs(char *path, int access)
{
    mode_t  mode = (mode_t) (access | (access & 0444) >> 2);
    char   *s;

    for (s = strchr(path + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = '\0';
        (void) mkdir(path, mode);
        *s = '/';
    }
}

void
fy_proxy_store_start(fy_http_proxy_t *p)
{
    fy_http_request_t    *r = p->r;
    fy_http_store_req_t  *s;
    u_char               *v;
    size_t                len;

    if (r->loc->proxy_store->path == NULL       /* "off" */
        || p->status != 200 || r->head || r->parent
        || p->xa_redirect)                      /* another URI answers */
    {
        return;
    }
    v = fy_http_cv_eval(r, r->loc->proxy_store->path, &len);
    if (v == NULL || len == 0 || v[0] != '/') {
        fy_log_error(FY_LOG_ERR, 0, "store path \"%.*s\" is not absolute, "
                     "not stored" FY_PROXY_CTX_FMT, (int) (v ? len : 0),
                     v ? (char *) v : "", FY_PROXY_CTX(p));
        return;
    }
    s = fy_pcalloc(r->pool, sizeof(fy_http_store_req_t));
    if (s == NULL) {
        return;
    }
    s->fd = -1;
    s->path = fy_pstrndup(r->pool, v, len);
    s->tmp = fy_palloc(r->pool, len + 40);
    if (s->path == NULL || s->tmp == NULL
        || fy_pool_cleanup_add(r->pool, fy_proxy_store_cleanup, s) != FY_OK)
    {
        return;
    }
    snprintf(s->tmp, len + 40, "%s.ferry-%d-%u", s->path, (int) fy_getpid(),
             fy_http_store_seq++);
    fy_proxy_store_dirs(s->tmp, r->loc->proxy_store_access);
    s->fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (s->fd == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "open() \"%s\" failed, not stored"
                     FY_PROXY_CTX_FMT, s->tmp, FY_PROXY_CTX(p));
        return;
    }
    p->store = s;
}

/* A failed store: logged by the caller, the file removed. */
static void
fy_proxy_store_drop(fy_http_proxy_t *p)
{
    fy_proxy_store_cleanup(p->store);
    p->store = NULL;
}

void
fy_proxy_store_body(fy_http_proxy_t *p, const u_char *data, size_t len)
{
    fy_http_store_req_t  *s = p->store;
    ssize_t               n;

    while (len) {
        n = write(s->fd, data, len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fy_log_error(FY_LOG_CRIT, errno, "write() \"%s\" failed, not "
                         "stored" FY_PROXY_CTX_FMT, s->tmp, FY_PROXY_CTX(p));
            fy_proxy_store_drop(p);
            return;
        }
        data += n;
        len -= (size_t) n;
    }
}

void
fy_proxy_store_end(fy_http_proxy_t *p)
{
    fy_http_store_req_t  *s = p->store;

    if (p->up_failed) {
        fy_proxy_store_drop(p);         /* an incomplete body */
        return;
    }
    if (fchmod(s->fd, (mode_t) p->r->loc->proxy_store_access) == -1
        || close(s->fd) == -1)
    {
        s->fd = -1;
        fy_log_error(FY_LOG_CRIT, errno, "closing \"%s\" failed, not "
                     "stored" FY_PROXY_CTX_FMT, s->tmp, FY_PROXY_CTX(p));
        unlink(s->tmp);
        p->store = NULL;
        return;
    }
    s->fd = -1;
    if (rename(s->tmp, s->path) == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "rename() \"%s\" to \"%s\" "
                     "failed" FY_PROXY_CTX_FMT, s->tmp, s->path,
                     FY_PROXY_CTX(p));
        unlink(s->tmp);
    }
    p->store = NULL;
}
