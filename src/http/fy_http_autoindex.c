/*
 * fy_http_autoindex.c -- nginx's autoindex module: the listing of a
 * directory asked for with a trailing slash that has no index file,
 * in a location that serves files (root or alias) and says
 * "autoindex on".
 *
 *     autoindex             on | off;                  (off)
 *     autoindex_format      html | xml | json | jsonp; (html)
 *     autoindex_exact_size  on | off;                  (on; html only)
 *     autoindex_localtime   on | off;                  (off; html only)
 *
 * As nginx: names starting with '.' are left out; directories come
 * first, then files, each by name (byte order); entries are stat()ed
 * (a link shows what it points to; one that cannot be stat()ed is left
 * out).  HTML: the "Index of" page with a "../" link, names escaped for
 * HTML and shortened to 50 characters ("..&gt;"), the date, and the
 * size in bytes or (exact_size off) in K, M, G rounded.  XML, JSON:
 * nginx's element and field names; JSONP wraps the JSON in the
 * function named by the "callback" argument (letters, digits, '_' and
 * '.' only, at most 128 bytes, else 400).
 *
 * Safety: a file name is data from the disk, and may hold '<', '"',
 * '&', spaces or bytes above 0x7f.  In a link it is percent-encoded
 * (every byte but the unreserved ones of RFC 3986, so no name can end
 * the attribute or start a scheme such as "javascript:"); as text it
 * is escaped for HTML or XML, and escaped for JSON.
 *
 * The page is built at once in the request pool (sized first) and
 * sent as one response with its length.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_static.h"

#include <dirent.h>
#include <fcntl.h>
#include <time.h>

#define FY_AUTOINDEX_NAME_LEN  50

/* Copy a string literal to p; the end of the copy. */
#define fy_autoindex_cpy(p, lit)                                           \
    ((u_char *) memcpy(p, lit, sizeof(lit) - 1) + sizeof(lit) - 1)

typedef struct {
    fy_str_t   name;
    unsigned   dir:1;
    unsigned   file:1;
    time_t     mtime;
    off_t      size;
    size_t     chars;         /* UTF-8 characters of the name */
} fy_http_autoindex_entry_t;

static const char *fy_http_autoindex_flag(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
static const char *fy_http_autoindex_format(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);

const fy_command_t  fy_http_autoindex_commands[] = {

    { "autoindex", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_autoindex_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_static_conf_t, autoindex), NULL },

    { "autoindex_exact_size", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_http_autoindex_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_static_conf_t, autoindex_exact_size), NULL },

    { "autoindex_localtime", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0,
      1, 1, fy_http_autoindex_flag, FY_CONF_LOC_OFF,
      offsetof(fy_http_static_conf_t, autoindex_localtime), NULL },

    { "autoindex_format", FY_CONF_HTTP | FY_CONF_SRV | FY_CONF_LOC, 0, 1, 1,
      fy_http_autoindex_format, FY_CONF_LOC_OFF,
      offsetof(fy_http_static_conf_t, autoindex_format), NULL },

    { NULL, 0, 0, 0, 0, NULL, 0, 0, NULL }
};

static const fy_conf_enum_t  fy_http_autoindex_formats[] = {
    { "html",  FY_AUTOINDEX_HTML },
    { "xml",   FY_AUTOINDEX_XML },
    { "json",  FY_AUTOINDEX_JSON },
    { "jsonp", FY_AUTOINDEX_JSONP },
    { NULL, 0 }
};

/* The generic setters, on the level's static settings (made on first
 * use; cmd->offset is into them). */
static const char *
fy_http_autoindex_flag(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_http_static_conf_t  *scf = fy_http_static_conf(cf, conf);

    if (scf == NULL) {
        return "out of memory";
    }
    return fy_conf_set_flag(cf, cmd, scf);
}

static const char *
fy_http_autoindex_format(fy_conf_t *cf, const fy_command_t *cmd, void *conf)
{
    fy_command_t            c = *cmd;
    fy_http_static_conf_t  *scf = fy_http_static_conf(cf, conf);

    if (scf == NULL) {
        return "out of memory";
    }
    c.post = fy_http_autoindex_formats;
    return fy_conf_set_enum(cf, &c, scf);
}


/* ---- escaping ---- */

static int
fy_http_autoindex_unreserved(u_char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'
           || ch == '_' || ch == '~';
}

/* Percent-encode s into dst (NULL: only count); returns the length. */
static size_t
fy_http_autoindex_uri(u_char *dst, const u_char *s, size_t len)
{
    static const char  hex[] = "0123456789ABCDEF";
    size_t             i, n = 0;

    for (i = 0; i < len; i++) {
        if (fy_http_autoindex_unreserved(s[i])) {
            if (dst) {
                dst[n] = s[i];
            }
            n++;
        } else {
            if (dst) {
                dst[n] = '%';
                dst[n + 1] = (u_char) hex[s[i] >> 4];
                dst[n + 2] = (u_char) hex[s[i] & 0xf];
            }
            n += 3;
        }
    }
    return n;
}

/* Escape s for HTML or XML text and attributes into dst. */
static u_char *
fy_http_autoindex_html(u_char *dst, const u_char *s, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '<':
            dst = fy_autoindex_cpy(dst, "&lt;");
            break;
        case '>':
            dst = fy_autoindex_cpy(dst, "&gt;");
            break;
        case '&':
            dst = fy_autoindex_cpy(dst, "&amp;");
            break;
        case '"':
            dst = fy_autoindex_cpy(dst, "&quot;");
            break;
        default:
            *dst++ = s[i];
        }
    }
    return dst;
}

/* Escape s for a JSON string into dst. */
static u_char *
fy_http_autoindex_json(u_char *dst, const u_char *s, size_t len)
{
    static const char  hex[] = "0123456789abcdef";
    size_t             i;

    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\') {
            *dst++ = '\\';
            *dst++ = s[i];
        } else if (s[i] < 0x20 || s[i] == 0x7f) {
            dst = fy_autoindex_cpy(dst, "\\u00");
            *dst++ = (u_char) hex[s[i] >> 4];
            *dst++ = (u_char) hex[s[i] & 0xf];
        } else {
            *dst++ = s[i];
        }
    }
    return dst;
}

/* The first n UTF-8 characters of s: their length in bytes. */
static size_t
fy_http_autoindex_utf8_prefix(const u_char *s, size_t len, size_t n)
{
    size_t  i, chars = 0;

    for (i = 0; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            if (chars == n) {
                return i;
            }
            chars++;
        }
    }
    return len;
}


/* ---- reading the directory ---- */

static int
fy_http_autoindex_cmp(const void *a, const void *b)
{
    const fy_http_autoindex_entry_t  *x = a, *y = b;

    if (x->dir != y->dir) {
        return x->dir ? -1 : 1;
    }
    return strcmp((const char *) x->name.data, (const char *) y->name.data);
}

/* The entries of the directory fd (sorted), or FY_ERROR (logged). */
static int
fy_http_autoindex_read(fy_http_request_t *r, int fd, fy_array_t *entries)
{
    fy_http_autoindex_entry_t  *e;
    struct dirent              *de;
    struct stat                 st;
    DIR                        *d;
    size_t                      len, i;
    int                         dfd;

    dfd = dup(fd);
    if (dfd == -1 || (d = fdopendir(dfd)) == NULL) {
        fy_log_error(FY_LOG_CRIT, errno, "opendir() of \"%.*s\" failed, "
                     "client %s", (int) r->path.len, r->path.data,
                     r->hc->addr_text);
        if (dfd != -1) {
            close(dfd);
        }
        return FY_ERROR;
    }
    fy_array_init(entries, r->pool, 16, sizeof(fy_http_autoindex_entry_t));

    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;           /* ".", "..", and hidden files (nginx) */
        }
        if (fstatat(dfd, de->d_name, &st, 0) == -1) {
            continue;           /* gone, or a dangling link */
        }
        len = strlen(de->d_name);
        e = fy_array_push(entries);
        if (e == NULL
            || (e->name.data = (u_char *) fy_pstrndup(r->pool, de->d_name,
                                                      len)) == NULL)
        {
            closedir(d);
            return FY_ERROR;
        }
        e->name.len = len;
        e->dir = S_ISDIR(st.st_mode) != 0;
        e->file = S_ISREG(st.st_mode) != 0;
        e->mtime = st.st_mtime;
        e->size = st.st_size;
        e->chars = 0;
        for (i = 0; i < len; i++) {
            e->chars += (e->name.data[i] & 0xc0) != 0x80;
        }
    }
    closedir(d);

    if (entries->nelts > 1) {
        qsort(entries->elts, entries->nelts, sizeof(*e),
              fy_http_autoindex_cmp);
    }
    return FY_OK;
}


/* ---- the formats ---- */

static const char  *fy_http_autoindex_months[] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun",
    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

/* The size column of the HTML page, exact_size off: nginx's rounding. */
static int
fy_http_autoindex_human(char *buf, size_t size, off_t length)
{
    const off_t  k = 1024, m = 1024 * 1024, g = 1024 * 1024 * 1024;
    off_t        n;
    char         scale;

    if (length > g - 1) {
        n = length / g + (length % g > g / 2 - 1);
        scale = 'G';
    } else if (length > m - 1) {
        n = length / m + (length % m > m / 2 - 1);
        scale = 'M';
    } else if (length > 9999) {
        n = length / k + (length % k > 511);
        scale = 'K';
    } else {
        return snprintf(buf, size, " %6lld", (long long) length);
    }
    return snprintf(buf, size, "%6lld%c", (long long) n, scale);
}

static u_char *
fy_http_autoindex_page_html(fy_http_request_t *r,
                            const fy_http_static_conf_t *scf,
                            const fy_array_t *entries, size_t *len)
{
    const fy_http_autoindex_entry_t  *e;
    u_char                           *buf, *p;
    size_t                            size, n, width;
    struct tm                         tm;
    unsigned                          i;

    size = 200 + 12 * r->path.len;
    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);
        size += 3 * e->name.len + 6 * e->name.len + 140;
    }
    buf = fy_palloc(r->pool, size);
    if (buf == NULL) {
        return NULL;
    }

    p = buf;
    p = fy_autoindex_cpy(p, "<html>\r\n<head><title>Index of ");
    p = fy_http_autoindex_html(p, r->path.data, r->path.len);
    p = fy_autoindex_cpy(p, "</title></head>\r\n<body>\r\n<h1>Index of ");
    p = fy_http_autoindex_html(p, r->path.data, r->path.len);
    p = fy_autoindex_cpy(p, "</h1><hr><pre><a href=\"../\">../</a>\r\n");

    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);

        p = fy_autoindex_cpy(p, "<a href=\"");
        p += fy_http_autoindex_uri(p, e->name.data, e->name.len);
        if (e->dir) {
            *p++ = '/';
        }
        *p++ = '"';
        *p++ = '>';

        width = e->chars;
        if (width > FY_AUTOINDEX_NAME_LEN) {
            n = fy_http_autoindex_utf8_prefix(e->name.data, e->name.len,
                                              FY_AUTOINDEX_NAME_LEN - 3);
            p = fy_http_autoindex_html(p, e->name.data, n);
            p = fy_autoindex_cpy(p, "..&gt;</a>");
        } else {
            p = fy_http_autoindex_html(p, e->name.data, e->name.len);
            if (e->dir && width < FY_AUTOINDEX_NAME_LEN) {
                *p++ = '/';
                width++;
            }
            p = fy_autoindex_cpy(p, "</a>");
            memset(p, ' ', FY_AUTOINDEX_NAME_LEN - width);
            p += FY_AUTOINDEX_NAME_LEN - width;
        }
        *p++ = ' ';

        if (scf->autoindex_localtime == 1) {
            localtime_r(&e->mtime, &tm);
        } else {
            gmtime_r(&e->mtime, &tm);
        }
        p += snprintf((char *) p, 32, "%02d-%s-%d %02d:%02d ", tm.tm_mday,
                      fy_http_autoindex_months[tm.tm_mon], tm.tm_year + 1900,
                      tm.tm_hour, tm.tm_min);

        if (scf->autoindex_exact_size != 0) {
            if (e->dir) {
                p = fy_autoindex_cpy(p, "                  -");
            } else {
                p += snprintf((char *) p, 32, "%19lld", (long long) e->size);
            }
        } else if (e->dir) {
            p = fy_autoindex_cpy(p, "      -");
        } else {
            p += fy_http_autoindex_human((char *) p, 32, e->size);
        }
        *p++ = '\r';
        *p++ = '\n';
    }

    p = fy_autoindex_cpy(p, "</pre><hr></body>\r\n</html>\r\n");
    *len = (size_t) (p - buf);
    return buf;
}

static u_char *
fy_http_autoindex_page_xml(fy_http_request_t *r, const fy_array_t *entries,
                           size_t *len)
{
    const fy_http_autoindex_entry_t  *e;
    u_char                           *buf, *p;
    size_t                            size = 64;
    struct tm                         tm;
    unsigned                          i;

    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);
        size += 6 * e->name.len + 120;
    }
    buf = fy_palloc(r->pool, size);
    if (buf == NULL) {
        return NULL;
    }
    p = buf;
    p = fy_autoindex_cpy(p, "<?xml version=\"1.0\"?>\r\n<list>\r\n");
    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);
        gmtime_r(&e->mtime, &tm);
        p += snprintf((char *) p, 64, "<%s mtime=\"%04d-%02d-%02dT%02d:%02d:"
                      "%02dZ\"", e->dir ? "directory" : e->file ? "file"
                                                                : "other",
                      tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                      tm.tm_hour, tm.tm_min, tm.tm_sec);
        if (e->file) {
            p += snprintf((char *) p, 32, " size=\"%lld\"",
                          (long long) e->size);
        }
        *p++ = '>';
        p = fy_http_autoindex_html(p, e->name.data, e->name.len);
        p += snprintf((char *) p, 16, "</%s>\r\n", e->dir ? "directory"
                                                 : e->file ? "file" : "other");
    }
    p = fy_autoindex_cpy(p, "</list>\r\n");
    *len = (size_t) (p - buf);
    return buf;
}

static u_char *
fy_http_autoindex_page_json(fy_http_request_t *r, const fy_array_t *entries,
                            const fy_str_t *callback, size_t *len)
{
    const fy_http_autoindex_entry_t  *e;
    u_char                           *buf, *p;
    size_t                            size = 32 + callback->len;
    struct tm                         tm;
    char                              date[40];
    unsigned                          i;

    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);
        size += 6 * e->name.len + 140;
    }
    buf = fy_palloc(r->pool, size);
    if (buf == NULL) {
        return NULL;
    }
    p = buf;
    if (callback->len) {
        /* nginx's first line, before the call */
        p = fy_autoindex_cpy(p, "/* callback */\r\n");
        p = (u_char *) memcpy(p, callback->data, callback->len)
            + callback->len;
        *p++ = '(';
    }
    *p++ = '[';
    for (i = 0; i < entries->nelts; i++) {
        e = fy_array_elt(entries, fy_http_autoindex_entry_t, i);
        if (i) {
            *p++ = ',';
        }
        p = fy_autoindex_cpy(p, "\r\n{ \"name\":\"");
        p = fy_http_autoindex_json(p, e->name.data, e->name.len);
        gmtime_r(&e->mtime, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        p += snprintf((char *) p, 120, "\", \"type\":\"%s\", \"mtime\":\"%s\"",
                      e->dir ? "directory" : e->file ? "file" : "other",
                      date);
        if (e->file) {
            p += snprintf((char *) p, 32, ", \"size\":%lld",
                          (long long) e->size);
        }
        p = fy_autoindex_cpy(p, " }");
    }
    p = fy_autoindex_cpy(p, "\r\n]");
    if (callback->len) {
        p = fy_autoindex_cpy(p, ");");
    }
    /* no line end after the last line, as nginx */
    *len = (size_t) (p - buf);
    return buf;
}

/* The "callback" argument for JSONP: FY_OK (maybe empty), or FY_ERROR
 * when it is no function name (nginx: 400). */
static int
fy_http_autoindex_callback(fy_http_request_t *r, fy_str_t *cb)
{
    size_t  i;
    u_char  ch;

    cb->len = 0;
    cb->data = NULL;
    if (!fy_http_arg(r, (const u_char *) "callback", 8, cb)) {
        cb->len = 0;
        return FY_OK;
    }
    if (cb->len > 128) {
        fy_log_error(FY_LOG_INFO, 0, "client sent too long callback name, "
                     "client %s", r->hc->addr_text);
        return FY_ERROR;
    }
    for (i = 0; i < cb->len; i++) {
        ch = cb->data[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
              || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.'))
        {
            fy_log_error(FY_LOG_INFO, 0, "client sent invalid callback "
                         "name, client %s", r->hc->addr_text);
            return FY_ERROR;
        }
    }
    return FY_OK;
}

void
fy_http_autoindex(fy_http_request_t *r, int fd)
{
    static fy_str_t         html = fy_string("text/html");
    /* nginx names the charset of its XML listing */
    static fy_str_t         xml = fy_string("text/xml; charset=utf-8");
    static fy_str_t         json = fy_string("application/json");
    static fy_str_t         js = fy_string("application/javascript");
    fy_http_static_conf_t  *scf = r->loc->static_conf;
    fy_array_t              entries;
    const fy_str_t         *type;
    fy_str_t                cb = { 0, NULL };
    u_char                 *body;
    size_t                  len = 0;

    if (scf->autoindex_format == FY_AUTOINDEX_JSONP
        && fy_http_autoindex_callback(r, &cb) != FY_OK)
    {
        fy_http_send_error(r, 400);
        return;
    }
    if (fy_http_autoindex_read(r, fd, &entries) != FY_OK) {
        fy_http_send_error(r, 500);
        return;
    }

    switch (scf->autoindex_format) {
    case FY_AUTOINDEX_XML:
        type = &xml;
        body = fy_http_autoindex_page_xml(r, &entries, &len);
        break;
    case FY_AUTOINDEX_JSON:
    case FY_AUTOINDEX_JSONP:
        type = cb.len ? &js : &json;
        body = fy_http_autoindex_page_json(r, &entries, &cb, &len);
        break;
    default:
        type = &html;
        body = fy_http_autoindex_page_html(r, scf, &entries, &len);
    }
    if (body == NULL) {
        fy_http_close_connection(r->hc);
        return;
    }
    fy_http_send_response(r, 200, type, body, len, NULL);
}
