/*
 * fy_tls_certcache.c -- ssl_certificate_cache (nginx 1.27.4): each
 * worker keeps the certificates and keys that ssl_certificate with
 * variables loaded, so a handshake for a name seen recently reads no
 * file.  See fy_tls.h.
 *
 * An entry is a certificate with its chain, or a key, under its name
 * (a file name, or "data:" text).  It is used as it is for `valid`
 * after it was loaded or last checked; then a file's entry is checked
 * with stat(): the same file (device, inode, size, modification time)
 * is used for another `valid`, another one is loaded again.  An entry
 * not used for `inactive` is dropped, and with `max` entries the least
 * recently used makes room.  Failures are not kept: the next handshake
 * tries the file again.
 *
 * Entries live in the worker's heap (the master, which handshakes
 * nothing, never has any) and are freed with the configuration's pool.
 */
#include "fy_core.h"
#include "fy_tls.h"
#include "fy_times.h"

#include <sys/stat.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

typedef struct fy_tls_certcache_entry_s  fy_tls_certcache_entry_t;

struct fy_tls_certcache_entry_s {
    fy_tls_certcache_entry_t  *hnext;      /* the hash bucket's list */
    fy_tls_certcache_entry_t  *prev;       /* LRU list, newest first */
    fy_tls_certcache_entry_t  *next;
    fy_tls_certobj_t           obj;
    uint32_t                   hash;
    int                        type;       /* FY_TLS_CERTCACHE_* */
    uint64_t                   checked;    /* loaded or stat()ed, ms */
    uint64_t                   used;       /* last handshake, ms */
    dev_t                      dev;        /* the file, to see it change */
    ino_t                      ino;
    off_t                      size;
    struct timespec            mtime;
    char                       name[];
};

struct fy_tls_certcache_s {
    unsigned                    max;
    uint64_t                    inactive;  /* ms */
    uint64_t                    valid;     /* ms */
    unsigned                    n;
    unsigned                    mask;      /* buckets - 1 */
    fy_tls_certcache_entry_t  **buckets;   /* made on the first add */
    fy_tls_certcache_entry_t   *newest;
    fy_tls_certcache_entry_t   *oldest;
};

void
fy_tls_certobj_free(fy_tls_certobj_t *obj)
{
    X509_free(obj->cert);
    sk_X509_pop_free(obj->chain, X509_free);
    EVP_PKEY_free(obj->key);
    memset(obj, 0, sizeof(*obj));
}

static uint32_t
fy_tls_certcache_hash(int type, const char *name)
{
    uint32_t  h = 2166136261u ^ (uint32_t) type;    /* FNV-1a */

    while (*name) {
        h = (h ^ (u_char) *name++) * 16777619u;
    }
    return h;
}

static void
fy_tls_certcache_unlink(fy_tls_certcache_t *cache, fy_tls_certcache_entry_t *e)
{
    fy_tls_certcache_entry_t  **pp;

    for (pp = &cache->buckets[e->hash & cache->mask]; *pp; pp = &(*pp)->hnext)
    {
        if (*pp == e) {
            *pp = e->hnext;
            break;
        }
    }
    if (e->prev) {
        e->prev->next = e->next;
    } else {
        cache->newest = e->next;
    }
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        cache->oldest = e->prev;
    }
    cache->n--;
}

static void
fy_tls_certcache_drop(fy_tls_certcache_t *cache, fy_tls_certcache_entry_t *e)
{
    fy_tls_certcache_unlink(cache, e);
    fy_tls_certobj_free(&e->obj);
    free(e);
}

/* The LRU list's head is the entry used last. */
static void
fy_tls_certcache_touch(fy_tls_certcache_t *cache, fy_tls_certcache_entry_t *e)
{
    e->used = fy_current_msec;
    if (cache->newest == e) {
        return;
    }
    e->prev->next = e->next;
    if (e->next) {
        e->next->prev = e->prev;
    } else {
        cache->oldest = e->prev;
    }
    e->prev = NULL;
    e->next = cache->newest;
    cache->newest->prev = e;
    cache->newest = e;
}

/* Entries unused for `inactive` go, oldest first. */
static void
fy_tls_certcache_expire(fy_tls_certcache_t *cache)
{
    while (cache->oldest
           && fy_current_msec - cache->oldest->used >= cache->inactive)
    {
        fy_tls_certcache_drop(cache, cache->oldest);
    }
}

static void
fy_tls_certcache_free(void *data)
{
    fy_tls_certcache_t  *cache = data;

    while (cache->newest) {
        fy_tls_certcache_drop(cache, cache->newest);
    }
    free(cache->buckets);
    cache->buckets = NULL;
}

fy_tls_certcache_t *
fy_tls_certcache_create(fy_pool_t *pool, unsigned max, int64_t inactive,
                        int64_t valid)
{
    fy_tls_certcache_t  *cache;

    cache = fy_pcalloc(pool, sizeof(fy_tls_certcache_t));
    if (cache == NULL
        || fy_pool_cleanup_add(pool, fy_tls_certcache_free, cache) != FY_OK)
    {
        return NULL;
    }
    cache->max = max;
    cache->inactive = (uint64_t) inactive;
    cache->valid = (uint64_t) valid;
    return cache;
}

const fy_tls_certobj_t *
fy_tls_certcache_find(fy_tls_certcache_t *cache, int type, const char *name)
{
    fy_tls_certcache_entry_t  *e;
    struct stat                st;
    uint32_t                   hash;

    if (cache->buckets == NULL) {
        return NULL;
    }
    fy_tls_certcache_expire(cache);
    hash = fy_tls_certcache_hash(type, name);
    for (e = cache->buckets[hash & cache->mask]; e; e = e->hnext) {
        if (e->hash == hash && e->type == type && strcmp(e->name, name) == 0)
        {
            break;
        }
    }
    if (e == NULL) {
        return NULL;
    }
    if (fy_current_msec - e->checked >= cache->valid) {
        /* "data:" text is its own content: nothing to check */
        if (strncmp(name, "data:", 5) != 0
            && (stat(name, &st) != 0 || st.st_dev != e->dev
                || st.st_ino != e->ino || st.st_size != e->size
                || st.st_mtim.tv_sec != e->mtime.tv_sec
                || st.st_mtim.tv_nsec != e->mtime.tv_nsec))
        {
            fy_tls_certcache_drop(cache, e);
            return NULL;
        }
        e->checked = fy_current_msec;
    }
    fy_tls_certcache_touch(cache, e);
    return &e->obj;
}

const fy_tls_certobj_t *
fy_tls_certcache_add(fy_tls_certcache_t *cache, int type, const char *name,
                     fy_tls_certobj_t *obj)
{
    fy_tls_certcache_entry_t  *e;
    struct stat                st;
    size_t                     len = strlen(name);
    unsigned                   nb;

    if (cache->buckets == NULL) {
        for (nb = 16; nb < cache->max && nb < 65536; nb <<= 1) {
            /* a bucket per entry, at most 64k of them */
        }
        cache->buckets = calloc(nb, sizeof(fy_tls_certcache_entry_t *));
        if (cache->buckets == NULL) {
            return NULL;
        }
        cache->mask = nb - 1;
    }
    fy_tls_certcache_expire(cache);
    if (cache->n >= cache->max) {
        fy_tls_certcache_drop(cache, cache->oldest);
    }
    e = calloc(1, sizeof(fy_tls_certcache_entry_t) + len + 1);
    if (e == NULL) {
        return NULL;
    }
    memcpy(e->name, name, len + 1);
    if (strncmp(name, "data:", 5) != 0 && stat(name, &st) == 0) {
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime = st.st_mtim;
    }
    e->type = type;
    e->hash = fy_tls_certcache_hash(type, name);
    e->checked = fy_current_msec;
    e->used = fy_current_msec;
    e->obj = *obj;
    memset(obj, 0, sizeof(*obj));

    e->hnext = cache->buckets[e->hash & cache->mask];
    cache->buckets[e->hash & cache->mask] = e;
    e->next = cache->newest;
    if (cache->newest) {
        cache->newest->prev = e;
    } else {
        cache->oldest = e;
    }
    cache->newest = e;
    cache->n++;
    return &e->obj;
}
