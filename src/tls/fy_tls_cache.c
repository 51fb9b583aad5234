/*
 * fy_tls_cache.c -- the shared TLS session cache (see fy_tls_cache.h).
 *
 * Every change happens under the zone's lock (fy_shm_lock: the owner's
 * pid, taken over from a dead owner).  A worker killed in the middle of
 * a change would leave chains half linked, so a change sets `busy`
 * first and clears it last: whoever next takes the lock and finds it
 * set empties the cache instead of walking broken links.  Chain walks
 * are bounded as well.
 */
#include "fy_core.h"
#include "fy_tls_cache.h"
#include "fy_shm.h"
#include "fy_log.h"

#include <sys/mman.h>
#include <openssl/ssl.h>

#define FY_TLS_CACHE_MAGIC  0x66797463u        /* "fytc" */

enum { FY_REC_PAD = 1, FY_REC_LIVE, FY_REC_DEAD };

/* A record in the ring, 8-aligned; the session's DER follows.  A pad
 * record only has its first 8 bytes (size and type). */
typedef struct {
    uint32_t  size;               /* the whole record, multiple of 8 */
    uint16_t  type;               /* FY_REC_* */
    uint16_t  id_len;
    uint32_t  next;               /* next in its bucket: offset + 1 */
    uint32_t  der_len;
    int64_t   expires;            /* seconds, wall clock */
    u_char    id[FY_TLS_CACHE_MAX_ID];
} fy_tls_rec_t;

struct fy_tls_cache_s {
    fy_shm_lock_t  lock;
    uint32_t       magic;
    uint32_t       busy;          /* 1 while the structure changes */
    char           name[64];
    uint32_t       nbuckets;      /* a power of two */
    uint32_t       ring;          /* offset of the ring in the zone */
    uint32_t       cap;           /* bytes of the ring */
    uint32_t       head;          /* where the next record goes */
    uint32_t       tail;          /* the oldest record */
    uint32_t       used;          /* bytes from tail to head */
    uint32_t       count;         /* live records */
    uint32_t       buckets[];     /* first record's offset + 1, 0: none */
};

#define fy_align8(n)     (((n) + 7) & ~(size_t) 7)
#define fy_tls_rec(c, off) \
    ((fy_tls_rec_t *) ((u_char *) (c) + (c)->ring + (off)))

static fy_tls_zone_t  *fy_tls_zones;

static uint32_t
fy_tls_cache_hash(const u_char *id, size_t len)
{
    uint32_t  h = 2166136261u;    /* FNV-1a */
    size_t    i;

    for (i = 0; i < len; i++) {
        h = (h ^ id[i]) * 16777619u;
    }
    return h;
}

static void
fy_tls_cache_reset(fy_tls_cache_t *c)
{
    memset(c->buckets, 0, c->nbuckets * sizeof(uint32_t));
    c->head = c->tail = c->used = c->count = 0;
}

int
fy_tls_cache_init(void *mem, size_t size, const char *name)
{
    fy_tls_cache_t  *c = mem;
    size_t           ring;
    uint32_t         nb = 16;

    if (size < FY_TLS_CACHE_MIN || size > FY_TLS_CACHE_MAX) {
        return FY_ERROR;
    }
    /* about one bucket per two sessions of ~250 bytes */
    while (nb < size / 512) {
        nb <<= 1;
    }
    memset(c, 0, sizeof(*c));
    c->magic = FY_TLS_CACHE_MAGIC;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->nbuckets = nb;
    ring = fy_align8(sizeof(*c) + nb * sizeof(uint32_t));
    c->ring = (uint32_t) ring;
    c->cap = (uint32_t) ((size - ring) & ~(size_t) 7);
    fy_tls_cache_reset(c);
    return FY_OK;
}

/* Take the lock; a change left half done by a dead process empties the
 * cache (its links cannot be trusted). */
static void
fy_tls_cache_lock(fy_tls_cache_t *c)
{
    fy_shm_lock(&c->lock);
    if (c->busy) {
        fy_log_error(FY_LOG_ALERT, 0, "ssl_session_cache \"%s\" emptied: a "
                     "process died while changing it", c->name);
        fy_tls_cache_reset(c);
        c->busy = 0;
    }
}

static void
fy_tls_cache_unlock(fy_tls_cache_t *c)
{
    fy_shm_unlock(&c->lock);
}

/* The live record with this id: its offset, or -1.  *link is the
 * pointer to it in its chain (to unlink it). */
static int64_t
fy_tls_cache_find(fy_tls_cache_t *c, const u_char *id, size_t idlen,
                  uint32_t **link)
{
    uint32_t      *p, steps = 0;
    fy_tls_rec_t  *r;

    p = &c->buckets[fy_tls_cache_hash(id, idlen) & (c->nbuckets - 1)];
    while (*p && *p <= c->cap && steps++ < c->cap / 64) {
        r = fy_tls_rec(c, *p - 1);
        if (r->type == FY_REC_LIVE && r->id_len == idlen
            && memcmp(r->id, id, idlen) == 0)
        {
            if (link) {
                *link = p;
            }
            return (int64_t) (*p - 1);
        }
        p = &r->next;
    }
    return -1;
}

/* Take a live record out of its chain and mark it dead. */
static void
fy_tls_cache_unlink(fy_tls_cache_t *c, uint32_t off)
{
    fy_tls_rec_t  *r = fy_tls_rec(c, off);
    uint32_t      *link;

    if (fy_tls_cache_find(c, r->id, r->id_len, &link) == (int64_t) off) {
        *link = r->next;
    }
    r->type = FY_REC_DEAD;
    c->count--;
}

/* Drop the oldest record.  0, or -1 if the ring makes no sense (then
 * the caller empties it). */
static int
fy_tls_cache_evict(fy_tls_cache_t *c)
{
    fy_tls_rec_t  *r = fy_tls_rec(c, c->tail);

    if (r->size < 8 || r->size % 8 || r->size > c->cap - c->tail
        || r->size > c->used)
    {
        return -1;
    }
    if (r->type == FY_REC_LIVE) {
        fy_tls_cache_unlink(c, c->tail);
    }
    c->used -= r->size;
    c->tail += r->size;
    if (c->tail == c->cap) {
        c->tail = 0;
    }
    return 0;
}

static int
fy_tls_cache_room(fy_tls_cache_t *c, uint32_t n)
{
    while (c->cap - c->used < n) {
        if (fy_tls_cache_evict(c) != 0) {
            fy_tls_cache_reset(c);
            return -1;
        }
    }
    return 0;
}

/* n bytes at the head, never across the end of the ring: the offset,
 * or -1 if the ring had to be emptied (try again). */
static int64_t
fy_tls_cache_alloc(fy_tls_cache_t *c, uint32_t n)
{
    fy_tls_rec_t  *pad;
    uint32_t       off, rest;

    if (c->head + n > c->cap) {
        rest = c->cap - c->head;
        if (fy_tls_cache_room(c, rest) != 0) {
            return -1;
        }
        pad = fy_tls_rec(c, c->head);
        pad->size = rest;
        pad->type = FY_REC_PAD;
        c->used += rest;
        c->head = 0;
    }
    if (fy_tls_cache_room(c, n) != 0) {
        return -1;
    }
    off = c->head;
    c->head += n;
    c->used += n;
    if (c->head == c->cap) {
        c->head = 0;
    }
    return off;
}

int
fy_tls_cache_put(fy_tls_cache_t *c, const u_char *id, size_t idlen,
                 const u_char *der, size_t len, int64_t expires, int64_t now)
{
    fy_tls_rec_t  *r;
    int64_t        off;
    uint32_t      *bucket;
    size_t         n = fy_align8(sizeof(fy_tls_rec_t) + len);

    if (idlen == 0 || idlen > FY_TLS_CACHE_MAX_ID
        || len > FY_TLS_CACHE_MAX_SESSION || n > c->cap / 4
        || expires <= now)
    {
        return FY_DECLINED;
    }

    fy_tls_cache_lock(c);
    c->busy = 1;
    off = fy_tls_cache_find(c, id, idlen, NULL);
    if (off >= 0) {
        fy_tls_cache_unlink(c, (uint32_t) off);
    }
    off = fy_tls_cache_alloc(c, (uint32_t) n);
    if (off < 0) {
        off = fy_tls_cache_alloc(c, (uint32_t) n);    /* emptied: fits */
        if (off < 0) {
            c->busy = 0;
            fy_tls_cache_unlock(c);
            return FY_DECLINED;
        }
    }
    r = fy_tls_rec(c, off);
    memset(r, 0, sizeof(*r));
    r->size = (uint32_t) n;
    r->type = FY_REC_LIVE;
    r->id_len = (uint16_t) idlen;
    memcpy(r->id, id, idlen);
    r->der_len = (uint32_t) len;
    r->expires = expires;
    memcpy(r + 1, der, len);
    bucket = &c->buckets[fy_tls_cache_hash(id, idlen) & (c->nbuckets - 1)];
    r->next = *bucket;
    *bucket = (uint32_t) off + 1;
    c->count++;
    c->busy = 0;
    fy_tls_cache_unlock(c);
    return FY_OK;
}

ssize_t
fy_tls_cache_get(fy_tls_cache_t *c, const u_char *id, size_t idlen,
                 u_char *buf, size_t size, int64_t now)
{
    fy_tls_rec_t  *r;
    int64_t        off;
    ssize_t        n = -1;

    if (idlen == 0 || idlen > FY_TLS_CACHE_MAX_ID) {
        return -1;
    }
    fy_tls_cache_lock(c);
    off = fy_tls_cache_find(c, id, idlen, NULL);
    if (off >= 0) {
        r = fy_tls_rec(c, off);
        if (r->expires <= now) {
            c->busy = 1;
            fy_tls_cache_unlink(c, (uint32_t) off);
            c->busy = 0;
        } else if (r->der_len <= size) {
            memcpy(buf, r + 1, r->der_len);
            n = (ssize_t) r->der_len;
        }
    }
    fy_tls_cache_unlock(c);
    return n;
}

void
fy_tls_cache_del(fy_tls_cache_t *c, const u_char *id, size_t idlen)
{
    int64_t  off;

    if (idlen == 0 || idlen > FY_TLS_CACHE_MAX_ID) {
        return;
    }
    fy_tls_cache_lock(c);
    off = fy_tls_cache_find(c, id, idlen, NULL);
    if (off >= 0) {
        c->busy = 1;
        fy_tls_cache_unlink(c, (uint32_t) off);
        c->busy = 0;
    }
    fy_tls_cache_unlock(c);
}

unsigned
fy_tls_cache_count(fy_tls_cache_t *c)
{
    return __atomic_load_n(&c->count, __ATOMIC_RELAXED);
}

/* ---- zones (master) ---- */

static void
fy_tls_zone_release(void *data)
{
    fy_tls_zone_t  *z = data, **p;

    if (--z->refs) {
        return;
    }
    for (p = &fy_tls_zones; *p; p = &(*p)->next) {
        if (*p == z) {
            *p = z->next;
            break;
        }
    }
    /* processes forked while it was in use keep their own mapping */
    munmap(z->cache, z->size);
    free(z);
}

fy_tls_zone_t *
fy_tls_cache_zone(fy_pool_t *pool, const char *name, size_t size)
{
    fy_tls_zone_t  *z;
    void           *p;

    for (z = fy_tls_zones; z; z = z->next) {
        if (z->size == size && strcmp(z->name, name) == 0) {
            break;
        }
    }
    if (z == NULL) {
        z = calloc(1, sizeof(*z));
        if (z == NULL) {
            fy_log_error(FY_LOG_EMERG, errno, "cannot allocate session "
                         "cache \"%s\"", name);
            return NULL;
        }
        p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) {
            fy_log_error(FY_LOG_EMERG, errno, "mmap(%zu) failed for "
                         "ssl_session_cache \"%s\"", size, name);
            free(z);
            return NULL;
        }
        snprintf(z->name, sizeof(z->name), "%s", name);
        z->size = size;
        z->cache = p;
        (void) fy_tls_cache_init(p, size, name);
        z->next = fy_tls_zones;
        fy_tls_zones = z;
    }
    z->refs++;
    if (fy_pool_cleanup_add(pool, fy_tls_zone_release, z) != FY_OK) {
        fy_tls_zone_release(z);
        return NULL;
    }
    return z;
}

/* ---- OpenSSL's callbacks ---- */

/* SSL_CTX: its zone's cache; SSL: the cache of the context the
 * connection started with */
static int  fy_tls_cache_ctx_index = -1;
static int  fy_tls_cache_ssl_index = -1;

static int
fy_tls_cache_new(SSL *ssl, SSL_SESSION *sess)
{
    fy_tls_cache_t  *c = SSL_get_ex_data(ssl, fy_tls_cache_ssl_index);
    u_char           buf[FY_TLS_CACHE_MAX_SESSION], *p = buf;
    const u_char    *id;
    unsigned         idlen;
    int              len;

    if (c == NULL) {
        return 0;
    }
    len = i2d_SSL_SESSION(sess, NULL);
    if (len <= 0 || len > (int) sizeof(buf)) {
        return 0;           /* a huge client certificate: not kept */
    }
    len = i2d_SSL_SESSION(sess, &p);
    id = SSL_SESSION_get_id(sess, &idlen);
    (void) fy_tls_cache_put(c, id, idlen, buf, (size_t) len,
                            (int64_t) SSL_SESSION_get_time(sess)
                            + SSL_SESSION_get_timeout(sess),
                            (int64_t) time(NULL));
    return 0;               /* we keep no reference to sess */
}

static SSL_SESSION *
fy_tls_cache_get_cb(SSL *ssl, const unsigned char *id, int idlen, int *copy)
{
    fy_tls_cache_t  *c = SSL_get_ex_data(ssl, fy_tls_cache_ssl_index);
    u_char           buf[FY_TLS_CACHE_MAX_SESSION];
    const u_char    *p = buf;
    ssize_t          n;

    *copy = 0;
    if (c == NULL || idlen <= 0) {
        return NULL;
    }
    n = fy_tls_cache_get(c, id, (size_t) idlen, buf, sizeof(buf),
                         (int64_t) time(NULL));
    if (n <= 0) {
        return NULL;
    }
    return d2i_SSL_SESSION(NULL, &p, (long) n);
}

static void
fy_tls_cache_remove(SSL_CTX *ctx, SSL_SESSION *sess)
{
    fy_tls_cache_t  *c = SSL_CTX_get_ex_data(ctx, fy_tls_cache_ctx_index);
    const u_char    *id;
    unsigned         idlen;

    if (c) {
        id = SSL_SESSION_get_id(sess, &idlen);
        fy_tls_cache_del(c, id, idlen);
    }
}

void
fy_tls_cache_attach(void *ctx, fy_tls_zone_t *zone, int internal)
{
    if (fy_tls_cache_ctx_index == -1) {
        fy_tls_cache_ctx_index = SSL_CTX_get_ex_new_index(0, NULL, NULL,
                                                          NULL, NULL);
        fy_tls_cache_ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
                                                      NULL);
    }
    SSL_CTX_set_ex_data(ctx, fy_tls_cache_ctx_index, zone->cache);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER
                                   | (internal ? 0
                                      : SSL_SESS_CACHE_NO_INTERNAL));
    SSL_CTX_sess_set_new_cb(ctx, fy_tls_cache_new);
    SSL_CTX_sess_set_get_cb(ctx, fy_tls_cache_get_cb);
    SSL_CTX_sess_set_remove_cb(ctx, fy_tls_cache_remove);
}

void
fy_tls_cache_conn(void *ssl, void *ctx)
{
    fy_tls_cache_t  *c;

    if (fy_tls_cache_ctx_index == -1) {
        return;             /* no context has a shared cache */
    }
    c = SSL_CTX_get_ex_data(ctx, fy_tls_cache_ctx_index);
    if (c) {
        SSL_set_ex_data(ssl, fy_tls_cache_ssl_index, c);
    }
}
