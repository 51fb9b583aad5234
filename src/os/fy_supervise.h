/*
 * fy_supervise.h -- how the master looks after its workers: restarts
 * with backoff and a limit, the heartbeat and memory checks, and the
 * shutdown timeout of draining workers.  See docs/lifecycle.md.
 */
#ifndef FY_SUPERVISE_H
#define FY_SUPERVISE_H

#include "fy_core.h"
#include "fy_cycle.h"

/* Largest N in "worker_max_restarts N per TIME": the ring of recent
 * deaths below holds N + 1 entries. */
#define FY_SUPERVISE_MAX_RESTARTS  100

/* A worker that lived this long before it died had a fair start: it
 * is restarted at once again, and the backoff starts over. */
#define FY_SUPERVISE_STABLE_MS     10000

/* The restart history of one worker slot (master only). */
typedef struct {
    uint64_t  deaths[FY_SUPERVISE_MAX_RESTARTS + 1]; /* fy_current_msec */
    unsigned  ndeaths;       /* entries used in deaths[] */
    unsigned  next;          /* where the next one goes */
    unsigned  streak;        /* early deaths in a row, for the backoff */
    unsigned  disabled:1;    /* over worker_max_restarts: not respawned */
} fy_supervise_slot_t;

/* What to do about one death. */
typedef struct {
    unsigned  disable:1;     /* stop respawning the slot */
    uint64_t  delay;         /* ms before the respawn; 0: at once */
    unsigned  recent;        /* deaths within the restarts window */
} fy_supervise_verdict_t;

/* The policy alone, without side effects (unit-tested): record a death
 * at `now` of a process that lived `lifetime` ms and decide. */
void fy_supervise_decide(fy_supervise_slot_t *s, const fy_core_conf_t *ccf,
    uint64_t now, uint64_t lifetime, fy_supervise_verdict_t *v);

/* Master side (fy_supervise.c, with the worker table of fy_master_int.h). */
void fy_supervise_start(void);           /* arm the periodic checks */
void fy_supervise_stop(void);
void fy_supervise_reaped(unsigned slot, int status);
void fy_supervise_drain(unsigned slot, const char *why);
void fy_supervise_fresh(unsigned slot);  /* a new generation starts here */
void fy_supervise_cancel_respawns(void);

/* Directives (rows in fy_cycle.c) and their defaults. */
const char *fy_supervise_set_restart_delay(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
const char *fy_supervise_set_max_restarts(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
const char *fy_supervise_set_heartbeat_timeout(fy_conf_t *cf,
    const fy_command_t *cmd, void *conf);
void fy_supervise_conf_defaults(fy_core_conf_t *ccf);

#endif /* FY_SUPERVISE_H */
