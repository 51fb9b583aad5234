/*
 * fy_tls_cache.h -- ssl_session_cache shared:NAME:SIZE, a TLS session
 * cache in shared memory, so that a session made by one worker resumes
 * on any other.
 *
 * A zone is one anonymous MAP_SHARED mapping made by the master while
 * it loads a configuration, before it forks the workers that use it.
 * Inside: a header with a cross-process lock, a hash table of session
 * ids, and a ring of variable-sized records (id, expiry, the session in
 * DER).  A new session is written at the ring's head; room is made by
 * dropping the oldest records at its tail, expired or not.  Lookups
 * check the expiry.  Records stay whole: one that does not fit before
 * the end of the ring leaves a pad there and starts again at 0.
 *
 * The store (fy_tls_cache_put/get/del) works on bytes only, so the
 * unit test drives it without OpenSSL; fy_tls_cache_attach hangs it on
 * an SSL_CTX through OpenSSL's session callbacks.
 */
#ifndef FY_TLS_CACHE_H
#define FY_TLS_CACHE_H

#include "fy_core.h"
#include "fy_pool.h"

#define FY_TLS_CACHE_MIN         (32 * 1024)   /* smallest zone, bytes */
#define FY_TLS_CACHE_MAX         (1024 * 1024 * 1024)
#define FY_TLS_CACHE_MAX_ID      32            /* SSL_MAX_SSL_SESSION_ID_LENGTH */
#define FY_TLS_CACHE_MAX_SESSION 4096          /* larger DER is not kept */

typedef struct fy_tls_cache_s  fy_tls_cache_t;      /* in shared memory */

/* One zone as the master knows it (outlives configurations). */
typedef struct fy_tls_zone_s {
    char                   name[64];
    size_t                 size;
    fy_tls_cache_t        *cache;
    unsigned               refs;      /* configurations using it */
    struct fy_tls_zone_s  *next;
} fy_tls_zone_t;

/* The zone NAME of SIZE bytes: the one a previous configuration mapped
 * if name and size are the same (its sessions stay), else a new,
 * empty mapping.  Released when pool is freed; unmapped when no
 * configuration uses it (running workers keep their own mapping).
 * NULL on failure (logged). */
fy_tls_zone_t *fy_tls_cache_zone(fy_pool_t *pool, const char *name,
                                 size_t size);

/* Format size bytes at mem as an empty cache named name.  FY_OK, or
 * FY_ERROR if size is below FY_TLS_CACHE_MIN. */
int  fy_tls_cache_init(void *mem, size_t size, const char *name);

/* Store der under id (replacing an older record with the same id),
 * valid until expires (seconds, wall clock); now is the current time.
 * FY_OK, or FY_DECLINED if it is too large to keep. */
int  fy_tls_cache_put(fy_tls_cache_t *cache, const u_char *id, size_t idlen,
                      const u_char *der, size_t len, int64_t expires,
                      int64_t now);
/* Copy the DER stored under id into buf: its length, or -1 if there is
 * none, it expired, or it does not fit in size. */
ssize_t fy_tls_cache_get(fy_tls_cache_t *cache, const u_char *id,
                         size_t idlen, u_char *buf, size_t size,
                         int64_t now);
void fy_tls_cache_del(fy_tls_cache_t *cache, const u_char *id, size_t idlen);
/* Live records (for tests and messages). */
unsigned fy_tls_cache_count(fy_tls_cache_t *cache);

/* Use zone as ctx's (SSL_CTX *) session cache through OpenSSL's
 * new/get/remove callbacks.  `internal` keeps OpenSSL's own per-process
 * cache as well (ssl_session_cache builtin shared:...). */
void fy_tls_cache_attach(void *ctx, fy_tls_zone_t *zone, int internal);
/* A new connection made with ctx: remember ctx's zone (OpenSSL calls
 * the callbacks of the context the connection started with, which SNI
 * does not change). */
void fy_tls_cache_conn(void *ssl, void *ctx);

#endif /* FY_TLS_CACHE_H */
