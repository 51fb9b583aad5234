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
#define FY_MAX_PEERS      1024     /* upstream servers, all upstreams */
#define FY_RT_BUCKETS     16       /* response-time histogram buckets */
/* The longest upstream name, explicit ("upstream NAME") or implicit
 * ("proxy_pass http://HOST:PORT", "http://unix:PATH"): the
 * configuration refuses longer ones, so the status page never shows a
 * name cut short.  127 holds "unix:" and the longest unix path. */
#define FY_UPSTREAM_NAME_MAX  127

/* Worker slot states, as the master sees them (fy_shm_worker_t.state). */
enum {
    FY_WORKER_FREE = 0,        /* never used, or freed */
    FY_WORKER_STARTING,        /* forked, not yet in its loop */
    FY_WORKER_RUNNING,         /* taking new connections */
    FY_WORKER_DRAINING,        /* told to stop: old generation, memory,
                                  shutdown; finishing its requests */
    FY_WORKER_EXITED,          /* dead; waiting to be replaced */
    FY_WORKER_DISABLED         /* crashed too often; not respawned */
};

/* Upstream server states (fy_shm_peer_t.state). */
enum {
    FY_PEER_UP = 0,
    FY_PEER_DOWN,              /* "down" in the config, or failed the
                                  active health check */
    FY_PEER_UNAVAILABLE,       /* max_fails reached: out for fail_timeout */
    FY_PEER_DRAINING,
    FY_PEER_BACKUP             /* a backup server not currently in use */
};

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

    /* written by the master, not the worker */
    uint64_t  state;         /* FY_WORKER_* */
    uint64_t  restarts;      /* times this slot was respawned */
    uint64_t  exit_status;   /* last wait() status of the slot's process */
    uint64_t  exited_ms;     /* when it last died, wall clock */
    uint64_t  dispatched;    /* fds the master handed to this slot */

    /* written by the worker, for stub_status and the status page */
    uint64_t  reading;       /* connections reading a request header */
    uint64_t  writing;       /* connections with a request being served
                                (header read, response not yet done) */
    uint64_t  handled;       /* connections set up, all processes of
                                the slot (never reset, unlike accepted) */
    uint64_t  conns;         /* connections taken from worker_connections
                                now: clients and upstreams (kept by the
                                event layer, fy_conn_count_to); the
                                master passes over a worker that has no
                                room left (fy_dispatch_pick) */
} __attribute__((aligned(FY_CACHELINE))) fy_shm_worker_t;

/*
 * One upstream server.  The configuration gives each server a peer
 * index; a reload maps servers that stay (same upstream name and
 * address) to the same index, so their counters survive.  Counters are
 * written by whichever worker served the request (fetch-add); state
 * fields by the worker or health checker that saw the change.
 */
typedef struct {
    /* NUL-terminated, never cut: the names fit (FY_UPSTREAM_NAME_MAX),
     * and addr holds the longest address text, "unix:" and a full
     * sun_path (FY_SOCKADDR_STRLEN, checked in fy_http_peer.c).  With
     * them a slot is 640 bytes, ten cache lines (1024 slots: 640 KiB). */
    char      upstream[FY_UPSTREAM_NAME_MAX + 1];
    char      addr[128];     /* "127.0.0.1:8081", "[::1]:80", "unix:/x" */
    uint64_t  in_use;        /* 1 while a configuration refers to it */
    uint64_t  state;         /* FY_PEER_* */
    uint64_t  weight;        /* configured weight */
    uint64_t  active;        /* requests in progress, all workers */
    uint64_t  requests;
    uint64_t  responses[5];  /* 1xx .. 5xx */
    uint64_t  failures;      /* counted per proxy_next_upstream rules */
    uint64_t  retries;       /* requests passed on to another server */
    uint64_t  bytes_in;
    uint64_t  bytes_out;
    uint64_t  fails;         /* failures in the current fail_timeout */
    uint64_t  fail_window_ms;
    uint64_t  unavailable_until_ms;
    uint64_t  check_ms;      /* last active health check, wall clock */
    uint64_t  check_ok;      /* 1 if it passed */
    uint64_t  check_code;    /* status seen, or 0 */
    uint64_t  rt_sum_ms;     /* response time: sum and histogram */
    uint64_t  rt_count;
    uint64_t  rt_buckets[FY_RT_BUCKETS];

    /* balancing and health (fy_http_balancer*.c, fy_http_health.c) */
    int64_t   current_weight;  /* smooth round robin; under the upstream
                                  lock */
    uint64_t  up_since_ms;     /* back in service since (slow_start) */
    uint64_t  check_down;      /* 1 while active checks say it is down */
    uint64_t  check_fails;     /* consecutive failed checks */
    uint64_t  check_passes;    /* consecutive passed checks */

    /* "server NAME resolve" (fy_http_upstream_resolve.c): the slot is
     * one of those reserved for the name's addresses (resolve_key: a
     * hash of the server's text, to find them again on reload); absent
     * 1 while it holds none (addr is then "", the status page skips
     * it); with "service=", weight and resolve_backup are the SRV
     * record's (a record of a priority other than the lowest: a backup
     * server).  Written under the upstream lock. */
    uint64_t  resolve_key;
    uint64_t  absent;
    uint64_t  resolve_backup;
} __attribute__((aligned(FY_CACHELINE))) fy_shm_peer_t;

/*
 * A lock between processes for a few dozen instructions of work (one
 * balancer pick).  It holds the owner's pid, so a waiter that finds
 * the owner dead (a worker killed inside the critical section) takes
 * the lock over instead of spinning for ever.
 */
typedef struct {
    uint64_t  owner;           /* pid, 0 when free */
} fy_shm_lock_t;

/* Per upstream (by its index in the configuration). */
typedef struct {
    fy_shm_lock_t  lock;       /* around picks and fail accounting */
    uint64_t       no_live;    /* 1 after "no live upstreams" was logged,
                                  until a server is picked again */
    uint64_t       resolve_gen;/* bumped (under lock) when the address of
                                  a "resolve" server's slot changes:
                                  each process then re-reads them */
} __attribute__((aligned(FY_CACHELINE))) fy_shm_upstream_t;

typedef struct {
    uint64_t         master_pid;
    uint64_t         start_ms;
    uint64_t         dispatched;       /* fds handed to workers */
    uint64_t         dispatch_failed;  /* accepted but no worker could take */
    uint64_t         accepted;         /* connections accepted (stub_status
                                          "accepts") */
    uint64_t         generation;       /* configuration generation */
    uint64_t         reloads;          /* successful reloads */
    uint64_t         reloads_failed;
    uint64_t         reload_ms;        /* last reload attempt, wall clock */
    uint64_t         reload_ok;        /* 1 if it succeeded */
    uint64_t         connection_serial;/* last $connection number given */
    uint64_t         stopping;         /* 1 once the master shuts down:
                                          workers then close idle
                                          keep-alive connections instead
                                          of handing them back */
    /* lifecycle events, counted by the master (docs/lifecycle.md) */
    uint64_t         worker_spawns;    /* processes started */
    uint64_t         worker_respawns;  /* of them, replacing a dead one */
    uint64_t         worker_crashes;   /* unexpected deaths */
    uint64_t         worker_hang_kills;     /* heartbeat timeout */
    uint64_t         worker_memory_recycles;/* worker_max_memory */
    uint64_t         worker_shutdown_kills; /* worker_shutdown_timeout */
    uint64_t         worker_disabled;  /* slots given up on */
    uint64_t         handbacks;        /* keep-alive connections passed
                                          from a draining worker to
                                          another */
    uint64_t         handbacks_failed; /* closed instead (no taker) */
    fy_shm_worker_t  workers[FY_MAX_WORKERS];
    fy_shm_peer_t    peers[FY_MAX_PEERS];
    /* Unused since the balancers (fy_http_balancer*.c) keep their
     * state in upstreams[]; the first proxy's shared round-robin
     * position, kept so that the layout (architecture.md) does not
     * move. */
    uint64_t         upstream_cursor[FY_MAX_UPSTREAMS]
                         __attribute__((aligned(FY_CACHELINE)));
    fy_shm_upstream_t  upstreams[FY_MAX_UPSTREAMS];
    uint64_t         checker_pid;      /* the health checker, 0 if none */
} fy_shm_t;

extern fy_shm_t  *fy_shm;

/* Upper bounds (ms) of the response-time buckets; the last is +Inf. */
extern const uint64_t  fy_rt_bounds_ms[FY_RT_BUCKETS];

/* Map the region (zeroed).  FY_OK / FY_ERROR (logged). */
int  fy_shm_init(void);

void fy_shm_lock(fy_shm_lock_t *lock);
void fy_shm_unlock(fy_shm_lock_t *lock);

#define fy_shm_get(field)      __atomic_load_n(&(field), __ATOMIC_RELAXED)
#define fy_shm_set(field, v)   __atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define fy_shm_add(field, v)   __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)

#endif /* FY_SHM_H */
