/*
 * fy_sched.h -- "master_sched": the Linux scheduling policy of the
 * master process.
 *
 * The master's one busy job is accept-and-hand-off.  With the normal
 * policy each new connection wakes it at once, preempting whatever runs
 * on the CPU (often a worker in the middle of a request), and it
 * usually finds a single connection to pass on.  Under SCHED_BATCH a
 * wake-up does not preempt: on a busy machine the master runs when a CPU
 * comes free and takes the connections that queued meanwhile in one
 * pass; on an idle CPU nothing changes.  Workers and the health checker
 * always run with the policy ferry was started with.
 */
#ifndef FY_SCHED_H
#define FY_SCHED_H

#include "fy_core.h"
#include "fy_cycle.h"

#define FY_SCHED_NORMAL  0
#define FY_SCHED_BATCH   1

extern const fy_conf_enum_t  fy_sched_values[];

/* In the master, at start and after each reload that succeeded: apply
 * master_sched.  Leaves a master started under another policy than
 * the normal one (chrt) as it is, with a [notice] once. */
void fy_sched_master(fy_cycle_t *cycle);

/* In a new child of the master: back to the policy ferry was started
 * with. */
void fy_sched_child(void);

#endif /* FY_SCHED_H */
