/*
 * fy_dispatch.h -- how the master picks the worker for a new connection.
 *
 * A strategy is a row of operations (one small file each):
 * round_robin, least_conn, least_mem.  The master fills an array of
 * candidates from its worker table and the shared-memory slots, then
 * asks the strategy for an index.  Candidates that cannot take work
 * (dead, old generation, channel full) have usable == 0 and are never
 * picked.  The strategies only read the array and their own cursor, so
 * they are unit-tested on fake counters.
 */
#ifndef FY_DISPATCH_H
#define FY_DISPATCH_H

#include "fy_core.h"

typedef struct {
    int       usable;     /* may receive a connection now */
    uint64_t  active;     /* active connections (shared memory) */
    uint64_t  inflight;   /* handed over but not yet taken by the worker */
    uint64_t  rss;        /* resident memory in bytes (shared memory) */
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

/* Look up a strategy by its directive value; NULL if unknown. */
const fy_dispatch_ops_t *fy_dispatch_find(const char *name, size_t len);

#endif /* FY_DISPATCH_H */
