/*
 * fy_master_int.h -- the master's worker table and state, shared by
 * the files that make up the master: fy_master.c (loop, dispatch,
 * reload), fy_supervise.c (restart policy and checks) and
 * fy_handoff.c (keep-alive connections moving between workers).
 * Nothing outside the master process uses these.
 */
#ifndef FY_MASTER_INT_H
#define FY_MASTER_INT_H

#include "fy_core.h"
#include "fy_cycle.h"
#include "fy_event.h"
#include "fy_dispatch.h"
#include "fy_shm.h"
#include "fy_supervise.h"

typedef struct {
    pid_t                pid;         /* 0: slot free */
    int                  channel;     /* master's end, -1 if none */
    uint64_t             handed;      /* fds sent over the channel */
    uint64_t             generation;
    uint64_t             started;     /* fy_current_msec at fork */
    unsigned             number;      /* in its generation, from 0: which
                                         worker_cpu_affinity mask */
    unsigned             exiting:1;   /* told to stop; not to be replaced */
    unsigned             waiting:1;   /* respawn timer armed */
    unsigned             killed:1;    /* SIGKILLed by the master */
    fy_event_t           respawn;     /* timer for a delayed restart */
    fy_event_t           kill;        /* worker_shutdown_timeout */
    fy_event_t           channel_ev;  /* hand-backs from the worker */
    fy_supervise_slot_t  sup;
} fy_master_worker_t;

extern fy_master_worker_t   fy_workers[FY_MAX_WORKERS];
extern fy_cycle_t          *fy_cycle;
extern uint64_t             fy_generation;
extern int                  fy_quit, fy_terminate;
extern fy_dispatch_state_t  fy_dispatch_st;

/* fy_master.c */
int  fy_master_spawn(unsigned slot);
int  fy_master_candidates(fy_dispatch_cand_t *cand);

/* fy_handoff.c: read hand-backs from a worker's channel, pass them on. */
int  fy_handoff_watch(unsigned slot);
void fy_handoff_unwatch(unsigned slot);

#endif /* FY_MASTER_INT_H */
