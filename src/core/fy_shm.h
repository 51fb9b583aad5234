/*
 * fy_shm.h -- shared memory: what the workers tell the master.
 *
 * The master maps one anonymous shared region before forking, so every
 * worker inherits the same mapping.  Each worker owns one slot and is
 * the only writer of it; the master, the status page and other workers
 * only read.  Every field is a 64-bit value accessed with __atomic
 * loads and stores (relaxed: each value is independent), and each slot
 * starts on its own cache line so writers never share a line.
 */
#ifndef FY_SHM_H
#define FY_SHM_H

#include "fy_core.h"

#define FY_MAX_WORKERS    64
#define FY_MAX_UPSTREAMS  256

typedef struct {
    uint64_t  pid;           /* 0 when the slot is free */
    uint64_t  generation;    /* config generation the worker runs */
    uint64_t  started_ms;    /* wall clock, ms */
    uint64_t  heartbeat_ms;  /* wall clock, ms; at least every second */
    uint64_t  active;        /* client connections open now */
    uint64_t  accepted;      /* client fds received from the master */
    uint64_t  requests;      /* requests answered */
    uint64_t  bytes_in;      /* bytes read from clients */
    uint64_t  bytes_out;     /* bytes written to clients */
    uint64_t  rss;           /* resident set size, bytes */
} __attribute__((aligned(FY_CACHELINE))) fy_shm_worker_t;

typedef struct {
    uint64_t         master_pid;
    uint64_t         start_ms;
    uint64_t         dispatched;       /* fds handed to workers */
    uint64_t         dispatch_failed;  /* accepted but no worker could take */
    fy_shm_worker_t  workers[FY_MAX_WORKERS];
    /* Round-robin position of each upstream (by its index in the
     * configuration), shared so that all workers rotate as one. */
    uint64_t         upstream_cursor[FY_MAX_UPSTREAMS]
                         __attribute__((aligned(FY_CACHELINE)));
} fy_shm_t;

extern fy_shm_t  *fy_shm;

/* Map the region (zeroed).  FY_OK / FY_ERROR (logged). */
int  fy_shm_init(void);

#define fy_shm_get(field)      __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define fy_shm_set(field, v)   __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define fy_shm_add(field, v)   __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)

#endif /* FY_SHM_H */
