/*
 * fy_dispatch.h -- how the master picks the worker for a new connection.
 *
 * A strategy is a row of operations (one small file each):
 * round_robin, least_conn, least_mem.  The master fills an array of
 * candidates from its worker table and the shared-memory slots, then
 * asks for an index through fy_dispatch_pick().  Candidates that
 * cannot take work (dead, old generation, channel full) have usable == 0
 * and are never picked.  A usable worker that is full -- its
 * connections in use plus those in flight to it reach its
 * worker_connections -- is passed over as long as another usable one
 * has room: it would only close the connection.  The strategies and
 * fy_dispatch_pick() only read the array and the cursor, so they are
 * unit-tested on fake counters.
 */
#ifndef FY_DISPATCH_H
#define FY_DISPATCH_H

#include "fy_core.h"

typedef struct {
    int       usable;     /* may receive a connection now */
    uint64_t  active;     /* active connections (shared memory) */
    uint64_t  inflight;   /* handed over but not yet taken by the worker */
    uint64_t  rss;        /* resident memory in bytes (shared memory) */
    uint64_t  used;       /* connections taken from its worker_connections:
                             clients and upstreams (shared memory) */
    uint64_t  limit;      /* its worker_connections; 0: no limit known */
} fy_dispatch_cand_t;

typedef struct {
    unsigned  cursor;     /* rotation position, kept between picks */
} fy_dispatch_state_t;

typedef struct fy_dispatch_ops_s {
    const char  *name;    /* the worker_dispatch value */
    /* Index of the chosen candidate, or -1 if none is usable.  Must
     * advance st->cursor so that ties rotate. */
    int        (*pick)(fy_dispatch_state_t *st,
                       const fy_dispatch_cand_t *c, int n);
} fy_dispatch_ops_t;

extern const fy_dispatch_ops_t  fy_dispatch_round_robin;
extern const fy_dispatch_ops_t  fy_dispatch_least_conn;
extern const fy_dispatch_ops_t  fy_dispatch_least_mem;

/*
 * Accepts a strategy, its rotation state and n candidates.  Returns
 * what ops->pick() returns when the usable candidates that are full
 * (used + inflight >= limit) are taken as unusable, unless none of the
 * usable ones has room: then it is ops->pick() over them all, as if
 * nobody were full (the chosen worker closes the connection, as before
 * there was this check).  -1 when none is usable.  n is at most
 * FY_MAX_WORKERS; past that nobody is filtered out.
 */
int fy_dispatch_pick(const fy_dispatch_ops_t *ops, fy_dispatch_state_t *st,
    const fy_dispatch_cand_t *c, int n);

/* Accepts a candidate; 1 if it has no room for one more connection. */
int fy_dispatch_full(const fy_dispatch_cand_t *c);

/* Look up a strategy by its directive value; NULL if unknown. */
const fy_dispatch_ops_t *fy_dispatch_find(const char *name, size_t len);

#endif /* FY_DISPATCH_H */
