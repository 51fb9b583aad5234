/*
 * fy_http_cache_store.c -- whether a proxied response may be kept and
 * for how long, and keeping it: the body is written to a temporary
 * file next to the entry's as the upstream's bytes are read
 * (fy_proxy_scan), so the client never waits for the cache; once the
 * upstream has sent all of it, the file is renamed into place and
 * indexed.  A response cut short, or a request that ends first (the
 * client went away), leaves no entry: its temporary file is removed.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_cache.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>

static unsigned  fy_http_cache_temp_seq;

/* the value of "name=N" among the tokens of a Cache-Control value, or
 * -1; -2 when there but not a number */
static int64_t
fy_http_cache_cc_num(const u_char *tok, size_t len, const char *name)
{
    size_t  n = strlen(name);

    if (len <= n || tok[n] != '=' || !fy_mem_eq_ci(tok, name, n)) {
        return -1;
    }
    tok += n + 1;
    len -= n + 1;
    if (len >= 2 && tok[0] == '"' && tok[len - 1] == '"') {
        tok++;
        len -= 2;
    }
    n = (size_t) fy_atoi(tok, len);
    return fy_atoi(tok, len) < 0 ? -2 : (int64_t) n;
}

/* Cache-Control: -1 not to be kept, else max-age (s-maxage first), 0
 * when it says neither */
static int64_t
fy_http_cache_control(const fy_str_t *v)
{
    const u_char  *p = v->data, *end = v->data + v->len, *tok;
    int64_t        max_age = 0, s_maxage = 0, n;
    size_t         len;

    while (p < end) {
        while (p < end && (*p == ',' || *p == ' ' || *p == '\t')) {
            p++;
        }
        tok = p;
        while (p < end && *p != ',') {
            p++;
        }
        len = (size_t) (p - tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t')) {
            len--;
        }
        if ((len == 8 && fy_mem_eq_ci(tok, "no-cache", 8))
            || (len == 8 && fy_mem_eq_ci(tok, "no-store", 8))
            || (len == 7 && fy_mem_eq_ci(tok, "private", 7)))
        {
            return -1;
        }
        if ((n = fy_http_cache_cc_num(tok, len, "max-age")) != -1) {
            if (n <= 0) {
                return -1;          /* max-age=0, or not a number */
            }
            max_age = n;
        } else if ((n = fy_http_cache_cc_num(tok, len, "s-maxage")) != -1) {
            if (n <= 0) {
                return -1;
            }
            s_maxage = n;
        }
    }
    return s_maxage ? s_maxage : max_age;
}

int64_t
fy_http_cache_header_valid(fy_array_t *headers, unsigned ignore, time_t now)
{
    fy_http_header_t  *h;
    int64_t            xae = 0, cc = 0, n;
    time_t             t;
    unsigned           i;
    int                has_xae = 0, has_expires = 0, has_cc = 0;
    int64_t            expires = 0;

    for (i = 0; i < headers->nelts; i++) {
        h = fy_array_elt(headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&h->name, "Set-Cookie")) {
            if (!(ignore & FY_HTTP_IGN_SET_COOKIE)) {
                return -1;
            }
        } else if (fy_str_eq_ci(&h->name, "Vary")) {
            /* "*" never is (nginx); other names are kept with the
             * entry (fy_http_cache_vary.c) */
            if (!(ignore & FY_HTTP_IGN_VARY)
                && fy_http_cache_vary_star(&h->value))
            {
                return -1;
            }
        } else if (fy_str_eq_ci(&h->name, "X-Accel-Expires")) {
            if (ignore & FY_HTTP_IGN_XA_EXPIRES) {
                continue;
            }
            if (h->value.len > 1 && h->value.data[0] == '@') {
                n = fy_atoi(h->value.data + 1, h->value.len - 1);
                if (n >= 0) {
                    has_xae = 1;
                    xae = n > (int64_t) now ? n - (int64_t) now : -1;
                }
            } else {
                n = fy_atoi(h->value.data, h->value.len);
                if (n >= 0) {
                    has_xae = 1;
                    xae = n == 0 ? -1 : n;
                }
            }
        } else if (fy_str_eq_ci(&h->name, "Cache-Control")) {
            if (ignore & FY_HTTP_IGN_CACHE_CONTROL) {
                continue;
            }
            n = fy_http_cache_control(&h->value);
            if (n == -1) {
                cc = -1;
            } else if (n > 0 && cc != -1) {
                cc = n;
            }
            has_cc |= n != 0;
        } else if (fy_str_eq_ci(&h->name, "Expires")) {
            if (ignore & FY_HTTP_IGN_EXPIRES) {
                continue;
            }
            has_expires = 1;
            t = fy_time_parse_http(h->value.data, h->value.len);
            expires = t == (time_t) -1 || t <= now ? -1
                                                   : (int64_t) (t - now);
        }
    }
    /* X-Accel-Expires first, then Cache-Control, then Expires */
    if (has_xae) {
        return xae;
    }
    if (has_cc) {
        return cc;
    }
    if (has_expires) {
        return expires;
    }
    return 0;
}

/* proxy_cache_valid's time for status, 0: none (nginx: the first line
 * naming it or "any") */
int64_t
fy_http_cache_valid_for(fy_http_loc_conf_t *lcf, int status)
{
    fy_http_cache_valid_t  *v;
    unsigned                i;

    for (i = 0; lcf->cache.valid && i < lcf->cache.valid->nelts;
         i++)
    {
        v = fy_array_elt(lcf->cache.valid, fy_http_cache_valid_t, i);
        if (v->status == 0 || v->status == status) {
            return v->valid;
        }
    }
    return 0;
}

void
fy_http_cache_store_abort(fy_http_cache_t *c)
{
    if (c->fd != -1) {
        close(c->fd);
        c->fd = -1;
        if (unlink(c->temp) == -1 && errno != ENOENT) {
            fy_log_error(FY_LOG_CRIT, errno, "unlink() \"%s\" failed",
                         c->temp);
        }
    }
    c->storing = 0;
    fy_http_cache_unlock(c);
}

static void
fy_http_cache_store_cleanup(void *data)
{
    fy_http_cache_store_abort(data);
}

/* The level directories of the entry's file, as needed. */
static void
fy_http_cache_mkdirs(fy_http_cache_t *c)
{
    char    path[PATH_MAX];
    size_t  i, base = strlen(c->cp->path);

    memcpy(path, c->name, sizeof(path));
    for (i = base + 1; path[i]; i++) {
        if (path[i] == '/') {
            path[i] = '\0';
            if (mkdir(path, 0700) == -1 && errno != EEXIST) {
                fy_log_error(FY_LOG_CRIT, errno, "mkdir() \"%s\" failed",
                             path);
            }
            path[i] = '/';
        }
    }
}

static int
fy_http_cache_write(fy_http_cache_t *c, const void *data, size_t len)
{
    ssize_t  n;

    while (len) {
        n = write(c->fd, data, len);
        if (n == -1 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            fy_log_error(FY_LOG_CRIT, n == 0 ? ENOSPC : errno,
                         "write() to \"%s\" failed", c->temp);
            fy_http_cache_store_abort(c);
            return FY_ERROR;
        }
        data = (const u_char *) data + n;
        len -= (size_t) n;
    }
    return FY_OK;
}

static void
fy_http_cache_store_open(fy_http_proxy_t *p)
{
    fy_http_request_t     *r = p->r;
    fy_http_loc_conf_t    *lcf = r->loc;
    fy_http_cache_t       *c = p->cache;
    fy_http_cache_file_t   h;
    fy_http_header_t      *f;
    fy_array_t            *headers = &p->headers;
    const char            *line;
    u_char                *text, *q;
    u_char                 vary[FY_CACHE_VARY_MAX], variant[16];
    ssize_t                vlen = 0;
    size_t                 size, llen;
    int64_t                valid;
    unsigned               i;
    time_t                 now = (time_t) (fy_wall_msec / 1000);

    /* 206 and 304 answer what this client asked (Range, If-...), not
     * the request every client makes (but a slice's 206 answers the
     * range its key names, when it is the one asked and agrees with
     * the first: fy_http_slice.c); an X-Accel-Redirect is not the
     * answer itself */
    if (!c->store_ok
        || (p->status == 206
            && !(r->slice && fy_http_slice_storable(r, headers)))
        || p->status == 304
        || p->status < 200 || r->err_status
        || (p->xa_redirect
            && !(lcf->proxy_ignore_headers & FY_HTTP_IGN_XA_REDIRECT))
        || fy_http_cache_test(r, lcf->cache.no_cache))
    {
        return;
    }
    valid = fy_http_cache_header_valid(headers, lcf->proxy_ignore_headers,
                                       now);
    if (valid == 0) {
        valid = fy_http_cache_valid_for(lcf, p->status);
    }
    if (valid <= 0) {
        return;
    }
    if (!(lcf->proxy_ignore_headers & FY_HTTP_IGN_VARY)) {
        vlen = fy_http_cache_vary(headers, vary);
        if (vlen < 0) {
            return;             /* "Vary: *", or too long */
        }
    }
    if (vlen > 0
        && fy_http_cache_variant(r, c, vary, (size_t) vlen, variant) != FY_OK)
    {
        return;
    }
    if (c->secondary && (vlen == 0 || memcmp(variant, c->md5, 16) != 0)) {
        /* nginx: a request that looked its variant up stores there
         * only while the upstream varies as the entry under the key
         * said; otherwise its response replaces that entry */
        fy_http_cache_unlock(c);
        memcpy(c->md5, c->main_md5, 16);
        c->secondary = 0;
        fy_http_cache_file_name(c->cp, c->md5, c->name);
    }

    /* "NNN reason\r\n", then the fields the client gets from the
     * upstream (not ferry's own: Server, Date, Connection, framing,
     * add_header, which every answer from the file makes anew), and
     * X-Accel-Charset, hidden or not: a HIT is marked and recoded by it
     * as the response was (nginx reads its stored header again; the
     * HIT drops the field unless proxy_pass_header lets it through) */
    line = NULL;
    llen = (size_t) (p->parser.status_text_end - p->parser.status_text_start);
    if (llen == 0) {
        line = fy_http_status_line(p->status, &llen);
        if (line == NULL) {
            return;
        }
    }
    size = sizeof(h) + c->key_len + (size_t) vlen + 8 + llen;
    for (i = 0; i < headers->nelts; i++) {
        f = fy_array_elt(headers, fy_http_header_t, i);
        size += f->name.len + f->value.len + 4;
    }
    text = fy_palloc(r->pool, size);
    c->temp = fy_palloc(r->pool, strlen(c->name) + 48);
    if (text == NULL || c->temp == NULL) {
        return;
    }
    q = text + sizeof(h);
    memcpy(q, c->key, c->key_len);
    q += c->key_len;
    memcpy(q, vary, (size_t) vlen);
    q += vlen;
    if (line) {
        memcpy(q, line, llen);
        q += llen;
    } else {
        q += sprintf((char *) q, "%03d ", p->status);
        memcpy(q, p->parser.status_text_start, llen);
        q += llen;
    }
    *q++ = '\r';
    *q++ = '\n';
    for (i = 0; i < headers->nelts; i++) {
        f = fy_array_elt(headers, fy_http_header_t, i);
        if ((fy_proxy_hidden(lcf, &f->name)
             && !fy_str_eq_ci(&f->name, "X-Accel-Charset"))
            || fy_proxy_skip_header(&f->name)
            || fy_str_eq_ci(&f->name, "Content-Length")
            || fy_str_eq_ci(&f->name, "Server")
            || fy_str_eq_ci(&f->name, "Date"))
        {
            continue;
        }
        memcpy(q, f->name.data, f->name.len);
        q += f->name.len;
        *q++ = ':';
        *q++ = ' ';
        memcpy(q, f->value.data, f->value.len);
        q += f->value.len;
        *q++ = '\r';
        *q++ = '\n';
    }

    memset(&h, 0, sizeof(h));
    memcpy(h.magic, FY_CACHE_MAGIC, 8);
    h.valid_sec = (int64_t) now + valid;
    h.date = (int64_t) now;
    h.status = (uint16_t) p->status;
    h.key_len = (uint16_t) fy_min(c->key_len, 65535);
    h.vary_len = (uint16_t) vlen;
    h.fields_len = (uint32_t) ((size_t) (q - text) - sizeof(h) - c->key_len
                               - (size_t) vlen);
    h.body_start = (uint64_t) (q - text);
    memcpy(h.md5, c->md5, 16);
    if (vlen) {
        memcpy(h.variant, variant, 16);
    }
    memcpy(text, &h, sizeof(h));
    if (c->key_len > 65535) {
        return;
    }

    /* next to the entry's file, so that the rename stays in one
     * directory (and one file system) */
    snprintf(c->temp, strlen(c->name) + 48, "%s.%d.%u.tmp", c->name,
             (int) getpid(), fy_http_cache_temp_seq++);
    c->fd = open(c->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (c->fd == -1 && errno == ENOENT) {
        fy_http_cache_mkdirs(c);
        c->fd = open(c->temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (c->fd == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "open() \"%s\" failed", c->temp);
        return;
    }
    if (fy_pool_cleanup_add(r->pool, fy_http_cache_store_cleanup, c)
        != FY_OK)
    {
        close(c->fd);
        c->fd = -1;
        unlink(c->temp);
        return;
    }
    c->storing = 1;
    c->valid_sec = h.valid_sec;
    c->body_start = h.body_start;
    c->body_len = 0;
    fy_http_cache_write(c, text, (size_t) (q - text));
}

void
fy_http_cache_store_start(fy_http_proxy_t *p)
{
    fy_http_cache_store_open(p);
    if (!p->cache->storing) {
        /* nothing will be put in place: those waiting for the lock
         * need not wait for this request's end */
        fy_http_cache_unlock(p->cache);
    }
}

void
fy_http_cache_store_body(fy_http_proxy_t *p, const u_char *data, size_t len)
{
    fy_http_cache_t  *c = p->cache;

    if (fy_http_cache_write(c, data, len) == FY_OK) {
        c->body_len += len;
    }
}

void
fy_http_cache_store_end(fy_http_proxy_t *p)
{
    fy_http_cache_t  *c = p->cache;
    uint64_t          len = c->body_len;

    if (!c->storing) {
        return;
    }
    if (p->up_failed) {
        fy_http_cache_store_abort(c);
        return;
    }
    /* the body's length in the header, then in place */
    if (pwrite(c->fd, &len, sizeof(len),
               (off_t) offsetof(fy_http_cache_file_t, body_len))
        != (ssize_t) sizeof(len))
    {
        fy_log_error(FY_LOG_CRIT, errno, "write() to \"%s\" failed", c->temp);
        fy_http_cache_store_abort(c);
        return;
    }
    close(c->fd);
    c->fd = -1;
    c->storing = 0;
    if (rename(c->temp, c->name) == -1) {
        fy_log_error(FY_LOG_CRIT, errno, "rename() \"%s\" to \"%s\" failed",
                     c->temp, c->name);
        unlink(c->temp);
        fy_http_cache_unlock(c);
        return;
    }
    fy_http_cache_index(c, c->valid_sec, c->body_start + len);
}

int
fy_http_cache_revalidated(fy_http_proxy_t *p)
{
    fy_http_request_t     *r = p->r;
    fy_http_cache_t       *c = p->cache;
    fy_http_cache_file_t   h;
    int64_t                valid, valid_sec;
    time_t                 now = (time_t) (fy_wall_msec / 1000);
    int                    fd;

    if (!c->revalidate || c->stale_fd == -1 || (r->header_sent && !c->bg)
        || pread(c->stale_fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h))
    {
        return FY_DECLINED;
    }
    /* the 304's own fields, else proxy_cache_valid of the stored status
     * (nginx) */
    valid = fy_http_cache_header_valid(&p->headers,
                                       r->loc->proxy_ignore_headers, now);
    if (valid == 0) {
        valid = fy_http_cache_valid_for(r->loc, h.status);
    }
    if (valid > 0) {
        valid_sec = (int64_t) now + valid;
        fd = open(c->name, O_WRONLY | O_CLOEXEC);
        if (fd != -1) {
            if (pwrite(fd, &valid_sec, sizeof(valid_sec),
                       (off_t) offsetof(fy_http_cache_file_t, valid_sec))
                == (ssize_t) sizeof(valid_sec))
            {
                fy_http_cache_index(c, valid_sec,
                                    h.body_start + h.body_len);
            }
            close(fd);
        }
    }
    fy_http_cache_unlock(c);
    if (c->bg) {
        /* a background update: the client was answered already */
        fy_http_cache_bg_end(p);
        return FY_DONE;
    }
    /* the stored response answers, as fresh (fy_http_cache_stale's
     * way of sending the kept file) */
    c->status = FY_CACHE_REVALIDATED;
    return fy_http_cache_answer(p);
}
