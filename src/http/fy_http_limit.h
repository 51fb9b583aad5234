/*
 * fy_http_limit.h -- private to fy_http_limit_*.c: the shared zones of
 * limit_req_zone and limit_conn_zone and what the two modules share.
 *
 * A zone is one anonymous MAP_SHARED mapping of the size written in
 * "zone=NAME:SIZE", made by the master before it forks the workers, so
 * that every worker counts in the same table.  Its layout:
 *
 *     fy_http_limit_shm_t   header: lock, sizes, LRU and free lists;
 *                           then, on a cache line of its own, the
 *                           zone's counters for the status page
 *     uint32_t[nbuckets]    hash buckets: first node of each chain
 *     fy_http_limit_node_t[nnodes]   fixed-size nodes, 128 bytes each
 *
 * Nodes are named by their index (FY_LIMIT_NIL: none), every list and
 * chain lives inside the mapping, and everything is read and written
 * under the zone's lock (fy_shm_lock: a spinlock on an atomic that
 * takes over from a dead owner).
 */
#ifndef FY_HTTP_LIMIT_H
#define FY_HTTP_LIMIT_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"

#define FY_LIMIT_NIL       0xffffffffu
/* The longest key value a node holds as it is.  A node is 128 bytes
 * (8,000 per megabyte); $binary_remote_addr takes 4 or 16, $remote_addr
 * at most 39, most host names fit.  A longer value is kept as its
 * SHA-256, with the key length FY_LIMIT_KEY_DIGEST, which no value
 * kept as it is has: two such values share an entry only if their
 * SHA-256 are equal, and never with a short value.  Over nginx's own
 * limits (65535 bytes for limit_req, 255 for limit_conn) a value is
 * not accounted (logged), as in nginx. */
#define FY_LIMIT_KEY_MAX     88
#define FY_LIMIT_KEY_DIGEST  (0x8000 | 32)
/* the bytes of a key of length len in a node */
#define fy_http_limit_key_bytes(len)  ((len) & 0x7fff)

/* limit_req's lookup: over the burst (fy_core.h's codes go to -4) */
#define FY_LIMIT_BUSY      (-5)

enum {
    FY_LIMIT_REQ = 1,            /* limit_req_zone */
    FY_LIMIT_CONN,               /* limit_conn_zone */
    FY_LIMIT_CACHE,              /* proxy_cache_path (fy_http_cache.c) */
    /* fastcgi_cache_path, uwsgi_cache_path, scgi_cache_path: caches
     * too, each its own kind so that, as in nginx, a zone is used by
     * the module whose *_cache_path made it and no other */
    FY_LIMIT_FASTCGI_CACHE,
    FY_LIMIT_UWSGI_CACHE,
    FY_LIMIT_SCGI_CACHE
};

#define fy_http_limit_is_cache(kind)  ((kind) >= FY_LIMIT_CACHE)

/* $limit_req_status / $limit_conn_status (0: empty, not checked) */
enum {
    FY_LIMIT_PASSED = 1,
    FY_LIMIT_DELAYED,
    FY_LIMIT_REJECTED,
    FY_LIMIT_DELAYED_DRY_RUN,
    FY_LIMIT_REJECTED_DRY_RUN
};

typedef struct {
    uint32_t   hnext;            /* next in its hash chain */
    uint32_t   prev;             /* LRU list (newest at head) */
    uint32_t   next;             /* ... or the free list */
    uint32_t   hash;
    uint16_t   len;              /* key length */
    uint16_t   count;            /* limit_req: lookups holding the node
                                    between the check of several limits
                                    and their accounting (not evicted) */
    uint32_t   conns;            /* limit_conn: connections counted */
    int64_t    excess;           /* limit_req: in 1/1000 requests;
                                    limit_conn hold: the node counted in */
    uint64_t   last;             /* limit_req: ms (monotonic clock) of
                                    the last accounted request;
                                    limit_conn hold: the holder's pid */
    u_char     key[FY_LIMIT_KEY_MAX];
} fy_http_limit_node_t;

typedef struct {
    fy_shm_lock_t  lock;
    uint64_t       seed;         /* of the key hash, random per zone */
    uint32_t       nbuckets;     /* a power of two */
    uint32_t       nnodes;
    uint32_t       used;         /* nodes in the LRU list */
    uint32_t       free;         /* free list head */
    uint32_t       lru_head;     /* most recently used */
    uint32_t       lru_tail;     /* least recently used */
    uint32_t       holds;        /* limit_conn: hold nodes in use, that
                                    is connections counted now */
    uint64_t       cache_bytes;  /* proxy_cache_path: the entries' size */
    uint32_t       cache_loaded; /* proxy_cache_path: the files on disk
                                    are indexed (fy_http_cache.c) */
    uint32_t       cache_entries; /* proxy_cache_path: nodes whose file
                                    is in place (FY_CACHE_NODE_FILE) */
    /* Requests by result (FY_LIMIT_PASSED ..., [0] unused), for the
     * status page: one relaxed atomic add per zone checked, outside
     * the lock, on their own cache line so that counting does not
     * bounce the lock's.  Kept across a reload with the mapping. */
    uint64_t       results[FY_LIMIT_REJECTED_DRY_RUN + 1]
                   __attribute__((aligned(FY_CACHELINE)));
    /* proxy_cache_path: requests by $upstream_cache_status (FY_CACHE_*
     * of fy_http_cache.h, [0] unused), counted as each request ends,
     * the same way */
    uint64_t       cache_results[8];
} __attribute__((aligned(FY_CACHELINE))) fy_http_limit_shm_t;

/* Count a request's result (FY_LIMIT_*) in zone shm. */
#define fy_http_limit_count(shm, result)                                   \
    fy_shm_add((shm)->results[result], 1)

/* A zone as configured (in the cycle's pool). */
typedef struct fy_http_limit_zone_s {
    fy_str_t              name;
    unsigned              kind;          /* FY_LIMIT_*; 0: only used */
    size_t                size;          /* 0 until defined */
    fy_http_cv_t         *key;           /* http's; NULL in stream */
    fy_str_t              key_text;      /* as written (reload: same?) */
    struct fy_stream_cv_s *stream_key;   /* stream's limit_conn_zone */
    uint64_t              rate;          /* limit_req: requests per 1000
                                            seconds (r/s * 1000) */
    fy_http_limit_shm_t  *shm;           /* mapped by the master */
    const char           *file;          /* first use, for "unknown" */
    unsigned              line;
    unsigned              use_kind;      /* FY_LIMIT_* of that use */
    struct fy_http_cache_path_s *cache;  /* a cache kind: its path */
    struct fy_http_limit_zone_s *next;
} fy_http_limit_zone_t;

/* One "limit_req" line. */
typedef struct {
    fy_http_limit_zone_t  *zone;
    uint64_t               burst;        /* in 1/1000 requests */
    uint64_t               delay;        /* excess not delayed, 1/1000 */
} fy_http_limit_req_t;

/* One count a worker holds in a limit_conn zone (fy_http_limit_conn.c):
 * in the pool of the request or stream session that holds it, on the
 * worker's list until given back. */
typedef struct fy_http_limit_held_s {
    struct fy_http_limit_zone_s  *zone;    /* NULL once given back */
    uint32_t                      hold;    /* its hold node in the zone */
    struct fy_http_limit_held_s  *prev;    /* the worker's list */
    struct fy_http_limit_held_s  *next;
    struct fy_http_limit_held_s  *rnext;   /* the request's list */
} fy_http_limit_held_t;

/* limit_conn's count, for http and stream: count one more connection
 * of key (from fy_http_limit_key*) in z, at most max, into h (which
 * goes on the worker's list).  FY_OK: counted; FY_DECLINED: max
 * reached, nothing counted; FY_ERROR: the zone is full (logged). */
int  fy_http_limit_conn_take(fy_http_limit_held_t *h,
                             struct fy_http_limit_zone_s *z,
                             const u_char *key, size_t len, uint32_t hash,
                             unsigned max);
/* Give h's count back (nothing if already given). */
void fy_http_limit_conn_release(fy_http_limit_held_t *h);

/* One "limit_conn" line. */
typedef struct {
    fy_http_limit_zone_t  *zone;
    unsigned               conns;
} fy_http_limit_conn_t;

/* limit_conn_zone's parameters: the zone defined in *list, or NULL
 * (said; fy_http_limit_conn.c, http's and stream's directive). */
fy_http_limit_zone_t *fy_http_limit_conn_zone_read(fy_conf_t *cf,
    fy_http_limit_zone_t **list);
/* "limit_conn ZONE N" after ZONE: N checked, the pair added to *conns
 * (fy_http_limit_conn.c; http's and stream's directive). */
const char *fy_http_limit_conn_add(fy_conf_t *cf, fy_array_t **conns,
    fy_http_limit_zone_t *z);

/* fy_http_limit_zone.c */
/* The zone named name (found, or made as only referenced), for a
 * directive of kind at cf's line; NULL after a config error. */
fy_http_limit_zone_t *fy_http_limit_zone_get(fy_conf_t *cf,
    const fy_str_t *name, unsigned kind);
/* "zone=NAME:SIZE" of limit_req_zone / limit_conn_zone: the zone,
 * defined with its key (args[1]); NULL after a config error. */
fy_http_limit_zone_t *fy_http_limit_zone_define(fy_conf_t *cf,
    const fy_str_t *arg, unsigned kind);
/* The same two in the zone list *list (the stream block's); _define_in
 * leaves the key (key_text: args[1]) for the caller to compile. */
fy_http_limit_zone_t *fy_http_limit_zone_get_in(fy_conf_t *cf,
    fy_http_limit_zone_t **list, const fy_str_t *name, unsigned kind);
fy_http_limit_zone_t *fy_http_limit_zone_define_in(fy_conf_t *cf,
    fy_http_limit_zone_t **list, const fy_str_t *arg, unsigned kind);
/* End of a block: a zone used and never defined is "unknown
 * limit_conn_zone" at the line of its first use. */
const char *fy_http_limit_zones_check(fy_conf_t *cf,
    fy_http_limit_zone_t *list);
/* A key whose value v (n bytes) is known: into buf as
 * fy_http_limit_key puts it, with the same results. */
size_t fy_http_limit_key_value(fy_http_limit_zone_t *z, const u_char *v,
                               size_t n, u_char *buf, uint32_t *hash);
/* The key's value for r into buf (FY_LIMIT_KEY_MAX bytes): its length;
 * FY_LIMIT_KEY_DIGEST for a longer one, whose SHA-256 is in buf; 0 when
 * empty or longer than nginx allows (logged; not accounted). */
size_t fy_http_limit_key(fy_http_request_t *r, fy_http_limit_zone_t *z,
                         u_char *buf, uint32_t *hash);
/* Make the SIZE bytes at shm an empty zone (t/unit/test_limit_zone.c
 * calls it on ordinary memory). */
void fy_http_limit_shm_init(fy_http_limit_shm_t *shm, size_t size);
/* Under the zone's lock: the node of key, or NULL. */
fy_http_limit_node_t *fy_http_limit_find(fy_http_limit_shm_t *shm,
    const u_char *key, size_t len, uint32_t hash);
/* Under the lock: a new node for key (fields zeroed), at the head of
 * the LRU list; NULL when the zone is full. */
fy_http_limit_node_t *fy_http_limit_alloc(fy_http_limit_shm_t *shm,
    const u_char *key, size_t len, uint32_t hash);
void fy_http_limit_free(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n);
/* limit_conn, under the lock: a "hold" node (length 0, which no key
 * has: empty keys are not counted; in no hash chain) saying that
 * process pid holds one count in node target, so that the master can
 * give back the counts of a worker that died without doing it
 * (fy_http_limit_reap).  NULL when the zone is full. */
fy_http_limit_node_t *fy_http_limit_hold(fy_http_limit_shm_t *shm,
    uint32_t target, uint64_t pid);
/* limit_conn, under the lock: give back the count of hold node n (the
 * node counted in is freed at 0) and free n. */
void fy_http_limit_unhold(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n);
/* The zone's seeded hash of key (fy_http_limit_key's). */
uint32_t fy_http_limit_hash(uint64_t seed, const u_char *key, size_t len);
/* Under the lock: n is the most recently used. */
void fy_http_limit_touch(fy_http_limit_shm_t *shm, fy_http_limit_node_t *n);
/* Node i of the zone. */
#define fy_http_limit_node(shm, i)                                         \
    ((fy_http_limit_node_t *) ((u_char *) (shm)                           \
     + fy_http_limit_nodes_offset((shm)->nbuckets)) + (i))
size_t fy_http_limit_nodes_offset(uint32_t nbuckets);
uint32_t fy_http_limit_index(fy_http_limit_shm_t *shm,
                             fy_http_limit_node_t *n);
/* ", client: A, server: S, request: \"R\", host: \"H\"" after text,
 * at level, as nginx ends its request-related lines. */
void fy_http_limit_log(fy_http_request_t *r, int level, const char *text);

/* fy_http_limit_stats.c: the zones of this worker's cycle, all kinds */
extern fy_http_limit_zone_t  *fy_http_limit_stats_zones;

/* FY_LIMIT_* statuses by name, for the variables */
extern const fy_str_t  fy_http_limit_status_names[];

/* fy_http_limit_req.c: limit_*_log_level's values */
extern const fy_conf_enum_t  fy_http_limit_log_levels[];
extern const fy_conf_bounds_t  fy_http_limit_status_bounds;

#endif /* FY_HTTP_LIMIT_H */
