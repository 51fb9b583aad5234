/*
 * fy_http_static.c -- serving files: root, alias, index and types, and
 * the content handler that sends a file with sendfile().
 *
 *     root html;                            (relative to the prefix)
 *     location /i/ { alias /data/images/; }
 *     index index.html index.htm;
 *     types { text/html html htm; }
 *
 * A location serves files when it has a root or alias (its own or
 * inherited) and no return, proxy_pass or other content handler.
 *
 * The path is never used as one string: the root (or alias) directory
 * is opened, then each segment of the request path is opened under the
 * previous one with O_NOFOLLOW.  A symbolic link anywhere below the
 * root is refused (403), as nginx's "disable_symlinks on"; ".." and NUL
 * cannot appear in a segment (fy_http_uri.c resolves dot segments, and
 * the handler checks again), so nothing outside the root is reachable.
 *
 * gzip (fy_http_gzip*.c): with gzip_static, "name.gz" next to the file
 * is sent in its place to a client that takes gzip; with gzip, a file
 * of a gzip_types type is compressed on the way, read in pieces, as
 * sendfile() cannot compress.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"
#include "fy_worker.h"
#include "fy_shm.h"
#include "fy_times.h"
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/sendfile.h>
#include "fy_tls.h"
#include <sys/stat.h>
#include <time.h>

/* Bytes sent to one client before letting other connections run: the
 * body goes on after a 1 ms timer (a posted event would run again in
 * the same turn, and a 0 ms timer in the same timer run). */
#define FY_HTTP_STATIC_TURN  (4 * 1024 * 1024)

/* The file of a request being sent: r->file. */
typedef struct fy_http_static_file_s {
    int    fd;          /* -1 once closed */
    int    dir;         /* the file's directory while looking, or -1 */
    off_t  pos;         /* next byte to send */
    off_t  end;         /* one past the last byte to send */
    unsigned  yielded:1;   /* the write timer is the 1 ms pause */
    unsigned  gz_how:2;    /* FY_HTTP_GZIP_*: the decision, for headers */
    fy_http_gzip_t *gz;    /* compressing on the way, or NULL */
    u_char   *in;          /* its read buffer */
} fy_http_static_file_t;

/* Read and compressed at a time when gzip compresses a file, and how
 * much to compress for one client before the others get a turn. */
#define FY_HTTP_STATIC_GZIP_READ  16384
#define FY_HTTP_STATIC_GZIP_TURN  (256 * 1024)

static const char *fy_http_static_root(fy_conf_t *cf, const fy_command_t *cmd,
    void *conf);
static const char *fy_http_static_index(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_static_types(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static void fy_http_static_handler(fy_http_request_t *r);
static void fy_http_static_send_body(fy_http_request_t *r);
static void fy_http_static_send_gzip(fy_http_request_t *r);

const fy_command_t  fy_http_static_commands[] = {

    { "root", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_static_root, FY_CONF_LOC_OFF, 0, NULL },

    { "alias", FY_CONF_LOC, 0, 1, 1, fy_http_static_root, FY_CONF_LOC_OFF,
      0, NULL },

    { "index", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, FY_CONF_MANY,
      fy_http_static_index, FY_CONF_LOC_OFF, 0, NULL },

    { "types", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, FY_CONF_BLOCK, 0, 0,
      fy_http_static_types, FY_CONF_LOC_OFF, 0, NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

/* Without any "types" block, as nginx's built-in list. */
static fy_http_type_t  fy_http_static_default_types[] = {
    { fy_string("html"), fy_string("text/html") },
    { fy_string("gif"), fy_string("image/gif") },
    { fy_string("jpg"), fy_string("image/jpeg") },
};

static fy_str_t  fy_http_static_default_index = fy_string("index.html");


/* ---- directives ---- */

static fy_http_static_conf_t *
fy_http_static_conf(fy_conf_t *cf, fy_http_loc_conf_t *lcf)
{
    if (lcf->static_conf == NULL) {
        lcf->static_conf = fy_pcalloc(cf->pool, sizeof(fy_http_static_conf_t));
    }
    return lcf->static_conf;
}

/* root and alias: one path per level, as in nginx. */
static const char *
fy_http_static_root(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    char                   *path;
    size_t                  len;

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->root || scf->alias) {
        fy_conf_error(cf, "\"%s\" directive is duplicate, \"%s\" was "
                      "specified earlier", cmd->name,
                      scf->root ? "root" : "alias");
        return FY_CONF_ERROR;
    }
    if (cf->args[1].len == 0
        || memchr(cf->args[1].data, '\0', cf->args[1].len))
    {
        return "has an invalid path";
    }

    path = fy_conf_full_name(cf, cf->prefix, &cf->args[1]);
    if (path == NULL) {
        return "out of memory";
    }
    len = strlen(path);
    while (len > 1 && path[len - 1] == '/') {
        path[--len] = '\0';
    }

    if (cmd->name[0] == 'r') {
        scf->root = path;
    } else {
        scf->alias = path;
    }
    return FY_CONF_OK;
}

static const char *
fy_http_static_index(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    fy_str_t               *name;
    unsigned                i;

    fy_unused(cmd);

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->index) {
        return "is duplicate";
    }
    scf->index = fy_palloc(cf->pool, sizeof(fy_array_t));
    if (scf->index == NULL) {
        return "out of memory";
    }
    fy_array_init(scf->index, cf->pool, cf->nargs - 1, sizeof(fy_str_t));

    for (i = 1; i < cf->nargs; i++) {
        /* a file in the directory itself: no paths, no "..", no NUL */
        if (cf->args[i].len == 0
            || memchr(cf->args[i].data, '/', cf->args[i].len)
            || memchr(cf->args[i].data, '\0', cf->args[i].len)
            || fy_str_eq(&cf->args[i], ".") || fy_str_eq(&cf->args[i], ".."))
        {
            fy_conf_error(cf, "invalid index file name \"%.*s\", expected "
                          "a file name without \"/\"",
                          (int) cf->args[i].len, cf->args[i].data);
            return FY_CONF_ERROR;
        }
        name = fy_array_push(scf->index);
        if (name == NULL) {
            return "out of memory";
        }
        name->data = (u_char *) fy_pstrndup(cf->pool, cf->args[i].data,
                                            cf->args[i].len);
        name->len = cf->args[i].len;
        if (name->data == NULL) {
            return "out of memory";
        }
    }
    return FY_CONF_OK;
}

/* One line of a types block: "text/html html htm;" */
static int
fy_http_static_type(fy_conf_t *cf)
{
    fy_array_t      *types = cf->handler_data;
    fy_http_type_t  *t;
    unsigned         i, j, k;
    u_char          *ext;

    if (cf->nargs < 2) {
        fy_conf_error(cf, "invalid number of arguments in \"types\" entry "
                      "\"%.*s\", expected a type and extensions",
                      (int) cf->args[0].len, cf->args[0].data);
        return FY_ERROR;
    }

    for (i = 1; i < cf->nargs; i++) {
        ext = fy_palloc(cf->pool, cf->args[i].len + 1);
        if (ext == NULL) {
            fy_conf_error(cf, "out of memory");
            return FY_ERROR;
        }
        for (k = 0; k < cf->args[i].len; k++) {
            ext[k] = (u_char) tolower(cf->args[i].data[k]);
        }
        ext[k] = '\0';

        /* a later entry for the same extension replaces the earlier */
        t = NULL;
        for (j = 0; j < types->nelts; j++) {
            t = fy_array_elt(types, fy_http_type_t, j);
            if (t->ext.len == k && memcmp(t->ext.data, ext, k) == 0) {
                break;
            }
            t = NULL;
        }
        if (t == NULL) {
            t = fy_array_push(types);
            if (t == NULL) {
                fy_conf_error(cf, "out of memory");
                return FY_ERROR;
            }
        }
        t->ext.data = ext;
        t->ext.len = k;
        t->type = cf->args[0];
    }
    return FY_OK;
}

static const char *
fy_http_static_types(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf;
    int                     rc;

    fy_unused(cmd);

    scf = fy_http_static_conf(cf, conf);
    if (scf == NULL) {
        return "out of memory";
    }
    if (scf->types == NULL) {
        scf->types = fy_palloc(cf->pool, sizeof(fy_array_t));
        if (scf->types == NULL) {
            return "out of memory";
        }
        fy_array_init(scf->types, cf->pool, 64, sizeof(fy_http_type_t));
    }

    cf->handler = fy_http_static_type;
    cf->handler_data = scf->types;
    rc = fy_conf_parse(cf, NULL);
    cf->handler = NULL;
    cf->handler_data = NULL;

    return rc == FY_OK ? FY_CONF_OK : FY_CONF_ERROR;
}

void
fy_http_static_merge(fy_http_loc_conf_t *prev, fy_http_loc_conf_t *conf)
{
    fy_http_static_conf_t  *s = conf->static_conf, *p = prev->static_conf;

    if (s == NULL) {
        s = conf->static_conf = p;

    } else if (p && p != s) {
        if (s->root == NULL && s->alias == NULL) {
            s->root = p->root;
        }
        if (s->index == NULL) {
            s->index = p->index;
        }
        if (s->types == NULL) {
            s->types = p->types;
        }
    }

    if (s == NULL || (s->root == NULL && s->alias == NULL)) {
        return;
    }
    if (conf->return_code == FY_CONF_UNSET_INT && !fy_http_proxied(conf)
        && conf->handler == NULL)
    {
        conf->handler = fy_http_static_handler;
    }
}


/* ---- Range ---- */

/* Digits at *p as an off_t, saturating at the largest value. */
static off_t
fy_http_range_num(const u_char **p, const u_char *last)
{
    off_t  v = 0;
    int    d;

    while (*p < last && **p >= '0' && **p <= '9') {
        d = **p - '0';
        v = (v > (INT64_MAX - d) / 10) ? INT64_MAX : v * 10 + d;
        (*p)++;
    }
    return v;
}

int
fy_http_parse_range(const u_char *s, size_t len, off_t size, off_t *start,
                    off_t *end)
{
    const u_char  *p, *last = s + len;
    off_t          a = -1, b = -1;

    if (len < 6 || strncasecmp((const char *) s, "bytes=", 6) != 0) {
        return FY_HTTP_RANGE_IGNORE;
    }
    p = s + 6;
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p < last && *p >= '0' && *p <= '9') {
        a = fy_http_range_num(&p, last);
    }
    if (p == last || *p != '-') {
        return FY_HTTP_RANGE_IGNORE;
    }
    p++;
    if (p < last && *p >= '0' && *p <= '9') {
        b = fy_http_range_num(&p, last);
    }
    while (p < last && (*p == ' ' || *p == '\t')) {
        p++;
    }
    if (p != last) {
        /* a second range (",") or garbage: the whole file */
        return FY_HTTP_RANGE_IGNORE;
    }

    if (a == -1) {
        if (b == -1) {
            return FY_HTTP_RANGE_IGNORE;        /* "bytes=-" */
        }
        if (b == 0 || size == 0) {
            return FY_HTTP_RANGE_UNSATISFIABLE;
        }
        *start = b >= size ? 0 : size - b;     /* the last b bytes */
        *end = size - 1;
        return FY_HTTP_RANGE_OK;
    }
    if (b != -1 && b < a) {
        return FY_HTTP_RANGE_IGNORE;            /* invalid (RFC 9110) */
    }
    if (a >= size) {
        return FY_HTTP_RANGE_UNSATISFIABLE;
    }
    *start = a;
    *end = (b == -1 || b >= size) ? size - 1 : b;
    return FY_HTTP_RANGE_OK;
}


/* ---- the handler ---- */

static void
fy_http_static_file_close(void *data)
{
    fy_http_static_file_t  *f = data;

    if (f->fd != -1) {
        close(f->fd);
        f->fd = -1;
    }
    if (f->dir != -1) {
        close(f->dir);
        f->dir = -1;
    }
}

/* The first header called `name`, or NULL. */
static fy_str_t *
fy_http_static_header(fy_http_request_t *r, const char *name)
{
    fy_http_header_t  *h;
    unsigned           i;

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, name)) {
            return &h->value;
        }
    }
    return NULL;
}

/* Answer for a failed open() or openat() of `what`. */
static void
fy_http_static_open_error(fy_http_request_t *r, int err, const char *what)
{
    int  status;

    switch (err) {
    case ENOENT:
    case ENOTDIR:
    case ENAMETOOLONG:
        status = 404;
        break;
    case EACCES:
    case EPERM:
    case ELOOP:         /* O_NOFOLLOW met a symbolic link */
        status = 403;
        break;
    default:
        status = 500;
    }
    fy_log_error(status == 500 ? FY_LOG_ERR : FY_LOG_INFO, err,
                 "open() of \"%s\" for \"%.*s\" failed, "
                 "client %s", what, (int) r->path.len, r->path.data,
                 r->hc->addr_text);
    fy_http_send_error(r, status);
}

/* The MIME type for the extension of file name `name`. */
static const fy_str_t *
fy_http_static_type_of(fy_http_request_t *r, const u_char *name, size_t len)
{
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    const fy_http_type_t   *types;
    const u_char           *dot;
    unsigned                n, i;
    size_t                  elen;

    dot = NULL;
    for (i = 0; i < len; i++) {
        if (name[i] == '.') {
            dot = name + i;
        }
    }
    if (dot == NULL || dot + 1 == name + len) {
        return &r->loc->default_type;
    }
    elen = (size_t) (name + len - dot - 1);

    if (scf->types) {
        types = scf->types->elts;
        n = scf->types->nelts;
    } else {
        types = fy_http_static_default_types;
        n = fy_nelems(fy_http_static_default_types);
    }
    for (i = 0; i < n; i++) {
        if (types[i].ext.len == elen
            && strncasecmp((const char *) types[i].ext.data,
                           (const char *) dot + 1, elen) == 0)
        {
            return &types[i].type;
        }
    }
    return &r->loc->default_type;
}

/* If-None-Match: "*" or a list of entity tags, compared weakly. */
static int
fy_http_static_etag_match(const fy_str_t *v, const char *etag)
{
    const u_char  *p = v->data, *last = v->data + v->len, *q;
    size_t         elen = strlen(etag);

    while (p < last) {
        while (p < last && (*p == ' ' || *p == '\t' || *p == ',')) {
            p++;
        }
        if (p == last) {
            break;
        }
        if (*p == '*') {
            return 1;
        }
        if (last - p > 2 && p[0] == 'W' && p[1] == '/') {
            p += 2;
        }
        q = p;
        while (q < last && *q != ',' && *q != ' ' && *q != '\t') {
            q++;
        }
        if ((size_t) (q - p) == elen && memcmp(p, etag, elen) == 0) {
            return 1;
        }
        p = q;
    }
    return 0;
}

/* Send the header for the open file f (stat st, type) and then the
 * body, as the conditional and Range headers ask. */
static void
fy_http_static_send(fy_http_request_t *r, fy_http_static_file_t *f,
                    const struct stat *st, const fy_str_t *type)
{
    fy_http_conn_t  *hc = r->hc;
    fy_str_t        *inm, *ims, *range, *ifr;
    const char      *line, *conn, *server;
    char             etag[48], lm[40], *hdr, code[8];
    struct tm        tm;
    off_t            start = 0, end = st->st_size - 1;
    size_t           llen, size, n, slen;
    fy_str_t         add;
    int              status = 200;

    snprintf(etag, sizeof(etag), "\"%llx-%llx\"",
             (unsigned long long) st->st_mtime,
             (unsigned long long) st->st_size);
    gmtime_r(&st->st_mtime, &tm);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);

    /* If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2);
     * If-Modified-Since matches only the exact time, as nginx's
     * default "if_modified_since exact". */
    inm = fy_http_static_header(r, "If-None-Match");
    ims = fy_http_static_header(r, "If-Modified-Since");
    if (r->err_status) {
        /* an error page (error_page 404 /404.html) is sent whole,
         * with the error's status */
        inm = ims = NULL;
    }
    if (inm) {
        if (fy_http_static_etag_match(inm, etag)) {
            status = 304;
        }
    } else if (ims
               && fy_time_parse_http(ims->data, ims->len) == st->st_mtime)
    {
        status = 304;
    }

    if (status == 200 && f->gz_how == FY_HTTP_GZIP_NO) {
        /* not the .gz of gzip_static: maybe compress it on the way
         * (then without Range, as nginx: the length is unknown) */
        f->gz_how = fy_http_gzip_decide(r, 200, type, st->st_size, NULL,
                                        FY_HTTP_GZIP_HAS_LM
                                        | FY_HTTP_GZIP_HAS_ETAG);
        if (f->gz_how == FY_HTTP_GZIP_YES) {
            f->gz = fy_http_gzip_start(r, st->st_size);
            f->in = fy_palloc(r->pool, FY_HTTP_STATIC_GZIP_READ);
            if (f->gz == NULL || f->in == NULL) {
                fy_http_close_connection(hc);
                return;
            }
            if (r->http_version < 1001) {
                r->keepalive = 0;       /* the close ends the body */
            }
        }
    }

    range = fy_http_static_header(r, "Range");
    ifr = fy_http_static_header(r, "If-Range");
    if (status == 200 && range && !r->err_status && f->gz == NULL
        && (ifr == NULL || fy_str_eq(ifr, etag) || fy_str_eq(ifr, lm)))
    {
        switch (fy_http_parse_range(range->data, range->len, st->st_size,
                                    &start, &end))
        {
        case FY_HTTP_RANGE_OK:
            status = 206;
            break;
        case FY_HTTP_RANGE_UNSATISFIABLE:
            status = 416;
            break;
        default:
            break;
        }
    }

    r->status = r->err_status ? r->err_status : status;
    line = fy_http_status_line(status == 416 ? 200 : r->status, &llen);
    if (status == 416) {
        line = "416 Requested Range Not Satisfiable";
        llen = strlen(line);
    } else if (line == NULL) {
        snprintf(code, sizeof(code), "%03d ", r->status);
        line = code;
        llen = strlen(code);
    }
    conn = fy_http_connection_header(r);
    server = fy_http_server_line(r, &slen);
    if (fy_http_add_headers(r, r->status, &add) != FY_OK) {
        fy_http_close_connection(hc);
        return;
    }

    size = 640 + llen + slen + fy_http_date_len + type->len + add.len;
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        fy_http_close_connection(hc);
        return;
    }
    n = (size_t) snprintf(hdr, size, "HTTP/1.1 %.*s\r\n%.*sDate: %s\r\n",
                          (int) llen, line, (int) slen, server, fy_http_date);
    if (status == 200 || status == 206) {
        n += (size_t) snprintf(hdr + n, size - n, "Content-Type: %.*s\r\n",
                               (int) type->len, type->data);
        if (f->gz == NULL) {
            n += (size_t) snprintf(hdr + n, size - n,
                                   "Content-Length: %lld\r\n",
                                   (long long) (end - start + 1));
        } else if (r->http_version >= 1001) {
            n += (size_t) snprintf(hdr + n, size - n,
                                   "Transfer-Encoding: chunked\r\n");
        }
        n += (size_t) snprintf(hdr + n, size - n, "%s",
                               fy_http_gzip_header_lines(r, f->gz_how));
    }
    if (status == 206) {
        n += (size_t) snprintf(hdr + n, size - n,
                               "Content-Range: bytes %lld-%lld/%lld\r\n",
                               (long long) start, (long long) end,
                               (long long) st->st_size);
    } else if (status == 200 && f->gz == NULL) {
        n += (size_t) snprintf(hdr + n, size - n, "Accept-Ranges: bytes\r\n");
    } else if (status == 416) {
        n += (size_t) snprintf(hdr + n, size - n, "Content-Length: 0\r\n"
                               "Content-Range: bytes */%lld\r\n",
                               (long long) st->st_size);
    }
    if (status != 416) {
        /* a compressed body is not the file byte for byte: weak */
        n += (size_t) snprintf(hdr + n, size - n, "Last-Modified: %s\r\n"
                               "ETag: %s%s\r\n", lm, f->gz ? "W/" : "",
                               etag);
    }
    if (add.len) {
        memcpy(hdr + n, add.data, add.len);
        n += add.len;
    }
    n += (size_t) snprintf(hdr + n, size - n, "Connection: %s\r\n\r\n", conn);

    f->pos = start;
    f->end = (status == 200 || status == 206) && !r->head ? end + 1 : start;

    hc->out[0].iov_base = hdr;
    hc->out[0].iov_len = n;
    hc->nout = 1;
    hc->out_done = fy_http_static_send_body;
    r->header_out = n;
    r->header_sent = 1;

    switch (fy_http_write_out(r)) {
    case FY_OK:
        hc->out_done = NULL;
        fy_http_static_send_body(r);
        return;
    case FY_AGAIN:
        return;
    default:
        fy_http_close_connection(hc);
    }
}

static void
fy_http_static_write_handler(fy_event_t *wev)
{
    fy_conn_t              *c = wev->data;
    fy_http_conn_t         *hc = c->data;
    fy_http_static_file_t  *f = hc->r->file;

    if (wev->timedout && f->yielded) {
        f->yielded = 0;
        wev->timedout = 0;
    } else if (wev->timedout) {
        fy_log_error(FY_LOG_INFO, 0, "client timed out while sending a "
                     "file, client %s", hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }
    fy_http_static_send_body(hc->r);
}

/*
 * TLS: the kernel cannot encrypt, so sendfile() would send the file in
 * clear.  Read a piece at f->pos and write it through the connection's
 * TLS layer; after FY_AGAIN the same bytes are read again from the same
 * offset, which is what SSL_write wants on its retry (the buffer may
 * move: SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER).  Returns bytes sent (and
 * moves f->pos), 0 at an unexpected end of file, FY_AGAIN or -1.
 */
static ssize_t
fy_http_static_send_tls(fy_conn_t *c, fy_http_static_file_t *f)
{
    u_char   buf[16384];
    ssize_t  k, n;

    k = pread(f->fd, buf, (size_t) fy_min(f->end - f->pos,
                                          (off_t) sizeof(buf)), f->pos);
    if (k <= 0) {
        return k;
    }
    n = fy_conn_send(c, buf, (size_t) k);
    if (n > 0) {
        f->pos += n;
    }
    return n;
}

/* Send the file from f->pos to f->end; resumes on the write event.  A
 * client that goes away closes the connection, and the request pool's
 * cleanup closes the file. */
static void
fy_http_static_send_body(fy_http_request_t *r)
{
    fy_http_static_file_t  *f = r->file;
    fy_http_conn_t         *hc = r->hc;
    fy_conn_t              *c = hc->c;
    size_t                  turn = 0;
    ssize_t                 n;

    if (f->gz) {
        fy_http_static_send_gzip(r);
        return;
    }

    while (f->pos < f->end) {
        if (turn >= FY_HTTP_STATIC_TURN) {
            /* others' turn: carry on in the next one */
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 1;
            fy_timer_add(&c->write, 1);
            return;
        }
        n = c->ssl ? fy_http_static_send_tls(c, f)
                   : sendfile(c->fd, f->fd, &f->pos,
                              (size_t) fy_min(f->end - f->pos,
                                              (off_t) (1 << 30)));
        if (n == FY_AGAIN) {
            errno = EAGAIN;         /* the TLS layer set the ready flags */
            n = -1;
        }
        if (n > 0) {
            turn += (size_t) n;
            r->bytes_out += (uint64_t) n;
            fy_shm_add(fy_worker_slot->bytes_out, (uint64_t) n);
            continue;
        }
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->write.ready = 0;
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 0;
            fy_timer_add(&c->write, (uint64_t) r->loc->send_timeout);
            return;
        }
        if (n == 0) {
            fy_log_error(FY_LOG_ERR, 0, "file of \"%.*s\" was truncated "
                         "while being sent, client %s", (int) r->path.len,
                         r->path.data, hc->addr_text);
        } else {
            fy_log_error(FY_LOG_INFO, errno, "sendfile() failed, client %s",
                         hc->addr_text);
        }
        fy_http_close_connection(hc);
        return;
    }

    fy_timer_del(&c->write);
    c->write.handler = fy_event_ignore;
    fy_http_static_file_close(f);
    fy_http_finalize(r, 0);
}

/* The file through the compressor: read a piece, compress it, write
 * what comes out, and read the next piece only once that is written,
 * so memory stays at one read buffer and the compressor's. */
static void
fy_http_static_send_gzip(fy_http_request_t *r)
{
    fy_http_static_file_t  *f = r->file;
    fy_http_conn_t         *hc = r->hc;
    fy_conn_t              *c = hc->c;
    size_t                  turn = 0;
    ssize_t                 k;
    int                     n;

    for ( ;; ) {
        if (fy_http_gzip_done(f->gz)) {
            fy_http_static_file_close(f);
            fy_http_finalize(r, 0);
            return;
        }

        if (!fy_http_gzip_wants_input(f->gz)) {
            n = fy_http_gzip_deflate(f->gz, hc->out);
            if (n < 0) {
                fy_http_close_connection(hc);
                return;
            }
            if (n == 0) {
                continue;
            }
            hc->nout = n;
            hc->out_done = fy_http_static_send_body;
            switch (fy_http_write_out(r)) {
            case FY_OK:
                hc->out_done = NULL;
                continue;
            case FY_AGAIN:
                return;
            default:
                fy_http_close_connection(hc);
                return;
            }
        }

        if (f->pos == f->end) {
            fy_http_gzip_finish(f->gz);
            continue;
        }
        if (turn >= FY_HTTP_STATIC_GZIP_TURN) {
            /* compressing is work: the others' turn, then on */
            c->write.handler = fy_http_static_write_handler;
            f->yielded = 1;
            fy_timer_add(&c->write, 1);
            return;
        }
        k = pread(f->fd, f->in, (size_t) fy_min(f->end - f->pos,
                                                (off_t) FY_HTTP_STATIC_GZIP_READ),
                  f->pos);
        if (k > 0) {
            f->pos += k;
            turn += (size_t) k;
            fy_http_gzip_input(f->gz, f->in, (size_t) k);
            continue;
        }
        if (k == -1 && errno == EINTR) {
            continue;
        }
        fy_log_error(FY_LOG_ERR, k == 0 ? 0 : errno, "file of \"%.*s\" "
                     "could not be read while being compressed, client %s",
                     (int) r->path.len, r->path.data, hc->addr_text);
        fy_http_close_connection(hc);
        return;
    }
}

/* gzip_static: "name.gz" next to the file (in directory f->dir) is sent
 * in its place, with its own length, dates and ETag, to a client that
 * takes gzip (to any with "always").  Returns the decision the headers
 * follow: YES (f->fd and *st are now the .gz), VARY (there is one, the
 * client does not get it), NO (there is none). */
static int
fy_http_static_gzip_file(fy_http_request_t *r, fy_http_static_file_t *f,
                         struct stat *st, const u_char *name, size_t nlen)
{
    char         gzname[NAME_MAX + 1];
    struct stat  gst;
    int          fd;

    if (nlen + 3 > NAME_MAX) {
        return FY_HTTP_GZIP_NO;
    }
    memcpy(gzname, name, nlen);
    memcpy(gzname + nlen, ".gz", 4);
    fd = openat(f->dir, gzname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC
                                | O_NONBLOCK);
    if (fd == -1) {
        /* none, or a link, or not ours to read: the file itself */
        return FY_HTTP_GZIP_NO;
    }
    if (fstat(fd, &gst) == -1 || !S_ISREG(gst.st_mode)) {
        close(fd);
        return FY_HTTP_GZIP_NO;
    }
    if (r->loc->gzip.static_mode != FY_HTTP_GZIP_STATIC_ALWAYS
        && !fy_http_gzip_request_ok(r, NULL, FY_HTTP_GZIP_HAS_LM
                                             | FY_HTTP_GZIP_HAS_ETAG))
    {
        close(fd);
        return FY_HTTP_GZIP_VARY;
    }
    close(f->fd);
    f->fd = fd;
    *st = gst;
    return FY_HTTP_GZIP_YES;
}

/* A directory asked for without the trailing slash: 301 to it with. */
static void
fy_http_static_redirect(fy_http_request_t *r)
{
    fy_str_t  location;
    size_t    len;
    u_char   *p;

    len = fy_http_escape_path(NULL, r->path.data, r->path.len);
    p = fy_palloc(r->pool, len + 2 + r->args.len);
    if (p == NULL) {
        fy_http_close_connection(r->hc);
        return;
    }
    location.data = p;
    p += fy_http_escape_path(p, r->path.data, r->path.len);
    *p++ = '/';
    if (r->args.len) {
        *p++ = '?';
        memcpy(p, r->args.data, r->args.len);
        p += r->args.len;
    }
    location.len = (size_t) (p - location.data);
    r->status = 301;
    fy_http_send_response(r, 301, NULL, NULL, 0, &location);
}

static void
fy_http_static_handler(fy_http_request_t *r)
{
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    fy_http_static_file_t  *f;
    const fy_str_t         *idx;
    const u_char           *p, *q, *last, *name;
    const char             *base;
    char                    seg[NAME_MAX + 1];
    struct stat             st;
    size_t                  len, nlen;
    unsigned                i, nidx;
    int                     fd;

    if (r->method != FY_HTTP_GET && r->method != FY_HTTP_HEAD) {
        fy_http_send_error(r, 405);
        return;
    }
    if (memchr(r->path.data, '\0', r->path.len)) {
        fy_http_send_error(r, 400);
        return;
    }

    p = r->path.data;
    last = r->path.data + r->path.len;
    base = scf->root;
    if (scf->alias) {
        base = scf->alias;
        p += fy_min(r->loc->name.len, r->path.len);
    }

    f = fy_pcalloc(r->pool, sizeof(fy_http_static_file_t));
    if (f == NULL || fy_pool_cleanup_add(r->pool, fy_http_static_file_close,
                                         f) != FY_OK)
    {
        fy_http_close_connection(r->hc);
        return;
    }
    f->dir = -1;
    f->fd = open(base, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (f->fd == -1) {
        fy_http_static_open_error(r, errno, base);
        return;
    }
    r->file = f;

    /* one segment at a time below the root, never following links */
    name = NULL;
    nlen = 0;
    while (p < last) {
        if (*p == '/') {
            p++;
            continue;
        }
        q = memchr(p, '/', (size_t) (last - p));
        len = (size_t) ((q ? q : last) - p);
        if ((len == 1 && p[0] == '.') || (len == 2 && p[0] == '.'
                                          && p[1] == '.'))
        {
            fy_http_send_error(r, 400);
            return;
        }
        if (len > NAME_MAX) {
            fy_http_send_error(r, 404);
            return;
        }
        memcpy(seg, p, len);
        seg[len] = '\0';
        fd = openat(f->fd, seg, O_RDONLY | O_NOFOLLOW | O_CLOEXEC
                                | O_NONBLOCK);
        if (fd == -1) {
            fy_http_static_open_error(r, errno, seg);
            return;
        }
        /* the directory stays open: gzip_static looks for "seg.gz" */
        if (f->dir != -1) {
            close(f->dir);
        }
        f->dir = f->fd;
        f->fd = fd;
        name = p;
        nlen = len;
        p += len;
    }

    if (fstat(f->fd, &st) == -1) {
        fy_http_static_open_error(r, errno, "fstat()");
        return;
    }

    if (S_ISDIR(st.st_mode)) {
        if (r->path.len == 0 || r->path.data[r->path.len - 1] != '/') {
            fy_http_static_redirect(r);
            return;
        }
        idx = scf->index ? scf->index->elts : &fy_http_static_default_index;
        nidx = scf->index ? scf->index->nelts : 1;
        for (i = 0; i < nidx; i++) {
            /* names checked at load time (no "/"), NUL-terminated */
            fd = openat(f->fd, (const char *) idx[i].data,
                        O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
            if (fd == -1) {
                if (errno == ENOENT) {
                    continue;
                }
                fy_http_static_open_error(r, errno,
                                          (const char *) idx[i].data);
                return;
            }
            close(f->fd);
            f->fd = fd;
            if (fstat(f->fd, &st) == -1) {
                fy_http_static_open_error(r, errno, "fstat()");
                return;
            }
            name = idx[i].data;
            nlen = idx[i].len;
            break;
        }
        if (i == nidx) {
            fy_log_error(FY_LOG_INFO, 0, "directory index of \"%.*s\" is "
                         "forbidden, client %s", (int) r->path.len,
                         r->path.data, r->hc->addr_text);
            fy_http_send_error(r, 403);
            return;
        }
    }

    if (!S_ISREG(st.st_mode)) {
        /* a device, FIFO, socket, or an index that is a directory */
        fy_http_send_error(r, 404);
        return;
    }

    if (r->loc->gzip.static_mode != FY_HTTP_GZIP_STATIC_OFF && name
        && f->dir != -1 && r->path.data[r->path.len - 1] != '/')
    {
        /* not for an index file (nginx: not for a URI ending in "/") */
        f->gz_how = fy_http_static_gzip_file(r, f, &st, name, nlen);
    }
    if (f->dir != -1) {
        close(f->dir);
        f->dir = -1;
    }

    if (name == NULL) {
        /* an alias naming a file: its own name gives the type */
        name = (const u_char *) base;
        nlen = strlen(base);
    }
    fy_http_static_send(r, f, &st, fy_http_static_type_of(r, name, nlen));
}
