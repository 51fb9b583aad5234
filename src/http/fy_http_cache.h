/*
 * fy_http_cache.h -- the proxy cache (proxy_cache_path, proxy_cache
 * and its kin; fastcgi_cache, uwsgi_cache, scgi_cache and theirs),
 * private to src/http/fy_http_cache*.c and the proxy files that call
 * it.
 *
 *   fy_http_cache_conf.c    the directives, $upstream_cache_status
 *   fy_http_cache.c         the index (a limit zone of a cache kind,
 *                           FY_LIMIT_CACHE ...), lookups, eviction, the
 *                           files' names, answering from a file
 *   fy_http_cache_store.c   whether and how long a response may be
 *                           kept, writing it to a temporary file as it
 *                           is read, putting it in place
 *   fy_http_cache_vary.c    Vary: the response's names, the request's
 *                           variant of them
 *   fy_http_cache_bg.c      proxy_cache_background_update
 *   fy_http_cache_stats.c   the zones on the status page
 *
 * An entry is one file, <path>/<levels>/<md5 of the key in hex>:
 *
 *     fy_http_cache_file_t  fixed header (magic, times, sizes, md5,
 *                           variant)
 *     key                   the key's text (key_len bytes)
 *     vary                  the response's Vary, its fields joined by
 *                           ", " (vary_len bytes, 0: none)
 *     fields                "NNN reason\r\n" then the response's own
 *                           header lines (fields_len bytes)
 *     body                  from body_start, body_len bytes
 *
 * The index of entries lives in the zone's shared mapping (one node
 * per key looked up, fy_http_limit_node_t): key = the 16 bytes of the
 * MD5, then (key + 16) the time (ms, wall clock) until which a request
 * fetching it holds proxy_cache_lock, 0: none; excess = the time (s)
 * until which the entry is fresh, last = the time (s) it was last
 * used, conns = its size in KiB, count = FY_CACHE_NODE_FILE when its
 * file is in place, and the lookups counted for proxy_cache_min_uses.
 */
#ifndef FY_HTTP_CACHE_H
#define FY_HTTP_CACHE_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_http_limit.h"

#include <limits.h>

#define FY_CACHE_MAGIC      "FYCACHE2"      /* 2: vary and variant */
#define FY_CACHE_NODE_FILE  0x8000          /* node->count: a file */
#define FY_CACHE_NODE_USES  0x7fff
#define FY_CACHE_LEVELS_MAX 3
#define FY_CACHE_VARY_MAX   1024            /* a longer Vary: not kept */

/* $upstream_cache_status (0: empty, the cache was not asked) */
enum {
    FY_CACHE_MISS = 1,
    FY_CACHE_BYPASS,
    FY_CACHE_EXPIRED,
    FY_CACHE_STALE,
    FY_CACHE_UPDATING,
    FY_CACHE_REVALIDATED,
    FY_CACHE_HIT
};

/* proxy_cache_use_stale */
#define FY_CACHE_STALE_ERROR    0x01
#define FY_CACHE_STALE_TIMEOUT  0x02
#define FY_CACHE_STALE_500      0x04
#define FY_CACHE_STALE_502      0x08
#define FY_CACHE_STALE_503      0x10
#define FY_CACHE_STALE_504      0x20
#define FY_CACHE_STALE_UPDATING 0x40
#define FY_CACHE_STALE_INVALID  0x80        /* invalid_header */
#define FY_CACHE_STALE_403      0x100
#define FY_CACHE_STALE_404      0x200
#define FY_CACHE_STALE_429      0x400
#define FY_CACHE_STALE_SET      0x8000      /* given ("off": only this) */

/* The file's fixed header (host byte order: the files are this host's). */
typedef struct {
    char      magic[8];
    int64_t   valid_sec;       /* fresh until (wall clock, s) */
    int64_t   date;            /* stored at */
    uint64_t  body_start;
    uint64_t  body_len;
    uint32_t  fields_len;
    uint16_t  status;
    uint16_t  key_len;
    u_char    md5[16];         /* the file's name: the key's MD5, or the
                                  variant's for a secondary entry */
    u_char    variant[16];     /* with vary_len: the MD5 of the key and
                                  the request's values of the Vary names
                                  (fy_http_cache_variant) */
    uint16_t  vary_len;
} fy_http_cache_file_t;

/* where an entry's fields start in its file */
#define fy_http_cache_fields_off(h)                                        \
    ((off_t) (sizeof(*(h)) + (h)->key_len + (h)->vary_len))

/* One proxy_cache_path: the zone (a limit zone whose "key" is the
 * path) points at it through z->cache. */
typedef struct fy_http_cache_path_s {
    char                   *path;          /* NUL-terminated, no '/' at
                                              the end */
    unsigned                levels[FY_CACHE_LEVELS_MAX];  /* 0: none */
    int64_t                 inactive;      /* s */
    uint64_t                max_size;      /* bytes, 0: no limit */
    fy_http_cv_t           *default_key;   /* $scheme$proxy_host$request_uri */
} fy_http_cache_path_t;

/* One "proxy_cache_valid [code ...] time" line. */
typedef struct {
    int       status;          /* 0: any */
    int64_t   valid;           /* s */
} fy_http_cache_valid_t;

/* The longest proxy_cache_path: with "/", three levels of two and "/",
 * a file's 32 hex digits and the NUL, an entry's name fits PATH_MAX. */
#define FY_CACHE_PATH_MAX  (PATH_MAX - 64)

/* A request's use of the cache (r->proxy->cache). */
typedef struct fy_http_cache_s {
    fy_http_limit_zone_t   *zone;
    fy_http_cache_path_t   *cp;
    u_char                  md5[16];          /* the file's: the key's,
                                                 or the variant's */
    u_char                  main_md5[16];     /* the key's */
    u_char                  variant[16];      /* this request's, of the
                                                 entry's Vary */
    u_char                 *key;
    size_t                  key_len;
    int                     status;           /* FY_CACHE_* */
    int                     stale_fd;         /* an expired entry kept
                                                 open for use_stale, -1 */
    /* storing the response */
    int                     fd;               /* temporary file, -1 */
    char                   *temp;             /* its name */
    int64_t                 valid_sec;
    uint64_t                body_len;
    uint64_t                body_start;
    unsigned                storing:1;
    unsigned                store_ok:1;       /* the request may store */
    unsigned                pass_cond:1;      /* max_range_offset: the
                                                 client's Range and
                                                 conditions go up */
    unsigned                lock_held:1;      /* proxy_cache_lock: this
                                                 request fetches it */
    unsigned                lock_wait:1;      /* another one does */
    uint64_t                wait_start;       /* ms (monotonic) */
    unsigned                uses;             /* lookups counted */
    /* proxy_cache_revalidate: the expired entry's ETag and
     * Last-Modified, sent up as If-None-Match and If-Modified-Since
     * (the client's own are not sent then) */
    unsigned                revalidate:1;
    /* Vary: the entry under the key is another variant, so this
     * request looks up, and stores, under its variant's MD5 (nginx's
     * secondary key) */
    unsigned                secondary:1;
    /* proxy_cache_background_update: the expired entry answered the
     * client (STALE), the request then fetches the new one for the
     * cache alone (fy_http_cache_bg.c); the answer's status, for the
     * log */
    unsigned                bg:1;
    int                     bg_status;
    fy_str_t                rv_etag;
    fy_str_t                rv_lm;
    /* the entry's file; last, as it is not zeroed with the rest
     * (fy_http_cache_start: 4 KiB cleared per request cost more than
     * the rest of a HIT's header) */
    char                    name[PATH_MAX];
} fy_http_cache_t;

/* fy_http_cache_conf.c */
/* Whether any of the texts in list (fy_http_cv_t *) is non-empty and
 * not "0" for r. */
int fy_http_cache_test(fy_http_request_t *r, fy_array_t *list);

/* fy_http_cache.c */
/* The request enters the cache (its location has proxy_cache): FY_DONE
 * when it is answered from a file, FY_OK to go on to the upstream
 * (p->cache says whether to store), FY_ERROR. */
int fy_http_cache_start(fy_http_proxy_t *p);
/* The upstream failed or answered an error, why (FY_CACHE_STALE_*):
 * FY_DONE when an expired entry answered instead (use_stale), else
 * FY_DECLINED. */
int fy_http_cache_stale(fy_http_proxy_t *p, unsigned why);
/* The FY_CACHE_STALE_* bit of an upstream's answer status (500, 502,
 * 503, 504, 403, 404, 429: nginx's list), 0 for any other. */
unsigned fy_http_cache_stale_status(int status);
/* Answer from the expired entry kept open (c->stale_fd), c->status
 * set: FY_DONE (FY_DECLINED when it cannot be read). */
int fy_http_cache_answer(fy_http_proxy_t *p);
/* The file name of md5 under cp into buf (PATH_MAX): its length. */
size_t fy_http_cache_file_name(fy_http_cache_path_t *cp, const u_char *md5,
                               char *buf);
/* proxy_cache_lock: the lock c holds goes (the entry is in place, or
 * will not be). */
void fy_http_cache_unlock(fy_http_cache_t *c);
/* The MD5 of data (a key, a Vary variant): FY_OK or FY_ERROR. */
int fy_http_cache_digest(const void *data, size_t len, u_char md5[16]);
/* An entry is in place: index it (evicting as inactive and max_size
 * ask), under the zone's lock; c's lock goes. */
void fy_http_cache_index(fy_http_cache_t *c, int64_t valid_sec,
                         uint64_t size);

/* fy_http_cache_vary.c */
/* The response's Vary fields joined by ", " into buf (FY_CACHE_VARY_MAX
 * bytes): their length (0: none), or -1 when the response must not be
 * kept: a "*" among the names, or longer than buf. */
ssize_t fy_http_cache_vary(fy_array_t *headers, u_char *buf);
/* Whether the Vary value v names "*". */
int fy_http_cache_vary_star(const fy_str_t *v);
/* The variant of request r for the names in vary: the MD5 of c's key
 * and of r's values of each name, into md5.  FY_OK, FY_ERROR. */
int fy_http_cache_variant(fy_http_request_t *r, fy_http_cache_t *c,
                          const u_char *vary, size_t len, u_char *md5);

/* fy_http_cache_bg.c */
/* The response header of the update is in (and stored from): read the
 * body into the cache, nothing to the client; then the request ends. */
void fy_http_cache_bg_body(fy_http_proxy_t *p);
/* The update is over, whatever its outcome: the store (if any) is
 * dropped, the upstream closed, the request finalized. */
void fy_http_cache_bg_end(fy_http_proxy_t *p);

/* fy_http_cache_store.c */
/* How long (s) the response may be kept according to its own fields,
 * as nginx reads them: > 0 that long, 0 the fields do not say, -1 it
 * must not be kept.  Unit-tested (t/unit/test_cache.c). */
int64_t fy_http_cache_header_valid(fy_array_t *headers, unsigned ignore,
                                   time_t now);
/* The response header is parsed: start storing when it may be kept. */
void fy_http_cache_store_start(fy_http_proxy_t *p);
/* Body bytes as the upstream sent them, decoded. */
void fy_http_cache_store_body(fy_http_proxy_t *p, const u_char *data,
                              size_t len);
/* The upstream is done with the response: in place if it is whole. */
void fy_http_cache_store_end(fy_http_proxy_t *p);
/* proxy_cache_valid's time for status, 0: none */
int64_t fy_http_cache_valid_for(fy_http_loc_conf_t *lcf, int status);
/* The upstream answered 304 to a revalidation: FY_DONE when the
 * expired entry was refreshed and answered (REVALIDATED), else
 * FY_DECLINED. */
int fy_http_cache_revalidated(fy_http_proxy_t *p);
/* Forget a store under way (the request's cleanup). */
void fy_http_cache_store_abort(fy_http_cache_t *c);

#endif /* FY_HTTP_CACHE_H */
