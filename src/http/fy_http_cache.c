/*
 * fy_http_cache.c -- the proxy cache's index and its answers from
 * files (layout in fy_http_cache.h).
 *
 * The index is a zone of the limit zones' kind (fy_http_limit_zone.c:
 * the master maps it before the workers fork and keeps it across a
 * reload), one node per entry whose file is in place.  Every worker
 * looks entries up and adds them under the zone's lock.
 *
 * Eviction happens in the workers, without a cache manager process:
 * adding an entry first drops the least recently used ones while the
 * entries' total size is over max_size or the index is full, and each
 * lookup and each addition drops up to FY_CACHE_INACTIVE_STEP of the
 * least recently used entries not used for "inactive".  The files of
 * the dropped entries are unlinked after the lock is let go.  A file
 * unlinked by mistake (by a worker that dropped its entry just as
 * another put a new one in place) is found missing by the next lookup,
 * which drops its entry: a MISS.
 */
#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"
#include "fy_http_proxy.h"
#include "fy_http_static.h"
#include "fy_http_cache.h"
#include "fy_user.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <openssl/evp.h>

/* inactive entries dropped per lookup at most; dropped ones unlinked
 * after the lock, at most this many per pass */
#define FY_CACHE_INACTIVE_STEP  2
#define FY_CACHE_DROP_MAX       16

typedef struct {
    u_char    md5[FY_CACHE_DROP_MAX][16];
    unsigned  n;
} fy_http_cache_drops_t;


/* "NAME" and v in decimal and CRLF at hdr + n: the new length. */
static size_t
fy_http_cache_number(char *hdr, size_t n, const char *name, uint64_t v)
{
    char  *q = fy_cpymem(hdr + n, name, strlen(name));

    q += fy_utoa((u_char *) q, v);
    return (size_t) (fy_cpylit(q, "\r\n") - hdr);
}


/* ---- names ---- */

size_t
fy_http_cache_file_name(fy_http_cache_path_t *cp, const u_char *md5,
                        char *buf)
{
    static const char  hex[] = "0123456789abcdef";
    char               name[33];
    size_t             n, end = 32;
    unsigned           i;

    for (i = 0; i < 16; i++) {
        name[2 * i] = hex[md5[i] >> 4];
        name[2 * i + 1] = hex[md5[i] & 0xf];
    }
    name[32] = '\0';
    /* nginx: levels=1:2 takes the last character, then the two before
     * it: .../c/29/b7f54b2df7773722d382f4809d65029c */
    /* (the path is checked at load to leave room for the rest: at most
     * three levels of two, and the 33 bytes of the name) */
    n = strlen(cp->path);
    memcpy(buf, cp->path, n);
    for (i = 0; i < FY_CACHE_LEVELS_MAX && cp->levels[i]; i++) {
        end -= cp->levels[i];
        buf[n++] = '/';
        memcpy(buf + n, name + end, cp->levels[i]);
        n += cp->levels[i];
    }
    buf[n++] = '/';
    memcpy(buf + n, name, 33);
    return n + 32;
}


/* ---- the index (under the zone's lock) ---- */

static void
fy_http_cache_drop(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n,
                   fy_http_cache_drops_t *d)
{
    if (n->count & FY_CACHE_NODE_FILE) {
        shm->cache_entries -= shm->cache_entries != 0;
        if (d->n < FY_CACHE_DROP_MAX) {
            memcpy(d->md5[d->n++], n->key, 16);
        }
    }
    shm->cache_bytes -= fy_min(shm->cache_bytes, (uint64_t) n->conns * 1024);
    fy_http_limit_free(shm, n);
}

/* The lock time kept after the key in node n. */
static int64_t
fy_http_cache_lock_get(fy_http_limit_node_t *n)
{
    int64_t  t;

    memcpy(&t, n->key + 16, sizeof(t));
    return t;
}

static void
fy_http_cache_lock_set(fy_http_limit_node_t *n, int64_t t)
{
    memcpy(n->key + 16, &t, sizeof(t));
}

/* The least recently used entries not used for cp->inactive: up to max
 * of them go (never keep, the one being added).  Times are whole
 * seconds: an entry goes once more than "inactive" has passed, as
 * nginx's (expire < now), so one used at the end of a second is not
 * dropped by a look at the start of the next with inactive=1s. */
static void
fy_http_cache_expire(fy_http_limit_shm_t *shm, fy_http_cache_path_t *cp,
                     fy_http_limit_node_t *keep, unsigned max,
                     fy_http_cache_drops_t *d, int64_t now)
{
    fy_http_limit_node_t  *n;

    while (max-- && shm->lru_tail != FY_LIMIT_NIL) {
        n = fy_http_limit_node(shm, shm->lru_tail);
        if (n == keep || (int64_t) n->last + cp->inactive >= now
            || fy_http_cache_lock_get(n) > (int64_t) fy_wall_msec)
        {
            return;     /* used lately, or being fetched */
        }
        fy_http_cache_drop(shm, n, d);
    }
}

static void
fy_http_cache_unlink(fy_http_cache_path_t *cp, fy_http_cache_drops_t *d)
{
    char      name[PATH_MAX];
    unsigned  i;

    for (i = 0; i < d->n; i++) {
        fy_http_cache_file_name(cp, d->md5[i], name);
        if (unlink(name) == -1 && errno != ENOENT) {
            fy_log_error(FY_LOG_CRIT, errno, "unlink() \"%s\" failed", name);
        }
    }
}

/* Under the lock: the node of c's key, made when missing (the least
 * recently used goes when the index is full); NULL if none can be. */
static fy_http_limit_node_t *
fy_http_cache_node(fy_http_cache_t *c, fy_http_cache_drops_t *d)
{
    fy_http_limit_shm_t   *shm = c->zone->shm;
    fy_http_limit_node_t  *n;
    uint32_t               hash;

    hash = fy_http_limit_hash(shm->seed, c->md5, 16);
    n = fy_http_limit_find(shm, c->md5, 16, hash);
    if (n && (int64_t) n->last + c->cp->inactive < (int64_t) (fy_wall_msec
                                                              / 1000)
        && fy_http_cache_lock_get(n) <= (int64_t) fy_wall_msec)
    {
        /* not used for "inactive": gone, even if the step of
         * fy_http_cache_expire had not reached it yet */
        fy_http_cache_drop(shm, n, d);
        n = NULL;
    }
    if (n) {
        fy_http_limit_touch(shm, n);
        return n;
    }
    n = fy_http_limit_alloc(shm, c->md5, 16, hash);
    while (n == NULL && shm->lru_tail != FY_LIMIT_NIL) {
        /* the index is full: the least recently used goes */
        fy_http_cache_drop(shm, fy_http_limit_node(shm, shm->lru_tail), d);
        n = fy_http_limit_alloc(shm, c->md5, 16, hash);
    }
    if (n) {
        fy_http_cache_lock_set(n, 0);
    }
    return n;
}

void
fy_http_cache_unlock(fy_http_cache_t *c)
{
    fy_http_limit_shm_t   *shm = c->zone->shm;
    fy_http_limit_node_t  *n;

    if (!c->lock_held) {
        return;
    }
    c->lock_held = 0;
    fy_shm_lock(&shm->lock);
    n = fy_http_limit_find(shm, c->md5, 16,
                           fy_http_limit_hash(shm->seed, c->md5, 16));
    if (n) {
        fy_http_cache_lock_set(n, 0);
    }
    fy_shm_unlock(&shm->lock);
}

void
fy_http_cache_index(fy_http_cache_t *c, int64_t valid_sec, uint64_t size)
{
    fy_http_limit_shm_t    *shm = c->zone->shm;
    fy_http_cache_path_t   *cp = c->cp;
    fy_http_limit_node_t   *n;
    fy_http_cache_drops_t   d;
    int64_t                 now = (int64_t) (fy_wall_msec / 1000);

    d.n = 0;
    fy_shm_lock(&shm->lock);
    n = fy_http_cache_node(c, &d);
    if (n) {
        /* replaced in place by the rename: the old size goes */
        shm->cache_bytes -= fy_min(shm->cache_bytes,
                                   (uint64_t) n->conns * 1024);
        if (c->lock_held) {
            fy_http_cache_lock_set(n, 0);
        }
        if (!(n->count & FY_CACHE_NODE_FILE)) {
            shm->cache_entries++;
            n->count |= FY_CACHE_NODE_FILE;
        }
        n->excess = valid_sec;
        n->last = (uint64_t) now;
        n->conns = (uint32_t) fy_min((size + 1023) / 1024, UINT32_MAX);
        shm->cache_bytes += (uint64_t) n->conns * 1024;
        /* max_size: the least recently used go until it fits */
        while (cp->max_size && shm->cache_bytes > cp->max_size
               && shm->lru_tail != FY_LIMIT_NIL
               && shm->lru_tail != fy_http_limit_index(shm, n)
               && d.n < FY_CACHE_DROP_MAX)
        {
            fy_http_cache_drop(shm, fy_http_limit_node(shm, shm->lru_tail),
                               &d);
        }
        fy_http_cache_expire(shm, cp, n, FY_CACHE_INACTIVE_STEP, &d, now);
    }
    c->lock_held = 0;
    fy_shm_unlock(&shm->lock);
    fy_http_cache_unlink(cp, &d);
}

/* Look c->md5 up: 1 fresh, 0 expired, -1 no file.  The key counts as
 * used now (count it as a use when count); a request that will fetch
 * it takes proxy_cache_lock when lock (c->lock_held), or finds another
 * holding it (c->lock_wait). */
static int
fy_http_cache_lookup(fy_http_cache_t *c, int count, int lock, int64_t age)
{
    fy_http_limit_shm_t    *shm = c->zone->shm;
    fy_http_limit_node_t   *n;
    fy_http_cache_drops_t   d;
    int64_t                 now = (int64_t) (fy_wall_msec / 1000);
    int64_t                 now_ms = (int64_t) fy_wall_msec;
    int                     rc = -1;

    d.n = 0;
    c->lock_wait = 0;
    fy_shm_lock(&shm->lock);
    fy_http_cache_expire(shm, c->cp, NULL, FY_CACHE_INACTIVE_STEP, &d, now);
    n = fy_http_cache_node(c, &d);
    if (n) {
        n->last = (uint64_t) now;
        if (count && (n->count & FY_CACHE_NODE_USES) < FY_CACHE_NODE_USES) {
            n->count++;
        }
        c->uses = n->count & FY_CACHE_NODE_USES;
        if (n->count & FY_CACHE_NODE_FILE) {
            rc = n->excess > now;
        }
        if (rc != 1 && lock) {
            if (fy_http_cache_lock_get(n) > now_ms) {
                c->lock_wait = 1;
            } else {
                fy_http_cache_lock_set(n, now_ms + age);
                c->lock_held = 1;
            }
        }
    }
    fy_shm_unlock(&shm->lock);
    fy_http_cache_unlink(c->cp, &d);
    return rc;
}

/* The entry's file is gone or broken: its entry goes too. */
static void
fy_http_cache_forget(fy_http_cache_t *c)
{
    fy_http_limit_shm_t    *shm = c->zone->shm;
    fy_http_limit_node_t   *n;

    fy_shm_lock(&shm->lock);
    n = fy_http_limit_find(shm, c->md5, 16,
                           fy_http_limit_hash(shm->seed, c->md5, 16));
    if (n && (n->count & FY_CACHE_NODE_FILE)) {
        /* the uses and the lock stay; only the file is no more */
        shm->cache_bytes -= fy_min(shm->cache_bytes,
                                   (uint64_t) n->conns * 1024);
        n->conns = 0;
        n->count &= ~FY_CACHE_NODE_FILE;
        shm->cache_entries -= shm->cache_entries != 0;
    }
    fy_shm_unlock(&shm->lock);
}


/* ---- answering from a file ---- */

/* Open the entry's file and check its header: the fd, -1 (a file of
 * another key, broken, or missing), or -2 when it is another variant
 * than r's (its Vary; r's variant is then in c->variant). */
static int
fy_http_cache_open(fy_http_request_t *r, fy_http_cache_t *c,
                   fy_http_cache_file_t *h)
{
    u_char  key[512], vary[FY_CACHE_VARY_MAX];
    int     fd;

    fd = open(c->name, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        if (errno != ENOENT) {
            fy_log_error(FY_LOG_CRIT, errno, "open() \"%s\" failed", c->name);
        }
        return -1;
    }
    if (pread(fd, h, sizeof(*h), 0) != (ssize_t) sizeof(*h)
        || memcmp(h->magic, FY_CACHE_MAGIC, 8) != 0
        || memcmp(h->md5, c->md5, 16) != 0
        || h->key_len != c->key_len
        || h->vary_len > FY_CACHE_VARY_MAX
        || h->body_start != (uint64_t) fy_http_cache_fields_off(h)
                            + h->fields_len
        || (c->key_len <= sizeof(key)
            && (pread(fd, key, c->key_len, sizeof(*h))
                != (ssize_t) c->key_len
                || memcmp(key, c->key, c->key_len) != 0)))
    {
        /* a key whose MD5 is another's, or a file not ours: not used
         * (nginx logs the first as "cache key md5 collision") */
        close(fd);
        return -1;
    }
    if (h->vary_len
        && (pread(fd, vary, h->vary_len, (off_t) (sizeof(*h) + h->key_len))
            != (ssize_t) h->vary_len
            || fy_http_cache_variant(r, c, vary, h->vary_len, c->variant)
               != FY_OK
            || memcmp(c->variant, h->variant, 16) != 0))
    {
        close(fd);
        return -2;
    }
    return fd;
}

/* The value of the stored field name among the lines [p, end) of an
 * entry's fields ("Name: value\r\n"), or an empty *v. */
static void
fy_http_cache_field(u_char *p, u_char *end, const char *name, fy_str_t *v)
{
    u_char    *eol, *colon, *s;
    fy_str_t   n;

    v->len = 0;
    for ( ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            return;
        }
        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon == NULL) {
            continue;               /* the status line */
        }
        n.data = p;
        n.len = (size_t) (colon - p);
        if (!fy_str_eq_ci(&n, name)) {
            continue;
        }
        for (s = colon + 1; s < eol && *s == ' '; s++) { /* skip */ }
        v->data = s;
        v->len = (size_t) (eol - s);
        if (v->len && s[v->len - 1] == '\r') {
            v->len--;
        }
        return;
    }
}

/*
 * ssi over a HIT of an ssi_types page (not encoded): the stored body is
 * read whole and processed, and answered as the proxied page was
 * (fy_http_proxy_ssi.c): its stored status, its fields but those SSI
 * drops, the output's length; no Range, no 304.  FY_DECLINED: ssi does
 * not apply.
 */
static int
fy_http_cache_ssi(fy_http_request_t *r, int fd, fy_http_cache_file_t *h,
                  u_char *p, u_char *end)
{
    fy_array_t         fields;
    fy_http_header_t  *f;
    fy_str_t           type, enc;
    u_char            *eol, *colon, *v, *body;

    fy_http_cache_field(p, end, "Content-Type", &type);
    fy_http_cache_field(p, end, "Content-Encoding", &enc);
    if (h->body_len == 0 || (enc.len && !fy_str_eq_ci(&enc, "identity"))
        || !fy_http_ssi_applies(r, type.len ? &type : NULL))
    {
        return FY_DECLINED;
    }
    fy_array_init(&fields, r->pool, 8, sizeof(fy_http_header_t));
    for ( ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            break;
        }
        colon = memchr(p, ':', (size_t) (eol - p));
        if (colon == NULL) {
            continue;
        }
        for (v = colon + 1; v < eol && *v == ' '; v++) { /* skip */ }
        f = fy_array_push(&fields);
        if (f == NULL) {
            return FY_ERROR;
        }
        f->name.data = p;
        f->name.len = (size_t) (colon - p);
        f->value.data = v;
        f->value.len = (size_t) (eol - v) - (eol > v && eol[-1] == '\r');
    }
    switch (fy_http_ssi_read(r, fd, (off_t) h->body_start,
                             (off_t) h->body_len, &body)) {
    case FY_DECLINED:
        fy_log_error(FY_LOG_ERR, 0, "SSI document of %llu bytes is bigger "
                     "than %d, client %s", (unsigned long long) h->body_len,
                     FY_HTTP_SSI_MAX, r->hc->addr_text);
        fy_http_send_error(r, 500);
        return FY_OK;
    case FY_ERROR:
        return FY_ERROR;
    }
    if (fy_http_ssi_pass_lines(r, &fields, &r->pass_lines) != FY_OK) {
        return FY_ERROR;
    }
    fy_http_ssi_response(r, h->status, &type, body, (size_t) h->body_len);
    return FY_OK;
}

/* A HIT's conditions (nginx's not_modified filter on cached answers):
 * 1 when If-None-Match names the stored ETag, or, without it,
 * If-Modified-Since is the stored Last-Modified (as
 * if_modified_since says); then a 304 answers. */
static int
fy_http_cache_not_modified(fy_http_request_t *r, u_char *fields,
                           u_char *end)
{
    fy_http_header_t  *rh;
    fy_str_t          *inm = NULL, *ims = NULL, etag, lm;
    char              *tag;
    time_t             t, mt;
    unsigned           i;

    for (i = 0; i < r->headers.nelts; i++) {
        rh = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&rh->name, "If-None-Match")) {
            inm = &rh->value;
        } else if (fy_str_eq_ci(&rh->name, "If-Modified-Since")) {
            ims = &rh->value;
        }
    }
    if (inm) {
        fy_http_cache_field(fields, end, "ETag", &etag);
        if (etag.len > 2 && etag.data[0] == 'W' && etag.data[1] == '/') {
            etag.data += 2;         /* compared weakly */
            etag.len -= 2;
        }
        tag = etag.len ? fy_pstrndup(r->pool, (char *) etag.data, etag.len)
                       : NULL;
        return tag && fy_http_static_etag_match(inm, tag, 0);
    }
    if (ims == NULL || r->loc->if_modified_since == FY_HTTP_IMS_OFF) {
        return 0;
    }
    fy_http_cache_field(fields, end, "Last-Modified", &lm);
    if (lm.len == 0) {
        return 0;
    }
    t = fy_time_parse_http(ims->data, ims->len);
    mt = fy_time_parse_http(lm.data, lm.len);
    return t != (time_t) -1 && mt != (time_t) -1
           && (t == mt
               || (t > mt && r->loc->if_modified_since == FY_HTTP_IMS_BEFORE));
}

/* The stored fields [p, end) into hdr, changed as on the MISS: for a
 * body that sub_filter or gzip changes (filtered), the ETag weak (or
 * gone with Last-Modified when sub_filter says so, fy_http_sub_header's
 * rule); expires's Expires and Cache-Control replacing the stored
 * ones, charset's "; charset=" (the location's header_filters, as
 * fy_proxy_filter_header does to a proxied response).  The length
 * written. */
static size_t
fy_http_cache_fields_copy(fy_http_request_t *r, fy_http_static_file_t *f,
                          int filtered, char *hdr, u_char *p, u_char *end)
{
    u_char            *eol, *colon, *v;
    fy_str_t           name, value;
    fy_http_header_t   h;
    char              *q = hdr;
    int                drop = f->sub_hdr && !fy_http_sub_keeps_validators(r);

    for ( ; p < end; p = eol + 1) {
        eol = memchr(p, '\n', (size_t) (end - p));
        if (eol == NULL) {
            break;
        }
        colon = memchr(p, ':', (size_t) (eol - p));
        name.data = p;
        name.len = colon ? (size_t) (colon - p) : 0;
        if (drop && (fy_str_eq_ci(&name, "ETag")
                     || fy_str_eq_ci(&name, "Last-Modified")))
        {
            continue;
        }
        if (fy_str_eq_ci(&name, "X-Accel-Charset")
            && fy_proxy_hidden(r->loc, &name))
        {
            continue;               /* read by fy_http_cache_send */
        }
        if (f->gunzip && (fy_str_eq_ci(&name, "Content-Encoding")
                          || fy_str_eq_ci(&name, "Accept-Ranges")))
        {
            continue;               /* decompressed, whole */
        }
        if (r->slice && (fy_str_eq_ci(&name, "Content-Range")
                         || fy_str_eq_ci(&name, "Accept-Ranges")))
        {
            continue;               /* the slice's: ferry's own lines */
        }
        if (colon && (r->loc->header_filters || r->accel_charset.len
                      || f->mp))
        {
            for (v = colon + 1; v < eol && *v == ' '; v++) { /* skip */ }
            h.name = name;
            h.value.data = v;
            h.value.len = (size_t) (eol - v) - (eol[-1] == '\r');
            value = h.value;
            if ((r->loc->header_filters || r->accel_charset.len)
                && fy_proxy_filter_header(r, &h, &value))
            {
                continue;
            }
            if (f->mp && fy_str_eq_ci(&name, "Content-Type")) {
                f->mp->type = value;    /* the parts' (with charset's) */
                continue;
            }
            if (value.data != h.value.data) {
                /* Content-Type with charset's parameter */
                q = fy_cpymem(q, p, (size_t) (v - p));
                q = fy_cpymem(q, value.data, value.len);
                q = fy_cpymem(q, "\r\n", 2);
                continue;
            }
        }
        if (filtered && colon && fy_str_eq_ci(&name, "ETag")) {
            /* "ETag: X" -> "ETag: W/X" unless weak already */
            colon++;
            while (colon < eol && *colon == ' ') {
                colon++;
            }
            q = fy_cpymem(q, p, (size_t) (colon - p));
            if (eol - colon < 2 || colon[0] != 'W' || colon[1] != '/') {
                q = fy_cpymem(q, "W/", 2);
            }
            q = fy_cpymem(q, colon, (size_t) (eol + 1 - colon));
            continue;
        }
        q = fy_cpymem(q, p, (size_t) (eol + 1 - p));
    }
    return (size_t) (q - hdr);
}

/* Send the entry in file fd (header h) as r's answer: FY_OK, or
 * FY_ERROR before anything was sent (fd is closed either way by the
 * request's pool once it is r->file, else here). */
static int
fy_http_cache_send(fy_http_request_t *r, int fd, fy_http_cache_file_t *h)
{
    fy_http_conn_t         *hc = r->hc;
    fy_http_static_file_t  *f;
    fy_http_header_t       *rh;
    fy_str_t               *range = NULL, *ifr = NULL, add;
    const char             *conn, *server, *gz;
    char                   *hdr, *text, *eol, *q;
    size_t                  slen, size, n, llen, flen;
    off_t                   start = 0, end = (off_t) h->body_len - 1;
    int                     status = h->status, filtered = 0, sliced = 0;
    unsigned                i;
    fy_str_t                enc, type, etag, lm, cr, xa;
    uint64_t                from, len;
    fy_http_range_t         one, *ranges;
    fy_http_multipart_t    *mp = NULL;
    int                     rc, nr, unsat = 0;

    f = fy_pcalloc(r->pool, sizeof(*f));
    text = fy_palloc(r->pool, h->fields_len + 1);
    if (f == NULL || text == NULL
        || pread(fd, text, h->fields_len, fy_http_cache_fields_off(h))
           != (ssize_t) h->fields_len
        || (eol = memchr(text, '\n', h->fields_len)) == NULL
        || fy_pool_cleanup_add(r->pool, fy_http_static_file_close, f)
           != FY_OK)
    {
        close(fd);
        return FY_ERROR;
    }
    f->fd = fd;
    f->dir = -1;
    r->file = f;
    if (r->body_rest || r->chunked) {
        /* a body nobody reads: no next request can be found after it */
        r->keepalive = 0;
    }
    llen = (size_t) (eol - text) - 1;            /* "200 OK" before CRLF */
    eol++;
    flen = h->fields_len - (size_t) (eol - text); /* the fields after it */

    /* the upstream's X-Accel-Charset, stored with the entry: the HIT is
     * marked and recoded by it as the response was, unless this
     * location ignores it (nginx parses the stored header again) */
    fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                        "X-Accel-Charset", &xa);
    if (xa.len && !(r->loc->proxy_ignore_headers & FY_HTTP_IGN_XA_CHARSET)) {
        r->accel_charset = xa;
    }

    if (r->loc->ssi && !r->slice) {
        switch (fy_http_cache_ssi(r, fd, h, (u_char *) eol,
                                  (u_char *) eol + flen)) {
        case FY_OK:
            return FY_OK;
        case FY_ERROR:
            return FY_ERROR;
        }
    }

    if (r->slice) {
        /* slice: a slice's entry; the first one's header is the
         * client's, a later one's body alone follows (fy_http_slice.c) */
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Content-Range", &cr);
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "ETag", &etag);
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Last-Modified", &lm);
        switch (fy_http_slice_cached(r, f, status, &cr, &etag, &lm,
                                     h->body_len, &from, &len))
        {
        case FY_OK:
            sliced = 1;
            status = r->status;
            start = (off_t) from;
            end = (off_t) (from + len) - 1;
            break;
        case FY_DONE:
            f->pos = (off_t) (h->body_start + from);
            f->end = f->pos + (off_t) len;
            hc->nout = 0;
            fy_http_static_start(r, NULL, 0);
            return FY_OK;
        case FY_AGAIN:
            return FY_OK;       /* broken: the connection is closed */
        case FY_ERROR:
            return FY_ERROR;
        }
    }

    /* a conditional request first: a 304 wins over Range (nginx's
     * not_modified filter runs before its range filter) */
    if (status == 200 && !r->err_status && !sliced
        && fy_http_cache_not_modified(r, (u_char *) eol,
                                      (u_char *) eol + flen))
    {
        status = 304;
        start = 0;
        end = -1;                   /* no body */
    }

    /* ranges of a 200, as static files have them (fy_http_static_send):
     * one, several (multipart/byteranges), none satisfiable (416); If-Range
     * naming the stored ETag or date */
    for (i = 0; status == 200 && !sliced && !r->err_status
                && r->loc->max_ranges > 0
                && i < r->headers.nelts; i++)
    {
        rh = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (fy_str_eq_ci(&rh->name, "Range")) {
            range = &rh->value;
        } else if (fy_str_eq_ci(&rh->name, "If-Range")) {
            ifr = &rh->value;
        }
    }
    if (range && ifr) {
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            ifr->len && ifr->data[0] == '"'
                            ? "ETag" : "Last-Modified", &etag);
        if (etag.len != ifr->len
            || memcmp(etag.data, ifr->data, ifr->len) != 0)
        {
            range = NULL;           /* changed since: the whole entry */
        }
    }
    rc = range ? fy_http_parse_ranges(range->data, range->len,
                                      (off_t) h->body_len,
                                      r->loc->max_ranges, NULL, &nr)
               : FY_HTTP_RANGE_IGNORE;
    if (rc == FY_HTTP_RANGE_OK) {
        ranges = nr == 1 ? &one : fy_palloc(r->pool, (size_t) nr
                                                     * sizeof(*ranges));
        mp = nr == 1 ? NULL : fy_palloc(r->pool, sizeof(*mp));
        if (ranges == NULL || (nr > 1 && mp == NULL)) {
            return FY_ERROR;
        }
        (void) fy_http_parse_ranges(range->data, range->len,
                                    (off_t) h->body_len, r->loc->max_ranges,
                                    ranges, &nr);
        status = 206;
        start = ranges[0].start;
        end = ranges[0].end;
        if (mp) {
            memset(mp, 0, sizeof(*mp));
            mp->ranges = ranges;
            mp->n = nr;
        }
    } else if (rc == FY_HTTP_RANGE_UNSATISFIABLE) {
        unsat = 1;
    }

    /* sub_filter and gzip act on a HIT as on the response it stores
     * (nginx's filters run after the cache): the whole entry then,
     * through the static module's filtered sender, no Range (but a
     * single-byte charset recoding alone keeps the ranges: it moves no
     * byte, fy_http_static_bytemap) */
    fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                        "Content-Encoding", &enc);
    if ((status == 200 || status == 206) && !r->err_status && enc.len == 0
        && !sliced && (fy_http_sub_wanted(r->loc) || r->accel_charset.len
                       || r->loc->gzip.enable))
    {
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Content-Type", &type);
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "ETag", &etag);
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Last-Modified", &lm);
        if (fy_http_static_filters(r, f, type.len ? &type : NULL,
                                   (off_t) h->body_len,
                                   (lm.len ? FY_HTTP_GZIP_HAS_LM : 0)
                                   | (etag.len ? FY_HTTP_GZIP_HAS_ETAG : 0))
            != FY_OK)
        {
            return FY_ERROR;
        }
        /* a single-byte recoding alone: ranges as of the entry */
        fy_http_static_bytemap(r, f, type.len ? &type : NULL);
        filtered = f->sub_hdr || f->gz_how == FY_HTTP_GZIP_YES;
        if (filtered) {
            mp = NULL;
            unsat = 0;
            status = 200;
            start = 0;
            end = (off_t) h->body_len - 1;
        }
    }

    /* gunzip: an entry stored compressed, for a client without gzip:
     * the whole entry, decompressed, no Range (nginx clears ranges) */
    if ((status == 200 || status == 206) && !r->err_status && enc.len
        && !sliced && r->loc->gzip.gunzip)
    {
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "ETag", &etag);
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Last-Modified", &lm);
        switch (fy_http_gunzip_wanted(r, NULL, &enc,
                                      (lm.len ? FY_HTTP_GZIP_HAS_LM : 0)
                                      | (etag.len ? FY_HTTP_GZIP_HAS_ETAG
                                                  : 0)))
        {
        case FY_HTTP_GZIP_YES:
            if (fy_http_static_gunzip(r, f) != FY_OK) {
                return FY_ERROR;
            }
            filtered = 1;
            mp = NULL;
            unsat = 0;
            status = 200;
            start = 0;
            end = (off_t) h->body_len - 1;
            break;
        case FY_HTTP_GZIP_VARY:
            f->gz_how = FY_HTTP_GZIP_VARY;
            break;
        }
    }

    if (unsat && status == 200) {
        /* nginx's 416 with the length (or error_page's answer) */
        r->range_unsat = 1;
        r->range_size = (int64_t) h->body_len;
        fy_http_send_error(r, 416);
        return FY_OK;
    }

    r->status = r->err_status ? r->err_status : status;
    conn = fy_http_connection_header(r);
    server = fy_http_server_line(r, &slen);
    if (r->loc->expires == FY_HTTP_EXPIRES_MODIFIED) {
        /* "expires modified" counts from the stored Last-Modified, as
         * from the proxied response's */
        fy_http_cache_field((u_char *) eol, (u_char *) eol + flen,
                            "Last-Modified", &lm);
        r->last_modified = lm.len ? fy_time_parse_http(lm.data, lm.len)
                                  : (time_t) -1;
        r->has_last_modified = r->last_modified != (time_t) -1;
    }
    if (fy_http_add_headers(r, r->status, &add) != FY_OK) {
        return FY_ERROR;
    }
    /* add_trailer: the body as one chunk, the trailers in the last (the
     * filtered sender writes its own) */
    f->trailers = !filtered && !sliced && status != 304
                  && r->loc->add_trailers
                  && fy_http_trailers_expected(r, r->status);
    size = 448 + slen + h->fields_len + add.len + fy_http_date_len
           + (r->loc->header_filters || r->accel_charset.len
              ? fy_http_charset_room(r) : 0);
    hdr = fy_palloc(r->pool, size);
    if (hdr == NULL) {
        return FY_ERROR;
    }
    if (r->status != h->status) {
        text = (char *) fy_http_status_line(r->status, &llen);
        if (text == NULL) {
            return FY_ERROR;
        }
    }
    /* No printf here, as for the other answers (docs/performance.md);
     * every line's room is in size. */
    n = (size_t) (fy_http_header_start(hdr, text, llen, server, slen) - hdr);
    if (filtered) {
        /* the body changes: a weak ETag (gzip; sub_filter with
         * sub_filter_last_modified on), or none and no Last-Modified
         * (sub_filter), as the filters treat a proxied response */
        n += fy_http_cache_fields_copy(r, f, 1, hdr + n, (u_char *) eol,
                                       (u_char *) eol + flen);
        if (f->gz_how != FY_HTTP_GZIP_YES && fy_http_sub_same_length(r)) {
            /* a single-byte recoding: the entry's length */
            n = fy_http_cache_number(hdr, n, "Content-Length: ",
                                     h->body_len);
        } else if (fy_http_chunked_out(r) && !r->head) {
            n = (size_t) (fy_cpylit(hdr + n, "Transfer-Encoding: chunked\r\n")
                          - hdr);
        }
        gz = fy_http_gzip_header_lines(r, f->gz_how);
        n = (size_t) (fy_cpymem(hdr + n, gz, strlen(gz)) - hdr);
    } else {
        if (mp) {
            /* several ranges: the stored type goes in each part, the
             * answer's is multipart/byteranges (fields_copy leaves the
             * stored line out into mp->type) */
            f->mp = mp;
            n += fy_http_cache_fields_copy(r, f, 0, hdr + n, (u_char *) eol,
                                           (u_char *) eol + flen);
            f->mp = NULL;
            if (fy_http_range_multipart(r->pool, mp->ranges, mp->n,
                                        &mp->type, (off_t) h->body_len, mp)
                != FY_OK)
            {
                return FY_ERROR;
            }
            mp->base = (off_t) h->body_start;
            q = fy_cpylit(hdr + n, "Content-Type: multipart/byteranges; "
                                   "boundary=");
            q = fy_cpymem(q, mp->boundary, strlen(mp->boundary));
            n = (size_t) (fy_cpylit(q, "\r\n") - hdr);
        } else if (r->loc->header_filters || sliced || xa.len) {
            n += fy_http_cache_fields_copy(r, f, 0, hdr + n, (u_char *) eol,
                                           (u_char *) eol + flen);
        } else {
            memcpy(hdr + n, eol, flen);
            n += flen;
        }
        if (status == 200) {
            gz = fy_http_gzip_header_lines(r, f->gz_how);
            n = (size_t) (fy_cpymem(hdr + n, gz, strlen(gz)) - hdr);
        }
    }
    if (sliced) {
        n = (size_t) (fy_http_slice_lines(r, hdr + n) - hdr);
    } else if (f->trailers) {
        n = (size_t) (fy_cpylit(hdr + n, "Transfer-Encoding: chunked\r\n")
                      - hdr);
    } else if (status != 304 && !filtered) {
        n = fy_http_cache_number(hdr, n, "Content-Length: ",
                                 (uint64_t) (mp ? mp->len
                                                : end - start + 1));
    }
    if (status == 206 && !sliced && mp == NULL) {
        q = fy_cpylit(hdr + n, "Content-Range: bytes ");
        q += fy_utoa((u_char *) q, (uint64_t) start);
        *q++ = '-';
        q += fy_utoa((u_char *) q, (uint64_t) end);
        *q++ = '/';
        q += fy_utoa((u_char *) q, h->body_len);
        n = (size_t) (fy_cpylit(q, "\r\n") - hdr);
    }
    if (add.len && n + add.len < size) {
        memcpy(hdr + n, add.data, add.len);
        n += add.len;
    }
    q = fy_cpylit(hdr + n, "Connection: ");
    q = fy_cpymem(q, conn, strlen(conn));
    n = (size_t) (fy_cpylit(q, "\r\n\r\n") - hdr);

    f->pos = (off_t) h->body_start + start;
    f->end = r->head || status == 304 ? f->pos
                                      : (off_t) h->body_start + end + 1;

    hc->out[0].iov_base = hdr;
    hc->out[0].iov_len = n;
    hc->nout = 1;
    if (f->trailers && f->end > f->pos) {
        /* all of the entry (or its range) is one chunk, as for a
         * static file */
        f->chunk_data = 1;
        hc->out[1].iov_base = hdr + n;
        hc->out[1].iov_len = (size_t) snprintf(hdr + n, size - n, "%llx\r\n",
                                               (unsigned long long)
                                               (mp ? mp->len
                                                : f->end - f->pos));
        hc->nout = 2;
    }
    if (mp && !r->head) {
        /* the first part's head; the sender goes from part to part */
        f->mp = mp;
        hc->out[hc->nout].iov_base = mp->heads[0].data;
        hc->out[hc->nout].iov_len = mp->heads[0].len;
        hc->nout++;
    }
    fy_http_static_start(r, hdr, n);
    return FY_OK;
}

int
fy_http_cache_digest(const void *data, size_t len, u_char md5[16])
{
    static EVP_MD_CTX  *ctx;
    static EVP_MD      *md;
    unsigned            n = 16;

    /* MD5 fetched once and one context kept for the process: EVP_Digest
     * with EVP_md5() fetched the algorithm under a lock and allocated,
     * cleansed and freed a context per call (about 1,300 instructions
     * of a HIT's, docs/performance.md) */
    if (md == NULL) {
        md = EVP_MD_fetch(NULL, "MD5", NULL);
    }
    if (md && ctx == NULL) {
        ctx = EVP_MD_CTX_new();
    }
    if (md == NULL || ctx == NULL) {
        return EVP_Digest(data, len, md5, &n, EVP_md5(), NULL)
               ? FY_OK : FY_ERROR;
    }
    return EVP_DigestInit_ex(ctx, md, NULL)
           && EVP_DigestUpdate(ctx, data, len)
           && EVP_DigestFinal_ex(ctx, md5, &n)
           ? FY_OK : FY_ERROR;
}

static int
fy_http_cache_md5(fy_http_cache_t *c)
{
    return fy_http_cache_digest(c->key, c->key_len, c->md5);
}

/* the request's pool cleanup: an expired entry kept for use_stale */
static void
fy_http_cache_close_stale(void *data)
{
    fy_http_cache_t  *c = data;

    if (c->stale_fd != -1) {
        close(c->stale_fd);
        c->stale_fd = -1;
    }
}

/* the request's pool cleanup: the lock it may still hold, and the
 * request counted by its final $upstream_cache_status for the status
 * page (a MISS may have become STALE or REVALIDATED on the way; one
 * that never got one, a client gone while waiting for the lock, is
 * not counted) */
static void
fy_http_cache_cleanup(void *data)
{
    fy_http_cache_t  *c = data;

    fy_http_cache_unlock(c);
    if (c->status) {
        fy_shm_add(c->zone->shm->cache_results[c->status], 1);
    }
}

static void fy_http_cache_wait(fy_event_t *wev);

/* proxy_cache_revalidate: the stored ETag and Last-Modified of the
 * entry in fd (header h), to be sent up as conditions. */
static void
fy_http_cache_validators(fy_http_request_t *r, fy_http_cache_t *c, int fd,
                         fy_http_cache_file_t *h)
{
    u_char  *text;

    text = fy_palloc(r->pool, h->fields_len);
    if (text == NULL
        || pread(fd, text, h->fields_len, fy_http_cache_fields_off(h))
           != (ssize_t) h->fields_len)
    {
        return;
    }
    fy_http_cache_field(text, text + h->fields_len, "ETag", &c->rv_etag);
    fy_http_cache_field(text, text + h->fields_len, "Last-Modified",
                        &c->rv_lm);
    c->revalidate = c->rv_etag.len || c->rv_lm.len;
}

/* proxy_cache_background_update: this request holds the key's lock
 * (it would update the expired entry in fd): the entry answers at once
 * (STALE), and once it is sent fy_http_finalize hands the request to
 * fy_http_cache_bg_start, which fetches the new one; the lock stays
 * meanwhile, so the key's other requests get UPDATING.  FY_DONE,
 * FY_ERROR. */
static int
fy_http_cache_bg_answer(fy_http_proxy_t *p, int fd, fy_http_cache_file_t *h)
{
    fy_http_request_t  *r = p->r;
    fy_http_cache_t    *c = p->cache;
    int                 kept;

    if (r->loc->cache.revalidate) {
        /* the update asks with the entry's validators; a 304 refreshes
         * it through a second descriptor (the first is the answer's) */
        kept = dup(fd);
        if (kept != -1) {
            if (fy_pool_cleanup_add(r->pool, fy_http_cache_close_stale, c)
                != FY_OK)
            {
                close(kept);
                close(fd);
                return FY_ERROR;
            }
            c->stale_fd = kept;
            fy_http_cache_validators(r, c, kept, h);
        }
    }
    c->status = FY_CACHE_STALE;
    c->bg = 1;
    r->cache_bg = 1;
    if (fy_http_cache_send(r, fd, h) != FY_OK) {
        c->bg = 0;
        r->cache_bg = 0;
        return FY_ERROR;
    }
    return FY_DONE;
}

/* Look the request's key up and act: FY_DONE answered from the file,
 * FY_AGAIN waiting for proxy_cache_lock, FY_OK on to the upstream,
 * FY_ERROR. */
static int
fy_http_cache_decide(fy_http_proxy_t *p, int first)
{
    fy_http_request_t     *r = p->r;
    fy_http_loc_conf_t    *lcf = r->loc;
    fy_http_cache_t       *c = p->cache;
    fy_http_cache_file_t   h;
    fy_conn_t             *cc = r->hc->c;
    int                    fd, rc, lock;

    /* the node's lock is proxy_cache_lock's, and use_stale updating's
     * mark of a request updating an expired entry */
    lock = c->store_ok
           && ((lcf->cache.lock
                && fy_current_msec - c->wait_start
                   < (uint64_t) lcf->cache.lock_timeout)
               || (lcf->cache.use_stale & FY_CACHE_STALE_UPDATING));
    rc = fy_http_cache_lookup(c, first, lock, lcf->cache.lock_age);
    fd = -1;
    if (rc >= 0) {
        fd = fy_http_cache_open(r, c, &h);
        if (fd == -2 && !c->secondary) {
            /* Vary: the entry is another variant; this request's own
             * is looked up under its variant's MD5 (nginx's secondary
             * key), the key's lock, if taken, given back first */
            fy_http_cache_unlock(c);
            memcpy(c->md5, c->variant, 16);
            c->secondary = 1;
            fy_http_cache_file_name(c->cp, c->md5, c->name);
            return fy_http_cache_decide(p, first);
        }
        if (fd == -1) {
            fy_http_cache_forget(c);
        }
        if (fd < 0) {
            /* gone or broken; or under the variant's MD5 an entry of
             * other Vary names: replaced by this request's response */
            fd = -1;
            rc = -1;
        }
    }
    if (rc == 1) {
        c->status = FY_CACHE_HIT;
        return fy_http_cache_send(r, fd, &h) == FY_OK ? FY_DONE : FY_ERROR;
    }
    if (c->lock_wait && rc == 0
        && (lcf->cache.use_stale & FY_CACHE_STALE_UPDATING))
    {
        /* another request updates the expired entry: it answers */
        c->status = FY_CACHE_UPDATING;
        return fy_http_cache_send(r, fd, &h) == FY_OK ? FY_DONE : FY_ERROR;
    }
    if (rc == 0 && c->lock_held && lcf->cache.background_update
        && (lcf->cache.use_stale & FY_CACHE_STALE_UPDATING)
        && c->uses >= (unsigned) lcf->cache.min_uses)
    {
        return fy_http_cache_bg_answer(p, fd, &h);
    }
    if (c->lock_wait && lcf->cache.lock
        && fy_current_msec - c->wait_start
           < (uint64_t) lcf->cache.lock_timeout)
    {
        /* another request fetches it: look again shortly (nginx polls
         * every 500 ms; the wait is bounded by proxy_cache_lock_timeout) */
        if (fd != -1) {
            close(fd);
        }
        cc->write.handler = fy_http_cache_wait;
        fy_timer_add(&cc->write, 50);
        return FY_AGAIN;
    }
    /* nginx: once proxy_cache_lock_timeout ran out, the response is
     * not stored; proxy_cache_min_uses: only from the Nth lookup on */
    if (lcf->cache.lock && !c->lock_held && c->store_ok) {
        c->store_ok = 0;
    }
    if (c->uses < (unsigned) lcf->cache.min_uses) {
        c->store_ok = 0;
    }
    c->status = rc == 0 ? FY_CACHE_EXPIRED : FY_CACHE_MISS;
    if (rc == 0 && ((lcf->cache.use_stale & ~FY_CACHE_STALE_SET)
                    || lcf->cache.revalidate))
    {
        /* kept for proxy_cache_use_stale and proxy_cache_revalidate
         * until the request ends */
        if (fy_pool_cleanup_add(r->pool, fy_http_cache_close_stale, c)
            != FY_OK)
        {
            close(fd);
            return FY_ERROR;
        }
        c->stale_fd = fd;
        if (lcf->cache.revalidate) {
            fy_http_cache_validators(r, c, fd, &h);
        }
    } else if (fd != -1) {
        close(fd);
    }
    return FY_OK;
}

static void
fy_http_cache_wait(fy_event_t *wev)
{
    fy_conn_t         *cc = wev->data;
    fy_http_conn_t    *hc = cc->data;
    fy_http_proxy_t   *p = hc->r->proxy;
    int                rc;

    wev->timedout = 0;
    cc->write.handler = fy_event_ignore;
    rc = fy_http_cache_decide(p, 0);
    if (rc == FY_OK) {
        fy_proxy_go(p);
    } else if (rc == FY_ERROR) {
        fy_http_send_error(p->r, 500);
    }
}

/*
 * proxy_cache_max_range_offset: a Range whose first byte is at or past
 * max (any Range when max is 0; a suffix range "bytes=-N" too, as its
 * start is not known) makes the request one the cache does not store.
 * Only the first range is looked at, and a Range that is not "bytes="
 * is left alone (nginx).
 */
static int
fy_http_cache_range_past(fy_http_request_t *r, size_t max)
{
    fy_http_header_t  *h;
    u_char            *v, *end;
    uint64_t           offset = 0;
    unsigned           i;

    for (i = 0; i < r->headers.nelts; i++) {
        h = fy_array_elt(&r->headers, fy_http_header_t, i);
        if (!fy_str_eq_ci(&h->name, "Range")) {
            continue;
        }
        if (max == 0) {
            return 1;
        }
        v = h->value.data;
        end = v + h->value.len;
        if (h->value.len < 6 || !fy_mem_eq_ci(v, "bytes=", 6)) {
            return 0;
        }
        for (v += 6; v < end && *v == ' '; v++) { /* void */ }
        if (v < end && *v == '-') {
            return 1;
        }
        for ( /* void */ ; v < end && *v >= '0' && *v <= '9'; v++) {
            if (offset >= max) {
                return 1;       /* and no overflow on a long number */
            }
            offset = offset * 10 + (uint64_t) (*v - '0');
        }
        return offset >= max;
    }
    return 0;
}

int
fy_http_cache_start(fy_http_proxy_t *p)
{
    fy_http_request_t     *r = p->r;
    fy_http_loc_conf_t    *lcf = r->loc;
    fy_http_cache_t       *c;
    const fy_http_cv_t    *key;
    unsigned               methods;

    methods = lcf->cache.methods
              ? lcf->cache.methods
              : (1u << FY_HTTP_GET) | (1u << FY_HTTP_HEAD);
    if ((unsigned) r->method >= 32 || !(methods & (1u << r->method))) {
        return FY_OK;           /* not for the cache: $upstream_cache_status
                                   stays empty (nginx) */
    }
    c = fy_palloc(r->pool, sizeof(*c));
    if (c == NULL) {
        return FY_ERROR;
    }
    memset(c, 0, offsetof(fy_http_cache_t, name));
    c->name[0] = '\0';
    if (fy_pool_cleanup_add(r->pool, fy_http_cache_cleanup, c) != FY_OK) {
        return FY_ERROR;
    }
    c->zone = lcf->cache.zone;
    c->cp = c->zone->cache;
    c->fd = -1;
    c->stale_fd = -1;
    c->wait_start = fy_current_msec;
    key = lcf->cache.key ? lcf->cache.key : c->cp->default_key;
    c->key = fy_http_cv_eval(r, key, &c->key_len);
    if (c->key == NULL || fy_http_cache_md5(c) != FY_OK) {
        return FY_ERROR;
    }
    memcpy(c->main_md5, c->md5, 16);
    fy_http_cache_file_name(c->cp, c->md5, c->name);
    p->cache = c;
    c->store_ok = 1;
    if (r->method == FY_HTTP_HEAD) {
        /* proxy_cache_convert_head (proxy_pass only): a HEAD that misses
         * goes up as a GET, and the answer is stored while the client
         * gets its header; otherwise it goes up as a HEAD and nothing
         * is stored */
        if (lcf->cache.convert_head == 1 && !lcf->fastcgi_pass
            && !lcf->uwsgi_pass && !lcf->scgi_pass)
        {
            p->head_get = 1;
        } else {
            c->store_ok = 0;
        }
    }

    if (fy_http_cache_test(r, lcf->cache.bypass)) {
        c->status = FY_CACHE_BYPASS;
        return FY_OK;
    }
    /* a HIT still answers it; a MISS goes up as the client asked, with
     * its Range and conditions, and is not stored (nginx) */
    if (lcf->cache.max_range_offset != SIZE_MAX
        && fy_http_cache_range_past(r, lcf->cache.max_range_offset))
    {
        c->store_ok = 0;
        c->pass_cond = 1;
    }
    return fy_http_cache_decide(p, 1);
}

int
fy_http_cache_stale(fy_http_proxy_t *p, unsigned why)
{
    fy_http_cache_t       *c = p->cache;
    fy_http_request_t     *r = p->r;

    if (c->stale_fd == -1 || r->header_sent
        || !(r->loc->cache.use_stale & why))
    {
        return FY_DECLINED;
    }
    c->status = FY_CACHE_STALE;
    return fy_http_cache_answer(p);
}

unsigned
fy_http_cache_stale_status(int status)
{
    switch (status) {
    case 500: return FY_CACHE_STALE_500;
    case 502: return FY_CACHE_STALE_502;
    case 503: return FY_CACHE_STALE_503;
    case 504: return FY_CACHE_STALE_504;
    case 403: return FY_CACHE_STALE_403;
    case 404: return FY_CACHE_STALE_404;
    case 429: return FY_CACHE_STALE_429;
    default:  return 0;
    }
}

int
fy_http_cache_answer(fy_http_proxy_t *p)
{
    fy_http_cache_t       *c = p->cache;
    fy_http_request_t     *r = p->r;
    fy_http_cache_file_t   h;
    int                    fd;

    fd = c->stale_fd;
    c->stale_fd = -1;
    if (pread(fd, &h, sizeof(h), 0) != (ssize_t) sizeof(h)) {
        close(fd);
        return FY_DECLINED;
    }
    fy_http_cache_store_abort(c);
    fy_proxy_close_upstream(p);
    r->hc->c->read.handler = fy_event_ignore;
    if (fy_http_cache_send(r, fd, &h) != FY_OK) {
        fy_http_send_error(r, 500);
    }
    return FY_DONE;
}


/* ---- at start (master) ---- */

static int
fy_http_cache_mkdir(fy_cycle_t *cycle, char *path)
{
    char  *q;

    /* every missing parent too, as "mkdir -p" */
    for (q = path + 1; ; q++) {
        if (*q != '/' && *q != '\0') {
            continue;
        }
        char  saved = *q;

        *q = '\0';
        if (mkdir(path, 0700) == -1 && errno != EEXIST) {
            fy_log_error(FY_LOG_EMERG, errno, "mkdir() \"%s\" failed", path);
            *q = saved;
            return FY_ERROR;
        }
        if (saved == '\0') {
            fy_user_own_file(cycle, path);
            return FY_OK;
        }
        *q = saved;
    }
}

static int
fy_http_cache_hex(const char *s, u_char *md5)
{
    unsigned  i, hi, lo;

    for (i = 0; i < 32; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
            return FY_ERROR;
        }
    }
    if (s[32] != '\0') {
        return FY_ERROR;
    }
    for (i = 0; i < 16; i++) {
        hi = (unsigned) (s[2 * i] <= '9' ? s[2 * i] - '0' : s[2 * i] - 'a' + 10);
        lo = (unsigned) (s[2 * i + 1] <= '9' ? s[2 * i + 1] - '0'
                                             : s[2 * i + 1] - 'a' + 10);
        md5[i] = (u_char) (hi << 4 | lo);
    }
    return FY_OK;
}

/* Index the entries found in dir at level depth (a fresh zone: after a
 * restart, or a zone whose size changed); temporary files older than a
 * minute, left by a store that never ended, are removed. */
static void
fy_http_cache_load(fy_http_cache_t *c, const char *dir, unsigned depth)
{
    fy_http_cache_file_t   h;
    struct dirent         *de;
    struct stat            st;
    DIR                   *d;
    char                   path[PATH_MAX];
    size_t                 len;
    int                    fd;

    d = opendir(dir);
    if (d == NULL) {
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') {
            continue;
        }
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, de->d_name)
            >= sizeof(path) || lstat(path, &st) == -1)
        {
            continue;
        }
        if (depth < FY_CACHE_LEVELS_MAX && c->cp->levels[depth]) {
            if (S_ISDIR(st.st_mode)
                && strlen(de->d_name) == c->cp->levels[depth])
            {
                fy_http_cache_load(c, path, depth + 1);
            }
            continue;
        }
        len = strlen(de->d_name);
        if (S_ISREG(st.st_mode) && len > 4
            && strcmp(de->d_name + len - 4, ".tmp") == 0)
        {
            if (st.st_mtime + 60 < (time_t) (fy_wall_msec / 1000)) {
                unlink(path);
            }
            continue;
        }
        if (!S_ISREG(st.st_mode)
            || fy_http_cache_hex(de->d_name, c->md5) != FY_OK)
        {
            continue;
        }
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd == -1) {
            continue;
        }
        if (pread(fd, &h, 8, 0) == 8 && memcmp(h.magic, "FYCACHE", 7) == 0
            && h.magic[7] != FY_CACHE_MAGIC[7])
        {
            /* an entry of another version of the layout: never used,
             * and nothing else would remove it */
            unlink(path);
        } else if (pread(fd, &h, sizeof(h), 0) == (ssize_t) sizeof(h)
                   && memcmp(h.magic, FY_CACHE_MAGIC, 8) == 0
                   && memcmp(h.md5, c->md5, 16) == 0
                   && h.body_start + h.body_len == (uint64_t) st.st_size)
        {
            fy_http_cache_index(c, h.valid_sec, (uint64_t) st.st_size);
        }
        close(fd);
    }
    closedir(d);
}

int
fy_http_cache_paths_init(fy_cycle_t *cycle, int load)
{
    fy_http_limit_zone_t  *z;
    fy_http_cache_t        c;
    char                   path[PATH_MAX];

    for (z = cycle->http->limit_zones; z; z = z->next) {
        if (!fy_http_limit_is_cache(z->kind)) {
            continue;
        }
        if (!load) {
            snprintf(path, sizeof(path), "%s", z->cache->path);
            if (fy_http_cache_mkdir(cycle, path) != FY_OK) {
                return FY_ERROR;
            }
            continue;
        }
        if (z->shm->cache_loaded) {
            continue;           /* kept across the reload, with its index */
        }
        fy_time_update();       /* the clocks may not have run yet */
        memset(&c, 0, sizeof(c));
        c.zone = z;
        c.cp = z->cache;
        fy_http_cache_load(&c, z->cache->path, 0);
        z->shm->cache_loaded = 1;
    }
    return FY_OK;
}
