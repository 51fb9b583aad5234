/*
 * fy_http_status.h -- the status page's pieces: a snapshot of shared
 * memory, an output buffer in the request pool, and one renderer per
 * format (HTML, JSON, Prometheus) plus nginx's stub_status.
 *
 * A renderer never reads shared memory itself: fy_http_status.c copies
 * what is shown into a snapshot first (atomic loads, nothing waited
 * for, nobody asked), so a page is computed from one set of numbers.
 */
#ifndef FY_HTTP_STATUS_H
#define FY_HTTP_STATUS_H

#include "fy_core.h"
#include "fy_http.h"
#include "fy_shm.h"

/* "status [html|json|prometheus];" and ?format= */
enum {
    FY_HTTP_STATUS_HTML = 0,
    FY_HTTP_STATUS_JSON,
    FY_HTTP_STATUS_PROMETHEUS
};

typedef struct {
    unsigned  slot;
    uint64_t  state;          /* FY_WORKER_* */
    uint64_t  pid;            /* 0 when dead */
    uint64_t  generation;
    uint64_t  started_ms;
    uint64_t  heartbeat_ms;
    uint64_t  restarts;
    uint64_t  exit_status;
    uint64_t  exited_ms;
    uint64_t  active;         /* gauges: 0 for a dead slot */
    uint64_t  reading;
    uint64_t  writing;
    uint64_t  waiting;
    uint64_t  rss;
    uint64_t  accepted;       /* since this process started */
    uint64_t  handled;        /* counters: monotonic per slot */
    uint64_t  requests;
    uint64_t  bytes_in;
    uint64_t  bytes_out;
    uint64_t  dispatched;
} fy_http_status_worker_t;

typedef struct {
    const char  *upstream;    /* copied into the snapshot */
    const char  *addr;
    uint64_t     state;       /* FY_PEER_* */
    uint64_t     weight;
    uint64_t     active;
    uint64_t     requests;
    uint64_t     responses[5];
    uint64_t     failures;
    uint64_t     retries;
    uint64_t     bytes_in;
    uint64_t     bytes_out;
    uint64_t     check_ms;    /* 0: never checked */
    uint64_t     check_ok;
    uint64_t     check_code;
    uint64_t     rt_sum_ms;
    uint64_t     rt_count;    /* == the sum of rt_buckets */
    uint64_t     rt_buckets[FY_RT_BUCKETS];   /* per bucket, not cumulative */
} fy_http_status_peer_t;

/* The master's lifecycle counters (fy_shm_t), one row each: shown in
 * JSON under master.events and in Prometheus as
 * ferry_lifecycle_events_total{event="NAME"}. */
typedef struct {
    const char  *name;
    size_t       offset;       /* in fy_shm_t */
} fy_http_status_event_t;

#define FY_STATUS_NEVENTS  9
extern const fy_http_status_event_t  fy_http_status_events[FY_STATUS_NEVENTS];

/* A limit_req_zone or limit_conn_zone, from its shared memory. */
enum {
    FY_HTTP_STATUS_LIMIT_REQ = 1,
    FY_HTTP_STATUS_LIMIT_CONN
};

#define FY_STATUS_NRESULTS  5     /* passed ... rejected_dry_run */

typedef struct {
    const char  *name;        /* copied into the snapshot */
    unsigned     kind;        /* FY_HTTP_STATUS_LIMIT_* */
    uint64_t     results[FY_STATUS_NRESULTS];  /* counters, by the
                                  names of fy_http_status_limit_results */
    uint64_t     keys;        /* gauges: keys held now */
    uint64_t     capacity;    /* entries the zone has room for */
    uint64_t     active;      /* limit_conn: connections counted now */
} fy_http_status_zone_t;

/* The results a zone counts, in order: name, and whether limit_conn
 * zones have it too (they never delay). */
typedef struct {
    const char  *name;
    unsigned     conn:1;
} fy_http_status_result_t;

extern const fy_http_status_result_t
    fy_http_status_limit_results[FY_STATUS_NRESULTS];

/* A proxy_cache_path zone, from its shared memory. */
#define FY_STATUS_NCACHE  7       /* miss ... hit, FY_CACHE_* order */

typedef struct {
    const char  *name;        /* keys_zone name, copied */
    uint64_t     entries;     /* gauges: entries whose file is in place */
    uint64_t     bytes;       /* their size on disk (1 KiB blocks) */
    uint64_t     max_size;    /* 0: none */
    uint64_t     results[FY_STATUS_NCACHE];  /* counters, by the names
                                  of fy_http_status_cache_results */
} fy_http_status_cache_t;

/* $upstream_cache_status in lower case, FY_CACHE_MISS ... FY_CACHE_HIT */
extern const char *const  fy_http_status_cache_results[FY_STATUS_NCACHE];

typedef struct {
    uint64_t                  now_ms;          /* wall clock */
    uint64_t                  master_pid;
    uint64_t                  start_ms;
    uint64_t                  generation;
    uint64_t                  reloads;
    uint64_t                  reloads_failed;
    uint64_t                  reload_ms;       /* 0: never reloaded */
    uint64_t                  reload_ok;
    uint64_t                  accepted;
    uint64_t                  dispatched;
    uint64_t                  dispatch_failed;
    uint64_t                  events[FY_STATUS_NEVENTS];

    /* sums over the worker slots */
    uint64_t                  active;
    uint64_t                  reading;
    uint64_t                  writing;
    uint64_t                  waiting;
    uint64_t                  handled;
    uint64_t                  requests;

    fy_http_status_worker_t  *workers;         /* slots ever used */
    unsigned                  nworkers;
    fy_http_status_peer_t    *peers;           /* servers in use, by
                                                  upstream then order */
    unsigned                  npeers;
    fy_http_status_zone_t    *zones;           /* limit_req zones, then
                                                  limit_conn zones, each
                                                  by name */
    unsigned                  nzones;
    fy_http_status_cache_t   *caches;          /* proxy_cache_path zones,
                                                  by name */
    unsigned                  ncaches;
} fy_http_status_t;

/* Output built in the request pool; grows by doubling.  A failed
 * allocation sets failed and drops further output. */
typedef struct {
    fy_pool_t  *pool;
    u_char     *data;
    size_t      len;
    size_t      size;
    unsigned    failed:1;
} fy_http_status_out_t;

/* with_peers == 0 skips the upstream servers (stub_status).  NULL on
 * allocation failure. */
fy_http_status_t *fy_http_status_snapshot(fy_pool_t *pool, int with_peers);

void fy_http_status_printf(fy_http_status_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fy_http_status_write(fy_http_status_out_t *o, const char *s, size_t n);

const char *fy_http_status_worker_state(uint64_t state);
const char *fy_http_status_peer_state(uint64_t state);

void fy_http_status_json(fy_http_status_out_t *o, fy_http_status_t *st);
void fy_http_status_prom(fy_http_status_out_t *o, fy_http_status_t *st);
void fy_http_status_html(fy_http_status_out_t *o, fy_http_status_t *st);

/* fy_http_limit_stats.c: this worker's zones into *zones (pool), in
 * the snapshot's order; their count, or -1 on allocation failure. */
int fy_http_limit_status(fy_pool_t *pool, fy_http_status_zone_t **zones);

/* fy_http_cache_stats.c: this worker's proxy_cache_path zones into
 * *caches (pool), by name; their count, or -1 on allocation failure. */
int fy_http_cache_status(fy_pool_t *pool, fy_http_status_cache_t **caches);

/* fy_http_stub_status.c */
void fy_http_stub_status_handler(fy_http_request_t *r);

#endif /* FY_HTTP_STATUS_H */
